//! Organizational life stories (DOMAIN.md §5): a branch schedules meetings
//! with their expected attendees; members sign in online with the code
//! inside the window, once; the secretary enters the paper list and decides
//! leave requests; each record keeps its channel; the records that cannot
//! lie (overlap, held in the future, minutes before the meeting, sign-in
//! outside the window) are refused naming the other record; frequency
//! compliance counts held meetings; a sibling branch sees nothing.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use dangjian_app::meetings::{MeetingInput, OfflineEntry};
use dangjian_app::{Actor, AppError};
use dangjian_domain::identity::Role;
use dangjian_domain::meetings::{
    AttendanceState, Channel, LeaveStatus, MeetingKind, MeetingStatus, PeriodState, Repeat,
    Requirement,
};

fn input(kind: MeetingKind, title: &str, starts_at: DateTime<Utc>) -> MeetingInput {
    MeetingInput {
        kind,
        title: title.into(),
        agenda: "学习贯彻会议精神；讨论下季度工作".into(),
        place: Some("村委会二楼会议室".into()),
        online_link: None,
        lecturer: None,
        by_secretary: false,
        starts_at,
        ends_at: starts_at + Duration::hours(2),
        repeat: None,
        repeat_count: 1,
        attendee_ids: None,
    }
}

struct Branch {
    f: Fixture,
    secretary: Actor,
    members: Vec<(i64, Actor)>,
}

/// Branch A with three full members (each with a user) and a secretary.
async fn branch() -> Branch {
    branch_with(Fixture::new().await).await
}

async fn branch_with(f: Fixture) -> Branch {
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

fn code_of(r: &Result<impl std::fmt::Debug, AppError>) -> String {
    match r {
        Err(AppError::Validation(v)) => v.0[0].code.to_string(),
        Err(AppError::Conflict(e)) => e.code.to_string(),
        Err(AppError::NotFound(_)) => "not_found".into(),
        Err(AppError::Forbidden) => "forbidden".into(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn schedule_sign_in_offline_leave_held_minutes() {
    let b = branch().await;
    let (app, now) = (&b.f.app, fixture_now());
    // Starts in 20 minutes: the sign-in window is open (30 minutes before).
    let m = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(
                MeetingKind::BranchAssembly,
                "第四季度支部党员大会",
                now + Duration::minutes(20),
            ),
        )
        .await
        .expect("schedule");
    assert_eq!(m.len(), 1);
    let id = m[0].id;
    let d = app.meeting_detail(&b.secretary, id).await.expect("detail");
    assert_eq!(d.counts.expected, 3);
    let code = d.signin_code.clone().expect("secretary sees the code");
    assert_eq!(code.len(), 6);

    // A member sees no code and no one else's row.
    let (m1, a1) = &b.members[0];
    let dm = app.meeting_detail(a1, id).await.expect("member detail");
    assert!(dm.signin_code.is_none());
    assert!(dm.attendance.is_empty());
    assert!(dm.can_sign_in);

    // Wrong code, then the right one, then again.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(code_of(&app.sign_in(a1, id, wrong).await), "wrong_code");
    let s = app.sign_in(a1, id, &code).await.expect("sign in");
    assert_eq!(s.channel, Some(Channel::Online));
    assert_eq!(
        code_of(&app.sign_in(a1, id, &code).await),
        "already_present"
    );

    // Held in the future is refused; once started it is accepted.
    assert_eq!(
        code_of(
            &app.set_meeting_status(&b.secretary, id, MeetingStatus::Held)
                .await
        ),
        "held_in_future"
    );
    // Paper list before the start is refused too.
    let entries = vec![
        OfflineEntry {
            member_id: *m1,
            state: AttendanceState::Present,
            leave_reason: None,
        },
        OfflineEntry {
            member_id: b.members[1].0,
            state: AttendanceState::Present,
            leave_reason: None,
        },
    ];
    assert_eq!(
        code_of(&app.record_offline(&b.secretary, id, entries.clone()).await),
        "meeting_in_future"
    );

    // The third member asks for leave; the secretary approves.
    let (m3, a3) = &b.members[2];
    let l = app.request_leave(a3, id, "外出务工").await.expect("leave");
    assert_eq!(l.leave_status, Some(LeaveStatus::Pending));
    app.decide_leave(&b.secretary, id, *m3, true)
        .await
        .expect("approve");
    assert_eq!(
        code_of(&app.decide_leave(&b.secretary, id, *m3, true).await),
        "no_pending_leave"
    );

    b.f.clock.advance(Duration::minutes(30));
    let r = app
        .record_offline(&b.secretary, id, entries)
        .await
        .expect("paper list");
    assert_eq!((r.recorded, r.unchanged), (1, 1));
    let d = app.meeting_detail(&b.secretary, id).await.expect("detail");
    assert_eq!(
        (
            d.counts.present,
            d.counts.online,
            d.counts.offline,
            d.counts.leave
        ),
        (2, 1, 1, 1)
    );
    let row = |mid: i64| {
        d.attendance
            .iter()
            .find(|a| a.member_id == mid)
            .expect("row")
            .clone()
    };
    assert_eq!(
        row(*m1).channel,
        Some(Channel::Online),
        "online record kept"
    );
    assert_eq!(row(b.members[1].0).channel, Some(Channel::Offline));
    assert_eq!(row(*m3).leave_status, Some(LeaveStatus::Approved));

    let held = app
        .set_meeting_status(&b.secretary, id, MeetingStatus::Held)
        .await
        .expect("held");
    assert_eq!(held.status, MeetingStatus::Held);
    assert_eq!(
        code_of(
            &app.set_meeting_status(&b.secretary, id, MeetingStatus::Cancelled)
                .await
        ),
        "invalid_transition"
    );

    // Minutes dated before the meeting are refused; on the day accepted.
    let r = app
        .save_minutes(&b.secretary, id, "会议记录正文", date(2026, 11, 27))
        .await;
    assert_eq!(code_of(&r), "before_meeting");
    let v = app
        .save_minutes(&b.secretary, id, "会议记录正文", date(2026, 11, 28))
        .await
        .expect("minutes");
    assert_eq!(v.minutes.as_deref(), Some("会议记录正文"));

    // Members cannot manage; the member's own record lists the meeting.
    assert_eq!(
        code_of(
            &app.set_meeting_status(a1, id, MeetingStatus::Cancelled)
                .await
        ),
        "forbidden"
    );
    let mine = app.my_attendance(a1).await.expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, AttendanceState::Present);
    assert!(!mine[0].absent);
    assert_eq!(b.f.audit_rows("meeting.status").await.len(), 1);
}

#[tokio::test]
async fn sign_in_window_and_overlap_name_the_other_record() {
    let b = branch().await;
    let (app, now) = (&b.f.app, fixture_now());
    let (_, a1) = &b.members[0];
    // Two hours ahead: the window is not open yet.
    let later = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(
                MeetingKind::ThemeDay,
                "十一月主题党日",
                now + Duration::hours(2),
            ),
        )
        .await
        .expect("schedule")[0]
        .clone();
    let code = app
        .meeting_detail(&b.secretary, later.id)
        .await
        .expect("detail")
        .signin_code
        .expect("code");
    let r = app.sign_in(a1, later.id, &code).await;
    assert_eq!(code_of(&r), "outside_window");

    // Two overlapping meetings starting now: present at the first, the
    // second is refused naming the first.
    let first = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(
                MeetingKind::PartyLecture,
                "专题党课：基层治理",
                now - Duration::minutes(10),
            ),
        )
        .await
        .expect("first")[0]
        .clone();
    let second = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(MeetingKind::BranchAssembly, "临时支部党员大会", now),
        )
        .await
        .expect("second")[0]
        .clone();
    let c1 = app
        .meeting_detail(&b.secretary, first.id)
        .await
        .expect("d")
        .signin_code
        .expect("c");
    let c2 = app
        .meeting_detail(&b.secretary, second.id)
        .await
        .expect("d")
        .signin_code
        .expect("c");
    app.sign_in(a1, first.id, &c1).await.expect("first sign-in");
    match app.sign_in(a1, second.id, &c2).await {
        Err(AppError::Conflict(e)) => {
            assert_eq!(e.code, "overlapping_meeting");
            assert!(
                e.message_zh.contains("专题党课：基层治理"),
                "{}",
                e.message_zh
            );
        }
        other => panic!("expected an overlap conflict, got {other:?}"),
    }
    // The paper list is refused the same way, naming the member.
    let r = app
        .record_offline(
            &b.secretary,
            second.id,
            vec![OfflineEntry {
                member_id: b.members[0].0,
                state: AttendanceState::Present,
                leave_reason: None,
            }],
        )
        .await;
    match r {
        Err(AppError::Conflict(e)) => assert!(e.message_zh.contains("专题党课")),
        other => panic!("expected an overlap conflict, got {other:?}"),
    }

    // Past the end the window is closed.
    b.f.clock.advance(Duration::hours(5));
    assert_eq!(
        code_of(&app.sign_in(&b.members[1].1, first.id, &c1).await),
        "outside_window"
    );
}

#[tokio::test]
async fn sibling_branch_sees_and_signs_nothing() {
    let b = branch().await;
    let app = &b.f.app;
    let m = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(MeetingKind::BranchAssembly, "支部党员大会", fixture_now()),
        )
        .await
        .expect("schedule")[0]
        .clone();
    let code = app
        .meeting_detail(&b.secretary, m.id)
        .await
        .expect("d")
        .signin_code
        .expect("c");
    let sec_b = b.f.user(Role::Secretary, BRANCH_B).await;
    let mb = b.f.register(BRANCH_B, draft(40)).await;
    let member_b =
        b.f.user_for_member(Role::Member, BRANCH_B, Some(mb.id))
            .await;
    assert_eq!(
        code_of(&app.meeting_detail(&sec_b, m.id).await),
        "not_found"
    );
    assert_eq!(
        code_of(&app.meeting_detail(&member_b, m.id).await),
        "not_found"
    );
    assert_eq!(
        code_of(&app.sign_in(&member_b, m.id, &code).await),
        "not_found"
    );
    assert_eq!(
        code_of(&app.list_meetings(&sec_b, BRANCH_A, 2026, 11).await),
        "not_found"
    );
    assert_eq!(
        code_of(
            &app.schedule_meeting(
                &sec_b,
                BRANCH_A,
                input(MeetingKind::ThemeDay, "x", fixture_now())
            )
            .await
        ),
        "not_found"
    );
    // Committee staff above both see it.
    let staff = b.f.user(Role::CommitteeStaff, COMMITTEE).await;
    let d = app.meeting_detail(&staff, m.id).await.expect("staff sees");
    assert_eq!(d.attendance.len(), 3);
    let list = app
        .list_meetings(&staff, BRANCH_A, 2026, 11)
        .await
        .expect("list");
    assert_eq!(list.len(), 1);
    // A member lists their own branch's calendar but cannot schedule.
    let (_, a1) = &b.members[0];
    assert_eq!(
        app.list_meetings(a1, BRANCH_A, 2026, 11)
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        code_of(
            &app.schedule_meeting(
                a1,
                BRANCH_A,
                input(MeetingKind::ThemeDay, "x", fixture_now())
            )
            .await
        ),
        "forbidden"
    );
}

#[tokio::test]
async fn schedule_checks_repeat_and_compliance() {
    let b = branch().await;
    let app = &b.f.app;
    let s = &b.secretary;
    let jan = Utc
        .with_ymd_and_hms(2026, 1, 15, 1, 0, 0)
        .single()
        .expect("t");
    // Input errors name their field.
    let mut bad = input(MeetingKind::ThemeDay, " ", jan);
    bad.ends_at = jan - Duration::hours(1);
    bad.place = None;
    let fields = fields_of(app.schedule_meeting(s, BRANCH_A, bad).await);
    assert!(fields.contains(&"title".to_string()), "{fields:?}");
    assert!(fields.contains(&"ends_at".to_string()));
    assert!(fields.contains(&"place".to_string()));
    // Dates far out of range are refused, never overflow.
    let mut far = input(MeetingKind::ThemeDay, "远期", jan);
    far.starts_at = chrono::DateTime::<Utc>::MAX_UTC - Duration::minutes(10);
    far.ends_at = chrono::DateTime::<Utc>::MAX_UTC;
    assert_eq!(
        fields_of(app.schedule_meeting(s, BRANCH_A, far).await),
        vec!["starts_at"]
    );
    assert_eq!(
        code_of(&app.meeting_compliance(s, BRANCH_A, i32::MAX).await),
        "invalid_year"
    );
    // A committee meeting names its attendees (no committee roster yet).
    let fields = fields_of(
        app.schedule_meeting(
            s,
            BRANCH_A,
            input(MeetingKind::CommitteeMeeting, "支委会", jan),
        )
        .await,
    );
    assert_eq!(fields, vec!["attendee_ids"]);
    let mut cm = input(MeetingKind::CommitteeMeeting, "支委会", jan);
    cm.attendee_ids = Some(vec![b.members[0].0, 999_999]);
    assert_eq!(
        fields_of(app.schedule_meeting(s, BRANCH_A, cm.clone()).await),
        vec!["attendee_ids"]
    );
    cm.attendee_ids = Some(vec![b.members[0].0, b.members[1].0]);
    let c = app
        .schedule_meeting(s, BRANCH_A, cm)
        .await
        .expect("committee");
    assert_eq!(
        app.meeting_detail(s, c[0].id)
            .await
            .expect("d")
            .counts
            .expected,
        2
    );
    // A group meeting is held by a group, not a branch.
    assert_eq!(
        fields_of(
            app.schedule_meeting(s, BRANCH_A, input(MeetingKind::GroupMeeting, "小组会", jan))
                .await
        ),
        vec!["kind"]
    );

    // Monthly theme days, January to March, all held.
    let mut td = input(MeetingKind::ThemeDay, "主题党日", jan);
    td.repeat = Some(Repeat::Monthly);
    td.repeat_count = 3;
    let series = app.schedule_meeting(s, BRANCH_A, td).await.expect("series");
    assert_eq!(series.len(), 3);
    assert!(series.iter().all(|m| m.series_id == Some(series[0].id)));
    assert_eq!(
        series[2].starts_at,
        Utc.with_ymd_and_hms(2026, 3, 15, 1, 0, 0)
            .single()
            .expect("t")
    );
    for m in &series {
        app.set_meeting_status(s, m.id, MeetingStatus::Held)
            .await
            .expect("held");
    }
    let comp = app
        .meeting_compliance(s, BRANCH_A, 2026)
        .await
        .expect("compliance");
    assert_eq!(comp.len(), 1);
    let theme = comp[0]
        .rows
        .iter()
        .find(|r| r.requirement == Requirement::Kind(MeetingKind::ThemeDay))
        .expect("theme day row");
    // Today is 2026-11-28: Jan–Mar held, Apr–Oct missing, Nov open, Dec upcoming.
    assert_eq!((theme.due, theme.held, theme.missing), (11, 3, 7));
    assert_eq!(theme.periods[10].state, PeriodState::Open);
    assert_eq!(theme.periods[11].state, PeriodState::Upcoming);
    let jan_list = app.list_meetings(s, BRANCH_A, 2026, 1).await.expect("jan");
    assert_eq!(jan_list.len(), 2, "committee meeting and theme day");
    assert_eq!(
        code_of(&app.list_meetings(s, BRANCH_A, 2026, 13).await),
        "invalid_month"
    );
}

use chrono::TimeZone;

async fn frequency_warnings(f: &Fixture, org_id: i64) -> Vec<(String, String, String)> {
    use dangjian_store::entities::warning;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    warning::Entity::find()
        .filter(warning::Column::Rule.eq("meeting_frequency"))
        .filter(warning::Column::SubjectId.eq(org_id))
        .order_by_asc(warning::Column::PeriodKey)
        .all(&f.app.db.conn)
        .await
        .expect("warnings")
        .into_iter()
        .map(|w| (w.period_key, w.level, w.state))
        .collect()
}

/// DOMAIN.md §5, §9 through the warning engine with the fixed clock: blue in
/// the last week of a period without a meeting, cleared when one is held,
/// yellow once a period ended without one; nothing owed before the branch
/// existed (created 2026-11-28).
#[tokio::test]
async fn meeting_frequency_warnings_follow_the_clock() {
    let b = branch().await;
    let (app, f) = (&b.f.app, &b.f);
    let a = f.branch_a.id;
    let r = app
        .sweep_meeting_frequency(fixture_now())
        .await
        .expect("sweep");
    assert_eq!(
        r.changes.raised, 0,
        "November began before the branch existed"
    );

    let dec25 = Utc
        .with_ymd_and_hms(2026, 12, 25, 2, 0, 0)
        .single()
        .expect("t");
    f.clock.set(dec25);
    let r = app.sweep_meeting_frequency(dec25).await.expect("sweep");
    assert_eq!(
        r.changes.raised, 4,
        "two monthly requirements in each of two branches"
    );
    assert_eq!(
        frequency_warnings(f, a).await,
        vec![
            (
                "committee_meeting:2026-12-01".into(),
                "blue".into(),
                "open".into()
            ),
            ("theme_day:2026-12-01".into(), "blue".into(), "open".into()),
        ]
    );

    // A theme day held today clears its reminder in the same transaction.
    let td = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(
                MeetingKind::ThemeDay,
                "十二月主题党日",
                dec25 - Duration::hours(1),
            ),
        )
        .await
        .expect("schedule")[0]
        .clone();
    app.set_meeting_status(&b.secretary, td.id, MeetingStatus::Held)
        .await
        .expect("held");
    let w = frequency_warnings(f, a).await;
    assert_eq!(
        w[1],
        (
            "theme_day:2026-12-01".into(),
            "blue".into(),
            "corrected".into()
        )
    );

    // January: December's committee meeting is missing — escalated to yellow.
    let jan2 = Utc
        .with_ymd_and_hms(2027, 1, 2, 2, 0, 0)
        .single()
        .expect("t");
    f.clock.set(jan2);
    let r = app.sweep_meeting_frequency(jan2).await.expect("sweep");
    assert_eq!(
        r.changes.escalated, 3,
        "branch A committee, branch B committee and theme day"
    );
    let w = frequency_warnings(f, a).await;
    assert_eq!(
        w[0],
        (
            "committee_meeting:2026-12-01".into(),
            "yellow".into(),
            "open".into()
        )
    );
    assert_eq!(w.len(), 2);
}

/// A six-digit code must not be guessable: after a few wrong codes online
/// sign-in locks for that member and meeting; the paper list still works.
#[tokio::test]
async fn wrong_codes_lock_online_sign_in() {
    let b = branch().await;
    let app = &b.f.app;
    let m = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(MeetingKind::ThemeDay, "主题党日", fixture_now()),
        )
        .await
        .expect("schedule")[0]
        .clone();
    let code = app
        .meeting_detail(&b.secretary, m.id)
        .await
        .expect("d")
        .signin_code
        .expect("c");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (m1, a1) = &b.members[0];
    for _ in 1..dangjian_app::meetings::MAX_FAILED_CODES {
        assert_eq!(code_of(&app.sign_in(a1, m.id, wrong).await), "wrong_code");
    }
    assert_eq!(
        code_of(&app.sign_in(a1, m.id, wrong).await),
        "too_many_attempts"
    );
    assert_eq!(
        code_of(&app.sign_in(a1, m.id, &code).await),
        "too_many_attempts"
    );
    // Another member is not affected.
    app.sign_in(&b.members[1].1, m.id, &code)
        .await
        .expect("other member");
    let r = app
        .record_offline(
            &b.secretary,
            m.id,
            vec![OfflineEntry {
                member_id: *m1,
                state: AttendanceState::Present,
                leave_reason: None,
            }],
        )
        .await
        .expect("paper list");
    assert_eq!(r.recorded, 1);
}

/// A party group holds group meetings (DOMAIN.md §5); the branch calendar
/// shows them and compliance has a block for the group. Group membership is
/// not recorded by the registry yet, so a group meeting expects nobody.
#[tokio::test]
async fn group_meetings_show_on_the_branch_calendar() {
    use dangjian_domain::orgs::{OrgKind, OrgSetting};
    let b = branch().await;
    let app = &b.f.app;
    let g = app
        .create_org(
            &b.f.sys,
            org_input(
                "SX-C1-X1-W1-BA-G1",
                "第一党小组",
                OrgKind::Group,
                OrgSetting::Village,
                Some(BRANCH_A),
            ),
        )
        .await
        .expect("group");
    let gm = app
        .schedule_meeting(
            &b.secretary,
            &g.code,
            input(MeetingKind::GroupMeeting, "小组学习会", fixture_now()),
        )
        .await
        .expect("group meeting")[0]
        .clone();
    assert_eq!(
        app.meeting_detail(&b.secretary, gm.id)
            .await
            .expect("d")
            .counts
            .expected,
        0
    );
    // Other kinds are not held by a group.
    assert_eq!(
        fields_of(
            app.schedule_meeting(
                &b.secretary,
                &g.code,
                input(MeetingKind::ThemeDay, "x", fixture_now())
            )
            .await
        ),
        vec!["kind"]
    );
    let list = app
        .list_meetings(&b.members[0].1, BRANCH_A, 2026, 11)
        .await
        .expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].org.code, g.code);
    let comp = app
        .meeting_compliance(&b.secretary, BRANCH_A, 2026)
        .await
        .expect("compliance");
    assert_eq!(comp.len(), 2);
    assert_eq!(comp[1].rows.len(), 1);
    assert_eq!(
        comp[1].rows[0].requirement,
        Requirement::Kind(MeetingKind::GroupMeeting)
    );
}

/// A held meeting of branch A: member 1 signed in online, member 2 on the
/// paper list, member 3 on approved leave. Returns the meeting id.
async fn held_meeting(b: &Branch) -> i64 {
    let (app, now) = (&b.f.app, fixture_now());
    let id = app
        .schedule_meeting(
            &b.secretary,
            BRANCH_A,
            input(
                MeetingKind::BranchAssembly,
                "第四季度支部党员大会",
                now + Duration::minutes(20),
            ),
        )
        .await
        .expect("schedule")[0]
        .id;
    let code = app
        .meeting_detail(&b.secretary, id)
        .await
        .unwrap()
        .signin_code
        .unwrap();
    app.sign_in(&b.members[0].1, id, &code)
        .await
        .expect("sign in");
    app.request_leave(&b.members[2].1, id, "外出务工")
        .await
        .expect("leave");
    app.decide_leave(&b.secretary, id, b.members[2].0, true)
        .await
        .expect("approve");
    b.f.clock.advance(Duration::minutes(30));
    app.record_offline(
        &b.secretary,
        id,
        vec![OfflineEntry {
            member_id: b.members[1].0,
            state: AttendanceState::Present,
            leave_reason: None,
        }],
    )
    .await
    .expect("paper list");
    // Before the meeting is held nobody has a certificate.
    assert!(
        app.my_certificates(&b.members[0].1)
            .await
            .unwrap()
            .is_empty()
    );
    app.set_meeting_status(&b.secretary, id, MeetingStatus::Held)
        .await
        .expect("held");
    id
}

// Issue 6 scope 5: each attendee (online or offline) of a held meeting
// gets a signed certificate recorded in the archive ledger; leave does not.
#[tokio::test]
async fn certificates_for_the_attendees_of_a_held_meeting() {
    use dangjian_app::certificates::{CertificateStatus, EVENT_KIND};
    let b = branch().await;
    let app = &b.f.app;
    let id = held_meeting(&b).await;
    assert_eq!(
        app.meeting_certificate_count(&b.secretary, id)
            .await
            .unwrap(),
        2
    );
    let c1 = app.my_certificates(&b.members[0].1).await.unwrap();
    let c2 = app.my_certificates(&b.members[1].1).await.unwrap();
    assert_eq!((c1.len(), c2.len()), (1, 1));
    assert!(
        app.my_certificates(&b.members[2].1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_ne!(c1[0].number, c2[0].number);
    assert_eq!(c1[0].title, "第四季度支部党员大会");
    assert_eq!(c1[0].org, BRANCH_A_NAME);
    assert_eq!(c1[0].date, "2026-11-28");

    // The PDF carries the member's name, the organization and the number.
    let (file, pdf) = app
        .certificate_pdf(&b.members[0].1, &c1[0].number, "https://dj.example.cn")
        .await
        .expect("pdf");
    assert!(file.ends_with(".pdf") && file.contains(&c1[0].number));
    let text: String = pdf_extract::extract_text_from_mem(&pdf)
        .expect("parses")
        .split_whitespace()
        .collect();
    assert!(text.contains(&c1[0].member), "{text}");
    assert!(text.contains(BRANCH_A_NAME), "{text}");
    assert!(text.contains(&c1[0].number), "{text}");
    assert!(text.contains("/verify/certificate/"), "{text}");

    // Recorded in the archive ledger, and the ledger still verifies.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let events = dangjian_store::entities::member_event::Entity::find()
        .filter(dangjian_store::entities::member_event::Column::Kind.eq(EVENT_KIND))
        .all(&app.db.conn)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    let report = app.ledger_verify().await.expect("verify");
    assert!(report.ok, "{:?}", report.problems);
    let leaves = dangjian_store::repo::ledger::leaves(&app.db.conn, 0, report.size)
        .await
        .unwrap();
    let kinds: Vec<String> = leaves
        .iter()
        .map(|l| {
            dangjian_ledger::ArchiveLeaf::decode(&l.leaf)
                .unwrap()
                .event_type()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "member.certificate_issued")
            .count(),
        2
    );

    // Public verification: valid shows the name and the meeting only.
    let v = app.verify_certificate(&c1[0].number).await.unwrap();
    assert_eq!(v.status, CertificateStatus::Valid);
    assert_eq!(v.member.as_deref(), Some(c1[0].member.as_str()));
    assert_eq!(v.title.as_deref(), Some("第四季度支部党员大会"));
    let lower = c1[0].number.to_lowercase().replace('-', "");
    assert_eq!(
        app.verify_certificate(&lower).await.unwrap().status,
        CertificateStatus::Valid
    );
    let unknown = app.verify_certificate("0000-0000-0000-0000").await.unwrap();
    assert_eq!(unknown.status, CertificateStatus::Unknown);
    assert!(unknown.member.is_none());
    assert_eq!(
        app.verify_certificate("<script>").await.unwrap().status,
        CertificateStatus::Unknown
    );

    // Tampered row (another name written behind the application's back).
    use dangjian_store::entities::certificate;
    let row = certificate::Entity::find()
        .filter(certificate::Column::Number.eq(c2[0].number.clone()))
        .one(&app.db.conn)
        .await
        .unwrap()
        .unwrap();
    let forged = row.payload.replace(&c2[0].member, "冒名顶替");
    assert_ne!(forged, row.payload);
    let mut am: certificate::ActiveModel = row.into();
    am.payload = sea_orm::Set(forged);
    sea_orm::ActiveModelTrait::update(am, &app.db.conn)
        .await
        .unwrap();
    let t = app.verify_certificate(&c2[0].number).await.unwrap();
    assert_eq!(t.status, CertificateStatus::BadSignature);
    assert!(t.member.is_none() && t.title.is_none());

    // Revoked by the secretary, with a reason; a member may not revoke.
    assert!(matches!(
        app.revoke_certificate(&b.members[0].1, &c1[0].number, "错误")
            .await,
        Err(AppError::Forbidden)
    ));
    app.revoke_certificate(&b.secretary, &c1[0].number, "出席记录有误")
        .await
        .expect("revoke");
    let r = app.verify_certificate(&c1[0].number).await.unwrap();
    assert_eq!(r.status, CertificateStatus::Revoked);
    assert!(!r.valid && r.member.is_none());
    assert_eq!(b.f.audit_rows("certificate.revoke").await.len(), 1);
}

// Attendance recorded on the paper list after the meeting was marked held
// gets its certificate in the same transaction.
#[tokio::test]
async fn national_suite_certificates_are_signed_with_sm2() {
    // Issue 5: the national suite signs documents with SM2 (SM3 digest).
    let keys = dangjian_app::Keyring::generate_with(dangjian_store::crypto::Suite::National)
        .expect("national keyring");
    let b = branch_with(Fixture::with_keyring(keys).await).await;
    let app = &b.f.app;
    let id = held_meeting(&b).await;
    let mine = app.my_certificates(&b.members[0].1).await.expect("mine");
    assert_eq!(mine.len(), 1);
    let stored = dangjian_store::repo::certificates::by_number(&app.db.conn, &mine[0].number)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.meeting_id, id);
    assert_eq!(stored.signature_alg, "sm2");
    assert!(
        app.certificate_public_key()
            .expect("key")
            .starts_with("SM2:")
    );
    let v = app
        .verify_certificate(&stored.number)
        .await
        .expect("verify");
    assert!(v.valid, "{v:?}");
    // The same bytes claimed as Ed25519 do not verify, nor an edited payload.
    let mut am: dangjian_store::entities::certificate::ActiveModel = stored.clone().into();
    am.signature_alg = sea_orm::Set("ed25519".into());
    sea_orm::ActiveModelTrait::update(am, &app.db.conn)
        .await
        .expect("relabel");
    assert!(!app.verify_certificate(&stored.number).await.unwrap().valid);
    let mut am: dangjian_store::entities::certificate::ActiveModel = stored.clone().into();
    am.signature_alg = sea_orm::Set("sm2".into());
    am.payload = sea_orm::Set(stored.payload.replace(&mine[0].member, "王某某"));
    sea_orm::ActiveModelTrait::update(am, &app.db.conn)
        .await
        .expect("tamper");
    assert!(!app.verify_certificate(&stored.number).await.unwrap().valid);
    // The archive records the algorithm with the signature.
    let report = app.ledger_verify().await.expect("ledger verify");
    assert!(report.ok, "{:?}", report.problems);
}

#[tokio::test]
async fn late_paper_list_entries_get_their_certificate() {
    let b = branch().await;
    let app = &b.f.app;
    let id = held_meeting(&b).await;
    // Member 3 had leave; the secretary corrects: present after all.
    app.record_offline(
        &b.secretary,
        id,
        vec![OfflineEntry {
            member_id: b.members[2].0,
            state: AttendanceState::Present,
            leave_reason: None,
        }],
    )
    .await
    .expect("late entry");
    assert_eq!(app.my_certificates(&b.members[2].1).await.unwrap().len(), 1);
    assert_eq!(
        app.meeting_certificate_count(&b.secretary, id)
            .await
            .unwrap(),
        3
    );
    assert!(app.ledger_verify().await.unwrap().ok);
}

// A member or secretary of branch B cannot download branch A's
// certificates (NotFound, no existence leak); A's secretary can, audited.
#[tokio::test]
async fn certificates_stay_inside_their_subtree() {
    let b = branch().await;
    let app = &b.f.app;
    let id = held_meeting(&b).await;
    let number = app.my_certificates(&b.members[0].1).await.unwrap()[0]
        .number
        .clone();
    let other = b.f.register(BRANCH_B, draft(9)).await;
    let member_b =
        b.f.user_for_member(Role::Member, BRANCH_B, Some(other.id))
            .await;
    let secretary_b = b.f.user(Role::Secretary, BRANCH_B).await;
    for who in [&member_b, &secretary_b, &b.members[1].1] {
        assert!(matches!(
            app.certificate_pdf(who, &number, "http://x").await,
            Err(AppError::NotFound(_))
        ));
    }
    assert!(matches!(
        app.meeting_certificate_count(&secretary_b, id).await,
        Err(AppError::NotFound(_))
    ));
    app.certificate_pdf(&b.secretary, &number, "http://x")
        .await
        .expect("the branch secretary downloads");
    assert_eq!(b.f.audit_rows("certificate.download").await.len(), 1);
}
