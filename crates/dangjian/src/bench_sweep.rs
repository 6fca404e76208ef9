//! `dangjian bench sweep`: the figures of the warning engine (issue 3).
//!
//! Seeds a synthetic tree (province → cities → counties → committees →
//! branches, committee terms spread over six years) and its members with the
//! bulk path of `repo::warnings`, then times in one run:
//! - the sweep of the time-driven rules over every organization, the first
//!   one (raising everything) and the steady state (nothing to change),
//!   against one plain SQL pass reading the same rows (every organization,
//!   and the member counts per organization and stage);
//! - the median of N member registrations with and without the rule
//!   evaluation in their transaction, interleaved.
//!
//! A data directory that already holds the benchmark tree is reused.

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use clap::Args;
use dangjian_app::{Actor, App};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates};
use dangjian_domain::resident_id::compute_check_char;
use dangjian_store::repo::warnings::{self as wrepo, BulkMember, BulkOrg};
use dangjian_store::sea_orm::TransactionTrait;
use indicatif::ProgressBar;
use serde_json::json;

use crate::Failure;

/// Code of the benchmark tree's root.
const ROOT: &str = "BENCH-P";

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub data: crate::config::DataArgs,
    /// Organizations to seed.
    #[arg(long, default_value_t = 100_000)]
    pub orgs: usize,
    /// Members to seed.
    #[arg(long, default_value_t = 3_000_000)]
    pub members: usize,
    /// Steady-state sweeps and plain passes timed (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Member registrations timed with and without evaluation, each.
    #[arg(long, default_value_t = 200)]
    pub writes: usize,
    #[arg(long)]
    pub json: bool,
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// A deterministic scramble of `x` (SplitMix64), for spreading sizes and dates.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The synthetic tree: ids 1..=n in breadth order, with paths.
fn tree(n: usize, today: NaiveDate) -> (Vec<BulkOrg>, Vec<(i64, String)>) {
    let n = n.max(5);
    let cities = (n / 10_000).max(1);
    let counties = (n / 1_000).max(1);
    let committees = (n / 50).max(1);
    let branches = n.saturating_sub(1 + cities + counties + committees).max(1);
    let mut orgs: Vec<BulkOrg> = Vec::with_capacity(n);
    let mut out_branches = Vec::with_capacity(branches);
    let add = |orgs: &mut Vec<BulkOrg>, kind: &str, parent: Option<i64>, i: usize| {
        let id = orgs.len() as i64 + 1;
        let (path, depth) = match parent {
            Some(p) => {
                let pp = &orgs[(p - 1) as usize];
                (format!("{}{id}/", pp.path), pp.depth + 1)
            }
            None => (format!("/{id}/"), 0),
        };
        let h = mix(id as u64);
        let branch = kind == "branch";
        let setting = if h.is_multiple_of(2) {
            "village"
        } else {
            "enterprise"
        };
        // Terms elected over the last six years: some expired, some soon.
        let elected = today - Days::days((h >> 8) as i64 % (6 * 365));
        let has_committee = !branch || !h.is_multiple_of(3);
        let code = match kind {
            "province" => ROOT.to_string(),
            "city" => format!("BENCH-C{i}"),
            "county" => format!("BENCH-X{i}"),
            "committee" => format!("BENCH-W{i}"),
            _ => format!("BENCH-B{i}"),
        };
        orgs.push(BulkOrg {
            id,
            code,
            name: format!("基准{kind}{i}"),
            kind: kind.into(),
            setting: setting.into(),
            parent_id: parent,
            path,
            depth,
            has_committee,
            committee_elected_on: has_committee.then_some(elected),
        });
        id
    };
    let root = add(&mut orgs, "province", None, 0);
    let city_ids: Vec<i64> = (0..cities)
        .map(|i| add(&mut orgs, "city", Some(root), i))
        .collect();
    let county_ids: Vec<i64> = (0..counties)
        .map(|i| add(&mut orgs, "county", Some(city_ids[i % cities]), i))
        .collect();
    let committee_ids: Vec<i64> = (0..committees)
        .map(|i| add(&mut orgs, "committee", Some(county_ids[i % counties]), i))
        .collect();
    for i in 0..branches {
        let id = add(&mut orgs, "branch", Some(committee_ids[i % committees]), i);
        out_branches.push((id, orgs[(id - 1) as usize].code.clone()));
    }
    (orgs, out_branches)
}

/// Branch sizes around the mean, from empty to more than twice the mean, so
/// that every structure rule has cases; the total is exactly `members`.
fn sizes(branches: usize, members: usize) -> Vec<usize> {
    let mean = members / branches.max(1);
    let mut v: Vec<usize> = (0..branches)
        .map(|b| (mix(b as u64 ^ 0x5EED) % (2 * mean as u64 + 1)) as usize)
        .collect();
    let mut total: usize = v.iter().sum();
    let mut i = 0;
    while total != members && branches > 0 {
        let b = i % branches;
        if total < members {
            v[b] += 1;
            total += 1;
        } else if v[b] > 0 {
            v[b] -= 1;
            total -= 1;
        }
        i += 1;
    }
    v
}

async fn seed(app: &App, args: &SweepArgs, quiet: bool) -> Result<Vec<(i64, String)>, Failure> {
    let today = app.today();
    let now = app.clock.now();
    let (orgs, branches) = tree(args.orgs, today);
    let tx = app.db.conn.begin().await.map_err(fail)?;
    wrepo::bulk_insert_orgs(&tx, &orgs, now)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let pb = ProgressBar::new(args.members as u64);
    if quiet {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    pb.set_message("seeding members");
    let stages = [
        "full",
        "full",
        "full",
        "full",
        "full",
        "full",
        "full",
        "probationary",
        "activist",
        "applicant",
    ];
    let mut batch = Vec::with_capacity(100_000);
    let mut seq = 0u64;
    for ((org_id, _), n) in branches.iter().zip(sizes(branches.len(), args.members)) {
        for _ in 0..n {
            batch.push(BulkMember {
                org_id: *org_id,
                stage: stages[(mix(seq) % 10) as usize],
                seq,
            });
            seq += 1;
        }
        if batch.len() >= 100_000 {
            let tx = app.db.conn.begin().await.map_err(fail)?;
            wrepo::bulk_insert_members(&tx, &batch, now)
                .await
                .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            pb.inc(batch.len() as u64);
            batch.clear();
        }
    }
    let tx = app.db.conn.begin().await.map_err(fail)?;
    wrepo::bulk_insert_members(&tx, &batch, now)
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    pb.finish_and_clear();
    if app.db.backend == dangjian_app::Backend::Postgres {
        use dangjian_store::sea_orm::ConnectionTrait;
        app.db
            .conn
            .execute_unprepared("ANALYZE")
            .await
            .map_err(fail)?;
    }
    Ok(branches)
}

/// A valid full member numbered `k` (distinct resident ID per `k`).
fn draft(k: u64) -> MemberDraft {
    let birth = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
        + Days::days((k / 1000) as i64 % 16_000);
    let first17 = format!("110105{}{:03}", birth.format("%Y%m%d"), k % 1000);
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
    MemberDraft {
        name: "张伟".into(),
        id_number: format!("{first17}{}", compute_check_char(&first17)),
        ethnicity: "汉族".into(),
        phone: None,
        education: Some(Education::Bachelor),
        dues_category: DuesCategory::Employed,
        stage: Stage::Full,
        stage_dates: StageDates {
            applied_on: d(2015, 3, 1),
            activist_on: d(2015, 9, 1),
            development_target_on: d(2016, 10, 1),
            probationary_on: d(2017, 1, 10),
            full_on: d(2018, 1, 15),
        },
        mobile: false,
    }
}

pub async fn run(args: SweepArgs) -> Result<(), Failure> {
    let (app, _) = crate::open(&args.data).await?;
    let root = dangjian_store::repo::orgs::by_code(&app.db.conn, ROOT)
        .await
        .map_err(fail)?;
    let seeded = root.is_none();
    let t = Instant::now();
    let branches = match root {
        Some(_) => {
            eprintln!("reusing the benchmark tree in this data directory");
            let mut v = Vec::new();
            let mut after = 0;
            loop {
                let page = wrepo::org_page(&app.db.conn, after, 10_000, None)
                    .await
                    .map_err(fail)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                v.extend(
                    page.iter()
                        .filter(|o| o.kind == "branch")
                        .map(|o| (o.id, String::new())),
                );
            }
            v
        }
        None => {
            let (probe, _) = wrepo::plain_pass(&app.db.conn).await.map_err(fail)?;
            if probe > 0 {
                return Err(Failure(
                    "this database holds other data; give bench sweep a fresh --data directory"
                        .into(),
                ));
            }
            seed(&app, &args, args.json).await?
        }
    };
    let seed_time = t.elapsed();
    let now = app.clock.now();

    // Warm the page cache, then the first sweep (raises everything on a fresh tree).
    let t = Instant::now();
    let (orgs, count_rows) = wrepo::plain_pass(&app.db.conn).await.map_err(fail)?;
    let plain_first = t.elapsed();
    let t = Instant::now();
    let first = app.sweep(now).await.map_err(Failure::from)?;
    let first_sweep = t.elapsed();
    let mut plain = Vec::new();
    let mut steady = Vec::new();
    let mut steady_report = None;
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        wrepo::plain_pass(&app.db.conn).await.map_err(fail)?;
        plain.push(t.elapsed());
        let t = Instant::now();
        steady_report = Some(app.sweep(now).await.map_err(Failure::from)?);
        steady.push(t.elapsed());
    }
    let (plain, steady) = (median(plain), median(steady));

    // Evaluation on write: the same registration with and without the rules,
    // interleaved, into the last branch of the tree.
    let target = match branches.last() {
        Some((id, _)) => dangjian_store::repo::orgs::get(&app.db.conn, *id)
            .await
            .map_err(fail)?
            .ok_or_else(|| Failure("benchmark branch missing".into()))?,
        None => return Err(Failure("no branch seeded".into())),
    };
    let root = dangjian_store::repo::orgs::by_code(&app.db.conn, ROOT)
        .await
        .map_err(fail)?
        .ok_or_else(|| Failure("benchmark root missing".into()))?;
    let sys = Actor::system(root.id, &root.path);
    let mut without = app.clone();
    without.config_mut().evaluate_rules_on_write = false;
    // Registered members of the branch only grow, so each run numbers its
    // people after the previous run's.
    let start = dangjian_store::repo::members::count_in_subtree(&app.db.conn, &target.path)
        .await
        .map_err(fail)?;
    let (mut with_t, mut without_t) = (Vec::new(), Vec::new());
    for i in 0..args.writes as u64 {
        for (which, a) in [(0, &app), (1, &without)] {
            let k = start + 2 * i + which;
            let t = Instant::now();
            a.register_member(&sys, &target.code, draft(k))
                .await
                .map_err(Failure::from)?;
            if which == 0 {
                with_t.push(t.elapsed());
            } else {
                without_t.push(t.elapsed());
            }
        }
    }
    let (with_m, without_m) = (median(with_t), median(without_t));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio_steady = steady.as_secs_f64() / plain.as_secs_f64().max(1e-9);
    let ratio_first = first_sweep.as_secs_f64() / plain.as_secs_f64().max(1e-9);
    let backend = format!("{:?}", app.db.backend).to_lowercase();
    if args.json {
        println!(
            "{}",
            json!({
                "backend": backend, "orgs": orgs, "member_count_rows": count_rows,
                "members": args.members, "seeded": seeded, "seed_s": seed_time.as_secs_f64(),
                "plain_pass_s": plain.as_secs_f64(), "plain_pass_cold_s": plain_first.as_secs_f64(),
                "first_sweep_s": first_sweep.as_secs_f64(), "first_sweep": first,
                "steady_sweep_s": steady.as_secs_f64(), "steady_sweep": steady_report,
                "ratio_steady": ratio_steady, "ratio_first": ratio_first,
                "write_with_eval_ms": ms(with_m), "write_without_eval_ms": ms(without_m),
                "eval_added_ms": ms(with_m) - ms(without_m), "writes": args.writes,
            })
        );
    } else {
        println!(
            "warning sweep on {backend}: {orgs} organizations, {} members",
            args.members
        );
        if seeded {
            println!("  seeded in {:.1} s (bulk path)", seed_time.as_secs_f64());
        }
        println!(
            "  plain SQL pass (orgs + member GROUP BY, {count_rows} count rows): {:.3} s (first, cold: {:.3} s)",
            plain.as_secs_f64(),
            plain_first.as_secs_f64()
        );
        println!(
            "  first sweep: {:.3} s — raised {}, escalated {}, cleared {} ({ratio_first:.2}× the plain pass)",
            first_sweep.as_secs_f64(),
            first.changes.raised,
            first.changes.escalated,
            first.changes.cleared
        );
        println!(
            "  steady sweep (median of {}): {:.3} s ({ratio_steady:.2}× the plain pass; target ≤ 3×)",
            args.runs.max(1),
            steady.as_secs_f64()
        );
        println!(
            "  member registration, median of {}: {:.3} ms with evaluation, {:.3} ms without: +{:.3} ms (target < 1 ms)",
            args.writes,
            ms(with_m),
            ms(without_m),
            ms(with_m) - ms(without_m)
        );
    }
    Ok(())
}
