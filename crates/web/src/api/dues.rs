//! Membership dues endpoints under `/api/v1/dues` (DOMAIN.md §7): declare a
//! member's annual base, read a member's account and annual statement,
//! record payments and reversing corrections, generate and read a branch's
//! monthly sheet, and the collection report of a subtree (JSON or XLSX).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::dues::{
    BaseInput, BaseView, CollectionReport, GenerateReport, MemberDues, PaymentInput, PaymentView,
    ReportRow, Sheet,
};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::dues_ledger::{DuesStatus, PaymentKind, PaymentMethod, format_month};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

fn invalid(field: &str, v: &str) -> ApiError {
    ApiError(AppError::field(
        field,
        "invalid_value",
        format!("「{v}」不是有效的取值"),
        format!("{v:?} is not a valid value"),
    ))
}

fn member_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))
}

/// An annual base to declare. Amounts are yuan with at most two decimals.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BaseIn {
    pub year: i32,
    /// employed, retired, farmer, student, unemployed, subsistence; the
    /// member's registered category when absent.
    pub category: Option<String>,
    /// Monthly income after tax, e.g. "5000.00".
    pub income: Option<String>,
    /// Amount the branch set for a fixed-amount category.
    pub branch_amount: Option<String>,
    /// reduced or exempt (needs approval_ref).
    pub relief: Option<String>,
    pub reduced_amount: Option<String>,
    /// Approval of a relief or of a change within the year.
    pub approval_ref: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BaseOut {
    pub id: i64,
    pub year: i32,
    pub effective_from: NaiveDate,
    pub category: String,
    /// Shown only to the member and to staff who may read sensitive fields.
    pub income_fen: Option<i64>,
    pub fee_fen: i64,
    pub rule: String,
    pub relief: Option<String>,
    pub approval_ref: Option<String>,
    /// member or secretary
    pub declared_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<&BaseView> for BaseOut {
    fn from(b: &BaseView) -> Self {
        Self {
            id: b.id,
            year: b.year,
            effective_from: b.effective_from,
            category: b.category.as_str().into(),
            income_fen: b.income_fen,
            fee_fen: b.fee_fen,
            rule: b.rule.clone(),
            relief: b.relief.clone(),
            approval_ref: b.approval_ref.clone(),
            declared_by: b.declared_by.clone(),
            created_at: b.created_at,
        }
    }
}

/// A payment to record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentIn {
    /// regular (default), advance (needs approval_ref) or voluntary
    pub kind: Option<String>,
    /// cash, bank or online
    pub method: String,
    /// Yuan, e.g. "40.00".
    pub amount: String,
    /// Receipt number, transfer or online reference.
    pub reference: String,
    /// Defaults to today.
    pub paid_on: Option<NaiveDate>,
    pub approval_ref: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    /// regular, advance, voluntary or correction
    pub kind: String,
    pub method: String,
    pub reference: String,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub approval_ref: Option<String>,
    /// Voluntary payment over 1000 yuan, reported upward.
    pub special: bool,
    pub reverses_id: Option<i64>,
    pub reversed: bool,
    pub reason: Option<String>,
}

impl From<&PaymentView> for PaymentOut {
    fn from(p: &PaymentView) -> Self {
        Self {
            id: p.id,
            kind: p.kind.as_str().into(),
            method: p.method.clone(),
            reference: p.reference.clone(),
            amount_fen: p.amount_fen,
            paid_on: p.paid_on,
            approval_ref: p.approval_ref.clone(),
            special: p.special,
            reverses_id: p.reverses_id,
            reversed: p.reversed,
            reason: p.reason.clone(),
        }
    }
}

/// A correction: reverses a payment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReverseIn {
    pub reason: String,
}

/// A member's account.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOut {
    pub due_fen: i64,
    pub paid_fen: i64,
    /// Negative: paid in advance.
    pub balance_fen: i64,
    pub months_in_arrears: u32,
    /// YYYY-MM
    pub oldest_unpaid: Option<String>,
    pub voluntary_fen: i64,
}

impl From<&DuesStatus> for StatusOut {
    fn from(s: &DuesStatus) -> Self {
        Self {
            due_fen: s.due_fen,
            paid_fen: s.paid_fen,
            balance_fen: s.balance_fen,
            months_in_arrears: s.months_in_arrears,
            oldest_unpaid: s.oldest_unpaid.map(format_month),
            voluntary_fen: s.voluntary_fen,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeOut {
    /// YYYY-MM
    pub month: String,
    pub fee_fen: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDuesOut {
    pub member_id: i64,
    pub name: String,
    pub org_code: String,
    pub status: StatusOut,
    pub charges: Vec<ChargeOut>,
    pub payments: Vec<PaymentOut>,
    pub bases: Vec<BaseOut>,
}

impl From<&MemberDues> for MemberDuesOut {
    fn from(d: &MemberDues) -> Self {
        Self {
            member_id: d.member_id,
            name: d.name.clone(),
            org_code: d.org.code.clone(),
            status: (&d.status).into(),
            charges: d
                .charges
                .iter()
                .map(|c| ChargeOut {
                    month: format_month(c.month),
                    fee_fen: c.fee_fen,
                })
                .collect(),
            payments: d.payments.iter().map(PaymentOut::from).collect(),
            bases: d.bases.iter().map(BaseOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetRowOut {
    pub member_id: i64,
    pub name: String,
    /// The month's charge; null when the member has no base.
    pub fee_fen: Option<i64>,
    pub status: StatusOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetOut {
    pub org_code: String,
    pub org_name: String,
    /// YYYY-MM
    pub month: String,
    pub generated: bool,
    pub due_fen: i64,
    /// Dues paid in the month.
    pub paid_fen: i64,
    pub rows: Vec<SheetRowOut>,
}

impl From<&Sheet> for SheetOut {
    fn from(s: &Sheet) -> Self {
        Self {
            org_code: s.org.code.clone(),
            org_name: s.org.name.clone(),
            month: s.month.clone(),
            generated: s.generated,
            due_fen: s.due_fen,
            paid_fen: s.paid_fen,
            rows: s
                .rows
                .iter()
                .map(|r| SheetRowOut {
                    member_id: r.member_id,
                    name: r.name.clone(),
                    fee_fen: r.fee_fen,
                    status: (&r.status).into(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateOut {
    pub month: String,
    pub organizations: u64,
    /// Charges created now (0 when the sheet already existed).
    pub charges_created: u64,
}

impl From<GenerateReport> for GenerateOut {
    fn from(r: GenerateReport) -> Self {
        Self {
            month: r.month,
            organizations: r.organizations,
            charges_created: r.charges_created,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRowOut {
    pub org_code: String,
    pub org_name: String,
    pub month: String,
    pub members_charged: i64,
    pub due_fen: i64,
    pub paid_fen: i64,
    /// Paid of due in basis points (10000 = 100%).
    pub rate_bp: Option<u32>,
}

impl From<&ReportRow> for ReportRowOut {
    fn from(r: &ReportRow) -> Self {
        Self {
            org_code: r.org_code.clone(),
            org_name: r.org_name.clone(),
            month: r.month.clone(),
            members_charged: r.members_charged,
            due_fen: r.due_fen,
            paid_fen: r.paid_fen,
            rate_bp: r.rate_bp,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    pub org_code: String,
    pub from: String,
    pub to: String,
    /// Per organization and month.
    pub rows: Vec<ReportRowOut>,
    /// Per month, the whole subtree.
    pub months: Vec<ReportRowOut>,
}

impl From<&CollectionReport> for ReportOut {
    fn from(r: &CollectionReport) -> Self {
        Self {
            org_code: r.org.code.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            rows: r.rows.iter().map(ReportRowOut::from).collect(),
            months: r.months.iter().map(ReportRowOut::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// First month, YYYY-MM
    pub from: String,
    /// Last month, YYYY-MM
    pub to: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct YearQuery {
    pub year: i32,
}

/// The app's base input, each code checked with the field named.
pub fn to_base_input(b: BaseIn) -> ApiResult<BaseInput> {
    let category = match b.category.as_deref() {
        None | Some("") => None,
        Some(c) => Some(DuesCategory::parse(c).ok_or_else(|| invalid("category", c))?),
    };
    Ok(BaseInput {
        year: b.year,
        category,
        income: b.income,
        branch_amount: b.branch_amount,
        relief: b.relief,
        reduced_amount: b.reduced_amount,
        approval_ref: b.approval_ref,
    })
}

/// The app's payment input, each code checked with the field named.
pub fn to_payment_input(b: PaymentIn) -> ApiResult<PaymentInput> {
    let kind = match b.kind.as_deref() {
        None | Some("") => PaymentKind::Regular,
        Some(k) => match PaymentKind::parse(k) {
            Some(PaymentKind::Correction) | None => return Err(invalid("kind", k)),
            Some(k) => k,
        },
    };
    let method = PaymentMethod::parse(&b.method).ok_or_else(|| invalid("method", &b.method))?;
    Ok(PaymentInput {
        kind,
        method,
        amount: b.amount,
        reference: b.reference,
        paid_on: b.paid_on,
        approval_ref: b.approval_ref,
    })
}

/// Declares a member's annual base (the member themself or the branch's
/// staff); a change within the year applies next year unless approved.
#[utoipa::path(post, path = "/api/v1/dues/members/{id}/base", params(("id" = i64, Path)), request_body = BaseIn, security(("bearer" = [])),
    responses((status = 201, body = BaseOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn set_base(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<BaseIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<BaseOut>)> {
    let input = to_base_input(body(b)?)?;
    let v = st.app.set_dues_base(&a, member_id(&id)?, input).await?;
    Ok((StatusCode::CREATED, Json((&v).into())))
}

/// A member's dues: account (due, paid, balance, months in arrears),
/// charges, payments and the history of bases.
#[utoipa::path(get, path = "/api/v1/dues/members/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemberDuesOut), (status = 404, body = Problem)))]
pub async fn member(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberDuesOut>> {
    Ok(Json(
        (&st.app.member_dues(&a, member_id(&id)?).await?).into(),
    ))
}

/// A member's annual statement.
#[utoipa::path(get, path = "/api/v1/dues/members/{id}/statement", params(("id" = i64, Path), YearQuery), security(("bearer" = [])),
    responses((status = 200, body = MemberDuesOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn statement(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> ApiResult<Json<MemberDuesOut>> {
    let q = query(q)?;
    Ok(Json(
        (&st.app
            .member_dues_statement(&a, member_id(&id)?, q.year)
            .await?)
            .into(),
    ))
}

/// Records a payment: cash (receipt number), bank transfer or online
/// reference; an advance needs an approval; a voluntary payment over 1000
/// yuan is marked special.
#[utoipa::path(post, path = "/api/v1/dues/members/{id}/payments", params(("id" = i64, Path)), request_body = PaymentIn, security(("bearer" = [])),
    responses((status = 201, body = PaymentOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn pay(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<PaymentIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<PaymentOut>)> {
    let input = to_payment_input(body(b)?)?;
    let p = st
        .app
        .record_dues_payment(&a, member_id(&id)?, input)
        .await?;
    Ok((StatusCode::CREATED, Json((&p).into())))
}

/// Corrects a payment by a reversing entry (never an edit), once.
#[utoipa::path(post, path = "/api/v1/dues/payments/{id}/reverse", params(("id" = i64, Path)), request_body = ReverseIn, security(("bearer" = [])),
    responses((status = 201, body = PaymentOut), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reverse(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<ReverseIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<PaymentOut>)> {
    let b = body(b)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("payment")))?;
    let p = st.app.reverse_dues_payment(&a, id, &b.reason).await?;
    Ok((StatusCode::CREATED, Json((&p).into())))
}

/// Generates the month's sheets of the organization's subtree
/// (idempotent).
#[utoipa::path(post, path = "/api/v1/dues/orgs/{code}/sheets/{month}", params(("code" = String, Path), ("month" = String, Path, description = "YYYY-MM")), security(("bearer" = [])),
    responses((status = 200, body = GenerateOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn generate(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((code, month)): Path<(String, String)>,
) -> ApiResult<Json<GenerateOut>> {
    Ok(Json(
        st.app
            .generate_dues(&a, &code, &month, &|_, _| {})
            .await?
            .into(),
    ))
}

/// A branch's sheet of one month with each member's account.
#[utoipa::path(get, path = "/api/v1/dues/orgs/{code}/sheets/{month}", params(("code" = String, Path), ("month" = String, Path, description = "YYYY-MM")), security(("bearer" = [])),
    responses((status = 200, body = SheetOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn sheet(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((code, month)): Path<(String, String)>,
) -> ApiResult<Json<SheetOut>> {
    Ok(Json((&st.app.dues_sheet(&a, &code, &month).await?).into()))
}

/// Collection rate by organization and month across the subtree.
#[utoipa::path(get, path = "/api/v1/dues/orgs/{code}/report", params(("code" = String, Path), RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = ReportOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<ReportOut>> {
    let q = query(q)?;
    Ok(Json(
        (&st.app.dues_report(&a, &code, &q.from, &q.to).await?).into(),
    ))
}

/// The collection report as an XLSX workbook.
#[utoipa::path(get, path = "/api/v1/dues/orgs/{code}/report.xlsx", params(("code" = String, Path), RangeQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn report_xlsx(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let q = query(q)?;
    let bytes = st.app.dues_report_xlsx(&a, &code, &q.from, &q.to).await?;
    let disp = format!(
        "attachment; filename=\"dues-{}-{}-{}.xlsx\"",
        code.replace('"', ""),
        q.from.replace('"', ""),
        q.to.replace('"', "")
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disp),
        ],
        bytes,
    ))
}
