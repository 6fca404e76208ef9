//! Sign-in at scale (issue 6). Concurrent online sign-ins are recorded in
//! batches — one transaction for many members — and each is answered only
//! after its batch committed, on its own: already signed in, not expected,
//! present at an overlapping meeting (DOMAIN.md §5, naming the other
//! meeting), the same member twice. The short-lived caches of callers and
//! meetings never outlive a write of this process: a revoked token, a
//! disabled user, a renamed organization take effect at once.

mod common;

use chrono::Duration;
use common::*;
use dangjian_app::meetings::{MeetingInput, OfflineEntry};
use dangjian_app::{Actor, App, AppError, Clock};
use dangjian_domain::identity::Role;
use dangjian_domain::meetings::{AttendanceState, MeetingKind, MeetingStatus};
use dangjian_store::entities::meeting_attendance as att;
use dangjian_store::repo::meetings as mrepo;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn input(title: &str, start_min: i64, attendees: Option<Vec<i64>>) -> MeetingInput {
    MeetingInput {
        kind: MeetingKind::BranchAssembly,
        title: title.into(),
        agenda: String::new(),
        place: Some("村委会会议室".into()),
        online_link: None,
        lecturer: None,
        by_secretary: false,
        starts_at: fixture_now() + Duration::minutes(start_min),
        ends_at: fixture_now() + Duration::minutes(start_min + 90),
        repeat: None,
        repeat_count: 1,
        attendee_ids: attendees,
    }
}

struct Branch {
    f: Fixture,
    secretary: Actor,
    members: Vec<(i64, Actor)>,
}

/// Branch A with `n` members, each with a user, and a secretary.
async fn branch(n: u32) -> Branch {
    let f = Fixture::new().await;
    let secretary = f.user(Role::Secretary, BRANCH_A).await;
    let mut members = Vec::new();
    for seq in 1..=n {
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

async fn schedule(b: &Branch, i: MeetingInput) -> (i64, String) {
    let app = &b.f.app;
    let id = app
        .schedule_meeting(&b.secretary, BRANCH_A, i)
        .await
        .expect("schedule")[0]
        .id;
    let code = app
        .meeting_detail(&b.secretary, id)
        .await
        .expect("detail")
        .signin_code
        .expect("code");
    (id, code)
}

fn code_of<T: std::fmt::Debug>(r: &Result<T, AppError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(AppError::Validation(v)) => v.0[0].code.to_string(),
        Err(AppError::Conflict(e)) => e.code.to_string(),
        Err(e) => format!("{e:?}"),
    }
}

/// Polls (no fixed wait) until `done` holds, for at most a minute.
async fn until(app: &App, done: impl Fn(&App) -> bool) {
    for _ in 0..60_000 {
        if done(app) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("condition not reached: {:?}", app.sign_in_stats());
}

/// A wave of sign-ins while the writer is held: every one is queued, then
/// written in at most two transactions (the first batch took what was
/// queued when the writer started). Each gets its own answer, the accepted
/// ones are stored with the answer's time, the channel online.
#[tokio::test]
async fn a_wave_of_sign_ins_is_committed_in_batches_and_answered_one_by_one() {
    let b = branch(14).await;
    let app = &b.f.app;
    let ids: Vec<i64> = b.members.iter().map(|m| m.0).collect();
    // Everyone but the last member is expected at the assembly.
    let (m1, c1) = schedule(&b, input("支部党员大会", -10, Some(ids[..13].to_vec()))).await;
    // An overlapping party lecture: member 1 is on its paper list already;
    // member 2 will sign in to both in the same wave.
    let (m2, c2) = schedule(&b, input("专题党课：基层治理", -5, Some(ids[..3].to_vec()))).await;
    app.record_offline(
        &b.secretary,
        m2,
        vec![OfflineEntry {
            member_id: ids[1],
            state: AttendanceState::Present,
            leave_reason: None,
        }],
    )
    .await
    .expect("paper list");
    // Member 0 signed in before the wave.
    app.sign_in(&b.members[0].1, m1, &c1)
        .await
        .expect("early sign-in");

    // The wave: member 0 again, members 1..=12 once, member 3 twice, the
    // unexpected member 13, and member 2 at the overlapping lecture too.
    let mut wave: Vec<(usize, i64, String)> = (0..13).map(|i| (i, m1, c1.clone())).collect();
    wave.push((3, m1, c1.clone()));
    wave.push((13, m1, c1.clone()));
    wave.push((2, m2, c2.clone()));
    let before = app.sign_in_stats();

    // Hold the writer: SQLite's write gate, PostgreSQL's presence locks.
    let (gate, hold) = app.begin_write().await.expect("hold the writer");
    mrepo::lock_presence(&hold, &ids)
        .await
        .expect("presence locks");
    let mut tasks = Vec::new();
    for (i, m, code) in wave.clone() {
        let (app, actor) = (app.clone(), b.members[i].1.clone());
        tasks.push(tokio::spawn(
            async move { app.sign_in(&actor, m, &code).await },
        ));
    }
    let n = wave.len();
    until(app, |a| {
        let s = a.sign_in_stats();
        s.waiting + s.writing == n
    })
    .await;
    hold.rollback().await.expect("release");
    drop(gate);
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    let after = app.sign_in_stats();
    assert_eq!(after.items - before.items, n as u64);
    let batches = after.batches - before.batches;
    assert!(
        (1..=2).contains(&batches),
        "{n} sign-ins in {batches} batches"
    );
    // On a SQLite file every batch is written over the direct connection
    // (store::direct); PostgreSQL has none.
    let direct = after.direct - before.direct;
    if common::TestDb::is_sqlite() {
        assert_eq!(direct, batches, "{after:?}");
    } else {
        assert_eq!(direct, 0, "{after:?}");
    }

    let codes: Vec<String> = answers.iter().map(code_of).collect();
    let at = |k: usize| &codes[k];
    assert_eq!(at(0), "already_present");
    assert_eq!(at(1), "overlapping_meeting");
    match &answers[1] {
        Err(AppError::Conflict(e)) => assert!(e.message_zh.contains("专题党课"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    for k in 4..13 {
        assert_eq!(at(k), "ok", "member {k}");
    }
    // Member 3 twice: one recorded, the other told it is already.
    let mut threes = [at(3).as_str(), at(13).as_str()];
    threes.sort();
    assert_eq!(threes, ["already_present", "ok"]);
    assert_eq!(at(14), "not_expected");
    // Member 2 at two overlapping meetings in one wave: one of them.
    let mut twos = [at(2).as_str(), at(15).as_str()];
    twos.sort();
    assert_eq!(twos, ["ok", "overlapping_meeting"]);

    // Durable, with the answer's time and the online channel; nothing
    // else recorded.
    let rows = att::Entity::find()
        .filter(att::Column::MeetingId.is_in([m1, m2]))
        .all(&app.db.conn)
        .await
        .expect("rows");
    for (k, (i, m, _)) in wave.iter().enumerate() {
        let Ok(v) = &answers[k] else { continue };
        let r = rows
            .iter()
            .find(|r| r.meeting_id == *m && r.member_id == ids[*i])
            .expect("row");
        assert_eq!(r.state, "present");
        assert_eq!(r.channel.as_deref(), Some("online"));
        assert_eq!(r.recorded_at, v.recorded_at);
    }
    let online = rows
        .iter()
        .filter(|r| r.state == "present" && r.channel.as_deref() == Some("online"))
        .count();
    // Member 0 before the wave; members 2, 3 and 4 to 12 in it.
    assert_eq!(online, 12);
}

/// Many members signing in at once from many tasks, without holding the
/// writer: every one is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ins_are_all_durable() {
    let b = branch(24).await;
    let app = &b.f.app;
    let (m, code) = schedule(&b, input("主题党日", 0, None)).await;
    let mut tasks = Vec::new();
    for (_, actor) in &b.members {
        // Each member twice: once recorded, once "already".
        for _ in 0..2 {
            let (app, actor, code) = (app.clone(), actor.clone(), code.clone());
            tasks.push(tokio::spawn(
                async move { app.sign_in(&actor, m, &code).await },
            ));
        }
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(AppError::Conflict(e)) => assert_eq!(e.code, "already_present"),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 24);
    let stored = att::Entity::find()
        .filter(att::Column::MeetingId.eq(m))
        .filter(att::Column::State.eq("present"))
        .filter(att::Column::Channel.eq("online"))
        .all(&app.db.conn)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 24);
}

/// A sign-in to a meeting already marked held gets its certificate in the
/// batch's transaction, as before the group commit.
#[tokio::test]
async fn a_sign_in_after_the_meeting_is_held_gets_its_certificate() {
    let b = branch(2).await;
    let app = &b.f.app;
    let (m, code) = schedule(&b, input("支部党员大会", -30, None)).await;
    app.sign_in(&b.members[0].1, m, &code)
        .await
        .expect("sign in");
    app.set_meeting_status(&b.secretary, m, MeetingStatus::Held)
        .await
        .expect("held");
    assert_eq!(
        app.meeting_certificate_count(&b.secretary, m)
            .await
            .expect("count"),
        1
    );
    let before = app.sign_in_stats();
    app.sign_in(&b.members[1].1, m, &code)
        .await
        .expect("late sign in");
    assert_eq!(
        app.meeting_certificate_count(&b.secretary, m)
            .await
            .expect("count"),
        2
    );
    // Written through the pool, which issues certificates, even on SQLite.
    let after = app.sign_in_stats();
    assert_eq!(after.batches, before.batches + 1, "{after:?}");
    assert_eq!(after.direct, before.direct, "{after:?}");
}

/// Cached callers and meetings never outlive a write of this process.
#[tokio::test]
async fn cached_callers_and_meetings_follow_the_writes_at_once() {
    let b = branch(1).await;
    let app = &b.f.app;
    let login = b.members[0].1.login.clone();

    // A revoked token is refused at once, though it was just cached.
    let token = app.create_token(&login, "phone").await.expect("token");
    for _ in 0..2 {
        app.token_actor(&token, None).await.expect("token works");
    }
    assert_eq!(
        app.revoke_user_tokens(&b.f.sys, &login)
            .await
            .expect("revoke"),
        1
    );
    assert!(matches!(
        app.token_actor(&token, None).await,
        Err(AppError::Unauthorized)
    ));
    let audit = b.f.audit_rows("user.tokens_revoke").await;
    assert_eq!(audit.len(), 1);
    // Revoking again finds nothing; an unknown login is not found.
    assert_eq!(
        app.revoke_user_tokens(&b.f.sys, &login)
            .await
            .expect("revoke"),
        0
    );
    assert!(matches!(
        app.revoke_user_tokens(&b.f.sys, "nobody").await,
        Err(AppError::NotFound(_))
    ));

    // A session of a user who is then disabled; a token of theirs too.
    let (secret, _csrf) = app.open_session(&b.members[0].1).await.expect("session");
    let token = app.create_token(&login, "laptop").await.expect("token");
    app.session_actor(&secret, None)
        .await
        .expect("session works");
    app.token_actor(&token, None).await.expect("token works");
    app.set_user_disabled(&b.f.sys, &login, true)
        .await
        .expect("disable");
    assert!(matches!(
        app.session_actor(&secret, None).await,
        Err(AppError::Unauthorized)
    ));
    assert!(matches!(
        app.token_actor(&token, None).await,
        Err(AppError::Unauthorized)
    ));
    app.set_user_disabled(&b.f.sys, &login, false)
        .await
        .expect("enable");
    app.token_actor(&token, None).await.expect("enabled again");

    // A renamed organization shows in the grants at once.
    let secretary_token = app
        .create_token(&b.secretary.login, "desk")
        .await
        .expect("token");
    let before = app
        .token_actor(&secretary_token, None)
        .await
        .expect("secretary");
    assert_eq!(before.grants[0].org_name, BRANCH_A_NAME);
    app.rename_org(&b.f.sys, BRANCH_A, "青松村第一党支部")
        .await
        .expect("rename");
    let after = app
        .token_actor(&secretary_token, None)
        .await
        .expect("secretary");
    assert_eq!(after.grants[0].org_name, "青松村第一党支部");

    // An expired session is refused though cached: its expiry is checked
    // against the clock on every use.
    let (secret, _) = app.open_session(&b.members[0].1).await.expect("session");
    app.session_actor(&secret, None)
        .await
        .expect("session works");
    b.f.clock
        .advance(Duration::hours(app.config.session_hours) + Duration::minutes(1));
    assert!(matches!(
        app.session_actor(&secret, None).await,
        Err(AppError::Unauthorized)
    ));

    // A meeting cancelled after a sign-in attempt cached it refuses the
    // next sign-in as cancelled.
    let now = b.f.clock.now();
    let (m, code) = schedule(
        &b,
        MeetingInput {
            starts_at: now,
            ends_at: now + Duration::hours(1),
            ..input("临时党员大会", 0, None)
        },
    )
    .await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        code_of(&app.sign_in(&b.members[0].1, m, wrong).await),
        "wrong_code"
    );
    app.set_meeting_status(&b.secretary, m, MeetingStatus::Cancelled)
        .await
        .expect("cancel");
    assert_eq!(
        code_of(&app.sign_in(&b.members[0].1, m, &code).await),
        "cancelled"
    );
}
