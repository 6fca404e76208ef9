//! The direct SQLite connections (`store::direct`) against the pool on the
//! same file: a SQLite file gets them and an in-memory database does not;
//! instants written on one side read back exactly on the other and compare
//! in the same order in SQL; a failed write leaves nothing; `try_write`
//! gives up at once when another connection holds the write lock; the writer's
//! commits are checkpointed by the checkpoint thread; recent reads reuse a
//! snapshot for at most `RECENT`, never across `credentials_changed`, and
//! the sweeper ends the ones left open. SQLite only: the
//! direct connections exist for SQLite files alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use dangjian_store::direct::{CHECKPOINT_EVERY, RECENT, Time};
use dangjian_store::rusqlite::params;
use dangjian_store::sea_orm::{ConnectionTrait, DbBackend, Statement};
use dangjian_store::{Db, StoreError};

fn instant(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + secs, nanos)
        .single()
        .expect("instant")
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "dangjian-direct-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn file_db() -> (Db, TempDir) {
    let dir = TempDir::new();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url).await.expect("open");
    db.conn
        .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        .await
        .expect("table");
    (db, dir)
}

fn count(c: &dangjian_store::rusqlite::Connection) -> Result<i64, StoreError> {
    Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
}

#[tokio::test]
async fn only_a_sqlite_file_gets_direct_connections() {
    let (db, dir) = file_db().await;
    let d = db.direct.as_ref().expect("direct connections");
    assert_eq!(d.path(), dir.path().join("t.db"));
    let mem = Db::connect("sqlite::memory:").await.expect("memory");
    assert!(mem.direct.is_none());
}

#[tokio::test]
async fn instants_cross_between_the_pool_and_the_direct_connections() {
    let (db, _dir) = file_db().await;
    let d = db.direct.clone().expect("direct connections");
    let whole = instant(0, 0);
    let fine = instant(1, 123_456_789);
    // Written through the pool (sqlx encodes the instant) …
    db.conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (id, at) VALUES (1, ?)",
            [fine.into()],
        ))
        .await
        .expect("pool insert");
    // … and through the direct writer.
    d.write(|c| {
        c.execute("INSERT INTO t (id, at) VALUES (2, ?)", params![Time(whole)])?;
        Ok(())
    })
    .expect("direct insert");
    // Each side reads both exactly, and the text is the same format: SQL
    // orders them in time.
    let direct: Vec<(i64, DateTime<Utc>)> = d
        .read(|c| {
            let mut st = c.prepare("SELECT id, at FROM t ORDER BY at")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, Time>(1)?.0)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .expect("direct read");
    assert_eq!(direct, vec![(2, whole), (1, fine)]);
    let pool = db
        .conn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT id, at FROM t ORDER BY at",
        ))
        .await
        .expect("pool read");
    let pool: Vec<(i64, DateTime<Utc>)> = pool
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("id"),
                r.try_get_by_index(1).expect("at"),
            )
        })
        .collect();
    assert_eq!(pool, direct);
}

#[tokio::test]
async fn a_failed_direct_write_leaves_nothing() {
    let (db, _dir) = file_db().await;
    let d = db.direct.clone().expect("direct connections");
    let r: Result<(), StoreError> = d.write(|c| {
        c.execute("INSERT INTO t (id, at) VALUES (1, 'x')", [])?;
        // The same key again: the whole transaction is rolled back.
        c.execute("INSERT INTO t (id, at) VALUES (1, 'y')", [])?;
        Ok(())
    });
    assert!(matches!(r, Err(StoreError::Sqlite(_))), "{r:?}");
    let n = d.read(count).expect("count");
    assert_eq!(n, 0);
    // The writer is usable afterwards.
    insert(&d, 1);
    assert_eq!(d.read(count).expect("count"), 1);
}

#[tokio::test]
async fn the_writers_commits_are_checkpointed_in_the_background() {
    let (db, _dir) = file_db().await;
    let d = db.direct.clone().expect("direct connections");
    for i in 0..CHECKPOINT_EVERY as i64 {
        d.write(|c| {
            c.execute(
                "INSERT INTO t (id, at) VALUES (?, ?)",
                params![i, Time(instant(i, 0))],
            )?;
            Ok(())
        })
        .expect("write");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.checkpoints() == 0 {
        assert!(Instant::now() < deadline, "no checkpoint ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Everything written is still there.
    let n = d.read(count).expect("count");
    assert_eq!(n, CHECKPOINT_EVERY as i64);
}

#[tokio::test]
async fn try_write_commits_never_waits_and_a_failure_leaves_nothing() {
    let (db, dir) = file_db().await;
    let d = db.direct.clone().expect("direct connections");
    let put = |id: i64| {
        move |c: &dangjian_store::rusqlite::Connection| -> Result<i64, StoreError> {
            c.execute("INSERT INTO t (id, at) VALUES (?, 'x')", params![id])?;
            count(c)
        }
    };
    assert_eq!(d.try_write(put(1)).expect("free lock"), Some(1));
    // Another process holds SQLite's write lock: no wait, no write.
    let other = dangjian_store::rusqlite::Connection::open(dir.path().join("t.db")).expect("open");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let t = Instant::now();
    assert_eq!(d.try_write(put(2)).expect("busy is no error"), None);
    assert!(t.elapsed() < Duration::from_secs(5), "try_write waited");
    other.execute_batch("COMMIT").expect("unlock");
    // The busy timeout is back for `write`, and the connection is usable.
    assert_eq!(d.try_write(put(2)).expect("free again"), Some(2));
    // A failed transaction is rolled back whole, and the writer goes on.
    let r = d.try_write(|c| {
        c.execute("INSERT INTO t (id, at) VALUES (3, 'x')", [])?;
        c.execute("INSERT INTO t (id, at) VALUES (3, 'y')", [])?;
        Ok(())
    });
    assert!(matches!(r, Err(StoreError::Sqlite(_))), "{r:?}");
    assert_eq!(d.read(count).expect("count"), 2);
    insert(&d, 3);
    assert_eq!(d.read(count).expect("count"), 3);
    // A closure that panics leaves its transaction open on the writer; the
    // next write (either kind) rolls it back and goes on.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = d.try_write(|c| -> Result<(), StoreError> {
            c.execute("INSERT INTO t (id, at) VALUES (4, 'x')", [])?;
            panic!("in the middle of a write");
        });
    }));
    assert!(panicked.is_err());
    insert(&d, 5);
    assert_eq!(d.try_write(put(6)).expect("after a panic"), Some(5));
    let ids: Vec<i64> = d
        .read(|c| {
            let mut st = c.prepare("SELECT id FROM t ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .expect("ids");
    assert_eq!(ids, vec![1, 2, 3, 5, 6], "the panicked insert is gone");
}

fn insert(d: &dangjian_store::direct::Direct, id: i64) {
    d.write(|c| {
        c.execute("INSERT INTO t (id, at) VALUES (?, 'x')", params![id])?;
        Ok(())
    })
    .expect("write");
}

#[tokio::test]
async fn recent_reads_reuse_a_snapshot_briefly_and_never_across_a_credential_change() {
    let (db, _dir) = file_db().await;
    let d = db.direct.clone().expect("direct connections");
    insert(&d, 1);
    let began = Instant::now();
    assert_eq!(d.read_recent(count).expect("recent"), 1);
    assert_eq!(d.recent_open(), 1, "the read transaction stays open");
    insert(&d, 2);
    // A plain read always sees the last commit.
    assert_eq!(d.read(count).expect("read"), 2);
    let seen = d.read_recent(count).expect("recent");
    if began.elapsed() < RECENT {
        // Within RECENT the same snapshot answers: the page cache is kept.
        assert_eq!(seen, 1, "a recent read reuses its snapshot");
    }
    // After a change of credentials, no snapshot from before is used.
    d.credentials_changed();
    assert_eq!(d.read_recent(count).expect("recent"), 2);
    // Nor one older than RECENT.
    insert(&d, 3);
    std::thread::sleep(RECENT);
    assert_eq!(d.read_recent(count).expect("recent"), 3);
    // The sweeper ends idle read transactions, so checkpoints can reach
    // the end of the WAL.
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.recent_open() > 0 {
        assert!(
            Instant::now() < deadline,
            "the read transaction stayed open"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A failed read leaves no transaction behind.
    let r = d.read_recent(|c| Ok(c.query_row("SELECT nope FROM t", [], |r| r.get::<_, i64>(0))?));
    assert!(matches!(r, Err(StoreError::Sqlite(_))), "{r:?}");
    assert_eq!(d.recent_open(), 0);
}
