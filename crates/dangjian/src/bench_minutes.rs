//! `dangjian bench minutes`: the near-duplicate check of new minutes against
//! N stored minutes signatures (issue 6 figure: 1,000,000 stored, under
//! 50 ms median). Seeds N signatures of synthetic Chinese minutes (a shared
//! opening formula plus random sentences), then times the check the app
//! runs after saving minutes — signature of the new text, LSH band lookup
//! in `minutes_bands`, comparison of the candidates — for copies of stored
//! minutes with small edits and for fresh text. Baseline in the same run:
//! brute force, reading a sample of stored signatures and comparing each,
//! extrapolated to N; the ratio is printed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use dangjian_store::entities::{minutes_band, minutes_signature};
use dangjian_store::repo::{bulk, minutes as mrepo};
use dangjian_store::sea_orm::{Set, TransactionTrait};
use dangjian_text::{SCHEME, Signature};
use serde_json::json;

use crate::Failure;
use crate::bench::fail;

#[derive(Debug, Args)]
pub struct MinutesArgs {
    /// Stored minutes signatures to seed.
    #[arg(long, default_value_t = 1_000_000)]
    pub stored: usize,
    /// Timed checks (half edited copies of stored minutes, half fresh text).
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Stored signatures the brute-force baseline reads and compares per query.
    #[arg(long, default_value_t = 20_000)]
    pub sample: usize,
    /// Working directory (a fresh temporary one by default).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// splitmix64: a fixed, reproducible stream (synthetic text, not secrets).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const OPENING: &str = "会议由支部书记主持，应到党员全部到会。";
/// Common CJK characters the sentences are drawn from (U+4E00 onward).
const POOL: u32 = 3000;

/// Synthetic minutes number `i`: the shared opening formula, then 8–14
/// sentences of 12–30 characters; the same `i` gives the same text.
fn minutes_text(i: u64) -> String {
    let mut r = Mix(i.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EED);
    let mut s = String::from(OPENING);
    for _ in 0..(8 + r.below(7)) {
        for _ in 0..(12 + r.below(19)) {
            let c = char::from_u32(0x4E00 + r.below(u64::from(POOL)) as u32).unwrap_or('党');
            s.push(c);
        }
        s.push('。');
    }
    s
}

/// A copy of `text` with a few characters changed (a date, a name).
fn edited(text: &str, seed: u64) -> String {
    let mut r = Mix(seed);
    let mut cs: Vec<char> = text.chars().collect();
    for _ in 0..4 {
        let at = r.below(cs.len() as u64) as usize;
        cs[at] = char::from_u32(0x4E00 + r.below(u64::from(POOL)) as u32).unwrap_or('建');
    }
    cs.into_iter().collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(args: MinutesArgs) -> Result<(), Failure> {
    let dir = crate::bench::workdir(args.dir)?;
    let app = crate::bench::fresh_app(&dir).await?;
    let conn = &app.db.conn;
    let n = args.stored;

    eprintln!("seeding {n} minutes signatures…");
    let t = Instant::now();
    let now = Utc::now();
    let batch = 5_000;
    let mut i = 0usize;
    while i < n {
        let end = (i + batch).min(n);
        let mut sigs = Vec::with_capacity(end - i);
        let mut bands = Vec::with_capacity((end - i) * dangjian_text::BANDS);
        for k in i..end {
            let Some(s) = Signature::of(&minutes_text(k as u64)) else {
                continue;
            };
            let id = k as i64 + 1;
            for key in s.band_keys() {
                bands.push(minutes_band::ActiveModel {
                    band_key: Set(key),
                    meeting_id: Set(id),
                    ..Default::default()
                });
            }
            sigs.push(minutes_signature::ActiveModel {
                meeting_id: Set(id),
                org_id: Set(1 + (k as i64 % 50_000)),
                scheme: Set(SCHEME.into()),
                signature: Set(s.to_bytes()),
                updated_at: Set(now),
                confirmed_reason: Set(None),
                confirmed_by: Set(None),
                confirmed_at: Set(None),
            });
        }
        let tx = conn.begin().await.map_err(fail)?;
        bulk::insert(&tx, sigs, false).await.map_err(fail)?;
        bulk::insert(&tx, bands, false).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        i = end;
        if i.is_multiple_of(100_000) {
            eprintln!("  {i} ({:.0} s)", t.elapsed().as_secs_f64());
        }
    }
    let seed_s = t.elapsed().as_secs_f64();
    eprintln!("seeded in {seed_s:.1} s");

    // The queries: even ones copy a stored text with 4 characters changed,
    // odd ones are fresh text that shares only the opening formula.
    let mut r = Mix(42);
    let queries: Vec<(String, Option<i64>)> = (0..args.queries)
        .map(|q| {
            if q.is_multiple_of(2) {
                let k = r.below(n.max(1) as u64);
                (edited(&minutes_text(k), q as u64), Some(k as i64 + 1))
            } else {
                (minutes_text(10_000_000_000 + q as u64), None)
            }
        })
        .collect();

    // Warm the cache once, untimed.
    if let Some((q, _)) = queries.first()
        && let Some(s) = Signature::of(q)
    {
        dangjian_app::minutes::near_duplicates(conn, &s, -1)
            .await
            .map_err(fail)?;
    }
    let mut times = Vec::with_capacity(queries.len());
    let (mut found, mut copies, mut false_hits) = (0, 0, 0);
    for (q, source) in &queries {
        let t = Instant::now();
        let s = Signature::of(q).ok_or_else(|| fail("query text too short"))?;
        let hits = dangjian_app::minutes::near_duplicates(conn, &s, -1)
            .await
            .map_err(fail)?;
        times.push(t.elapsed());
        match source {
            Some(id) => {
                copies += 1;
                if hits.iter().any(|h| h.0 == *id) {
                    found += 1;
                }
                false_hits += hits.iter().filter(|h| h.0 != *id).count();
            }
            None => false_hits += hits.len(),
        }
    }
    times.sort();
    let (median, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));

    // Baseline: brute force over a sample, read from the same table and
    // compared one by one, extrapolated to every stored signature.
    let sample = args.sample.min(n).max(1);
    let rounds = 5.min(queries.len()).max(1);
    let mut brute = Vec::with_capacity(rounds);
    for (q, _) in queries.iter().take(rounds) {
        let t = Instant::now();
        let s = Signature::of(q).ok_or_else(|| fail("query text too short"))?;
        let rows = mrepo::page(conn, 0, sample as u64).await.map_err(fail)?;
        let mut hits = 0usize;
        for row in &rows {
            if let Some(o) = Signature::from_bytes(&row.signature)
                && s.near_duplicate_of(&o)
            {
                hits += 1;
            }
        }
        std::hint::black_box(hits);
        brute.push(t.elapsed());
    }
    brute.sort();
    let brute_sample = percentile(&brute, 0.5);
    let brute_full = brute_sample.mul_f64(n as f64 / sample as f64);
    let ratio = brute_full.as_secs_f64() / median.as_secs_f64().max(1e-9);

    if args.json {
        println!(
            "{}",
            json!({
                "stored": n,
                "queries": queries.len(),
                "seed_seconds": seed_s,
                "median_ms": ms(median),
                "p99_ms": ms(p99),
                "copies_found": found,
                "copies": copies,
                "false_hits": false_hits,
                "brute_sample": sample,
                "brute_sample_ms": ms(brute_sample),
                "brute_extrapolated_ms": ms(brute_full),
                "ratio": ratio,
                "target_median_ms": 50,
            })
        );
    } else {
        println!("近似重复会议记录检查 near-duplicate minutes check, {n} stored signatures");
        println!(
            "  ours (LSH band index): median {:.2} ms, p99 {:.2} ms over {} checks (target: median under 50 ms)",
            ms(median),
            ms(p99),
            queries.len()
        );
        println!("  edited copies found {found}/{copies}; other hits {false_hits}");
        println!(
            "  baseline brute force: {:.1} ms for {sample} signatures read and compared → {:.0} ms for {n} (extrapolated)",
            ms(brute_sample),
            ms(brute_full)
        );
        println!("  ratio baseline/ours: {ratio:.0}×");
    }
    Ok(())
}
