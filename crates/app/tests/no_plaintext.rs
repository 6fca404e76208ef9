//! No plaintext at rest (issue 2 "Done when", DOMAIN.md §13), SQLite only:
//! after members are registered by form, imported from CSV and XLSX, read,
//! searched, exported and refused, every file in the SQLite data directory
//! (the database, its `-wal` and `-shm`) is scanned as bytes for each
//! member's full ID number and phone number; none may appear. The scan runs
//! with the pool open (WAL content included), after a checkpoint, and after
//! the pool is closed. Names, which are stored in clear, are the positive
//! control that the scan sees the data at all.

mod common;

use std::path::Path;

use common::*;
use dangjian_app::roster::{Progress, RosterFormat};
use dangjian_domain::identity::Role;
use dangjian_domain::members::MemberDraft;
use sea_orm::ConnectionTrait;

/// Bytes of every file in `dir`, by file name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            out.push((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Panics naming the file and the kind of value if any secret is found;
/// returns how many of `controls` were found somewhere.
fn scan(dir: &Path, secrets: &[(&str, String)], controls: &[String], when: &str) -> usize {
    let files = files(dir);
    assert!(
        files.iter().any(|(n, _)| n == "dangjian.db"),
        "{when}: database file present: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (name, bytes) in &files {
        for (kind, value) in secrets {
            assert!(
                !contains(bytes, value.as_bytes()),
                "{when}: plaintext {kind} found in {name}"
            );
        }
    }
    controls
        .iter()
        .filter(|c| files.iter().any(|(_, b)| contains(b, c.as_bytes())))
        .count()
}

fn roster_csv(drafts: &[MemberDraft]) -> Vec<u8> {
    let mut s = String::from(
        "姓名,身份证号,民族,手机号,党员阶段,申请入党日期,确定积极分子日期,确定发展对象日期,入党日期,转正日期\n",
    );
    for d in drafts {
        let sd = d.stage_dates;
        let f = |x: Option<chrono::NaiveDate>| x.map(|x| x.to_string()).unwrap_or_default();
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            d.name,
            d.id_number,
            d.ethnicity,
            d.phone.clone().unwrap_or_default(),
            d.stage.label_zh(),
            f(sd.applied_on),
            f(sd.activist_on),
            f(sd.development_target_on),
            f(sd.probationary_on),
            f(sd.full_on),
        ));
    }
    s.into_bytes()
}

fn roster_xlsx(drafts: &[MemberDraft]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "姓名",
        "公民身份号码",
        "手机",
        "党员阶段",
        "申请入党日期",
        "确定积极分子日期",
        "确定发展对象日期",
        "入党日期",
        "转正日期",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (i, d) in drafts.iter().enumerate() {
        let sd = d.stage_dates;
        let f = |x: Option<chrono::NaiveDate>| x.map(|x| x.to_string()).unwrap_or_default();
        let cells = [
            d.name.clone(),
            d.id_number.clone(),
            d.phone.clone().unwrap_or_default(),
            d.stage.label_zh().to_string(),
            f(sd.applied_on),
            f(sd.activist_on),
            f(sd.development_target_on),
            f(sd.probationary_on),
            f(sd.full_on),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(i as u32 + 1, c as u16, v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn sqlite_files_hold_no_plaintext_id_or_phone() {
    if !TestDb::is_sqlite() {
        eprintln!("skipped: the at-rest scan reads SQLite files");
        return;
    }
    let fx = Fixture::new().await;
    let dir = fx.tdb.sqlite_dir().unwrap().to_path_buf();
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let auditor = fx.user(Role::Auditor, PROVINCE).await;

    let by_form: Vec<MemberDraft> = (800..810).map(draft).collect();
    let by_csv: Vec<MemberDraft> = (810..840).map(draft).collect();
    let by_xlsx: Vec<MemberDraft> = (840..850).map(draft).collect();
    let mut ids = Vec::new();
    for d in &by_form {
        ids.push(
            fx.app
                .register_member(&sec_a, BRANCH_A, d.clone())
                .await
                .unwrap()
                .id,
        );
    }
    let r = fx
        .app
        .import_roster(
            &sec_a,
            BRANCH_A,
            RosterFormat::Csv,
            &roster_csv(&by_csv),
            &|_: Progress| {},
        )
        .await
        .unwrap();
    assert_eq!(r.imported, by_csv.len(), "{:?}", r.errors);
    let r = fx
        .app
        .import_roster(
            &fx.sys,
            BRANCH_B,
            RosterFormat::Xlsx,
            &roster_xlsx(&by_xlsx),
            &|_: Progress| {},
        )
        .await
        .unwrap();
    assert_eq!(r.imported, by_xlsx.len(), "{:?}", r.errors);

    // Reads, searches, exports and refusals must not write values either.
    for id in &ids {
        fx.app.member_detail(&sec_a, *id).await.unwrap();
        fx.app.member_detail(&auditor, *id).await.unwrap();
    }
    for d in by_form.iter().chain(&by_csv).take(15) {
        fx.app
            .search_by_id_number(&auditor, &d.id_number)
            .await
            .unwrap();
    }
    fx.app
        .export_roster(&sec_a, BRANCH_A, RosterFormat::Csv)
        .await
        .unwrap();
    fx.app
        .export_roster(&sec_a, BRANCH_A, RosterFormat::Xlsx)
        .await
        .unwrap();
    assert!(
        fx.app
            .register_member(&fx.sys, BRANCH_B, by_form[0].clone())
            .await
            .is_err()
    );
    let refused = fx
        .app
        .import_roster(
            &fx.sys,
            BRANCH_B,
            RosterFormat::Csv,
            &roster_csv(&by_csv[..3]),
            &|_: Progress| {},
        )
        .await
        .unwrap();
    assert_eq!(refused.imported, 0);
    // A person refused by validation (bad phone) is not stored at all, but
    // their ID number must not be written into the audit log either.
    let mut rejected = draft(860);
    rejected.phone = Some("12345".into());
    assert!(
        fx.app
            .register_member(&sec_a, BRANCH_A, rejected.clone())
            .await
            .is_err()
    );

    let all: Vec<&MemberDraft> = by_form
        .iter()
        .chain(&by_csv)
        .chain(&by_xlsx)
        .chain(std::iter::once(&rejected))
        .collect();
    let mut secrets: Vec<(&str, String)> = Vec::new();
    for d in &all {
        secrets.push(("ID number", d.id_number.clone()));
        if let Some(p) = &d.phone
            && p.len() == 11
        {
            secrets.push(("phone number", p.clone()));
        }
    }
    assert_eq!(secrets.len(), 2 * all.len() - 1);
    let names: Vec<String> = all
        .iter()
        .take(all.len() - 1)
        .map(|d| d.name.clone())
        .collect();

    // 1. Pool open: the database, the WAL and the shared-memory index.
    let seen = scan(&dir, &secrets, &names, "pool open");
    assert!(seen > 0, "the scan must see stored names");

    // 2. After a checkpoint has copied the WAL into the database file.
    fx.app
        .db
        .conn
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    let seen = scan(&dir, &secrets, &names, "after checkpoint");
    assert_eq!(seen, names.len(), "every name is in the database file");

    // 3. After the pool is closed (SQLite folds the WAL in on last close).
    fx.app.db.conn.clone().close().await.unwrap();
    let seen = scan(&dir, &secrets, &names, "pool closed");
    assert_eq!(seen, names.len());
}
