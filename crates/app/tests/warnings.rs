//! Warning engine stories (DOMAIN.md §2, §3, §9) on the backend the
//! environment selects: a test clock walked across the term thresholds
//! (blue → yellow → red, never a duplicate row, closed after correction);
//! structure rules raised and cleared by member and committee writes in the
//! same transaction; the 50/100 thresholds with a general branch; registry
//! data quality; who sees and acts on a warning; threshold overrides that
//! change the outcome, audited, and refused with the field named.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::*;
use dangjian_app::warnings::WarningQuery;
use dangjian_app::{AppError, Clock};
use dangjian_domain::identity::Role;
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use dangjian_domain::warnings::{Action, Level, RuleId, WarningState};
use dangjian_store::entities::{member, warning, warning_event};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// 10:00 in Beijing on that day.
fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).single().unwrap()
}

async fn warnings_of(fx: &Fixture, rule: RuleId) -> Vec<warning::Model> {
    warning::Entity::find()
        .filter(warning::Column::Rule.eq(rule.as_str()))
        .order_by_asc(warning::Column::Id)
        .all(&fx.app.db.conn)
        .await
        .unwrap()
}

async fn on_org(fx: &Fixture, rule: RuleId, org_id: i64) -> Vec<warning::Model> {
    warnings_of(fx, rule)
        .await
        .into_iter()
        .filter(|w| w.subject_kind == "organization" && w.subject_id == org_id)
        .collect()
}

async fn history(fx: &Fixture, id: i64) -> Vec<String> {
    warning_event::Entity::find()
        .filter(warning_event::Column::WarningId.eq(id))
        .order_by_asc(warning_event::Column::Id)
        .all(&fx.app.db.conn)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn sweep_at(fx: &Fixture, t: DateTime<Utc>) -> dangjian_app::warnings::SweepReport {
    fx.clock.set(t);
    fx.app.sweep(t).await.unwrap()
}

#[tokio::test]
async fn term_clock_walk_raises_escalates_never_duplicates_and_closes() {
    let fx = Fixture::new().await;
    // Every fixture organization elected its committee on 2025-06-01; all
    // are village/community or state-organ bodies: 5-year terms ending 2030-06-01.
    let a = fx.branch_a.id;
    let steps: [(DateTime<Utc>, Option<Level>, u64, u64); 8] = [
        (at(2029, 11, 30), None, 0, 0),
        (at(2029, 12, 1), Some(Level::Blue), 6, 0),
        (at(2029, 12, 1), Some(Level::Blue), 0, 0),
        (at(2030, 5, 31), Some(Level::Blue), 0, 0),
        (at(2030, 6, 1), Some(Level::Yellow), 0, 6),
        (at(2030, 8, 31), Some(Level::Yellow), 0, 0),
        (at(2030, 9, 1), Some(Level::Red), 0, 6),
        (at(2031, 9, 1), Some(Level::Red), 0, 0),
    ];
    for (t, level, raised, escalated) in steps {
        let r = sweep_at(&fx, t).await;
        assert_eq!(r.subjects, 6, "{t}");
        assert_eq!(
            (r.changes.raised, r.changes.escalated),
            (raised, escalated),
            "{t}"
        );
        let mine = on_org(&fx, RuleId::TermExpiring, a).await;
        assert_eq!(mine.len(), usize::from(level.is_some()), "{t}");
        assert_eq!(
            mine.first().map(|w| w.level.clone()),
            level.map(|l| l.as_str().to_string()),
            "{t}"
        );
        let all = warnings_of(&fx, RuleId::TermExpiring).await;
        assert_eq!(all.len(), if level.is_some() { 6 } else { 0 }, "{t}");
    }
    let w = &on_org(&fx, RuleId::TermExpiring, a).await[0];
    assert_eq!(w.period_key, "2030-06-01");
    assert_eq!(w.due_on, None, "red cannot escalate further");

    // Branch A re-elects: the old term's warning clears by data in the same
    // transaction; not in time (it was red), so no tolerated mistake.
    fx.app
        .set_committee(
            &fx.sys,
            BRANCH_A,
            Some(NaiveDate::from_ymd_opt(2031, 8, 20).unwrap()),
            None,
        )
        .await
        .unwrap();
    let w = &on_org(&fx, RuleId::TermExpiring, a).await[0];
    assert_eq!(
        (w.state.as_str(), w.cleared_by_data, w.tolerated_mistake),
        ("corrected", true, false)
    );
    let d = fx
        .app
        .act_on_warning(&fx.sys, w.id, Action::Close)
        .await
        .unwrap();
    assert_eq!(d.warning.state, WarningState::Closed);
    assert!(d.warning.closed_at.is_some());
    assert_eq!(
        history(&fx, w.id).await,
        ["raised", "escalated", "escalated", "cleared", "closed"]
    );
    // Sweeping on: the closed warning stays closed and is not duplicated.
    sweep_at(&fx, at(2031, 10, 1)).await;
    assert_eq!(on_org(&fx, RuleId::TermExpiring, a).await.len(), 1);

    // Branch B corrects by hand (evidence), then closes.
    let b = on_org(&fx, RuleId::TermExpiring, fx.branch_b.id).await[0].id;
    fx.app
        .act_on_warning(&fx.sys, b, Action::Acknowledge)
        .await
        .unwrap();
    let err = fx
        .app
        .act_on_warning(
            &fx.sys,
            b,
            Action::Correct {
                evidence: "  ".into(),
            },
        )
        .await;
    assert_eq!(fields_of(err), ["evidence"]);
    let d = fx
        .app
        .act_on_warning(
            &fx.sys,
            b,
            Action::Correct {
                evidence: "换届选举已于10月召开，选举结果已报镇党委".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(d.warning.state, WarningState::Corrected);
    assert!(
        !d.warning.tolerated_mistake,
        "a red warning is never tolerated"
    );
    assert!(matches!(
        fx.app.act_on_warning(&fx.sys, b, Action::Acknowledge).await,
        Err(AppError::Conflict(f)) if f.code == "warning_transition_not_allowed"
    ));
    fx.app
        .act_on_warning(&fx.sys, b, Action::Close)
        .await
        .unwrap();
    let d = fx.app.warning_detail(&fx.sys, b).await.unwrap();
    let kinds: Vec<&str> = d.history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "raised",
            "escalated",
            "escalated",
            "acknowledged",
            "corrected",
            "closed"
        ]
    );
    assert_eq!(
        d.history[4].evidence.as_deref(),
        Some("换届选举已于10月召开，选举结果已报镇党委")
    );
    assert_eq!(fx.audit_rows("warning.close").await.len(), 2);
    // Nothing was ever deleted: six warnings, still.
    assert_eq!(warnings_of(&fx, RuleId::TermExpiring).await.len(), 6);
}

#[tokio::test]
async fn correction_in_time_is_a_tolerated_mistake_and_reopens_when_worse() {
    let fx = Fixture::new().await;
    sweep_at(&fx, at(2030, 1, 10)).await;
    let w = on_org(&fx, RuleId::TermExpiring, fx.branch_a.id).await[0].id;
    let d = fx
        .app
        .act_on_warning(
            &fx.sys,
            w,
            Action::Correct {
                evidence: "换届方案已报批，定于5月选举".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        d.warning.tolerated_mistake,
        "corrected before it turned yellow"
    );
    // The election did not happen: at the term end it escalates and reopens.
    sweep_at(&fx, at(2030, 6, 1)).await;
    let d = fx.app.warning_detail(&fx.sys, w).await.unwrap();
    assert_eq!(
        (d.warning.state, d.warning.level),
        (WarningState::Open, Level::Yellow)
    );
    // Reopen is refused on an open warning.
    assert!(matches!(
        fx.app.act_on_warning(&fx.sys, w, Action::Reopen).await,
        Err(AppError::Conflict(_))
    ));
}

#[tokio::test]
async fn too_few_full_members_raised_on_create_cleared_by_registration_recurs_by_sweep() {
    let fx = Fixture::new().await;
    // A new branch has no members: the warning is raised with the branch.
    let w = on_org(&fx, RuleId::TooFewFullMembers, fx.branch_a.id).await;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].level.as_str(), w[0].state.as_str()),
        ("yellow", "open")
    );
    for seq in 0..2 {
        fx.register(BRANCH_A, draft(seq)).await;
    }
    let w = &on_org(&fx, RuleId::TooFewFullMembers, fx.branch_a.id).await[0];
    assert_eq!(w.state, "open");
    assert_eq!(w.detail_zh, "正式党员 2 名，不足 3 名");
    fx.register(BRANCH_A, draft(2)).await;
    let w = &on_org(&fx, RuleId::TooFewFullMembers, fx.branch_a.id).await[0];
    assert_eq!((w.state.as_str(), w.cleared_by_data), ("corrected", true));
    // Branch B still has none.
    let b = &on_org(&fx, RuleId::TooFewFullMembers, fx.branch_b.id).await[0];
    assert_eq!(b.state, "open");

    // A member leaves by a path that does not evaluate yet: the sweep
    // repairs it, reopening the same warning (not a new one).
    let m = member::Entity::find()
        .filter(member::Column::OrgId.eq(fx.branch_a.id))
        .one(&fx.app.db.conn)
        .await
        .unwrap()
        .unwrap();
    let mut am: member::ActiveModel = m.into();
    am.status = Set("transferred_out".into());
    am.update(&fx.app.db.conn).await.unwrap();
    let r = sweep_at(&fx, fixture_now()).await;
    assert_eq!(r.changes.recurred, 1);
    let w = on_org(&fx, RuleId::TooFewFullMembers, fx.branch_a.id).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].state, "open");
    assert_eq!(
        history(&fx, w[0].id).await,
        ["raised", "cleared", "recurred"]
    );
}

#[tokio::test]
async fn seven_full_members_without_committee_until_one_is_elected() {
    let fx = Fixture::new().await;
    let mut input = org_input(
        "SX-C1-X1-W1-BC",
        "红旗村党支部",
        OrgKind::Branch,
        OrgSetting::Village,
        Some(COMMITTEE),
    );
    input.has_committee = false;
    input.committee_elected_on = None;
    let c = fx.app.create_org(&fx.sys, input).await.unwrap();
    for seq in 0..6 {
        fx.register("SX-C1-X1-W1-BC", draft(seq)).await;
    }
    assert!(
        on_org(&fx, RuleId::CommitteeRequired, c.id)
            .await
            .is_empty()
    );
    fx.register("SX-C1-X1-W1-BC", draft(6)).await;
    let w = on_org(&fx, RuleId::CommitteeRequired, c.id).await;
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].detail_zh, "正式党员 7 名，应设立支部委员会");
    // The other branches have a committee: nothing there.
    assert!(
        on_org(&fx, RuleId::CommitteeRequired, fx.branch_a.id)
            .await
            .is_empty()
    );
    fx.app
        .set_committee(
            &fx.sys,
            "SX-C1-X1-W1-BC",
            Some(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()),
            None,
        )
        .await
        .unwrap();
    let w = &on_org(&fx, RuleId::CommitteeRequired, c.id).await[0];
    assert_eq!(
        (w.state.as_str(), w.cleared_by_data, w.tolerated_mistake),
        ("corrected", true, true)
    );
}

#[tokio::test]
async fn fifty_and_hundred_member_thresholds_with_a_general_branch() {
    let fx = Fixture::new().await;
    let gb = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-C1-X1-W1-Z",
                "工业园区党总支",
                OrgKind::GeneralBranch,
                OrgSetting::Enterprise,
                Some(COMMITTEE),
            ),
        )
        .await
        .unwrap();
    let br = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-C1-X1-W1-Z-B1",
                "一车间党支部",
                OrgKind::Branch,
                OrgSetting::Enterprise,
                Some("SX-C1-X1-W1-Z"),
            ),
        )
        .await
        .unwrap();
    for seq in 0..50 {
        fx.register("SX-C1-X1-W1-Z-B1", draft(seq)).await;
    }
    assert!(
        on_org(&fx, RuleId::BranchOver50, br.id).await.is_empty(),
        "50 is not over 50"
    );
    fx.register("SX-C1-X1-W1-Z-B1", draft(50)).await;
    let over50 = on_org(&fx, RuleId::BranchOver50, br.id).await;
    assert_eq!((over50.len(), over50[0].level.as_str()), (1, "blue"));
    for seq in 51..99 {
        fx.register("SX-C1-X1-W1-Z-B1", draft(seq)).await;
    }
    assert!(on_org(&fx, RuleId::Over100, br.id).await.is_empty());
    assert!(on_org(&fx, RuleId::Over100, gb.id).await.is_empty());
    fx.register("SX-C1-X1-W1-Z-B1", draft(99)).await;
    // 100 members: the branch gets the more specific advice (its 50-warning
    // clears), and the general branch above it, counted through its branch,
    // may now form a grassroots committee too.
    let over100 = on_org(&fx, RuleId::Over100, br.id).await;
    assert_eq!(over100.len(), 1);
    assert_eq!(
        on_org(&fx, RuleId::BranchOver50, br.id).await[0].state,
        "corrected"
    );
    let gb100 = on_org(&fx, RuleId::Over100, gb.id).await;
    assert_eq!(gb100.len(), 1);
    assert_eq!(gb100[0].detail_zh, "党员 100 名，可申请成立基层党委");
    // The sweep agrees with what the writes did: nothing to change.
    let r = sweep_at(&fx, fixture_now()).await;
    assert_eq!(r.changes, Default::default());
}

#[tokio::test]
async fn registry_data_quality_from_legacy_rows() {
    let fx = Fixture::new().await;
    let ok = fx.register(BRANCH_A, draft(1)).await;
    assert!(
        warnings_of(&fx, RuleId::RegistryDataQuality)
            .await
            .is_empty()
    );
    // A row that came from an old system, bypassing validation: activist
    // before application, no development-target date.
    let row = member::Entity::find_by_id(ok.id)
        .one(&fx.app.db.conn)
        .await
        .unwrap()
        .unwrap();
    let mut legacy: member::ActiveModel = row.clone().into();
    legacy.id = sea_orm::ActiveValue::NotSet;
    legacy.uid = Set(uuid::Uuid::now_v7());
    legacy.id_bidx = Set("legacy-1".into());
    legacy.applied_on = Set(Some(date(2016, 5, 1)));
    legacy.activist_on = Set(Some(date(2015, 9, 1)));
    legacy.development_target_on = Set(None);
    let legacy = legacy.insert(&fx.app.db.conn).await.unwrap();
    let r = fx.app.sweep_member_data(fx.clock.now()).await.unwrap();
    assert_eq!((r.subjects, r.changes.raised), (2, 1));
    let w = warnings_of(&fx, RuleId::RegistryDataQuality).await;
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].subject_kind.as_str(), w[0].subject_id),
        ("member", legacy.id)
    );
    assert_eq!(w[0].org_id, fx.branch_a.id);
    assert!(
        w[0].detail_zh.contains("入党积极分子：日期早于入党申请人"),
        "{}",
        w[0].detail_zh
    );
    assert!(
        w[0].detail_zh.contains("发展对象：缺少日期"),
        "{}",
        w[0].detail_zh
    );
    let d = fx.app.warning_detail(&fx.sys, w[0].id).await.unwrap();
    assert_eq!(d.subject_label, row.name);
    assert_eq!(d.spec.section, "DOMAIN.md §3");
    // Fixed from the paper archive: cleared by data on the next sweep.
    let mut fix: member::ActiveModel = legacy.into();
    fix.applied_on = Set(Some(date(2015, 3, 1)));
    fix.development_target_on = Set(Some(date(2016, 10, 1)));
    fix.update(&fx.app.db.conn).await.unwrap();
    let r = fx.app.sweep_member_data(fx.clock.now()).await.unwrap();
    assert_eq!(r.changes.cleared, 1);
    let again = fx.app.sweep_member_data(fx.clock.now()).await.unwrap();
    assert_eq!(again.changes, Default::default());
}

#[tokio::test]
async fn sibling_secretary_neither_sees_nor_acts_parents_see_auditors_read() {
    let fx = Fixture::new().await;
    let w = on_org(&fx, RuleId::TooFewFullMembers, fx.branch_a.id).await[0].id;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let sec_b = fx.user(Role::Secretary, BRANCH_B).await;
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    // A yellow warning reaches two levels up (DOMAIN.md §9): the county's
    // auditor sees the branch's; the province's does not.
    let auditor = fx.user(Role::Auditor, COUNTY).await;
    let far_auditor = fx.user(Role::Auditor, PROVINCE).await;
    let member_a = fx.user(Role::Member, BRANCH_A).await;

    for outsider in [&sec_b, &member_a, &far_auditor] {
        assert!(matches!(
            fx.app.warning_detail(outsider, w).await,
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            fx.app
                .act_on_warning(outsider, w, Action::Acknowledge)
                .await,
            Err(AppError::NotFound(_))
        ));
    }
    let q = |org: Option<&str>| WarningQuery {
        org: org.map(str::to_string),
        limit: 100,
        ..Default::default()
    };
    let seen_by_b = fx.app.list_warnings(&sec_b, &q(None)).await.unwrap();
    assert!(seen_by_b.items.iter().all(|v| v.org_code == BRANCH_B));
    assert!(!seen_by_b.items.is_empty());
    assert!(matches!(
        fx.app.list_warnings(&sec_b, &q(Some(BRANCH_A))).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app.warning_summary(&sec_b, BRANCH_A).await,
        Err(AppError::NotFound(_))
    ));

    // The committee sees its whole subtree and may act; the auditor reads only.
    let all = fx
        .app
        .list_warnings(&staff, &q(Some(COMMITTEE)))
        .await
        .unwrap();
    let codes: std::collections::BTreeSet<&str> =
        all.items.iter().map(|v| v.org_code.as_str()).collect();
    assert!(codes.contains(BRANCH_A) && codes.contains(BRANCH_B));
    assert!(
        fx.app
            .warning_detail(&auditor, w)
            .await
            .unwrap()
            .allowed
            .is_empty()
    );
    assert!(matches!(
        fx.app
            .act_on_warning(&auditor, w, Action::Acknowledge)
            .await,
        Err(AppError::Forbidden)
    ));
    let d = fx
        .app
        .act_on_warning(&sec_a, w, Action::Acknowledge)
        .await
        .unwrap();
    assert_eq!(d.history.last().unwrap().actor_user_id, Some(sec_a.user_id));
    fx.app
        .act_on_warning(
            &staff,
            w,
            Action::Correct {
                evidence: "已与邻村协商成立联合党支部".into(),
            },
        )
        .await
        .unwrap();

    // Summary: the committee's children coloured by their worst live warning.
    let s = fx.app.warning_summary(&staff, COMMITTEE).await.unwrap();
    let worst: Vec<(&str, Option<Level>)> = s
        .children
        .iter()
        .map(|c| (c.org.code.as_str(), c.worst))
        .collect();
    assert_eq!(worst, [(BRANCH_A, None), (BRANCH_B, Some(Level::Yellow))]);
    assert_eq!(s.total, 1);
    assert_eq!(s.by_level[1], (Level::Yellow, 1));

    // Filters and the cursor.
    let yellow = fx
        .app
        .list_warnings(
            &staff,
            &WarningQuery {
                org: Some(COMMITTEE.into()),
                level: Some(Level::Yellow),
                states: Some(vec![WarningState::Corrected]),
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(yellow.items.len(), 1);
    assert_eq!(yellow.items[0].id, w);
    let bad = fx
        .app
        .list_warnings(
            &staff,
            &WarningQuery {
                cursor: Some("x".into()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(fields_of(bad), ["cursor"]);
}

#[tokio::test]
async fn trend_counts_open_warnings_per_week() {
    let fx = Fixture::new().await;
    // Branches were created at the fixture time with too few members.
    fx.clock.set(fixture_now() + chrono::Duration::weeks(3));
    for seq in 0..3 {
        fx.register(BRANCH_A, draft(seq)).await;
    }
    fx.clock.set(fixture_now() + chrono::Duration::weeks(5));
    let t = fx.app.warning_trend(&fx.sys, PROVINCE, 12).await.unwrap();
    let open: Vec<u64> = t.iter().map(|p| p.open).collect();
    assert_eq!(open, [0, 0, 0, 0, 0, 0, 2, 2, 2, 1, 1, 1]);
    assert_eq!(t[11].on, date(2027, 1, 2));
}

#[tokio::test]
async fn threshold_override_changes_the_outcome_is_audited_and_names_bad_fields() {
    let fx = Fixture::new().await;
    fx.clock.set(at(2029, 7, 1));
    assert_eq!(sweep_at(&fx, at(2029, 7, 1)).await.changes.raised, 0);
    let staff = fx.user(Role::CommitteeStaff, COMMITTEE).await;
    let sec_a = fx.user(Role::Secretary, BRANCH_A).await;
    let body = serde_json::json!({"term_expiring": {"blue_months_before": 12}});
    assert!(matches!(
        fx.app.set_thresholds(&sec_a, BRANCH_A, &body).await,
        Err(AppError::Forbidden)
    ));
    let v = fx
        .app
        .set_thresholds(&staff, COMMITTEE, &body)
        .await
        .unwrap();
    assert_eq!(v.effective.term_expiring.blue_months_before, 12);
    // Re-evaluated in the same transaction: the committee and its two
    // branches are now within 12 months of their term end; the levels above are not.
    let raised: Vec<i64> = warnings_of(&fx, RuleId::TermExpiring)
        .await
        .iter()
        .map(|w| w.subject_id)
        .collect();
    assert_eq!(raised, [fx.committee.id, fx.branch_a.id, fx.branch_b.id]);
    let inherited = fx.app.org_thresholds(&staff, BRANCH_A).await.unwrap();
    assert_eq!(inherited.effective.term_expiring.blue_months_before, 12);
    assert_eq!(inherited.own, serde_json::json!({}));
    let audit = fx.audit_rows("thresholds.set").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].user_id, Some(staff.user_id));
    assert_eq!(audit[0].detail["to"], body);

    for (bad, field) in [
        (
            serde_json::json!({"term_expiring": {"red_months_after": 0}}),
            "term_expiring.red_months_after",
        ),
        (
            serde_json::json!({"term_expiring": {"blue_months_before": 99}}),
            "term_expiring.blue_months_before",
        ),
        (
            serde_json::json!({"meeting_frequency": {"assembly_months": 4}}),
            "meeting_frequency.assembly_months",
        ),
        (
            serde_json::json!({"term_expiring": {"purple": 1}}),
            "term_expiring.purple",
        ),
        (serde_json::json!({"dues": {}}), "dues"),
    ] {
        assert_eq!(
            fields_of(fx.app.set_thresholds(&staff, BRANCH_A, &bad).await),
            [field],
            "{bad}"
        );
    }
    assert_eq!(fx.audit_rows("thresholds.set").await.len(), 1);
}

/// DOMAIN.md §2: a grassroots committee's term is 3–5 years; the term chosen
/// at the election decides `term_expiring` (blue 6 months before the end,
/// yellow at the end, red 3 months after); without a choice, the longest.
#[tokio::test]
async fn committee_term_chosen_at_election_drives_term_expiring() {
    let fx = Fixture::new().await;
    let c = fx
        .app
        .create_org(
            &fx.sys,
            org_input(
                "SX-C1-X1-W9",
                "某公司党委",
                OrgKind::Committee,
                OrgSetting::Enterprise,
                Some(COUNTY),
            ),
        )
        .await
        .unwrap();
    // A term outside 3–5 years is refused with the field named.
    let r = fx
        .app
        .set_committee(&fx.sys, "SX-C1-X1-W9", Some(date(2025, 6, 1)), Some(6))
        .await;
    assert_eq!(fields_of(r), ["committee_term_years"]);
    // No choice recorded: the longest term, 5 years (ends 2030-06-01).
    sweep_at(&fx, at(2027, 12, 1)).await;
    assert!(on_org(&fx, RuleId::TermExpiring, c.id).await.is_empty());
    // Elected for 3 years: the term ends on 2028-06-01.
    fx.clock.set(at(2025, 6, 2));
    let v = fx
        .app
        .set_committee(&fx.sys, "SX-C1-X1-W9", Some(date(2025, 6, 1)), Some(3))
        .await
        .unwrap();
    assert_eq!(v.committee_term_years, Some(3));
    let steps = [
        (at(2027, 11, 30), None),
        (at(2027, 12, 1), Some(Level::Blue)),
        (at(2028, 5, 31), Some(Level::Blue)),
        (at(2028, 6, 1), Some(Level::Yellow)),
        (at(2028, 8, 31), Some(Level::Yellow)),
        (at(2028, 9, 1), Some(Level::Red)),
        (at(2028, 9, 1), Some(Level::Red)),
    ];
    for (t, level) in steps {
        sweep_at(&fx, t).await;
        let mine = on_org(&fx, RuleId::TermExpiring, c.id).await;
        assert_eq!(mine.len(), usize::from(level.is_some()), "{t}: never two");
        if let Some(w) = mine.first() {
            assert_eq!(w.level, level.unwrap().as_str(), "{t}");
            assert_eq!(w.period_key, "2028-06-01", "{t}");
        }
    }
    let w = &on_org(&fx, RuleId::TermExpiring, c.id).await[0];
    assert_eq!(
        history(&fx, w.id).await,
        ["raised", "escalated", "escalated"]
    );
    // Re-elected for 4 years: the overdue term's warning is corrected by data.
    fx.app
        .set_committee(&fx.sys, "SX-C1-X1-W9", Some(date(2028, 9, 1)), Some(4))
        .await
        .unwrap();
    let all = on_org(&fx, RuleId::TermExpiring, c.id).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].state, "corrected");
}

/// DOMAIN.md §9: a warning is seen by the organization concerned and its
/// parents up to the configured level (default: blue 1, yellow 2, red 3
/// levels up), in every read; a subtree's override changes what it sees,
/// and platform administrators see every level.
#[tokio::test]
async fn visibility_reaches_up_to_the_configured_level() {
    let fx = Fixture::new().await;
    let city = fx.user(Role::CommitteeStaff, CITY).await;
    let county = fx.user(Role::CommitteeStaff, COUNTY).await;
    let admin = fx.user(Role::Admin, PROVINCE).await;
    let q = |org: Option<&str>, rule: RuleId| WarningQuery {
        org: org.map(str::to_string),
        rule: Some(rule),
        limit: 100,
        ..Default::default()
    };
    let codes = |p: dangjian_app::members::Page<dangjian_app::warnings::WarningView>| {
        let mut v: Vec<String> = p.items.into_iter().map(|w| w.org_code).collect();
        v.sort();
        v
    };
    // Blue term warnings on all six organizations (terms end 2030-06-01).
    sweep_at(&fx, at(2029, 12, 1)).await;
    let blue_a = on_org(&fx, RuleId::TermExpiring, fx.branch_a.id).await[0].id;
    // The city (3 levels above the branch) sees its own and the county's
    // blue warnings, not the committee's or the branches'.
    let seen = codes(
        fx.app
            .list_warnings(&city, &q(None, RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert_eq!(seen, [CITY, COUNTY]);
    let seen = codes(
        fx.app
            .list_warnings(&city, &q(Some(COMMITTEE), RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert!(seen.is_empty(), "{seen:?}");
    assert!(matches!(
        fx.app.warning_detail(&city, blue_a).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .act_on_warning(&city, blue_a, Action::Acknowledge)
            .await,
        Err(AppError::NotFound(_))
    ));
    let s = fx.app.warning_summary(&city, CITY).await.unwrap();
    let term = |s: &dangjian_app::warnings::WarningSummary| {
        s.by_rule
            .iter()
            .find(|(r, _)| *r == RuleId::TermExpiring)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(term(&s), 2);
    assert_eq!(s.children[0].worst, Some(Level::Blue), "the county's own");
    // The county (2 above the branch) sees the committee's, not the branches'.
    let seen = codes(
        fx.app
            .list_warnings(&county, &q(None, RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert_eq!(seen, [COUNTY, COMMITTEE]);
    // The administrator sees every level.
    let seen = codes(
        fx.app
            .list_warnings(&admin, &q(None, RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert_eq!(seen.len(), 6);
    assert!(fx.app.warning_detail(&admin, blue_a).await.is_ok());

    // Red (3 months after the end): the same warning now reaches the city.
    sweep_at(&fx, at(2030, 9, 1)).await;
    let seen = codes(
        fx.app
            .list_warnings(&city, &q(None, RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert_eq!(seen, [CITY, COUNTY, COMMITTEE, BRANCH_A, BRANCH_B]);
    let d = fx.app.warning_detail(&city, blue_a).await.unwrap();
    assert_eq!(d.warning.level, Level::Red);
    let s = fx.app.warning_summary(&city, CITY).await.unwrap();
    assert_eq!(term(&s), 5);
    let trend = fx.app.warning_trend(&city, CITY, 1).await.unwrap();
    assert_eq!(trend.last().unwrap().open, s.total);

    // The city narrows what reaches it: red only 2 levels up (audited
    // override of its own subtree); the branches' red warnings drop out.
    fx.app
        .set_thresholds(
            &fx.sys,
            CITY,
            &serde_json::json!({"visibility": {"red_levels_up": 2}}),
        )
        .await
        .unwrap();
    let seen = codes(
        fx.app
            .list_warnings(&city, &q(None, RuleId::TermExpiring))
            .await
            .unwrap(),
    );
    assert_eq!(seen, [CITY, COUNTY, COMMITTEE]);
    let bad = fx
        .app
        .set_thresholds(
            &fx.sys,
            CITY,
            &serde_json::json!({"visibility": {"blue_levels_up": 0}}),
        )
        .await;
    assert_eq!(fields_of(bad), ["visibility.blue_levels_up"]);
}
