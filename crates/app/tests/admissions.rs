//! Admission stories (DOMAIN.md §4) on the workflow engine: a full run from
//! application to conversion with a moving clock, every fixed rule blocking
//! with a message citing its rule, warnings overridden with a reason,
//! deadlines moving to due-soon and overdue in the sweep, and who may see
//! and act (a sibling branch may not).

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use dangjian_app::AppError;
use dangjian_app::admissions::{AdmissionDetail, Applicant, NewApplicant, StepInput};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{Stage, StageDates};
use dangjian_domain::resident_id::compute_check_char;
use dangjian_workflow::{Override, Status, TimerState};
use serde_json::{Value, json};

/// Sets the fixture clock to noon (China time) of a day.
fn on(fx: &Fixture, y: i32, m: u32, d: u32) {
    fx.clock.set(
        Utc.with_ymd_and_hms(y, m, d, 4, 0, 0)
            .single()
            .expect("valid instant"),
    );
}

fn input(form: Value) -> StepInput {
    StepInput {
        form: form.as_object().cloned().unwrap_or_default(),
        attachments: vec![],
        overrides: vec![],
    }
}

fn with_attachments(form: Value, a: &[&str]) -> StepInput {
    StepInput {
        attachments: a.iter().map(|s| s.to_string()).collect(),
        ..input(form)
    }
}

fn with_override(form: Value, code: &str, reason: &str) -> StepInput {
    StepInput {
        overrides: vec![Override {
            code: code.into(),
            reason: reason.into(),
        }],
        ..input(form)
    }
}

/// The (field, code) pairs of a validation error, each message checked to
/// cite its rule.
fn breaches(r: Result<AdmissionDetail, AppError>) -> Vec<(String, &'static str)> {
    match r {
        Err(AppError::Validation(v)) => v
            .0
            .into_iter()
            .map(|e| {
                if !["required", "invalid_value", "unknown_field", "unknown_step"].contains(&e.code)
                {
                    assert!(
                        e.message_zh.contains("DOMAIN.md §4")
                            && e.message_en.contains("DOMAIN.md §4"),
                        "{e:?} cites its rule"
                    );
                }
                (e.field, e.code)
            })
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn has(b: &[(String, &'static str)], code: &str) -> bool {
    b.iter().any(|(_, c)| *c == code)
}

fn applicant(seq: u32, applied_on: chrono::NaiveDate) -> NewApplicant {
    NewApplicant {
        name: person_name(seq),
        id_number: id_number(seq),
        ethnicity: "汉族".into(),
        phone: Some(phone(seq)),
        education: None,
        dues_category: DuesCategory::Employed,
        applied_on,
    }
}

fn vote(held_on: &str, eligible: i64, present: i64, yes: i64, written_yes: i64) -> Value {
    json!({
        "held_on": held_on, "eligible": eligible, "present": present,
        "yes": yes, "no": present - yes, "abstain": 0, "written_yes": written_yes,
    })
}

/// (level, state) of the member's `admission_deadline` warnings.
async fn deadline_warnings(fx: &Fixture, member_id: i64) -> Vec<(String, String)> {
    use dangjian_store::entities::warning;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    warning::Entity::find()
        .filter(warning::Column::Rule.eq("admission_deadline"))
        .filter(warning::Column::SubjectKind.eq("member"))
        .filter(warning::Column::SubjectId.eq(member_id))
        .order_by_asc(warning::Column::Id)
        .all(&fx.app.db.conn)
        .await
        .expect("warnings")
        .into_iter()
        .map(|w| (w.level, w.state))
        .collect()
}

struct Cast {
    secretary: dangjian_app::Actor,
    staff: dangjian_app::Actor,
    sibling: dangjian_app::Actor,
    full: Vec<i64>,
    probationary: i64,
}

async fn cast(fx: &Fixture) -> Cast {
    let mut full = Vec::new();
    for seq in 1..=3 {
        full.push(fx.register(BRANCH_A, draft(seq)).await.id);
    }
    let mut p = draft(4);
    p.stage = Stage::Probationary;
    p.stage_dates = StageDates {
        full_on: None,
        probationary_on: Some(date(2026, 6, 1)),
        ..full_member_dates()
    };
    let probationary = fx.register(BRANCH_A, p).await.id;
    Cast {
        secretary: fx.user(Role::Secretary, BRANCH_A).await,
        staff: fx.user(Role::CommitteeStaff, COMMITTEE).await,
        sibling: fx.user(Role::Secretary, BRANCH_B).await,
        full,
        probationary,
    }
}

/// A 1×1 PNG's header: enough for the content check.
fn tiny_png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    b.extend_from_slice(&[0x5a; 64]);
    b
}

/// Issue 8: the materials of an admission are files on record — typed by
/// content, encrypted at rest, read back whole, audited, and out of reach
/// of another branch.
async fn materials_are_stored_encrypted_and_scoped(fx: &Fixture, c: &Cast, id: i64) {
    use dangjian_store::entities::admission_attachment;
    use sea_orm::EntityTrait;
    let app = &fx.app;
    let sec = &c.secretary;
    let png = tiny_png();
    let a = app
        .upload_admission_attachment(
            sec,
            id,
            "political_review_report",
            "政审材料.png",
            png.clone(),
        )
        .await
        .expect("upload");
    assert_eq!(a.kind.code, "political_review_report");
    assert_eq!(a.kind.label_zh, "政治审查材料");
    assert_eq!(a.content_type, "image/png");
    // Stored encrypted: the row does not hold the file's bytes.
    let row = admission_attachment::Entity::find_by_id(a.id)
        .one(&app.db.conn)
        .await
        .expect("read")
        .expect("row");
    assert!(!row.data_enc.windows(16).any(|w| w == &png[8..24]));
    let (v, bytes) = app
        .download_admission_attachment(sec, id, a.id)
        .await
        .expect("download");
    assert_eq!((v.filename.as_str(), bytes), ("政审材料.png", png.clone()));
    let audited = dangjian_store::repo::audit::for_target(&app.db.conn, "admission", id, 50)
        .await
        .expect("audit");
    assert!(
        audited
            .iter()
            .any(|e| e.action == "admission.attachment.download")
    );
    assert_eq!(
        app.admission_attachments(sec, id)
            .await
            .expect("list")
            .len(),
        1
    );
    // Wrong kind, wrong content: refused, naming the field.
    let e = app
        .upload_admission_attachment(sec, id, "diary", "x.png", png.clone())
        .await
        .expect_err("kind");
    assert!(format!("{e:?}").contains("\"kind\""), "{e:?}");
    let e = app
        .upload_admission_attachment(sec, id, "other", "x.png", b"MZ not an image".to_vec())
        .await
        .expect_err("type");
    assert!(format!("{e:?}").contains("unsupported_type"), "{e:?}");
    // Another branch's secretary: nothing, not even that it exists.
    assert!(matches!(
        app.admission_attachments(&c.sibling, id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.download_admission_attachment(&c.sibling, id, a.id)
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.upload_admission_attachment(&c.sibling, id, "other", "x.png", png)
            .await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn full_admission_from_application_to_conversion() {
    let fx = Fixture::new().await;
    let c = cast(&fx).await;
    let app = &fx.app;
    let (sec, staff) = (&c.secretary, &c.staff);

    on(&fx, 2024, 1, 10);
    let d = app
        .start_admission(
            sec,
            BRANCH_A,
            Applicant::Person(applicant(10, date(2024, 1, 10))),
        )
        .await
        .expect("start");
    let id = d.summary.id;
    let member_id = d.summary.member_id;
    assert_eq!(d.summary.steps_done, 1);
    assert_eq!(
        d.summary.next_step.as_ref().map(|s| s.key.as_str()),
        Some("talk")
    );
    let talk = d
        .summary
        .timers
        .iter()
        .find(|t| t.key == "talk_due")
        .expect("talk timer");
    assert_eq!(
        (talk.due_on, talk.remind_on, talk.state),
        (date(2024, 2, 10), date(2024, 2, 3), TimerState::Pending)
    );

    // Steps run in their fixed order.
    let r = app
        .act_on_admission(
            sec,
            id,
            "approval",
            input(json!({"approved_on": "2024-01-10"})),
        )
        .await;
    assert!(
        matches!(r, Err(AppError::Conflict(ref e)) if e.code == "step_out_of_order"),
        "{r:?}"
    );

    // The talk deadline: due soon a week before, overdue after a month.
    on(&fx, 2024, 2, 5);
    assert_eq!(
        app.sweep_admission_timers(fx.app.clock.now())
            .await
            .expect("sweep"),
        1
    );
    let p = app
        .admission_pipeline(sec, BRANCH_A)
        .await
        .expect("pipeline");
    assert_eq!(p[0].worst(), Some(TimerState::DueSoon));
    on(&fx, 2024, 2, 12);
    assert_eq!(
        app.sweep_admission_timers(fx.app.clock.now())
            .await
            .expect("sweep"),
        1
    );
    let p = app
        .admission_pipeline(sec, BRANCH_A)
        .await
        .expect("pipeline");
    assert_eq!(p[0].worst(), Some(TimerState::Overdue));
    // A late talk is a warning: it needs a reason, which is recorded.
    let late = json!({"talked_on": "2024-02-12", "talker": "王伟"});
    let b = breaches(
        app.act_on_admission(sec, id, "talk", input(late.clone()))
            .await,
    );
    assert_eq!(b, vec![("overrides".to_string(), "talk_late")]);
    let d = app
        .act_on_admission(
            sec,
            id,
            "talk",
            with_override(late, "talk_late", "申请人外出务工，春节后返乡"),
        )
        .await
        .expect("talk with reason");
    assert_eq!(
        d.history[1].overrides[0].reason,
        "申请人外出务工，春节后返乡"
    );
    assert!(d.summary.timers.iter().all(|t| t.key != "talk_due"));
    // The talk held clears the warning by data.
    assert_eq!(
        deadline_warnings(&fx, member_id).await,
        vec![("yellow".to_string(), "corrected".to_string())]
    );

    on(&fx, 2024, 3, 1);
    app.act_on_admission(
        sec,
        id,
        "activist",
        input(json!({"decided_on": "2024-03-01"})),
    )
    .await
    .expect("activist");
    // The higher committee's step: not for the secretary.
    on(&fx, 2024, 3, 5);
    let r = app
        .act_on_admission(
            sec,
            id,
            "activist_filing",
            input(json!({"filed_on": "2024-03-05"})),
        )
        .await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    app.act_on_admission(
        staff,
        id,
        "activist_filing",
        input(json!({"filed_on": "2024-03-05"})),
    )
    .await
    .expect("filing");
    on(&fx, 2024, 3, 6);
    let b = breaches(
        app.act_on_admission(
            sec,
            id,
            "contacts",
            input(json!({"assigned_on": "2024-03-06", "contact_ids": [c.probationary]})),
        )
        .await,
    );
    assert!(has(&b, "probationary_not_allowed"), "{b:?}");
    app.act_on_admission(
        sec,
        id,
        "contacts",
        input(json!({"assigned_on": "2024-03-06", "contact_ids": [c.full[0]]})),
    )
    .await
    .expect("contacts");
    on(&fx, 2024, 9, 1);
    app.act_on_admission(
        sec,
        id,
        "activist_education",
        input(json!({"assessed_on": "2024-09-01", "assessment": "表现良好"})),
    )
    .await
    .expect("education");
    on(&fx, 2025, 2, 20);
    let d = app
        .act_on_admission(
            sec,
            id,
            "assessment",
            input(json!({"assessed_on": "2025-02-20", "assessment": "积极上进"})),
        )
        .await
        .expect("assessment");
    let next = d
        .summary
        .timers
        .iter()
        .find(|t| t.key == "assessment_due")
        .expect("assessment timer");
    assert_eq!(next.due_on, date(2025, 8, 20));

    // At least one year as activist: the day before is refused.
    on(&fx, 2025, 3, 1);
    let b = breaches(
        app.act_on_admission(
            sec,
            id,
            "development_target",
            input(json!({"decided_on": "2025-02-28"})),
        )
        .await,
    );
    assert_eq!(
        b,
        vec![("form.decided_on".to_string(), "activist_period_too_short")]
    );
    app.act_on_admission(
        sec,
        id,
        "development_target",
        input(json!({"decided_on": "2025-03-01"})),
    )
    .await
    .expect("target");
    on(&fx, 2025, 3, 3);
    app.act_on_admission(
        staff,
        id,
        "target_filing",
        input(json!({"filed_on": "2025-03-03"})),
    )
    .await
    .expect("target filing");

    // Two full members as introducers, never probationary.
    on(&fx, 2025, 3, 4);
    for (ids, code) in [
        (vec![c.full[0]], "introducers_count"),
        (vec![c.full[0], c.probationary], "probationary_not_allowed"),
        (vec![c.full[0], member_id], "candidate_named"),
    ] {
        let b = breaches(
            app.act_on_admission(
                sec,
                id,
                "introducers",
                input(json!({"assigned_on": "2025-03-04", "introducer_ids": ids})),
            )
            .await,
        );
        assert!(has(&b, code), "{code}: {b:?}");
    }
    // A member of the sibling branch is unknown to this secretary.
    let outsider = fx.register(BRANCH_B, draft(5)).await.id;
    let b = breaches(
        app.act_on_admission(
            sec,
            id,
            "introducers",
            input(json!({"assigned_on": "2025-03-04", "introducer_ids": [c.full[0], outsider]})),
        )
        .await,
    );
    assert!(has(&b, "not_full_member"), "{b:?}");
    app.act_on_admission(
        sec,
        id,
        "introducers",
        input(json!({"assigned_on": "2025-03-04", "introducer_ids": [c.full[0], c.full[1]]})),
    )
    .await
    .expect("introducers");

    // Political review: its report and a written conclusion.
    on(&fx, 2025, 4, 1);
    let r = app
        .act_on_admission(
            sec,
            id,
            "political_review",
            input(json!({"concluded_on": "2025-04-01", "conclusion": "政治合格"})),
        )
        .await;
    assert_eq!(
        breaches(r),
        vec![("attachments".to_string(), "attachment_missing")]
    );
    let b = breaches(
        app.act_on_admission(
            sec,
            id,
            "political_review",
            with_attachments(
                json!({"concluded_on": "2025-04-01", "conclusion": " "}),
                &["political_review_report"],
            ),
        )
        .await,
    );
    assert_eq!(
        b,
        vec![("form.conclusion".to_string(), "review_conclusion_missing")]
    );
    // The scan of the report on record counts as handed in: the material
    // is stored (encrypted), not only ticked.
    materials_are_stored_encrypted_and_scoped(&fx, &c, id).await;
    let d = app
        .act_on_admission(
            sec,
            id,
            "political_review",
            input(json!({"concluded_on": "2025-04-01", "conclusion": "政治合格"})),
        )
        .await
        .expect("review with the scan on record");
    assert_eq!(
        d.history.last().map(|h| h.attachments.clone()),
        Some(vec!["political_review_report".to_string()])
    );

    // Training: 3 days or 24 hours.
    on(&fx, 2025, 4, 10);
    let t = |days: i64, hours: i64| {
        with_attachments(
            json!({"completed_on": "2025-04-10", "days": days, "hours": hours}),
            &["training_certificate"],
        )
    };
    let b = breaches(app.act_on_admission(sec, id, "training", t(2, 23)).await);
    assert_eq!(b, vec![("form.days".to_string(), "training_too_short")]);
    app.act_on_admission(sec, id, "training", t(0, 24))
        .await
        .expect("training");
    on(&fx, 2025, 4, 15);
    app.act_on_admission(
        sec,
        id,
        "branch_review",
        input(json!({"reviewed_on": "2025-04-15"})),
    )
    .await
    .expect("branch review");

    // Pre-review, then 5 working days of public notice (Mon 21 – Fri 25 April).
    on(&fx, 2025, 4, 20);
    let notice = |to: &str| {
        input(
            json!({"pre_reviewed_on": "2025-04-20", "notice_from": "2025-04-21", "notice_to": to}),
        )
    };
    let b = breaches(
        app.act_on_admission(staff, id, "pre_review", notice("2025-04-24"))
            .await,
    );
    assert_eq!(b, vec![("form.notice_to".to_string(), "notice_too_short")]);
    // The period is configured per subtree, upward only (DOMAIN.md §4:
    // "configurable, 5 working days"): at 7, Mon 21 – Fri 25 is too short.
    app.set_thresholds(
        staff,
        BRANCH_A,
        &json!({"admission_deadline": {"notice_working_days": 7}}),
    )
    .await
    .expect("thresholds");
    let b = breaches(
        app.act_on_admission(staff, id, "pre_review", notice("2025-04-25"))
            .await,
    );
    assert_eq!(b, vec![("form.notice_to".to_string(), "notice_too_short")]);
    app.set_thresholds(
        staff,
        BRANCH_A,
        &json!({"admission_deadline": {"notice_working_days": 5}}),
    )
    .await
    .expect("thresholds back");
    app.act_on_admission(staff, id, "pre_review", notice("2025-04-25"))
        .await
        .expect("pre-review");
    on(&fx, 2025, 4, 25);
    app.act_on_admission(
        sec,
        id,
        "volunteer_form",
        with_attachments(json!({"filled_on": "2025-04-25"}), &["volunteer_form"]),
    )
    .await
    .expect("volunteer form");

    // The assembly: after the notice, quorum and majority of all entitled.
    let b = breaches(
        app.act_on_admission(sec, id, "assembly", input(vote("2025-04-25", 10, 6, 6, 0)))
            .await,
    );
    assert!(has(&b, "assembly_before_notice_end"), "{b:?}");
    on(&fx, 2025, 4, 28);
    let b = breaches(
        app.act_on_admission(sec, id, "assembly", input(vote("2025-04-28", 10, 5, 5, 0)))
            .await,
    );
    assert!(
        has(&b, "quorum_not_met") && has(&b, "majority_not_reached"),
        "{b:?}"
    );
    let b = breaches(
        app.act_on_admission(sec, id, "assembly", input(vote("2025-04-28", 10, 6, 5, 0)))
            .await,
    );
    assert_eq!(b, vec![("form.yes".to_string(), "majority_not_reached")]);
    // A written YES of an absent voter makes the sixth vote.
    let d = app
        .act_on_admission(sec, id, "assembly", input(vote("2025-04-28", 10, 6, 5, 1)))
        .await
        .expect("assembly");
    let due = d
        .summary
        .timers
        .iter()
        .find(|t| t.key == "approval_due")
        .expect("approval timer");
    assert_eq!(due.due_on, date(2025, 7, 28));
    on(&fx, 2025, 5, 10);
    app.act_on_admission(
        staff,
        id,
        "committee_talk",
        input(json!({"talked_on": "2025-05-10"})),
    )
    .await
    .expect("committee talk");

    // Approval: beyond 6 months refused, 3–6 months with a reason.
    on(&fx, 2025, 10, 29);
    let b = breaches(
        app.act_on_admission(
            staff,
            id,
            "approval",
            input(json!({"approved_on": "2025-10-29"})),
        )
        .await,
    );
    assert_eq!(
        b,
        vec![("form.approved_on".to_string(), "approval_too_late")]
    );
    on(&fx, 2025, 8, 15);
    let late = json!({"approved_on": "2025-08-15", "document": "东委组〔2025〕12号"});
    let b = breaches(
        app.act_on_admission(staff, id, "approval", input(late.clone()))
            .await,
    );
    assert_eq!(b, vec![("overrides".to_string(), "approval_late")]);
    let d = app
        .act_on_admission(
            staff,
            id,
            "approval",
            with_override(late, "approval_late", "党委换届，会议推迟"),
        )
        .await
        .expect("approval");
    assert_eq!(d.summary.stage, Stage::Probationary);
    let m = app.member_detail(&fx.sys, member_id).await.expect("member");
    // Probation counts from the assembly.
    assert_eq!(m.stage_dates.probationary_on, Some(date(2025, 4, 28)));

    on(&fx, 2025, 8, 20);
    app.act_on_admission(
        staff,
        id,
        "org_filing",
        input(json!({"filed_on": "2025-08-20"})),
    )
    .await
    .expect("org filing");
    on(&fx, 2025, 8, 25);
    app.act_on_admission(
        sec,
        id,
        "placement",
        input(json!({"placed_on": "2025-08-25", "group": "第一党小组"})),
    )
    .await
    .expect("placement");
    on(&fx, 2025, 9, 1);
    app.act_on_admission(sec, id, "oath", input(json!({"sworn_on": "2025-09-01"})))
        .await
        .expect("oath");

    // One extension of 6 to 12 months, once.
    on(&fx, 2026, 4, 1);
    let ext = |months: i64| input(json!({"decided_on": "2026-04-01", "months": months}));
    let b = breaches(app.act_on_admission(sec, id, "extension", ext(5)).await);
    assert_eq!(b, vec![("form.months".to_string(), "extension_length")]);
    app.act_on_admission(sec, id, "extension", ext(6))
        .await
        .expect("extension");
    let b = breaches(app.act_on_admission(sec, id, "extension", ext(6)).await);
    assert_eq!(b, vec![("form.months".to_string(), "extension_repeated")]);
    app.act_on_admission(
        sec,
        id,
        "probation_education",
        input(json!({"assessed_on": "2026-04-01"})),
    )
    .await
    .expect("probation education");
    on(&fx, 2026, 10, 1);
    let d = app
        .act_on_admission(
            sec,
            id,
            "conversion_application",
            input(json!({"applied_on": "2026-10-01"})),
        )
        .await
        .expect("conversion application");
    let end = d
        .summary
        .timers
        .iter()
        .find(|t| t.key == "probation_end")
        .expect("probation timer");
    assert_eq!(end.due_on, date(2026, 10, 28));

    // The conversion vote comes when the (extended) probation has ended.
    on(&fx, 2026, 10, 28);
    let b = breaches(
        app.act_on_admission(
            sec,
            id,
            "conversion_vote",
            input(vote("2026-10-27", 10, 8, 8, 0)),
        )
        .await,
    );
    assert_eq!(b, vec![("form.held_on".to_string(), "probation_not_over")]);
    app.act_on_admission(
        sec,
        id,
        "conversion_vote",
        input(vote("2026-10-28", 10, 8, 8, 0)),
    )
    .await
    .expect("conversion vote");
    on(&fx, 2026, 11, 10);
    let d = app
        .act_on_admission(
            staff,
            id,
            "conversion_approval",
            input(json!({"approved_on": "2026-11-10"})),
        )
        .await
        .expect("conversion approval");
    assert_eq!(d.summary.stage, Stage::Full);
    on(&fx, 2026, 11, 20);
    let d = app
        .act_on_admission(
            sec,
            id,
            "archiving",
            input(json!({"archived_on": "2026-11-20"})),
        )
        .await
        .expect("archiving");
    assert_eq!(d.summary.status, Status::Completed);
    assert_eq!(d.summary.steps_done, 25);
    assert!(d.summary.timers.is_empty());
    assert_eq!(d.history.len(), 25 + 2);
    let r = app
        .act_on_admission(
            sec,
            id,
            "assessment",
            input(json!({"assessed_on": "2026-11-20", "assessment": "x"})),
        )
        .await;
    assert!(
        matches!(r, Err(AppError::Conflict(ref e)) if e.code == "process_closed"),
        "{r:?}"
    );

    // The member record went through the archive path: four stage changes,
    // each an event with its ledger leaf.
    let m = app.member_detail(&fx.sys, member_id).await.expect("member");
    assert_eq!(m.summary.stage, Stage::Full);
    assert_eq!(m.stage_dates.full_on, Some(date(2026, 10, 28)));
    assert_eq!(
        m.events
            .iter()
            .filter(|e| e.kind == "stage_changed")
            .count(),
        4
    );
    let report = app.ledger_verify().await.expect("verify");
    assert!(report.ok, "{:?}", report.problems);
    assert!(
        app.admission_pipeline(sec, BRANCH_A)
            .await
            .expect("pipeline")
            .is_empty()
    );
    forms_carry_the_record(&fx, &c, id).await;
}

/// Issue 8 scope 3, "fill once": every form of the finished admission is a
/// PDF that parses and carries the record's data (names for member ids);
/// the sibling branch gets NotFound; each download is audited.
async fn forms_carry_the_record(fx: &Fixture, c: &Cast, id: i64) {
    let app = &fx.app;
    let forms = app.admission_forms(&c.secretary, id).await.expect("forms");
    assert_eq!(forms.len(), dangjian_app::admission_forms::FORMS.len());
    assert!(forms.len() >= 7);
    assert!(forms.iter().all(|f| f.recorded > 0), "{forms:?}");
    let name = person_name(10);
    let contact = app
        .member_detail(&fx.sys, c.full[0])
        .await
        .expect("contact")
        .summary
        .name;
    let text_of = |pdf: &[u8]| -> String {
        pdf_extract::extract_text_from_mem(pdf)
            .expect("the PDF parses")
            .split_whitespace()
            .collect()
    };
    for f in &forms {
        let (file, pdf) = app
            .admission_form_pdf(&c.secretary, id, f.key)
            .await
            .expect("form");
        assert!(file.ends_with(".pdf") && file.contains(&name), "{file}");
        let text = text_of(&pdf);
        assert!(text.contains(&name), "{}: {text}", f.key);
        assert!(text.contains(f.title_zh), "{}: {text}", f.key);
        match f.key {
            "political_review" => assert!(text.contains("政治合格"), "{text}"),
            "activist_registration" => assert!(text.contains(&contact), "{text}"),
            "public_notice" => assert!(text.contains("2025-04-21"), "{text}"),
            _ => {}
        }
    }
    assert_eq!(fx.audit_rows("admission.form").await.len(), forms.len());
    assert!(matches!(
        app.admission_form_pdf(&c.sibling, id, "political_review")
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.admission_form_pdf(&c.secretary, id, "no_such_form")
            .await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_applicant_under_18_is_refused_citing_the_rule() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    on(&fx, 2026, 3, 20);
    let first17 = "11010520080315123";
    let mut young = applicant(20, date(2026, 3, 14));
    young.id_number = format!("{first17}{}", compute_check_char(first17));
    let r = fx
        .app
        .start_admission(&sec, BRANCH_A, Applicant::Person(young.clone()))
        .await;
    assert_eq!(
        breaches(r),
        vec![("form.applied_on".to_string(), "age_under_18")]
    );
    assert_eq!(fx.member_rows().await, 0);
    // On the 18th birthday it starts.
    young.applied_on = date(2026, 3, 15);
    fx.app
        .start_admission(&sec, BRANCH_A, Applicant::Person(young))
        .await
        .expect("18 on the day");
}

#[tokio::test]
async fn access_follows_the_tree_and_the_member_sees_their_own() {
    let fx = Fixture::new().await;
    let c = cast(&fx).await;
    on(&fx, 2026, 1, 10);
    let reg = fx
        .app
        .register_member(&fx.sys, BRANCH_A, {
            let mut d = draft(30);
            d.stage = Stage::Applicant;
            d.stage_dates = StageDates {
                applied_on: Some(date(2026, 1, 5)),
                ..Default::default()
            };
            d
        })
        .await
        .expect("register applicant");
    let d = fx
        .app
        .start_admission(&c.secretary, BRANCH_A, Applicant::Member(reg.id))
        .await
        .expect("start for a registered applicant");
    let id = d.summary.id;
    // A second open admission of the same person is refused.
    let r = fx
        .app
        .start_admission(&c.secretary, BRANCH_A, Applicant::Member(reg.id))
        .await;
    assert!(
        matches!(r, Err(AppError::Conflict(ref e)) if e.code == "admission_open"),
        "{r:?}"
    );
    // A full member cannot be started as applicant.
    let r = fx
        .app
        .start_admission(&c.secretary, BRANCH_A, Applicant::Member(c.full[0]))
        .await;
    assert!(
        matches!(r, Err(AppError::Conflict(ref e)) if e.code == "not_an_applicant"),
        "{r:?}"
    );

    // The sibling branch's secretary: nothing exists.
    let s = &c.sibling;
    assert!(matches!(
        fx.app.admission_detail(s, id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .act_on_admission(s, id, "talk", input(json!({"talked_on": "2026-01-10"})))
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.admission_pipeline(s, BRANCH_A).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .start_admission(s, BRANCH_A, Applicant::Member(reg.id))
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.member_admissions(s, reg.id).await,
        Err(AppError::NotFound(_))
    ));
    // Nor can they start one for branch A's applicant in their own branch.
    assert!(matches!(
        fx.app
            .start_admission(s, BRANCH_B, Applicant::Member(reg.id))
            .await,
        Err(AppError::NotFound(_))
    ));

    // The applicant sees their own timeline, not another's; a member may not act.
    let me = fx
        .user_for_member(Role::Member, BRANCH_A, Some(reg.id))
        .await;
    let mine = fx
        .app
        .admission_detail(&me, id)
        .await
        .expect("own timeline");
    assert!(!mine.can_act);
    assert_eq!(
        fx.app
            .member_admissions(&me, reg.id)
            .await
            .expect("own list")
            .len(),
        1
    );
    let other = fx
        .user_for_member(Role::Member, BRANCH_A, Some(c.full[0]))
        .await;
    assert!(matches!(
        fx.app.admission_detail(&other, id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .act_on_admission(&me, id, "talk", input(json!({"talked_on": "2026-01-10"})))
            .await,
        Err(AppError::NotFound(_))
    ));

    // Committee staff above see the branch's pipeline.
    let p = fx
        .app
        .admission_pipeline(&c.staff, BRANCH_A)
        .await
        .expect("staff pipeline");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].next_step.as_ref().map(|s| s.number), Some(2));

    // Form errors name their field; dates cannot lie in the future.
    let b = breaches(
        fx.app
            .act_on_admission(
                &c.secretary,
                id,
                "talk",
                input(json!({"talked_on": "2026-13-01", "x": 1})),
            )
            .await,
    );
    assert!(
        b.contains(&("form.talked_on".to_string(), "invalid_value"))
            && b.contains(&("form.x".to_string(), "unknown_field")),
        "{b:?}"
    );
    let b = breaches(
        fx.app
            .act_on_admission(
                &c.secretary,
                id,
                "talk",
                input(json!({"talked_on": "2026-01-11"})),
            )
            .await,
    );
    assert_eq!(b, vec![("form.talked_on".to_string(), "date_in_future")]);
    let b = breaches(
        fx.app
            .act_on_admission(
                &c.secretary,
                id,
                "talk",
                input(json!({"talked_on": "2026-01-04"})),
            )
            .await,
    );
    assert_eq!(b, vec![("form.talked_on".to_string(), "date_order")]);
    let r = fx
        .app
        .act_on_admission(&c.secretary, id, "nonsense", input(json!({})))
        .await;
    assert!(
        matches!(r, Err(AppError::Validation(ref v)) if v.0[0].code == "unknown_step"),
        "{r:?}"
    );
}

#[tokio::test]
async fn deadlines_survive_a_restart_and_concurrent_actions_land_once() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    on(&fx, 2026, 1, 10);
    let d = fx
        .app
        .start_admission(
            &sec,
            BRANCH_A,
            Applicant::Person(applicant(40, date(2026, 1, 10))),
        )
        .await
        .expect("start");
    let (id, member_id) = (d.summary.id, d.summary.member_id);

    // A new process on the same database, a month and a day later: the
    // deadline row is still there and the sweep finds it overdue.
    let later = Utc
        .with_ymd_and_hms(2026, 2, 11, 4, 0, 0)
        .single()
        .expect("t");
    let keys = dangjian_app::Keyring::from_json(&fx.app.keys.to_json(), "test").expect("keys");
    let restarted = dangjian_app::App::new(
        fx.app.db.clone(),
        keys,
        std::sync::Arc::new(dangjian_app::FixedClock::new(later)),
    );
    assert_eq!(
        restarted
            .sweep_admission_timers(later)
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(
        deadline_warnings(&fx, member_id).await,
        vec![("yellow".to_string(), "open".to_string())]
    );
    // Sweeping again changes nothing.
    assert_eq!(
        restarted
            .sweep_admission_timers(later)
            .await
            .expect("sweep"),
        0
    );

    // Two secretaries record the same step at once: one lands, the other
    // is told the step is no longer next (or was just recorded).
    on(&fx, 2026, 1, 20);
    let sec2 = fx.user(Role::Secretary, BRANCH_A).await;
    let talk = || input(json!({"talked_on": "2026-01-20"}));
    let (a, b) = tokio::join!(
        fx.app.act_on_admission(&sec, id, "talk", talk()),
        fx.app.act_on_admission(&sec2, id, "talk", talk()),
    );
    let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    let err = if a.is_err() { a } else { b };
    assert!(
        matches!(err, Err(AppError::Conflict(ref e)) if e.code == "step_out_of_order" || e.code == "concurrent_action"),
        "{err:?}"
    );
    let d = fx.app.admission_detail(&sec, id).await.expect("detail");
    assert_eq!(d.history.len(), 2);

    // Ending the admission needs a reason; it closes and clears what is due.
    let r = fx.app.cancel_admission(&sec, id, " ").await;
    assert!(
        matches!(r, Err(AppError::Validation(ref v)) if v.0[0].field == "reason"),
        "{r:?}"
    );
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    assert!(matches!(
        fx.app.cancel_admission(&staff, id, "本人撤回").await,
        Err(AppError::Forbidden)
    ));
    let d = fx
        .app
        .cancel_admission(&sec, id, "本人撤回入党申请")
        .await
        .expect("cancel");
    assert_eq!(d.summary.status, Status::Cancelled);
    assert!(d.summary.timers.is_empty() && d.summary.next_step.is_none());
    let r = fx
        .app
        .act_on_admission(
            &sec,
            id,
            "activist",
            input(json!({"decided_on": "2026-01-20"})),
        )
        .await;
    assert!(
        matches!(r, Err(AppError::Conflict(ref e)) if e.code == "process_closed"),
        "{r:?}"
    );
    // A new admission may start for the same person afterwards.
    fx.app
        .start_admission(&sec, BRANCH_A, Applicant::Member(member_id))
        .await
        .expect("start again");
}

/// DOMAIN.md §4, §9: the clock walked across the talk deadline (one month
/// after the application, reminded 7 days before) raises one blue
/// `admission_deadline` warning, escalates the same row to yellow when
/// overdue, changes nothing when swept again, and the talk recorded corrects
/// it: never a second row.
#[tokio::test]
async fn talk_deadline_clock_walk_raises_escalates_and_closes_once() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    on(&fx, 2026, 1, 10);
    let d = fx
        .app
        .start_admission(
            &sec,
            BRANCH_A,
            Applicant::Person(applicant(41, date(2026, 1, 10))),
        )
        .await
        .expect("start");
    let (id, member_id) = (d.summary.id, d.summary.member_id);
    let sweep = |y, m, day| {
        let t = Utc
            .with_ymd_and_hms(y, m, day, 4, 0, 0)
            .single()
            .expect("t");
        fx.clock.set(t);
        fx.app.sweep_admission_timers(t)
    };
    sweep(2026, 2, 2).await.expect("sweep");
    assert!(deadline_warnings(&fx, member_id).await.is_empty());
    sweep(2026, 2, 4).await.expect("sweep");
    assert_eq!(
        deadline_warnings(&fx, member_id).await,
        [("blue".to_string(), "open".to_string())]
    );
    assert_eq!(sweep(2026, 2, 5).await.expect("sweep"), 0);
    sweep(2026, 2, 11).await.expect("sweep");
    assert_eq!(
        deadline_warnings(&fx, member_id).await,
        [("yellow".to_string(), "open".to_string())]
    );
    assert_eq!(sweep(2026, 2, 12).await.expect("sweep"), 0);
    assert_eq!(deadline_warnings(&fx, member_id).await.len(), 1);
    let late = json!({"talked_on": "2026-02-12", "talker": "王伟"});
    fx.app
        .act_on_admission(
            &sec,
            id,
            "talk",
            with_override(late, "talk_late", "申请人出差，返回后即谈话"),
        )
        .await
        .expect("talk with reason");
    assert_eq!(
        deadline_warnings(&fx, member_id).await,
        [("yellow".to_string(), "corrected".to_string())]
    );
}
