//! `dangjian bench signin` (issue 6): the sign-in surge. A fresh SQLite data
//! directory gets one branch with N members, each with a user and an API
//! token, and two meetings whose sign-in windows are open now (one in
//! progress, one starting in 15 minutes; they do not overlap). The server
//! runs in this process on 127.0.0.1:0. After a warm-up that opens the
//! generator's connections (not measured), three phases over them:
//!
//! 1. closed loop, `concurrency` tasks: N × `GET /healthz` (the baseline);
//! 2. closed loop, same generator: N sign-ins to the first meeting
//!    (`POST /api/v1/meetings/{id}/signin`, each member with their own
//!    token) — the throughput ratio against phase 1; members come in a
//!    random order (the same in phases 2 and 3), as phones in a hall do,
//!    unless `--roster-order`;
//! 3. open loop: N sign-ins to the second meeting spread evenly over
//!    `window_secs` (the surge: 5,000 members within 10 s), latency
//!    measured from each request's scheduled time.
//!
//! It prints throughput, p50/p99/max, errors, the ratio, sign-ins per write
//! transaction (the group commit of `app::meetings::signin`), and whether
//! every sign-in is in the database afterwards.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, Request, Uri, header};
use chrono::Utc;
use clap::Args;
use dangjian_app::Actor;
use dangjian_app::identity::secret_hash;
use dangjian_app::meetings::MeetingInput;
use dangjian_app::roster::RosterFormat;
use dangjian_domain::meetings::MeetingKind;
use dangjian_store::entities::meeting_attendance as att;
use dangjian_store::repo::{identity as irepo, meetings as mrepo};
use dangjian_store::sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::Failure;
use crate::bench::{fail, fresh_app, seed_branch, workdir};

#[derive(Debug, Args)]
pub struct SigninArgs {
    /// Members signing in.
    #[arg(long, default_value_t = 5000)]
    pub members: usize,
    /// Requests in flight at once (load generator tasks).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// The open-loop surge spreads the N sign-ins over this many seconds.
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// Diagnostic: run the third phase closed loop like the second instead
    /// of spread over the window. Its sign-ins then come within seconds of
    /// the same members' first ones, so their callers are mostly in the
    /// 5 s cache: the rate of a sign-in that needs no database read before
    /// its write. The surge latency is not measured in this mode.
    #[arg(long)]
    pub surge_closed: bool,
    /// Diagnostic: give the members tokens of the older form, `dj_` and a
    /// secret, looked up by the hash of the whole text (a descent of the
    /// hash index) instead of by the id in the text.
    #[arg(long)]
    pub hashed_tokens: bool,
    /// Diagnostic: members sign in in the roster's order instead of a
    /// random one. Their users, tokens and attendance rows were written in
    /// that order, so consecutive sign-ins find their pages already read
    /// and a write transaction changes few pages: a kinder load than a hall
    /// of phones, and the order of every run before 2026-11-29's sixth
    /// session (BENCHMARKS.md).
    #[arg(long)]
    pub roster_order: bool,
    /// Work directory (default: a temp directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// What one phase of the load generator measured.
struct Phase {
    wall: Duration,
    /// CPU time of the whole process (server and generator) over the
    /// phase: less disturbed by other work on the machine than the wall
    /// time, so it tells what a request costs.
    cpu: Duration,
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Phase {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    /// Microseconds of CPU per request (server and generator together).
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / (self.latencies.len().max(1) as f64)
    }
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "requests": self.latencies.len(),
            "wall_s": self.wall.as_secs_f64(),
            "throughput_rps": self.throughput(),
            "p50_ms": self.pct(0.50).as_secs_f64() * 1e3,
            "p99_ms": self.pct(0.99).as_secs_f64() * 1e3,
            "max_ms": self.pct(1.0).as_secs_f64() * 1e3,
            "errors": self.errors,
            "cpu_us_per_request": self.cpu_us(),
        })
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Sends one request and reads the whole answer; a status other than
/// `expect` is an error.
async fn one(client: &HttpClient, req: Request<Full<Bytes>>, expect: u16) -> Result<(), String> {
    let res = client.request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    if status == expect {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}

type MakeRequest = Arc<dyn Fn(usize) -> Request<Full<Bytes>> + Send + Sync>;

/// Sends `n` requests spread evenly over `window` whatever the answers'
/// speed (open loop); each latency counts from the request's scheduled time.
async fn open_loop(
    client: &HttpClient,
    n: usize,
    window: Duration,
    expect: u16,
    make: MakeRequest,
) -> Phase {
    let start = Instant::now();
    let cpu = process_cpu();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + window.mul_f64(i as f64 / n as f64);
        tokio::time::sleep_until(at.into()).await;
        let (client, make) = (client.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let r = one(&client, make(i), expect).await;
            (at.elapsed(), r)
        }));
    }
    let mut phase = Phase {
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        latencies: Vec::with_capacity(n),
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        match t.await {
            Ok((lat, r)) => {
                phase.latencies.push(lat);
                if let Err(e) = r {
                    phase.errors += 1;
                    phase.first_error.get_or_insert(e);
                }
            }
            Err(e) => {
                phase.errors += 1;
                phase.first_error.get_or_insert(e.to_string());
            }
        }
    }
    phase.wall = start.elapsed();
    phase.cpu = process_cpu().saturating_sub(cpu);
    phase
}

/// Sends `n` requests built by `make(i)` from `concurrency` tasks; a
/// response other than `expect` counts as an error.
async fn drive(
    client: &HttpClient,
    n: usize,
    concurrency: usize,
    expect: u16,
    make: MakeRequest,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let cpu = process_cpu();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, next, make) = (client.clone(), next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let outcome = one(&client, make(i), expect).await;
                lat.push(t.elapsed());
                if let Err(e) = outcome {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (lat, errors, first_error)
        }));
    }
    let mut phase = Phase {
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        latencies: Vec::with_capacity(n),
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        if let Ok((lat, errors, first)) = t.await {
            phase.latencies.extend(lat);
            phase.errors += errors;
            if phase.first_error.is_none() {
                phase.first_error = first;
            }
        }
    }
    phase.wall = start.elapsed();
    phase.cpu = process_cpu().saturating_sub(cpu);
    phase
}

pub async fn run(args: SigninArgs) -> Result<(), Failure> {
    let n = args.members.max(1);
    let concurrency = args.concurrency.clamp(1, 1024);
    let keep = args.dir.is_some();
    let dir = workdir(args.dir)?;
    let app = fresh_app(&dir.join("data")).await?;
    let (branch_id, branch_code) = seed_branch(&app, &Actor::system(0, "/")).await?;
    let sys = Actor::system(branch_id, "/");

    // Members: import rosters until N are full or probationary.
    eprintln!("seeding {n} members…");
    let today = dangjian_app::clock::to_local(Utc::now()).date_naive();
    let mut seed = 11;
    let roster = loop {
        let ids = mrepo::roster_ids(&app.db.conn, branch_id, false, &["probationary", "full"])
            .await
            .map_err(fail)?;
        if ids.len() >= n {
            break ids;
        }
        let csv = dangjian_app::demo::roster_csv((n - ids.len()) * 2, seed, today);
        seed += 1;
        let r = app
            .import_roster(
                &sys,
                &branch_code,
                RosterFormat::Csv,
                csv.as_bytes(),
                &|_| {},
            )
            .await
            .map_err(fail)?;
        if r.imported == 0 {
            return Err(Failure(format!(
                "roster import rejected: {:?}",
                r.errors.first()
            )));
        }
    };
    let members: Vec<i64> = roster.into_iter().take(n).collect();

    // One user and token per member, written directly (an argon2 hash per
    // user would take minutes and is not what is measured).
    let now = Utc::now();
    let mut tokens = Vec::with_capacity(n);
    {
        let (_w, tx) = app.begin_write().await.map_err(fail)?;
        for (i, &m) in members.iter().enumerate() {
            let u = irepo::insert_user(
                &tx,
                &format!("bench_{i}"),
                "!",
                &format!("党员{i}"),
                Some(m),
                now,
            )
            .await
            .map_err(fail)?;
            irepo::grant(&tx, u.id, branch_id, "member")
                .await
                .map_err(fail)?;
            // As `App::create_token` makes them (`dj_{id}_{secret}`, looked
            // up by id), or with `--hashed-tokens` as before ids were part
            // of the text (looked up by the hash of the whole text).
            let secret = hex::encode(dangjian_app::identity::random_bytes::<32>().map_err(fail)?);
            if args.hashed_tokens {
                let token = format!("dj_{secret}");
                irepo::insert_token(&tx, &secret_hash(&token), u.id, "bench", now, None)
                    .await
                    .map_err(fail)?;
                tokens.push(token);
            } else {
                let id = irepo::insert_token(&tx, &secret_hash(&secret), u.id, "bench", now, None)
                    .await
                    .map_err(fail)?;
                tokens.push(dangjian_app::identity::token_text(id, &secret));
            }
        }
        tx.commit().await.map_err(fail)?;
    }

    // Two meetings with the sign-in open now, every member expected: one in
    // progress, one starting in 15 minutes (after the first ends).
    let mut meetings = Vec::new();
    for (title, starts, ends) in [
        ("签到压力测试支部党员大会", -5, 10),
        ("签到压力测试主题党日", 15, 120),
    ] {
        let m = app
            .schedule_meeting(
                &sys,
                &branch_code,
                MeetingInput {
                    kind: MeetingKind::BranchAssembly,
                    title: title.into(),
                    agenda: String::new(),
                    place: Some("大礼堂".into()),
                    online_link: None,
                    lecturer: None,
                    by_secretary: false,
                    starts_at: now + chrono::Duration::minutes(starts),
                    ends_at: now + chrono::Duration::minutes(ends),
                    repeat: None,
                    repeat_count: 1,
                    attendee_ids: Some(members.clone()),
                },
            )
            .await
            .map_err(fail)?;
        let id = m
            .first()
            .map(|m| m.id)
            .ok_or_else(|| Failure("no meeting".into()))?;
        let code = app
            .meeting_detail(&sys, id)
            .await
            .map_err(fail)?
            .signin_code
            .ok_or_else(|| Failure("no sign-in code".into()))?;
        meetings.push((id, code));
    }

    // The server, in process, on an ephemeral loopback port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(fail)?;
    let addr = listener.local_addr().map_err(fail)?;
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency.max(256))
        .build_http();

    // Each phase's request parts are built before it starts (a URI parsed
    // once, each member's header value made once), so the generator's own
    // cost per request stays small and alike in both phases.
    let health_uri: Uri = format!("http://{addr}/healthz").parse().map_err(fail)?;
    let health_req: MakeRequest = Arc::new(move |_| {
        Request::builder()
            .method(Method::GET)
            .uri(health_uri.clone())
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    });
    // Not measured: the generator opens its connections here, so neither
    // phase pays for them (the baseline phase, first, used to).
    let warm = drive(
        &client,
        concurrency * 20,
        concurrency,
        200,
        health_req.clone(),
    )
    .await;
    if warm.errors > 0 {
        return Err(Failure(format!(
            "warm-up: {} errors, first: {}",
            warm.errors,
            warm.first_error.unwrap_or_default()
        )));
    }
    eprintln!("{n} × GET /healthz, concurrency {concurrency}…");
    let health = drive(&client, n, concurrency, 200, health_req).await;

    // Members arrive in no particular order (unless `--roster-order`).
    if !args.roster_order {
        use rand::seq::SliceRandom;
        tokens.shuffle(&mut rand::thread_rng());
    }
    let bearers = Arc::new(
        tokens
            .iter()
            .map(|t| HeaderValue::from_str(&format!("Bearer {t}")).map_err(fail))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let signin_req = |(id, code): &(i64, String)| -> Result<MakeRequest, Failure> {
        let uri: Uri = format!("http://{addr}/api/v1/meetings/{id}/signin")
            .parse()
            .map_err(fail)?;
        let body = Bytes::from(json!({ "code": code }).to_string());
        let bearers = bearers.clone();
        Ok(Arc::new(move |i: usize| {
            Request::builder()
                .method(Method::POST)
                .uri(uri.clone())
                .header(header::AUTHORIZATION, bearers[i].clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()))
                .unwrap_or_default()
        }))
    };
    eprintln!(
        "{n} × sign-in to meeting {}, concurrency {concurrency}…",
        meetings[0].0
    );
    let before = app.sign_in_stats();
    let signin = drive(&client, n, concurrency, 201, signin_req(&meetings[0])?).await;
    let closed_stats = app.sign_in_stats();
    let window = Duration::from_secs(args.window_secs.max(1));
    eprintln!(
        "{n} × sign-in to meeting {} spread over {} s (open loop)…",
        meetings[1].0,
        window.as_secs()
    );
    let surge = if args.surge_closed {
        drive(&client, n, concurrency, 201, signin_req(&meetings[1])?).await
    } else {
        open_loop(&client, n, window, 201, signin_req(&meetings[1])?).await
    };
    let surge_stats = app.sign_in_stats();
    // Sign-ins per write transaction (the group commit), per phase.
    let per_batch = |a: dangjian_app::meetings::signin::SignInStats,
                     b: dangjian_app::meetings::signin::SignInStats| {
        (b.items - a.items) as f64 / ((b.batches - a.batches).max(1)) as f64
    };
    let (closed_batch, surge_batch) = (
        per_batch(before, closed_stats),
        per_batch(closed_stats, surge_stats),
    );
    // Transactions written over the direct SQLite connection, of all.
    let direct = (
        surge_stats.direct - before.direct,
        surge_stats.batches - before.batches,
    );
    server.abort();

    let mut durable = 0;
    for (id, _) in &meetings {
        durable += att::Entity::find()
            .filter(att::Column::MeetingId.eq(*id))
            .filter(att::Column::State.eq("present"))
            .filter(att::Column::Channel.eq("online"))
            .count(&app.db.conn)
            .await
            .map_err(fail)?;
    }
    let ratio = signin.throughput() / health.throughput().max(1e-9);
    if args.json {
        println!(
            "{}",
            json!({
                "members": n, "concurrency": concurrency, "backend": "sqlite",
                "window_s": window.as_secs(), "surge_closed": args.surge_closed,
                "hashed_tokens": args.hashed_tokens, "roster_order": args.roster_order,
                "healthz": health.json(), "signin": signin.json(), "surge": surge.json(),
                "throughput_ratio": ratio,
                "cpu_ratio": health.cpu_us() / signin.cpu_us().max(1e-9), "durable_signins": durable,
                "signins_per_batch": {"closed": closed_batch, "surge": surge_batch},
                "direct_batches": direct.0, "batches": direct.1,
            })
        );
    } else {
        let line = |name: &str, p: &Phase| {
            println!(
                "  {name:<8} {:>6} req in {:>6.2} s = {:>8.0} req/s   {:>5.1} µs CPU/req   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   errors {}",
                p.latencies.len(),
                p.wall.as_secs_f64(),
                p.throughput(),
                p.cpu_us(),
                p.pct(0.5).as_secs_f64() * 1e3,
                p.pct(0.99).as_secs_f64() * 1e3,
                p.pct(1.0).as_secs_f64() * 1e3,
                p.errors
            );
        };
        println!(
            "sign-in surge: {n} members ({}), SQLite, loopback, server in process",
            if args.roster_order {
                "in the roster's order"
            } else {
                "in random order"
            }
        );
        println!("  closed loop, concurrency {concurrency}:");
        line("healthz", &health);
        line("sign-in", &signin);
        println!("  sign-in / healthz throughput: {ratio:.3} (target ≥ 0.5)");
        println!(
            "  healthz / sign-in CPU per request: {:.3} (the same ratio by cost; steadier when the machine is shared)",
            health.cpu_us() / signin.cpu_us().max(1e-9)
        );
        println!("  sign-ins per write transaction: {closed_batch:.1}");
        if args.surge_closed {
            println!(
                "  closed loop again, {n} sign-ins to the second meeting (callers mostly cached):"
            );
            line("cached", &surge);
            println!("  sign-ins per write transaction: {surge_batch:.1}");
            println!(
                "  cached sign-in / healthz throughput: {:.3}",
                surge.throughput() / health.throughput().max(1e-9)
            );
        } else {
            println!(
                "  open loop, {n} sign-ins offered evenly over {} s:",
                window.as_secs()
            );
            line("surge", &surge);
            println!("  sign-ins per write transaction: {surge_batch:.1}");
            println!(
                "  surge p99 {:.2} ms (target < 50 ms on SQLite); all answered after {:.2} s",
                surge.pct(0.99).as_secs_f64() * 1e3,
                surge.wall.as_secs_f64()
            );
        }
        println!(
            "  sign-ins stored (present, online): {durable} of {}",
            2 * n
        );
        println!(
            "  write transactions over the direct SQLite connection: {} of {}",
            direct.0, direct.1
        );
        if let Some(e) = signin
            .first_error
            .as_ref()
            .or(surge.first_error.as_ref())
            .or(health.first_error.as_ref())
        {
            println!("  first error: {e}");
        }
    }
    drop(app);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if signin.errors + surge.errors + health.errors > 0 || durable != 2 * n as u64 {
        return Err(Failure(format!(
            "{} sign-in errors, {} surge errors, {} healthz errors, {durable} of {} stored",
            signin.errors,
            surge.errors,
            health.errors,
            2 * n
        )));
    }
    Ok(())
}

/// CPU time used by this process so far (zero where the platform cannot
/// tell).
fn process_cpu() -> Duration {
    cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default()
}
