//! The roster import's pipeline (issue 2; `app::roster_pipeline`) with tiny
//! chunks, on the backend the environment selects: errors on both sides of
//! chunk boundaries are all listed and nothing is stored; the same person
//! twice in a file, in different chunks; a person already registered found
//! in bulk mode; a rollback after chunks were written leaves the schema's
//! indexes as they were (and the one-person-one-registration index still
//! enforcing, DOMAIN.md §3); a bulk import of many chunks verifies in the
//! archive ledger and continues the ids.

mod common;

use common::*;
use dangjian_app::Backend;
use dangjian_app::roster::{Progress, RosterFormat};
use dangjian_app::roster_pipeline::Tuning;
use dangjian_domain::members::MemberDraft;
use sea_orm::{ConnectionTrait, Statement};

fn no_progress(_: Progress) {}

/// A roster CSV of `drafts` in the README's layout.
fn csv_of(drafts: &[MemberDraft]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "姓名",
        "身份证号",
        "民族",
        "手机号",
        "人员类别",
        "党员阶段",
        "申请入党日期",
        "确定积极分子日期",
        "确定发展对象日期",
        "入党日期",
        "转正日期",
        "流动党员",
    ])
    .unwrap();
    let d = |x: Option<chrono::NaiveDate>| x.map(|d| d.to_string()).unwrap_or_default();
    for m in drafts {
        let s = m.stage_dates;
        w.write_record([
            m.name.clone(),
            m.id_number.clone(),
            m.ethnicity.clone(),
            m.phone.clone().unwrap_or_default(),
            m.dues_category.label_zh().into(),
            m.stage.label_zh().into(),
            d(s.applied_on),
            d(s.activist_on),
            d(s.development_target_on),
            d(s.probationary_on),
            d(s.full_on),
            if m.mobile { "是" } else { "否" }.into(),
        ])
        .unwrap();
    }
    w.into_inner().unwrap()
}

/// Fixture whose imports use chunks of `chunk_rows` rows and bulk mode from
/// `bulk_rows` rows on.
async fn fixture(chunk_rows: usize, bulk_rows: usize) -> Fixture {
    let mut fx = Fixture::new().await;
    fx.app.config_mut().roster_import = Tuning {
        chunk_rows,
        bulk_rows,
    };
    fx
}

/// The indexes of the member and ledger tables as the schema holds them
/// (name and definition on SQLite and PostgreSQL).
async fn indexes(fx: &Fixture) -> Vec<(String, String)> {
    let c = &fx.app.db.conn;
    let sql = match fx.app.db.backend {
        Backend::Sqlite => {
            "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('members', 'member_events', 'ledger_leaves', 'ledger_nodes') \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN \
             ('members', 'member_events', 'ledger_leaves', 'ledger_nodes') ORDER BY indexname"
        }
    };
    c.query_all_raw(Statement::from_string(c.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<String>(1).unwrap(),
            )
        })
        .collect()
}

async fn count(fx: &Fixture, table: &str) -> i64 {
    let c = &fx.app.db.conn;
    let r = c
        .query_one_raw(Statement::from_string(
            c.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    r.try_get_by_index::<i64>(0).unwrap()
}

/// Copies the first member row as a new active row of the same person,
/// past the application's check: the partial unique index on the blind
/// index must refuse it (DOMAIN.md §3).
async fn assert_unique_person_enforced(fx: &Fixture) {
    use dangjian_store::entities::member;
    use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, EntityTrait, QueryOrder, Set};
    let m = member::Entity::find()
        .order_by_asc(member::Column::Id)
        .one(&fx.app.db.conn)
        .await
        .unwrap()
        .expect("a member");
    let mut copy = member::ActiveModel::from(m).reset_all();
    copy.id = NotSet;
    copy.uid = Set(uuid::Uuid::now_v7());
    let r = copy.insert(&fx.app.db.conn).await;
    let e = r
        .expect_err("a second active row of one person")
        .to_string();
    assert!(e.to_lowercase().contains("unique"), "{e}");
}

/// (row, field, code) of each error.
fn errors_of(r: &dangjian_app::roster::ImportReport) -> Vec<(usize, String, String)> {
    r.errors
        .iter()
        .map(|e| (e.row, e.field.clone(), e.code.clone()))
        .collect()
}

#[tokio::test]
async fn errors_on_both_sides_of_chunk_boundaries_are_all_listed() {
    // Chunks of 3 rows: lines 2–4, 5–7, 8–10, 11–13.
    let fx = fixture(3, 1_000_000).await;
    let mut drafts: Vec<MemberDraft> = (100..112).map(draft).collect();
    drafts[2].id_number = with_bad_checksum(&drafts[2].id_number); // line 4, end of chunk 1
    drafts[3].name = String::new(); // line 5, start of chunk 2
    drafts[8].stage_dates.activist_on = Some(date(2014, 1, 1)); // line 10, end of chunk 3
    drafts[11].id_number = with_bad_checksum(&drafts[11].id_number); // line 13, last row
    let file = csv_of(&drafts);
    let before = fx.member_rows().await;
    let leaves = count(&fx, "ledger_leaves").await;
    let report = fx
        .app
        .import_roster(&fx.sys, BRANCH_A, RosterFormat::Csv, &file, &no_progress)
        .await
        .unwrap();
    assert_eq!(report.imported, 0);
    assert_eq!(report.rows, drafts.len());
    assert_eq!(
        errors_of(&report)
            .iter()
            .map(|(r, f, _)| (*r, f.as_str()))
            .collect::<Vec<_>>(),
        [
            (4, "id_number"),
            (5, "name"),
            (10, "stage_dates.activist_on"),
            (13, "id_number")
        ],
        "{:#?}",
        report.errors
    );
    assert_eq!(fx.member_rows().await, before, "nothing imported");
    assert_eq!(count(&fx, "ledger_leaves").await, leaves);
    assert!(fx.audit_rows("roster.import").await.is_empty());

    // One chunk for the whole file gives the same list.
    let one = fixture(2_000, 1_000_000).await;
    let whole = one
        .app
        .import_roster(&one.sys, BRANCH_A, RosterFormat::Csv, &file, &no_progress)
        .await
        .unwrap();
    assert_eq!(errors_of(&whole), errors_of(&report));
}

#[tokio::test]
async fn the_same_person_twice_in_different_chunks_is_refused() {
    let fx = fixture(2, 1_000_000).await;
    let mut drafts: Vec<MemberDraft> = (200..208).map(draft).collect();
    let mut again = draft(201); // line 3
    again.name = "重复人".into();
    drafts[6] = again.clone(); // line 8, fourth chunk
    drafts.push(again); // line 10, fifth chunk
    let file = csv_of(&drafts);
    let report = fx
        .app
        .import_roster(&fx.sys, BRANCH_A, RosterFormat::Csv, &file, &no_progress)
        .await
        .unwrap();
    assert_eq!(report.imported, 0);
    assert_eq!(
        errors_of(&report),
        [
            (8, "id_number".into(), "duplicate_in_file".into()),
            (10, "id_number".into(), "duplicate_in_file".into())
        ]
    );
    // Both point at the first occurrence.
    for e in &report.errors {
        assert!(e.message_en.ends_with("line 3"), "{e:?}");
        assert_eq!(e.column, "身份证号");
    }
    assert_eq!(fx.member_rows().await, 0);
}

#[tokio::test]
async fn a_registered_person_is_found_in_bulk_mode_and_nothing_is_stored() {
    // Bulk mode from one row on: one scan of the stored blind indexes and,
    // on SQLite, the blind-index indexes dropped and rebuilt.
    let fx = fixture(3, 1).await;
    fx.register(BRANCH_B, draft(307)).await;
    let indexes_before = indexes(&fx).await;
    let before = fx.member_rows().await;
    let leaves = count(&fx, "ledger_leaves").await;
    let events = count(&fx, "member_events").await;
    let drafts: Vec<MemberDraft> = (300..310).map(draft).collect(); // 307 on line 9
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: Progress| seen.lock().unwrap().push(p);
    let report = fx
        .app
        .import_roster(
            &fx.sys,
            BRANCH_A,
            RosterFormat::Csv,
            &csv_of(&drafts),
            &progress,
        )
        .await
        .unwrap();
    assert_eq!(
        errors_of(&report),
        [(9, "id_number".into(), "duplicate_person".into())]
    );
    assert!(!report.errors[0].message_zh.contains(BRANCH_B_NAME));
    // Two chunks were written before the third found the duplicate.
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|p| matches!(p, Progress::Written(6, _))),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(fx.member_rows().await, before);
    assert_eq!(count(&fx, "ledger_leaves").await, leaves);
    assert_eq!(count(&fx, "member_events").await, events);
    assert_eq!(indexes(&fx).await, indexes_before, "rollback keeps indexes");

    // The unique index on active registrations still holds after the
    // rollback: a second active row of the same person is refused by the
    // database itself.
    assert_unique_person_enforced(&fx).await;
    // And the ledger is as it was.
    assert!(fx.app.ledger_verify().await.unwrap().ok);
}

#[tokio::test]
async fn a_bulk_import_of_many_chunks_verifies_and_continues_the_ids() {
    let fx = fixture(4, 10).await;
    // Some members and archive events before, so ids and leaves continue.
    let first = fx.register(BRANCH_B, draft(400)).await;
    fx.register(BRANCH_B, draft(401)).await;
    let indexes_before = indexes(&fx).await;
    let drafts: Vec<MemberDraft> = (402..425).map(draft).collect();
    let report = fx
        .app
        .import_roster(
            &fx.sys,
            BRANCH_A,
            RosterFormat::Csv,
            &csv_of(&drafts),
            &no_progress,
        )
        .await
        .unwrap();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.imported, drafts.len());
    assert_eq!(
        indexes(&fx).await,
        indexes_before,
        "indexes rebuilt as they were"
    );

    let v = fx.app.ledger_verify().await.unwrap();
    assert!(v.ok, "{:#?}", v.problems);
    assert_eq!(v.size as i64, count(&fx, "ledger_leaves").await);
    let page = fx
        .app
        .list_members(&fx.sys, BRANCH_A, None, 100)
        .await
        .unwrap();
    assert_eq!(page.items.len(), drafts.len());
    assert!(page.items.iter().all(|m| m.id > first.id));
    for (m, d) in page.items.iter().zip(&drafts) {
        let detail = fx.app.member_detail(&fx.sys, m.id).await.unwrap();
        assert_eq!(detail.id_number, d.id_number);
        assert_eq!(detail.phone, d.phone);
        assert_eq!(detail.stage_dates, d.stage_dates);
        assert_eq!(detail.events.len(), 1);
        assert_eq!(detail.events[0].detail["source"], "import");
    }
    // A registration after the import takes a fresh id and its leaf
    // continues the log.
    let later = fx.register(BRANCH_A, draft(430)).await;
    assert!(page.items.iter().all(|m| m.id < later.id));
    assert!(fx.app.ledger_verify().await.unwrap().ok);
    // The imported people are now registered, and the rebuilt unique index
    // enforces it.
    let r = fx.app.register_member(&fx.sys, BRANCH_B, draft(410)).await;
    assert!(r.is_err());
    assert_unique_person_enforced(&fx).await;
}
