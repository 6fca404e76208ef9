//! Archive ledger story (issue 4, first slice) on the backend the environment
//! selects: registrations, roster imports and demo seeding append leaves in
//! their own transaction; the archive verifies; a `member_events` or
//! `members` row edited, added or deleted with raw SQL is reported by record
//! and leaf index; proofs and checkpoints check out with the `ledger` crate's
//! independent verifiers.

mod common;

use std::sync::Arc;

use common::*;
use dangjian_app::roster::RosterFormat;
use dangjian_app::{App, AppError, FixedClock, Keyring};
use dangjian_domain::identity::Role;
use dangjian_ledger::{Checkpoint, Verifier, leaf_hash, verify_consistency, verify_inclusion};
use sea_orm::ConnectionTrait;

async fn exec(app: &App, sql: &str) {
    app.db.conn.execute_unprepared(sql).await.expect(sql);
}

async fn registered(fx: &Fixture, n: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    for s in 0..n {
        let org = if s % 2 == 0 { BRANCH_A } else { BRANCH_B };
        ids.push(fx.register(org, draft(700 + s)).await.id);
    }
    ids
}

#[tokio::test]
async fn registrations_and_imports_verify() {
    let fx = Fixture::new().await;
    registered(&fx, 5).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let csv = dangjian_app::demo::roster_csv(30, 7, fx.app.today());
    let report = fx
        .app
        .import_roster(&sec_a, BRANCH_A, RosterFormat::Csv, csv.as_bytes(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.imported, 30, "{:?}", report.errors);
    fx.app.ledger_checkpoint().await.unwrap();
    let v = fx.app.ledger_verify().await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.size, 35);
    assert_eq!(v.checkpoints, 1);
}

#[tokio::test]
async fn edited_event_row_is_named_with_its_leaf() {
    let fx = Fixture::new().await;
    let ids = registered(&fx, 4).await;
    fx.app.ledger_checkpoint().await.unwrap();
    assert!(fx.app.ledger_verify().await.unwrap().ok);

    // Move the third member's registration event to another time.
    exec(
        &fx.app,
        &format!(
            "UPDATE member_events SET org_id = org_id + 1 WHERE member_id = {}",
            ids[2]
        ),
    )
    .await;
    let v = fx.app.ledger_verify().await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    let p = &v.problems[0];
    assert_eq!(p.code, "record_edited");
    assert_eq!(p.leaf_index, Some(2));
    assert!(
        p.record
            .as_deref()
            .is_some_and(|r| r.starts_with("member_events#"))
    );
}

#[tokio::test]
async fn edited_member_row_is_named() {
    let fx = Fixture::new().await;
    let ids = registered(&fx, 3).await;
    exec(
        &fx.app,
        &format!("UPDATE members SET name = '王五' WHERE id = {}", ids[1]),
    )
    .await;
    let v = fx.app.ledger_verify().await.unwrap();
    assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
    assert_eq!(v.problems[0].code, "member_edited");
    assert_eq!(
        v.problems[0].record.as_deref(),
        Some(format!("members#{}", ids[1]).as_str())
    );
    assert_eq!(v.problems[0].leaf_index, Some(1));
}

#[tokio::test]
async fn deleted_and_added_rows_are_caught() {
    let fx = Fixture::new().await;
    let ids = registered(&fx, 3).await;
    exec(
        &fx.app,
        &format!("DELETE FROM member_events WHERE member_id = {}", ids[0]),
    )
    .await;
    let v = fx.app.ledger_verify().await.unwrap();
    assert!(!v.ok);
    assert!(
        v.problems
            .iter()
            .any(|p| p.code == "record_deleted" && p.leaf_index == Some(0)),
        "{:?}",
        v.problems
    );

    // A second event written behind the application's back.
    exec(
        &fx.app,
        &format!(
            "INSERT INTO member_events (member_id, org_id, at, kind, actor_user_id, detail_enc) \
             SELECT member_id, org_id, at, 'transferred', NULL, detail_enc FROM member_events WHERE member_id = {}",
            ids[1]
        ),
    )
    .await;
    let v = fx.app.ledger_verify().await.unwrap();
    assert!(
        v.problems.iter().any(|p| p.code == "record_added"),
        "{:?}",
        v.problems
    );
}

#[tokio::test]
async fn tampered_leaf_or_node_breaks_the_tree_and_checkpoints() {
    let fx = Fixture::new().await;
    registered(&fx, 3).await;
    fx.app.ledger_checkpoint().await.unwrap();
    registered_more(&fx).await;
    fx.app.ledger_checkpoint().await.unwrap();
    assert!(fx.app.ledger_verify().await.unwrap().ok);

    // Rewrite history: drop the last leaf and its nodes.
    exec(&fx.app, "DELETE FROM ledger_leaves WHERE leaf_index = 3").await;
    let v = fx.app.ledger_verify().await.unwrap();
    let codes: Vec<&str> = v.problems.iter().map(|p| p.code).collect();
    assert!(codes.contains(&"checkpoint_beyond_log"), "{codes:?}");
    assert!(codes.contains(&"record_added"), "{codes:?}");
}

async fn registered_more(fx: &Fixture) {
    fx.register(BRANCH_B, draft(799)).await;
}

#[tokio::test]
async fn proofs_verify_against_the_served_checkpoint() {
    let fx = Fixture::new().await;
    registered(&fx, 3).await;
    let auditor = fx.user(Role::Auditor, PROVINCE).await;
    let first = fx.app.ledger_latest_checkpoint(&auditor).await.unwrap();
    registered_more(&fx).await;
    registered_more_many(&fx, 3).await;
    let note = fx.app.ledger_latest_checkpoint(&auditor).await.unwrap();
    let vkey = fx.app.ledger_key(&auditor).await.unwrap();
    let verifier = Verifier::from_vkey(&vkey).unwrap();
    let (old, _, _) = Checkpoint::open(&first, &verifier).unwrap();
    let (cp, _, _) = Checkpoint::open(&note, &verifier).unwrap();
    assert_eq!(cp.origin(), "dangjian/SX");
    assert_eq!(cp.size(), 7);

    for i in 0..cp.size() {
        let entry = fx.app.ledger_entry(&auditor, i).await.unwrap();
        use base64::Engine as _;
        let leaf = base64::engine::general_purpose::STANDARD
            .decode(&entry.leaf)
            .unwrap();
        assert!(entry.event.is_some(), "the auditor sees the event");
        let proof = fx
            .app
            .ledger_inclusion_proof(&auditor, i, cp.size())
            .await
            .unwrap();
        verify_inclusion(&leaf_hash(&leaf), i, cp.size(), &proof, cp.root()).unwrap();
    }
    let proof = fx
        .app
        .ledger_consistency_proof(&auditor, old.size(), cp.size())
        .await
        .unwrap();
    verify_consistency(old.size(), cp.size(), old.root(), cp.root(), &proof).unwrap();

    // Bad parameters name their field; other roles are refused.
    let e = fx
        .app
        .ledger_inclusion_proof(&auditor, 9, 7)
        .await
        .unwrap_err();
    assert_eq!(fields_of(Err::<(), _>(e)), vec!["index"]);
    let e = fx
        .app
        .ledger_consistency_proof(&auditor, 1, 99)
        .await
        .unwrap_err();
    assert_eq!(fields_of(Err::<(), _>(e)), vec!["size"]);
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    assert!(matches!(
        fx.app.ledger_latest_checkpoint(&sec).await,
        Err(AppError::Forbidden)
    ));

    // Tiles: level-0 partial tile is the leaf hashes; the entry bundle holds the leaves.
    let tile = fx
        .app
        .ledger_tile(&auditor, "tile/0/000.p/7")
        .await
        .unwrap();
    assert_eq!(tile.len(), 7 * 32);
    let bundle = fx
        .app
        .ledger_tile(&auditor, "tile/entries/000.p/7")
        .await
        .unwrap();
    let entries = dangjian_ledger::tiles::decode_entry_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 7);
    assert_eq!(&tile[..32], leaf_hash(&entries[0]).as_slice());
    assert!(matches!(
        fx.app.ledger_tile(&auditor, "tile/0/000").await,
        Err(AppError::NotFound(_))
    ));
}

async fn registered_more_many(fx: &Fixture, n: u32) {
    for s in 0..n {
        fx.register(BRANCH_A, draft(820 + s)).await;
    }
}

#[tokio::test]
async fn demo_archive_verifies_and_key_file_is_private() {
    let tdb = TestDb::new().await;
    let mut app = App::new(
        tdb.db.clone(),
        Keyring::generate().unwrap(),
        Arc::new(FixedClock::new(fixture_now())),
    );
    let dir = std::env::temp_dir().join(format!("dj-ledger-key-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key_file = dir.join("ledger.key");
    app.config_mut().ledger_key_file = Some(key_file.clone());
    app.seed_demo(300, &|_| {}).await.unwrap();
    let v = app.ledger_verify().await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.size, 300);
    assert_eq!(v.checkpoints, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_append_one_after_the_other() {
    // On SQLite the app's write gate queues writers (one writer at a time);
    // on PostgreSQL an advisory lock orders the appends.
    let fx = Fixture::new().await;
    let mut tasks = Vec::new();
    for s in 0..8u32 {
        let app = fx.app.clone();
        let sys = fx.sys.clone();
        tasks.push(tokio::spawn(async move {
            app.register_member(&sys, BRANCH_A, draft(900 + s)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let v = fx.app.ledger_verify().await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.size, 8);
}

#[tokio::test]
async fn a_public_ledger_serves_anyone_but_never_the_events() {
    let mut fx = Fixture::new().await;
    registered(&fx, 2).await;
    let anyone = dangjian_app::ledger::public_reader();
    assert!(matches!(
        fx.app.ledger_entry(&anyone, 0).await,
        Err(AppError::Forbidden)
    ));
    fx.app.config_mut().ledger_public = true;
    let note = fx.app.ledger_latest_checkpoint(&anyone).await.unwrap();
    assert!(note.starts_with("dangjian/SX\n2\n"), "{note}");
    let e = fx.app.ledger_entry(&anyone, 1).await.unwrap();
    assert!(e.event.is_none());
    assert_eq!(e.event_type, "member.registered");
}

#[tokio::test]
async fn a_members_history_verifies_against_the_latest_checkpoint() {
    let fx = Fixture::new().await;
    let ids = registered(&fx, 3).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    // Logged but not yet in a checkpoint.
    let s = fx.app.ledger_member_status(&sec_a, ids[0]).await.unwrap();
    assert!(!s.verified);
    assert_eq!(s.events[0].status, "pending");
    fx.app.ledger_checkpoint().await.unwrap();
    let s = fx.app.ledger_member_status(&sec_a, ids[0]).await.unwrap();
    assert!(s.verified, "{s:?}");
    assert_eq!(s.checkpoint_size, 3);
    assert_eq!(s.events[0].leaf_index, Some(0));
    // Branch B's member is out of branch A's secretary's reach.
    assert!(matches!(
        fx.app.ledger_member_status(&sec_a, ids[1]).await,
        Err(AppError::NotFound(_))
    ));
    exec(
        &fx.app,
        &format!(
            "UPDATE members SET is_mobile = NOT is_mobile WHERE id = {}",
            ids[2]
        ),
    )
    .await;
    let s = fx.app.ledger_member_status(&fx.sys, ids[2]).await.unwrap();
    assert!(!s.verified && !s.row_matches);
}
