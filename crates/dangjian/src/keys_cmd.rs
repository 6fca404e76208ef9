//! `dangjian keys …` (issue 5, item 5): rotate the data-encryption key while
//! the server runs, show which keys the stored values are under; and the
//! server's watch on the key file, so it learns a rotated key.

use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use dangjian_app::Keyring;
use dangjian_app::keys::{RotateOptions, RotateProgress};
use serde_json::json;

use crate::config::DataArgs;
use crate::{Failure, bar, open};

/// How often `serve` looks at the key file's modification time.
pub const WATCH_SECONDS: u64 = 2;

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Re-encrypt every encrypted field under a new key while serving, then
    /// retire the old key (rerun to finish an interrupted rotation).
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// Rows per write transaction (a running server writes between them).
        #[arg(long, default_value_t = 500)]
        batch: u64,
        /// Seconds after the new key is written before a clean pass counts
        /// as final: running servers reread the key file every
        /// 2 seconds and may write with the old key until then.
        #[arg(long, default_value_t = 6)]
        settle: u64,
        /// Print JSON: {"active_key", "new_key", "retired", "reencrypted", "member_events", "passes"}.
        #[arg(long)]
        json: bool,
    },
    /// How many stored values of each encrypted column are under each key.
    Status {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON: {"suite", "active_key", "keys", "columns": [{"table","column","by_key"}]}.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: KeysCmd) -> Result<(), Failure> {
    match cmd {
        KeysCmd::Rotate {
            data,
            batch,
            settle,
            json,
        } => {
            let (app, _) = open(&data).await?;
            let opts = RotateOptions {
                batch,
                settle: Duration::from_secs(settle),
                ..Default::default()
            };
            let pb = bar(0, "重新加密 / re-encrypting");
            if json {
                pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let report = app
                .rotate_keys(&opts, &|p| match p {
                    RotateProgress::Pass { pass, rows } => {
                        pb.set_length(rows);
                        pb.set_position(0);
                        pb.set_message(format!("第 {pass} 遍 pass {pass}: 重新加密 re-encrypting"));
                    }
                    RotateProgress::Batch { table, scanned } => {
                        pb.set_message(format!("重新加密 re-encrypting {table}"));
                        pb.inc(scanned);
                    }
                    RotateProgress::Settling { remaining } => {
                        pb.set_message(format!(
                            "等待服务重新读取密钥 waiting {}s for servers to reread the key file",
                            remaining.as_secs()
                        ));
                    }
                })
                .await;
            pb.finish_and_clear();
            let report = report?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&report).map_err(|e| Failure(e.to_string()))?
                );
            } else {
                println!(
                    "{}: {}",
                    if report.new_key {
                        "新密钥 / new key"
                    } else {
                        "续完轮换 / finished the rotation to key"
                    },
                    report.active_key
                );
                for (table, n) in &report.reencrypted {
                    println!("  {table}: {n} 个值重新加密 values re-encrypted");
                }
                println!(
                    "  {} 条档案事件 member archive events, {} 遍 passes",
                    report.member_events, report.passes
                );
                println!(
                    "已停用旧密钥 / retired: {}",
                    if report.retired.is_empty() {
                        "-".to_string()
                    } else {
                        report.retired.join(", ")
                    }
                );
            }
            Ok(())
        }
        KeysCmd::Status { data, json } => {
            let (app, _) = open(&data).await?;
            let cols = app.key_usage().await?;
            let active = app.keys.active_key_id();
            if json {
                println!(
                    "{}",
                    json!({"suite": app.keys.suite().as_str(), "active_key": active, "keys": app.keys.key_ids(), "columns": cols})
                );
            } else {
                println!(
                    "{} suite, active key {active}, keys {}",
                    app.keys.suite().as_str(),
                    app.keys.key_ids().join(", ")
                );
                for c in cols {
                    let by: Vec<String> =
                        c.by_key.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                    println!("  {}.{}: {}", c.table, c.column, by.join(", "));
                }
            }
            Ok(())
        }
    }
}

/// Rereads the key file whenever it changes (`serve` runs this), so values
/// a `keys rotate` wrote under a new key are readable and new values are
/// written with it.
pub async fn watch(keys: Arc<Keyring>) {
    let mut tick = tokio::time::interval(Duration::from_secs(WATCH_SECONDS));
    loop {
        tick.tick().await;
        match keys.reload_if_changed() {
            Ok(true) => tracing::info!(
                active = %keys.active_key_id(),
                keys = ?keys.key_ids(),
                "key file reloaded"
            ),
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "key file reload failed; keeping the keys held"),
        }
    }
}
