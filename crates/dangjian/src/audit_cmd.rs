//! `dangjian audit …` (issue 5, item 2): verify the audit log's hash chain
//! and export the log as CSV.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use crate::config::DataArgs;
use crate::{Failure, open, root_actor};

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the audit log's hash chain; exits non-zero when a row was edited,
    /// deleted or written around the chain.
    Verify {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON: {"ok": bool, "rows", "legacy_rows", "head", "problems": [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Export the audit log as CSV (the whole log, or one organization's subtree).
    Export {
        #[command(flatten)]
        data: DataArgs,
        /// Code of the subtree's root (default: every entry).
        #[arg(long)]
        org: Option<String>,
        /// Output file; `-` for standard output.
        #[arg(long)]
        out: PathBuf,
    },
}

pub async fn run(cmd: AuditCmd) -> Result<(), Failure> {
    match cmd {
        AuditCmd::Verify { data, json } => {
            let (app, _) = open(&data).await?;
            let r = app.audit_verify().await?;
            let ok = r.problems.is_empty();
            if json {
                println!(
                    "{}",
                    json!({"ok": ok, "rows": r.rows, "legacy_rows": r.legacy_rows, "head": r.head, "problems": r.problems})
                );
            } else {
                println!(
                    "审计日志 audit log: {} 条链内记录 chained rows, {} 条早期记录 legacy rows, head {}",
                    r.rows,
                    r.legacy_rows,
                    r.head.as_deref().unwrap_or("-")
                );
                for p in &r.problems {
                    println!("  ✗ {p}");
                }
                if ok {
                    println!("校验通过 / verified");
                }
            }
            if ok {
                Ok(())
            } else {
                Err(Failure(if json {
                    String::new()
                } else {
                    format!(
                        "审计日志校验失败 / audit log verification failed: {} problems",
                        r.problems.len()
                    )
                }))
            }
        }
        AuditCmd::Export { data, org, out } => {
            let (app, _) = open(&data).await?;
            let csv = match org {
                Some(code) => {
                    let actor = root_actor(&app).await?;
                    app.audit_export(&actor, &code).await?
                }
                None => app.audit_export_all().await?,
            };
            if out.as_os_str() == "-" {
                print!("{csv}");
            } else {
                std::fs::write(&out, csv)
                    .map_err(|e| Failure(format!("{}: {e}", out.display())))?;
                println!("{}", out.display());
            }
            Ok(())
        }
    }
}
