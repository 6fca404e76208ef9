//! Synchronous SQLite connections for the hot paths (issue 6, the sign-in
//! surge). sqlx runs every SQLite connection on a thread of its own, so each
//! statement is a hand-off to that thread and back; on the 2-core standard
//! machine those hand-offs, not SQLite, were half the CPU of a sign-in
//! (BENCHMARKS.md). [`Direct`] keeps plain rusqlite connections to the same
//! file, opened with the pool's settings:
//!
//! - [`Direct::read`] runs a short read (the caller behind a token or a
//!   session: one indexed row and its grants) on the calling thread. In WAL
//!   mode a reader never waits for the writer, so the call takes
//!   microseconds of CPU and no I/O wait beyond the page cache.
//! - [`Direct::read_recent`] runs such a read inside a read transaction
//!   that stays open for up to [`RECENT`] across calls. SQLite drops a
//!   connection's whole page cache when a read transaction begins after
//!   any commit, so under a write load every fresh lookup re-read its
//!   B-tree pages from the file (about a fifth of a sign-in's CPU); a
//!   reused snapshot keeps them. The snapshot is at most 2 × [`RECENT`]
//!   old and is dropped at once when this process changes credentials
//!   ([`Direct::credentials_changed`]); callers re-check an empty answer
//!   with [`Direct::read`], so a row written since is never missed.
//! - [`Direct::write`] runs a whole `BEGIN IMMEDIATE` transaction on the one
//!   writer connection; it blocks, so async code calls it from
//!   `spawn_blocking` (one hand-off per transaction instead of one per
//!   statement). Its commits do not checkpoint the WAL themselves (SQLite's
//!   automatic checkpoint copies pages and syncs the file inside the commit
//!   that crosses 1,000 pages, stalling every sign-in queued behind it):
//!   every [`CHECKPOINT_EVERY`] commits a thread of its own runs a passive
//!   checkpoint, which never blocks the writer or the readers.
//! - [`Direct::try_write`] is the same transaction for a caller that must
//!   not block: it gives up at once (`None`) when the writer connection is
//!   busy or another process holds SQLite's write lock, so an async task can
//!   run a short CPU-bound write in place and fall back to `spawn_blocking`
//!   only then (the sign-in batch: a thread hand-off per batch cost more
//!   CPU than the batch's own statements).
//!
//! Only SQLite files get one (PostgreSQL's driver has no such hand-off), and
//! only the functions that name it use it: everything else goes through
//! SeaORM. Timestamps are stored exactly as sqlx stores them (RFC 3339 text
//! with `+00:00`), so rows written here and there compare and read alike.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// Read connections kept open between calls (more may be open at once
/// under load; the extra ones are closed after use).
const READERS_KEPT: usize = 8;

/// Prepared statements kept per connection.
const STATEMENTS_CACHED: usize = 64;

/// How long a read transaction of [`Direct::read_recent`] is reused; the
/// sweeper thread ends the idle ones within twice this. Another process's
/// change of a credential is thus seen within 100 ms here, well inside the
/// caller cache's own 5 s (`app::caches::TTL`). Measured (BENCHMARKS.md,
/// sign-in surge): 50 ms kept more of the token index's leaves cached than
/// 10 ms, and the sign-in cost 8 % less CPU.
pub const RECENT: Duration = Duration::from_millis(50);

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Commits over the writer connection between two passive checkpoints.
pub const CHECKPOINT_EVERY: u64 = 16;

/// Direct connections to one SQLite file.
pub struct Direct {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    /// Readers of [`Direct::read_recent`], maybe inside a read transaction.
    recent: Arc<Mutex<Vec<Recent>>>,
    /// Bumped by [`Direct::credentials_changed`]: a snapshot taken under
    /// an older value is not reused.
    generation: AtomicU64,
    /// The thread that ends idle read transactions of `recent`.
    sweeper: Background,
    /// Set when the sweeper has been woken and has not swept since.
    sweep_armed: Arc<AtomicBool>,
    writer: Mutex<Option<Connection>>,
    commits: AtomicU64,
    /// The checkpoint thread (started with the first checkpoint; it ends
    /// when this is dropped).
    checkpointer: Background,
    checkpoints: Arc<AtomicU64>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").field("path", &self.path).finish()
    }
}

/// A reader of [`Direct::read_recent`]: when it is inside a read
/// transaction, since when and under which generation.
struct Recent {
    conn: Connection,
    began: Instant,
    generation: u64,
}

impl Recent {
    /// Ends the read transaction, if one is open.
    fn end(&mut self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A thread of its own, started by the first wake-up, that waits for
/// wake-ups on a channel; a wake-up while one is pending is dropped, and
/// the thread ends when this is dropped (its channel closes).
#[derive(Default)]
struct Background(Mutex<Option<SyncSender<()>>>);

impl Background {
    /// Wakes the thread; the first time, starts it as `name` running the
    /// loop `make` builds. False when it could not be started.
    fn wake<B>(&self, name: &str, make: impl FnOnce() -> B) -> bool
    where
        B: FnOnce(Receiver<()>) + Send + 'static,
    {
        let mut slot = relock(&self.0);
        if slot.is_none() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
            let body = make();
            match std::thread::Builder::new()
                .name(name.into())
                .spawn(move || body(rx))
            {
                Ok(_) => *slot = Some(tx),
                Err(e) => {
                    tracing::warn!(error = %e, thread = name, "cannot start a background thread");
                    return false;
                }
            }
        }
        if let Some(tx) = slot.as_ref()
            && let Err(TrySendError::Disconnected(())) = tx.try_send(())
        {
            // The thread ended early (the checkpointer could not open the
            // file): the next wake-up starts another.
            *slot = None;
        }
        true
    }
}

impl Direct {
    /// Direct connections to the SQLite file at `path` (which the pool has
    /// created and put in WAL mode); connections open on first use.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            recent: Arc::default(),
            generation: AtomicU64::new(0),
            sweeper: Background::default(),
            sweep_armed: Arc::default(),
            writer: Mutex::new(None),
            commits: AtomicU64::new(0),
            checkpointer: Background::default(),
            checkpoints: Arc::default(),
        }
    }

    /// The file these connections open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Passive checkpoints run so far by the checkpoint thread.
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints.load(Ordering::Relaxed)
    }

    /// Runs the read `f` on a pooled connection, on this thread. For
    /// reads of a few rows by an index only: an async caller runs it on
    /// its executor thread.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let taken = relock(&self.readers).pop();
        let conn = match taken {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let out = f(&conn);
        // A connection left inside a transaction (it cannot be, with
        // reads only, but then it must not be reused) is dropped.
        if conn.is_autocommit() {
            let mut pool = relock(&self.readers);
            if pool.len() < READERS_KEPT {
                pool.push(conn);
            }
        }
        out
    }

    /// Runs the read `f` like [`Direct::read`], but inside a read
    /// transaction that may have begun up to [`RECENT`] earlier (on
    /// another call), so the B-tree pages it touches are still in the
    /// connection's cache. What `f` sees may thus miss the last few
    /// milliseconds of commits: use it only where a caller re-checks a
    /// negative answer with [`Direct::read`] and where this process calls
    /// [`Direct::credentials_changed`] after each write that must be seen
    /// at once.
    pub fn read_recent<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let generation = self.generation.load(Ordering::Acquire);
        let taken = relock(&self.recent).pop();
        let mut r = match taken {
            Some(r) => r,
            None => Recent {
                conn: open(&self.path)?,
                began: Instant::now(),
                generation,
            },
        };
        if !r.conn.is_autocommit() && (r.generation != generation || r.began.elapsed() >= RECENT) {
            r.end()?;
        }
        if r.conn.is_autocommit() {
            r.conn.execute_batch("BEGIN")?;
            r.began = Instant::now();
            r.generation = generation;
        }
        let out = f(&r.conn);
        // After a failed read the transaction ends; a reader that cannot
        // end it, or that the pool has no room for, is closed (closing
        // ends its transaction).
        let keep = out.is_ok() || r.end().is_ok();
        let mut left_open = false;
        if keep {
            let mut pool = relock(&self.recent);
            if pool.len() < READERS_KEPT {
                left_open = !r.conn.is_autocommit();
                pool.push(r);
            }
        }
        if left_open {
            self.wake_sweeper();
        }
        out
    }

    /// This process changed users, grants, tokens, sessions or
    /// organizations: no read of [`Direct::read_recent`] from now on uses a
    /// snapshot taken before.
    pub fn credentials_changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Read transactions of [`Direct::read_recent`] open at this moment
    /// (in pooled readers; for tests).
    pub fn recent_open(&self) -> usize {
        relock(&self.recent)
            .iter()
            .filter(|r| !r.conn.is_autocommit())
            .count()
    }

    /// Starts the sweeper thread the first time; wakes it. The sweeper
    /// ends the read transactions left open in idle readers once they are
    /// [`RECENT`] old: an open snapshot would keep checkpoints from
    /// reaching the end of the WAL.
    fn wake_sweeper(&self) {
        // A reader left its transaction open before this; the sweeper
        // clears the flag before it sweeps, so either it sees that
        // transaction or this sends it a wake-up.
        if self.sweep_armed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (pool, armed) = (Arc::downgrade(&self.recent), self.sweep_armed.clone());
        let started = self.sweeper.wake("dangjian-sweeper", || {
            move |rx: Receiver<()>| {
                while rx.recv().is_ok() {
                    loop {
                        std::thread::sleep(RECENT);
                        let Some(pool) = pool.upgrade() else { return };
                        armed.store(false, Ordering::Release);
                        let mut open = false;
                        for r in relock(&pool).iter_mut() {
                            if r.conn.is_autocommit() {
                                continue;
                            }
                            if r.began.elapsed() >= RECENT {
                                if let Err(e) = r.end() {
                                    tracing::warn!(error = %e, "cannot end a read transaction");
                                }
                            } else {
                                open = true;
                            }
                        }
                        if !open {
                            break;
                        }
                    }
                }
            }
        });
        if !started {
            self.sweep_armed.store(false, Ordering::Release);
        }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer
    /// connection: committed when `f` returns `Ok`, rolled back when it
    /// returns an error. Blocks until SQLite's write lock is free (the
    /// busy timeout, 30 s); async callers run it in `spawn_blocking`.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = relock(&self.writer);
        writer_of(&mut slot, &self.path)?.execute_batch("BEGIN IMMEDIATE")?;
        self.finish(slot, f)
    }

    /// Like [`Direct::write`], but never waits: `Ok(None)` when the writer
    /// connection is in use or SQLite's write lock is held elsewhere.
    pub fn try_write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut slot = match self.writer.try_lock() {
            Ok(s) => s,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(None),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        };
        let conn = writer_of(&mut slot, &self.path)?;
        let began = conn
            .busy_timeout(Duration::ZERO)
            .and_then(|()| conn.execute_batch("BEGIN IMMEDIATE"));
        if let Err(e) = conn.busy_timeout(BUSY_TIMEOUT) {
            // Closing the connection ends what began and forgets the zero
            // timeout; the next write opens a fresh one.
            *slot = None;
            return Err(e.into());
        }
        match began {
            Ok(()) => self.finish(slot, f).map(Some),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `f` in the transaction begun on the writer in `slot`, commits
    /// it or rolls it back (a writer that cannot roll back is closed),
    /// releases the writer, and counts the commit towards the next
    /// checkpoint.
    fn finish<T>(
        &self,
        mut slot: MutexGuard<'_, Option<Connection>>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(conn) = slot.as_ref() else {
            return Err(StoreError::Corrupt("no writer connection".into()));
        };
        let out = f(conn).and_then(|v| Ok(conn.execute_batch("COMMIT").map(|()| v)?));
        if !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "cannot roll back; the writer connection is closed");
            *slot = None;
        }
        drop(slot);
        let out = out?;
        if self.commits.fetch_add(1, Ordering::Relaxed) % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            self.wake_checkpointer();
        }
        Ok(out)
    }

    /// Asks the checkpoint thread for a passive checkpoint (starting it the
    /// first time); a request while one is pending is dropped.
    fn wake_checkpointer(&self) {
        self.checkpointer.wake("dangjian-checkpoint", || {
            let (path, done) = (self.path.clone(), self.checkpoints.clone());
            move |rx: Receiver<()>| {
                let conn = match open(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "checkpoint thread: cannot open the database");
                        return;
                    }
                };
                while rx.recv().is_ok() {
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        Ok(()) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tracing::warn!(error = %e, "passive checkpoint failed"),
                    }
                }
            }
        });
    }
}

/// The writer connection in `slot`, opened on first use (the pool's
/// settings, no automatic checkpoint); a transaction that a panicking
/// closure left open is rolled back first.
fn writer_of<'a>(
    slot: &'a mut Option<Connection>,
    path: &Path,
) -> Result<&'a Connection, StoreError> {
    if slot.is_none() {
        let c = open(path)?;
        c.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        *slot = Some(c);
    }
    let Some(conn) = slot.as_ref() else {
        return Err(StoreError::Corrupt("no writer connection".into()));
    };
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(conn)
}

/// A connection to the file at `path` with the pool's settings (db.rs).
fn open(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The pool's settings (db.rs), with a smaller page cache: these
    // connections read and write a few rows at a time.
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -16384; PRAGMA temp_store = memory;",
    )?;
    c.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
    Ok(c)
}

/// A UTC instant as sqlx stores it in SQLite: RFC 3339 text with as many
/// fraction digits as needed and a `+00:00` offset (`SecondsFormat::AutoSi`).
/// Text order is time order only between values of this one format.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Reads a stored instant: RFC 3339 first (what sqlx writes), then the
/// other forms SQLite's own date functions produce.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%F %T%.f%:z", "%FT%T%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for f in ["%F %T%.f", "%FT%T%.f", "%F %R", "%FT%R"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

/// A stored instant, read or bound in sqlx's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

impl FromSql for Time {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        parse_time(s)
            .map(Time)
            .ok_or_else(|| FromSqlError::Other(format!("not a time: {s:?}").into()))
    }
}

impl ToSql for Time {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(time_text(self.0)))
    }
}

/// A stored calendar date (`YYYY-MM-DD`, sqlx's format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl FromSql for Day {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        NaiveDate::parse_from_str(s, "%F")
            .map(Day)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_as_sqlx_writes_them_and_read_back() {
        let whole = Utc
            .with_ymd_and_hms(2026, 11, 29, 2, 0, 0)
            .single()
            .expect("instant");
        assert_eq!(time_text(whole), "2026-11-29T02:00:00+00:00");
        let fine = whole + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(time_text(fine), "2026-11-29T02:00:00.123456789+00:00");
        for t in [whole, fine] {
            assert_eq!(parse_time(&time_text(t)), Some(t));
        }
        assert_eq!(parse_time("2026-11-29 02:00:00"), Some(whole));
        assert_eq!(parse_time("2026-11-29 10:00:00+08:00"), Some(whole));
        assert_eq!(parse_time("yesterday"), None);
    }
}
