//! Member registry stories (DOMAIN.md §3, §13) on the backend the environment
//! selects: registration and its validation (each error names its field), one
//! person one registration anywhere in the tree (409 that never names an
//! organization the user may not see), audited reads of sensitive fields,
//! access scoping (branch A's secretary cannot see branch B's members; an
//! auditor sees masked values; a member sees only their own record), exact
//! ID-number search inside the actor's subtree, and cursor pagination.

mod common;

use std::collections::HashSet;

use common::*;
use dangjian_app::AppError;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{MemberStatus, Sex, Stage, StageDates};

#[tokio::test]
async fn registers_a_valid_member_with_derived_fields() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let d = draft(3);
    let s = fx
        .app
        .register_member(&sec_a, BRANCH_A, d.clone())
        .await
        .unwrap();
    assert_eq!(s.name, d.name);
    assert_eq!(s.org_id, fx.branch_a.id);
    assert_eq!(s.stage, Stage::Full);
    assert_eq!(s.status, MemberStatus::Active);
    // Birth date and sex come from the ID number, never typed.
    assert_eq!(s.birth_date, date(1990, 1, 4));
    let seventeenth = d.id_number.as_bytes()[16] - b'0';
    let sex = if seventeenth % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    assert_eq!(s.sex, sex);
    // The summary is masked.
    assert!(!s.id_number_masked.contains(&d.id_number[3..16]));
    assert_eq!(s.id_number_masked.len(), 18);
    assert!(s.id_number_masked.starts_with(&d.id_number[..3]));
    assert!(s.id_number_masked.ends_with(&d.id_number[16..]));
    let p = d.phone.as_deref().unwrap();
    assert_eq!(
        s.phone_masked.as_deref(),
        Some(format!("{}****{}", &p[..3], &p[7..]).as_str())
    );
    // The registration is audited with the acting user.
    let rows = fx.audit_rows("member.register").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, Some(sec_a.user_id));
    assert_eq!(rows[0].target_id, Some(s.id));
    assert_eq!(rows[0].org_id, Some(fx.branch_a.id));

    // Members live in branches, not committees.
    let r = fx.app.register_member(&fx.sys, COMMITTEE, draft(4)).await;
    assert_eq!(fields_of(r), ["org"]);
}

#[tokio::test]
async fn every_validation_error_names_its_field() {
    let fx = Fixture::new().await;
    let before = fx.member_rows().await;

    let mut d = draft(10);
    d.id_number = with_bad_checksum(&d.id_number);
    let r = fx.app.register_member(&fx.sys, BRANCH_A, d).await;
    assert_eq!(fields_of(r), ["id_number"]);

    let mut d = draft(11);
    d.name = "  ".into();
    let r = fx.app.register_member(&fx.sys, BRANCH_A, d).await;
    assert_eq!(fields_of(r), ["name"]);

    // Activist before application: the later stage's date is at fault.
    let mut d = draft(12);
    d.stage_dates.activist_on = Some(date(2014, 1, 1));
    let fields = fields_of(fx.app.register_member(&fx.sys, BRANCH_A, d).await);
    assert!(!fields.is_empty());
    assert!(
        fields.iter().all(|f| f.starts_with("stage_dates.")),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"stage_dates.activist_on".to_string()),
        "{fields:?}"
    );

    // A stage reached without its date.
    let mut d = draft(13);
    d.stage_dates.full_on = None;
    let r = fx.app.register_member(&fx.sys, BRANCH_A, d).await;
    assert_eq!(fields_of(r), ["stage_dates.full_on"]);

    // A bad phone and a missing ethnicity at once: both reported.
    let mut d = draft(14);
    d.phone = Some("12345".into());
    d.ethnicity = String::new();
    let mut fields = fields_of(fx.app.register_member(&fx.sys, BRANCH_A, d).await);
    fields.sort();
    assert_eq!(fields, ["ethnicity", "phone"]);

    // Under 18 on the application date.
    let mut d = draft(15);
    d.stage = Stage::Applicant;
    d.stage_dates = StageDates {
        applied_on: Some(date(2007, 6, 1)),
        ..StageDates::default()
    };
    let r = fx.app.register_member(&fx.sys, BRANCH_A, d).await;
    assert_eq!(fields_of(r), ["stage_dates.applied_on"]);

    assert_eq!(fx.member_rows().await, before, "nothing was written");
}

#[tokio::test]
async fn the_same_person_twice_anywhere_is_a_conflict_that_hides_the_other_branch() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let staff = fx.user(Role::CommitteeStaff, COUNTY).await;
    fx.app
        .register_member(&sec_a, BRANCH_A, draft(20))
        .await
        .unwrap();

    // Same branch, same person.
    match fx.app.register_member(&sec_a, BRANCH_A, draft(20)).await {
        Err(AppError::Conflict(e)) => assert_eq!(e.field, "id_number"),
        other => panic!("expected a conflict, got {other:?}"),
    }

    // Branch B's secretary must not learn where the person is registered.
    let mut d = draft(20);
    d.name = "另一个名".into();
    d.phone = Some(phone(999));
    match fx.app.register_member(&sec_b, BRANCH_B, d.clone()).await {
        Err(AppError::Conflict(e)) => {
            assert_eq!(e.field, "id_number");
            assert_eq!(e.code, "duplicate_person");
            for text in [&e.message_zh, &e.message_en] {
                assert!(!text.contains(BRANCH_A_NAME), "leaks branch A: {text}");
                assert!(!text.contains(BRANCH_A), "leaks branch A's code: {text}");
            }
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Committee staff above both branches may be told.
    match fx.app.register_member(&staff, BRANCH_B, d).await {
        Err(AppError::Conflict(e)) => assert!(e.message_zh.contains(BRANCH_A_NAME), "{e:?}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The ID number in another spelling (lower-case x) is the same person.
    let lower = (0..1000)
        .map(id_number)
        .find(|id| id.ends_with('X'))
        .expect("some ID ends in X");
    let seq = (0..1000).find(|s| id_number(*s) == lower).unwrap();
    fx.app
        .register_member(&sec_a, BRANCH_A, draft(seq))
        .await
        .unwrap();
    let mut d = draft(seq);
    d.id_number = lower.to_lowercase();
    let r = fx.app.register_member(&sec_b, BRANCH_B, d).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "{r:?}");
    assert_eq!(fx.member_rows().await, 2);
}

#[tokio::test]
async fn own_branch_secretary_reads_clear_values_and_is_audited() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let d = draft(30);
    let m = fx.register(BRANCH_A, d.clone()).await;

    let detail = fx.app.member_detail(&sec_a, m.id).await.unwrap();
    assert!(detail.sensitive_visible);
    assert_eq!(detail.id_number, d.id_number);
    assert_eq!(detail.phone, d.phone);
    assert_eq!(detail.stage_dates, d.stage_dates);
    assert_eq!(detail.org.code, BRANCH_A);
    assert_eq!(detail.events.len(), 1);
    assert_eq!(detail.events[0].kind, "registered");
    assert_eq!(detail.events[0].detail["source"], "form");

    let rows = fx.audit_rows("member.read_sensitive").await;
    assert_eq!(rows.len(), 1, "one audited read");
    let row = &rows[0];
    assert_eq!(row.user_id, Some(sec_a.user_id));
    assert_eq!(row.target_kind, "member");
    assert_eq!(row.target_id, Some(m.id));
    assert_eq!(row.org_id, Some(fx.branch_a.id));
    assert_eq!(row.remote_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(row.at, fixture_now());
    // The audit detail names the fields read, never their values.
    let text = row.detail.to_string();
    assert!(text.contains("id_number"));
    assert!(!text.contains(&d.id_number));
}

#[tokio::test]
async fn branch_a_secretary_cannot_see_branch_b_at_all() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let mut b_members = Vec::new();
    for seq in 40..45 {
        b_members.push(fx.register(BRANCH_B, draft(seq)).await);
    }
    fx.register(BRANCH_A, draft(45)).await;
    let reads_before = fx.audit_rows("member.read").await.len()
        + fx.audit_rows("member.read_sensitive").await.len();

    for m in &b_members {
        let r = fx.app.member_detail(&sec_a, m.id).await;
        assert!(
            matches!(r, Err(AppError::NotFound(_))),
            "member {}: {r:?}",
            m.id
        );
    }
    // An id that does not exist answers the same.
    let r = fx.app.member_detail(&sec_a, 9_999_999).await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");

    let r = fx.app.list_members(&sec_a, BRANCH_B, None, 50).await;
    assert!(
        matches!(r, Err(AppError::NotFound(_) | AppError::Forbidden)),
        "{r:?}"
    );
    let r = fx.app.list_members(&sec_a, COMMITTEE, None, 50).await;
    assert!(
        matches!(r, Err(AppError::NotFound(_) | AppError::Forbidden)),
        "{r:?}"
    );
    for fmt in [
        dangjian_app::roster::RosterFormat::Csv,
        dangjian_app::roster::RosterFormat::Xlsx,
    ] {
        let r = fx.app.export_roster(&sec_a, BRANCH_B, fmt).await;
        assert!(
            matches!(r, Err(AppError::NotFound(_) | AppError::Forbidden)),
            "export: {:?}",
            r.map(|b| b.len())
        );
    }
    // Nor may A's secretary register into B.
    let r = fx.app.register_member(&sec_a, BRANCH_B, draft(46)).await;
    assert!(
        matches!(r, Err(AppError::NotFound(_) | AppError::Forbidden)),
        "{r:?}"
    );
    // Refused reads leave no read rows behind.
    let reads_after = fx.audit_rows("member.read").await.len()
        + fx.audit_rows("member.read_sensitive").await.len();
    assert_eq!(reads_before, reads_after);
    // Own branch still works.
    let page = fx
        .app
        .list_members(&sec_a, BRANCH_A, None, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn auditor_sees_masked_values_only() {
    let fx = Fixture::new().await;
    let auditor = fx.user(Role::Auditor, PROVINCE).await;
    let d = draft(50);
    let m = fx.register(BRANCH_B, d.clone()).await;
    let full_id = d.id_number.clone();
    let full_phone = d.phone.clone().unwrap();

    let detail = fx.app.member_detail(&auditor, m.id).await.unwrap();
    assert!(!detail.sensitive_visible);
    assert_ne!(detail.id_number, full_id);
    assert_eq!(detail.id_number, m.id_number_masked);
    assert_eq!(detail.phone.as_deref(), m.phone_masked.as_deref());
    let json = serde_json::to_string(&detail).unwrap();
    assert!(!json.contains(&full_id));
    assert!(!json.contains(&full_phone));
    assert_eq!(fx.audit_rows("member.read").await.len(), 1);
    assert!(fx.audit_rows("member.read_sensitive").await.is_empty());

    let page = fx
        .app
        .list_members(&auditor, BRANCH_B, None, 50)
        .await
        .unwrap();
    let json = serde_json::to_string(&page.items).unwrap();
    assert!(!json.contains(&full_id));
    assert!(!json.contains(&full_phone));
    // Auditors read, they never write.
    let r = fx.app.register_member(&auditor, BRANCH_B, draft(51)).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn a_member_sees_only_their_own_record() {
    let fx = Fixture::new().await;
    let me = fx.register(BRANCH_A, draft(60)).await;
    let neighbour = fx.register(BRANCH_A, draft(61)).await;
    let other_branch = fx.register(BRANCH_B, draft(62)).await;
    let member = fx
        .user_for_member(Role::Member, BRANCH_A, Some(me.id))
        .await;

    let own = fx.app.member_detail(&member, me.id).await.unwrap();
    assert_eq!(own.id_number, draft(60).id_number);
    for other in [&neighbour, &other_branch] {
        let r = fx.app.member_detail(&member, other.id).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    }
    let r = fx.app.list_members(&member, BRANCH_A, None, 50).await;
    assert!(
        matches!(r, Err(AppError::Forbidden | AppError::NotFound(_))),
        "{r:?}"
    );
    let found = fx
        .app
        .search_by_id_number(&member, &draft(61).id_number)
        .await
        .unwrap();
    assert!(found.is_empty(), "a member cannot search the registry");
    let r = fx.app.register_member(&member, BRANCH_A, draft(63)).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn search_by_id_number_stays_inside_the_subtree() {
    let fx = Fixture::new().await;
    let in_a = fx.register(BRANCH_A, draft(70)).await;
    let in_b = fx.register(BRANCH_B, draft(71)).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let auditor = fx.user(Role::Auditor, PROVINCE).await;

    let ids =
        |v: Vec<dangjian_app::members::MemberSummary>| v.iter().map(|m| m.id).collect::<Vec<_>>();
    let a_id = draft(70).id_number;
    let b_id = draft(71).id_number;
    assert_eq!(
        ids(fx.app.search_by_id_number(&sec_a, &a_id).await.unwrap()),
        [in_a.id]
    );
    assert!(
        fx.app
            .search_by_id_number(&sec_a, &b_id)
            .await
            .unwrap()
            .is_empty()
    );
    for actor in [&staff, &auditor] {
        assert_eq!(
            ids(fx.app.search_by_id_number(actor, &a_id).await.unwrap()),
            [in_a.id]
        );
        assert_eq!(
            ids(fx.app.search_by_id_number(actor, &b_id).await.unwrap()),
            [in_b.id]
        );
    }
    // Surrounding blanks are ignored; a malformed number names its field.
    assert_eq!(
        ids(fx
            .app
            .search_by_id_number(&staff, &format!("  {a_id} "))
            .await
            .unwrap()),
        [in_a.id]
    );
    let r = fx
        .app
        .search_by_id_number(&staff, &with_bad_checksum(&a_id))
        .await;
    assert_eq!(fields_of(r), ["id_number"]);
    // Searches are audited without the number searched for.
    let rows = fx.audit_rows("member.search_id").await;
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| !r.detail.to_string().contains(&a_id)));
}

#[tokio::test]
async fn list_cursor_walks_every_member_exactly_once() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let mut registered = Vec::new();
    for seq in 100..123 {
        registered.push(fx.register(BRANCH_A, draft(seq)).await.id);
        if seq % 4 == 0 {
            // Interleave members of B; they must not show up in A's list.
            fx.register(BRANCH_B, draft(seq + 200)).await;
        }
    }
    for limit in [1u64, 5, 7, 23, 100] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = fx
                .app
                .list_members(&sec_a, BRANCH_A, cursor.as_deref(), limit)
                .await
                .unwrap();
            pages += 1;
            assert!(page.items.len() as u64 <= limit);
            assert!(page.items.iter().all(|m| m.org_id == fx.branch_a.id));
            seen.extend(page.items.iter().map(|m| m.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
            assert!(pages <= 100, "pagination does not end");
        }
        assert_eq!(seen.len(), registered.len(), "limit {limit}");
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no member twice (limit {limit})");
        assert_eq!(
            unique,
            registered.iter().copied().collect::<HashSet<_>>(),
            "limit {limit}"
        );
        assert_eq!(
            pages as u64,
            (registered.len() as u64).div_ceil(limit).max(1)
        );
    }
    let r = fx
        .app
        .list_members(&sec_a, BRANCH_A, Some("not-a-cursor"), 10)
        .await;
    assert_eq!(fields_of(r), ["cursor"]);
}
