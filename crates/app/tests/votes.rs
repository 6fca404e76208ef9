//! Vote stories (DOMAIN.md §2, §4, §5): an admission reaches its branch
//! assembly, the vote is recorded voter by voter at the assembly meeting
//! (only full members, written opinions of absent ones counted), a failed
//! vote is kept and leaves the admission where it is, a passed one moves
//! the admission's assembly step with the same counts; a committee election
//! by secret ballot seats the committee, which a committee meeting then
//! expects; meeting attachments are checked by content and size.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use dangjian_app::admissions::{Applicant, NewApplicant, StepInput};
use dangjian_app::meetings::{MeetingInput, OfflineEntry};
use dangjian_app::votes::{AssemblyVoteInput, ElectionInput, SeatInput};
use dangjian_app::{Actor, AppError};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::identity::Role;
use dangjian_domain::meetings::{AttachmentPurpose, AttendanceState, MeetingKind};
use dangjian_domain::members::{Stage, StageDates};
use dangjian_domain::votes::{Ballot, Choice, CommitteeRole, ElectionOutcome, VoterChoice};
use serde_json::{Value, json};

/// Sets the fixture clock to noon (China time) of a day.
fn on(fx: &Fixture, y: i32, m: u32, d: u32) {
    fx.clock.set(
        Utc.with_ymd_and_hms(y, m, d, 4, 0, 0)
            .single()
            .expect("valid instant"),
    );
}

fn step(form: Value, attachments: &[&str]) -> StepInput {
    StepInput {
        form: form.as_object().cloned().unwrap_or_default(),
        attachments: attachments.iter().map(|s| s.to_string()).collect(),
        overrides: vec![],
    }
}

fn code_of<T: std::fmt::Debug>(r: &Result<T, AppError>) -> String {
    match r {
        Err(AppError::Validation(v)) => v.0[0].code.to_string(),
        Err(AppError::Conflict(e)) => e.code.to_string(),
        Err(AppError::NotFound(_)) => "not_found".into(),
        Err(AppError::Forbidden) => "forbidden".into(),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn vc(member_id: i64, choice: Choice) -> VoterChoice {
    VoterChoice { member_id, choice }
}

/// Registers `n` full members of branch A (from `seq`), and one probationary.
async fn roster(fx: &Fixture, seq: u32, n: u32) -> (Vec<i64>, i64) {
    let mut full = Vec::new();
    for s in seq..seq + n {
        full.push(fx.register(BRANCH_A, draft(s)).await.id);
    }
    let mut p = draft(seq + n);
    p.stage = Stage::Probationary;
    p.stage_dates = StageDates {
        full_on: None,
        probationary_on: Some(date(2024, 6, 1)),
        ..full_member_dates()
    };
    (full, fx.register(BRANCH_A, p).await.id)
}

/// A branch assembly of branch A from 10:00 to 12:00 China time on the
/// fixture clock's day, with `present` marked present from the paper list.
async fn assembly(fx: &Fixture, sec: &Actor, present: &[i64]) -> i64 {
    let now = fx.app.clock.now();
    let starts_at = now - Duration::hours(2);
    let m = fx
        .app
        .schedule_meeting(
            sec,
            BRANCH_A,
            MeetingInput {
                kind: MeetingKind::BranchAssembly,
                title: "支部党员大会".into(),
                agenda: "讨论接收预备党员；选举支部委员会".into(),
                place: Some("党员活动室".into()),
                online_link: None,
                lecturer: None,
                by_secretary: false,
                starts_at,
                ends_at: starts_at + Duration::hours(2),
                repeat: None,
                repeat_count: 1,
                attendee_ids: None,
            },
        )
        .await
        .expect("schedule assembly")[0]
        .id;
    fx.app
        .record_offline(
            sec,
            m,
            present
                .iter()
                .map(|&member_id| OfflineEntry {
                    member_id,
                    state: AttendanceState::Present,
                    leave_reason: None,
                })
                .collect(),
        )
        .await
        .expect("paper list");
    m
}

/// One step to take: (day, who, step key, form, attachments).
type StepAt<'a> = ((i32, u32, u32), &'a Actor, &'a str, Value, &'a [&'a str]);

/// Runs an admission in branch A up to its assembly vote (step 15).
async fn admission_at_assembly(fx: &Fixture, sec: &Actor, staff: &Actor, full: &[i64]) -> i64 {
    let app = &fx.app;
    on(fx, 2024, 1, 10);
    let id = app
        .start_admission(
            sec,
            BRANCH_A,
            Applicant::Person(NewApplicant {
                name: person_name(40),
                id_number: id_number(40),
                ethnicity: "汉族".into(),
                phone: Some(phone(40)),
                education: None,
                dues_category: DuesCategory::Employed,
                applied_on: date(2024, 1, 10),
            }),
        )
        .await
        .expect("start")
        .summary
        .id;
    let steps: Vec<StepAt> = vec![
        (
            (2024, 1, 20),
            sec,
            "talk",
            json!({"talked_on": "2024-01-20", "talker": "王伟"}),
            &[],
        ),
        (
            (2024, 3, 1),
            sec,
            "activist",
            json!({"decided_on": "2024-03-01"}),
            &[],
        ),
        (
            (2024, 3, 5),
            staff,
            "activist_filing",
            json!({"filed_on": "2024-03-05"}),
            &[],
        ),
        (
            (2024, 3, 6),
            sec,
            "contacts",
            json!({"assigned_on": "2024-03-06", "contact_ids": [full[0]]}),
            &[],
        ),
        (
            (2024, 9, 1),
            sec,
            "activist_education",
            json!({"assessed_on": "2024-09-01", "assessment": "表现良好"}),
            &[],
        ),
        (
            (2025, 2, 20),
            sec,
            "assessment",
            json!({"assessed_on": "2025-02-20", "assessment": "积极上进"}),
            &[],
        ),
        (
            (2025, 3, 1),
            sec,
            "development_target",
            json!({"decided_on": "2025-03-01"}),
            &[],
        ),
        (
            (2025, 3, 3),
            staff,
            "target_filing",
            json!({"filed_on": "2025-03-03"}),
            &[],
        ),
        (
            (2025, 3, 4),
            sec,
            "introducers",
            json!({"assigned_on": "2025-03-04", "introducer_ids": [full[0], full[1]]}),
            &[],
        ),
        (
            (2025, 4, 1),
            sec,
            "political_review",
            json!({"concluded_on": "2025-04-01", "conclusion": "政治合格"}),
            &["political_review_report"],
        ),
        (
            (2025, 4, 10),
            sec,
            "training",
            json!({"completed_on": "2025-04-10", "days": 3, "hours": 24}),
            &["training_certificate"],
        ),
        (
            (2025, 4, 15),
            sec,
            "branch_review",
            json!({"reviewed_on": "2025-04-15"}),
            &[],
        ),
        (
            (2025, 4, 20),
            staff,
            "pre_review",
            json!({"pre_reviewed_on": "2025-04-20", "notice_from": "2025-04-21", "notice_to": "2025-04-25"}),
            &[],
        ),
        (
            (2025, 4, 25),
            sec,
            "volunteer_form",
            json!({"filled_on": "2025-04-25"}),
            &["volunteer_form"],
        ),
    ];
    for ((y, m, d), who, key, form, att) in steps {
        on(fx, y, m, d);
        app.act_on_admission(who, id, key, step(form, att))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    }
    id
}

#[tokio::test]
async fn assembly_vote_is_tallied_per_voter_and_moves_the_admission() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let sibling = fx.user(Role::Secretary, BRANCH_B).await;
    let (full, probationary) = roster(&fx, 1, 3).await;
    let id = admission_at_assembly(&fx, &sec, &staff, &full).await;
    let app = &fx.app;

    on(&fx, 2025, 4, 28);
    let m = assembly(&fx, &sec, &[full[0], full[1], probationary]).await;
    let vote = |ballots: Vec<VoterChoice>, written: Vec<VoterChoice>| AssemblyVoteInput {
        admission_id: id,
        ballots,
        written,
        overrides: vec![],
    };
    // Probationary members have no vote (§4).
    let r = app
        .record_assembly_vote(&sec, m, vote(vec![vc(probationary, Choice::Yes)], vec![]))
        .await;
    assert_eq!(code_of(&r), "not_entitled");
    // An absent member's written opinion, not a ballot.
    let r = app
        .record_assembly_vote(&sec, m, vote(vec![vc(full[2], Choice::Yes)], vec![]))
        .await;
    assert_eq!(code_of(&r), "not_present");
    // Another subtree does not see the meeting.
    let r = app
        .record_assembly_vote(&sibling, m, vote(vec![], vec![]))
        .await;
    assert_eq!(code_of(&r), "not_found");

    // 1 YES of 3 entitled: majority not reached; recorded, admission unchanged.
    let r = app
        .record_assembly_vote(
            &sec,
            m,
            vote(
                vec![vc(full[0], Choice::Yes), vc(full[1], Choice::No)],
                vec![],
            ),
        )
        .await
        .expect("failed vote is recorded");
    assert_eq!(r.vote.outcome, "majority_not_reached");
    assert!(r.admission.is_none());
    let d = app.admission_detail(&sec, id).await.expect("detail");
    assert_eq!(
        d.summary.next_step.as_ref().map(|s| s.key.as_str()),
        Some("assembly")
    );

    // 1 YES present + 1 written YES of the absent member = 2 of 3: passes,
    // and the assembly step is taken with these counts and the meeting's date.
    let r = app
        .record_assembly_vote(
            &sec,
            m,
            vote(
                vec![vc(full[0], Choice::Yes), vc(full[1], Choice::Abstain)],
                vec![vc(full[2], Choice::Yes)],
            ),
        )
        .await
        .expect("vote passes");
    assert_eq!(r.vote.outcome, "passed");
    assert_eq!(
        (
            r.vote.counts.eligible,
            r.vote.counts.present,
            r.vote.counts.yes,
            r.vote.counts.written_yes
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(r.vote.ballots.len(), 3);
    let d = r.admission.expect("admission moved");
    assert_eq!(
        d.summary.next_step.as_ref().map(|s| s.key.as_str()),
        Some("committee_talk")
    );
    let entry = d.history.last().expect("entry");
    assert_eq!(entry.key, "assembly");
    assert_eq!(entry.form.date("held_on"), Some(date(2025, 4, 28)));
    assert_eq!(entry.form.count("eligible"), Some(3));
    assert_eq!(entry.form.count("written_yes"), Some(1));
    // Now past the vote: a further vote is refused.
    let r = app
        .record_assembly_vote(&sec, m, vote(vec![vc(full[0], Choice::Yes)], vec![]))
        .await;
    assert_eq!(code_of(&r), "not_at_vote");

    let v = app.meeting_votes(&sec, m).await.expect("votes");
    assert_eq!(v.assembly_votes.len(), 2);
    assert_eq!(fx.audit_rows("meeting.assembly_vote").await.len(), 2);
}

#[tokio::test]
async fn election_by_secret_ballot_seats_the_committee() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    let (full, _) = roster(&fx, 1, 5).await;
    let app = &fx.app;
    on(&fx, 2026, 3, 10);

    // 3 of 5 present is below four fifths: the meeting cannot elect.
    let m = assembly(&fx, &sec, &full[..3]).await;
    let input = |candidates: &[i64], ballots: Vec<Ballot>| ElectionInput {
        seats: 3,
        issued: 5,
        candidates: candidates.to_vec(),
        ballots,
    };
    let r = app
        .record_election(&sec, m, input(&full[..4], vec![]))
        .await;
    assert_eq!(code_of(&r), "quorum_not_met");

    on(&fx, 2026, 3, 11);
    let m = assembly(&fx, &sec, &full).await;
    // As many candidates as seats is not competitive.
    let r = app
        .record_election(&sec, m, input(&full[..3], vec![]))
        .await;
    assert_eq!(code_of(&r), "not_competitive");

    let b = |yes: &[usize]| Ballot {
        yes: yes.iter().map(|i| full[*i]).collect(),
        spoiled: false,
    };
    let ballots = vec![
        b(&[0, 1, 2]),
        b(&[0, 1, 2]),
        b(&[0, 1, 3]),
        b(&[0, 2, 3]),
        b(&[0, 1, 2, 3]), // too many marks: invalid
    ];
    let e = app
        .record_election(&sec, m, input(&full[..4], ballots))
        .await
        .expect("count");
    assert_eq!(e.outcome, ElectionOutcome::Elected);
    assert_eq!((e.returned, e.invalid, e.present, e.entitled), (5, 1, 5, 5));
    let mut elected: Vec<i64> = e
        .candidates
        .iter()
        .filter(|c| c.elected)
        .map(|c| c.member_id)
        .collect();
    elected.sort_unstable();
    assert_eq!(elected, full[..3].to_vec());

    // The elected are the committee; the committee elects its secretary.
    let c = app.committee(&sec, BRANCH_A).await.expect("committee");
    assert_eq!(c.len(), 3);
    assert!(
        c.iter()
            .all(|s| s.election_id == Some(e.id) && s.from_on == date(2026, 3, 11))
    );
    let o = app.visible_org(&sec, BRANCH_A).await.expect("org");
    assert_eq!(o.committee_elected_on, Some(date(2026, 3, 11)));
    let c = app
        .record_committee(
            &sec,
            BRANCH_A,
            date(2026, 3, 11),
            Some(5),
            vec![
                SeatInput {
                    member_id: full[0],
                    role: CommitteeRole::Secretary,
                },
                SeatInput {
                    member_id: full[1],
                    role: CommitteeRole::Deputy,
                },
                SeatInput {
                    member_id: full[2],
                    role: CommitteeRole::Member,
                },
            ],
        )
        .await
        .expect("roles");
    assert_eq!(c[0].role, CommitteeRole::Secretary);
    // The term chosen with the seats is the committee's term (DOMAIN.md §2:
    // a village branch committee serves five years, so only 5 is accepted).
    let o = app.visible_org(&sec, BRANCH_A).await.expect("org");
    assert_eq!(o.committee_term_years, Some(5));
    // A term the organization may not have is refused, naming the field,
    // and the seats in office stay.
    let err = app
        .record_committee(
            &sec,
            BRANCH_A,
            date(2026, 3, 11),
            Some(9),
            vec![SeatInput {
                member_id: full[0],
                role: CommitteeRole::Secretary,
            }],
        )
        .await
        .expect_err("9-year term");
    assert!(format!("{err:?}").contains("任期为 5 年"), "{err:?}");
    assert!(
        format!("{err:?}").contains("committee_term_years"),
        "{err:?}"
    );
    assert_eq!(app.committee(&sec, BRANCH_A).await.expect("seats").len(), 3);

    // A committee meeting expects the committee, not the roster.
    let starts_at = app.clock.now() + Duration::days(3);
    let cm = app
        .schedule_meeting(
            &sec,
            BRANCH_A,
            MeetingInput {
                kind: MeetingKind::CommitteeMeeting,
                title: "支委会".into(),
                agenda: "研究发展党员工作".into(),
                place: Some("党员活动室".into()),
                online_link: None,
                lecturer: None,
                by_secretary: false,
                starts_at,
                ends_at: starts_at + Duration::hours(1),
                repeat: None,
                repeat_count: 1,
                attendee_ids: None,
            },
        )
        .await
        .expect("committee meeting");
    let d = app.meeting_detail(&sec, cm[0].id).await.expect("detail");
    assert_eq!(d.counts.expected, 3);

    // Ballots returned exceed ballots issued: the round is void and seats no one.
    let mut void = input(&full[1..5], vec![b(&[1]), b(&[1]), b(&[1])]);
    void.issued = 2;
    let e = app
        .record_election(&sec, m, void)
        .await
        .expect("void round");
    assert_eq!(e.outcome, ElectionOutcome::Void);
    assert_eq!(
        app.committee(&sec, BRANCH_A).await.expect("c")[0].member_id,
        full[0]
    );
    // Only who manages the branch records.
    let member = fx
        .user_for_member(Role::Member, BRANCH_A, Some(full[4]))
        .await;
    let r = app
        .record_election(&member, m, input(&full[..4], vec![]))
        .await;
    assert_eq!(code_of(&r), "forbidden");
}

#[tokio::test]
async fn attachments_are_checked_by_content_and_size() {
    let fx = Fixture::new().await;
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    let sibling = fx.user(Role::Secretary, BRANCH_B).await;
    let (full, _) = roster(&fx, 1, 3).await;
    on(&fx, 2026, 3, 10);
    let m = assembly(&fx, &sec, &full).await;
    let app = &fx.app;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let a = app
        .upload_attachment(
            &sec,
            m,
            AttachmentPurpose::AttendanceList,
            "签到表.png",
            png.clone(),
        )
        .await
        .expect("png");
    assert_eq!(a.content_type, "image/png");
    assert_eq!(a.sha256.len(), 64);
    // A GIF renamed .pdf is refused by its content.
    let r = app
        .upload_attachment(
            &sec,
            m,
            AttachmentPurpose::Minutes,
            "记录.pdf",
            b"GIF89a\x01\0".to_vec(),
        )
        .await;
    assert_eq!(code_of(&r), "unsupported_type");
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(app.config.attachment_max_bytes + 1, b' ');
    let r = app
        .upload_attachment(&sec, m, AttachmentPurpose::Minutes, "big.pdf", big)
        .await;
    assert_eq!(code_of(&r), "payload_too_large");
    let list = app.meeting_attachments(&sec, m).await.expect("list");
    assert_eq!(list.len(), 1);
    let (v, bytes) = app
        .download_attachment(&sec, m, a.id)
        .await
        .expect("download");
    assert_eq!((v.filename.as_str(), bytes), ("签到表.png", png));
    assert_eq!(
        code_of(&app.download_attachment(&sibling, m, a.id).await),
        "not_found"
    );
    assert_eq!(fx.audit_rows("meeting.attachment.download").await.len(), 1);
}
