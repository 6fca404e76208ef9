//! Membership dues collection (DOMAIN.md §7, §6): annual bases with their
//! history, monthly sheets per branch, payments and reversing corrections,
//! each member's account, the arrears warnings `dues_arrears_3m` and
//! `dues_arrears_6m` (raised through the warning engine, never an automatic
//! removal), and collection reports across a subtree.
//!
//! Bases, payments and corrections are archive events: each writes a
//! `member_events` row and its ledger leaf in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dangjian_domain::dues::{
    DuesCategory, FeeInput, Relief, format_fen, is_special_payment, parse_yuan_to_fen,
};
use dangjian_domain::dues_ledger::{
    Charge, DuesStatus, PaymentKind, PaymentMethod, arrears_findings, base_effective_from,
    collection_rate_bp, format_month, month_of, next_month, parse_month, settle, validate_payment,
};
use dangjian_domain::warnings::{Finding, RuleId, SubjectKind};
use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::entities::{dues_base, dues_charge, dues_payment, member, member_event, org};
use dangjian_store::repo::{audit, dues as repo, members as mrepo, orgs as orepo};
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::members::AAD_EVENT;
use crate::orgs::OrgView;
use crate::warnings::reconcile_subjects;
use crate::{Actor, App, AppError};

/// The rules this module raises.
pub const DUES_RULES: &[RuleId] = &[RuleId::DuesArrears3m, RuleId::DuesArrears6m];
/// Organizations per transaction when generating sheets over a subtree.
pub const GENERATE_BATCH: u64 = 200;
/// AAD of the encrypted income base.
pub const AAD_BASE: &str = "dues_bases.base_enc";

/// Who declared a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredBy {
    Member,
    Secretary,
}

/// A base as declared (DOMAIN.md §7). Amounts are yuan text, e.g. `5000.00`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseInput {
    pub year: i32,
    /// Defaults to the member's registered category.
    pub category: Option<DuesCategory>,
    /// Monthly income after tax (employed, retired).
    pub income: Option<String>,
    /// Amount the branch set for a fixed-amount category.
    pub branch_amount: Option<String>,
    /// `reduced` or `exempt`; needs `approval_ref`.
    pub relief: Option<String>,
    /// Reduced monthly amount (with `relief = reduced`).
    pub reduced_amount: Option<String>,
    /// Approval of a relief or of a mid-year change.
    pub approval_ref: Option<String>,
}

/// A stored base; the income shows only to those who may read it.
#[derive(Debug, Clone, Serialize)]
pub struct BaseView {
    pub id: i64,
    pub year: i32,
    pub effective_from: NaiveDate,
    pub category: DuesCategory,
    pub income_fen: Option<i64>,
    pub fee_fen: i64,
    pub rule: String,
    pub relief: Option<String>,
    pub approval_ref: Option<String>,
    pub declared_by: String,
    pub created_at: DateTime<Utc>,
}

/// A payment as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    /// Yuan text, e.g. `25.50`.
    pub amount: String,
    /// Receipt number (cash), transfer or online reference.
    pub reference: String,
    /// Defaults to today.
    pub paid_on: Option<NaiveDate>,
    pub approval_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: i64,
    pub kind: PaymentKind,
    pub method: String,
    pub reference: String,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub approval_ref: Option<String>,
    /// A voluntary payment over 1000 yuan, reported upward (DOMAIN.md §7).
    pub special: bool,
    pub reverses_id: Option<i64>,
    pub reversed: bool,
    pub reason: Option<String>,
}

/// One member's dues: account, charges, payments and bases.
#[derive(Debug, Clone, Serialize)]
pub struct MemberDues {
    pub member_id: i64,
    pub name: String,
    pub org: OrgView,
    pub status: DuesStatus,
    pub charges: Vec<Charge>,
    pub payments: Vec<PaymentView>,
    pub bases: Vec<BaseView>,
    pub can_record: bool,
}

/// One line of a monthly sheet.
#[derive(Debug, Clone, Serialize)]
pub struct SheetRow {
    pub member_id: i64,
    pub name: String,
    /// The month's charge; `None` when the member has no base yet.
    pub fee_fen: Option<i64>,
    pub status: DuesStatus,
}

/// A branch's sheet of one month.
#[derive(Debug, Clone, Serialize)]
pub struct Sheet {
    pub org: OrgView,
    pub month: String,
    pub generated: bool,
    pub rows: Vec<SheetRow>,
    pub due_fen: i64,
    pub paid_fen: i64,
    pub can_record: bool,
}

/// What a generation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerateReport {
    pub month: String,
    pub organizations: u64,
    pub charges_created: u64,
}

/// Due, paid and rate of one organization and month.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub org_code: String,
    pub org_name: String,
    pub month: String,
    pub members_charged: i64,
    pub due_fen: i64,
    pub paid_fen: i64,
    /// Paid of due in basis points (capped at 100%).
    pub rate_bp: Option<u32>,
}

/// Collection across a subtree: per organization and month, and per month.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionReport {
    pub org: OrgView,
    pub from: String,
    pub to: String,
    pub rows: Vec<ReportRow>,
    pub months: Vec<ReportRow>,
}

fn corrupt(what: &str, id: i64) -> AppError {
    AppError::Internal(format!("{what} {id} has unreadable stored fields"))
}

fn fee_field(field: &'static str, e: dangjian_domain::dues::FeeError) -> AppError {
    let mut f = e.to_field_error();
    f.field = field.to_string();
    AppError::Validation(ValidationErrors(vec![f]))
}

fn payment_view(p: &dues_payment::Model, reversed: bool) -> PaymentView {
    PaymentView {
        id: p.id,
        kind: PaymentKind::parse(&p.kind).unwrap_or(PaymentKind::Regular),
        method: p.method.clone(),
        reference: p.reference.clone(),
        amount_fen: p.amount_fen,
        paid_on: p.paid_on,
        approval_ref: p.approval_ref.clone(),
        special: p.special,
        reverses_id: p.reverses_id,
        reversed,
        reason: p.reason.clone(),
    }
}

/// The account of each member from their charges and payments.
fn accounts(
    charges: &[dues_charge::Model],
    payments: &[dues_payment::Model],
    today: NaiveDate,
) -> HashMap<i64, DuesStatus> {
    let mut ch: HashMap<i64, Vec<Charge>> = HashMap::new();
    for c in charges {
        ch.entry(c.member_id).or_default().push(Charge {
            month: c.month,
            fee_fen: c.fee_fen,
        });
    }
    let mut paid: HashMap<i64, (i64, i64)> = HashMap::new();
    for p in payments {
        let e = paid.entry(p.member_id).or_default();
        let settles = match PaymentKind::parse(&p.kind) {
            Some(PaymentKind::Voluntary) => false,
            // A correction settles what its original settled.
            Some(PaymentKind::Correction) => !payments
                .iter()
                .any(|o| Some(o.id) == p.reverses_id && o.kind == "voluntary"),
            _ => true,
        };
        if settles {
            e.0 += p.amount_fen;
        } else {
            e.1 += p.amount_fen;
        }
    }
    let mut ids: Vec<i64> = ch.keys().chain(paid.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let (p, v) = paid.get(&id).copied().unwrap_or_default();
            let c = ch.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            (id, settle(c, p, v, today))
        })
        .collect()
}

/// The `YYYY-MM` month bounds of a report, at most 36 months.
pub(crate) fn month_range(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), AppError> {
    let mut e = ValidationErrors::default();
    let f = parse_month("from", from).map_err(|x| e.push(x)).ok();
    let t = parse_month("to", to).map_err(|x| e.push(x)).ok();
    let (Some(f), Some(t)) = (f, t) else {
        return Err(AppError::Validation(e));
    };
    if t < f || dangjian_domain::dues_ledger::months_between(f, t) >= 36 {
        return Err(AppError::field(
            "to",
            "bad_range",
            "结束月份应不早于开始月份，且跨度不超过36个月",
            "`to` must not be before `from`, and the range at most 36 months",
        ));
    }
    Ok((f, next_month(t)))
}

impl App {
    /// A member and their organization when the actor may see their dues:
    /// the member themself, or staff whose roles cover the branch.
    async fn dues_member(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(member::Model, org::Model), AppError> {
        let m = mrepo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if actor.member_id != Some(m.id) && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        Ok((m, o))
    }

    /// Writes an archive event of a member and its ledger leaf, in `c`.
    async fn dues_event<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        m: &member::Model,
        kind: &str,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let event = mrepo::add_event(
            c,
            member_event::ActiveModel {
                member_id: Set(m.id),
                org_id: Set(m.org_id),
                at: Set(now),
                kind: Set(kind.into()),
                actor_user_id: Set(actor.audit_id()),
                detail_enc: Set(self
                    .keys
                    .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                ..Default::default()
            },
        )
        .await?;
        self.ledger_append_event(c, event).await
    }

    /// Declares a member's annual base (DOMAIN.md §7): by the member
    /// themself or by staff who manage the branch. The first base of a year
    /// applies from January; a change within the year from the next year,
    /// or from next month with an approval. The fee is the calculator's on
    /// the first month the base applies. Audited; an archive event.
    pub async fn set_dues_base(
        &self,
        actor: &Actor,
        member_id: i64,
        input: BaseInput,
    ) -> Result<BaseView, AppError> {
        let (m, o) = self.dues_member(actor, member_id).await?;
        let declared_by = if actor.can_manage_members(&o.path) {
            DeclaredBy::Secretary
        } else if actor.member_id == Some(m.id) {
            DeclaredBy::Member
        } else {
            return Err(AppError::Forbidden);
        };
        let category = input
            .category
            .or_else(|| DuesCategory::parse(&m.dues_category))
            .unwrap_or(DuesCategory::Employed);
        let approval = input
            .approval_ref
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        if approval.as_ref().is_some_and(|a| a.chars().count() > 100) {
            return Err(AppError::field(
                "approval_ref",
                "too_long",
                "批准文号不超过100字",
                "The approval reference has at most 100 characters",
            ));
        }
        let today = self.today();
        let bases = repo::bases_of(&self.db.conn, m.id).await?;
        // Bases the platform recomputed after a change of the rules are not
        // the member's declaration of that year.
        let declared = bases
            .iter()
            .any(|b| b.year == input.year && b.declared_by != "schedule");
        let from = base_effective_from(input.year, today, declared, approval.is_some())
            .map_err(|e| AppError::Validation(ValidationErrors(vec![e])))?;
        let mut fee_in = FeeInput::new(category, from);
        let mut income_fen = None;
        if let Some(t) = input.income.as_deref().filter(|t| !t.trim().is_empty()) {
            let fen = parse_yuan_to_fen(t).map_err(|e| fee_field("income", e))?;
            income_fen = Some(fen);
            fee_in = fee_in
                .with_income_str(t)
                .map_err(|e| fee_field("income", e))?;
        }
        if let Some(t) = input
            .branch_amount
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        {
            fee_in.branch_amount_fen =
                Some(parse_yuan_to_fen(t).map_err(|e| fee_field("branch_amount", e))?);
        }
        fee_in.relief = match input.relief.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(kind) => {
                let Some(approval_ref) = approval.clone() else {
                    return Err(AppError::field(
                        "approval_ref",
                        "approval_required",
                        "减免党费须经上级党委批准，请填写批准文号",
                        "A reduction or exemption needs the higher committee's approval; give its reference",
                    ));
                };
                match kind {
                    "exempt" => Some(Relief::Exempt { approval_ref }),
                    "reduced" => {
                        let t = input.reduced_amount.as_deref().unwrap_or("");
                        let fen =
                            parse_yuan_to_fen(t).map_err(|e| fee_field("reduced_amount", e))?;
                        Some(Relief::Reduced { fen, approval_ref })
                    }
                    _ => {
                        return Err(AppError::field(
                            "relief",
                            "unknown_relief",
                            "减免类型应为 reduced 或 exempt",
                            "relief is `reduced` or `exempt`",
                        ));
                    }
                }
            }
        };
        let fee = self.config.dues_schedule.calculate(&fee_in).map_err(|e| {
            let f = e.to_field_error();
            AppError::Validation(ValidationErrors(vec![f]))
        })?;
        let now = self.clock.now();
        let base_enc = match income_fen {
            Some(f) => Some(self.keys.encrypt(f.to_string().as_bytes(), AAD_BASE)?),
            None => None,
        };
        let relief = fee_in.relief.as_ref().map(|r| match r {
            Relief::Reduced { .. } => "reduced",
            Relief::Exempt { .. } => "exempt",
        });
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert_base(
            &tx,
            dues_base::ActiveModel {
                member_id: Set(m.id),
                org_id: Set(o.id),
                year: Set(input.year),
                effective_from: Set(from),
                category: Set(category.as_str().into()),
                base_enc: Set(base_enc),
                fee_fen: Set(fee.fee_fen),
                rule: Set(fee.rule.chars().take(64).collect()),
                relief: Set(relief.map(str::to_string)),
                approval_ref: Set(approval.clone()),
                declared_by: Set(match declared_by {
                    DeclaredBy::Member => "member".into(),
                    DeclaredBy::Secretary => "secretary".into(),
                }),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        self.dues_event(
            &tx,
            actor,
            &m,
            "dues_base",
            serde_json::json!({"year": input.year, "effective_from": from,
                "category": category.as_str(), "fee_fen": fee.fee_fen,
                "rule": fee.rule, "approval_ref": approval}),
            now,
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.base".into(),
                target_kind: "member".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"year": input.year, "effective_from": from}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(BaseView {
            id: row.id,
            year: row.year,
            effective_from: row.effective_from,
            category,
            income_fen,
            fee_fen: row.fee_fen,
            rule: fee.rule,
            relief: row.relief,
            approval_ref: row.approval_ref,
            declared_by: row.declared_by,
            created_at: row.created_at,
        })
    }

    /// Generates the dues sheets of `month` for every organization of the
    /// subtree of `code` (idempotent: charges already there stay as they
    /// are), [`GENERATE_BATCH`] organizations per transaction; `progress`
    /// hears organizations done and charges created after each batch.
    /// Then evaluates the arrears rules of the members concerned.
    pub async fn generate_dues(
        &self,
        actor: &Actor,
        code: &str,
        month: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<GenerateReport, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let m = parse_month("month", month)
            .map_err(|e| AppError::Validation(ValidationErrors(vec![e])))?;
        if m > next_month(month_of(self.today())) {
            return Err(AppError::field(
                "month",
                "too_early",
                "最多只能提前生成下个月的党费表",
                "Sheets can be generated at most one month ahead",
            ));
        }
        let now = self.clock.now();
        let rebased = self.rebase_dues(actor, &o, m).await?;
        let mut report = GenerateReport {
            month: format_month(m),
            ..Default::default()
        };
        let mut after = 0;
        loop {
            let ids = repo::subtree_org_ids(&self.db.conn, &o.path, after, GENERATE_BATCH).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let (_writer, tx) = self.begin_write().await?;
            let n = repo::generate(&tx, &ids, m, next_month(m), now).await?;
            if self.config.evaluate_rules_on_write {
                for id in &ids {
                    self.evaluate_dues_org(&tx, *id).await?;
                }
            }
            tx.commit().await?;
            report.organizations += ids.len() as u64;
            report.charges_created += n;
            progress(report.organizations, report.charges_created);
        }
        audit::append(
            &self.db.conn,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.generate".into(),
                target_kind: "organization".into(),
                target_id: Some(o.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"month": report.month,
                    "organizations": report.organizations, "created": report.charges_created,
                    "bases_recomputed": rebased}),
            },
            now,
        )
        .await?;
        Ok(report)
    }

    /// Before the sheet of `month` is generated: where the dated rules of a
    /// category changed on or before `month` (DOMAIN.md §7, issue 7 §1), the
    /// bases fixed before the change are recomputed under the new rule from
    /// the change's month — a new base row (`declared_by = schedule`) with
    /// the same income, or for a fixed-amount category the branch's amount
    /// if still allowed, else the new default. Reliefs stay as approved.
    /// Each new base is an archive event. Returns how many were recomputed.
    async fn rebase_dues(
        &self,
        actor: &Actor,
        o: &org::Model,
        month: NaiveDate,
    ) -> Result<u64, AppError> {
        let schedule = &self.config.dues_schedule;
        let mut n = 0;
        for &category in DuesCategory::ALL {
            let Some(changed) = schedule.latest_change_month(category, month) else {
                continue;
            };
            let stale =
                repo::bases_superseded(&self.db.conn, &o.path, category.as_str(), changed, month)
                    .await?;
            for chunk in stale.chunks(500) {
                let now = self.clock.now();
                let (_writer, tx) = self.begin_write().await?;
                for b in chunk {
                    let Some(m) = mrepo::get(&tx, b.member_id).await? else {
                        continue;
                    };
                    let mut fee_in = FeeInput::new(category, changed);
                    if let Some(enc) = &b.base_enc {
                        let plain = self.keys.decrypt(enc, AAD_BASE)?;
                        let fen: i64 = std::str::from_utf8(&plain)
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .ok_or_else(|| corrupt("dues base", b.id))?;
                        fee_in = fee_in
                            .with_income_str(&format_fen(fen))
                            .map_err(|_| corrupt("dues base", b.id))?;
                    }
                    let mut with_amount = fee_in.clone();
                    with_amount.branch_amount_fen = Some(b.fee_fen);
                    let fee = match schedule.calculate(&with_amount) {
                        Ok(f) => f,
                        Err(_) => schedule.calculate(&fee_in).map_err(|e| {
                            AppError::Internal(format!("dues base {}: {e:?}", b.id))
                        })?,
                    };
                    repo::insert_base(
                        &tx,
                        dues_base::ActiveModel {
                            member_id: Set(b.member_id),
                            org_id: Set(m.org_id),
                            year: Set(changed.year()),
                            effective_from: Set(changed),
                            category: Set(b.category.clone()),
                            base_enc: Set(b.base_enc.clone()),
                            fee_fen: Set(fee.fee_fen),
                            rule: Set(fee.rule.chars().take(64).collect()),
                            relief: Set(None),
                            approval_ref: Set(None),
                            declared_by: Set("schedule".into()),
                            created_by: Set(actor.audit_id()),
                            created_at: Set(now),
                            ..Default::default()
                        },
                    )
                    .await?;
                    self.dues_event(
                        &tx,
                        actor,
                        &m,
                        "dues_base",
                        serde_json::json!({"year": changed.year(), "effective_from": changed,
                            "category": b.category, "fee_fen": fee.fee_fen, "rule": fee.rule,
                            "recomputed_from": b.id}),
                        now,
                    )
                    .await?;
                    n += 1;
                }
                tx.commit().await?;
            }
        }
        Ok(n)
    }

    /// Reconciles the arrears warnings of the given members of one
    /// organization with their accounts today (DOMAIN.md §7, §6), in `c`.
    async fn evaluate_dues_members<C: ConnectionTrait>(
        &self,
        c: &C,
        o: &org::Model,
        ids: &[i64],
    ) -> Result<(), AppError> {
        if ids.is_empty() {
            return Ok(());
        }
        let today = self.today();
        let yellow = self
            .rule_settings(c, o)
            .await?
            .thresholds
            .dues_arrears
            .yellow_months;
        let charges = repo::charges_of(c, ids).await?;
        let payments = repo::payments_of(c, ids).await?;
        let acc = accounts(&charges, &payments, today);
        let findings: Vec<Finding> = acc
            .iter()
            .flat_map(|(id, s)| arrears_findings(*id, s, u32::try_from(yellow).unwrap_or(3)))
            .collect();
        reconcile_subjects(
            c,
            SubjectKind::Member,
            ids,
            DUES_RULES,
            &findings,
            &|_| Some(o.id),
            today,
            self.clock.now(),
        )
        .await?;
        Ok(())
    }

    /// [`Self::evaluate_dues_members`] for every member of organization `id`.
    async fn evaluate_dues_org<C: ConnectionTrait>(&self, c: &C, id: i64) -> Result<(), AppError> {
        let Some(o) = orepo::get(c, id).await? else {
            return Ok(());
        };
        let ids: Vec<i64> = mrepo::all_by_org(c, id)
            .await?
            .iter()
            .map(|m| m.id)
            .collect();
        for chunk in ids.chunks(500) {
            self.evaluate_dues_members(c, &o, chunk).await?;
        }
        Ok(())
    }

    /// The scheduled arrears sweep: months pass without any write, so the
    /// arrears warnings of every organization are re-evaluated. Returns the
    /// number of organizations swept.
    pub async fn sweep_dues(&self) -> Result<u64, AppError> {
        let mut after = 0;
        let mut n = 0;
        loop {
            let ids = repo::subtree_org_ids(&self.db.conn, "/", after, GENERATE_BATCH).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let (_writer, tx) = self.begin_write().await?;
            for id in &ids {
                self.evaluate_dues_org(&tx, *id).await?;
            }
            tx.commit().await?;
            n += ids.len() as u64;
        }
        Ok(n)
    }

    /// Records a payment (DOMAIN.md §7): cash with a receipt number, bank
    /// transfer or online reference; an advance needs an approval; a
    /// voluntary payment over 1000 yuan is marked special (reported
    /// upward). Re-evaluates the member's arrears. Audited; an archive event.
    pub async fn record_dues_payment(
        &self,
        actor: &Actor,
        member_id: i64,
        input: PaymentInput,
    ) -> Result<PaymentView, AppError> {
        let (m, o) = self.dues_member(actor, member_id).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let amount = parse_yuan_to_fen(&input.amount).map_err(|e| fee_field("amount", e))?;
        let today = self.today();
        let paid_on = input.paid_on.unwrap_or(today);
        let mut errs = ValidationErrors::default();
        if paid_on > today {
            errs.push(FieldError::new(
                "paid_on",
                "date_in_future",
                format!("缴费日期{paid_on}晚于今天（{today}）"),
                format!("The payment date {paid_on} is after today ({today})"),
            ));
        }
        let charges = repo::charges_of(&self.db.conn, &[m.id]).await?;
        let payments = repo::payments_of(&self.db.conn, &[m.id]).await?;
        let status = accounts(&charges, &payments, today)
            .remove(&m.id)
            .unwrap_or_else(|| settle(&[], 0, 0, today));
        let approval = input
            .approval_ref
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        for e in validate_payment(
            input.kind,
            amount,
            &input.reference,
            approval,
            status.balance_fen,
        ) {
            errs.push(e);
        }
        errs.into_result()?;
        let special = input.kind == PaymentKind::Voluntary && is_special_payment(amount);
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert_payment(
            &tx,
            dues_payment::ActiveModel {
                org_id: Set(o.id),
                member_id: Set(m.id),
                kind: Set(input.kind.as_str().into()),
                method: Set(input.method.as_str().into()),
                reference: Set(input.reference.trim().into()),
                amount_fen: Set(amount),
                paid_on: Set(paid_on),
                approval_ref: Set(approval.map(|a| a.chars().take(100).collect())),
                special: Set(special),
                reverses_id: Set(None),
                reason: Set(None),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        self.dues_event(
            &tx,
            actor,
            &m,
            "dues_payment",
            serde_json::json!({"payment_id": row.id, "kind": row.kind, "method": row.method,
                "amount_fen": amount, "paid_on": paid_on, "special": special}),
            now,
        )
        .await?;
        self.evaluate_dues_members(&tx, &o, &[m.id]).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.payment".into(),
                target_kind: "member".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"payment_id": row.id, "kind": row.kind,
                    "amount": format_fen(amount), "special": special}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(payment_view(&row, false))
    }

    /// The member a payment belongs to, when the actor may see it.
    pub async fn dues_payment_member(
        &self,
        actor: &Actor,
        payment_id: i64,
    ) -> Result<i64, AppError> {
        let p = repo::payment(&self.db.conn, payment_id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let (m, _) = self
            .dues_member(actor, p.member_id)
            .await
            .map_err(|_| AppError::NotFound("payment"))?;
        Ok(m.id)
    }

    /// Corrects a payment by a reversing entry (never an edit): a
    /// `correction` row with the negated amount. A payment is reversed at
    /// most once. Audited; an archive event.
    pub async fn reverse_dues_payment(
        &self,
        actor: &Actor,
        payment_id: i64,
        reason: &str,
    ) -> Result<PaymentView, AppError> {
        let p = repo::payment(&self.db.conn, payment_id)
            .await?
            .ok_or(AppError::NotFound("payment"))?;
        let (m, o) = self
            .dues_member(actor, p.member_id)
            .await
            .map_err(|_| AppError::NotFound("payment"))?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::NotFound("payment"));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AppError::field(
                "reason",
                "required",
                "请填写更正原因（不超过200字）",
                "Give the reason of the correction (at most 200 characters)",
            ));
        }
        if p.kind == PaymentKind::Correction.as_str() {
            return Err(AppError::Conflict(FieldError::new(
                "payment",
                "is_correction",
                "更正记录不能再冲销",
                "A correction cannot be reversed",
            )));
        }
        if repo::reversal_of(&self.db.conn, p.id).await?.is_some() {
            return Err(AppError::Conflict(FieldError::new(
                "payment",
                "already_reversed",
                "该缴费记录已冲销",
                "This payment was already reversed",
            )));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert_payment(
            &tx,
            dues_payment::ActiveModel {
                org_id: Set(o.id),
                member_id: Set(m.id),
                kind: Set(PaymentKind::Correction.as_str().into()),
                method: Set(p.method.clone()),
                reference: Set(p.reference.clone()),
                amount_fen: Set(-p.amount_fen),
                paid_on: Set(self.today()),
                approval_ref: Set(None),
                special: Set(false),
                reverses_id: Set(Some(p.id)),
                reason: Set(Some(reason.to_string())),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        self.dues_event(
            &tx,
            actor,
            &m,
            "dues_correction",
            serde_json::json!({"payment_id": row.id, "reverses_id": p.id,
                "amount_fen": -p.amount_fen, "reason": reason}),
            now,
        )
        .await?;
        self.evaluate_dues_members(&tx, &o, &[m.id]).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.correction".into(),
                target_kind: "member".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"payment_id": row.id, "reverses_id": p.id}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(payment_view(&row, false))
    }

    /// A member's dues: account, charges, payments and the history of
    /// bases. The income base is sensitive (DOMAIN.md §13): shown to the
    /// member and to staff who may read sensitive fields; that read is audited.
    pub async fn member_dues(&self, actor: &Actor, member_id: i64) -> Result<MemberDues, AppError> {
        let (m, o) = self.dues_member(actor, member_id).await?;
        let sensitive = actor.member_id == Some(m.id) || actor.can_read_sensitive(&o.path);
        let today = self.today();
        let charges = repo::charges_of(&self.db.conn, &[m.id]).await?;
        let payments = repo::payments_of(&self.db.conn, &[m.id]).await?;
        let status = accounts(&charges, &payments, today)
            .remove(&m.id)
            .unwrap_or_else(|| settle(&[], 0, 0, today));
        let mut bases = Vec::new();
        let mut read_income = false;
        for b in repo::bases_of(&self.db.conn, m.id).await? {
            let income_fen = match (&b.base_enc, sensitive) {
                (Some(enc), true) => {
                    read_income = true;
                    Some(
                        self.keys
                            .decrypt_str(enc, AAD_BASE)?
                            .parse::<i64>()
                            .map_err(|_| corrupt("dues base", b.id))?,
                    )
                }
                _ => None,
            };
            bases.push(BaseView {
                id: b.id,
                year: b.year,
                effective_from: b.effective_from,
                category: DuesCategory::parse(&b.category)
                    .ok_or_else(|| corrupt("dues base", b.id))?,
                income_fen,
                fee_fen: b.fee_fen,
                rule: b.rule,
                relief: b.relief,
                approval_ref: b.approval_ref,
                declared_by: b.declared_by,
                created_at: b.created_at,
            });
        }
        audit::append(
            &self.db.conn,
            audit::Entry {
                user_id: actor.audit_id(),
                action: if read_income { "dues.read_sensitive" } else { "dues.read" }.into(),
                target_kind: "member".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"fields": if read_income { vec!["income_base"] } else { vec![] }}),
            },
            self.clock.now(),
        )
        .await?;
        let reversed: Vec<i64> = payments.iter().filter_map(|p| p.reverses_id).collect();
        Ok(MemberDues {
            member_id: m.id,
            name: m.name.clone(),
            org: OrgView::from_model(&o),
            status,
            charges: charges
                .iter()
                .map(|c| Charge {
                    month: c.month,
                    fee_fen: c.fee_fen,
                })
                .collect(),
            payments: payments
                .iter()
                .map(|p| payment_view(p, reversed.contains(&p.id)))
                .collect(),
            bases,
            can_record: actor.can_manage_members(&o.path),
        })
    }

    /// A member's annual statement: the account restricted to one year's
    /// charges and payments.
    pub async fn member_dues_statement(
        &self,
        actor: &Actor,
        member_id: i64,
        year: i32,
    ) -> Result<MemberDues, AppError> {
        let mut d = self.member_dues(actor, member_id).await?;
        d.charges.retain(|c| c.month.year() == year);
        d.payments.retain(|p| p.paid_on.year() == year);
        let settles: i64 = d
            .payments
            .iter()
            .filter(|p| {
                p.kind.settles_dues() && p.kind != PaymentKind::Correction
                    || p.kind == PaymentKind::Correction
            })
            .map(|p| p.amount_fen)
            .sum();
        let end = NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap_or(self.today());
        d.status = settle(&d.charges, settles, 0, end.min(self.today()));
        d.status.voluntary_fen = d
            .payments
            .iter()
            .filter(|p| p.kind == PaymentKind::Voluntary)
            .map(|p| p.amount_fen)
            .sum();
        Ok(d)
    }

    /// The sheet of a branch and month: each active member's charge and account.
    pub async fn dues_sheet(
        &self,
        actor: &Actor,
        code: &str,
        month: &str,
    ) -> Result<Sheet, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        let m = parse_month("month", month)
            .map_err(|e| AppError::Validation(ValidationErrors(vec![e])))?;
        let members: Vec<member::Model> = mrepo::all_by_org(&self.db.conn, o.id)
            .await?
            .into_iter()
            .filter(|x| x.status == "active" && (x.stage == "full" || x.stage == "probationary"))
            .collect();
        let ids: Vec<i64> = members.iter().map(|x| x.id).collect();
        let mut charges = Vec::new();
        let mut payments = Vec::new();
        for chunk in ids.chunks(500) {
            charges.extend(repo::charges_of(&self.db.conn, chunk).await?);
            payments.extend(repo::payments_of(&self.db.conn, chunk).await?);
        }
        let acc = accounts(&charges, &payments, self.today());
        let this: HashMap<i64, i64> = charges
            .iter()
            .filter(|c| c.month == m)
            .map(|c| (c.member_id, c.fee_fen))
            .collect();
        let next = next_month(m);
        let paid_fen = payments
            .iter()
            .filter(|p| p.paid_on >= m && p.paid_on < next && p.kind != "voluntary")
            .map(|p| p.amount_fen)
            .sum();
        let rows: Vec<SheetRow> = members
            .iter()
            .map(|x| SheetRow {
                member_id: x.id,
                name: x.name.clone(),
                fee_fen: this.get(&x.id).copied(),
                status: acc
                    .get(&x.id)
                    .cloned()
                    .unwrap_or_else(|| settle(&[], 0, 0, self.today())),
            })
            .collect();
        Ok(Sheet {
            org: OrgView::from_model(&o),
            month: format_month(m),
            generated: !this.is_empty(),
            due_fen: this.values().sum(),
            paid_fen,
            rows,
            can_record: actor.can_manage_members(&o.path),
        })
    }

    /// Collection by organization and month across the subtree of `code`
    /// (DOMAIN.md §7): charges of the month against dues payments made in
    /// it, and the totals per month.
    pub async fn dues_report(
        &self,
        actor: &Actor,
        code: &str,
        from: &str,
        to: &str,
    ) -> Result<CollectionReport, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        let (f, t) = month_range(from, to)?;
        let due = repo::due_by_org_month(&self.db.conn, &o.path, f, t).await?;
        let paid = repo::paid_by_org_month(&self.db.conn, &o.path, f, t).await?;
        let mut cells: HashMap<(i64, String), (i64, i64, i64)> = HashMap::new();
        for d in &due {
            let e = cells.entry((d.org_id, format_month(d.month))).or_default();
            e.0 += d.fen;
            e.2 += d.n;
        }
        for p in &paid {
            cells.entry((p.org_id, p.ym.clone())).or_default().1 += p.fen;
        }
        let org_ids: Vec<i64> = {
            let mut v: Vec<i64> = cells.keys().map(|k| k.0).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let orgs: HashMap<i64, org::Model> = orepo::by_ids(&self.db.conn, &org_ids)
            .await?
            .into_iter()
            .map(|x| (x.id, x))
            .collect();
        let mut rows: Vec<ReportRow> = cells
            .iter()
            .filter_map(|((oid, month), (due, paid, n))| {
                let x = orgs.get(oid)?;
                Some(ReportRow {
                    org_code: x.code.clone(),
                    org_name: x.name.clone(),
                    month: month.clone(),
                    members_charged: *n,
                    due_fen: *due,
                    paid_fen: *paid,
                    rate_bp: collection_rate_bp(*due, *paid),
                })
            })
            .collect();
        rows.sort_by(|a, b| (&a.month, &a.org_code).cmp(&(&b.month, &b.org_code)));
        let mut months: Vec<ReportRow> = Vec::new();
        let mut m = f;
        while m < t {
            let key = format_month(m);
            let (due, paid, n) = rows
                .iter()
                .filter(|r| r.month == key)
                .fold((0, 0, 0), |a, r| {
                    (a.0 + r.due_fen, a.1 + r.paid_fen, a.2 + r.members_charged)
                });
            months.push(ReportRow {
                org_code: o.code.clone(),
                org_name: o.name.clone(),
                month: key,
                members_charged: n,
                due_fen: due,
                paid_fen: paid,
                rate_bp: collection_rate_bp(due, paid),
            });
            m = next_month(m);
        }
        Ok(CollectionReport {
            org: OrgView::from_model(&o),
            from: format_month(f),
            to: format_month(month_of(t.pred_opt().unwrap_or(t))),
            rows,
            months,
        })
    }

    /// The collection report as an XLSX workbook (one sheet per view).
    pub async fn dues_report_xlsx(
        &self,
        actor: &Actor,
        code: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<u8>, AppError> {
        let r = self.dues_report(actor, code, from, to).await?;
        let xe = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
        let mut wb = rust_xlsxwriter::Workbook::new();
        for (name, rows) in [("按组织", &r.rows), ("按月", &r.months)] {
            let ws = wb.add_worksheet();
            ws.set_name(name).map_err(xe)?;
            let head = [
                "组织代码",
                "组织名称",
                "月份",
                "应交人数",
                "应交（元）",
                "实交（元）",
                "收缴率",
            ];
            for (i, h) in head.iter().enumerate() {
                ws.write_string(0, i as u16, *h).map_err(xe)?;
            }
            for (i, row) in rows.iter().enumerate() {
                let n = i as u32 + 1;
                ws.write_string(n, 0, &row.org_code).map_err(xe)?;
                ws.write_string(n, 1, &row.org_name).map_err(xe)?;
                ws.write_string(n, 2, &row.month).map_err(xe)?;
                ws.write_number(n, 3, row.members_charged as f64)
                    .map_err(xe)?;
                // Money is written as exact text, never as a float.
                ws.write_string(n, 4, format_fen(row.due_fen)).map_err(xe)?;
                ws.write_string(n, 5, format_fen(row.paid_fen))
                    .map_err(xe)?;
                ws.write_string(
                    n,
                    6,
                    row.rate_bp
                        .map(dangjian_domain::dues::format_rate_bp)
                        .unwrap_or_default(),
                )
                .map_err(xe)?;
            }
        }
        // Remittance to the higher level (DOMAIN.md §7), per organization and month.
        let rem = self.dues_remittances(actor, code, from, to).await?;
        let ws = wb.add_worksheet();
        ws.set_name("上缴上级").map_err(xe)?;
        let head = [
            "组织代码",
            "组织名称",
            "上缴至",
            "月份",
            "本级收缴（元）",
            "下级上缴（元）",
            "应上缴（元）",
            "已上缴（元）",
            "未上缴（元）",
            "上缴凭证",
        ];
        for (i, h) in head.iter().enumerate() {
            ws.write_string(0, i as u16, *h).map_err(xe)?;
        }
        for (i, row) in rem.rows.iter().enumerate() {
            let n = i as u32 + 1;
            let b = &row.balance;
            ws.write_string(n, 0, &row.org_code).map_err(xe)?;
            ws.write_string(n, 1, &row.org_name).map_err(xe)?;
            ws.write_string(n, 2, row.to_org_code.as_deref().unwrap_or("—"))
                .map_err(xe)?;
            ws.write_string(n, 3, &row.month).map_err(xe)?;
            for (col, fen) in [
                b.collected_fen,
                b.received_fen,
                b.to_remit_fen,
                b.remitted_fen,
                b.outstanding_fen,
            ]
            .into_iter()
            .enumerate()
            {
                ws.write_string(n, 4 + col as u16, format_fen(fen))
                    .map_err(xe)?;
            }
            let refs: Vec<String> = row
                .remittances
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.remitted_on,
                        r.reference,
                        format_fen(r.amount_fen)
                    )
                })
                .collect();
            ws.write_string(n, 9, refs.join("; ")).map_err(xe)?;
        }
        wb.save_to_buffer().map_err(xe)
    }
}
