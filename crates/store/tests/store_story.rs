//! Storage story on the backend the environment selects (STYLE.md idea 6):
//! SQLite in a temp dir by default, a fresh PostgreSQL database per test when
//! `DANGJIAN_TEST_DATABASE_URL` names a server. Covers migrations (repeatable),
//! the materialized-path tree (subtree ranges that do not catch `/1/20/` when
//! asking for `/1/2/`, moving a subtree), member rows (bulk insert order,
//! encrypted columns, the one-active-registration unique index, blind-index
//! lookups inside a subtree, keyset pages, counts), the audit log, users,
//! grants, sessions and tokens, and the round trip of every column type.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use dangjian_store::entities::{member, member_event, org};
use dangjian_store::repo::{audit, identity, members, orgs};
use dangjian_store::{Backend, Db, Keyring};
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set, TransactionTrait};

const PG_ENV: &str = "DANGJIAN_TEST_DATABASE_URL";

fn unique_name(prefix: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let mut rnd = [0u8; 4];
    getrandom::getrandom(&mut rnd).expect("random bytes");
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        hex::encode(rnd)
    )
}

/// A fresh, migrated database, removed on drop.
struct TestDb {
    db: Db,
    sqlite_dir: Option<std::path::PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    async fn new() -> Self {
        match std::env::var(PG_ENV) {
            Ok(url) if !url.trim().is_empty() => {
                let admin_url = url.trim().to_string();
                let name = unique_name("dj_store_test");
                let admin = Database::connect(&admin_url).await.expect("connect admin");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                let base = admin_url.split('?').next().unwrap_or(&admin_url);
                let (scheme, rest) = base.split_once("://").expect("URL with scheme");
                let authority = rest.split('/').next().unwrap_or(rest);
                let db = Db::connect(&format!("{scheme}://{authority}/{name}"))
                    .await
                    .expect("open test database");
                assert_eq!(db.backend, Backend::Postgres);
                assert!(
                    db.migrate().await.unwrap() > 0,
                    "a fresh database has migrations to run"
                );
                Self {
                    db,
                    sqlite_dir: None,
                    pg: Some((admin_url, name)),
                }
            }
            _ => {
                let dir = std::env::temp_dir().join(unique_name("dangjian-store-test"));
                std::fs::create_dir_all(&dir).unwrap();
                let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()))
                    .await
                    .expect("open SQLite");
                assert_eq!(db.backend, Backend::Sqlite);
                assert!(
                    db.migrate().await.unwrap() > 0,
                    "a fresh database has migrations to run"
                );
                Self {
                    db,
                    sqlite_dir: Some(dir),
                    pg: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.sqlite_dir {
            std::fs::remove_dir_all(dir).ok();
        }
        if let Some((admin_url, name)) = self.pg.clone() {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await
                            .ok();
                        admin.close().await.ok();
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0)
        .single()
        .unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn new_org<C: ConnectionTrait>(c: &C, code: &str, parent: Option<&org::Model>) -> org::Model {
    orgs::insert(
        c,
        orgs::NewOrg {
            code: code.into(),
            name: format!("组织{code}"),
            kind: if parent.is_some() {
                "branch"
            } else {
                "province"
            }
            .into(),
            setting: "other".into(),
            parent: parent.cloned(),
            has_committee: true,
            committee_elected_on: Some(day(2025, 6, 1)),
        },
        now(),
    )
    .await
    .unwrap()
}

/// A member row for person `seq` in `org_id`, sensitive columns encrypted.
fn member_row(keys: &Keyring, seq: u32, org_id: i64, status: &str) -> member::ActiveModel {
    let id_number = format!("11010519900101{:03}X", seq % 1000);
    let phone = format!("1390{:07}", seq);
    member::ActiveModel {
        uid: Set(uuid::Uuid::now_v7()),
        org_id: Set(org_id),
        group_id: Set(None),
        name: Set(format!("成员{seq}")),
        id_enc: Set(keys
            .encrypt(id_number.as_bytes(), "members.id_number")
            .unwrap()),
        id_bidx: Set(keys.blind_index("resident_id", &id_number)),
        id_masked: Set("110*************0X".into()),
        birth_date: Set(day(1990, 1, 1)),
        sex: Set("male".into()),
        ethnicity: Set("汉族".into()),
        phone_enc: Set(Some(
            keys.encrypt(phone.as_bytes(), "members.phone").unwrap(),
        )),
        phone_masked: Set(Some("139****0000".into())),
        education: Set(None),
        dues_category: Set("employed".into()),
        stage: Set(if seq.is_multiple_of(2) {
            "full"
        } else {
            "probationary"
        }
        .into()),
        applied_on: Set(Some(day(2015, 3, 1))),
        activist_on: Set(None),
        development_target_on: Set(None),
        probationary_on: Set(Some(day(2017, 1, 10))),
        full_on: Set(None),
        is_mobile: Set(seq.is_multiple_of(3)),
        status: Set(status.into()),
        created_at: Set(now()),
        updated_at: Set(now()),
        ..Default::default()
    }
}

#[tokio::test]
async fn migrations_run_once_and_the_database_answers() {
    let t = TestDb::new().await;
    assert!(t.db.ping().await);
    assert_eq!(t.db.migrate().await.unwrap(), 0, "nothing left to apply");
    assert!(orgs::roots(&t.db.conn).await.unwrap().is_empty());
}

#[tokio::test]
async fn subtree_ranges_do_not_catch_textual_neighbours() {
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let root = new_org(c, "R", None).await;
    assert_eq!(root.path, format!("/{}/", root.id));
    assert_eq!(root.depth, 0);
    // Enough siblings that some id is a textual prefix of another (2 and 20…).
    let mut kids = Vec::new();
    for i in 0..25 {
        kids.push(new_org(c, &format!("K{i:02}"), Some(&root)).await);
    }
    let grandchild = new_org(c, "G1", Some(&kids[0])).await;
    assert_eq!(
        grandchild.path,
        format!("{}{}/", kids[0].path, grandchild.id)
    );
    assert_eq!(grandchild.depth, 2);

    for k in &kids {
        let sub = orgs::subtree(c, &k.path, None, 1000).await.unwrap();
        let expect = if k.id == kids[0].id { 2 } else { 1 };
        assert_eq!(sub.len(), expect, "subtree of {} is itself only", k.path);
        assert!(sub.iter().all(|o| o.path.starts_with(&k.path)));
        assert_eq!(
            orgs::subtree_count(c, &k.path).await.unwrap(),
            expect as u64
        );
    }
    let prefixed = kids
        .iter()
        .filter(|k| {
            kids.iter()
                .any(|o| o.id != k.id && o.id.to_string().starts_with(&k.id.to_string()))
        })
        .count();
    assert!(prefixed > 0, "the test needs ids that prefix each other");

    assert_eq!(orgs::subtree_count(c, &root.path).await.unwrap(), 27);
    let shallow = orgs::subtree(c, &root.path, Some(1), 1000).await.unwrap();
    assert_eq!(shallow.len(), 26);
    assert_eq!(orgs::children(c, root.id).await.unwrap().len(), 25);
    assert_eq!(orgs::roots(c).await.unwrap().len(), 1);
    assert_eq!(
        orgs::by_code(c, "K03").await.unwrap().map(|o| o.id),
        Some(kids[3].id)
    );
    assert_eq!(
        orgs::by_ids(c, &[root.id, kids[1].id]).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn move_subtree_rewrites_every_descendant() {
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let root = new_org(c, "R", None).await;
    let a = new_org(c, "A", Some(&root)).await;
    let b = new_org(c, "B", Some(&root)).await;
    let a1 = new_org(c, "A1", Some(&a)).await;
    let a11 = new_org(c, "A11", Some(&a1)).await;
    let a12 = new_org(c, "A12", Some(&a1)).await;

    let tx = c.begin().await.unwrap();
    orgs::move_subtree(&tx, &a1, &b, now()).await.unwrap();
    tx.commit().await.unwrap();

    let get = |id| async move { orgs::get(c, id).await.unwrap().unwrap() };
    let a1n = get(a1.id).await;
    assert_eq!(a1n.parent_id, Some(b.id));
    assert_eq!(a1n.path, format!("{}{}/", b.path, a1.id));
    assert_eq!(a1n.depth, 2);
    for leaf in [&a11, &a12] {
        let n = get(leaf.id).await;
        assert_eq!(n.path, format!("{}{}/", a1n.path, leaf.id));
        assert_eq!(n.depth, 3);
        assert_eq!(n.parent_id, Some(a1.id), "children keep their parent");
    }
    assert_eq!(get(a.id).await.path, a.path, "the old parent is untouched");
    assert_eq!(orgs::subtree_count(c, &a.path).await.unwrap(), 1);
    assert_eq!(orgs::subtree_count(c, &b.path).await.unwrap(), 4);

    // Up a level: under the root directly.
    orgs::move_subtree(c, &a1n, &root, now()).await.unwrap();
    let a1r = get(a1.id).await;
    assert_eq!(a1r.path, format!("{}{}/", root.path, a1.id));
    assert_eq!(a1r.depth, 1);
    assert_eq!(get(a12.id).await.depth, 2);
    assert_eq!(orgs::subtree_count(c, &b.path).await.unwrap(), 1);

    // Rename, dissolve and history.
    let renamed = orgs::rename(c, get(a.id).await, "新名称".into(), now())
        .await
        .unwrap();
    assert_eq!(renamed.name, "新名称");
    let d = orgs::dissolve(c, renamed, now()).await.unwrap();
    assert_eq!(d.status, "dissolved");
    orgs::record_history(
        c,
        a.id,
        None,
        "renamed",
        serde_json::json!({"from": "组织A"}),
        now(),
    )
    .await
    .unwrap();
    orgs::record_history(c, a.id, Some(7), "dissolved", serde_json::json!({}), now())
        .await
        .unwrap();
    let h = orgs::history(c, a.id).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["renamed", "dissolved"]
    );
    assert_eq!(h[0].detail["from"], "组织A");
    assert_eq!(h[1].actor_user_id, Some(7));
    assert_eq!(h[1].at, now());
}

#[tokio::test]
async fn member_rows_round_trip_and_one_person_is_active_once() {
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let keys = Keyring::generate().unwrap();
    let root = new_org(c, "R", None).await;
    let a = new_org(c, "A", Some(&root)).await;
    let b = new_org(c, "B", Some(&root)).await;

    // Bulk insert returns ids in input order.
    let rows: Vec<_> = (0..30)
        .map(|s| member_row(&keys, s, a.id, "active"))
        .collect();
    let ids = members::insert_many(c, rows).await.unwrap();
    assert_eq!(ids.len(), 30);
    for (s, id) in ids.iter().enumerate() {
        let m = members::get(c, *id).await.unwrap().unwrap();
        assert_eq!(m.name, format!("成员{s}"));
        // Every column type comes back as written.
        assert_eq!(m.birth_date, day(1990, 1, 1));
        assert_eq!(m.created_at, now());
        assert_eq!(m.is_mobile, s % 3 == 0);
        assert_eq!(m.applied_on, Some(day(2015, 3, 1)));
        assert_eq!(m.full_on, None);
        assert_eq!(
            keys.decrypt_str(&m.id_enc, "members.id_number").unwrap(),
            format!("11010519900101{:03}X", s)
        );
        assert_eq!(
            keys.decrypt_str(m.phone_enc.as_ref().unwrap(), "members.phone")
                .unwrap(),
            format!("1390{:07}", s)
        );
    }

    // One active registration per person, anywhere in the tree.
    let dup = members::insert(c, member_row(&keys, 5, b.id, "active")).await;
    let err = dup.expect_err("second active registration of person 5");
    assert!(err.to_string().to_lowercase().contains("unique"), "{err}");
    // An ended registration of the same person is history, not a conflict.
    let old = members::insert(c, member_row(&keys, 5, b.id, "transferred_out"))
        .await
        .unwrap();
    let bidx5 = keys.blind_index("resident_id", "11010519900101005X");
    let found = members::find_by_bidx(c, &bidx5).await.unwrap();
    assert_eq!(found.len(), 2);
    let active: Vec<_> = found.iter().filter(|f| f.status == "active").collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].org_path, a.path);
    assert_eq!(
        members::find_by_bidx_in_subtree(c, &bidx5, &b.path)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        [old.id]
    );
    assert_eq!(
        members::find_by_bidx_in_subtree(c, &bidx5, &root.path)
            .await
            .unwrap()
            .len(),
        2
    );
    let bidx_missing = keys.blind_index("resident_id", "nobody");
    let mut probe = vec![bidx5.clone(), bidx_missing];
    probe.push(keys.blind_index("resident_id", "11010519900101007X"));
    let mut active = members::active_bidx_in(c, &probe).await.unwrap();
    active.sort();
    let mut expect = vec![bidx5, probe[2].clone()];
    expect.sort();
    assert_eq!(active, expect);
    assert!(members::active_bidx_in(c, &[]).await.unwrap().is_empty());

    // Counts see active members only.
    assert_eq!(members::count_in_subtree(c, &root.path).await.unwrap(), 30);
    assert_eq!(members::count_in_subtree(c, &b.path).await.unwrap(), 0);
    let mut stages = members::stage_counts(c, a.id).await.unwrap();
    stages.sort();
    assert_eq!(
        stages,
        [("full".to_string(), 15), ("probationary".to_string(), 15)]
    );

    // Keyset pages walk the organization in id order, once each.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = members::list_by_org(c, a.id, after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|m| m.id);
        seen.extend(page.into_iter().map(|m| m.id));
    }
    assert_eq!(seen, ids);
    assert_eq!(
        members::all_by_org(c, a.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        ids
    );

    // Archive events, encrypted.
    let ev = |id: i64, kind: &str| member_event::ActiveModel {
        member_id: Set(id),
        org_id: Set(a.id),
        at: Set(now()),
        kind: Set(kind.into()),
        actor_user_id: Set(None),
        detail_enc: Set(keys.encrypt(b"{}", "member_events.detail").unwrap()),
        ..Default::default()
    };
    members::add_event(c, ev(ids[0], "registered"))
        .await
        .unwrap();
    members::add_events(c, vec![ev(ids[0], "moved"), ev(ids[1], "registered")])
        .await
        .unwrap();
    members::add_events(c, Vec::new()).await.unwrap();
    let events = members::events(c, ids[0]).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["registered", "moved"]
    );
    assert_eq!(
        keys.decrypt(&events[0].detail_enc, "member_events.detail")
            .unwrap(),
        b"{}"
    );
    assert_eq!(member_event::Entity::find().all(c).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_failed_transaction_leaves_nothing_behind() {
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let keys = Keyring::generate().unwrap();
    let root = new_org(c, "R", None).await;
    let tx = c.begin().await.unwrap();
    members::insert_many(
        &tx,
        (0..5)
            .map(|s| member_row(&keys, s, root.id, "active"))
            .collect(),
    )
    .await
    .unwrap();
    // The sixth row repeats person 0: the unique index fails the statement…
    assert!(
        members::insert(&tx, member_row(&keys, 0, root.id, "active"))
            .await
            .is_err()
    );
    // …and the caller rolls back the whole use case.
    tx.rollback().await.unwrap();
    assert_eq!(members::count_in_subtree(c, &root.path).await.unwrap(), 0);
}

#[tokio::test]
async fn users_grants_sessions_tokens_and_audit() {
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let root = new_org(c, "R", None).await;
    let a = new_org(c, "A", Some(&root)).await;

    let u = identity::insert_user(c, "li", "$argon2id$x", "李", None, now())
        .await
        .unwrap();
    assert!(!u.disabled);
    assert!(
        identity::insert_user(c, "li", "h", "重名", None, now())
            .await
            .is_err()
    );
    assert_eq!(
        identity::user_by_login(c, "li")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(u.id)
    );
    assert!(identity::user_by_login(c, "LI").await.unwrap().is_none());
    identity::set_password(c, u.clone(), "$argon2id$y")
        .await
        .unwrap();
    assert_eq!(
        identity::user_by_id(c, u.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$y"
    );

    identity::grant(c, u.id, a.id, "secretary").await.unwrap();
    identity::grant(c, u.id, root.id, "auditor").await.unwrap();
    let g = identity::grants_of(c, u.id).await.unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(
        (
            g[0].role.as_str(),
            g[0].org_path.as_str(),
            g[0].org_code.as_str()
        ),
        ("secretary", a.path.as_str(), "A")
    );
    assert_eq!(g[1].org_name, "组织R");

    let later = now() + chrono::Duration::hours(12);
    identity::insert_session(c, "h1", u.id, "csrf1", now(), later)
        .await
        .unwrap();
    let s = identity::session(c, "h1").await.unwrap().unwrap();
    assert_eq!((s.user_id, s.expires_at, s.revoked), (u.id, later, false));
    identity::revoke_session(c, "h1").await.unwrap();
    assert!(identity::session(c, "h1").await.unwrap().unwrap().revoked);
    assert!(identity::session(c, "nope").await.unwrap().is_none());

    identity::insert_token(c, "th", u.id, "sync", now(), None)
        .await
        .unwrap();
    assert!(
        identity::insert_token(c, "th", u.id, "again", now(), None)
            .await
            .is_err()
    );
    let tok = identity::token(c, "th").await.unwrap().unwrap();
    assert_eq!((tok.user_id, tok.expires_at), (u.id, None));

    for i in 0..3 {
        audit::append(
            c,
            audit::Entry {
                user_id: Some(u.id),
                action: format!("test.{i}"),
                target_kind: "org".into(),
                target_id: Some(a.id),
                org_id: Some(a.id),
                remote_addr: Some("::1".into()),
                detail: serde_json::json!({"i": i, "中文": true}),
            },
            now(),
        )
        .await
        .unwrap();
    }
    let rows = audit::for_target(c, "org", a.id, 2).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["test.2", "test.1"],
        "newest first"
    );
    assert_eq!(rows[0].detail["中文"], true);
    assert_eq!(rows[0].at, now());
}

/// The plan `backend` chooses for `found` (SQLite's `EXPLAIN QUERY PLAN`
/// details, PostgreSQL's `EXPLAIN` lines with sequential scans forbidden,
/// so that an empty table shows whether an index can serve the query).
async fn plan_of(
    c: &sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
    found: sea_orm::Statement,
) -> String {
    use sea_orm::{DbBackend, Statement};
    let (prefix, col) = match backend {
        DbBackend::Sqlite => ("EXPLAIN QUERY PLAN ", "detail"),
        _ => ("EXPLAIN ", "QUERY PLAN"),
    };
    let explain = Statement::from_sql_and_values(
        backend,
        format!("{prefix}{}", found.sql),
        found.values.map(|v| v.0).unwrap_or_default(),
    );
    let tx = c.begin().await.unwrap();
    // SQLite answers EXPLAIN from the connection's copy of the schema
    // without checking it is current; a read first brings it up to date.
    tx.execute_unprepared("SELECT COUNT(*) FROM members")
        .await
        .unwrap();
    if backend == DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL enable_seqscan = off")
            .await
            .unwrap();
    }
    let plan: Vec<String> = tx
        .query_all_raw(explain)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", col).unwrap())
        .collect();
    tx.rollback().await.unwrap();
    plan.join("\n")
}

/// The blind-index lookups use the two partial indexes of the blind index
/// (migration m0013) on SQLite and PostgreSQL alike: with `idx_members_bidx`
/// gone, a condition that matched neither partial index would scan every
/// member (the ID search of issue 2 must stay under 10 ms with 1,000,000
/// members, and the duplicate-person check runs on every registration).
#[tokio::test]
async fn blind_index_lookups_read_the_partial_indexes() {
    use sea_orm::{DbBackend, Statement};
    let t = TestDb::new().await;
    let c = &t.db.conn;
    let keys = Keyring::generate().unwrap();
    let bidx = keys.blind_index("resident_id", "11010519900101005X");
    let backend = match t.db.backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    let scans = ["SCAN members", "Seq Scan on members"];

    // A person's registrations of any status: both halves.
    let plan = plan_of(c, backend, members::find_by_bidx_statement(backend, &bidx)).await;
    for index in ["uq_members_active_person", "idx_members_bidx_past"] {
        assert!(plan.contains(index), "plan without {index}:\n{plan}");
    }
    for scan in scans {
        assert!(!plan.contains(scan), "plan scans the members:\n{plan}");
    }

    // The duplicate-person check: the active half.
    let probe = vec![bidx.clone(), keys.blind_index("resident_id", "nobody")];
    let plan = plan_of(
        c,
        backend,
        members::active_bidx_in_statement(backend, &probe),
    )
    .await;
    assert!(
        plan.contains("uq_members_active_person"),
        "plan without the unique index:\n{plan}"
    );
    for scan in scans {
        assert!(!plan.contains(scan), "plan scans the members:\n{plan}");
    }

    // The full index is gone: each key is stored once.
    let gone = c
        .query_one_raw(Statement::from_string(
            backend,
            match backend {
                DbBackend::Sqlite => {
                    "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'idx_members_bidx'"
                }
                _ => "SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = 'idx_members_bidx'",
            },
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(gone, 0);
}
