//! `dangjian bench …`: rerunnable measurements that time ours and the named
//! baseline in the same run and print the ratio (figures go to BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use dangjian_app::orgs::NewOrgInput;
use dangjian_app::roster::{Progress, RosterFormat};
use dangjian_app::{Actor, App, Db, Keyring, SystemClock};
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use indicatif::ProgressBar;
use serde_json::json;

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// The warning sweep over a seeded tree (default 100,000 organizations,
    /// 3,000,000 members) against one plain SQL pass over the same rows, and
    /// what rule evaluation adds to a member registration.
    Sweep(crate::bench_sweep::SweepArgs),
    /// Appending archive leaves against SHA-256 alone and the `ct-merkle`
    /// crate, and median inclusion/consistency proofs from a stored log of
    /// 10,000,000 leaves (issue 4).
    Ledger(crate::bench_ledger::LedgerArgs),
    /// One month's dues sheets for every member of a demo tree (default
    /// 1,000,000 members) against a plain SQL `INSERT … SELECT` of the same
    /// rows (issue 7).
    Dues(crate::bench_dues::DuesArgs),
    /// The near-duplicate check of new minutes against N stored minutes
    /// signatures (default 1,000,000) against brute force over a sample,
    /// extrapolated (issue 6: under 50 ms median).
    Minutes(crate::bench_minutes::MinutesArgs),
    /// Roster import of N generated rows (validation, encryption, blind index)
    /// into SQLite against `sqlite3 .import` of the same file into a plain table.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Working directory (a fresh temporary one by default).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also time the floor: the `sqlite3` shell copying the rows our
        /// import wrote (already encrypted, with their events, leaves and
        /// nodes) into an empty database of our schema, in one transaction,
        /// the blind-index index dropped and rebuilt as our bulk mode does.
        #[arg(long)]
        floor: bool,
        #[arg(long)]
        json: bool,
    },
    /// Sign-in surge (issue 6): N members sign in to one meeting over
    /// loopback against an in-process server, against `/healthz` under the
    /// same load generator in the same run.
    Signin(crate::bench_signin::SigninArgs),
    /// Loopback load test (issue 5): 200 clients × 60 s of sign-in, member
    /// list and one registration; zero errors, throughput and p99.
    Load(crate::bench_load::LoadArgs),
    /// Median server time of a branch's member list (500 members) and an exact
    /// ID-number search over the province, on a database seeded by
    /// `dangjian demo --members 1000000`.
    Query {
        #[command(flatten)]
        data: crate::config::DataArgs,
        /// Requests per measurement.
        #[arg(long, default_value_t = 300)]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn fail(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string())
}

pub async fn run(cmd: BenchCmd) -> Result<(), Failure> {
    match cmd {
        BenchCmd::Import {
            rows,
            dir,
            floor,
            json,
        } => import(rows, dir, floor, json).await,
        BenchCmd::Query { data, runs, json } => query(data, runs, json).await,
        BenchCmd::Sweep(args) => crate::bench_sweep::run(args).await,
        BenchCmd::Ledger(args) => crate::bench_ledger::run(args).await,
        BenchCmd::Signin(args) => crate::bench_signin::run(args).await,
        BenchCmd::Load(args) => crate::bench_load::run(args).await,
        BenchCmd::Dues(args) => crate::bench_dues::run(args).await,
        BenchCmd::Minutes(args) => crate::bench_minutes::run(args).await,
    }
}

pub(crate) fn workdir(dir: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let d = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("dangjian-bench-{}", std::process::id()))
    });
    if d.exists() {
        std::fs::remove_dir_all(&d).map_err(fail)?;
    }
    std::fs::create_dir_all(&d).map_err(fail)?;
    Ok(d)
}

/// The tables a registration writes, in the order the import fills them.
const IMPORT_TABLES: [&str; 4] = ["members", "member_events", "ledger_leaves", "ledger_nodes"];

/// Runs the `sqlite3` shell on `db` with WAL and `synchronous=NORMAL` (as
/// ours runs) and `sql`; returns its wall time.
fn sqlite3(db: &Path, sql: &str) -> Result<Duration, Failure> {
    let t = Instant::now();
    let status = Command::new("sqlite3")
        .arg(db)
        .args([
            "-cmd",
            "PRAGMA journal_mode=WAL;",
            "-cmd",
            "PRAGMA synchronous=NORMAL;",
        ])
        .arg(sql)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            Failure(format!(
                "sqlite3 shell not found ({e}); apt-get install sqlite3"
            ))
        })?;
    let took = t.elapsed();
    if !status.success() {
        return Err(Failure(format!(
            "sqlite3 failed on {}: {sql}",
            db.display()
        )));
    }
    Ok(took)
}

async fn import(rows: usize, dir: Option<PathBuf>, floor: bool, json: bool) -> Result<(), Failure> {
    let dir = workdir(dir)?;
    let today = dangjian_app::clock::to_local(chrono::Utc::now()).date_naive();
    eprintln!("generating {rows} rows…");
    let csv_path = dir.join("roster.csv");
    std::fs::write(&csv_path, dangjian_app::demo::roster_csv(rows, 7, today)).map_err(fail)?;
    let bytes = std::fs::read(&csv_path).map_err(fail)?;

    // Baseline: sqlite3's own CSV import into a plain table, same machine, same file.
    let baseline = sqlite3(
        &dir.join("baseline.db"),
        &format!(".import --csv {} roster", csv_path.display()),
    )?;

    // Ours: a fresh data directory with one branch, import through the app.
    let app = fresh_app(&dir.join("ours")).await?;
    let sys = Actor::system(0, "/");
    let branch = seed_branch(&app, &sys).await?;
    let sys = Actor::system(branch.0, "/");
    // The floor's database: our schema and organizations, no member yet.
    let floor_db = dir.join("floor.db");
    if floor {
        use dangjian_store::sea_orm::ConnectionTrait;
        app.db
            .conn
            .execute_unprepared(&format!("VACUUM INTO '{}'", floor_db.display()))
            .await
            .map_err(fail)?;
    }
    let pb = ProgressBar::new(rows as u64);
    let t = Instant::now();
    let validated_at = std::sync::Mutex::new(None);
    let first_write_at = std::sync::Mutex::new(None);
    let report = app
        .import_roster(&sys, &branch.1, RosterFormat::Csv, &bytes, &|p| match p {
            Progress::Validated(n, total) => {
                if n == total
                    && let Ok(mut g) = validated_at.lock()
                {
                    *g = Some(t.elapsed());
                }
            }
            Progress::Written(n, _) => {
                pb.set_position(n as u64);
                if let Ok(mut g) = first_write_at.lock() {
                    g.get_or_insert(t.elapsed());
                }
            }
        })
        .await
        .map_err(|e| Failure(e.to_string()))?;
    let ours = t.elapsed();
    pb.finish_and_clear();
    if !report.errors.is_empty() || report.imported != rows {
        return Err(Failure(format!(
            "import rejected: {} errors, first: {:?}",
            report.errors.len(),
            report.errors.first()
        )));
    }
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64();
    let phase = |m: &std::sync::Mutex<Option<Duration>>| {
        m.lock()
            .ok()
            .and_then(|g| *g)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    };
    let (v_at, w_at) = (phase(&validated_at), phase(&first_write_at));
    // The floor: sqlite3 copies our rows, in id order (no transfer
    // optimization: each row goes through every index as ours did).
    let floor_time = if floor {
        let ours_db = dir.join("ours").join("dangjian.db");
        // Bulk mode's indexes, dropped before the copy and built after it
        // in the same transaction, as our import does
        // (`roster_pipeline`): the floor is then SQLite's cost of the same
        // work, not of filling the index in random key order.
        let mut rebuild = String::new();
        let mut sql = format!("ATTACH '{}' AS src; BEGIN;", ours_db.display());
        for name in dangjian_store::repo::members::BIDX_INDEXES {
            let create = dangjian_store::repo::bulk::index_statement(&app.db.conn, name)
                .await
                .map_err(fail)?;
            if let Some(create) = create {
                sql.push_str(&format!(" DROP INDEX main.\"{name}\";"));
                rebuild.push_str(&format!(" {create};"));
            }
        }
        app.db.conn.close_by_ref().await.map_err(fail)?;
        drop(app);
        for t in IMPORT_TABLES {
            let order = match t {
                "ledger_leaves" => "leaf_index",
                "ledger_nodes" => "level, idx",
                _ => "id",
            };
            sql.push_str(&format!(
                " INSERT INTO main.{t} SELECT * FROM src.{t} ORDER BY {order};"
            ));
        }
        sql.push_str(&rebuild);
        sql.push_str(" COMMIT;");
        Some(sqlite3(&floor_db, &sql)?)
    } else {
        None
    };
    if json {
        println!(
            "{}",
            json!({"rows": rows, "ours_s": ours.as_secs_f64(), "sqlite3_import_s": baseline.as_secs_f64(), "ratio": ratio,
                   "floor_s": floor_time.map(|f| f.as_secs_f64()),
                   "floor_ratio": floor_time.map(|f| f.as_secs_f64() / baseline.as_secs_f64()),
                   "validated_s": v_at, "first_write_s": w_at})
        );
    } else {
        println!("roster import, {rows} rows");
        println!(
            "  sqlite3 .import (plain table): {:>8.2} s",
            baseline.as_secs_f64()
        );
        if let Some(f) = floor_time {
            println!(
                "  floor, sqlite3 copying our encrypted rows into our schema: {:>8.2} s ({:.2}× the baseline)",
                f.as_secs_f64(),
                f.as_secs_f64() / baseline.as_secs_f64()
            );
        }
        println!(
            "  dangjian import (validated, encrypted, indexed): {:>8.2} s",
            ours.as_secs_f64()
        );
        println!("  ratio: {ratio:.2}× (target ≤ 2×)");
        if let Some(f) = floor_time {
            println!(
                "  ours over the floor: {:.2}×",
                ours.as_secs_f64() / f.as_secs_f64()
            );
        }
        println!(
            "  phases: first chunk written at {w_at:.2} s, file read and validated at {v_at:.2} s, committed at {:.2} s",
            ours.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

pub(crate) async fn fresh_app(dir: &Path) -> Result<App, Failure> {
    std::fs::create_dir_all(dir).map_err(fail)?;
    let db = Db::connect(&crate::config::sqlite_url(&dir.join("dangjian.db")))
        .await
        .map_err(fail)?;
    db.migrate().await.map_err(fail)?;
    let keys = Keyring::load_or_create(&dir.join("keys.json")).map_err(fail)?;
    Ok(App::new(db, keys, Arc::new(SystemClock)))
}

pub(crate) async fn seed_branch(app: &App, sys: &Actor) -> Result<(i64, String), Failure> {
    let mk = |code: &str, name: &str, kind, parent: Option<&str>| NewOrgInput {
        code: code.into(),
        name: name.into(),
        kind,
        setting: OrgSetting::Other,
        parent_code: parent.map(String::from),
        has_committee: false,
        committee_elected_on: None,
    };
    app.create_org(sys, mk("BENCH", "基准测试县委", OrgKind::County, None))
        .await
        .map_err(fail)?;
    let sys = Actor::system(0, "/");
    app.create_org(
        &sys,
        mk("BENCH-W", "基准测试党委", OrgKind::Committee, Some("BENCH")),
    )
    .await
    .map_err(fail)?;
    let b = app
        .create_org(
            &sys,
            mk(
                "BENCH-B",
                "基准测试党支部",
                OrgKind::Branch,
                Some("BENCH-W"),
            ),
        )
        .await
        .map_err(fail)?;
    Ok((b.id, b.code))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

async fn query(data: crate::config::DataArgs, runs: usize, json: bool) -> Result<(), Failure> {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    let (app, _) = crate::open(&data).await?;
    let root = dangjian_store::repo::orgs::by_code(&app.db.conn, "GD")
        .await
        .map_err(fail)?
        .ok_or_else(|| {
            Failure("no demo data: run `dangjian demo --members 1000000` first".into())
        })?;
    let total = dangjian_store::repo::members::count_in_subtree(&app.db.conn, &root.path)
        .await
        .map_err(fail)?;
    // The largest branch of the demo is its first one (500 members when seeded with ≥ 5,000).
    let branch = "GD-C01-X01-W01-B01";
    let admin = app.create_token("admin", "bench").await.map_err(fail)?;
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    let get = |path: String| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
    };
    let mut list = Vec::with_capacity(runs);
    let mut listed = 0;
    for _ in 0..runs {
        let req = get(format!("/api/v1/orgs/{branch}/members?limit=500")).map_err(fail)?;
        let t = Instant::now();
        let res = router.clone().oneshot(req).await.map_err(fail)?;
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .map_err(fail)?;
        list.push(t.elapsed());
        listed = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["items"].as_array().map(|a| a.len()))
            .unwrap_or(0);
    }
    // An ID number to look for: a member of a branch far from the first one.
    let sys = Actor::system(root.id, &root.path);
    let sample = dangjian_store::repo::members::get(&app.db.conn, (total / 2) as i64)
        .await
        .map_err(fail)?
        .ok_or_else(|| Failure("no member to search".into()))?;
    let id_number = app
        .member_detail(&sys, sample.id)
        .await
        .map_err(fail)?
        .id_number;
    let mut search = Vec::with_capacity(runs);
    for _ in 0..runs {
        let req = Request::post("/api/v1/members/search")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"id_number": id_number}).to_string()))
            .map_err(fail)?;
        let t = Instant::now();
        let res = router.clone().oneshot(req).await.map_err(fail)?;
        let _ = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .map_err(fail)?;
        search.push(t.elapsed());
    }
    let (ml, ms) = (median(list), median(search));
    if json {
        println!(
            "{}",
            json!({"members": total, "branch_list_rows": listed, "list_median_ms": ml.as_secs_f64() * 1e3, "id_search_median_ms": ms.as_secs_f64() * 1e3, "runs": runs})
        );
    } else {
        println!("{total} members; {runs} requests each, in-process through the router");
        println!(
            "  member list of {branch} ({listed} rows): median {:.2} ms (target < 10 ms)",
            ml.as_secs_f64() * 1e3
        );
        println!(
            "  exact ID-number search over the province:  median {:.2} ms (target < 10 ms)",
            ms.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
