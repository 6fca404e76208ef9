//! SQLite write transactions take the write lock at `BEGIN` (issue 5, the
//! 200-client load test): a writer outside the in-process gate — a single
//! autocommit statement such as opening a session, or another process —
//! that commits while a gated transaction is between its first read and
//! its first write must not make that transaction fail with
//! `SQLITE_BUSY_SNAPSHOT` ("database is locked", a 500 to the user). The
//! outside writer waits for the lock instead, and both land.

mod common;

use std::time::Duration;

use common::*;
use dangjian_domain::identity::Role;
use dangjian_store::repo::members as mrepo;

#[tokio::test]
async fn a_writer_outside_the_gate_waits_instead_of_breaking_a_transaction() {
    if !TestDb::is_sqlite() {
        return; // PostgreSQL has no such failure: row locks, not a file lock.
    }
    let f = Fixture::new().await;
    let member = f.register(BRANCH_A, draft(1)).await;
    let secretary = f.user(Role::Secretary, BRANCH_A).await;
    let app = f.app.clone();

    let (guard, tx) = f.app.begin_write().await.expect("begin");
    // The transaction reads first ...
    mrepo::get(&tx, member.id)
        .await
        .expect("read")
        .expect("member");
    // ... while another connection writes outside the gate.
    let outside = tokio::spawn(async move { app.open_session(&secretary).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Then it writes and commits: with a deferred BEGIN this failed with
    // code 517 once the outside write had committed.
    let mut am: dangjian_store::entities::member::ActiveModel = mrepo::get(&tx, member.id)
        .await
        .expect("read")
        .expect("member")
        .into();
    am.education = sea_orm::Set(Some("university".into()));
    sea_orm::ActiveModelTrait::update(am, &tx)
        .await
        .expect("the write inside the transaction");
    tx.commit().await.expect("commit");
    drop(guard);
    let session = outside.await.expect("task");
    assert!(session.is_ok(), "{session:?}");
}
