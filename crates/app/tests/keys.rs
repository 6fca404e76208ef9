//! Key rotation through the use case (issue 5, item 5) on SQLite or, with
//! `DANGJIAN_TEST_DATABASE_URL`, PostgreSQL: values re-encrypted under the
//! new key read back the same, members get a `fields_reencrypted` event and
//! the ledger verifies, the old key is retired; the rotation's column list
//! is every `_enc` column of the schema.

mod common;

use std::time::Duration;

use common::*;
use dangjian_app::keys::{ENCRYPTED_COLUMNS, EVENT_REENCRYPTED, RotateOptions};
use dangjian_app::{App, Keyring};
use sea_orm::{ConnectionTrait, Statement};

/// The `_enc` columns the database itself has.
async fn schema_enc_columns(app: &App) -> Vec<(String, String)> {
    let sql = if TestDb::is_sqlite() {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND substr(p.name, -4) = '_enc' ORDER BY 1, 2"
    } else {
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name LIKE '%\\_enc' ORDER BY 1, 2"
    };
    let b = app.db.conn.get_database_backend();
    app.db
        .conn
        .query_all_raw(Statement::from_string(b, sql))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap()))
        .collect()
}

#[tokio::test]
async fn the_rotation_covers_every_encrypted_column_of_the_schema() {
    let fx = Fixture::new().await;
    let mut listed: Vec<(String, String)> = ENCRYPTED_COLUMNS
        .iter()
        .map(|c| (c.table.to_string(), c.column.to_string()))
        .collect();
    listed.sort();
    assert_eq!(schema_enc_columns(&fx.app).await, listed);
}

#[tokio::test]
async fn rotate_keys_reencrypts_members_with_an_archive_event_and_retires_the_old_key() {
    let fx = Fixture::new().await;
    let mut ids = Vec::new();
    for seq in 1..=9 {
        ids.push(fx.register(BRANCH_A, draft(seq)).await.id);
    }
    // The fixture's keyring, written to a key file the rotation can update.
    let dir = std::env::temp_dir().join(format!("dj-rotate-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.json");
    fx.app.keys.save(&path).unwrap();
    let app = App::new(
        fx.tdb.db.clone(),
        Keyring::load_or_create(&path).unwrap(),
        fx.clock.clone(),
    );
    let old = app.keys.active_key_id();
    let before: Vec<_> = {
        let mut v = Vec::new();
        for id in &ids {
            let d = app.member_detail(&fx.sys, *id).await.unwrap();
            v.push((d.id_number, d.phone));
        }
        v
    };
    let opts = RotateOptions {
        batch: 4,
        settle: Duration::ZERO,
        ..Default::default()
    };
    // A second rotation on the same key file is refused while one runs.
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".keys.json.rotate.lock"))
        .unwrap();
    held.lock().unwrap();
    let busy = app.rotate_keys(&opts, &|_| {}).await.unwrap_err();
    assert!(busy.to_string().contains("another key rotation"), "{busy}");
    assert_eq!(app.keys.key_ids(), vec![old.clone()]);
    drop(held);
    let r = app.rotate_keys(&opts, &|_| {}).await.unwrap();
    assert!(r.new_key);
    assert_ne!(r.active_key, old);
    assert_eq!(r.retired, vec![old.clone()]);
    assert_eq!(r.member_events, 9);
    assert_eq!(r.reencrypted["members"], 18);
    for c in app.key_usage().await.unwrap() {
        assert!(
            c.by_key.keys().all(|k| *k == r.active_key),
            "{}.{}: {:?}",
            c.table,
            c.column,
            c.by_key
        );
    }
    assert_eq!(app.keys.key_ids(), vec![r.active_key.clone()]);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&old));
    for (id, want) in ids.iter().zip(&before) {
        let d = app.member_detail(&fx.sys, *id).await.unwrap();
        assert_eq!(&(d.id_number, d.phone), want);
        assert_eq!(
            d.events.last().map(|e| e.kind.as_str()),
            Some(EVENT_REENCRYPTED)
        );
        let detail = &d.events.last().unwrap().detail;
        assert_eq!(detail["to_key"], r.active_key.as_str());
        assert_eq!(detail["from_keys"], serde_json::json!([old]));
    }
    let found = app
        .search_by_id_number(&fx.sys, &before[0].0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let report = app.ledger_verify().await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    // The fixture's app still holds only the retired key: values under the
    // new key are unreadable to it (it has no key file to reread).
    assert!(fx.app.member_detail(&fx.sys, ids[0]).await.is_err());
    std::fs::remove_dir_all(dir).ok();
}
