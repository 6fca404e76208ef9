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
use dangjian_store::entities::{transfer_letter, warning, workflow_definition, workflow_timer};
use dangjian_workflow::Override;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

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
    let r = fx.app.confirm_arrival(&sec_a, l.id, None, vec![]).await;
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
        .confirm_arrival(&sec_b, l.id, None, vec![])
        .await
        .expect("confirm");
    assert_eq!(done.status, LetterStatus::Arrived);
    assert_eq!(done.arrived_on, Some(date(2026, 12, 5)));
    // The letter is a run of the transfer process; its history is the
    // timeline: who, in which role, when, what.
    assert_eq!(
        (done.process.as_str(), done.process_version),
        ("transfer", 1)
    );
    let steps: Vec<(&str, &str, Option<&str>)> = done
        .history
        .iter()
        .map(|e| (e.action.as_str(), e.role.as_str(), e.who.as_deref()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("issue", "sender:secretary", Some(sec_a.login.as_str())),
            ("confirm", "receiver:secretary", Some(sec_b.login.as_str())),
        ]
    );
    assert_eq!(done.history[0].on, Some(date(2026, 11, 28)));
    assert_eq!(done.history[1].on, Some(date(2026, 12, 5)));
    assert_eq!(done.history[1].label_zh, "接收支部确认报到");

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
    let r = fx.app.confirm_arrival(&sec_b, l.id, None, vec![]).await;
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

    // Arrival after the validity is a warning, not a block (DOMAIN.md
    // §12): refused without a reason, naming `letter_expired` ...
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    match fx
        .app
        .confirm_arrival(&sec_b, l.id, Some(date(2027, 3, 1)), vec![])
        .await
    {
        Err(AppError::Validation(v)) => {
            assert_eq!(v.0[0].field, "overrides");
            assert_eq!(v.0[0].code, "letter_expired");
            assert!(v.0[0].message_zh.contains("§12"), "{}", v.0[0].message_zh);
        }
        other => panic!("expected the letter_expired warning, got {other:?}"),
    }
    // ... a reason too short does not answer it ...
    let short = vec![Override {
        code: "letter_expired".into(),
        reason: " ".into(),
    }];
    let r = fx
        .app
        .confirm_arrival(&sec_b, l.id, Some(date(2027, 3, 1)), short)
        .await;
    assert_eq!(fields_of(r), vec!["overrides"]);
    // ... and with one the arrival is recorded with it; the flag closes.
    let done = fx
        .app
        .confirm_arrival(
            &sec_b,
            l.id,
            Some(date(2027, 3, 1)),
            vec![Override {
                code: "letter_expired".into(),
                reason: "本人出差延误，已电话说明".into(),
            }],
        )
        .await
        .expect("confirm late");
    assert_eq!(done.status, LetterStatus::Arrived);
    let last = done.history.last().expect("confirm entry");
    assert_eq!(last.action, "confirm");
    assert_eq!(last.overrides.len(), 1);
    assert_eq!(last.overrides[0].code, "letter_expired");
    assert_eq!(last.overrides[0].reason, "本人出差延误，已电话说明");
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
    // The receiver's exit is `return`, in the letter's timeline with its
    // reason and role.
    let last = r.history.last().expect("exit entry");
    assert_eq!(
        (last.action.as_str(), last.role.as_str()),
        ("return", "receiver:secretary")
    );
    assert_eq!(last.reason.as_deref(), Some("本人未到支部报到"));
    let r = fx.app.confirm_arrival(&sec_b, l.id, None, vec![]).await;
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
    // The receiving branch may not cancel without a reason either; the
    // sender's exit is `cancel`.
    assert_eq!(
        fields_of(fx.app.cancel_letter(&sec_b, l2.id, "").await),
        vec!["reason"]
    );
    let c = fx
        .app
        .cancel_letter(&sec_a, l2.id, "调动取消")
        .await
        .expect("cancel");
    let last = c.history.last().expect("exit entry");
    assert_eq!(
        (last.action.as_str(), last.role.as_str()),
        ("cancel", "sender:secretary")
    );
    assert_eq!(last.reason.as_deref(), Some("调动取消"));
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
        let r = fx.app.confirm_arrival(who, l.id, None, vec![]).await;
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
    let r = fx.app.confirm_arrival(&auditor, l.id, None, vec![]).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    let r = fx.app.cancel_letter(&auditor, l.id, "越权撤销").await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
}

/// A new App on the same database, the way a restarted server opens it.
fn restarted(fx: &Fixture, at: chrono::DateTime<Utc>) -> dangjian_app::App {
    let keys = dangjian_app::Keyring::from_json(&fx.app.keys.to_json(), "test").expect("keys");
    dangjian_app::App::new(
        fx.app.db.clone(),
        keys,
        std::sync::Arc::new(dangjian_app::FixedClock::new(at)),
    )
}

#[tokio::test]
async fn the_validity_is_a_timer_row_that_survives_a_restart() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let id = fx.register(BRANCH_A, draft(7)).await.id;
    let l = fx.app.issue_letter(&sec_a, to_b(id)).await.expect("issue");
    // The run's deadline: due on the last valid day, read by the sweep
    // from 30 days before (the widest blue window).
    let timers = workflow_timer::Entity::find()
        .all(&fx.app.db.conn)
        .await
        .expect("timers");
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].timer_key, "letter_valid");
    assert_eq!(timers[0].due_on, date(2027, 2, 28));
    assert_eq!(timers[0].remind_on, date(2027, 1, 29));
    assert_eq!(timers[0].state, "pending");

    // Another process on the same database, on the blue day: nothing in
    // memory carried over, the row drives the warning.
    let blue = Utc
        .with_ymd_and_hms(2027, 2, 21, 4, 0, 0)
        .single()
        .expect("t");
    let app = restarted(&fx, blue);
    app.start_workflows().await.expect("start");
    assert_eq!(app.sweep_transfer_letters(blue).await.expect("sweep"), 1);
    assert_eq!(
        letter_warnings(&fx, l.id).await,
        vec![("blue".to_string(), "open".to_string())]
    );
    let t = workflow_timer::Entity::find()
        .one(&fx.app.db.conn)
        .await
        .expect("db")
        .expect("timer");
    assert_eq!(t.state, "due_soon");
    // And after the validity, yellow; the timer overdue.
    let late = Utc
        .with_ymd_and_hms(2027, 3, 1, 4, 0, 0)
        .single()
        .expect("t");
    let app = restarted(&fx, late);
    app.sweep_transfer_letters(late).await.expect("sweep");
    let w = letter_warnings(&fx, l.id).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].0, "yellow");
    let t = workflow_timer::Entity::find()
        .one(&fx.app.db.conn)
        .await
        .expect("db")
        .expect("timer");
    assert_eq!(t.state, "overdue");
    // A cancellation closes the run: no timer is left, the warning closes.
    app.cancel_letter(&sec_a, l.id, "调动取消")
        .await
        .expect("cancel");
    assert!(
        workflow_timer::Entity::find()
            .all(&fx.app.db.conn)
            .await
            .expect("timers")
            .is_empty()
    );
    assert_ne!(letter_warnings(&fx, l.id).await[0].1, "open");
}

#[tokio::test]
async fn definitions_are_stored_and_an_edit_without_a_version_bump_is_refused() {
    let fx = Fixture::new().await;
    let stored = workflow_definition::Entity::find()
        .order_by_asc(workflow_definition::Column::ProcessKey)
        .all(&fx.app.db.conn)
        .await
        .expect("definitions");
    let keys: Vec<(&str, i32)> = stored
        .iter()
        .map(|d| (d.process_key.as_str(), d.version))
        .collect();
    assert_eq!(keys, vec![("admission", 1), ("transfer", 1)]);
    let transfer = &stored[1];
    assert_eq!(
        transfer.digest,
        dangjian_workflow::digest(&dangjian_app::transfers::definition())
    );
    assert!(transfer.definition.contains("\"exits\""));
    // Starting again stores nothing new.
    let again = fx.app.start_workflows().await.expect("start again");
    assert!(again.stored.is_empty(), "{again:?}");

    // New letters start on the latest version (v1), which the API serves.
    let def = fx.app.latest_definition("transfer").expect("latest");
    assert_eq!(def.version, 1);
    let e = fx.app.process_definition("transfer", 7).expect_err("no v7");
    assert!(
        e.to_string()
            .contains("transfer has no version 7 (known: [1])"),
        "{e}"
    );

    // A run that started on a version this build does not know is refused
    // with a clear error, not acted on with another version.
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let id = fx.register(BRANCH_A, draft(8)).await.id;
    let l = fx.app.issue_letter(&sec_a, to_b(id)).await.expect("issue");
    let row = transfer_letter::Entity::find_by_id(l.id)
        .one(&fx.app.db.conn)
        .await
        .expect("db")
        .expect("letter");
    let run = dangjian_store::entities::workflow_instance::Entity::find_by_id(
        row.instance_id.expect("run"),
    )
    .one(&fx.app.db.conn)
    .await
    .expect("db")
    .expect("run");
    let mut am: dangjian_store::entities::workflow_instance::ActiveModel = run.into();
    am.process_version = Set(2);
    am.update(&fx.app.db.conn).await.expect("bump");
    match fx.app.confirm_arrival(&sec_b, l.id, None, vec![]).await {
        Err(AppError::Internal(m)) => {
            assert!(m.contains("transfer has no version 2 (known: [1])"), "{m}")
        }
        other => panic!("expected the unknown version, got {other:?}"),
    }

    // The stored transfer definition edited behind the build's back (or
    // the build's edited without a bump): the application refuses to start.
    let mut am: workflow_definition::ActiveModel = transfer.clone().into();
    am.digest = Set("0".repeat(64));
    am.update(&fx.app.db.conn).await.expect("tamper");
    let e = fx.app.start_workflows().await.expect_err("refused");
    assert!(
        e.to_string()
            .contains("definition transfer v1 changed without a version bump"),
        "{e}"
    );
}

/// Inserts a letter the way the schema before M0012 held it (with its
/// `status` column), for the migration test.
#[allow(clippy::too_many_arguments)]
async fn old_letter(
    fx: &Fixture,
    number: &str,
    status: &str,
    member_id: i64,
    issued_by: i64,
    issued_on: chrono::NaiveDate,
    arrived_on: Option<chrono::NaiveDate>,
    cancel_reason: Option<&str>,
) {
    use sea_orm::sea_query::{Query, Value};
    let created = Utc.from_utc_datetime(&issued_on.and_hms_opt(2, 0, 0).expect("t"));
    let insert = Query::insert()
        .into_table("transfer_letters")
        .columns([
            "origin",
            "number",
            "kind",
            "status",
            "member_id",
            "member_name",
            "member_stage",
            "from_org_id",
            "from_org_code",
            "from_org_name",
            "to_org_id",
            "to_org_code",
            "to_org_name",
            "issued_on",
            "valid_until",
            "arrived_on",
            "cancel_reason",
            "issued_by",
            "closed_by",
            "created_at",
            "updated_at",
        ])
        .values_panic([
            "".into(),
            number.into(),
            "local".into(),
            status.into(),
            member_id.into(),
            "迁移党员".into(),
            "full".into(),
            fx.branch_a.id.into(),
            BRANCH_A.into(),
            BRANCH_A_NAME.into(),
            fx.branch_b.id.into(),
            BRANCH_B.into(),
            BRANCH_B_NAME.into(),
            issued_on.into(),
            dangjian_domain::transfers::valid_until(issued_on, 3).into(),
            Value::from(arrived_on).into(),
            Value::from(cancel_reason.map(String::from)).into(),
            Some(issued_by).into(),
            Value::from((status != "issued").then_some(issued_by)).into(),
            created.into(),
            created.into(),
        ])
        .to_owned();
    let backend = fx.app.db.conn.get_database_backend();
    fx.app
        .db
        .conn
        .execute_raw(backend.build(&insert))
        .await
        .expect("old letter");
}

#[tokio::test]
async fn m0012_puts_existing_letters_on_the_engine() {
    // The schema before M0012 (every migration before it), letters
    // written the old way, then the migrations from M0012 on and the
    // application start.
    let names = dangjian_app::Db::migration_names();
    let m0012 = names
        .iter()
        .position(|n| n == "m0012_transfer_workflow")
        .expect("m0012 is a migration");
    let before = u32::try_from(m0012).expect("count");
    let tdb = TestDb::migrated(Some(before)).await;
    let fx = Fixture::on(tdb, dangjian_app::Keyring::generate().expect("keys")).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let (open, arrived, cancelled) = (
        fx.register(BRANCH_A, draft(11)).await.id,
        fx.register(BRANCH_A, draft(12)).await.id,
        fx.register(BRANCH_A, draft(13)).await.id,
    );
    let uid = sec_a.user_id;
    old_letter(
        &fx,
        "A-2026-0001",
        "issued",
        open,
        uid,
        date(2026, 11, 20),
        None,
        None,
    )
    .await;
    old_letter(
        &fx,
        "A-2026-0002",
        "arrived",
        arrived,
        uid,
        date(2026, 9, 1),
        Some(date(2026, 9, 10)),
        None,
    )
    .await;
    old_letter(
        &fx,
        "A-2026-0003",
        "cancelled",
        cancelled,
        uid,
        date(2026, 10, 1),
        None,
        Some("调动取消"),
    )
    .await;

    assert_eq!(
        fx.app.db.migrate().await.expect("M0012 and after"),
        names.len() - m0012
    );
    let report = fx.app.start_workflows().await.expect("start");
    assert_eq!(report.migrated_runs, 3);
    // Idempotent: a second start finds nothing to write.
    assert_eq!(
        fx.app.start_workflows().await.expect("again").migrated_runs,
        0
    );

    let b = fx
        .app
        .branch_letters(&sec_a, BRANCH_A)
        .await
        .expect("letters");
    let by_number = |n: &str| {
        b.sent
            .iter()
            .find(|l| l.number == n)
            .cloned()
            .expect("letter")
    };
    let shape = |l: &dangjian_app::transfers::LetterView| {
        l.history
            .iter()
            .map(|e| (e.action.clone(), e.role.clone()))
            .collect::<Vec<_>>()
    };
    let m = |a: &str| (a.to_string(), "migrated".to_string());
    let l1 = by_number("A-2026-0001");
    assert_eq!(l1.status, LetterStatus::Issued);
    assert_eq!((l1.process.as_str(), l1.process_version), ("transfer", 1));
    assert_eq!(shape(&l1), vec![m("issue")]);
    assert_eq!(l1.history[0].on, Some(date(2026, 11, 20)));
    assert_eq!(l1.history[0].who.as_deref(), Some(sec_a.login.as_str()));
    let l2 = by_number("A-2026-0002");
    assert_eq!(l2.status, LetterStatus::Arrived);
    assert_eq!(shape(&l2), vec![m("issue"), m("confirm")]);
    assert_eq!(l2.history[1].on, Some(date(2026, 9, 10)));
    let l3 = by_number("A-2026-0003");
    assert_eq!(l3.status, LetterStatus::Cancelled);
    assert_eq!(shape(&l3), vec![m("issue"), m("cancel")]);
    assert_eq!(l3.history[1].reason.as_deref(), Some("调动取消"));

    // The open letter has its timer and keeps working: one open letter per
    // member still holds, the receiving branch confirms it.
    let timers = workflow_timer::Entity::find()
        .all(&fx.app.db.conn)
        .await
        .expect("timers");
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].due_on, date(2027, 2, 20));
    let r = fx.app.issue_letter(&sec_a, to_b(open)).await;
    assert!(
        matches!(&r, Err(AppError::Conflict(e)) if e.code == "letter_open"),
        "{r:?}"
    );
    let done = fx
        .app
        .confirm_arrival(&sec_b, l1.id, None, vec![])
        .await
        .expect("confirm the migrated letter");
    assert_eq!(done.status, LetterStatus::Arrived);
    assert_eq!(
        shape(&done),
        vec![m("issue"), ("confirm".into(), "receiver:secretary".into())]
    );
    // New letters run on the engine beside the migrated ones.
    let l5 = fx
        .app
        .issue_letter(&sec_a, to_b(cancelled))
        .await
        .expect("new letter");
    assert_eq!(l5.history.len(), 1);
    assert_eq!(l5.history[0].role, "sender:secretary");
}
