//! `dangjian bench dues`: generating one month's dues sheets for every
//! member of a demo tree through the app (batched per organizations,
//! idempotent) against one plain SQL `INSERT … SELECT` producing the same
//! rows, on the same database in the same run (issue 7: within 3×).

use std::path::PathBuf;
use std::time::Instant;

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
    #[arg(long)]
    pub json: bool,
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
    app.config.evaluate_rules_on_write = false;
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

    // Baseline: one plain INSERT … SELECT of January's rows; then they are
    // deleted (a benchmark database only) so ours writes the same rows into
    // the same table.
    let feb = NaiveDate::from_ymd_opt(2026, 2, 1).ok_or_else(|| fail("date"))?;
    let now = chrono::Utc::now();
    let t = Instant::now();
    let tx = app.db.conn.begin().await.map_err(fail)?;
    let plain = dangjian_store::repo::dues::generate_plain(&tx, jan, feb, now)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let baseline = t.elapsed();
    app.db
        .conn
        .execute_raw(Statement::from_string(backend, "DELETE FROM dues_charges"))
        .await
        .map_err(fail)?;

    // Ours: the use case over the whole tree for January, with progress.
    let root = dangjian_store::repo::orgs::by_code(&app.db.conn, &demo.root_org)
        .await
        .map_err(fail)?
        .ok_or_else(|| fail("demo root missing"))?;
    let sys = Actor::system(root.id, &root.path);
    let total = dangjian_store::repo::orgs::subtree_count(&app.db.conn, &root.path)
        .await
        .map_err(fail)?;
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
    let ours = t.elapsed();
    pb.finish_and_clear();
    if r.charges_created != plain {
        return Err(Failure(format!(
            "row counts differ: ours {} vs plain {plain}",
            r.charges_created
        )));
    }
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64().max(1e-9);
    if args.json {
        println!(
            "{}",
            json!({"members": args.members, "organizations": r.organizations,
                "charges": r.charges_created, "baseline_s": baseline.as_secs_f64(),
                "ours_s": ours.as_secs_f64(), "ratio": ratio})
        );
    } else {
        println!(
            "dues sheets: {} charges in {} organizations — plain INSERT…SELECT {:.2} s, dangjian {:.2} s, ratio {:.2}× (target ≤ 3×)",
            r.charges_created,
            r.organizations,
            baseline.as_secs_f64(),
            ours.as_secs_f64(),
            ratio
        );
    }
    Ok(())
}
