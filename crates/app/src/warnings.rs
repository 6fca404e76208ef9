//! The warning engine (三色预警, DOMAIN.md §9) around the pure rules of
//! `dangjian_domain::warnings`: evaluation on write in the caller's
//! transaction, the scheduled sweep over every organization in pages, acting
//! on a warning (acknowledge, correct with evidence, close, reopen),
//! visibility along the tree, the dashboard's reads, and threshold overrides
//! per subtree (audited).
//!
//! Every evaluation follows the recipe of the domain module: load facts and
//! the thresholds in force, evaluate, load the stored warnings of exactly the
//! rules and subjects evaluated, `reconcile`, apply the changes with a history
//! entry each. The unique key `(rule, subject, period)` in the database makes
//! a duplicate impossible even when two writers race.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dangjian_domain::members::{Stage, StageDates};
use dangjian_domain::orgs::{OrgKind, OrgSetting, effective_term_years, term_ends_on};
use dangjian_domain::warnings::{
    Action, ActionKind, Change, ExistingWarning, Finding, Level, MEMBER_DATA_RULES, MemberFacts,
    ORG_RULES, OrgFacts, RuleId, RuleSpec, SubjectKind, Thresholds, ThresholdsOverride,
    VisibilityThresholds, WarningError, WarningState, act, evaluate_member_data, evaluate_org,
    reconcile, tolerated_mistake, transition,
};
use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::entities::{member, org, warning, warning_event};
use dangjian_store::repo::warnings::{self as repo, OrgRuleRow, StageCount};
use dangjian_store::repo::{audit, decisions as drepo, members as mrepo, orgs as orepo};
use sea_orm::{ConnectionTrait, Set};
use serde::Serialize;

use crate::clock::to_local;
use crate::members::Page;
use crate::orgs::OrgView;
use crate::{Actor, App, AppError};

/// Warnings per page of a list when the caller names no limit.
pub const LIST_DEFAULT: u64 = 50;

/// Organizations evaluated per page (and per transaction) by the sweep.
pub const SWEEP_PAGE: u64 = 2000;

/// Default large-sum threshold of the 三重一大 register (DOMAIN.md §8:
/// configurable per organization): 1,000,000 yuan, in fen.
pub const DEFAULT_LARGE_SUM_FEN: i64 = 100_000_000;

impl Actor {
    /// May see the warnings and decisions about organizations at `path`: the
    /// organization's own staff and those of every organization above it.
    pub fn can_view_warnings(&self, path: &str) -> bool {
        self.can_list_members(path)
    }

    /// May acknowledge, correct, close or reopen a warning about `path`, and
    /// record decisions there: its secretary, committee staff or an
    /// administrator above it (auditors only read).
    pub fn can_act_on_warnings(&self, path: &str) -> bool {
        self.can_manage_members(path)
    }

    /// May change the thresholds of the subtree at `path`.
    pub fn can_set_thresholds(&self, path: &str) -> bool {
        self.can_manage_orgs(path)
    }
}

/// What the engine changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EngineCounts {
    pub raised: u64,
    pub escalated: u64,
    pub recurred: u64,
    pub cleared: u64,
}

impl std::ops::AddAssign for EngineCounts {
    fn add_assign(&mut self, o: Self) {
        self.raised += o.raised;
        self.escalated += o.escalated;
        self.recurred += o.recurred;
        self.cleared += o.cleared;
    }
}

/// The outcome of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// The day the rules were evaluated for (Asia/Shanghai).
    pub today: NaiveDate,
    /// Subjects evaluated (organizations, or members for the data sweep).
    pub subjects: u64,
    pub pages: u64,
    #[serde(flatten)]
    pub changes: EngineCounts,
}

// ---------------------------------------------------------------------------
// Settings: thresholds and the large-sum threshold per subtree
// ---------------------------------------------------------------------------

/// The rule settings in force for one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSettings {
    pub thresholds: Thresholds,
    /// Large-sum threshold of the 三重一大 register, in fen (DOMAIN.md §8).
    pub large_sum_fen: i64,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            large_sum_fen: DEFAULT_LARGE_SUM_FEN,
        }
    }
}

/// One organization's stored override: the sections of [`Thresholds`] it
/// changes, and optionally `"decisions": {"large_sum_fen": N}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverrideDoc {
    pub thresholds: ThresholdsOverride,
    pub large_sum_fen: Option<i64>,
}

fn unknown(field: &str) -> FieldError {
    FieldError::new(
        field,
        "unknown_field",
        format!("{field} 不是可配置的阈值"),
        format!("{field} is not a configurable threshold"),
    )
}

fn not_integer(field: &str) -> FieldError {
    FieldError::new(
        field,
        "not_integer",
        format!("{field} 应为整数"),
        format!("{field} must be an integer"),
    )
}

/// Parses an override document, naming the field of each problem
/// (`term_expiring.red_months_after`, `decisions.large_sum_fen`). Bounds are
/// checked later by [`Thresholds::merge`] against the inherited values.
pub fn parse_override(v: &serde_json::Value) -> Result<OverrideDoc, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let Some(obj) = v.as_object() else {
        errs.push(FieldError::new(
            "body",
            "not_object",
            "阈值设置应为 JSON 对象",
            "the thresholds must be a JSON object",
        ));
        return Err(errs);
    };
    let shape = serde_json::to_value(Thresholds::default()).unwrap_or_default();
    let mut thresholds = serde_json::Map::new();
    let mut large_sum_fen = None;
    for (section, val) in obj {
        if section == "decisions" {
            let Some(d) = val.as_object() else {
                errs.push(not_integer("decisions.large_sum_fen"));
                continue;
            };
            for (k, x) in d {
                let field = format!("decisions.{k}");
                if k != "large_sum_fen" {
                    errs.push(unknown(&field));
                } else if x.is_null() {
                } else {
                    match x.as_i64() {
                        Some(n) if n > 0 => large_sum_fen = Some(n),
                        Some(_) => errs.push(FieldError::new(
                            field,
                            "not_positive",
                            "大额资金标准必须大于零",
                            "the large-sum threshold must be greater than zero",
                        )),
                        None => errs.push(not_integer(&field)),
                    }
                }
            }
            continue;
        }
        let Some(fields) = shape.get(section).and_then(|s| s.as_object()) else {
            errs.push(unknown(section));
            continue;
        };
        let Some(given) = val.as_object() else {
            errs.push(FieldError::new(
                section.as_str(),
                "not_object",
                format!("{section} 应为对象"),
                format!("{section} must be an object"),
            ));
            continue;
        };
        for (k, x) in given {
            let field = format!("{section}.{k}");
            if !fields.contains_key(k) {
                errs.push(unknown(&field));
            } else if !x.is_null() && x.as_i64().and_then(|n| i32::try_from(n).ok()).is_none() {
                errs.push(not_integer(&field));
            }
        }
        thresholds.insert(section.clone(), val.clone());
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let thresholds: ThresholdsOverride =
        serde_json::from_value(serde_json::Value::Object(thresholds)).map_err(|e| {
            ValidationErrors(vec![FieldError::new(
                "body",
                "invalid",
                format!("阈值设置无效：{e}"),
                format!("invalid thresholds: {e}"),
            )])
        })?;
    Ok(OverrideDoc {
        thresholds,
        large_sum_fen,
    })
}

/// The stored JSON of an override (sections not changed are left out).
fn override_json(d: &OverrideDoc) -> serde_json::Value {
    let mut v = serde_json::to_value(&d.thresholds).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, s| s.as_object().is_some_and(|o| !o.is_empty()));
        if let Some(n) = d.large_sum_fen {
            obj.insert(
                "decisions".into(),
                serde_json::json!({ "large_sum_fen": n }),
            );
        }
    }
    v
}

/// Ids on a materialized path, root first (`/1/12/345/` → 1, 12, 345).
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

/// The overrides in force, by organization id.
pub(crate) type Overrides = HashMap<i64, OverrideDoc>;

pub(crate) async fn load_overrides<C: ConnectionTrait>(
    c: &C,
    org_ids: Option<&[i64]>,
) -> Result<Overrides, AppError> {
    let mut out = HashMap::new();
    for r in repo::latest_overrides(c, org_ids).await? {
        match parse_override(&r.overrides) {
            Ok(d) => {
                out.insert(r.org_id, d);
            }
            Err(e) => tracing::warn!(org_id = r.org_id, ?e, "stored threshold override ignored"),
        }
    }
    Ok(out)
}

/// Defaults merged with the overrides along the path from the root down,
/// the nearest last. An override that no longer fits what it inherits (a
/// parent changed later) is skipped, with a log line.
pub(crate) fn settings_for(path: &str, overrides: &Overrides) -> RuleSettings {
    let mut s = RuleSettings::default();
    if overrides.is_empty() {
        return s;
    }
    for id in path_ids(path) {
        if let Some(o) = overrides.get(&id) {
            match s.thresholds.merge(&o.thresholds) {
                Ok(t) => s.thresholds = t,
                Err(e) => tracing::warn!(org_id = id, ?e, "threshold override skipped"),
            }
            if let Some(n) = o.large_sum_fen {
                s.large_sum_fen = n;
            }
        }
    }
    s
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

fn existing_of(m: &warning::Model) -> Option<ExistingWarning> {
    Some(ExistingWarning {
        id: m.id,
        rule: RuleId::parse(&m.rule)?,
        subject: (SubjectKind::parse(&m.subject_kind)?, m.subject_id),
        period_key: m.period_key.clone(),
        level: Level::parse(&m.level)?,
        state: WarningState::parse(&m.state)?,
        due: m.due_on,
        cleared_by_data: m.cleared_by_data,
    })
}

fn event(
    w: &warning::Model,
    kind: &str,
    actor: Option<i64>,
    to: (Level, WarningState),
    tolerated: bool,
    evidence: Option<String>,
    now: DateTime<Utc>,
) -> warning_event::ActiveModel {
    warning_event::ActiveModel {
        warning_id: Set(w.id),
        at: Set(now),
        kind: Set(kind.into()),
        actor_user_id: Set(actor),
        from_level: Set((w.level != to.0.as_str()).then(|| w.level.clone())),
        level: Set(to.0.as_str().into()),
        from_state: Set((w.state != to.1.as_str()).then(|| w.state.clone())),
        state: Set(to.1.as_str().into()),
        evidence: Set(evidence),
        tolerated_mistake: Set(tolerated),
        ..Default::default()
    }
}

/// Keeps the text of a live warning current when its level did not change
/// (a branch now has 2 full members, not 0): not a change of the warning, so
/// no history entry.
async fn refresh_details<C: ConnectionTrait>(
    c: &C,
    stored: &[warning::Model],
    findings: &[Finding],
    changes: &[Change],
) -> Result<(), AppError> {
    let changed: HashSet<i64> = changes
        .iter()
        .filter_map(|ch| match ch {
            Change::Escalate { warning_id, .. }
            | Change::Recur { warning_id, .. }
            | Change::ConditionCleared { warning_id } => Some(*warning_id),
            Change::Raise(_) => None,
        })
        .collect();
    let by_key: HashMap<(&str, &str, i64, &str), &Finding> = findings
        .iter()
        .map(|f| {
            (
                (
                    f.rule.as_str(),
                    f.subject.0.as_str(),
                    f.subject.1,
                    f.period_key.as_str(),
                ),
                f,
            )
        })
        .collect();
    for w in stored {
        if changed.contains(&w.id) || !repo::LIVE_STATES.contains(&w.state.as_str()) {
            continue;
        }
        let key = (
            w.rule.as_str(),
            w.subject_kind.as_str(),
            w.subject_id,
            w.period_key.as_str(),
        );
        if let Some(f) = by_key.get(&key)
            && f.level.as_str() == w.level
            && (f.detail_zh != w.detail_zh || f.detail_en != w.detail_en || f.due != w.due_on)
        {
            let am = warning::ActiveModel {
                detail_zh: Set(f.detail_zh.clone()),
                detail_en: Set(f.detail_en.clone()),
                due_on: Set(f.due),
                ..Default::default()
            };
            repo::update_if_state(c, w.id, &w.state, am).await?;
        }
    }
    Ok(())
}

/// Reconciles the stored warnings of `rules` about the `subjects` of `kind`
/// with `findings` (which must cover exactly those rules and subjects) and
/// applies the changes with their history, in `c`. `org_of` names the
/// organization concerned by a subject, for new warnings.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reconcile_subjects<C: ConnectionTrait>(
    c: &C,
    kind: SubjectKind,
    subjects: &[i64],
    rules: &[RuleId],
    findings: &[Finding],
    org_of: &(dyn Fn(i64) -> Option<i64> + Sync),
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    let (Some(&lo), Some(&hi)) = (subjects.iter().min(), subjects.iter().max()) else {
        return Ok(EngineCounts::default());
    };
    let codes: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
    let wanted: HashSet<i64> = subjects.iter().copied().collect();
    let stored: Vec<warning::Model> = repo::of_subjects(c, kind.as_str(), lo, hi, &codes)
        .await?
        .into_iter()
        .filter(|w| wanted.contains(&w.subject_id))
        .collect();
    let existing: Vec<ExistingWarning> = stored.iter().filter_map(existing_of).collect();
    let changes = reconcile(&existing, findings);
    refresh_details(c, &stored, findings, &changes).await?;
    if changes.is_empty() {
        return Ok(EngineCounts::default());
    }
    let by_id: HashMap<i64, &warning::Model> = stored.iter().map(|w| (w.id, w)).collect();
    let mut counts = EngineCounts::default();
    let mut events = Vec::new();
    let mut new_rows = Vec::new();
    for ch in changes {
        match ch {
            Change::Raise(f) => {
                let Some(org_id) = org_of(f.subject.1) else {
                    return Err(AppError::Internal(format!(
                        "no organization for {:?}",
                        f.subject
                    )));
                };
                new_rows.push(repo::NewWarning {
                    rule: f.rule.as_str().into(),
                    level: f.level.as_str().into(),
                    subject_kind: f.subject.0.as_str().into(),
                    subject_id: f.subject.1,
                    org_id,
                    period_key: f.period_key,
                    due_on: f.due,
                    detail_zh: f.detail_zh,
                    detail_en: f.detail_en,
                });
            }
            Change::Escalate {
                warning_id,
                finding,
                reopen,
                ..
            } => {
                let Some(w) = by_id.get(&warning_id) else {
                    continue;
                };
                let state = if reopen {
                    WarningState::Open
                } else {
                    WarningState::parse(&w.state).unwrap_or(WarningState::Open)
                };
                let mut am = warning::ActiveModel {
                    level: Set(finding.level.as_str().into()),
                    due_on: Set(finding.due),
                    detail_zh: Set(finding.detail_zh),
                    detail_en: Set(finding.detail_en),
                    updated_at: Set(now),
                    ..Default::default()
                };
                if reopen {
                    am.state = Set(state.as_str().into());
                    am.cleared_by_data = Set(false);
                    am.closed_at = Set(None);
                }
                if repo::update_if_state(c, w.id, &w.state, am).await? {
                    counts.escalated += 1;
                    events.push(event(
                        w,
                        "escalated",
                        None,
                        (finding.level, state),
                        false,
                        None,
                        now,
                    ));
                }
            }
            Change::Recur {
                warning_id,
                level,
                finding,
            } => {
                let Some(w) = by_id.get(&warning_id) else {
                    continue;
                };
                let am = warning::ActiveModel {
                    level: Set(level.as_str().into()),
                    state: Set(WarningState::Open.as_str().into()),
                    cleared_by_data: Set(false),
                    tolerated_mistake: Set(false),
                    due_on: Set(finding.due),
                    detail_zh: Set(finding.detail_zh),
                    detail_en: Set(finding.detail_en),
                    updated_at: Set(now),
                    closed_at: Set(None),
                    ..Default::default()
                };
                if repo::update_if_state(c, w.id, &w.state, am).await? {
                    counts.recurred += 1;
                    events.push(event(
                        w,
                        "recurred",
                        None,
                        (level, WarningState::Open),
                        false,
                        None,
                        now,
                    ));
                }
            }
            Change::ConditionCleared { warning_id } => {
                let Some(w) = by_id.get(&warning_id) else {
                    continue;
                };
                let level = Level::parse(&w.level).unwrap_or(Level::Yellow);
                let tolerated = tolerated_mistake(level, w.due_on, today);
                let am = warning::ActiveModel {
                    state: Set(WarningState::Corrected.as_str().into()),
                    cleared_by_data: Set(true),
                    tolerated_mistake: Set(tolerated),
                    updated_at: Set(now),
                    ..Default::default()
                };
                if repo::update_if_state(c, w.id, &w.state, am).await? {
                    counts.cleared += 1;
                    events.push(event(
                        w,
                        "cleared",
                        None,
                        (level, WarningState::Corrected),
                        tolerated,
                        None,
                        now,
                    ));
                }
            }
        }
    }
    if c.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Rows and their `raised` history in one statement (see `raise_pg`).
        counts.raised += repo::raise_pg(c, &new_rows, now).await?;
        repo::add_events(c, events).await?;
        return Ok(counts);
    }
    let mut rows = new_rows
        .into_iter()
        .map(|n| warning::ActiveModel {
            rule: Set(n.rule),
            level: Set(n.level),
            subject_kind: Set(n.subject_kind),
            subject_id: Set(n.subject_id),
            org_id: Set(n.org_id),
            period_key: Set(n.period_key),
            state: Set(WarningState::Open.as_str().into()),
            cleared_by_data: Set(false),
            tolerated_mistake: Set(false),
            due_on: Set(n.due_on),
            detail_zh: Set(n.detail_zh),
            detail_en: Set(n.detail_en),
            raised_at: Set(now),
            updated_at: Set(now),
            closed_at: Set(None),
            ..Default::default()
        })
        .peekable();
    while rows.peek().is_some() {
        // 16 columns: 1,500 rows stay under SQLite's 32,766 parameters.
        let chunk: Vec<_> = rows.by_ref().take(1500).collect();
        for w in repo::insert_new(c, chunk).await? {
            counts.raised += 1;
            let level = Level::parse(&w.level).unwrap_or(Level::Blue);
            events.push(event(
                &w,
                "raised",
                None,
                (level, WarningState::Open),
                false,
                None,
                now,
            ));
        }
    }
    repo::add_events(c, events).await?;
    Ok(counts)
}

/// The facts of the organization rules, or `None` for an organization the
/// rules do not apply to any more (dissolved) or cannot read.
fn org_facts(o: &OrgRuleRow, counts: &HashMap<i64, (u32, u32)>) -> Option<OrgFacts> {
    if o.status != "active" {
        return None;
    }
    let kind = OrgKind::parse(&o.kind)?;
    let setting = OrgSetting::parse(&o.setting).unwrap_or(OrgSetting::Other);
    let (full, total) = counts.get(&o.id).copied().unwrap_or((0, 0));
    let term_end = match (o.has_committee, o.committee_elected_on) {
        (true, Some(elected)) if kind.has_elected_committee() => {
            // The term chosen at the election, else the longest allowed (§2).
            let chosen = o.committee_term_years.and_then(|y| u32::try_from(y).ok());
            Some(term_ends_on(
                elected,
                effective_term_years(kind, setting, chosen),
            ))
        }
        _ => None,
    };
    Some(OrgFacts {
        org_id: o.id,
        kind,
        full_members: full,
        total_members: total,
        has_committee: o.has_committee,
        term_ends_on: term_end,
    })
}

fn add_counts(into: &mut HashMap<i64, (u32, u32)>, rows: &[StageCount]) {
    for r in rows {
        let n = u32::try_from(r.n).unwrap_or(u32::MAX);
        let e = into.entry(r.org_id).or_insert((0, 0));
        if r.stage == Stage::Full.as_str() {
            e.0 = e.0.saturating_add(n);
        }
        e.1 = e.1.saturating_add(n);
    }
}

/// Evaluates the organization rules for `rows` with member counts read in
/// `c` (one GROUP BY over the id range, one more for general branches) and
/// applies the changes in `c`.
async fn evaluate_org_rows<C: ConnectionTrait>(
    c: &C,
    rows: &[OrgRuleRow],
    overrides: &Overrides,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    let (Some(lo), Some(hi)) = (
        rows.iter().map(|o| o.id).min(),
        rows.iter().map(|o| o.id).max(),
    ) else {
        return Ok(EngineCounts::default());
    };
    let mut counts = HashMap::new();
    if rows.len() == 1 || (hi - lo) < 4 * rows.len() as i64 {
        add_counts(&mut counts, &repo::member_counts(c, lo, hi).await?);
    } else {
        for o in rows {
            add_counts(&mut counts, &repo::member_counts(c, o.id, o.id).await?);
        }
    }
    let general: Vec<i64> = rows
        .iter()
        .filter(|o| o.kind == OrgKind::GeneralBranch.as_str())
        .map(|o| o.id)
        .collect();
    add_counts(&mut counts, &repo::child_member_counts(c, &general).await?);
    let mut findings = Vec::new();
    for o in rows {
        if let Some(f) = org_facts(o, &counts) {
            let s = settings_for(&o.path, overrides);
            findings.extend(evaluate_org(&f, &s.thresholds, today));
        }
    }
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    reconcile_subjects(
        c,
        SubjectKind::Organization,
        &ids,
        ORG_RULES,
        &findings,
        &|id| Some(id),
        today,
        now,
    )
    .await
}

/// The member facts of the data-quality rule (DOMAIN.md §3).
pub fn member_facts(id: i64, stage: &str, d: &StageDates) -> MemberFacts {
    MemberFacts {
        member_id: id,
        stage: Stage::parse(stage).unwrap_or(Stage::Applicant),
        applied_on: d.applied_on,
        activist_on: d.activist_on,
        target_on: d.development_target_on,
        probationary_on: d.probationary_on,
        full_on: d.full_on,
    }
}

/// [`member_facts`] of a stored member.
pub fn member_facts_of(m: &member::Model) -> MemberFacts {
    member_facts(
        m.id,
        &m.stage,
        &StageDates {
            applied_on: m.applied_on,
            activist_on: m.activist_on,
            development_target_on: m.development_target_on,
            probationary_on: m.probationary_on,
            full_on: m.full_on,
        },
    )
}

impl App {
    /// Evaluates the organization rules (DOMAIN.md §2) for `org`, and for its
    /// parent when that is a general branch (whose total it changes), in the
    /// caller's transaction `c`. Call it on every write that can change their
    /// outcome: members registered or imported, organization created, its
    /// committee elected.
    pub async fn evaluate_org_rules<C: ConnectionTrait>(
        &self,
        c: &C,
        org: &org::Model,
    ) -> Result<EngineCounts, AppError> {
        if !self.config.evaluate_rules_on_write {
            return Ok(EngineCounts::default());
        }
        let mut ids = vec![org.id];
        ids.extend(org.parent_id);
        let rows: Vec<OrgRuleRow> = repo::org_rows(c, &ids)
            .await?
            .into_iter()
            .filter(|o| o.id == org.id || o.kind == OrgKind::GeneralBranch.as_str())
            .collect();
        let overrides = load_overrides(c, Some(&path_ids(&org.path))).await?;
        evaluate_org_rows(c, &rows, &overrides, self.today(), self.clock.now()).await
    }

    /// Evaluates the registry data-quality rule (DOMAIN.md §3) for members of
    /// `org` just written, in the caller's transaction.
    pub async fn evaluate_member_rules<C: ConnectionTrait>(
        &self,
        c: &C,
        org: &org::Model,
        members: &[MemberFacts],
    ) -> Result<EngineCounts, AppError> {
        if !self.config.evaluate_rules_on_write {
            return Ok(EngineCounts::default());
        }
        let today = self.today();
        let findings: Vec<Finding> = members
            .iter()
            .flat_map(|m| evaluate_member_data(m, today))
            .collect();
        let ids: Vec<i64> = members.iter().map(|m| m.member_id).collect();
        reconcile_subjects(
            c,
            SubjectKind::Member,
            &ids,
            MEMBER_DATA_RULES,
            &findings,
            &|_| Some(org.id),
            today,
            self.clock.now(),
        )
        .await
    }

    /// Everything registering `members` (new rows) in `org` can change: the
    /// branch's organization rules and the members' data quality, in the
    /// caller's transaction. New members have no stored warning, so when
    /// their data is sound nothing about them is read (one round trip less
    /// per registration); a change to an existing member calls
    /// [`App::evaluate_org_rules`] and [`App::evaluate_member_rules`].
    pub async fn rules_after_member_write<C: ConnectionTrait>(
        &self,
        c: &C,
        org: &org::Model,
        members: &[MemberFacts],
    ) -> Result<EngineCounts, AppError> {
        let mut n = self.evaluate_org_rules(c, org).await?;
        let today = self.today();
        if members
            .iter()
            .any(|m| !evaluate_member_data(m, today).is_empty())
        {
            n += self.evaluate_member_rules(c, org, members).await?;
        }
        Ok(n)
    }

    /// The scheduled sweep of the time-driven rules: every organization, in
    /// id order, [`SWEEP_PAGE`] at a time, each page read and written in one
    /// transaction (retried once if a concurrent writer got in the way).
    /// Reconciles all organization rules, so it also repairs anything a
    /// write path did not evaluate.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<SweepReport, AppError> {
        let today = to_local(now).date_naive();
        let overrides = load_overrides(&self.db.conn, None).await?;
        let mut report = SweepReport {
            today,
            subjects: 0,
            pages: 0,
            changes: EngineCounts::default(),
        };
        let mut after = 0;
        loop {
            let rows = repo::org_page(&self.db.conn, after, SWEEP_PAGE, None).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let mut attempt = 0;
            let changes = loop {
                attempt += 1;
                let (_writer, tx) = self.begin_write().await?;
                let r = evaluate_org_rows(&tx, &rows, &overrides, today, now).await;
                let r = match r {
                    Ok(n) => tx.commit().await.map(|_| n).map_err(AppError::from),
                    Err(e) => Err(e),
                };
                match r {
                    Ok(n) => break n,
                    Err(e) if attempt < 2 => {
                        tracing::warn!(error = %e, after, "sweep page retried");
                    }
                    Err(e) => return Err(e),
                }
            };
            report.subjects += rows.len() as u64;
            report.pages += 1;
            report.changes += changes;
        }
        Ok(report)
    }

    /// A sweep of the registry data-quality rule over every member, for data
    /// that came in by other paths than the validated forms and imports.
    pub async fn sweep_member_data(&self, now: DateTime<Utc>) -> Result<SweepReport, AppError> {
        let today = to_local(now).date_naive();
        let mut report = SweepReport {
            today,
            subjects: 0,
            pages: 0,
            changes: EngineCounts::default(),
        };
        let mut after = 0;
        loop {
            let rows = repo::member_dates_page(&self.db.conn, after, SWEEP_PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let org_of: HashMap<i64, i64> = rows.iter().map(|m| (m.id, m.org_id)).collect();
            let facts: Vec<MemberFacts> = rows
                .iter()
                .map(|m| {
                    member_facts(
                        m.id,
                        &m.stage,
                        &StageDates {
                            applied_on: m.applied_on,
                            activist_on: m.activist_on,
                            development_target_on: m.development_target_on,
                            probationary_on: m.probationary_on,
                            full_on: m.full_on,
                        },
                    )
                })
                .collect();
            let findings: Vec<Finding> = facts
                .iter()
                .flat_map(|m| evaluate_member_data(m, today))
                .collect();
            let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
            let (_writer, tx) = self.begin_write().await?;
            let n = reconcile_subjects(
                &tx,
                SubjectKind::Member,
                &ids,
                MEMBER_DATA_RULES,
                &findings,
                &|id| org_of.get(&id).copied(),
                today,
                now,
            )
            .await?;
            tx.commit().await?;
            report.subjects += rows.len() as u64;
            report.pages += 1;
            report.changes += n;
        }
        Ok(report)
    }

    /// Re-evaluates the organization rules of a whole subtree in `c` (after
    /// its thresholds changed).
    async fn evaluate_subtree<C: ConnectionTrait>(
        &self,
        c: &C,
        path: &str,
    ) -> Result<EngineCounts, AppError> {
        let overrides = load_overrides(c, None).await?;
        let (today, now) = (self.today(), self.clock.now());
        let mut total = EngineCounts::default();
        let mut after = 0;
        loop {
            let rows = repo::org_page(c, after, SWEEP_PAGE, Some(path)).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            total += evaluate_org_rows(c, &rows, &overrides, today, now).await?;
        }
        Ok(total)
    }
}

// ---------------------------------------------------------------------------
// Reading and acting
// ---------------------------------------------------------------------------

/// A warning as users see it.
#[derive(Debug, Clone, Serialize)]
pub struct WarningView {
    pub id: i64,
    pub rule: RuleId,
    pub level: Level,
    pub state: WarningState,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub org_id: i64,
    pub org_code: String,
    pub org_name: String,
    pub period_key: String,
    pub detail_zh: String,
    pub detail_en: String,
    /// When it escalates next (or the deadline), if it still can.
    pub due_on: Option<NaiveDate>,
    /// Corrected because its condition cleared (not by a person).
    pub cleared_by_data: bool,
    /// 容错纠错: corrected in time (DOMAIN.md §9).
    pub tolerated_mistake: bool,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl WarningView {
    pub(crate) fn from_rows(w: &warning::Model, o: &org::Model) -> Option<Self> {
        Some(Self {
            id: w.id,
            rule: RuleId::parse(&w.rule)?,
            level: Level::parse(&w.level)?,
            state: WarningState::parse(&w.state)?,
            subject_kind: SubjectKind::parse(&w.subject_kind)?,
            subject_id: w.subject_id,
            org_id: o.id,
            org_code: o.code.clone(),
            org_name: o.name.clone(),
            period_key: w.period_key.clone(),
            detail_zh: w.detail_zh.clone(),
            detail_en: w.detail_en.clone(),
            due_on: w.due_on,
            cleared_by_data: w.cleared_by_data,
            tolerated_mistake: w.tolerated_mistake,
            raised_at: w.raised_at,
            updated_at: w.updated_at,
            closed_at: w.closed_at,
        })
    }

    /// Open or acknowledged: someone still has to act.
    pub fn is_live(&self) -> bool {
        matches!(self.state, WarningState::Open | WarningState::Acknowledged)
    }
}

/// One entry of a warning's history.
#[derive(Debug, Clone, Serialize)]
pub struct WarningEventView {
    pub at: DateTime<Utc>,
    /// raised, escalated, recurred, cleared, acknowledged, corrected, closed, reopened
    pub kind: String,
    /// `None` for the engine.
    pub actor_user_id: Option<i64>,
    pub from_level: Option<Level>,
    pub level: Level,
    pub from_state: Option<WarningState>,
    pub state: WarningState,
    pub evidence: Option<String>,
    pub tolerated_mistake: bool,
}

/// A warning with its rule, subject, history and what the viewer may do.
#[derive(Debug, Clone, Serialize)]
pub struct WarningDetail {
    pub warning: WarningView,
    pub spec: RuleSpec,
    /// Name of the subject (organization, member, decision title).
    pub subject_label: String,
    pub history: Vec<WarningEventView>,
    /// Actions the viewer may take now.
    pub allowed: Vec<ActionKind>,
}

/// Filters of a warning list.
#[derive(Debug, Clone, Default)]
pub struct WarningQuery {
    /// Code of the subtree's root; default: every subtree the user sees.
    pub org: Option<String>,
    pub level: Option<Level>,
    pub rule: Option<RuleId>,
    pub states: Option<Vec<WarningState>>,
    pub cursor: Option<String>,
    pub limit: u64,
}

/// Counts of live warnings in one organization's subtree.
#[derive(Debug, Clone, Serialize)]
pub struct ChildStatus {
    pub org: OrgView,
    /// Worst level of a live warning in its subtree, if any.
    pub worst: Option<Level>,
    pub live: u64,
}

/// The dashboard's counts over a subtree (live warnings only).
#[derive(Debug, Clone, Serialize)]
pub struct WarningSummary {
    pub org: OrgView,
    pub total: u64,
    pub by_level: Vec<(Level, u64)>,
    pub by_rule: Vec<(RuleId, u64)>,
    /// Worst level and count of the organization's own live warnings.
    pub own: Option<Level>,
    pub own_live: u64,
    pub children: Vec<ChildStatus>,
}

/// Live warnings at the end of one week.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrendPoint {
    pub on: NaiveDate,
    pub open: u64,
}

/// The thresholds of an organization: in force, and its own override.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdsView {
    pub org_code: String,
    pub effective: Thresholds,
    pub large_sum_fen: i64,
    /// This organization's own override (`{}` when it only inherits).
    pub own: serde_json::Value,
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<i64>,
}

fn warning_error(e: WarningError) -> AppError {
    match e {
        WarningError::EvidenceRequired => {
            AppError::Validation(ValidationErrors(vec![FieldError::new(
                "evidence",
                e.code(),
                e.message_zh(),
                e.message_en(),
            )]))
        }
        WarningError::NotAllowed { .. } => AppError::Conflict(FieldError::new(
            "action",
            e.code(),
            e.message_zh(),
            e.message_en(),
        )),
    }
}

fn past_tense(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Acknowledge => "acknowledged",
        ActionKind::Correct => "corrected",
        ActionKind::Close => "closed",
        ActionKind::Reopen => "reopened",
    }
}

fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, AppError> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => c.parse::<i64>().map(Some).map_err(|_| {
            AppError::field(
                "cursor",
                "invalid_cursor",
                "分页游标无效",
                "cursor is not valid",
            )
        }),
    }
}

impl App {
    /// What the actor's grants reach of the warnings in the subtree at
    /// `scope` (every subtree the actor sees when `None`): DOMAIN.md §9, the
    /// organization concerned and its parents up to the levels configured
    /// at the viewer's organization ([`VisibilityThresholds`]). Platform
    /// administrators reach every level.
    async fn reaches(
        &self,
        actor: &Actor,
        scope: Option<&str>,
    ) -> Result<Vec<repo::Reach>, AppError> {
        use dangjian_domain::identity::Role;
        let viewers: Vec<&crate::Grant> = actor
            .grants
            .iter()
            .filter(|g| {
                matches!(
                    g.role,
                    Role::Secretary | Role::CommitteeStaff | Role::Auditor | Role::Admin
                )
            })
            .collect();
        let ids: Vec<i64> = viewers.iter().flat_map(|g| path_ids(&g.org_path)).collect();
        let overrides = load_overrides(&self.db.conn, Some(&ids)).await?;
        let mut out = Vec::new();
        for g in viewers {
            // The part of the grant's subtree inside the scope, if any.
            let path = match scope {
                None => g.org_path.clone(),
                Some(p) if p.starts_with(&g.org_path) => p.to_string(),
                Some(p) if g.org_path.starts_with(p) => g.org_path.clone(),
                Some(_) => continue,
            };
            let v = settings_for(&g.org_path, &overrides).thresholds.visibility;
            let depth = i32::try_from(path_ids(&g.org_path).len()).unwrap_or(i32::MAX) - 1;
            out.push(repo::Reach {
                path,
                viewer_depth: (g.role != Role::Admin).then_some(depth),
                blue: v.blue_levels_up,
                yellow: v.yellow_levels_up,
                red: v.red_levels_up,
            });
        }
        Ok(out)
    }

    /// Whether the actor's grants reach a warning of `level` about the
    /// organization `o` (the same test as [`Self::reaches`], for one row).
    pub(crate) async fn reaches_warning(
        &self,
        actor: &Actor,
        o: &org::Model,
        level: Level,
    ) -> Result<bool, AppError> {
        Ok(self.reaches(actor, Some(&o.path)).await?.iter().any(|r| {
            let up = match r.viewer_depth {
                None => return true,
                Some(vd) => o.depth - vd,
            };
            let v = VisibilityThresholds {
                blue_levels_up: r.blue,
                yellow_levels_up: r.yellow,
                red_levels_up: r.red,
            };
            v.sees(level, up)
        }))
    }

    /// A warning and its organization, if the actor may see it; 404 otherwise
    /// (never 403, so existence does not leak).
    async fn visible_warning(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(warning::Model, org::Model), AppError> {
        let w = repo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("warning"))?;
        let o = orepo::get(&self.db.conn, w.org_id)
            .await?
            .ok_or(AppError::NotFound("warning"))?;
        let level = Level::parse(&w.level).unwrap_or(Level::Red);
        if !actor.can_view_warnings(&o.path) || !self.reaches_warning(actor, &o, level).await? {
            return Err(AppError::NotFound("warning"));
        }
        Ok((w, o))
    }

    /// An organization whose warnings the actor may see; 404 otherwise.
    async fn supervised_org(&self, actor: &Actor, code: &str) -> Result<org::Model, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_view_warnings(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        Ok(o)
    }

    /// Warnings in a subtree (default: every subtree the actor sees), newest
    /// first, filtered by level, rule and state.
    pub async fn list_warnings(
        &self,
        actor: &Actor,
        q: &WarningQuery,
    ) -> Result<Page<WarningView>, AppError> {
        let before = parse_cursor(q.cursor.as_deref())?;
        let reaches = match &q.org {
            Some(code) => {
                let o = self.supervised_org(actor, code).await?;
                self.reaches(actor, Some(&o.path)).await?
            }
            None => self.reaches(actor, None).await?,
        };
        let limit = if q.limit == 0 {
            LIST_DEFAULT
        } else {
            q.limit.clamp(1, 500)
        };
        let f = repo::ListFilter {
            level: q.level.map(|l| l.as_str().to_string()),
            rule: q.rule.map(|r| r.as_str().to_string()),
            states: q
                .states
                .as_ref()
                .map(|s| s.iter().map(|s| s.as_str().to_string()).collect()),
            before_id: before,
        };
        let rows = repo::list(&self.db.conn, &reaches, &f, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        let items: Vec<WarningView> = rows
            .iter()
            .take(limit as usize)
            .filter_map(|(w, o)| WarningView::from_rows(w, o))
            .collect();
        let next_cursor = if more {
            items.last().map(|w| w.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// One warning with its rule, subject and history.
    pub async fn warning_detail(&self, actor: &Actor, id: i64) -> Result<WarningDetail, AppError> {
        let (w, o) = self.visible_warning(actor, id).await?;
        let view = WarningView::from_rows(&w, &o)
            .ok_or_else(|| AppError::Internal(format!("warning {id} has unknown codes")))?;
        let subject_label = match view.subject_kind {
            SubjectKind::Organization => orepo::get(&self.db.conn, view.subject_id)
                .await?
                .map(|s| s.name)
                .unwrap_or_default(),
            SubjectKind::Member => mrepo::get(&self.db.conn, view.subject_id)
                .await?
                .map(|m| m.name)
                .unwrap_or_default(),
            SubjectKind::Decision => drepo::get(&self.db.conn, view.subject_id)
                .await?
                .map(|d| d.title)
                .unwrap_or_default(),
            SubjectKind::Letter => {
                dangjian_store::repo::transfers::get(&self.db.conn, view.subject_id)
                    .await?
                    .map(|l| format!("{}（{}）", l.number, l.member_name))
                    .unwrap_or_default()
            }
            SubjectKind::Meeting => {
                dangjian_store::repo::meetings::get(&self.db.conn, view.subject_id)
                    .await?
                    .map(|m| {
                        format!(
                            "{}（{}）",
                            m.title,
                            crate::clock::to_local(m.starts_at).format("%Y-%m-%d")
                        )
                    })
                    .unwrap_or_default()
            }
            _ => String::new(),
        };
        let history = repo::events(&self.db.conn, id)
            .await?
            .into_iter()
            .filter_map(|e| {
                Some(WarningEventView {
                    at: e.at,
                    kind: e.kind,
                    actor_user_id: e.actor_user_id,
                    from_level: e.from_level.as_deref().and_then(Level::parse),
                    level: Level::parse(&e.level)?,
                    from_state: e.from_state.as_deref().and_then(WarningState::parse),
                    state: WarningState::parse(&e.state)?,
                    evidence: e.evidence,
                    tolerated_mistake: e.tolerated_mistake,
                })
            })
            .collect();
        let allowed = if actor.can_act_on_warnings(&o.path) {
            ActionKind::ALL
                .iter()
                .copied()
                .filter(|k| {
                    let a = match k {
                        ActionKind::Acknowledge => Action::Acknowledge,
                        ActionKind::Correct => Action::Correct {
                            evidence: "-".into(),
                        },
                        ActionKind::Close => Action::Close,
                        ActionKind::Reopen => Action::Reopen,
                    };
                    transition(view.state, &a).is_ok()
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(WarningDetail {
            spec: view.rule.spec(),
            warning: view,
            subject_label,
            history,
            allowed,
        })
    }

    /// Acknowledges, corrects (整改, with evidence), closes or reopens a
    /// warning. Allowed for those managing its organization; the history
    /// records who and when, and whether a correction came in time (容错纠错).
    pub async fn act_on_warning(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
    ) -> Result<WarningDetail, AppError> {
        let (w, o) = self.visible_warning(actor, id).await?;
        if !actor.can_act_on_warnings(&o.path) {
            return Err(AppError::Forbidden);
        }
        let existing = existing_of(&w)
            .ok_or_else(|| AppError::Internal(format!("warning {id} has unknown codes")))?;
        let today = self.today();
        let outcome = act(&existing, &action, today).map_err(warning_error)?;
        let now = self.clock.now();
        let kind = action.kind();
        let mut am = warning::ActiveModel {
            state: Set(outcome.state.as_str().into()),
            updated_at: Set(now),
            ..Default::default()
        };
        match kind {
            ActionKind::Correct => {
                am.tolerated_mistake = Set(outcome.tolerated_mistake);
                am.cleared_by_data = Set(false);
            }
            ActionKind::Close => am.closed_at = Set(Some(now)),
            ActionKind::Reopen => {
                am.closed_at = Set(None);
                am.cleared_by_data = Set(false);
                am.tolerated_mistake = Set(false);
            }
            ActionKind::Acknowledge => {}
        }
        let (_writer, tx) = self.begin_write().await?;
        if !repo::update_if_state(&tx, w.id, &w.state, am).await? {
            return Err(AppError::Conflict(FieldError::new(
                "state",
                "warning_changed",
                "预警已被他人或系统更新，请刷新后重试",
                "the warning changed meanwhile; reload and try again",
            )));
        }
        repo::add_events(
            &tx,
            vec![event(
                &w,
                past_tense(kind),
                actor.audit_id(),
                (existing.level, outcome.state),
                outcome.tolerated_mistake,
                outcome.evidence.clone(),
                now,
            )],
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: format!("warning.{}", kind.as_str()),
                target_kind: "warning".into(),
                target_id: Some(w.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "rule": w.rule, "from": w.state, "to": outcome.state.as_str(),
                    "tolerated_mistake": outcome.tolerated_mistake,
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.warning_detail(actor, id).await
    }

    /// Live warnings over the subtree of `code`: by level, by rule, and the
    /// worst level under each child organization.
    pub async fn warning_summary(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<WarningSummary, AppError> {
        let o = self.supervised_org(actor, code).await?;
        let reaches = self.reaches(actor, Some(&o.path)).await?;
        let rows = repo::live_summary(&self.db.conn, &reaches).await?;
        let children = orepo::children(&self.db.conn, o.id).await?;
        let mut by_level: HashMap<Level, u64> = HashMap::new();
        let mut by_rule: HashMap<RuleId, u64> = HashMap::new();
        let mut child: HashMap<i64, (Option<Level>, u64)> = HashMap::new();
        let (mut own, mut own_live, mut total) = (None, 0u64, 0u64);
        for r in &rows {
            let (Some(level), Some(rule)) = (Level::parse(&r.level), RuleId::parse(&r.rule)) else {
                continue;
            };
            let n = u64::try_from(r.n).unwrap_or(0);
            total += n;
            *by_level.entry(level).or_default() += n;
            *by_rule.entry(rule).or_default() += n;
            let below = r.path.strip_prefix(o.path.as_str()).unwrap_or("");
            match below.split('/').next().and_then(|s| s.parse::<i64>().ok()) {
                Some(cid) => {
                    let e = child.entry(cid).or_default();
                    e.0 = e.0.max(Some(level));
                    e.1 += n;
                }
                None => {
                    own = own.max(Some(level));
                    own_live += n;
                }
            }
        }
        let mut by_rule: Vec<(RuleId, u64)> = by_rule.into_iter().collect();
        by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(WarningSummary {
            total,
            by_level: Level::ALL
                .iter()
                .rev()
                .map(|l| (*l, by_level.get(l).copied().unwrap_or(0)))
                .collect(),
            by_rule,
            own,
            own_live,
            children: children
                .iter()
                .map(|c| {
                    let (worst, live) = child.get(&c.id).copied().unwrap_or_default();
                    ChildStatus {
                        org: OrgView::from_model(c),
                        worst,
                        live,
                    }
                })
                .collect(),
            org: OrgView::from_model(&o),
        })
    }

    /// Live warnings in the subtree of `code` at the end of each of the last
    /// `weeks` weeks (the last point is now), replayed from their history.
    pub async fn warning_trend(
        &self,
        actor: &Actor,
        code: &str,
        weeks: u32,
    ) -> Result<Vec<TrendPoint>, AppError> {
        let o = self.supervised_org(actor, code).await?;
        let now = self.clock.now();
        let weeks = weeks.clamp(1, 104);
        let points: Vec<DateTime<Utc>> = (0..weeks)
            .rev()
            .map(|k| now - Duration::weeks(i64::from(k)))
            .collect();
        let since = points.first().copied().unwrap_or(now);
        let reaches = self.reaches(actor, Some(&o.path)).await?;
        let steady = repo::live_unchanged_since(&self.db.conn, &reaches, since).await?;
        let steps = repo::steps_of_changed_since(&self.db.conn, &reaches, since).await?;
        let mut open = vec![steady; points.len()];
        let mut i = 0;
        while i < steps.len() {
            let id = steps[i].warning_id;
            let mut j = i;
            while j < steps.len() && steps[j].warning_id == id {
                j += 1;
            }
            let mine = &steps[i..j];
            for (p, t) in points.iter().enumerate() {
                let state = mine.iter().take_while(|s| s.at <= *t).last();
                if state.is_some_and(|s| repo::LIVE_STATES.contains(&s.state.as_str())) {
                    open[p] += 1;
                }
            }
            i = j;
        }
        Ok(points
            .iter()
            .zip(open)
            .map(|(t, n)| TrendPoint {
                on: to_local(*t).date_naive(),
                open: n,
            })
            .collect())
    }

    /// The rule settings in force for an organization (for the decision register).
    pub(crate) async fn rule_settings<C: ConnectionTrait>(
        &self,
        c: &C,
        o: &org::Model,
    ) -> Result<RuleSettings, AppError> {
        let overrides = load_overrides(c, Some(&path_ids(&o.path))).await?;
        Ok(settings_for(&o.path, &overrides))
    }

    /// The thresholds in force for `code` and its own override.
    pub async fn org_thresholds(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<ThresholdsView, AppError> {
        let o = self.supervised_org(actor, code).await?;
        let s = self.rule_settings(&self.db.conn, &o).await?;
        let own = repo::latest_overrides(&self.db.conn, Some(&[o.id])).await?;
        let own = own.into_iter().next();
        Ok(ThresholdsView {
            org_code: o.code,
            effective: s.thresholds,
            large_sum_fen: s.large_sum_fen,
            changed_at: own.as_ref().map(|r| r.at),
            changed_by: own.as_ref().and_then(|r| r.changed_by),
            own: own
                .map(|r| r.overrides)
                .unwrap_or_else(|| serde_json::json!({})),
        })
    }

    /// Replaces the override of `code` (a subtree setting, DOMAIN.md
    /// "configurable"): committee staff or administrators only; every field
    /// checked against what it inherits, errors naming the field; the change
    /// is appended (old rows stay), audited, and the subtree's organization
    /// rules are re-evaluated in the same transaction.
    pub async fn set_thresholds(
        &self,
        actor: &Actor,
        code: &str,
        body: &serde_json::Value,
    ) -> Result<ThresholdsView, AppError> {
        let o = self.supervised_org(actor, code).await?;
        if !actor.can_set_thresholds(&o.path) {
            return Err(AppError::Forbidden);
        }
        let doc = parse_override(body)?;
        let mut overrides = load_overrides(&self.db.conn, Some(&path_ids(&o.path))).await?;
        let old = overrides.remove(&o.id);
        let parent_path = o
            .path
            .strip_suffix(&format!("{}/", o.id))
            .unwrap_or(&o.path);
        let inherited = settings_for(parent_path, &overrides);
        inherited.thresholds.merge(&doc.thresholds)?;
        let stored = override_json(&doc);
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        repo::insert_override(&tx, o.id, stored.clone(), actor.audit_id(), now).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "thresholds.set".into(),
                target_kind: "org".into(),
                target_id: Some(o.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "from": old.as_ref().map(override_json),
                    "to": stored,
                }),
            },
            now,
        )
        .await?;
        self.evaluate_subtree(&tx, &o.path).await?;
        tx.commit().await?;
        self.org_thresholds(actor, code).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_fields_are_named() {
        let fields = |v: serde_json::Value| -> Vec<String> {
            parse_override(&v)
                .err()
                .map(|e| e.0.into_iter().map(|f| f.field).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            fields(serde_json::json!({"term_expiring": {"red_month_after": 2}})),
            ["term_expiring.red_month_after"]
        );
        assert_eq!(
            fields(serde_json::json!({"term_expring": {}})),
            ["term_expring"]
        );
        assert_eq!(
            fields(serde_json::json!({"term_expiring": {"red_months_after": "x"}})),
            ["term_expiring.red_months_after"]
        );
        assert_eq!(
            fields(serde_json::json!({"decisions": {"large_sum_fen": 0}})),
            ["decisions.large_sum_fen"]
        );
        assert_eq!(fields(serde_json::json!([1])), ["body"]);
        let ok = parse_override(&serde_json::json!({
            "term_expiring": {"blue_months_before": 3},
            "decisions": {"large_sum_fen": 5_000_000}
        }))
        .expect("valid");
        assert_eq!(ok.thresholds.term_expiring.blue_months_before, Some(3));
        assert_eq!(ok.large_sum_fen, Some(5_000_000));
        assert_eq!(
            override_json(&ok),
            serde_json::json!({"term_expiring": {"blue_months_before": 3}, "decisions": {"large_sum_fen": 5_000_000}})
        );
    }

    #[test]
    fn settings_merge_root_first_nearest_last() {
        let mut o = Overrides::new();
        let doc = |v| parse_override(&v).expect("valid");
        o.insert(
            1,
            doc(serde_json::json!({"term_expiring": {"blue_months_before": 9}, "decisions": {"large_sum_fen": 7}})),
        );
        o.insert(
            3,
            doc(serde_json::json!({"term_expiring": {"blue_months_before": 2}})),
        );
        // Inherited red (3) is not after an own yellow of 5: skipped, logged.
        o.insert(
            4,
            doc(serde_json::json!({"term_expiring": {"yellow_months_after": 5}})),
        );
        assert_eq!(
            settings_for("/1/2/", &o)
                .thresholds
                .term_expiring
                .blue_months_before,
            9
        );
        let s = settings_for("/1/2/3/", &o);
        assert_eq!(s.thresholds.term_expiring.blue_months_before, 2);
        assert_eq!(s.large_sum_fen, 7);
        let s = settings_for("/1/2/3/4/", &o);
        assert_eq!(s.thresholds.term_expiring.yellow_months_after, 0);
        assert_eq!(settings_for("/5/", &o), RuleSettings::default());
        assert_eq!(path_ids("/1/12/345/"), [1, 12, 345]);
    }
}
