//! Opening the database (SQLite file or PostgreSQL URL) and running migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::direct::Direct;
use crate::migration::Migrator;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("database (direct SQLite connection): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

/// Which engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    pub backend: Backend,
    /// For a SQLite file: synchronous connections to the same file for the
    /// hot paths that name them (see [`crate::direct`]).
    pub direct: Option<Arc<Direct>>,
}

impl Db {
    /// Connects to `url` (`sqlite://FILE` or `postgres://…`). SQLite files are
    /// created when missing and run in WAL mode with `synchronous=NORMAL`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            // A pooled SQLite connection is a thread in this process with
            // the file open: there is no peer that could have hung up, and
            // sqlx's ping before each acquire was one more round trip to
            // that thread per query (issue 6, the sign-in surge). sqlx
            // still pings when a connection goes back to the pool.
            opts.max_connections(8)
                .min_connections(1)
                .test_before_acquire(false);
            opts.map_sqlx_sqlite_opts(|o| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    // A 64 MiB page cache per connection keeps bulk writes from
                    // spilling to the WAL page by page.
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory")
            });
        } else {
            opts.max_connections(32).min_connections(1);
        }
        let conn = Database::connect(opts).await?;
        let backend = match conn.get_database_backend() {
            DbBackend::Sqlite => Backend::Sqlite,
            _ => Backend::Postgres,
        };
        let direct = if sqlite {
            sqlite_file(url).map(|p| Arc::new(Direct::new(&p)))
        } else {
            None
        };
        Ok(Self {
            conn,
            backend,
            direct,
        })
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.conn).await?.len();
        Migrator::up(&self.conn, None).await?;
        Ok(pending)
    }

    /// Applies at most `n` pending migrations, oldest first; returns how
    /// many it applied. For tests of a migration on data written under the
    /// schema before it.
    pub async fn migrate_steps(&self, n: u32) -> Result<usize, StoreError> {
        let pending = Migrator::get_pending_migrations(&self.conn).await?.len();
        Migrator::up(&self.conn, Some(n)).await?;
        Ok(pending.min(n as usize))
    }

    /// Names of the migrations in order (the last is the newest).
    pub fn migration_names() -> Vec<String> {
        Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.conn.execute_unprepared("SELECT 1").await.is_ok()
    }
}

/// The file of a `sqlite:` URL; `None` for an in-memory database, which
/// other connections cannot share.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let opts = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = opts.get_filename();
    (!path.as_os_str().is_empty()).then(|| path.to_path_buf())
}
