//! `dangjian ledger …`: verify the archive log against the database, and sign
//! a checkpoint of it (issue 4; contract in DESIGN.md).

use clap::Subcommand;
use dangjian_app::App;
use serde_json::json;

use crate::config::DataArgs;
use crate::{Failure, open};

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Rebuild the tree from the stored leaves, check every signed checkpoint
    /// and re-derive every leaf from the database rows; exits non-zero on any
    /// problem.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON: {"ok": bool, "problems": [...], "size", "root", "checkpoints"}.
        #[arg(long)]
        json: bool,
    },
    /// Sign and store a checkpoint of the current log; prints the signed note.
    Checkpoint {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON: {"checkpoint": NOTE, "key": VKEY}.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: LedgerCmd) -> Result<(), Failure> {
    match cmd {
        LedgerCmd::Verify { data, json } => {
            let (app, _) = open(&data).await?;
            let r = app.ledger_verify().await?;
            if json {
                println!(
                    "{}",
                    json!({"ok": r.ok, "problems": r.problems, "size": r.size, "root": r.root, "checkpoints": r.checkpoints})
                );
            } else {
                println!(
                    "档案日志 ledger: {} 个叶 leaves, {} 个检查点 checkpoints, root {}",
                    r.size, r.checkpoints, r.root
                );
                for p in &r.problems {
                    println!("  ✗ {} {}", p.code, p.message);
                }
                if r.ok {
                    println!("校验通过 / verified");
                }
            }
            if r.ok {
                Ok(())
            } else {
                Err(Failure(if json {
                    String::new()
                } else {
                    format!("{} 处问题 / problems found", r.problems.len())
                }))
            }
        }
        LedgerCmd::Checkpoint { data, json } => {
            let (app, _) = open(&data).await?;
            let note = app.ledger_checkpoint().await?;
            if json {
                println!(
                    "{}",
                    json!({"checkpoint": note, "key": app.ledger_vkey().await?})
                );
            } else {
                print!("{note}");
            }
            Ok(())
        }
    }
}

/// The ledger watch in the background of `serve`: at start and then hourly,
/// the cheap check of the log (tree against leaves, signed checkpoints),
/// raising an error-level alert on any problem, then a checkpoint of the
/// current size when the log grew.
pub async fn watch(app: App) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match app.ledger_verify_log().await {
            Ok(r) if r.ok => tracing::info!(size = r.size, "ledger verified"),
            Ok(r) => {
                for p in &r.problems {
                    tracing::error!(code = p.code, record = ?p.record, leaf_index = ?p.leaf_index, "ALERT ledger: {}", p.message);
                }
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "ALERT ledger check failed");
                continue;
            }
        }
        if let Err(e) = app.ledger_checkpoint().await {
            tracing::error!(error = %e, "ledger checkpoint failed");
        }
    }
}
