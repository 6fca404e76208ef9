//! `dangjian bench ledger`: the figures of the archive log (issue 4), ours
//! and the baselines in one run.
//!
//! - Appending N canonical archive leaves: SHA-256 over the leaf bytes alone
//!   (the floor), our append (leaf hash, frontier, every completed node
//!   written to an in-memory node store), the `ct-merkle` crate building the
//!   same RFC 6962 tree, and, for information, our append persisted to
//!   SQLite (leaf rows and node rows, one transaction per 10,000 leaves).
//! - Inclusion and consistency proofs on a log of M leaves (default
//!   10,000,000) stored in SQLite: the median server time of R proofs at
//!   random positions, each one planned, read in one query and assembled,
//!   and checked with the independent verifiers against the stored root.
//!
//! A data directory that already holds a log of M leaves is reused.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Args;
use dangjian_ledger::tree::{consistency_plan, inclusion_plan, root_plan};
use dangjian_ledger::{ArchiveLeaf, Frontier, StoredNode, verify_consistency, verify_inclusion};
use dangjian_store::Db;
use dangjian_store::repo::ledger::{self as repo, NewLeaf};
use dangjian_store::sea_orm::TransactionTrait;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;
use sha2::Digest as _;

use crate::Failure;

#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// Leaves appended in the append benchmark.
    #[arg(long, default_value_t = 1_000_000)]
    pub leaves: u64,
    /// Size of the stored log the proofs are served from.
    #[arg(long, default_value_t = 10_000_000)]
    pub proof_leaves: u64,
    /// Proofs per measurement.
    #[arg(long, default_value_t = 1000)]
    pub runs: usize,
    /// Rounds of the append comparison (SHA-256 alone and ours, interleaved);
    /// their medians are compared.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Working directory (a fresh temporary one by default; an existing one
    /// holding a log of --proof-leaves leaves is reused).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    #[arg(long)]
    pub json: bool,
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure(e.to_string())
}

/// Leaf `i` of the synthetic archive: registration events of distinct members.
fn leaf(i: u64) -> Vec<u8> {
    let mut subject = [0u8; 16];
    subject[8..].copy_from_slice(&i.to_be_bytes());
    let commitment: [u8; 32] = sha2::Sha256::digest(i.to_le_bytes()).into();
    ArchiveLeaf::new(
        "member.registered",
        subject,
        1_700_000_000_000 + i as i64,
        commitment,
    )
    .map(|l| l.encode())
    .unwrap_or_default()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort_unstable();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Stores `n` leaves (and their nodes) in SQLite, 10,000 per transaction.
async fn fill(
    db: &Db,
    from: u64,
    n: u64,
    pb: Option<&indicatif::ProgressBar>,
) -> Result<(), Failure> {
    let mut frontier = {
        let tx = db.conn.begin().await.map_err(fail)?;
        let f = repo::frontier(&tx).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        f
    };
    if frontier.size() != from {
        return Err(fail(format!(
            "log holds {} leaves, expected {from}",
            frontier.size()
        )));
    }
    let mut i = from;
    let end = from + n;
    let mut nodes: Vec<StoredNode> = Vec::new();
    while i < end {
        let batch_end = (i + 10_000).min(end);
        let mut leaves = Vec::with_capacity((batch_end - i) as usize);
        nodes.clear();
        for j in i..batch_end {
            let bytes = leaf(j);
            frontier.append_into(dangjian_ledger::leaf_hash(&bytes), &mut nodes);
            leaves.push(NewLeaf {
                index: j,
                leaf: bytes,
                member_event_id: None,
                member_id: None,
                member_digest: Vec::new(),
            });
        }
        let tx = db.conn.begin().await.map_err(fail)?;
        repo::insert(&tx, leaves, &nodes).await.map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        if let Some(pb) = pb {
            pb.set_position(batch_end);
        }
        i = batch_end;
    }
    Ok(())
}

pub async fn run(a: LedgerArgs) -> Result<(), Failure> {
    let n = a.leaves;
    let leaves: Vec<Vec<u8>> = (0..n).map(leaf).collect();

    // SHA-256 over the leaf bytes alone, and ours (leaf hash, frontier,
    // every completed node kept in a node store), interleaved `rounds`
    // times; the medians are compared, so one noisy round on a shared
    // machine does not decide the ratio.
    let mut sha_times = Vec::with_capacity(a.rounds);
    let mut ours_times = Vec::with_capacity(a.rounds);
    let mut ours_root = [0u8; 32];
    let mut store: Vec<StoredNode> = Vec::with_capacity(2 * n as usize);
    for _ in 0..a.rounds.max(1) {
        let t = Instant::now();
        for l in &leaves {
            black_box(sha2::Sha256::digest(black_box(l)));
        }
        sha_times.push(t.elapsed());

        store.clear();
        let t = Instant::now();
        let mut frontier = Frontier::new();
        for l in &leaves {
            frontier.append_into(dangjian_ledger::leaf_hash(l), &mut store);
        }
        ours_root = frontier.root();
        ours_times.push(t.elapsed());
        black_box(&store);
    }
    let median = |mut v: Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (sha, ours) = (median(sha_times), median(ours_times));

    // ct-merkle building the same tree.
    let t = Instant::now();
    let mut ct = ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2_11::Sha256, Vec<u8>>::new();
    for l in &leaves {
        ct.push(l.clone());
    }
    let ct_root = ct.root();
    let ctm = t.elapsed();
    if ct_root.as_bytes().as_slice() != ours_root.as_slice() {
        return Err(fail("ct-merkle and dangjian-ledger disagree on the root"));
    }
    drop(ct);
    drop(store);
    drop(leaves);

    let dir = match a.dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("dangjian-bench-ledger-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;

    // Ours persisted to SQLite (a fresh database of its own).
    let append_db_path = dir.join("append.db");
    let _ = std::fs::remove_file(&append_db_path);
    let db = Db::connect(&crate::config::sqlite_url(&append_db_path))
        .await
        .map_err(fail)?;
    db.migrate().await.map_err(fail)?;
    let t = Instant::now();
    fill(&db, 0, n, None).await?;
    let sqlite_append = t.elapsed();
    drop(db);
    let _ = std::fs::remove_file(&append_db_path);

    // The proof log.
    let m = a.proof_leaves;
    let db = Db::connect(&crate::config::sqlite_url(&dir.join("proofs.db")))
        .await
        .map_err(fail)?;
    db.migrate().await.map_err(fail)?;
    let have = repo::size(&db.conn).await.map_err(fail)?;
    if have < m {
        let pb = (!a.json).then(|| crate::bar(m, "ledger"));
        if let Some(pb) = &pb {
            pb.set_position(have);
        }
        fill(&db, have, m - have, pb.as_ref()).await?;
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
    }
    let size = repo::size(&db.conn).await.map_err(fail)?;
    let root = {
        let plan = root_plan(size);
        let s = repo::prefetch_plan(&db.conn, size, &plan)
            .await
            .map_err(fail)?;
        plan.fetch(&s).map_err(fail)?[0]
    };
    let mut rng = StdRng::seed_from_u64(4);
    let mut incl = Vec::with_capacity(a.runs);
    let mut cons = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let index = rng.gen_range(0..size);
        let t = Instant::now();
        let plan = inclusion_plan(index, size).map_err(fail)?;
        let s = repo::prefetch_plan(&db.conn, size, &plan)
            .await
            .map_err(fail)?;
        let proof = plan.fetch(&s).map_err(fail)?;
        incl.push(t.elapsed());
        let lh = dangjian_ledger::leaf_hash(&leaf(index));
        verify_inclusion(&lh, index, size, &proof, &root).map_err(fail)?;

        let old = rng.gen_range(1..size);
        let t = Instant::now();
        let plan = consistency_plan(old, size).map_err(fail)?;
        let s = repo::prefetch_plan(&db.conn, size, &plan)
            .await
            .map_err(fail)?;
        let proof = plan.fetch(&s).map_err(fail)?;
        cons.push(t.elapsed());
        let old_plan = root_plan(old);
        let s = repo::prefetch_plan(&db.conn, size, &old_plan)
            .await
            .map_err(fail)?;
        let old_root = old_plan.fetch(&s).map_err(fail)?[0];
        verify_consistency(old, size, &old_root, &root, &proof).map_err(fail)?;
    }
    let (incl_ms, cons_ms) = (median_ms(incl), median_ms(cons));

    let r = json!({
        "append": {
            "leaves": n,
            "sha256_only_s": secs(sha),
            "ours_s": secs(ours),
            "ct_merkle_s": secs(ctm),
            "ours_over_sha256": secs(ours) / secs(sha),
            "ours_over_ct_merkle": secs(ours) / secs(ctm),
            "rounds": a.rounds.max(1),
            "ours_sqlite_s": secs(sqlite_append),
        },
        "proofs": {
            "log_leaves": size,
            "runs": a.runs,
            "inclusion_median_ms": incl_ms,
            "consistency_median_ms": cons_ms,
        },
        "dir": dir,
    });
    if a.json {
        println!("{r}");
    } else {
        println!(
            "追加 append, {n} leaves (median of {} interleaved rounds):",
            a.rounds.max(1)
        );
        println!("  SHA-256 over the leaf bytes alone   {:>8.3} s", secs(sha));
        println!(
            "  dangjian-ledger (hash + nodes)      {:>8.3} s  ({:.2}× SHA-256, {:.2}× ct-merkle)",
            secs(ours),
            secs(ours) / secs(sha),
            secs(ours) / secs(ctm)
        );
        println!("  ct-merkle 0.3 (RFC 6962 tree)       {:>8.3} s", secs(ctm));
        println!(
            "  dangjian-ledger persisted to SQLite {:>8.3} s",
            secs(sqlite_append)
        );
        println!(
            "证明 proofs from SQLite, log of {size} leaves, {} runs:",
            a.runs
        );
        println!("  inclusion   median {incl_ms:.3} ms");
        println!("  consistency median {cons_ms:.3} ms");
    }
    Ok(())
}
