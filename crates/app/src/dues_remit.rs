//! Dues remitted to the higher level (DOMAIN.md §7): each organization
//! passes upward what it collected in a month plus what its child
//! organizations remitted to it; the secretary of the remitting
//! organization records each transfer (reference and date), corrections
//! are reversing entries; the organizations above see the report of their
//! subtree: collected, received, to remit, remitted and outstanding, in fen.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::FieldError;
use dangjian_domain::ValidationErrors;
use dangjian_domain::dues::{format_fen, parse_yuan_to_fen};
use dangjian_domain::dues_ledger::{
    RemittanceBalance, format_month, month_of, next_month, parse_month, remittance_balances,
};
use dangjian_store::entities::{dues_remittance, org};
use dangjian_store::repo::{audit, dues as repo, orgs as orepo};
use sea_orm::Set;
use serde::{Deserialize, Serialize};

use crate::orgs::OrgView;
use crate::{Actor, App, AppError};

/// Organizations a remittance report covers at most.
pub const REPORT_ORGS: u64 = 200_000;

/// A remittance as entered by the remitting organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceInput {
    /// The month of collection remitted, `YYYY-MM`.
    pub month: String,
    /// Yuan text, e.g. `1234.50`.
    pub amount: String,
    /// The bank transfer or receipt reference.
    pub reference: String,
    /// Defaults to today.
    pub remitted_on: Option<NaiveDate>,
}

/// A recorded remittance (or its correction).
#[derive(Debug, Clone, Serialize)]
pub struct RemittanceView {
    pub id: i64,
    pub org_code: String,
    pub to_org_code: Option<String>,
    pub month: String,
    pub amount_fen: i64,
    pub reference: String,
    pub remitted_on: NaiveDate,
    pub reverses_id: Option<i64>,
    pub reversed: bool,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One organization and month of the remittance report.
#[derive(Debug, Clone, Serialize)]
pub struct RemittanceRow {
    pub org_code: String,
    pub org_name: String,
    /// The higher organization it remits to (`None` at the top of the tree).
    pub to_org_code: Option<String>,
    pub to_org_name: Option<String>,
    pub month: String,
    #[serde(flatten)]
    pub balance: RemittanceBalance,
    pub remittances: Vec<RemittanceView>,
}

/// Remittances across a subtree for a range of months.
#[derive(Debug, Clone, Serialize)]
pub struct RemittanceReport {
    pub org: OrgView,
    pub from: String,
    pub to: String,
    pub rows: Vec<RemittanceRow>,
    /// The higher organization the report's organization remits to.
    pub to_org_code: Option<String>,
    pub to_org_name: Option<String>,
    /// Whether the actor may record remittances of the report's organization.
    pub can_record: bool,
}

fn view(
    r: &dues_remittance::Model,
    codes: &HashMap<i64, String>,
    reversed: bool,
) -> RemittanceView {
    RemittanceView {
        id: r.id,
        org_code: codes.get(&r.org_id).cloned().unwrap_or_default(),
        to_org_code: r.to_org_id.and_then(|p| codes.get(&p).cloned()),
        month: format_month(r.month),
        amount_fen: r.amount_fen,
        reference: r.reference.clone(),
        remitted_on: r.remitted_on,
        reverses_id: r.reverses_id,
        reversed,
        reason: r.reason.clone(),
        created_at: r.created_at,
    }
}

impl App {
    /// The organization of `code` when the actor may record its remittances
    /// (its secretary, or staff above), with its parent.
    async fn remitting_org(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<(org::Model, org::Model), AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let parent = match o.parent_id {
            Some(p) => orepo::get(&self.db.conn, p).await?,
            None => None,
        };
        let Some(parent) = parent else {
            return Err(AppError::field(
                "org",
                "no_higher_level",
                "该组织没有上级组织，无需上缴",
                "This organization has no higher level to remit to",
            ));
        };
        Ok((o, parent))
    }

    /// Records dues remitted by organization `code` to its parent for a
    /// month of collection (DOMAIN.md §7). Audited.
    pub async fn record_dues_remittance(
        &self,
        actor: &Actor,
        code: &str,
        input: RemittanceInput,
    ) -> Result<RemittanceView, AppError> {
        let (o, parent) = self.remitting_org(actor, code).await?;
        let today = self.today();
        let mut errs = ValidationErrors::default();
        let month = parse_month("month", &input.month)
            .map_err(|e| errs.push(e))
            .ok();
        if month.is_some_and(|m| m > month_of(today)) {
            errs.push(FieldError::new(
                "month",
                "future_month",
                "不能上缴尚未开始月份的党费",
                "A month that has not begun cannot be remitted",
            ));
        }
        let amount = match parse_yuan_to_fen(&input.amount) {
            Ok(0) => {
                errs.push(FieldError::new(
                    "amount",
                    "zero",
                    "上缴金额应大于0",
                    "The amount remitted must be more than 0",
                ));
                None
            }
            Ok(f) => Some(f),
            Err(e) => {
                let mut f = e.to_field_error();
                f.field = "amount".into();
                errs.push(f);
                None
            }
        };
        let reference = input.reference.trim();
        if reference.is_empty() || reference.chars().count() > 64 {
            errs.push(FieldError::new(
                "reference",
                "required",
                "请填写转账凭证号或收据号（不超过64字）",
                "Give the transfer or receipt reference (at most 64 characters)",
            ));
        }
        let remitted_on = input.remitted_on.unwrap_or(today);
        if remitted_on > today {
            errs.push(FieldError::new(
                "remitted_on",
                "date_in_future",
                format!("上缴日期{remitted_on}晚于今天（{today}）"),
                format!("The remittance date {remitted_on} is after today ({today})"),
            ));
        }
        if let Some(m) = month
            && remitted_on < m
        {
            errs.push(FieldError::new(
                "remitted_on",
                "before_month",
                "上缴日期早于所上缴的月份",
                "The remittance date is before the month remitted",
            ));
        }
        errs.into_result()?;
        let (Some(month), Some(amount)) = (month, amount) else {
            return Err(AppError::Internal("validated remittance fields".into()));
        };
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert_remittance(
            &tx,
            dues_remittance::ActiveModel {
                org_id: Set(o.id),
                to_org_id: Set(Some(parent.id)),
                month: Set(month),
                amount_fen: Set(amount),
                reference: Set(reference.into()),
                remitted_on: Set(remitted_on),
                reverses_id: Set(None),
                reason: Set(None),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.remittance".into(),
                target_kind: "organization".into(),
                target_id: Some(o.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"remittance_id": row.id, "to_org": parent.code,
                    "month": format_month(month), "amount": format_fen(amount),
                    "reference": row.reference}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        let codes = HashMap::from([(o.id, o.code), (parent.id, parent.code)]);
        Ok(view(&row, &codes, false))
    }

    /// Corrects a recorded remittance by a reversing entry (never an edit),
    /// at most once. Audited.
    pub async fn reverse_dues_remittance(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<RemittanceView, AppError> {
        let r = repo::remittance(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("remittance"))?;
        let o = orepo::get(&self.db.conn, r.org_id)
            .await?
            .ok_or(AppError::NotFound("remittance"))?;
        if !actor.can_manage_members(&o.path) {
            return Err(AppError::NotFound("remittance"));
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
        if r.reverses_id.is_some() {
            return Err(AppError::Conflict(FieldError::new(
                "remittance",
                "is_correction",
                "更正记录不能再冲销",
                "A correction cannot be reversed",
            )));
        }
        if repo::remittance_reversal_of(&self.db.conn, r.id)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict(FieldError::new(
                "remittance",
                "already_reversed",
                "该上缴记录已冲销",
                "This remittance was already reversed",
            )));
        }
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::insert_remittance(
            &tx,
            dues_remittance::ActiveModel {
                org_id: Set(r.org_id),
                to_org_id: Set(r.to_org_id),
                month: Set(r.month),
                amount_fen: Set(-r.amount_fen),
                reference: Set(r.reference.clone()),
                remitted_on: Set(self.today()),
                reverses_id: Set(Some(r.id)),
                reason: Set(Some(reason.into())),
                created_by: Set(actor.audit_id()),
                created_at: Set(now),
                ..Default::default()
            },
        )
        .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "dues.remittance_correction".into(),
                target_kind: "organization".into(),
                target_id: Some(o.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"remittance_id": row.id, "reverses_id": r.id}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        let mut codes = HashMap::from([(o.id, o.code)]);
        if let Some(p) = r.to_org_id
            && let Some(p) = orepo::get(&self.db.conn, p).await?
        {
            codes.insert(p.id, p.code);
        }
        Ok(view(&row, &codes, false))
    }

    /// The remittance report of the subtree of `code` for the months
    /// `from..=to` (`YYYY-MM`, at most 36): per organization and month,
    /// what it collected, received from below, has to remit, remitted and
    /// still owes upward, with the recorded transfers.
    pub async fn dues_remittances(
        &self,
        actor: &Actor,
        code: &str,
        from: &str,
        to: &str,
    ) -> Result<RemittanceReport, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        let (f, t) = crate::dues::month_range(from, to)?;
        let mut orgs: HashMap<i64, org::Model> =
            orepo::subtree(&self.db.conn, &o.path, None, REPORT_ORGS)
                .await?
                .into_iter()
                .map(|x| (x.id, x))
                .collect();
        let parents: HashMap<i64, Option<i64>> =
            orgs.values().map(|x| (x.id, x.parent_id)).collect();
        let parent = match o.parent_id {
            Some(p) => orepo::get(&self.db.conn, p).await?,
            None => None,
        };
        if let Some(p) = &parent {
            orgs.insert(p.id, p.clone());
        }
        let codes: HashMap<i64, String> = orgs.values().map(|x| (x.id, x.code.clone())).collect();
        let collected = repo::collected_by_org_month(&self.db.conn, &o.path, f, t).await?;
        let ids: Vec<i64> = parents.keys().copied().collect();
        let mut remittances = Vec::new();
        for chunk in ids.chunks(1000) {
            remittances.extend(repo::remittances_of(&self.db.conn, chunk, f, t).await?);
        }
        remittances.sort_by_key(|r| r.id);
        let reversed: std::collections::HashSet<i64> =
            remittances.iter().filter_map(|r| r.reverses_id).collect();
        let mut rows = Vec::new();
        let mut m = f;
        while m < t {
            let key = format_month(m);
            let coll: HashMap<i64, i64> = collected
                .iter()
                .filter(|c| c.ym == key)
                .map(|c| (c.org_id, c.fen))
                .collect();
            let mut rem: HashMap<i64, i64> = HashMap::new();
            for r in remittances.iter().filter(|r| r.month == m) {
                *rem.entry(r.org_id).or_default() += r.amount_fen;
            }
            let mut month_rows: Vec<RemittanceRow> = remittance_balances(&parents, &coll, &rem)
                .into_iter()
                .filter_map(|(id, balance)| {
                    let x = orgs.get(&id)?;
                    let to = x.parent_id.and_then(|p| orgs.get(&p));
                    Some(RemittanceRow {
                        org_code: x.code.clone(),
                        org_name: x.name.clone(),
                        to_org_code: to.map(|p| p.code.clone()),
                        to_org_name: to.map(|p| p.name.clone()),
                        month: key.clone(),
                        balance,
                        remittances: remittances
                            .iter()
                            .filter(|r| r.org_id == id && r.month == m)
                            .map(|r| view(r, &codes, reversed.contains(&r.id)))
                            .collect(),
                    })
                })
                .collect();
            month_rows.sort_by(|a, b| a.org_code.cmp(&b.org_code));
            rows.extend(month_rows);
            m = next_month(m);
        }
        Ok(RemittanceReport {
            org: OrgView::from_model(&o),
            from: format_month(f),
            to: format_month(month_of(t.pred_opt().unwrap_or(t))),
            rows,
            to_org_code: parent.as_ref().map(|p| p.code.clone()),
            to_org_name: parent.as_ref().map(|p| p.name.clone()),
            can_record: parent.is_some() && actor.can_manage_members(&o.path),
        })
    }
}
