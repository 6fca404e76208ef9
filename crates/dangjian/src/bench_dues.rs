//! `dangjian bench dues`: generating one month's dues sheets for every
//! member of a demo tree through the app (batched per organizations,
//! idempotent) against one plain SQL `INSERT … SELECT` producing the same
//! rows, on the same database in the same run (issue 7: within 3×). The two
//! alternate which goes first over `--rounds` rounds (the table emptied
//! before each run) and their medians are compared, so neither always pays
//! the cold cache; then the arrears sweep is timed once over the same tree.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::Args;
use dangjian_app::Actor;
use dangjian_domain::dues::{DuesCategory, FeeInput, calculate_fee};
use dangjian_store::sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;

use crate::Failure;

#[derive(Debug, Args)]
pub struct DuesArgs {
    /// Members of the generated demo tree.
    #[arg(long, default_value_t = 1_000_000)]
    pub members: usize,
    /// Working directory (a fresh temporary one by default).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rounds of both runs, alternating which goes first.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Skip timing the arrears sweep after the rounds.
    #[arg(long)]
    pub no_sweep: bool,
    #[arg(long)]
    pub json: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string())
}

/// Fees of four income levels, from the calculator (DOMAIN.md §7).
fn fees(on: NaiveDate) -> Result<[i64; 4], Failure> {
    let mut out = [0; 4];
    for (i, yuan) in ["2800", "4500", "8000", "12000"].iter().enumerate() {
        out[i] = calculate_fee(
            FeeInput::new(DuesCategory::Employed, on)
                .with_income_str(yuan)
                .map_err(fail)?,
        )
        .map_err(fail)?
        .fee_fen;
    }
    Ok(out)
}

pub async fn run(args: DuesArgs) -> Result<(), Failure> {
    let dir = crate::bench::workdir(args.dir)?;
    let mut app = crate::bench::fresh_app(&dir).await?;
    // Arrears evaluation is the sweep's job in this measurement.
    app.config_mut().evaluate_rules_on_write = false;
    eprintln!("seeding a demo tree of {} members…", args.members);
    let t = Instant::now();
    let demo = crate::seed(&app, args.members, args.json).await?;
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());

    // One base per member, set in SQL (set-up, not measured).
    let jan = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or_else(|| fail("date"))?;
    let f = fees(jan)?;
    let sql = format!(
        "INSERT INTO dues_bases (member_id, org_id, year, effective_from, category, base_enc, \
         fee_fen, rule, relief, approval_ref, declared_by, created_by, created_at) \
         SELECT id, org_id, 2026, '2026-01-01', 'employed', NULL, \
         CASE id % 4 WHEN 0 THEN {} WHEN 1 THEN {} WHEN 2 THEN {} ELSE {} END, \
         'bench', NULL, NULL, 'secretary', NULL, created_at FROM members",
        f[0], f[1], f[2], f[3]
    );
    let backend = app.db.conn.get_database_backend();
    app.db
        .conn
        .execute_raw(Statement::from_string(backend, sql))
        .await
        .map_err(fail)?;

    let feb = NaiveDate::from_ymd_opt(2026, 2, 1).ok_or_else(|| fail("date"))?;
    let root = dangjian_store::repo::orgs::by_code(&app.db.conn, &demo.root_org)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("demo root missing"))?;
    let sys = Actor::system(root.id, &root.path);
    let total = dangjian_store::repo::orgs::subtree_count(&app.db.conn, &root.path)
        .await
        .map_err(fail)?;

    // Each run starts from an empty charges table (a benchmark database
    // only), so both write the same rows into the same table.
    let clear = || async {
        app.db
            .conn
            .execute_raw(Statement::from_string(backend, "DELETE FROM dues_charges"))
            .await
            .map_err(fail)
    };
    let rounds = args.rounds.max(1);
    let (mut plain_t, mut ours_t) = (Vec::new(), Vec::new());
    let (mut plain_rows, mut ours_rows, mut organizations) = (0, 0, 0);
    for round in 0..rounds {
        for ours_turn in [round % 2 == 1, round % 2 == 0] {
            clear().await?;
            if ours_turn {
                // Ours: the use case over the whole tree, with progress.
                let pb = crate::bar(total, "生成党费表 generating");
                if args.json {
                    pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                }
                let t = Instant::now();
                let r = app
                    .generate_dues(&sys, &demo.root_org, "2026-01", &|orgs, _| {
                        pb.set_position(orgs)
                    })
                    .await
                    .map_err(fail)?;
                ours_t.push(t.elapsed());
                pb.finish_and_clear();
                ours_rows = r.charges_created;
                organizations = r.organizations;
            } else {
                // Baseline: one plain INSERT … SELECT of January's rows.
                let now = chrono::Utc::now();
                let t = Instant::now();
                let tx = app.db.conn.begin().await.map_err(fail)?;
                plain_rows = dangjian_store::repo::dues::generate_plain(&tx, jan, feb, now)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                plain_t.push(t.elapsed());
            }
            if ours_rows != 0 && plain_rows != 0 && ours_rows != plain_rows {
                return Err(Failure(format!(
                    "row counts differ: ours {ours_rows} vs plain {plain_rows}"
                )));
            }
        }
        eprintln!(
            "round {}/{rounds}: plain {:.2} s, dangjian {:.2} s",
            round + 1,
            plain_t.last().map_or(0.0, Duration::as_secs_f64),
            ours_t.last().map_or(0.0, Duration::as_secs_f64),
        );
    }
    let (baseline, ours) = (median(plain_t.clone()), median(ours_t.clone()));
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64().max(1e-9);

    // The arrears sweep over the same tree, January's sheet in place
    // (the last run was ours in an odd round count, the plain one's rows
    // otherwise: the same rows either way).
    let sweep = if args.no_sweep {
        None
    } else {
        let t = Instant::now();
        let n = app.sweep_dues().await.map_err(fail)?;
        Some((t.elapsed(), n))
    };
    let secs = |v: &[Duration]| v.iter().map(Duration::as_secs_f64).collect::<Vec<_>>();
    if args.json {
        println!(
            "{}",
            json!({"members": args.members, "organizations": organizations,
                "charges": ours_rows, "rounds": rounds,
                "baseline_s": baseline.as_secs_f64(), "ours_s": ours.as_secs_f64(),
                "baseline_runs_s": secs(&plain_t), "ours_runs_s": secs(&ours_t),
                "ratio": ratio,
                "sweep_s": sweep.map(|s| s.0.as_secs_f64()),
                "sweep_organizations": sweep.map(|s| s.1)})
        );
    } else {
        println!(
            "dues sheets: {ours_rows} charges in {organizations} organizations, median of {rounds} alternating rounds — plain INSERT…SELECT {:.2} s, dangjian {:.2} s, ratio {:.2}× (target ≤ 3×)",
            baseline.as_secs_f64(),
            ours.as_secs_f64(),
            ratio
        );
        if let Some((t, n)) = sweep {
            println!(
                "arrears sweep: {n} organizations in {:.2} s",
                t.as_secs_f64()
            );
        }
    }
    Ok(())
}
