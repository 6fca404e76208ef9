//! Use cases of dangjian: the only place that combines contexts, storage and
//! rules. Each use case authorizes the acting user against the organization
//! tree, validates with `dangjian-domain`, writes through `dangjian-store` in
//! one transaction, and records the audit trail.

pub mod access;
pub mod admission_attachments;
pub mod admission_forms;
pub mod admissions;
pub mod attachments;
pub mod audit;
pub mod caches;
pub mod certificates;
pub mod clock;
pub mod decisions;
pub mod demo;
pub mod dues;
pub mod dues_remit;
pub mod error;
pub mod federation;
pub mod identity;
pub mod keys;
pub mod ledger;
pub mod meetings;
pub mod members;
pub mod minutes;
pub mod orgs;
pub mod participation;
pub mod roster;
pub mod roster_pipeline;
pub mod totp;
pub mod transfers;
pub mod votes;
pub mod warnings;
pub mod workflows;

use std::sync::Arc;

pub use access::{Actor, Grant};
pub use clock::{Clock, FixedClock, SystemClock};
pub use dangjian_store::{Backend, Db, Keyring};
pub use error::AppError;

/// Settings of the application layer.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// How long a web session lives without being renewed.
    pub session_hours: i64,
    /// Evaluate the warning rules in the transaction of each write (DOMAIN.md
    /// §9). Only the benchmark turns this off, to measure what evaluation
    /// adds; the sweep repairs whatever is skipped.
    pub evaluate_rules_on_write: bool,
    /// Where the ledger's Ed25519 signing key lives (created at first use,
    /// mode 0600); `None` derives it from the keyring.
    pub ledger_key_file: Option<std::path::PathBuf>,
    /// Whether anyone may read the ledger's checkpoint, key, tiles, proofs
    /// and leaves (never the events they record); else auditors and admins.
    pub ledger_public: bool,
    /// The parent's witness endpoint prefix (`…/witness`), for federation.
    pub parent_url: Option<String>,
    /// The parent's witness verifier key (its `dangjian witness key`).
    pub parent_vkey: Option<String>,
    /// The key of the keyed ID-number digests shared by the servers of a
    /// federation (64 hex characters), for finding one person registered
    /// on two servers.
    pub federation_key: Option<String>,
    /// Administrators and committee staff must have a second factor (TOTP)
    /// to sign in (issue 5). Off by default so the demo signs in with
    /// passwords; enroll them with `dangjian user totp --login`.
    pub require_totp_for_staff: bool,
    /// Verifier keys (C2SP vkeys, as `dangjian ledger` prints them) of the
    /// other servers whose signed transfer letters and receipts this
    /// server accepts (DOMAIN.md §12); the logs it witnesses are trusted too.
    pub transfer_trusted_keys: Vec<String>,
    /// The dated dues rules (DOMAIN.md §7). A change of the regulation is a
    /// new rule with its effective date: sheets of later months recompute
    /// the bases fixed before it (see `dues::App::generate_dues`).
    pub dues_schedule: dangjian_domain::dues::DuesSchedule,
    /// A directory whose `<name>.typ` files replace the embedded document
    /// templates (`dangjian_docs`), so an administrator can adjust them.
    pub docs_template_dir: Option<std::path::PathBuf>,
    /// A full CJK font file used for characters outside the embedded
    /// subset (e.g. NotoSansCJK-Regular.ttc); without it such characters
    /// are logged and named on the document.
    pub docs_fallback_font: Option<std::path::PathBuf>,
    /// Public holidays and adjusted working days (调休) for rules counted
    /// in working days, e.g. the admission's public notice (DOMAIN.md §4).
    pub work_calendar: dangjian_domain::admissions::WorkCalendar,
    /// Largest meeting attachment accepted, in bytes (the web layer's body
    /// limit follows it).
    pub attachment_max_bytes: usize,
    /// Chunk size and bulk threshold of the roster import's pipeline
    /// (`roster_pipeline`); tests make them small.
    pub roster_import: roster_pipeline::Tuning,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_hours: 12,
            evaluate_rules_on_write: true,
            ledger_key_file: None,
            ledger_public: false,
            parent_url: None,
            parent_vkey: None,
            federation_key: None,
            require_totp_for_staff: false,
            transfer_trusted_keys: Vec::new(),
            dues_schedule: dangjian_domain::dues::DuesSchedule::national_2008(),
            docs_template_dir: None,
            docs_fallback_font: None,
            work_calendar: Default::default(),
            attachment_max_bytes: crate::attachments::DEFAULT_MAX_BYTES,
            roster_import: roster_pipeline::Tuning::default(),
        }
    }
}

/// Everything a use case needs: the database, the keys and the clock.
///
/// Cloning is cheap (every field is shared): the web layer clones its state,
/// and with it the `App`, several times per request.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub keys: Arc<Keyring>,
    pub clock: Arc<dyn Clock>,
    /// Shared, read-only while serving; change it before serving with
    /// [`App::config_mut`].
    pub config: Arc<AppConfig>,
    /// The ledger's signing key once loaded (see [`ledger`]).
    ledger_key: Arc<std::sync::OnceLock<ed25519_dalek::SigningKey>>,
    /// The certificate key and the PDF renderer once loaded (see [`certificates`]).
    docs: Arc<certificates::DocsState>,
    /// SQLite has one writer: write transactions queue here instead of
    /// failing with "database is locked" when a deferred transaction that
    /// has read tries to upgrade to a write lock.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// The process definitions of this build (see [`workflows`]).
    workflows: Arc<dangjian_workflow::Registry>,
    /// Short-lived caches of callers and meetings (see [`caches`]).
    pub(crate) caches: Arc<caches::Caches>,
    /// Sign-ins waiting for their group commit (see [`meetings::signin`]).
    signins: Arc<meetings::signin::Queue>,
}

impl App {
    pub fn new(db: Db, keys: Keyring, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            keys: Arc::new(keys),
            clock,
            config: Arc::new(AppConfig::default()),
            ledger_key: Arc::default(),
            docs: Arc::default(),
            write_gate: Arc::default(),
            workflows: Arc::new(workflows::registry()),
            caches: Arc::default(),
            signins: Arc::default(),
        }
    }

    /// The settings, for changing them before serving (copied first if
    /// another clone of this `App` shares them, so that clone keeps its own).
    pub fn config_mut(&mut self) -> &mut AppConfig {
        Arc::make_mut(&mut self.config)
    }

    /// Opens a write transaction; on SQLite, waits for the previous writer
    /// first. Keep the returned guard alive until the transaction ends.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the
    /// database's write lock at once (waiting up to the busy timeout for a
    /// writer outside this gate — another process such as a CLI import, or
    /// a single autocommit statement). A deferred transaction that read
    /// first and wrote later would instead fail at once with
    /// `SQLITE_BUSY_SNAPSHOT` ("database is locked", code 517) whenever
    /// such a writer committed in between; the 200-client load test found
    /// that as 500s.
    pub async fn begin_write(
        &self,
    ) -> Result<
        (
            Option<tokio::sync::MutexGuard<'_, ()>>,
            sea_orm::DatabaseTransaction,
        ),
        AppError,
    > {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        let guard = match self.db.backend {
            Backend::Sqlite => Some(self.write_gate.lock().await),
            Backend::Postgres => None,
        };
        let tx = match self.db.backend {
            Backend::Sqlite => {
                self.db
                    .conn
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await?
            }
            Backend::Postgres => self.db.conn.begin().await?,
        };
        Ok((guard, tx))
    }

    /// Today in the platform's zone (Asia/Shanghai, UTC+8 without DST).
    pub fn today(&self) -> chrono::NaiveDate {
        clock::to_local(self.clock.now()).date_naive()
    }
}
