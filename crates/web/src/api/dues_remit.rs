//! Dues remitted to the higher level under `/api/v1/dues` (DOMAIN.md §7):
//! the remittance report of a subtree, recording a transfer to the parent
//! organization, and reversing a wrong entry. Amounts are integer fen.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::dues_remit::{RemittanceInput, RemittanceReport, RemittanceRow, RemittanceView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::dues::{RangeQuery, ReverseIn};
use crate::api::orgs::{body, query};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// A transfer to the higher level as entered.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RemittanceIn {
    /// Month of collection remitted, YYYY-MM.
    pub month: String,
    /// Yuan, at most two decimals, e.g. `1234.50`.
    pub amount: String,
    /// Bank transfer or receipt reference.
    pub reference: String,
    /// Defaults to today.
    pub remitted_on: Option<NaiveDate>,
}

/// A recorded transfer (or its reversing correction).
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceOut {
    pub id: i64,
    pub org_code: String,
    pub to_org_code: Option<String>,
    /// YYYY-MM
    pub month: String,
    pub amount_fen: i64,
    pub reference: String,
    pub remitted_on: NaiveDate,
    pub reverses_id: Option<i64>,
    pub reversed: bool,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&RemittanceView> for RemittanceOut {
    fn from(r: &RemittanceView) -> Self {
        RemittanceOut {
            id: r.id,
            org_code: r.org_code.clone(),
            to_org_code: r.to_org_code.clone(),
            month: r.month.clone(),
            amount_fen: r.amount_fen,
            reference: r.reference.clone(),
            remitted_on: r.remitted_on,
            reverses_id: r.reverses_id,
            reversed: r.reversed,
            reason: r.reason.clone(),
            created_at: r.created_at,
        }
    }
}

/// One organization and month: what it owes upward.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceRowOut {
    pub org_code: String,
    pub org_name: String,
    /// The parent it remits to; null at the top of the tree.
    pub to_org_code: Option<String>,
    pub to_org_name: Option<String>,
    /// YYYY-MM
    pub month: String,
    /// Collected from its own members (every kind, net of corrections).
    pub collected_fen: i64,
    /// Remitted to it by its child organizations.
    pub received_fen: i64,
    /// collected + received
    pub to_remit_fen: i64,
    pub remitted_fen: i64,
    /// to_remit - remitted
    pub outstanding_fen: i64,
    pub remittances: Vec<RemittanceOut>,
}

impl From<&RemittanceRow> for RemittanceRowOut {
    fn from(r: &RemittanceRow) -> Self {
        let b = &r.balance;
        RemittanceRowOut {
            org_code: r.org_code.clone(),
            org_name: r.org_name.clone(),
            to_org_code: r.to_org_code.clone(),
            to_org_name: r.to_org_name.clone(),
            month: r.month.clone(),
            collected_fen: b.collected_fen,
            received_fen: b.received_fen,
            to_remit_fen: b.to_remit_fen,
            remitted_fen: b.remitted_fen,
            outstanding_fen: b.outstanding_fen,
            remittances: r.remittances.iter().map(Into::into).collect(),
        }
    }
}

/// The remittance report of a subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceReportOut {
    pub org_code: String,
    /// YYYY-MM
    pub from: String,
    /// YYYY-MM
    pub to: String,
    pub rows: Vec<RemittanceRowOut>,
    pub can_record: bool,
}

impl From<&RemittanceReport> for RemittanceReportOut {
    fn from(r: &RemittanceReport) -> Self {
        RemittanceReportOut {
            org_code: r.org.code.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            rows: r.rows.iter().map(Into::into).collect(),
            can_record: r.can_record,
        }
    }
}

/// Remittance to the higher level by organization and month across the
/// subtree: collected, received from below, to remit, remitted, outstanding.
#[utoipa::path(get, path = "/api/v1/dues/orgs/{code}/remittances", params(("code" = String, Path), RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = RemittanceReportOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<RemittanceReportOut>> {
    let q = query(q)?;
    Ok(Json(
        (&st.app.dues_remittances(&a, &code, &q.from, &q.to).await?).into(),
    ))
}

/// Records dues the organization remitted to its parent for a month.
#[utoipa::path(post, path = "/api/v1/dues/orgs/{code}/remittances", params(("code" = String, Path)), request_body = RemittanceIn, security(("bearer" = [])),
    responses((status = 201, body = RemittanceOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn record(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<RemittanceIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RemittanceOut>)> {
    let b = body(b)?;
    let input = RemittanceInput {
        month: b.month,
        amount: b.amount,
        reference: b.reference,
        remitted_on: b.remitted_on,
    };
    let r = st.app.record_dues_remittance(&a, &code, input).await?;
    Ok((StatusCode::CREATED, Json((&r).into())))
}

/// Corrects a recorded remittance by a reversing entry (never an edit), once.
#[utoipa::path(post, path = "/api/v1/dues/remittances/{id}/reverse", params(("id" = i64, Path)), request_body = ReverseIn, security(("bearer" = [])),
    responses((status = 201, body = RemittanceOut), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reverse(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<ReverseIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RemittanceOut>)> {
    let b = body(b)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("remittance")))?;
    let r = st.app.reverse_dues_remittance(&a, id, &b.reason).await?;
    Ok((StatusCode::CREATED, Json((&r).into())))
}
