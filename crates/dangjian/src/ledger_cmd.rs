//! `dangjian ledger …`: verify the archive log against the database, sign a
//! checkpoint of it, push it to the parent witness (issue 4; contract in
//! DESIGN.md); `dangjian witness …`: the witness side of federation.

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
    /// Push the latest checkpoint to the parent witness (`parent_url`,
    /// `parent_vkey`) and store its cosignature; with `federation_key`, also
    /// send the keyed digests of active members' ID numbers and warn on
    /// those active elsewhere.
    Push {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON: {"push": {"witness", "old_size", "size",
        /// "cosigned_checkpoint"}, "digests": {"sent", "duplicates"} | null}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WitnessCmd {
    /// Print this server's witness verifier key (a child's `parent_vkey`).
    Key {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Witness a child server's log: register its checkpoint key (the
    /// child's `dangjian ledger key` output, i.e. GET /ledger/key).
    AddLog {
        #[command(flatten)]
        data: DataArgs,
        /// The child's verifier key, `<origin>+<key id>+<key>`.
        #[arg(long)]
        vkey: String,
    },
    /// Check one leaf of a child's log against the checkpoint cosigned for
    /// it: fetches the leaf and its inclusion proof from the child.
    Inspect {
        #[command(flatten)]
        data: DataArgs,
        /// The child's log origin, e.g. dangjian/GD-C01-X01.
        #[arg(long)]
        origin: String,
        /// The child server's base URL.
        #[arg(long)]
        url: String,
        /// An auditor's API token on the child.
        #[arg(long, env = "DANGJIAN_CHILD_TOKEN")]
        token: String,
        #[arg(long)]
        index: u64,
        #[arg(long)]
        json: bool,
    },
    /// List the witnessed logs and the size last cosigned for each.
    Logs {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_witness(cmd: WitnessCmd) -> Result<(), Failure> {
    match cmd {
        WitnessCmd::Key { data } => {
            let (app, _) = open(&data).await?;
            println!("{}", app.witness_vkey().await?);
            Ok(())
        }
        WitnessCmd::AddLog { data, vkey } => {
            let (app, _) = open(&data).await?;
            let cli = crate::root_actor(&app).await?;
            let origin = app.witness_add_log(&cli, &vkey).await?;
            println!("已登记下级日志 / witnessing {origin}");
            Ok(())
        }
        WitnessCmd::Inspect {
            data,
            origin,
            url,
            token,
            index,
            json,
        } => {
            let (app, _) = open(&data).await?;
            let cli = crate::root_actor(&app).await?;
            let r = app
                .witness_inspect(&cli, &origin, &url, &token, index)
                .await?;
            if json {
                println!("{}", json!(r));
            } else {
                println!(
                    "{} #{} {}: {}",
                    r.origin,
                    r.index,
                    r.event_type,
                    if r.included {
                        format!(
                            "在已副署的 {} 叶树中 / included in the cosigned tree",
                            r.size
                        )
                    } else {
                        "不在已副署的树中 / NOT in the cosigned tree".to_string()
                    }
                );
            }
            if r.included {
                Ok(())
            } else {
                Err(Failure(String::new()))
            }
        }
        WitnessCmd::Logs { data, json } => {
            let (app, _) = open(&data).await?;
            let cli = crate::root_actor(&app).await?;
            let logs = app.witness_logs(&cli).await?;
            if json {
                println!("{}", json!(logs));
            } else if logs.is_empty() {
                println!("尚未见证任何下级日志 / no logs witnessed yet");
            } else {
                for l in &logs {
                    println!(
                        "{}  已副署至 cosigned up to size {}  ({} 次 checkpoints)",
                        l.origin, l.size, l.cosigned
                    );
                }
            }
            Ok(())
        }
    }
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
        LedgerCmd::Push { data, json } => {
            let (app, _) = open(&data).await?;
            let r = app.federation_push().await?;
            let digests = if app.config.federation_key.is_some() {
                app.federation_refresh_own().await?;
                Some(app.federation_sync_digests().await?)
            } else {
                None
            };
            if json {
                println!("{}", json!({"push": r, "digests": digests}));
            } else {
                if let Some(d) = &digests {
                    println!(
                        "已报送 {} 个身份摘要 / digests sent; {} 人在别处也在册 / also active elsewhere",
                        d.sent,
                        d.duplicates.len()
                    );
                }
                println!(
                    "上级 {} 已副署 / cosigned: size {} → {}",
                    r.witness, r.old_size, r.size
                );
                print!("{}", r.cosigned_checkpoint);
            }
            Ok(())
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
            continue;
        }
        if app.config.parent_url.is_some() {
            match app.federation_push().await {
                Ok(r) => {
                    tracing::info!(witness = %r.witness, size = r.size, "checkpoint cosigned by the parent")
                }
                Err(e) => tracing::error!(error = %e, "ALERT federation push failed"),
            }
        }
        if app.config.federation_key.is_some() {
            if let Err(e) = app.federation_refresh_own().await {
                tracing::error!(error = %e, "federation digests of own members failed");
            }
            if app.config.parent_url.is_some() {
                match app.federation_sync_digests().await {
                    Ok(r) if r.duplicates.is_empty() => {
                        tracing::info!(sent = r.sent, "digests synced")
                    }
                    Ok(r) => tracing::warn!(
                        duplicates = r.duplicates.len(),
                        "ALERT members also active elsewhere"
                    ),
                    Err(e) => tracing::error!(error = %e, "ALERT digest sync failed"),
                }
            }
        }
    }
}
