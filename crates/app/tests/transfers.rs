//! Transfer stories (DOMAIN.md §12) within one server: a letter issued by
//! the sending branch and confirmed by the receiving one moves a
//! probationary member with their probation dates and history; an
//! unconfirmed letter past its validity is flagged by the sweep and the
//! flag closes on confirmation; a letter is cancelled or returned with a
//! reason; a branch of another subtree can neither see nor act on it.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use dangjian_app::AppError;
use dangjian_app::transfers::IssueInput;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{MemberStatus, Stage, StageDates};
use dangjian_domain::transfers::{LetterKind, LetterStatus};
use dangjian_store::entities::warning;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn on(fx: &Fixture, y: i32, m: u32, d: u32) {
    fx.clock.set(
        Utc.with_ymd_and_hms(y, m, d, 4, 0, 0)
            .single()
            .expect("valid instant"),
    );
}

/// (level, state) of a letter's `transfer_letter_expired` warnings.
async fn letter_warnings(fx: &Fixture, letter_id: i64) -> Vec<(String, String)> {
    warning::Entity::find()
        .filter(warning::Column::Rule.eq("transfer_letter_expired"))
        .filter(warning::Column::SubjectKind.eq("letter"))
        .filter(warning::Column::SubjectId.eq(letter_id))
        .order_by_asc(warning::Column::Id)
        .all(&fx.app.db.conn)
        .await
        .expect("warnings")
        .into_iter()
        .map(|w| (w.level, w.state))
        .collect()
}

/// A probationary member of branch A (admitted 2026-06-01).
async fn probationary(fx: &Fixture, seq: u32) -> i64 {
    let mut d = draft(seq);
    d.stage = Stage::Probationary;
    d.stage_dates = StageDates {
        applied_on: Some(date(2024, 1, 10)),
        activist_on: Some(date(2024, 3, 1)),
        development_target_on: Some(date(2025, 4, 1)),
        probationary_on: Some(date(2026, 6, 1)),
        full_on: None,
    };
    fx.register(BRANCH_A, d).await.id
}

fn to_b(member_id: i64) -> IssueInput {
    IssueInput {
        member_id,
        to_org_code: BRANCH_B.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn section_12_letter_moves_a_probationary_member_with_history() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let id = probationary(&fx, 1).await;
    let before = fx
        .app
        .member_detail(&fx.sys, id)
        .await
        .expect("detail")
        .events
        .len();

    let l = fx.app.issue_letter(&sec_a, to_b(id)).await.expect("issue");
    assert_eq!(l.kind, LetterKind::Local);
    assert_eq!(l.status, LetterStatus::Issued);
    assert_eq!(l.number, format!("{BRANCH_A}-2026-0001"));
    // Default validity: 3 months (DOMAIN.md §12).
    assert_eq!(l.issued_on, date(2026, 11, 28));
    assert_eq!(l.valid_until, date(2027, 2, 28));
    assert!(!l.may_confirm, "the sender does not confirm arrival");
    // A second open letter for the same person is refused.
    let again = fx.app.issue_letter(&sec_a, to_b(id)).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    // The sending secretary may not confirm; the receiving one may.
    let r = fx.app.confirm_arrival(&sec_a, l.id, None).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    let seen = fx
        .app
        .branch_letters(&sec_b, BRANCH_B)
        .await
        .expect("letters of B");
    assert_eq!(seen.received.len(), 1);
    assert!(seen.received[0].may_confirm);

    on(&fx, 2026, 12, 5);
    let done = fx
        .app
        .confirm_arrival(&sec_b, l.id, None)
        .await
        .expect("confirm");
    assert_eq!(done.status, LetterStatus::Arrived);
    assert_eq!(done.arrived_on, Some(date(2026, 12, 5)));

    // The same row moved: stage and probation dates kept, history grown by
    // one `transferred` event, nothing duplicated.
    let d = fx.app.member_detail(&fx.sys, id).await.expect("detail");
    assert_eq!(d.org.code, BRANCH_B);
    assert_eq!(d.summary.stage, Stage::Probationary);
    assert_eq!(d.stage_dates.probationary_on, Some(date(2026, 6, 1)));
    assert_eq!(d.events.len(), before + 1);
    assert_eq!(
        d.events.last().map(|e| e.kind.as_str()),
        Some("transferred")
    );
    assert_eq!(fx.member_rows().await, 1);
    assert_eq!(fx.audit_rows("member.transfer").await.len(), 1);
    // The ledger agrees with the moved row.
    let report = fx.app.ledger_verify().await.expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Confirming twice is a conflict.
    let r = fx.app.confirm_arrival(&sec_b, l.id, None).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "{r:?}");
    // Branch A's secretary no longer manages the member: a new letter is B's to issue.
    let r = fx.app.issue_letter(&sec_a, to_b(id)).await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
}

#[tokio::test]
async fn section_12_expired_letter_is_flagged_and_closed_on_confirmation() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let id = fx.register(BRANCH_A, draft(2)).await.id;
    // Committee staff above the branch may issue too.
    let l = fx.app.issue_letter(&staff, to_b(id)).await.expect("issue");
    assert!(letter_warnings(&fx, l.id).await.is_empty());

    // Not yet in the reminder window (7 days before 2027-02-28).
    on(&fx, 2027, 2, 20);
    fx.app
        .sweep_transfer_letters(fx.app.clock.now())
        .await
        .expect("sweep");
    assert!(letter_warnings(&fx, l.id).await.is_empty());
    on(&fx, 2027, 2, 21);
    fx.app
        .sweep_transfer_letters(fx.app.clock.now())
        .await
        .expect("sweep");
    assert_eq!(
        letter_warnings(&fx, l.id).await,
        vec![("blue".to_string(), "open".to_string())]
    );
    // The last valid day is still blue; the day after, yellow.
    on(&fx, 2027, 3, 1);
    fx.app
        .sweep_transfer_letters(fx.app.clock.now())
        .await
        .expect("sweep");
    let w = letter_warnings(&fx, l.id).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, "yellow");
    let view = fx.app.letter_detail(&sec_a, l.id).await.expect("detail");
    assert!(view.expired);
    // The warning names the letter and goes to the sending branch.
    let wid = warning::Entity::find()
        .filter(warning::Column::Rule.eq("transfer_letter_expired"))
        .filter(warning::Column::SubjectId.eq(l.id))
        .one(&fx.app.db.conn)
        .await
        .expect("db")
        .expect("warning")
        .id;
    let detail = fx
        .app
        .warning_detail(&sec_a, wid)
        .await
        .expect("visible to A");
    assert!(
        detail.subject_label.contains(&l.number),
        "{}",
        detail.subject_label
    );

    // Arrival is confirmed late (a warning, not a block): the flag closes.
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    fx.app
        .confirm_arrival(&sec_b, l.id, Some(date(2027, 3, 1)))
        .await
        .expect("confirm late");
    let w = letter_warnings(&fx, l.id).await;
    assert_eq!(w.len(), 1);
    assert_ne!(w[0].1, "open", "{w:?}");
}

#[tokio::test]
async fn section_12_cancel_and_return_need_a_reason() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let id = fx.register(BRANCH_A, draft(3)).await.id;
    let l = fx.app.issue_letter(&sec_a, to_b(id)).await.expect("issue");
    assert_eq!(
        fields_of(fx.app.cancel_letter(&sec_a, l.id, " ").await),
        vec!["reason"]
    );
    // The receiving branch returns it.
    let r = fx
        .app
        .cancel_letter(&sec_b, l.id, "本人未到支部报到")
        .await
        .expect("return");
    assert_eq!(r.status, LetterStatus::Cancelled);
    assert_eq!(r.cancel_reason.as_deref(), Some("本人未到支部报到"));
    let r = fx.app.confirm_arrival(&sec_b, l.id, None).await;
    assert!(matches!(r, Err(AppError::Conflict(_))), "{r:?}");
    // The member stayed; a new letter can be issued, numbered on.
    let d = fx.app.member_detail(&fx.sys, id).await.expect("detail");
    assert_eq!(d.org.code, BRANCH_A);
    assert_eq!(d.summary.status, MemberStatus::Active);
    let l2 = fx
        .app
        .issue_letter(&sec_a, to_b(id))
        .await
        .expect("reissue");
    assert_eq!(l2.number, format!("{BRANCH_A}-2026-0002"));
    fx.app
        .cancel_letter(&sec_a, l2.id, "调动取消")
        .await
        .expect("cancel");
}

#[tokio::test]
async fn section_12_rules_on_issue() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let id = fx.register(BRANCH_A, draft(4)).await.id;
    let mut same = to_b(id);
    same.to_org_code = BRANCH_A.into();
    assert_eq!(
        fields_of(fx.app.issue_letter(&sec_a, same).await),
        vec!["to_org"]
    );
    let mut unknown = to_b(id);
    unknown.to_org_code = "NOPE".into();
    assert_eq!(
        fields_of(fx.app.issue_letter(&sec_a, unknown).await),
        vec!["to_org"]
    );
    let mut long = to_b(id);
    long.validity_months = Some(13);
    assert_eq!(
        fields_of(fx.app.issue_letter(&sec_a, long).await),
        vec!["validity_months"]
    );
    let mut short = to_b(id);
    short.validity_months = Some(1);
    let l = fx.app.issue_letter(&sec_a, short).await.expect("issue");
    assert_eq!(l.valid_until, date(2026, 12, 28));
    // An activist is not a party member and does not transfer.
    let mut d = draft(5);
    d.stage = Stage::Activist;
    d.stage_dates = StageDates {
        applied_on: Some(date(2025, 1, 10)),
        activist_on: Some(date(2025, 3, 1)),
        ..Default::default()
    };
    let act = fx.register(BRANCH_A, d).await.id;
    assert_eq!(
        fields_of(fx.app.issue_letter(&sec_a, to_b(act)).await),
        vec!["member_id"]
    );
}

#[tokio::test]
async fn section_2_another_subtree_neither_sees_nor_acts_on_a_letter() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let id = fx.register(BRANCH_A, draft(6)).await.id;
    let l = fx.app.issue_letter(&sec_a, to_b(id)).await.expect("issue");
    // A third branch elsewhere in the tree: its secretary and the staff of
    // the city's other county see nothing.
    let other = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-C1-X2",
                "远山县委",
                dangjian_domain::orgs::OrgKind::County,
                dangjian_domain::orgs::OrgSetting::StateOrgan,
                Some(CITY),
            ),
        )
        .await
        .expect("county 2");
    let outsider = fx.user(Role::CommitteeStaff, &other.code).await;
    let member_a = fx.user(Role::Member, BRANCH_A).await;
    for who in [&outsider, &member_a] {
        let r = fx.app.letter_detail(who, l.id).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
        let r = fx.app.confirm_arrival(who, l.id, None).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
        let r = fx.app.cancel_letter(who, l.id, "越权撤销").await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
        let r = fx.app.export_letter(who, l.id).await;
        assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    }
    let r = fx.app.branch_letters(&outsider, BRANCH_A).await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    let r = fx.app.issue_letter(&outsider, to_b(id)).await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    // An auditor above sees the letter but may not act.
    let auditor = fx.user(Role::Auditor, COUNTY).await;
    assert!(fx.app.letter_detail(&auditor, l.id).await.is_ok());
    let r = fx.app.confirm_arrival(&auditor, l.id, None).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    let r = fx.app.cancel_letter(&auditor, l.id, "越权撤销").await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}
