//! `dangjian keys rotate` (issue 5, item 5), end to end on the binary: after
//! a rotation no value of any encrypted column of the schema is under the
//! old key (the columns are read from SQLite's catalog, not from the
//! rotation's own list, and each holds a value, so a skipped table fails),
//! every value decrypts to what it was, members read back the same through
//! the app, blind-index search still finds them, the ledger verifies and the
//! key file no longer holds the old key. Both suites; an interrupted
//! rotation is finished by a rerun; a rotation against a running server.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use dangjian_app::{Actor, App, Db, Keyring, SystemClock};
use dangjian_store::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use support::{Server, TempDir, bin, demo, http_get, http_send, ledger_verify, token};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The app on a data directory, its keyring loaded from the key file (so it
/// rereads the file when the CLI rotates).
async fn open_app(data: &str) -> App {
    let db = Db::connect(&format!(
        "sqlite://{}",
        Path::new(data).join("dangjian.db").display()
    ))
    .await
    .expect("open database");
    let keys = Keyring::load_or_create(&Path::new(data).join("keys.json")).expect("keys");
    App::new(db, keys, Arc::new(SystemClock))
}

async fn exec(app: &App, sql: &str, values: Vec<Value>) {
    app.db
        .conn
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Every `_enc` column of the schema, from SQLite's catalog.
async fn schema_enc_columns(app: &App) -> Vec<(String, String)> {
    let rows = app
        .db
        .conn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND substr(p.name, -4) = '_enc' ORDER BY 1, 2",
        ))
        .await
        .expect("catalog");
    let out: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap()))
        .collect();
    assert!(out.len() >= 7, "{out:?}");
    out
}

/// `table.column` → key id → number of values, over every `_enc` column.
async fn stored_key_ids(app: &App) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (t, c) in schema_enc_columns(app).await {
        let rows = app
            .db
            .conn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("SELECT \"{c}\" AS v FROM \"{t}\" WHERE \"{c}\" IS NOT NULL"),
            ))
            .await
            .expect("read column");
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for r in rows {
            let v: Vec<u8> = r.try_get("", "v").unwrap();
            let id = Keyring::key_id_of(&v).unwrap_or("?").to_string();
            *by.entry(id).or_default() += 1;
        }
        out.insert(format!("{t}.{c}"), by);
    }
    out
}

/// A value written straight into a column the demo data leaves empty.
struct Seeded {
    table: &'static str,
    column: &'static str,
    aad: &'static str,
    plain: String,
}

/// Puts a value in every encrypted column the demo leaves empty (a TOTP
/// secret, an admission step, a dues base, a transfer letter, an admission
/// material's scan), encrypted
/// with the current key as the app would.
async fn seed_every_column(app: &App) -> Vec<Seeded> {
    let seeded = vec![
        Seeded {
            table: "users",
            column: "totp_secret_enc",
            aad: dangjian_app::totp::AAD_TOTP,
            plain: "JBSWY3DPEHPK3PXP-secret".into(),
        },
        Seeded {
            table: "workflow_entries",
            column: "detail_enc",
            aad: dangjian_app::admissions::AAD_ENTRY,
            plain: r#"{"note":"talk held"}"#.into(),
        },
        Seeded {
            table: "dues_bases",
            column: "base_enc",
            aad: dangjian_app::dues::AAD_BASE,
            plain: "812345".into(),
        },
        Seeded {
            table: "transfer_letters",
            column: "document_enc",
            aad: dangjian_app::transfers::AAD_DOCUMENT,
            plain: r#"{"letter":"signed"}"#.into(),
        },
        Seeded {
            table: "admission_attachments",
            column: "data_enc",
            aad: dangjian_app::admission_attachments::AAD_ATTACHMENT,
            plain: "%PDF-1.7 scan of the volunteer form".into(),
        },
    ];
    let enc = |s: &Seeded| Value::from(app.keys.encrypt(s.plain.as_bytes(), s.aad).unwrap());
    let now = "2026-11-28 08:00:00+00:00";
    exec(
        app,
        "UPDATE users SET totp_secret_enc = ? WHERE login = 'member_a'",
        vec![enc(&seeded[0])],
    )
    .await;
    exec(
        app,
        "INSERT INTO workflow_entries (instance_id, seq, kind, step_key, actor_user_id, role, at, \
         detail_enc) VALUES (990001, 1, 'step', 'talk', NULL, 'secretary', ?, ?)",
        vec![now.into(), enc(&seeded[1])],
    )
    .await;
    exec(
        app,
        "INSERT INTO dues_bases (member_id, org_id, year, effective_from, category, base_enc, \
         fee_fen, rule, relief, approval_ref, declared_by, created_by, created_at) \
         SELECT id, org_id, 2026, '2026-01-01', 'employed', ?, 4062, 'test', NULL, NULL, \
         'member', NULL, ? FROM members ORDER BY id LIMIT 1",
        vec![enc(&seeded[2]), now.into()],
    )
    .await;
    exec(
        app,
        "INSERT INTO transfer_letters (origin, number, kind, member_id, member_name, \
         member_stage, from_org_id, from_org_code, from_org_name, to_org_id, to_org_code, \
         to_org_name, to_origin, issued_on, valid_until, document_enc, created_at, updated_at) \
         VALUES ('dangjian/GD', 'ZJ-TEST-1', 'outgoing', 1, '测试', 'full', NULL, \
         'GD', '省委', NULL, 'BJ', '北京', 'dangjian/BJ', '2026-11-01', '2027-01-30', ?, ?, ?)",
        vec![enc(&seeded[3]), now.into(), now.into()],
    )
    .await;
    exec(
        app,
        "INSERT INTO admission_attachments (instance_id, kind, filename, content_type, size, \
         sha256, data_enc, uploaded_by, created_at) \
         VALUES (990001, 'volunteer_form', 'scan.pdf', 'application/pdf', 35, 'x', ?, NULL, ?)",
        vec![enc(&seeded[4]), now.into()],
    )
    .await;
    seeded
}

/// Reads each seeded value back and decrypts it with the app's keys.
async fn check_seeded(app: &App, seeded: &[Seeded]) {
    for s in seeded {
        let rows = app
            .db
            .conn
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!(
                    "SELECT \"{}\" AS v FROM \"{}\" WHERE \"{}\" IS NOT NULL",
                    s.column, s.table, s.column
                ),
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{}.{}", s.table, s.column);
        let v: Vec<u8> = rows[0].try_get("", "v").unwrap();
        assert_eq!(
            app.keys.decrypt_str(&v, s.aad).unwrap(),
            s.plain,
            "{}.{}",
            s.table,
            s.column
        );
    }
}

/// Member id → (ID number, phone), read through the app's audited detail.
async fn members_in_clear(app: &App) -> BTreeMap<i64, (String, Option<String>)> {
    let roots = dangjian_store::repo::orgs::roots(&app.db.conn)
        .await
        .unwrap();
    let actor = Actor::system(roots[0].id, "/");
    let rows = app
        .db
        .conn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT id FROM members ORDER BY id",
        ))
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let id: i64 = r.try_get("", "id").unwrap();
        let d = app.member_detail(&actor, id).await.expect("member detail");
        assert!(d.sensitive_visible);
        out.insert(id, (d.id_number, d.phone));
    }
    assert!(!out.is_empty());
    out
}

fn rotate(data: &str, extra: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = bin();
    cmd.args(["keys", "rotate", "--data", data, "--json"])
        .args(extra);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run keys rotate");
    assert!(
        out.status.success(),
        "keys rotate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("rotate prints JSON")
}

fn key_file(data: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(Path::new(data).join("keys.json")).unwrap())
        .unwrap()
}

/// Every value of every `_enc` column is under `key`, and every column holds
/// at least one value (so a table the rotation skipped would show).
fn assert_all_under(usage: &BTreeMap<String, BTreeMap<String, u64>>, key: &str) {
    for (col, by) in usage {
        assert!(!by.is_empty(), "{col} holds no value: seed one");
        assert_eq!(
            by.keys().collect::<Vec<_>>(),
            vec![key],
            "{col} still holds values under another key: {by:?}"
        );
    }
}

/// Checks shared by the tests after a finished rotation to `new`, `old` retired.
async fn check_after(
    data: &str,
    new: &str,
    old: &str,
    before: &BTreeMap<i64, (String, Option<String>)>,
    seeded: &[Seeded],
) {
    let app = open_app(data).await;
    assert_all_under(&stored_key_ids(&app).await, new);
    let kf = key_file(data);
    assert_eq!(kf["active"], new);
    assert!(kf["keys"].get(old).is_none(), "old key still in {kf}");
    assert_eq!(kf["keys"].as_object().unwrap().len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(Path::new(data).join("keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(&members_in_clear(&app).await, before);
    check_seeded(&app, seeded).await;
    // The blind index (never rotated) still finds a member by ID number.
    let roots = dangjian_store::repo::orgs::roots(&app.db.conn)
        .await
        .unwrap();
    let actor = Actor::system(roots[0].id, "/");
    let (id, (number, _)) = before.iter().next().unwrap();
    let found = app.search_by_id_number(&actor, number).await.unwrap();
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![*id]);
    let (ok, _) = ledger_verify(data);
    assert!(ok, "ledger verify fails after the rotation");
}

#[test]
fn rotation_reencrypts_every_encrypted_column_and_retires_the_old_key() {
    let dir = TempDir::new("keys-intl");
    let data = dir.path().to_string();
    demo(&data, 40);
    rt().block_on(async {
        let app = open_app(&data).await;
        let old = app.keys.active_key_id();
        let seeded = seed_every_column(&app).await;
        let usage = stored_key_ids(&app).await;
        assert_all_under(&usage, &old);
        let members = usage["members.id_enc"][&old];
        let events_before = usage["member_events.detail_enc"][&old];
        let before = members_in_clear(&app).await;
        let (ok, leaves_before) = ledger_verify(&data);
        assert!(ok);

        // Small batches: many write transactions per table.
        let r = rotate(&data, &["--batch", "7", "--settle", "0"], &[]);
        let new = r["active_key"].as_str().unwrap().to_string();
        assert_ne!(new, old);
        assert_eq!(r["new_key"], true);
        assert_eq!(r["retired"], serde_json::json!([old]));
        // One archive event (and ledger leaf) per re-encrypted member.
        assert_eq!(r["member_events"].as_u64(), Some(members));
        check_after(&data, &new, &old, &before, &seeded).await;
        let (_, leaves) = ledger_verify(&data);
        assert_eq!(leaves, leaves_before + members);
        let after = stored_key_ids(&open_app(&data).await).await;
        assert_eq!(
            after["member_events.detail_enc"][&new],
            events_before + members
        );
        // The app opened before the rotation holds only the old key; meeting
        // the new key's id it rereads the file, reads the new values, and
        // the retired key is gone from it too.
        assert_eq!(app.keys.key_ids(), vec![old.clone()]);
        assert_eq!(members_in_clear(&app).await, before);
        assert_eq!(app.keys.key_ids(), vec![new.clone()]);
    });
}

#[test]
fn national_suite_rotation_interrupted_then_rerun_finishes() {
    let dir = TempDir::new("keys-sm");
    let data = dir.path().to_string();
    let national = [("DANGJIAN_CRYPTO_SUITE", "national")];
    let out = bin()
        .args(["demo", "--data", &data, "--members", "30", "--json"])
        .envs(national)
        .output()
        .expect("demo");
    assert!(out.status.success());
    rt().block_on(async {
        let app = open_app(&data).await;
        assert_eq!(app.keys.suite().as_str(), "national");
        let old = app.keys.active_key_id();
        let seeded = seed_every_column(&app).await;
        let before = members_in_clear(&app).await;

        // A rotation interrupted after its first batch: the new key is in
        // the key file, a few members are under it, the rest under the old.
        let new = app.keys.add_active_key().unwrap();
        app.keys.save(&Path::new(&data).join("keys.json")).unwrap();
        let o = app.reencrypt_batch("members", 0, 5).await.unwrap();
        assert_eq!((o.scanned, o.member_events), (5, 5));
        let usage = stored_key_ids(&app).await;
        assert_eq!(usage["members.id_enc"][&new], 5);
        assert!(usage["members.id_enc"][&old] > 0);
        assert!(ledger_verify(&data).0);
        let kf = key_file(&data);
        assert_eq!(kf["suite"], "national");
        assert_eq!(kf["algorithms"][&new], "sm4-gcm");

        // The rerun finishes that rotation instead of starting another.
        let r = rotate(&data, &["--settle", "0"], &national);
        assert_eq!(r["new_key"], false);
        assert_eq!(r["active_key"], new.as_str());
        assert_eq!(r["retired"], serde_json::json!([old]));
        check_after(&data, &new, &old, &before, &seeded).await;

        // And a second rotation goes to yet another SM4 key.
        let r = rotate(&data, &["--settle", "0"], &national);
        assert_eq!(r["new_key"], true);
        let third = r["active_key"].as_str().unwrap().to_string();
        assert_ne!(third, new);
        check_after(&data, &third, &new, &before, &seeded).await;
        let kf = key_file(&data);
        assert_eq!(kf["algorithms"][&third], "sm4-gcm");
    });
}

fn json_of(r: Option<(u16, String)>, want: u16) -> serde_json::Value {
    let (status, body) = r.expect("response");
    assert_eq!(status, want, "{body}");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

#[test]
fn rotation_while_the_server_runs() {
    let dir = TempDir::new("keys-live");
    let data = dir.path().to_string();
    let d = demo(&data, 30);
    let branch = d["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "secretary_a")
        .and_then(|u| u["org"].as_str())
        .unwrap()
        .to_string();
    let old = key_file(&data)["active"].as_str().unwrap().to_string();
    let tok = token(&data, "admin");
    let server = Server::start(&data);
    let base = server.base.clone();
    let list: serde_json::Value = serde_json::from_str(&http_get(
        &base,
        &format!("/api/v1/orgs/{branch}/members?limit=500"),
        Some(&tok),
    ))
    .unwrap();
    let detail = |id: i64| -> serde_json::Value {
        serde_json::from_str(&http_get(
            &base,
            &format!("/api/v1/members/{id}"),
            Some(&tok),
        ))
        .unwrap()
    };
    let mut before = BTreeMap::new();
    for m in list["items"].as_array().unwrap() {
        let id = m["id"].as_i64().unwrap();
        let d = detail(id);
        before.insert(id, (d["id_number"].clone(), d["phone"].clone()));
    }
    assert!(!before.is_empty());

    // A secretary keeps registering applicants while the rotation runs:
    // until the server rereads the key file they are written with the old
    // key, and the rotation's later passes must catch them.
    let csv = dangjian_app::demo::roster_csv(400, 4242, chrono::Utc::now().date_naive());
    let people: Vec<serde_json::Value> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c.get(6) == Some(&"入党申请人")).then(|| {
                serde_json::json!({"name": c[0], "id_number": c[1], "stage": "applicant",
                    "applied_on": c[7]})
            })
        })
        .collect();
    assert!(people.len() > 20);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (base, tok, branch, stop) = (base.clone(), tok.clone(), branch.clone(), stop.clone());
        std::thread::spawn(move || {
            let (mut created, mut failed) = (0u64, Vec::new());
            for p in people {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                match http_send(
                    &base,
                    "POST",
                    &format!("/api/v1/orgs/{branch}/members"),
                    Some(&tok),
                    "application/json",
                    p.to_string().as_bytes(),
                ) {
                    Some((201, _)) => created += 1,
                    other => failed.push(other),
                }
            }
            (created, failed)
        })
    };
    let r = rotate(&data, &["--batch", "10", "--settle", "5"], &[]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (registered, failed) = writer.join().unwrap();
    let new = r["active_key"].as_str().unwrap().to_string();
    assert_eq!(r["retired"], serde_json::json!([old]));
    assert!(registered > 0);
    eprintln!("registered {registered} during the rotation: {r}");
    assert!(
        failed.is_empty(),
        "writes failed during the rotation: {failed:?}"
    );

    // The server writes with the new key: a member registered now.
    let first17 = "44010519950612457";
    let number = format!(
        "{first17}{}",
        dangjian_domain::resident_id::compute_check_char(first17)
    );
    let created = json_of(
        http_send(
            &base,
            "POST",
            &format!("/api/v1/orgs/{branch}/members"),
            Some(&tok),
            "application/json",
            serde_json::json!({"name": "陈晓东", "id_number": number, "ethnicity": "汉族",
                "phone": "13912345678", "stage": "applicant", "applied_on": "2025-03-01"})
            .to_string()
            .as_bytes(),
        ),
        201,
    );
    let new_id = created["id"].as_i64().expect("new member id");
    // … and reads what the CLI re-encrypted.
    for (id, (number, phone)) in &before {
        let d = detail(*id);
        assert_eq!(
            (&d["id_number"], &d["phone"]),
            (number, phone),
            "member {id}"
        );
    }
    let d = detail(new_id);
    assert_eq!(d["id_number"], number.as_str());
    let found = json_of(
        http_send(
            &base,
            "POST",
            "/api/v1/members/search",
            Some(&tok),
            "application/json",
            serde_json::json!({"id_number": number})
                .to_string()
                .as_bytes(),
        ),
        200,
    );
    assert_eq!(found["items"][0]["id"].as_i64(), Some(new_id));
    rt().block_on(async {
        let app = open_app(&data).await;
        let usage = stored_key_ids(&app).await;
        for (col, by) in &usage {
            assert!(
                by.keys().all(|k| *k == new),
                "{col} holds values under another key: {by:?}"
            );
        }
        // The demo's 30, those registered during and the one after.
        assert_eq!(usage["members.id_enc"][&new], 31 + registered);
    });
    assert!(ledger_verify(&data).0);
    drop(server);
}
