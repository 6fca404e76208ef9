//! `dangjian transfer …` (DOMAIN.md §12): write the signed letter of a
//! transfer to another server to a file, import such a letter into the
//! branch it names (writing the signed receipt to send back), and accept
//! that receipt on the sending server. The command line acts with
//! administrator rights, like the other commands.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use crate::config::DataArgs;
use crate::{Failure, open, root_actor};

#[derive(Debug, Subcommand)]
pub enum TransferCmd {
    /// Write the signed letter (a C2SP signed note) of letter `--id` to a file.
    Export {
        #[command(flatten)]
        data: DataArgs,
        /// The letter's id (see `GET /api/v1/orgs/{code}/transfers`).
        #[arg(long)]
        id: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a signed letter from another server and import the member
    /// into the branch it names; writes the signed receipt to `--receipt-out`.
    Import {
        #[command(flatten)]
        data: DataArgs,
        /// The signed letter file.
        file: PathBuf,
        #[arg(long)]
        receipt_out: PathBuf,
        /// Print JSON: {"letter": NUMBER, "member_id": N, "receipt": PATH}.
        #[arg(long)]
        json: bool,
    },
    /// Accept the receiving server's signed receipt: the member is marked
    /// transferred out.
    Receipt {
        #[command(flatten)]
        data: DataArgs,
        /// The signed receipt file.
        file: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

fn write(path: &PathBuf, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure(format!("{}: {e}", path.display())))
}

pub async fn run(cmd: TransferCmd) -> Result<(), Failure> {
    match cmd {
        TransferCmd::Export { data, id, out } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let text = app.export_letter(&actor, id).await?;
            write(&out, &text)?;
            println!("{}", out.display());
        }
        TransferCmd::Import {
            data,
            file,
            receipt_out,
            json,
        } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let r = app.import_letter(&actor, &read(&file)?).await?;
            write(&receipt_out, &r.receipt)?;
            if json {
                println!(
                    "{}",
                    json!({"letter": r.letter.number, "member_id": r.member_id, "receipt": receipt_out})
                );
            } else {
                println!(
                    "已接收 imported {} ({}) → member {}; 回执 receipt: {}",
                    r.letter.number,
                    r.letter.member_name,
                    r.member_id,
                    receipt_out.display()
                );
            }
        }
        TransferCmd::Receipt { data, file } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let l = app.accept_receipt(&actor, &read(&file)?).await?;
            println!("已转出 transferred out: {} ({})", l.number, l.member_name);
        }
    }
    Ok(())
}
