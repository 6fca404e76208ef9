//! `dangjian bench load` (issue 5, item 9): a bounded loopback load test.
//! A fresh SQLite data directory gets the demo tree; the server runs in this
//! process on 127.0.0.1:0. `clients` (default 200) tasks, each with its own
//! loopback source address (127.0.x.y, so the per-address limits of the
//! sign-in endpoint apply to each client as they would to each phone), run
//! for `secs` (default 60) in a closed loop: sign in as the branch secretary
//! (argon2id, a session cookie and its CSRF token; again every
//! `login_every_secs`), then rounds of the branch's member list and one
//! write, the registration of a new applicant (validation, encryption,
//! blind index, ledger leaf, warning rules, one transaction).
//!
//! It prints, per operation, the count, throughput, p50/p99/max and errors,
//! and exits non-zero on any error. Every registration acknowledged must be
//! in the database afterwards.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use clap::Args;
use dangjian_store::entities::member;
use dangjian_store::sea_orm::{EntityTrait, PaginatorTrait};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::Failure;
use crate::bench::{fail, fresh_app, workdir};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Concurrent clients, each on its own loopback address.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// How long the load runs.
    #[arg(long, default_value_t = 60)]
    pub secs: u64,
    /// Each client signs in again after this many seconds.
    #[arg(long, default_value_t = 15)]
    pub login_every_secs: u64,
    /// Members of the demo tree seeded first.
    #[arg(long, default_value_t = 2000)]
    pub members: usize,
    /// Work directory (default: a temp directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Default)]
struct Op {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Op {
    fn add(&mut self, other: Op) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
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
    fn json(&self, wall: Duration) -> serde_json::Value {
        json!({
            "requests": self.latencies.len(),
            "throughput_rps": self.latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
            "p50_ms": self.pct(0.50).as_secs_f64() * 1e3,
            "p99_ms": self.pct(0.99).as_secs_f64() * 1e3,
            "max_ms": self.pct(1.0).as_secs_f64() * 1e3,
            "errors": self.errors,
        })
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One request; the status, the session cookie it set, and the body.
async fn send(
    client: &HttpClient,
    req: Request<Full<Bytes>>,
) -> Result<(u16, Option<String>, Bytes), String> {
    let res = client.request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(String::from);
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, cookie, body))
}

struct Session {
    cookie: String,
    csrf: String,
}

struct Shared {
    base: String,
    branch: String,
    login: String,
    password: String,
    people: Vec<String>,
    next_person: AtomicUsize,
    deadline: Instant,
    login_every: Duration,
}

#[derive(Default)]
struct ClientReport {
    login: Op,
    list: Op,
    write: Op,
    created: Vec<i64>,
}

fn record(op: &mut Op, t: Instant, r: Result<u16, String>, expect: u16) -> bool {
    match r {
        Ok(s) if s == expect => {
            op.latencies.push(t.elapsed());
            true
        }
        Ok(s) => {
            op.errors += 1;
            op.first_error.get_or_insert_with(|| format!("status {s}"));
            false
        }
        Err(e) => {
            op.errors += 1;
            op.first_error.get_or_insert(e);
            false
        }
    }
}

async fn sign_in(client: &HttpClient, sh: &Shared, rep: &mut ClientReport) -> Option<Session> {
    let body = json!({"login": sh.login, "password": sh.password}).to_string();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("{}/api/v1/auth/login", sh.base))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .ok()?;
    let t = Instant::now();
    let r = send(client, req).await;
    let mut session = None;
    let status = r.map(|(s, cookie, body)| {
        let csrf = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["csrf_token"].as_str().map(String::from));
        if let (Some(cookie), Some(csrf)) = (cookie, csrf) {
            session = Some(Session { cookie, csrf });
        }
        s
    });
    record(&mut rep.login, t, status, 200);
    session
}

async fn client_loop(client: HttpClient, sh: Arc<Shared>) -> ClientReport {
    let mut rep = ClientReport::default();
    let mut session: Option<(Session, Instant)> = None;
    while Instant::now() < sh.deadline {
        if session
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() >= sh.login_every)
        {
            match sign_in(&client, &sh, &mut rep).await {
                Some(s) => session = Some((s, Instant::now())),
                None => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let Some((s, _)) = session.as_ref() else {
            continue;
        };
        // The branch's member list.
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/api/v1/orgs/{}/members", sh.base, sh.branch))
            .header(header::COOKIE, &s.cookie)
            .body(Full::new(Bytes::new()));
        let Ok(req) = req else { break };
        let t = Instant::now();
        let r = send(&client, req).await.map(|(s, _, _)| s);
        record(&mut rep.list, t, r, 200);
        // One write: a new applicant.
        let i = sh.next_person.fetch_add(1, Ordering::Relaxed);
        let Some(person) = sh.people.get(i) else {
            continue;
        };
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/api/v1/orgs/{}/members", sh.base, sh.branch))
            .header(header::COOKIE, &s.cookie)
            .header("x-csrf-token", &s.csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(person.clone())));
        let Ok(req) = req else { break };
        let t = Instant::now();
        let mut id = None;
        let r = send(&client, req).await.map(|(s, _, body)| {
            id = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["id"].as_i64());
            s
        });
        if record(&mut rep.write, t, r, 201)
            && let Some(id) = id
        {
            rep.created.push(id);
        }
    }
    rep
}

pub async fn run(args: LoadArgs) -> Result<(), Failure> {
    let keep = args.dir.is_some();
    let dir = workdir(args.dir)?;
    let app = fresh_app(&dir).await?;
    eprintln!("seeding the demo tree ({} members)…", args.members);
    let demo = crate::seed(&app, args.members, args.json).await?;
    let secretary = demo
        .users
        .iter()
        .find(|u| u.login == "secretary_a")
        .ok_or_else(|| Failure("the demo has no secretary_a".into()))?
        .clone();
    // Applicants with valid ID numbers: name, ID, …, stage, applied on;
    // none already registered by the demo (that would be a correct 409,
    // not load), found through the same blind index the server uses.
    let pool = args.clients * 400;
    let csv = dangjian_app::demo::roster_csv(pool * 3, 0x10AD, app.today());
    let registered: std::collections::HashSet<String> = member::Entity::find()
        .all(&app.db.conn)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|m| m.id_bidx)
        .collect();
    let people: Vec<String> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let bidx = app
                .keys
                .blind_index(dangjian_app::members::BIDX_ID, c.get(1).copied()?);
            (c.get(6) == Some(&"入党申请人") && !registered.contains(&bidx)).then(|| {
                json!({"name": c[0], "id_number": c[1], "stage": "applicant", "applied_on": c[7]})
                    .to_string()
            })
        })
        .take(pool)
        .collect();
    let before = member::Entity::find()
        .count(&app.db.conn)
        .await
        .map_err(fail)?;

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

    let secs = Duration::from_secs(args.secs.max(1));
    let start = Instant::now();
    let shared = Arc::new(Shared {
        base: format!("http://{addr}"),
        branch: secretary.org.clone(),
        login: secretary.login.clone(),
        password: secretary.password.clone(),
        people,
        next_person: AtomicUsize::new(0),
        deadline: start + secs,
        login_every: Duration::from_secs(args.login_every_secs.max(1)),
    });
    eprintln!(
        "{} clients for {} s: sign-in, member list, registration…",
        args.clients,
        secs.as_secs()
    );
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        // 127.0.0.2 … : one source address per client.
        let n = i as u32 + 2;
        let ip = Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250) as u8 + 1);
        let mut conn = HttpConnector::new();
        conn.set_local_address(Some(IpAddr::V4(ip)));
        conn.set_nodelay(true);
        let client: HttpClient = Client::builder(TokioExecutor::new()).build(conn);
        tasks.push(tokio::spawn(client_loop(client, shared.clone())));
    }
    let (mut login, mut list, mut write) = (Op::default(), Op::default(), Op::default());
    let mut created = Vec::new();
    for t in tasks {
        let r = t.await.map_err(fail)?;
        login.add(r.login);
        list.add(r.list);
        write.add(r.write);
        created.extend(r.created);
    }
    let wall = start.elapsed();
    server.abort();
    let after = member::Entity::find()
        .count(&app.db.conn)
        .await
        .map_err(fail)?;
    let stored = after.saturating_sub(before);
    let errors = login.errors + list.errors + write.errors;
    let exhausted = shared.next_person.load(Ordering::Relaxed) >= shared.people.len();
    if args.json {
        println!(
            "{}",
            json!({
                "clients": args.clients, "secs": secs.as_secs(), "backend": "sqlite",
                "wall_s": wall.as_secs_f64(),
                "login": login.json(wall), "list": list.json(wall), "write": write.json(wall),
                "acknowledged_writes": created.len(), "stored_writes": stored,
                "errors": errors, "applicant_pool_exhausted": exhausted,
            })
        );
    } else {
        let line = |name: &str, o: &Op| {
            println!(
                "  {name:<9} {:>7} req = {:>7.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   errors {}",
                o.latencies.len(),
                o.latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
                o.pct(0.5).as_secs_f64() * 1e3,
                o.pct(0.99).as_secs_f64() * 1e3,
                o.pct(1.0).as_secs_f64() * 1e3,
                o.errors
            );
        };
        println!(
            "load: {} clients × {:.1} s, SQLite, loopback, server in process",
            args.clients,
            wall.as_secs_f64()
        );
        line("sign-in", &login);
        line("list", &list);
        line("register", &write);
        println!(
            "  registrations acknowledged {} / stored {stored}{}",
            created.len(),
            if exhausted {
                " (applicant pool used up)"
            } else {
                ""
            }
        );
        if let Some(e) = login
            .first_error
            .as_ref()
            .or(list.first_error.as_ref())
            .or(write.first_error.as_ref())
        {
            println!("  first error: {e}");
        }
    }
    drop(app);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if errors > 0 || stored != created.len() as u64 {
        return Err(Failure(format!(
            "{errors} errors; {} registrations acknowledged, {stored} stored",
            created.len()
        )));
    }
    Ok(())
}
