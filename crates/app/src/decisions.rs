//! The 三重一大 decision register (DOMAIN.md §8): record a decision with its
//! meeting, attendance, positions and reviews; check it with
//! `dangjian_domain::decisions::check_compliance`; store the verdict; raise
//! `decision_compliance` and `emergency_decision_unreported` through the
//! warning engine in the same transaction; record the later report of an
//! emergency decision (which clears its warning).

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::decisions::{
    Decision, DecisionKind, DecisionMethod, Emergency, Statement, Verdict, check_compliance,
};
use dangjian_domain::warnings::{RuleId, SubjectKind};
use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::entities::{decision, org};
use dangjian_store::repo::warnings as wrepo;
use dangjian_store::repo::{audit, decisions as repo, orgs as orepo};
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::members::Page;
use crate::orgs::OrgView;
use crate::warnings::{WarningView, reconcile_subjects};
use crate::{Actor, App, AppError};

/// The rules the register raises, for reconciling a decision's warnings.
pub const DECISION_RULES: &[RuleId] = &[
    RuleId::DecisionCompliance,
    RuleId::EmergencyDecisionUnreported,
];

/// Longest title and meeting name, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Largest leadership body the register accepts.
pub const BODY_MAX: u32 = 100;

/// A decision as entered. Attendees, recusals and speakers are the numbers
/// of members of the leadership body (seat or member numbers, not names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub kind: DecisionKind,
    pub title: String,
    /// Amount involved, in fen.
    pub amount_fen: Option<i64>,
    pub method: DecisionMethod,
    /// Day of the meeting (or of the emergency decision).
    pub decided_on: NaiveDate,
    /// The meeting that decided it (e.g. 2026年第5次党委会).
    pub meeting: Option<String>,
    pub members_total: u32,
    pub attendees: Vec<i64>,
    pub recused: Vec<i64>,
    pub prior_research: bool,
    pub consultation: bool,
    pub legal_review: bool,
    /// Positions in speaking order.
    pub statements: Vec<Statement>,
    pub dissent_recorded: bool,
    /// Taken alone in an emergency (临机决策).
    pub emergency: bool,
    /// When an emergency decision was reported to the next meeting.
    pub emergency_reported_on: Option<NaiveDate>,
}

/// A register entry with its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub id: i64,
    pub org: OrgView,
    pub kind: DecisionKind,
    pub title: String,
    pub amount_fen: Option<i64>,
    /// The organization's large-sum threshold when it was recorded.
    pub threshold_fen: i64,
    pub method: DecisionMethod,
    pub decided_on: NaiveDate,
    pub meeting: Option<String>,
    pub members_total: u32,
    pub attendees: Vec<i64>,
    pub recused: Vec<i64>,
    pub prior_research: bool,
    pub consultation: bool,
    pub legal_review: bool,
    pub statements: Vec<Statement>,
    pub dissent_recorded: bool,
    pub emergency: bool,
    pub emergency_reported_on: Option<NaiveDate>,
    pub verdict: Verdict,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A decision with the warnings raised about it.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionDetail {
    pub decision: DecisionView,
    pub warnings: Vec<WarningView>,
    /// The viewer may record the report of an emergency decision.
    pub can_report: bool,
}

fn ids_json(v: &[i64]) -> serde_json::Value {
    serde_json::json!(v)
}

fn corrupt(id: i64) -> AppError {
    AppError::Internal(format!("decision {id} has unreadable stored fields"))
}

fn view(d: &decision::Model, o: &org::Model) -> Result<DecisionView, AppError> {
    let ids = |v: &serde_json::Value| -> Result<Vec<i64>, AppError> {
        serde_json::from_value(v.clone()).map_err(|_| corrupt(d.id))
    };
    Ok(DecisionView {
        id: d.id,
        org: OrgView::from_model(o),
        kind: DecisionKind::parse(&d.kind).ok_or_else(|| corrupt(d.id))?,
        title: d.title.clone(),
        amount_fen: d.amount_fen,
        threshold_fen: d.threshold_fen,
        method: DecisionMethod::parse(&d.method).ok_or_else(|| corrupt(d.id))?,
        decided_on: d.decided_on,
        meeting: d.meeting.clone(),
        members_total: u32::try_from(d.members_total).unwrap_or(0),
        attendees: ids(&d.attendees)?,
        recused: ids(&d.recused)?,
        prior_research: d.prior_research,
        consultation: d.consultation,
        legal_review: d.legal_review,
        statements: serde_json::from_value(d.statements.clone()).map_err(|_| corrupt(d.id))?,
        dissent_recorded: d.dissent_recorded,
        emergency: d.emergency,
        emergency_reported_on: d.emergency_reported_on,
        verdict: serde_json::from_value(d.verdict.clone()).map_err(|_| corrupt(d.id))?,
        created_by: d.created_by,
        created_at: d.created_at,
    })
}

fn domain_of(v: &DecisionView) -> Decision {
    Decision {
        kind: v.kind,
        title: v.title.clone(),
        amount_fen: v.amount_fen,
        threshold_fen: v.threshold_fen,
        method: v.method,
        members_total: v.members_total,
        attendees: v.attendees.clone(),
        recused: v.recused.clone(),
        prior_research: v.prior_research,
        consultation: v.consultation,
        legal_review: v.legal_review,
        statements: v.statements.clone(),
        dissent_recorded: v.dissent_recorded,
        emergency: v.emergency.then_some(Emergency {
            reported_at_next_meeting: v.emergency_reported_on,
        }),
    }
}

/// Checks of the register's own (beyond `Decision::validate`): lengths,
/// dates not after today, a report only for an emergency and not before it.
fn validate_input(i: &DecisionInput, today: NaiveDate) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    if i.title.trim().chars().count() > TITLE_MAX_CHARS {
        e.push(FieldError::new(
            "title",
            "too_long",
            format!("事项名称不超过{TITLE_MAX_CHARS}个字"),
            format!("The title has at most {TITLE_MAX_CHARS} characters"),
        ));
    }
    if i.meeting
        .as_deref()
        .is_some_and(|m| m.trim().chars().count() > TITLE_MAX_CHARS)
    {
        e.push(FieldError::new(
            "meeting",
            "too_long",
            format!("会议名称不超过{TITLE_MAX_CHARS}个字"),
            format!("The meeting name has at most {TITLE_MAX_CHARS} characters"),
        ));
    }
    if i.members_total > BODY_MAX {
        e.push(FieldError::new(
            "members_total",
            "too_large",
            format!("领导班子成员数不超过{BODY_MAX}"),
            format!("A leadership body has at most {BODY_MAX} members"),
        ));
    }
    if i.decided_on > today {
        e.push(FieldError::new(
            "decided_on",
            "date_in_future",
            format!("决策日期{}晚于今天（{today}）", i.decided_on),
            format!(
                "The decision date {} is after today ({today})",
                i.decided_on
            ),
        ));
    }
    if let Some(r) = i.emergency_reported_on {
        if !i.emergency {
            e.push(FieldError::new(
                "emergency_reported_on",
                "not_emergency",
                "只有临机决策需要填写报告日期",
                "Only an emergency decision has a report date",
            ));
        } else if let Some(err) = report_date_error(r, i.decided_on, today) {
            e.push(err);
        }
    }
    e
}

fn report_date_error(r: NaiveDate, decided: NaiveDate, today: NaiveDate) -> Option<FieldError> {
    if r < decided {
        Some(FieldError::new(
            "emergency_reported_on",
            "before_decision",
            format!("报告日期{r}早于决策日期{decided}"),
            format!("The report date {r} is before the decision date {decided}"),
        ))
    } else if r > today {
        Some(FieldError::new(
            "emergency_reported_on",
            "date_in_future",
            format!("报告日期{r}晚于今天（{today}）"),
            format!("The report date {r} is after today ({today})"),
        ))
    } else {
        None
    }
}

impl App {
    /// A decision and its organization, if the actor may see it; 404 otherwise.
    async fn visible_decision(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(decision::Model, org::Model), AppError> {
        let d = repo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("decision"))?;
        let o = orepo::get(&self.db.conn, d.org_id)
            .await?
            .ok_or(AppError::NotFound("decision"))?;
        if !actor.can_view_warnings(&o.path) {
            return Err(AppError::NotFound("decision"));
        }
        Ok((d, o))
    }

    /// Reconciles the warnings of one decision with its verdict, in `c`.
    async fn decision_warnings<C: ConnectionTrait>(
        &self,
        c: &C,
        id: i64,
        org_id: i64,
        verdict: &Verdict,
    ) -> Result<(), AppError> {
        reconcile_subjects(
            c,
            SubjectKind::Decision,
            &[id],
            DECISION_RULES,
            &verdict.warning_findings(id),
            &|_| Some(org_id),
            self.today(),
            self.clock.now(),
        )
        .await?;
        Ok(())
    }

    /// Records a decision in the register of `code`, checks it and raises
    /// its warnings, all in one transaction; audited.
    pub async fn record_decision(
        &self,
        actor: &Actor,
        code: &str,
        input: DecisionInput,
    ) -> Result<DecisionDetail, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_act_on_warnings(&o.path) {
            return Err(AppError::Forbidden);
        }
        let today = self.today();
        let settings = self.rule_settings(&self.db.conn, &o).await?;
        let mut errs = validate_input(&input, today);
        let domain = Decision {
            kind: input.kind,
            title: input.title.trim().to_string(),
            amount_fen: input.amount_fen,
            threshold_fen: settings.large_sum_fen,
            method: input.method,
            members_total: input.members_total,
            attendees: input.attendees.clone(),
            recused: input.recused.clone(),
            prior_research: input.prior_research,
            consultation: input.consultation,
            legal_review: input.legal_review,
            statements: input.statements.clone(),
            dissent_recorded: input.dissent_recorded,
            emergency: input.emergency.then_some(Emergency {
                reported_at_next_meeting: input.emergency_reported_on,
            }),
        };
        if let Err(v) = domain.validate() {
            errs.0.extend(v.0);
        }
        errs.into_result()?;
        let verdict = check_compliance(&domain);
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert(
            &tx,
            decision::ActiveModel {
                org_id: Set(o.id),
                kind: Set(domain.kind.as_str().into()),
                title: Set(domain.title.clone()),
                amount_fen: Set(domain.amount_fen),
                threshold_fen: Set(domain.threshold_fen),
                method: Set(domain.method.as_str().into()),
                decided_on: Set(input.decided_on),
                meeting: Set(input
                    .meeting
                    .as_deref()
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)),
                members_total: Set(i32::try_from(domain.members_total).unwrap_or(i32::MAX)),
                attendees: Set(ids_json(&domain.attendees)),
                recused: Set(ids_json(&domain.recused)),
                prior_research: Set(domain.prior_research),
                consultation: Set(domain.consultation),
                legal_review: Set(domain.legal_review),
                statements: Set(serde_json::to_value(&domain.statements).unwrap_or_default()),
                dissent_recorded: Set(domain.dissent_recorded),
                emergency: Set(input.emergency),
                emergency_reported_on: Set(input.emergency_reported_on),
                compliant: Set(verdict.compliant),
                worst_level: Set(verdict.worst().map(|l| l.as_str().to_string())),
                verdict: Set(serde_json::to_value(&verdict).unwrap_or_default()),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        self.decision_warnings(&tx, row.id, o.id, &verdict).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "decision.record".into(),
                target_kind: "decision".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "kind": row.kind, "compliant": verdict.compliant,
                    "worst": verdict.worst().map(|l| l.as_str()),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.decision_detail(actor, row.id).await
    }

    /// The register of `code`, newest first.
    pub async fn list_decisions(
        &self,
        actor: &Actor,
        code: &str,
        cursor: Option<&str>,
        limit: u64,
    ) -> Result<Page<DecisionView>, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_view_warnings(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        let before = match cursor {
            None | Some("") => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                AppError::field(
                    "cursor",
                    "invalid_cursor",
                    "分页游标无效",
                    "cursor is not valid",
                )
            })?),
        };
        let limit = limit.clamp(1, 200);
        let rows = repo::list_by_org(&self.db.conn, o.id, before, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        let items = rows
            .iter()
            .take(limit as usize)
            .map(|d| view(d, &o))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if more {
            items.last().map(|d| d.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// One decision with its verdict and warnings.
    pub async fn decision_detail(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<DecisionDetail, AppError> {
        let (d, o) = self.visible_decision(actor, id).await?;
        let codes: Vec<&str> = DECISION_RULES.iter().map(|r| r.as_str()).collect();
        let warnings = wrepo::of_subjects(
            &self.db.conn,
            SubjectKind::Decision.as_str(),
            id,
            id,
            &codes,
        )
        .await?;
        // Only the warnings the actor's level reaches (DOMAIN.md §9).
        let mut shown = Vec::new();
        for w in &warnings {
            if let Some(v) = WarningView::from_rows(w, &o)
                && self.reaches_warning(actor, &o, v.level).await?
            {
                shown.push(v);
            }
        }
        let warnings = shown;
        let decision = view(&d, &o)?;
        Ok(DecisionDetail {
            can_report: decision.emergency
                && decision.emergency_reported_on.is_none()
                && actor.can_act_on_warnings(&o.path),
            decision,
            warnings,
        })
    }

    /// Records that an emergency decision was reported to the next
    /// leadership meeting on `reported_on`; re-checks it, which clears its
    /// `emergency_decision_unreported` warning. Audited.
    pub async fn report_emergency(
        &self,
        actor: &Actor,
        id: i64,
        reported_on: NaiveDate,
    ) -> Result<DecisionDetail, AppError> {
        let (d, o) = self.visible_decision(actor, id).await?;
        if !actor.can_act_on_warnings(&o.path) {
            return Err(AppError::Forbidden);
        }
        if !d.emergency {
            return Err(AppError::Conflict(FieldError::new(
                "emergency",
                "not_emergency",
                "该事项不是临机决策",
                "this is not an emergency decision",
            )));
        }
        if d.emergency_reported_on.is_some() {
            return Err(AppError::Conflict(FieldError::new(
                "emergency_reported_on",
                "already_reported",
                "该临机决策已报告",
                "this emergency decision was already reported",
            )));
        }
        if let Some(e) = report_date_error(reported_on, d.decided_on, self.today()) {
            return Err(AppError::Validation(ValidationErrors(vec![e])));
        }
        let mut v = view(&d, &o)?;
        v.emergency_reported_on = Some(reported_on);
        let verdict = check_compliance(&domain_of(&v));
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let mut am: decision::ActiveModel = d.clone().into();
        am.emergency_reported_on = Set(Some(reported_on));
        am.compliant = Set(verdict.compliant);
        am.worst_level = Set(verdict.worst().map(|l| l.as_str().to_string()));
        am.verdict = Set(serde_json::to_value(&verdict).unwrap_or_default());
        am.updated_at = Set(now);
        repo::update(&tx, am).await?;
        self.decision_warnings(&tx, d.id, o.id, &verdict).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "decision.report_emergency".into(),
                target_kind: "decision".into(),
                target_id: Some(d.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"reported_on": reported_on}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.decision_detail(actor, id).await
    }
}
