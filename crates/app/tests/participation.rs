//! Participation stories (DOMAIN.md §5, §6) with the fixed clock moved
//! across the thresholds: three unexcused absences in a row raise
//! `consecutive_absences` when the meeting closes and cost 5 points (3 and 5
//! configurable per subtree); the sweep adds no duplicate; attending clears
//! it. Six months without organizational life escalate `six_month_no_life`
//! blue → yellow → red on one warning, never removing anyone, and attending
//! clears it. Near-duplicate minutes are flagged naming the other meeting
//! to those who may see it, "another organization's" to others, and the
//! branch confirms with a reason.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use dangjian_app::meetings::{MeetingInput, OfflineEntry};
use dangjian_app::{Actor, AppError};
use dangjian_domain::identity::Role;
use dangjian_domain::meetings::{AttendanceState, MeetingKind, MeetingStatus};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).single().expect("t")
}

struct Branch {
    f: Fixture,
    secretary: Actor,
    members: Vec<(i64, Actor)>,
}

async fn branch() -> Branch {
    let f = Fixture::new().await;
    let secretary = f.user(Role::Secretary, BRANCH_A).await;
    let mut members = Vec::new();
    for seq in 1..=3 {
        let m = f.register(BRANCH_A, draft(seq)).await;
        let a = f.user_for_member(Role::Member, BRANCH_A, Some(m.id)).await;
        members.push((m.id, a));
    }
    Branch {
        f,
        secretary,
        members,
    }
}

/// Holds a theme day of branch A on `day` with `present` recorded from the
/// paper list, the clock moved to two hours after its start.
async fn hold(b: &Branch, day: DateTime<Utc>, present: &[i64]) -> i64 {
    let app = &b.f.app;
    b.f.clock.set(day - Duration::days(1));
    let m = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            MeetingInput {
                kind: MeetingKind::ThemeDay,
                title: format!("{} 主题党日", day.format("%Y-%m")),
                agenda: "学习".into(),
                place: Some("党员活动室".into()),
                online_link: None,
                lecturer: None,
                by_secretary: false,
                starts_at: day,
                ends_at: day + Duration::hours(1),
                repeat: None,
                repeat_count: 1,
                attendee_ids: None,
            },
        )
        .await
        .expect("schedule")[0]
        .id;
    b.f.clock.set(day + Duration::hours(2));
    if !present.is_empty() {
        app.record_offline(
            &b.secretary,
            m,
            present
                .iter()
                .map(|&id| OfflineEntry {
                    member_id: id,
                    state: AttendanceState::Present,
                    leave_reason: None,
                })
                .collect(),
        )
        .await
        .expect("paper list");
    }
    app.set_meeting_status(&b.secretary, m, MeetingStatus::Held)
        .await
        .expect("held");
    m
}

async fn warnings(f: &Fixture, rule: &str, member: i64) -> Vec<(String, String, String)> {
    use dangjian_store::entities::warning;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    warning::Entity::find()
        .filter(warning::Column::Rule.eq(rule))
        .filter(warning::Column::SubjectKind.eq("member"))
        .filter(warning::Column::SubjectId.eq(member))
        .order_by_asc(warning::Column::Id)
        .all(&f.app.db.conn)
        .await
        .expect("warnings")
        .into_iter()
        .map(|w| (w.period_key, w.level, w.state))
        .collect()
}

/// The `minutes_near_duplicate` warnings of meeting `id`: (period, level, state, detail).
async fn minutes_warnings(f: &Fixture, id: i64) -> Vec<(String, String, String, String)> {
    use dangjian_store::entities::warning;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    warning::Entity::find()
        .filter(warning::Column::Rule.eq("minutes_near_duplicate"))
        .filter(warning::Column::SubjectKind.eq("meeting"))
        .filter(warning::Column::SubjectId.eq(id))
        .order_by_asc(warning::Column::Id)
        .all(&f.app.db.conn)
        .await
        .expect("warnings")
        .into_iter()
        .map(|w| (w.period_key, w.level, w.state, w.detail_zh))
        .collect()
}

#[tokio::test]
async fn three_absences_in_a_row_raise_cost_points_and_clear_on_attending() {
    let b = branch().await;
    let app = &b.f.app;
    let (m1, m2) = (b.members[0].0, b.members[1].0);
    let everyone: Vec<i64> = b.members.iter().map(|m| m.0).collect();
    let first = hold(&b, at(2027, 1, 10), &[m1]).await;
    hold(&b, at(2027, 2, 10), &[m1]).await;
    assert!(warnings(&b.f, "consecutive_absences", m2).await.is_empty());
    hold(&b, at(2027, 3, 10), &[m1]).await;
    // Raised when the third meeting closed, in its transaction.
    let key = format!("run:{first}");
    assert_eq!(
        warnings(&b.f, "consecutive_absences", m2).await,
        vec![(key.clone(), "yellow".into(), "open".into())]
    );
    assert!(warnings(&b.f, "consecutive_absences", m1).await.is_empty());

    // The sweep finds the same condition: no duplicate.
    let r = app
        .sweep_participation(at(2027, 3, 11))
        .await
        .expect("sweep");
    assert_eq!(r.changes.raised, 0);
    assert_eq!(warnings(&b.f, "consecutive_absences", m2).await.len(), 1);

    // The report: rate by type, the run and 5 points off.
    let p = app
        .member_participation(&b.secretary, m2, 2027)
        .await
        .expect("report");
    assert_eq!(p.report.total.expected, 3);
    assert_eq!(p.report.total.absent, 3);
    assert_eq!(p.report.by_kind[0].kind, MeetingKind::ThemeDay);
    assert_eq!(p.report.by_kind[0].rate.percent(), Some(0));
    assert_eq!(p.report.longest_run, 3);
    assert_eq!(p.report.deduction_points, 5);
    // The member reads their own; another member may not.
    let own = app
        .my_participation(&b.members[1].1, 2027)
        .await
        .expect("own");
    assert_eq!(own.report.deduction_points, 5);
    assert!(matches!(
        app.member_participation(&b.members[0].1, m2, 2027).await,
        Err(AppError::NotFound(_))
    ));
    // A secretary of another branch sees nothing.
    let other = b.f.user(Role::Secretary, BRANCH_B).await;
    assert!(matches!(
        app.member_participation(&other, m2, 2027).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.branch_participation(&other, BRANCH_A, 2027).await,
        Err(AppError::NotFound(_))
    ));

    // The rule is configured per subtree (audited overrides): 2 in a row, 4 points.
    let staff = b.f.user(Role::CommitteeStaff, COMMITTEE).await;
    app.set_thresholds(
        &staff,
        BRANCH_A,
        &serde_json::json!({"consecutive_absences": {"count": 2, "deduct_points": 4}}),
    )
    .await
    .expect("thresholds");
    let table = app
        .branch_participation(&b.secretary, BRANCH_A, 2027)
        .await
        .expect("table");
    assert_eq!(table.members.len(), 3);
    assert_eq!(table.members[0].report.threshold_count, 2);
    // Three in a row at 2: one full run of two, 4 points; listed first.
    assert_eq!(table.members[0].report.deduction_points, 4);

    // Attending ends the run: the warning is cleared by data, not deleted.
    hold(&b, at(2027, 4, 10), &everyone).await;
    assert_eq!(
        warnings(&b.f, "consecutive_absences", m2).await,
        vec![(key, "yellow".into(), "corrected".into())]
    );
}

#[tokio::test]
async fn an_online_sign_in_ends_the_run_at_once() {
    // DOMAIN.md §5–§6: attending ends a run of unexcused absences, whichever
    // track records it. Presence counts once the meeting is held; a late
    // online sign-in to a meeting already marked held clears the warning in
    // its own transaction, without waiting for the sweep.
    let b = branch().await;
    let app = &b.f.app;
    let (m1, m2) = (b.members[0].0, b.members[1].0);
    for month in 1..=3 {
        hold(&b, at(2027, month, 10), &[m1]).await;
    }
    let open = warnings(&b.f, "consecutive_absences", m2).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].2, "open");

    let day = at(2027, 4, 10);
    b.f.clock.set(day - Duration::days(1));
    let id = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            MeetingInput {
                kind: MeetingKind::ThemeDay,
                title: "2027-04 主题党日".into(),
                agenda: "学习".into(),
                place: Some("党员活动室".into()),
                online_link: None,
                lecturer: None,
                by_secretary: false,
                starts_at: day,
                ends_at: day + Duration::hours(1),
                repeat: None,
                repeat_count: 1,
                attendee_ids: None,
            },
        )
        .await
        .expect("schedule")[0]
        .id;
    let code = app
        .meeting_detail(&b.secretary, id)
        .await
        .expect("detail")
        .signin_code
        .expect("the secretary sees the code");
    b.f.clock.set(day + Duration::minutes(10));
    // A member without a live warning signs in: nothing changes for them.
    app.sign_in(&b.members[0].1, id, &code)
        .await
        .expect("m1 signs in");
    assert!(warnings(&b.f, "consecutive_absences", m1).await.is_empty());
    // The secretary marks the meeting held while sign-in is still open; m2,
    // not yet signed in, counts absent, so the run goes on.
    b.f.clock.set(day + Duration::minutes(40));
    app.set_meeting_status(&b.secretary, id, MeetingStatus::Held)
        .await
        .expect("held");
    assert_eq!(
        warnings(&b.f, "consecutive_absences", m2).await[0].2,
        "open"
    );
    // m2 arrives late and signs in inside the window: present at a held
    // meeting, the run is over.
    b.f.clock.set(day + Duration::minutes(55));
    app.sign_in(&b.members[1].1, id, &code)
        .await
        .expect("m2 signs in");
    let after = warnings(&b.f, "consecutive_absences", m2).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].2, "corrected", "cleared by the sign-in: {after:?}");
}

#[tokio::test]
async fn six_months_without_life_escalate_on_one_warning_and_clear_on_attending() {
    let b = branch().await;
    let app = &b.f.app;
    let m3 = b.members[2].0;
    let others = [b.members[0].0, b.members[1].0];
    hold(&b, at(2027, 1, 10), &[others[0], others[1], m3]).await;
    hold(&b, at(2027, 2, 10), &others).await;

    let sweep = |t| async move { app.sweep_participation(t).await.expect("sweep") };
    b.f.clock.set(at(2027, 4, 9));
    sweep(at(2027, 4, 9)).await;
    assert!(warnings(&b.f, "six_month_no_life", m3).await.is_empty());

    b.f.clock.set(at(2027, 4, 10));
    let r = sweep(at(2027, 4, 10)).await;
    assert_eq!(r.changes.raised, 1);
    let key = "since:2027-01-10".to_string();
    assert_eq!(
        warnings(&b.f, "six_month_no_life", m3).await,
        vec![(key.clone(), "blue".into(), "open".into())]
    );
    // Again the same day: nothing new.
    assert_eq!(sweep(at(2027, 4, 10)).await.changes.raised, 0);

    b.f.clock.set(at(2027, 6, 10));
    assert_eq!(sweep(at(2027, 6, 10)).await.changes.escalated, 1);
    assert_eq!(
        warnings(&b.f, "six_month_no_life", m3).await,
        vec![(key.clone(), "yellow".into(), "open".into())]
    );
    b.f.clock.set(at(2027, 7, 10));
    sweep(at(2027, 7, 10)).await;
    assert_eq!(
        warnings(&b.f, "six_month_no_life", m3).await,
        vec![(key.clone(), "red".into(), "open".into())]
    );
    // Never an automatic removal: the member is still active.
    let member = dangjian_store::repo::members::get(&app.db.conn, m3)
        .await
        .expect("read")
        .expect("member");
    assert_eq!(member.status, "active");

    // Attending closes the condition (on write, when the meeting closes).
    hold(&b, at(2027, 7, 15), &[m3]).await;
    assert_eq!(
        warnings(&b.f, "six_month_no_life", m3).await,
        vec![(key, "red".into(), "corrected".into())]
    );
    assert_eq!(sweep(at(2027, 7, 16)).await.changes.raised, 0);
}

const MINUTES: &str = "2026年11月10日下午，第一党支部在三楼会议室召开支部党员大会，应到党员12名，实到11名。\n\
    会议由支部书记主持。首先，全体党员集中学习了党的二十大报告关于全面从严治党的论述，书记结合本单位实际作了辅导。\n\
    其次，会议听取了入党积极分子培养考察情况汇报，与会党员逐一发表意见，一致同意将其列为发展对象。\n\
    最后，会议研究了下季度主题党日活动安排，决定组织党员赴革命纪念馆开展现场教学。";

#[tokio::test]
async fn near_duplicate_minutes_are_flagged_and_confirmed_with_a_reason() {
    let b = branch().await;
    let app = &b.f.app;
    let first = hold(&b, at(2026, 12, 10), &[]).await;
    let day = |t: DateTime<Utc>| dangjian_app::clock::to_local(t).date_naive();
    app.save_minutes(&b.secretary, first, MINUTES, day(at(2026, 12, 10)))
        .await
        .expect("minutes");
    let c = app.minutes_check(&b.secretary, first).await.expect("check");
    assert!(c.checked);
    assert!(c.duplicates.is_empty());

    // The next meeting's minutes copy the first with the date changed.
    let second = hold(&b, at(2027, 1, 10), &[]).await;
    let copy = MINUTES.replace("2026年11月10日", "2027年1月10日");
    app.save_minutes(&b.secretary, second, &copy, day(at(2027, 1, 10)))
        .await
        .expect("minutes");
    let c = app
        .minutes_check(&b.secretary, second)
        .await
        .expect("check");
    assert_eq!(c.duplicates.len(), 1);
    // Through the warning engine too (issue 6): a yellow warning on the
    // meeting, raised in the transaction that saved the minutes; none on the
    // original.
    let w = minutes_warnings(&b.f, second).await;
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].1.as_str(), w[0].2.as_str()), ("yellow", "open"));
    assert!(w[0].3.contains("1 次"), "{}", w[0].3);
    assert!(minutes_warnings(&b.f, first).await.is_empty());
    let d = &c.duplicates[0];
    assert!(d.visible);
    assert_eq!(d.meeting_id, Some(first));
    assert!(d.similarity_percent >= 80, "{}", d.similarity_percent);
    assert_eq!(d.org_name.as_deref(), Some(BRANCH_A_NAME));

    // Branch B's secretary copies them too: B is told only "another organization's".
    let sec_b = b.f.user(Role::Secretary, BRANCH_B).await;
    b.f.clock.set(at(2027, 1, 19));
    let mb = app
        .schedule_meeting(
            &sec_b,
            BRANCH_B,
            MeetingInput {
                kind: MeetingKind::BranchAssembly,
                title: "支部党员大会".into(),
                agenda: "学习".into(),
                place: Some("社区会议室".into()),
                online_link: None,
                lecturer: None,
                by_secretary: false,
                starts_at: at(2027, 1, 20),
                ends_at: at(2027, 1, 20) + Duration::hours(1),
                repeat: None,
                repeat_count: 1,
                attendee_ids: None,
            },
        )
        .await
        .expect("schedule")[0]
        .id;
    b.f.clock.set(at(2027, 1, 21));
    app.set_meeting_status(&sec_b, mb, MeetingStatus::Held)
        .await
        .expect("held");
    app.save_minutes(&sec_b, mb, MINUTES, day(at(2027, 1, 20)))
        .await
        .expect("minutes");
    let cb = app.minutes_check(&sec_b, mb).await.expect("check");
    assert_eq!(cb.duplicates.len(), 2);
    assert!(cb.duplicates.iter().all(|d| !d.visible
        && d.meeting_id.is_none()
        && d.title.is_none()
        && d.org_name.is_none()));
    // Branch B's warning counts the two meetings and names neither: the
    // committee above B reads it, and A's meetings are not theirs to see.
    let wb = minutes_warnings(&b.f, mb).await;
    assert_eq!(wb.len(), 1);
    assert!(wb[0].3.contains("2 次") && !wb[0].3.contains(BRANCH_A_NAME));
    // Branch A now also sees B's copy, without its details.
    let c = app
        .minutes_check(&b.secretary, second)
        .await
        .expect("check");
    assert_eq!(c.duplicates.len(), 2);
    assert_eq!(c.duplicates.iter().filter(|d| d.visible).count(), 1);

    // Confirming needs a reason and the manager; it is stored and audited.
    assert!(matches!(
        app.confirm_minutes(&b.secretary, second, "  ").await,
        Err(AppError::Validation(_))
    ));
    assert!(matches!(
        app.confirm_minutes(&b.members[0].1, second, "理由").await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.confirm_minutes(&sec_b, second, "理由").await,
        Err(AppError::NotFound(_))
    ));
    let c = app
        .confirm_minutes(&b.secretary, second, "两次会议议程相同，记录按统一模板填写")
        .await
        .expect("confirm");
    assert_eq!(
        c.confirmation.expect("stored").reason,
        "两次会议议程相同，记录按统一模板填写"
    );
    // The confirmation closes the warning (kept, never deleted).
    let w = minutes_warnings(&b.f, second).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].2, "corrected");
    let audited = dangjian_store::repo::audit::for_target(&app.db.conn, "meeting", second, 50)
        .await
        .expect("audit");
    assert!(
        audited
            .iter()
            .any(|a| a.action == "meeting.minutes_confirmed")
    );

    // New text drops the confirmation and the flag; unrelated minutes are not flagged.
    let own = "本次会议传达学习了上级关于乡村振兴的文件精神，围绕村集体经济发展、人居环境整治和志愿服务队伍建设逐项讨论，明确了责任人和完成时限。";
    app.save_minutes(&b.secretary, second, own, day(at(2027, 1, 10)))
        .await
        .expect("minutes");
    let c = app
        .minutes_check(&b.secretary, second)
        .await
        .expect("check");
    assert!(c.duplicates.is_empty());
    assert!(c.confirmation.is_none());
    assert!(matches!(
        app.confirm_minutes(&b.secretary, second, "理由").await,
        Err(AppError::Conflict(_))
    ));
}
