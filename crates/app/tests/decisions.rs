//! 三重一大 register stories (DOMAIN.md §8): a table of compliant and
//! non-compliant decisions recorded through the app gives the expected
//! verdict and warnings; an emergency decision's report clears its warning;
//! the large-sum threshold follows the organization's override; input errors
//! name their field; only the organization's staff and those above see it.

mod common;

use common::*;
use dangjian_app::AppError;
use dangjian_app::decisions::DecisionInput;
use dangjian_domain::decisions::{
    DecisionCheck, DecisionKind, DecisionMethod, Position, Statement,
};
use dangjian_domain::identity::Role;
use dangjian_domain::warnings::{Level, RuleId, WarningState};

/// A compliant decision of a 9-member committee: all present, all agree,
/// the principal leader (9) speaks last, research, consultation and review done.
fn base() -> DecisionInput {
    DecisionInput {
        kind: DecisionKind::MajorPolicy,
        title: "关于村集体经济发展规划的决定".into(),
        amount_fen: None,
        method: DecisionMethod::Meeting,
        decided_on: date(2026, 11, 20),
        meeting: Some("2026年第11次党委会".into()),
        members_total: 9,
        attendees: (1..=9).collect(),
        recused: vec![],
        prior_research: true,
        consultation: true,
        legal_review: true,
        statements: (1..=9)
            .map(|id| Statement {
                member_id: id,
                position: Position::Agree,
                is_principal_leader: id == 9,
            })
            .collect(),
        dissent_recorded: false,
        emergency: false,
        emergency_reported_on: None,
    }
}

fn with(f: impl FnOnce(&mut DecisionInput)) -> DecisionInput {
    let mut d = base();
    f(&mut d);
    d
}

fn positions(d: &mut DecisionInput, p: &[(i64, Position)]) {
    for (id, pos) in p {
        if let Some(s) = d.statements.iter_mut().find(|s| s.member_id == *id) {
            s.position = *pos;
        }
    }
}

#[tokio::test]
async fn table_of_decisions_gives_verdicts_and_warnings() {
    let fx = Fixture::new().await;
    type Case = (
        &'static str,
        DecisionInput,
        bool,
        Vec<DecisionCheck>,
        Vec<(RuleId, Level)>,
    );
    let red = |c| (RuleId::DecisionCompliance, c);
    let cases: Vec<Case> = vec![
        ("compliant", base(), true, vec![], vec![]),
        (
            "circulated papers",
            with(|d| d.method = DecisionMethod::Circulation),
            false,
            vec![DecisionCheck::NotAtMeeting],
            vec![red(Level::Red)],
        ),
        (
            "one-by-one consultation",
            with(|d| d.method = DecisionMethod::OneByOne),
            false,
            vec![DecisionCheck::NotAtMeeting],
            vec![red(Level::Red)],
        ),
        (
            "4 of 9 present",
            with(|d| {
                d.attendees = vec![1, 2, 3, 9];
                d.statements.retain(|s| d.attendees.contains(&s.member_id));
            }),
            false,
            vec![DecisionCheck::NoQuorum, DecisionCheck::FailedMajority],
            vec![red(Level::Red)],
        ),
        (
            "cadre appointment, 6 of 9 present (two thirds)",
            with(|d| {
                d.kind = DecisionKind::CadreAppointment;
                d.attendees = vec![1, 2, 3, 4, 5, 9];
                d.statements.retain(|s| d.attendees.contains(&s.member_id));
            }),
            true,
            vec![],
            vec![],
        ),
        (
            "cadre appointment, 5 of 9 present",
            with(|d| {
                d.kind = DecisionKind::CadreAppointment;
                d.attendees = vec![1, 2, 3, 4, 9];
                d.statements.retain(|s| d.attendees.contains(&s.member_id));
            }),
            false,
            vec![DecisionCheck::NoQuorum],
            vec![red(Level::Red)],
        ),
        (
            "4 agree of 9, dissent recorded",
            with(|d| {
                positions(
                    d,
                    &[
                        (1, Position::Disagree),
                        (2, Position::Disagree),
                        (3, Position::Disagree),
                        (4, Position::Abstain),
                        (5, Position::Abstain),
                    ],
                );
                d.dissent_recorded = true;
            }),
            false,
            vec![DecisionCheck::FailedMajority],
            vec![red(Level::Red)],
        ),
        (
            "no consultation",
            with(|d| d.consultation = false),
            false,
            vec![DecisionCheck::MissingConsultation],
            vec![red(Level::Yellow)],
        ),
        (
            "no legal review of a major policy",
            with(|d| d.legal_review = false),
            false,
            vec![DecisionCheck::MissingLegalReview],
            vec![red(Level::Yellow)],
        ),
        (
            "principal leader not last",
            with(|d| d.statements.rotate_right(1)),
            false,
            vec![DecisionCheck::PrincipalNotLast],
            vec![red(Level::Yellow)],
        ),
        (
            "dissent not in the minutes",
            with(|d| positions(d, &[(2, Position::Disagree)])),
            false,
            vec![DecisionCheck::DissentNotRecorded],
            vec![red(Level::Yellow)],
        ),
        (
            "recused member spoke",
            with(|d| d.recused = vec![3]),
            false,
            vec![DecisionCheck::RecusedTookPart],
            vec![red(Level::Yellow)],
        ),
        (
            "emergency decision taken alone, not yet reported",
            with(|d| {
                d.emergency = true;
                d.attendees = vec![9];
                d.statements.retain(|s| s.member_id == 9);
            }),
            true,
            vec![DecisionCheck::EmergencyNotReported],
            vec![(RuleId::EmergencyDecisionUnreported, Level::Blue)],
        ),
        (
            "large sum by one-by-one consultation",
            with(|d| {
                d.kind = DecisionKind::LargeFundUse;
                d.amount_fen = Some(150_000_000);
                d.method = DecisionMethod::OneByOne;
            }),
            false,
            vec![
                DecisionCheck::LargeFundNotCollective,
                DecisionCheck::NotAtMeeting,
            ],
            vec![red(Level::Red)],
        ),
    ];
    for (name, input, compliant, checks, warnings) in cases {
        let d = fx
            .app
            .record_decision(&fx.sys, COMMITTEE, input)
            .await
            .unwrap();
        let v = &d.decision.verdict;
        assert_eq!(v.compliant, compliant, "{name}: {v:?}");
        let got: Vec<DecisionCheck> = v.findings.iter().map(|f| f.code).collect();
        assert_eq!(got, checks, "{name}");
        let got: Vec<(RuleId, Level)> = d.warnings.iter().map(|w| (w.rule, w.level)).collect();
        assert_eq!(got, warnings, "{name}");
        assert!(
            d.warnings
                .iter()
                .all(|w| w.org_code == COMMITTEE && w.state == WarningState::Open),
            "{name}"
        );
        assert_eq!(d.decision.threshold_fen, 100_000_000, "{name}");
    }
    let page = fx
        .app
        .list_decisions(&fx.sys, COMMITTEE, None, 100)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 14);
    assert_eq!(page.items[0].title, base().title);
    assert!(page.items[0].id > page.items[13].id, "newest first");
    assert_eq!(fx.audit_rows("decision.record").await.len(), 14);
}

#[tokio::test]
async fn reporting_an_emergency_decision_clears_its_warning() {
    let fx = Fixture::new().await;
    let input = with(|d| {
        d.emergency = true;
        d.title = "汛期紧急转移群众".into();
        d.attendees = vec![9];
        d.statements.retain(|s| s.member_id == 9);
    });
    let d = fx
        .app
        .record_decision(&fx.sys, COMMITTEE, input)
        .await
        .unwrap();
    let id = d.decision.id;
    assert!(d.can_report);
    let bad = fx
        .app
        .report_emergency(&fx.sys, id, date(2026, 11, 1))
        .await;
    assert_eq!(fields_of(bad), ["emergency_reported_on"]);
    let d = fx
        .app
        .report_emergency(&fx.sys, id, date(2026, 11, 25))
        .await
        .unwrap();
    assert!(d.decision.verdict.findings.is_empty());
    assert_eq!(d.decision.emergency_reported_on, Some(date(2026, 11, 25)));
    assert_eq!(d.warnings.len(), 1);
    let w = &d.warnings[0];
    assert_eq!(
        (w.rule, w.state, w.cleared_by_data, w.tolerated_mistake),
        (
            RuleId::EmergencyDecisionUnreported,
            WarningState::Corrected,
            true,
            true
        )
    );
    assert!(!d.can_report);
    assert!(matches!(
        fx.app.report_emergency(&fx.sys, id, date(2026, 11, 26)).await,
        Err(AppError::Conflict(f)) if f.code == "already_reported"
    ));
    let plain = fx
        .app
        .record_decision(&fx.sys, COMMITTEE, base())
        .await
        .unwrap();
    assert!(matches!(
        fx.app.report_emergency(&fx.sys, plain.decision.id, date(2026, 11, 26)).await,
        Err(AppError::Conflict(f)) if f.code == "not_emergency"
    ));
    assert_eq!(fx.audit_rows("decision.report_emergency").await.len(), 1);
}

#[tokio::test]
async fn large_sum_threshold_follows_the_override() {
    let fx = Fixture::new().await;
    // 50,000 yuan for a fund use, no legal review: below the default
    // threshold of 1,000,000 yuan it is no major item.
    let input = || {
        with(|d| {
            d.kind = DecisionKind::LargeFundUse;
            d.amount_fen = Some(5_000_000);
            d.legal_review = false;
        })
    };
    let d = fx
        .app
        .record_decision(&fx.sys, BRANCH_A, input())
        .await
        .unwrap();
    assert!(d.decision.verdict.compliant);
    fx.app
        .set_thresholds(
            &fx.sys,
            COMMITTEE,
            &serde_json::json!({"decisions": {"large_sum_fen": 1_000_000}}),
        )
        .await
        .unwrap();
    let d = fx
        .app
        .record_decision(&fx.sys, BRANCH_A, input())
        .await
        .unwrap();
    assert_eq!(d.decision.threshold_fen, 1_000_000);
    assert!(d.decision.verdict.has(DecisionCheck::MissingLegalReview));
    assert_eq!(d.warnings[0].level, Level::Yellow);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let fx = Fixture::new().await;
    let cases: Vec<(DecisionInput, Vec<&str>)> = vec![
        (with(|d| d.title = "  ".into()), vec!["title"]),
        (with(|d| d.title = "长".repeat(201)), vec!["title"]),
        (
            with(|d| d.decided_on = date(2026, 12, 1)),
            vec!["decided_on"],
        ),
        (with(|d| d.attendees.push(3)), vec!["attendees"]),
        (
            with(|d| d.members_total = 0),
            vec!["members_total", "attendees"],
        ),
        (with(|d| d.amount_fen = Some(-1)), vec!["amount_fen"]),
        (
            with(|d| d.emergency_reported_on = Some(date(2026, 11, 21))),
            vec!["emergency_reported_on"],
        ),
    ];
    for (input, fields) in cases {
        assert_eq!(
            fields_of(fx.app.record_decision(&fx.sys, COMMITTEE, input).await),
            fields
        );
    }
    assert!(
        fx.app
            .list_decisions(&fx.sys, COMMITTEE, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_organization_and_those_above_see_its_register() {
    let fx = Fixture::new().await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let auditor = fx.user(Role::Auditor, PROVINCE).await;
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let d = fx
        .app
        .record_decision(&sec_a, BRANCH_A, base())
        .await
        .unwrap();
    assert_eq!(d.decision.created_by, Some(sec_a.user_id));
    let id = d.decision.id;
    assert!(matches!(
        fx.app.decision_detail(&sec_b, id).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.list_decisions(&sec_b, BRANCH_A, None, 10).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.record_decision(&sec_b, BRANCH_A, base()).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.record_decision(&auditor, BRANCH_A, base()).await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        fx.app
            .decision_detail(&auditor, id)
            .await
            .unwrap()
            .decision
            .id,
        id
    );
    assert_eq!(
        fx.app
            .list_decisions(&staff, BRANCH_A, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // Committee staff above the branch may record in its register too.
    fx.app
        .record_decision(&staff, BRANCH_A, base())
        .await
        .unwrap();
}
