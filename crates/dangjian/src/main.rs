//! The `dangjian` command: wires configuration to the application and the web
//! server. Subcommands stay thin: parse, open the app, call one use case, print.

/// mimalloc instead of glibc's malloc for every Rust allocation; with the
/// crate's `override` feature it also replaces `malloc` and `free` for the
/// C code linked in (SQLite): see BENCHMARKS.md, sign-in surge and roster
/// import.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit_cmd;
mod backup_cmd;
mod bench;
mod bench_dues;
mod bench_ledger;
mod bench_load;
mod bench_minutes;
mod bench_signin;
mod bench_sweep;
mod config;
mod keys_cmd;
mod ledger_cmd;
mod transfer_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use dangjian_app::roster::{Progress, RosterFormat};
use dangjian_app::{Actor, App, AppError, Db, Keyring, SystemClock};
use dangjian_domain::identity::Role;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use config::DataArgs;

#[derive(Debug, Parser)]
#[command(
    name = "dangjian",
    version,
    about = "智慧党建平台 — smart party-building platform"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the web pages and the JSON API.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        /// Address to listen on.
        #[arg(long, env = "DANGJIAN_LISTEN")]
        listen: Option<String>,
        /// Seed demo data first when the database is empty (else reset the demo passwords) and print the demo users.
        #[arg(long)]
        demo: bool,
        /// Demo members to generate with --demo.
        #[arg(long, default_value_t = 300)]
        members: usize,
        /// Hours between two sweeps of the time-driven warning rules (the
        /// first runs at start); 0 leaves sweeping to `dangjian warnings sweep`.
        #[arg(long, env = "DANGJIAN_SWEEP_HOURS", default_value_t = 6)]
        sweep_hours: u64,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key), for
        /// deployments without a TLS-terminating proxy; cookies then get
        /// `Secure` and responses HSTS.
        #[arg(long, env = "DANGJIAN_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, env = "DANGJIAN_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Seed demo data (organization tree, members, one user per role) and print the users.
    Demo {
        #[command(flatten)]
        data: DataArgs,
        /// How many members to generate (scales to 1,000,000 and more for benchmarks).
        #[arg(long, default_value_t = 300)]
        members: usize,
        /// Print JSON: {"root_org", "users": [{"login","password","role","org"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        json: bool,
    },
    /// Import a roster (CSV or XLSX) into a branch; all rows or none.
    Import {
        #[command(flatten)]
        data: DataArgs,
        /// Code of the branch.
        #[arg(long)]
        org: String,
        /// The roster file (.csv or .xlsx).
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Export a branch roster to CSV or XLSX (masked unless --unmasked).
    Export {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        org: String,
        /// Output file; its extension (.csv or .xlsx) picks the format.
        #[arg(long)]
        out: PathBuf,
        /// Include ID and phone numbers in clear (audited).
        #[arg(long)]
        unmasked: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// The warning engine (DOMAIN.md §9).
    Warnings {
        #[command(subcommand)]
        cmd: WarningsCmd,
    },
    /// The tamper-evident archive log (issue 4): verify it, sign a checkpoint.
    Ledger {
        #[command(subcommand)]
        cmd: ledger_cmd::LedgerCmd,
    },
    /// Transfers of membership to and from other servers (DOMAIN.md §12).
    Transfer {
        #[command(subcommand)]
        cmd: transfer_cmd::TransferCmd,
    },
    /// Witness the archive logs of the servers below (issue 4 §5).
    Witness {
        #[command(subcommand)]
        cmd: ledger_cmd::WitnessCmd,
    },
    /// The audit log (issue 5): verify its hash chain, export it.
    Audit {
        #[command(subcommand)]
        cmd: audit_cmd::AuditCmd,
    },
    /// Data-encryption keys (issue 5): rotate while serving, show their use.
    Keys {
        #[command(subcommand)]
        cmd: keys_cmd::KeysCmd,
    },
    /// Encrypted, checksummed online snapshot of an embedded deployment (issue 5).
    Backup(backup_cmd::BackupArgs),
    /// Restore a backup into a new data directory, verified before it is used.
    Restore(backup_cmd::RestoreArgs),
    /// Rerunnable benchmarks: ours against the named baseline in one run.
    Bench {
        #[command(subcommand)]
        cmd: bench::BenchCmd,
    },
    /// Membership dues collection (DOMAIN.md §7).
    Dues {
        #[command(subcommand)]
        cmd: DuesCmd,
    },
    /// Compute a member's monthly dues (DOMAIN.md §7).
    Fee {
        /// employed, retired, farmer, student, unemployed, subsistence
        #[arg(long)]
        category: String,
        /// Monthly base in yuan, at most two decimals.
        #[arg(long, allow_hyphen_values = true)]
        income: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DuesCmd {
    /// Generate the month's dues sheets of an organization's subtree
    /// (idempotent: existing charges stay as they are).
    Generate {
        #[command(flatten)]
        data: DataArgs,
        /// Code of the organization (a branch, or a committee for its subtree).
        #[arg(long)]
        org: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long)]
        json: bool,
    },
    /// Re-evaluate the arrears warnings of every member (DOMAIN.md §6, §7).
    Sweep {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// List the users whose roles are all held in the tree (login, name,
    /// roles, disabled, second factor).
    List {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no sign-in, no API token, every session ended.
    Disable {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// Set a new password (a generated one-time password, or the first line
    /// of standard input) and end the user's sessions.
    ResetPassword {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// End every session of a user (e.g. after a lost phone).
    RevokeSessions {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke every API token of a user (a leaked token, a departure). A
    /// running server refuses them within 5 s (its caller cache), at once
    /// when revoked through it.
    RevokeTokens {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// Enroll a second factor (TOTP) for a user and require it at once;
    /// prints the secret and the otpauth:// URI to hand over.
    Totp {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        json: bool,
    },
    /// Add a user with one role; prints a one-time password.
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        /// Name shown in the interface.
        #[arg(long)]
        name: String,
        /// member, secretary, committee_staff, auditor, admin
        #[arg(long)]
        role: String,
        /// Code of the organization the role is held at.
        #[arg(long)]
        org: String,
        /// Read the password from the first line of standard input (checked
        /// against the password policy) instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum WarningsCmd {
    /// Run the sweep of the time-driven rules over every organization now and
    /// print what changed (for cron; `serve` also sweeps on its own).
    Sweep {
        #[command(flatten)]
        data: DataArgs,
        /// Also re-check the registry data quality of every member.
        #[arg(long)]
        members: bool,
        /// Print JSON: {"today", "subjects", "pages", "raised", "escalated", "recurred", "cleared"}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Create an API token for a user (shown once).
    Create {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "cli")]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

/// Serves HTTPS with rustls (ring provider) until Ctrl-C.
async fn serve_tls(
    state: dangjian_web::AppState,
    addr: SocketAddr,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<(), Failure> {
    // Another part of the process may have installed it already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| {
            Failure(format!(
                "TLS 证书或私钥无法读取 / cannot load the TLS certificate {} or key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let server = axum_server::bind_rustls(addr, config).handle(handle.clone());
    let router = dangjian_web::router(state);
    let serving =
        tokio::spawn(server.serve(router.into_make_service_with_connect_info::<SocketAddr>()));
    let local = handle
        .listening()
        .await
        .ok_or_else(|| Failure(format!("cannot listen on {addr}")))?;
    println!("dangjian 正在运行 / listening on https://{local}");
    tracing::info!(%local, "listening with TLS");
    serving
        .await
        .map_err(|e| Failure(e.to_string()))?
        .map_err(|e| Failure(format!("cannot serve on {addr}: {e}")))
}

/// A failure of a command: printed, then a non-zero exit.
pub(crate) struct Failure(pub(crate) String);

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure(match e {
            AppError::Validation(v) => {
                v.0.iter()
                    .map(|f| format!("{}: {} ({})", f.field, f.message_zh, f.message_en))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            AppError::Conflict(f) => format!("{}: {} ({})", f.field, f.message_zh, f.message_en),
            other => other.to_string(),
        })
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

pub(crate) async fn open(data: &DataArgs) -> Result<(App, config::Settings), Failure> {
    let s = data.settings()?;
    let db = Db::connect(&s.database_url)
        .await
        .map_err(|e| Failure(format!("cannot open the database: {e}")))?;
    db.migrate()
        .await
        .map_err(|e| Failure(format!("migration failed: {e}")))?;
    let suite = config::crypto_suite(&s.file)?;
    let keys =
        Keyring::load_or_create_with(&s.key_file, suite).map_err(|e| Failure(e.to_string()))?;
    let mut app = App::new(db, keys, test_clock()?);
    app.config_mut().ledger_key_file = Some(
        s.key_file
            .with_file_name(dangjian_app::ledger::KEY_FILE_NAME),
    );
    if let Some(h) = s.file.session_hours {
        app.config_mut().session_hours = h;
    }
    app.config_mut().ledger_public = s.file.ledger_public.unwrap_or(false);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    app.config_mut().parent_url = env("DANGJIAN_PARENT_URL").or_else(|| s.file.parent_url.clone());
    app.config_mut().parent_vkey =
        env("DANGJIAN_PARENT_VKEY").or_else(|| s.file.parent_vkey.clone());
    app.config_mut().federation_key =
        env("DANGJIAN_FEDERATION_KEY").or_else(|| s.file.federation_key.clone());
    app.config_mut().require_totp_for_staff = s.file.require_totp_for_staff.unwrap_or(false);
    app.config_mut().transfer_trusted_keys = match env("DANGJIAN_TRANSFER_TRUSTED_KEYS") {
        Some(v) => v
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect(),
        None => s.file.transfer_trusted_keys.clone().unwrap_or_default(),
    };
    app.config_mut().docs_fallback_font = env("DANGJIAN_DOCS_FALLBACK_FONT")
        .map(std::path::PathBuf::from)
        .or_else(|| s.file.docs_fallback_font.clone());
    app.config_mut().docs_template_dir = env("DANGJIAN_DOCS_TEMPLATE_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| s.file.docs_template_dir.clone());
    app.config_mut().work_calendar = work_calendar(&s.file)?;
    match env("DANGJIAN_ATTACHMENT_MAX_BYTES").map(|v| v.trim().parse::<usize>()) {
        Some(Ok(n)) if n > 0 => app.config_mut().attachment_max_bytes = n,
        Some(_) => {
            return Err(Failure(
                "DANGJIAN_ATTACHMENT_MAX_BYTES must be a positive number of bytes".into(),
            ));
        }
        None => {
            if let Some(n) = s.file.attachment_max_bytes.filter(|n| *n > 0) {
                app.config_mut().attachment_max_bytes = n;
            }
        }
    }
    // The process definitions: stored the first time, refused when one
    // changed without a version bump; migrated runs get their history.
    app.start_workflows().await.map_err(|e| match e {
        dangjian_app::AppError::Internal(m) => Failure(format!("cannot start: {m}")),
        other => Failure(format!("cannot start: {other}")),
    })?;
    Ok((app, s))
}

/// The working-day calendar from the settings file's `holidays` and
/// `extra_workdays`; a date that does not parse is refused naming the key.
fn work_calendar(
    file: &config::FileConfig,
) -> Result<dangjian_domain::admissions::WorkCalendar, Failure> {
    let dates = |key: &str, v: &Option<Vec<String>>| {
        v.iter()
            .flatten()
            .map(|d| {
                chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    Failure(format!(
                        "{key}: 「{d}」不是日期（YYYY-MM-DD） / {d:?} is not a date (YYYY-MM-DD)"
                    ))
                })
            })
            .collect::<Result<std::collections::BTreeSet<_>, _>>()
    };
    Ok(dangjian_domain::admissions::WorkCalendar {
        holidays: dates("holidays", &file.holidays)?,
        workdays: dates("extra_workdays", &file.extra_workdays)?,
    })
}

/// `DANGJIAN_TEST_TODAY=YYYY-MM-DD` (for tests and demos only): the clock
/// stands still at noon China time of that day, so a browser test can run a
/// process that spans years by restarting the server on later days. Without
/// it, the system clock.
fn test_clock() -> Result<Arc<dyn dangjian_app::Clock>, Failure> {
    let Some(v) = std::env::var("DANGJIAN_TEST_TODAY")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(Arc::new(SystemClock));
    };
    let day = chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
        Failure(format!(
            "DANGJIAN_TEST_TODAY: {v:?} is not a date like 2026-11-28"
        ))
    })?;
    let noon = day
        .and_hms_opt(12, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(dangjian_app::clock::china_offset())
                .single()
        })
        .ok_or_else(|| Failure(format!("DANGJIAN_TEST_TODAY: {v:?} is out of range")))?
        .with_timezone(&chrono::Utc);
    tracing::warn!(
        today = %day,
        "DANGJIAN_TEST_TODAY is set: the clock stands still at {day} 12:00 China time (for tests and demos only, never in production)"
    );
    Ok(Arc::new(dangjian_app::FixedClock::new(noon)))
}

/// The CLI acts with administrator rights over the whole tree: whoever runs
/// it holds the key file already.
pub(crate) async fn root_actor(app: &App) -> Result<Actor, Failure> {
    let roots = dangjian_store::repo::orgs::roots(&app.db.conn)
        .await
        .map_err(|e| Failure(e.to_string()))?;
    Ok(match roots.first() {
        Some(r) => Actor::system(r.id, "/"),
        None => Actor::system(0, "/"),
    })
}

pub(crate) fn bar(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn print_demo(r: &dangjian_app::demo::DemoReport, json: bool) {
    if json {
        println!(
            "{}",
            json!({"root_org": r.root_org, "users": r.users, "organizations": r.organizations, "members": r.members, "seeded": r.seeded})
        );
    } else {
        println!(
            "演示数据 / demo data: {} 个组织 organizations, {} 名人员 members{}",
            r.organizations,
            r.members,
            if r.seeded {
                ""
            } else {
                " (已存在，已重置演示账号密码 / existed; demo passwords reset)"
            }
        );
        println!("{:<14} {:<18} {:<16} org", "login", "password", "role");
        for u in &r.users {
            println!(
                "{:<14} {:<18} {:<16} {}",
                u.login,
                u.password,
                u.role.as_str(),
                u.org
            );
        }
    }
}

pub(crate) async fn seed(
    app: &App,
    members: usize,
    quiet: bool,
) -> Result<dangjian_app::demo::DemoReport, Failure> {
    let pb = bar(members as u64, "生成演示数据 seeding");
    if quiet {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let r = app
        .seed_demo(members, &|p| pb.set_position(p.members_done as u64))
        .await?;
    pb.finish_and_clear();
    Ok(r)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.cmd {
        Cmd::Serve {
            data,
            listen,
            demo,
            members,
            sweep_hours,
            tls_cert,
            tls_key,
        } => {
            let (app, s) = open(&data).await?;
            if demo {
                let r = seed(&app, members, false).await?;
                print_demo(&r, false);
            }
            let listen = listen
                .or(s.file.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8080".into());
            let addr: SocketAddr = listen.parse().map_err(|_| {
                Failure(format!(
                    "--listen: {listen:?} is not an address like 127.0.0.1:8080"
                ))
            })?;
            if sweep_hours > 0 {
                tokio::spawn(sweep_every(app.clone(), sweep_hours));
            }
            tokio::spawn(ledger_cmd::watch(app.clone()));
            tokio::spawn(keys_cmd::watch(app.keys.clone()));
            let mut state = dangjian_web::AppState::new(app);
            state.settings_mut().trusted_proxies = Arc::new(config::trusted_proxies(&s.file)?);
            if let (Some(cert), Some(key)) = (tls_cert, tls_key) {
                state.settings_mut().secure_cookies = true;
                return serve_tls(state, addr, &cert, &key).await;
            }
            let router = dangjian_web::router(state);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
            let local = listener.local_addr().map_err(|e| Failure(e.to_string()))?;
            println!("dangjian 正在运行 / listening on http://{local}");
            tracing::info!(%local, "listening");
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Failure(e.to_string()))?;
            Ok(())
        }
        Cmd::Demo {
            data,
            members,
            json,
        } => {
            let (app, _) = open(&data).await?;
            let r = seed(&app, members, json).await?;
            print_demo(&r, json);
            Ok(())
        }
        Cmd::Migrate { data, json } => {
            let s = data.settings()?;
            let db = Db::connect(&s.database_url)
                .await
                .map_err(|e| Failure(format!("cannot open the database: {e}")))?;
            let n = db
                .migrate()
                .await
                .map_err(|e| Failure(format!("migration failed: {e}")))?;
            if json {
                println!("{}", json!({"applied": n}));
            } else {
                println!("已应用 {n} 个迁移 / applied {n} migrations");
            }
            Ok(())
        }
        Cmd::Import {
            data,
            org,
            file,
            json,
        } => {
            let format = RosterFormat::from_name(&file.to_string_lossy()).ok_or_else(|| {
                Failure(format!(
                    "{}: only .csv and .xlsx files are accepted",
                    file.display()
                ))
            })?;
            let bytes =
                std::fs::read(&file).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let pb = bar(0, "校验 validating");
            if json {
                pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            // Rows are validated a chunk or two ahead of the rows written
            // (one pipeline): the bar follows the validated rows until the
            // first chunk is written, then the written ones.
            let writing = std::sync::atomic::AtomicBool::new(false);
            let report = app
                .import_roster(&actor, &org, format, &bytes, &|p| match p {
                    Progress::Validated(n, t) => {
                        pb.set_length(t as u64);
                        if !writing.load(std::sync::atomic::Ordering::Relaxed) {
                            pb.set_position(n as u64);
                        }
                    }
                    Progress::Written(n, t) => {
                        if !writing.swap(true, std::sync::atomic::Ordering::Relaxed) {
                            pb.set_message("校验并写入 validating and writing");
                        }
                        pb.set_length(t as u64);
                        pb.set_position(n as u64);
                    }
                })
                .await?;
            pb.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else if report.errors.is_empty() {
                println!(
                    "已导入 {} 行 / imported {} rows",
                    report.imported, report.imported
                );
            } else {
                eprintln!(
                    "未导入任何记录，共 {} 个错误 / nothing imported, {} errors:",
                    report.errors.len(),
                    report.errors.len()
                );
                for e in &report.errors {
                    eprintln!(
                        "  第 {} 行 line {} [{}] {} ({})",
                        e.row, e.row, e.column, e.message_zh, e.message_en
                    );
                }
            }
            if report.errors.is_empty() {
                Ok(())
            } else {
                Err(Failure(String::new()))
            }
        }
        Cmd::Export {
            data,
            org,
            out,
            unmasked,
        } => {
            let format = RosterFormat::from_name(&out.to_string_lossy()).ok_or_else(|| {
                Failure(format!(
                    "{}: the file must end in .csv or .xlsx",
                    out.display()
                ))
            })?;
            let (app, _) = open(&data).await?;
            let mut actor = root_actor(&app).await?;
            if !unmasked {
                actor.grants[0].role = Role::Auditor;
            }
            let bytes = app.export_roster(&actor, &org, format).await?;
            std::fs::write(&out, bytes).map_err(|e| Failure(format!("{}: {e}", out.display())))?;
            println!("{}", out.display());
            Ok(())
        }
        Cmd::User {
            cmd:
                UserCmd::Add {
                    data,
                    login,
                    name,
                    role,
                    org,
                    password_stdin,
                    json,
                },
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure(format!("cannot read the password: {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let role = Role::parse(&role).ok_or_else(|| Failure(format!("--role: {role:?} is not one of member, secretary, committee_staff, auditor, admin")))?;
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let u = app
                .add_user_with_password(
                    &actor,
                    &login,
                    &name,
                    role,
                    &org,
                    None,
                    password.as_deref(),
                )
                .await?;
            if json {
                println!("{}", json!({"login": u.login, "password": u.password}));
            } else {
                println!(
                    "用户 {} 已创建。一次性密码 / one-time password: {}",
                    u.login, u.password
                );
            }
            Ok(())
        }
        Cmd::User {
            cmd: UserCmd::RevokeSessions { data, login, json },
        } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let n = app.revoke_user_sessions(&actor, &login).await?;
            if json {
                println!("{}", json!({"revoked": n}));
            } else {
                println!("已结束 {n} 个会话 / ended {n} sessions");
            }
            Ok(())
        }
        Cmd::User {
            cmd: UserCmd::RevokeTokens { data, login, json },
        } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let n = app.revoke_user_tokens(&actor, &login).await?;
            if json {
                println!("{}", json!({"revoked": n}));
            } else {
                println!("已吊销 {n} 个 API 令牌 / revoked {n} API tokens");
            }
            Ok(())
        }
        Cmd::User {
            cmd: UserCmd::List { data, json },
        } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let users = app.list_users(&actor).await?;
            if json {
                println!("{}", json!(users));
            } else {
                for u in &users {
                    println!(
                        "{:<20} {:<12} {}{}{}",
                        u.login,
                        u.display_name,
                        u.roles.join(","),
                        if u.totp_enabled { "  TOTP" } else { "" },
                        if u.disabled {
                            "  已停用 disabled"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(())
        }
        Cmd::User {
            cmd:
                UserCmd::ResetPassword {
                    data,
                    login,
                    password_stdin,
                    json,
                },
        } => {
            let (app, _) = open(&data).await?;
            let actor = root_actor(&app).await?;
            let given = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure(format!("--password-stdin: {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let pw = app.reset_password(&actor, &login, given.as_deref()).await?;
            if json {
                if password_stdin {
                    println!("{}", json!({"login": login}));
                } else {
                    println!("{}", json!({"login": login, "password": pw}));
                }
            } else if password_stdin {
                println!("已重设 {login} 的密码 / password set");
            } else {
                println!("{login} 的一次性密码 / one-time password: {pw}");
            }
            Ok(())
        }
        Cmd::User {
            cmd: UserCmd::Disable { data, login, json },
        } => set_disabled(&data, &login, true, json).await,
        Cmd::User {
            cmd: UserCmd::Enable { data, login, json },
        } => set_disabled(&data, &login, false, json).await,
        Cmd::User {
            cmd: UserCmd::Totp { data, login, json },
        } => {
            let (app, _) = open(&data).await?;
            let e = app.totp_enroll_login(&login).await?;
            if json {
                println!(
                    "{}",
                    json!({"login": login, "secret": e.secret, "uri": e.uri})
                );
            } else {
                println!("{}\n{}", e.secret, e.uri);
            }
            Ok(())
        }
        Cmd::Token {
            cmd:
                TokenCmd::Create {
                    data,
                    login,
                    name,
                    json,
                },
        } => {
            let (app, _) = open(&data).await?;
            let t = app.create_token(&login, &name).await?;
            if json {
                println!("{}", json!({"token": t}));
            } else {
                println!("{t}");
            }
            Ok(())
        }
        Cmd::Warnings {
            cmd:
                WarningsCmd::Sweep {
                    data,
                    members,
                    json,
                },
        } => {
            let (app, _) = open(&data).await?;
            let now = app.clock.now();
            let orgs = app.sweep(now).await?;
            let admissions = app.sweep_admission_timers(now).await?;
            let letters = app.sweep_transfer_letters(now).await?;
            let people = match members {
                true => Some(app.sweep_member_data(now).await?),
                false => None,
            };
            let meetings = app.sweep_meeting_frequency(now).await?;
            let participation = app.sweep_participation(now).await?;
            if json {
                let mut v = serde_json::to_value(&orgs).unwrap_or_default();
                if let Some(p) = &people {
                    v["members"] = serde_json::to_value(p).unwrap_or_default();
                }
                v["admission_deadlines_changed"] = json!(admissions);
                v["transfer_letters_checked"] = json!(letters);
                v["meetings"] = serde_json::to_value(&meetings).unwrap_or_default();
                v["participation"] = serde_json::to_value(&participation).unwrap_or_default();
                println!("{v}");
            } else {
                for (what, r) in [
                    ("organizations", Some(&orgs)),
                    ("members", people.as_ref()),
                    ("meeting frequency", Some(&meetings)),
                    ("participation", Some(&participation)),
                ] {
                    let Some(r) = r else { continue };
                    println!(
                        "巡检 sweep {} ({what}): {} 个对象 subjects — 新增 raised {}, 升级 escalated {}, 再现 recurred {}, 消除 cleared {}",
                        r.today,
                        r.subjects,
                        r.changes.raised,
                        r.changes.escalated,
                        r.changes.recurred,
                        r.changes.cleared
                    );
                }
                println!("发展党员期限 admission deadlines: {admissions} 项变化 changed");
            }
            Ok(())
        }
        Cmd::Ledger { cmd } => ledger_cmd::run(cmd).await,
        Cmd::Witness { cmd } => ledger_cmd::run_witness(cmd).await,
        Cmd::Transfer { cmd } => transfer_cmd::run(cmd).await,
        Cmd::Audit { cmd } => audit_cmd::run(cmd).await,
        Cmd::Keys { cmd } => keys_cmd::run(cmd).await,
        Cmd::Backup(a) => backup_cmd::backup(a).await,
        Cmd::Restore(a) => backup_cmd::restore(a).await,
        Cmd::Bench { cmd } => bench::run(cmd).await,
        Cmd::Dues {
            cmd:
                DuesCmd::Generate {
                    data,
                    org,
                    month,
                    json,
                },
        } => {
            let (app, _) = open(&data).await?;
            let sys = root_actor(&app).await?;
            let o = app.visible_org(&sys, &org).await?;
            let total = dangjian_store::repo::orgs::subtree_count(&app.db.conn, &o.path)
                .await
                .map_err(|e| Failure(e.to_string()))?;
            let pb = bar(total, "生成党费表 generating");
            if json {
                pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let r = app
                .generate_dues(&sys, &org, &month, &|orgs, _| pb.set_position(orgs))
                .await?;
            pb.finish_and_clear();
            if json {
                println!("{}", serde_json::to_value(&r).unwrap_or_default());
            } else {
                println!(
                    "{} 党费表 dues sheets: {} 个组织 organizations, 新增 {} 条应交记录 charges created",
                    r.month, r.organizations, r.charges_created
                );
            }
            Ok(())
        }
        Cmd::Dues {
            cmd: DuesCmd::Sweep { data, json },
        } => {
            let (app, _) = open(&data).await?;
            let n = app.sweep_dues().await?;
            if json {
                println!("{}", json!({"organizations": n}));
            } else {
                println!("党费欠缴巡检 dues arrears sweep: {n} 个组织 organizations");
            }
            Ok(())
        }
        Cmd::Fee {
            category,
            income,
            json,
        } => fee(&category, income.as_deref(), json),
    }
}

/// `user disable|enable`.
async fn set_disabled(
    data: &DataArgs,
    login: &str,
    disabled: bool,
    json: bool,
) -> Result<(), Failure> {
    let (app, _) = open(data).await?;
    let actor = root_actor(&app).await?;
    let n = app.set_user_disabled(&actor, login, disabled).await?;
    if json {
        println!(
            "{}",
            json!({"login": login, "disabled": disabled, "sessions_ended": n})
        );
    } else if disabled {
        println!("已停用 {login}，结束 {n} 个会话 / disabled, {n} sessions ended");
    } else {
        println!("已启用 {login} / enabled");
    }
    Ok(())
}

/// The scheduled sweep of the time-driven warning rules, in the background
/// of `serve`: now, then every `hours`.
async fn sweep_every(app: App, hours: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(hours * 3600));
    loop {
        tick.tick().await;
        match app.sweep(app.clock.now()).await {
            Ok(r) => tracing::info!(
                subjects = r.subjects,
                raised = r.changes.raised,
                escalated = r.changes.escalated,
                cleared = r.changes.cleared,
                "warning sweep"
            ),
            Err(e) => tracing::error!(error = %e, "warning sweep failed"),
        }
        match app.sweep_admission_timers(app.clock.now()).await {
            Ok(n) => tracing::info!(changed = n, "admission deadline sweep"),
            Err(e) => tracing::error!(error = %e, "admission deadline sweep failed"),
        }
        match app.sweep_transfer_letters(app.clock.now()).await {
            Ok(n) => tracing::info!(checked = n, "transfer letter sweep"),
            Err(e) => tracing::error!(error = %e, "transfer letter sweep failed"),
        }
        match app.sweep_meeting_frequency(app.clock.now()).await {
            Ok(r) => tracing::info!(
                subjects = r.subjects,
                raised = r.changes.raised,
                escalated = r.changes.escalated,
                cleared = r.changes.cleared,
                "meeting frequency sweep"
            ),
            Err(e) => tracing::error!(error = %e, "meeting frequency sweep failed"),
        }
        match app.sweep_participation(app.clock.now()).await {
            Ok(r) => tracing::info!(
                subjects = r.subjects,
                raised = r.changes.raised,
                escalated = r.changes.escalated,
                cleared = r.changes.cleared,
                "participation sweep"
            ),
            Err(e) => tracing::error!(error = %e, "participation sweep failed"),
        }
        if let Err(e) = app.sweep_dues().await {
            tracing::error!(error = %e, "dues arrears sweep failed");
        }
    }
}

fn fee(category: &str, income: Option<&str>, json: bool) -> Result<(), Failure> {
    use dangjian_domain::dues::{DuesCategory, FeeInput, calculate_fee};
    let cat = DuesCategory::parse(category).ok_or_else(|| Failure(format!("--category: {category:?} is not one of employed, retired, farmer, student, unemployed, subsistence")))?;
    let today = dangjian_app::clock::to_local(chrono::Utc::now()).date_naive();
    let mut input = FeeInput::new(cat, today);
    if let Some(i) = income {
        input = input
            .with_income_str(i)
            .map_err(|e| Failure(format!("--income: {} ({})", e.message_zh(), e)))?;
    }
    let r = calculate_fee(input)
        .map_err(|e| Failure(format!("--{}: {} ({})", e.field(), e.message_zh(), e)))?;
    if json {
        println!(
            "{}",
            json!({"fee_fen": r.fee_fen, "fee_yuan": dangjian_domain::dues::format_fen(r.fee_fen), "rate": r.rate, "rule": r.rule, "source": r.source, "explanation": r.explanation_zh, "explanation_en": r.explanation_en})
        );
    } else {
        println!(
            "{} 元 / yuan — {}",
            dangjian_domain::dues::format_fen(r.fee_fen),
            r.explanation_zh
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DANGJIAN_LOG")
                .unwrap_or_else(|_| "warn,dangjian=info,dangjian_web=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            if !msg.is_empty() {
                eprintln!("错误 / error: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
