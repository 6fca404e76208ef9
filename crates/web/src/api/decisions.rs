//! 三重一大 register endpoints (DOMAIN.md §8): record a decision (its
//! verdict and warnings come back), list an organization's register, read
//! one decision, record the report of an emergency decision.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::decisions::{DecisionDetail, DecisionInput, DecisionView};
use dangjian_domain::decisions::{DecisionKind, DecisionMethod, Position, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::api::warnings::WarningOut;
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// One member's stated position, in speaking order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementIo {
    /// Number of the member in the leadership body.
    pub member_id: i64,
    /// agree, disagree or abstain (or 同意 / 不同意 / 弃权)
    pub position: String,
    /// The principal leader (主要负责人), who speaks last.
    #[serde(default)]
    pub principal: bool,
}

/// A decision to record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionIn {
    /// major_policy, cadre_appointment, major_project, large_fund_use
    pub kind: String,
    pub title: String,
    /// Amount involved, in fen.
    pub amount_fen: Option<i64>,
    /// meeting (default), circulation, countersign, one_by_one
    pub method: Option<String>,
    pub decided_on: NaiveDate,
    /// The meeting that decided it.
    pub meeting: Option<String>,
    /// Members of the leadership body, recused ones included.
    pub members_total: u32,
    /// Numbers of the members present.
    pub attendees: Vec<i64>,
    #[serde(default)]
    pub recused: Vec<i64>,
    #[serde(default)]
    pub prior_research: bool,
    #[serde(default)]
    pub consultation: bool,
    /// Legal or risk review done.
    #[serde(default)]
    pub legal_review: bool,
    /// Positions in speaking order.
    #[serde(default)]
    pub statements: Vec<StatementIo>,
    /// Dissent is recorded in the minutes.
    #[serde(default)]
    pub dissent_recorded: bool,
    /// Taken alone in an emergency.
    #[serde(default)]
    pub emergency: bool,
    pub emergency_reported_on: Option<NaiveDate>,
}

/// One failed compliance check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOut {
    pub code: String,
    pub title: String,
    /// blue, yellow or red
    pub level: String,
    pub message: String,
    pub message_en: String,
}

/// A register entry with its verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    pub id: i64,
    pub org_code: String,
    pub org_name: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    pub amount_fen: Option<i64>,
    /// The organization's large-sum threshold when recorded, in fen.
    pub threshold_fen: i64,
    pub method: String,
    pub decided_on: NaiveDate,
    pub meeting: Option<String>,
    pub members_total: u32,
    pub attendees: Vec<i64>,
    pub recused: Vec<i64>,
    pub prior_research: bool,
    pub consultation: bool,
    pub legal_review: bool,
    pub statements: Vec<StatementIo>,
    pub dissent_recorded: bool,
    pub emergency: bool,
    pub emergency_reported_on: Option<NaiveDate>,
    /// No red or yellow finding.
    pub compliant: bool,
    /// Worst level found, if any.
    pub worst_level: Option<String>,
    pub findings: Vec<CheckOut>,
    pub created_at: DateTime<Utc>,
}

impl From<&DecisionView> for DecisionOut {
    fn from(d: &DecisionView) -> Self {
        Self {
            id: d.id,
            org_code: d.org.code.clone(),
            org_name: d.org.name.clone(),
            kind: d.kind.as_str().into(),
            kind_label: d.kind.label_zh().into(),
            title: d.title.clone(),
            amount_fen: d.amount_fen,
            threshold_fen: d.threshold_fen,
            method: d.method.as_str().into(),
            decided_on: d.decided_on,
            meeting: d.meeting.clone(),
            members_total: d.members_total,
            attendees: d.attendees.clone(),
            recused: d.recused.clone(),
            prior_research: d.prior_research,
            consultation: d.consultation,
            legal_review: d.legal_review,
            statements: d
                .statements
                .iter()
                .map(|s| StatementIo {
                    member_id: s.member_id,
                    position: s.position.as_str().into(),
                    principal: s.is_principal_leader,
                })
                .collect(),
            dissent_recorded: d.dissent_recorded,
            emergency: d.emergency,
            emergency_reported_on: d.emergency_reported_on,
            compliant: d.verdict.compliant,
            worst_level: d.verdict.worst().map(|l| l.as_str().into()),
            findings: d
                .verdict
                .findings
                .iter()
                .map(|f| CheckOut {
                    code: f.code.as_str().into(),
                    title: f.code.label_zh().into(),
                    level: f.level.as_str().into(),
                    message: f.message_zh.clone(),
                    message_en: f.message_en.clone(),
                })
                .collect(),
            created_at: d.created_at,
        }
    }
}

/// A decision with the warnings raised about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionDetailOut {
    pub decision: DecisionOut,
    pub warnings: Vec<WarningOut>,
}

impl From<DecisionDetail> for DecisionDetailOut {
    fn from(d: DecisionDetail) -> Self {
        Self {
            decision: DecisionOut::from(&d.decision),
            warnings: d.warnings.iter().map(WarningOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionPageOut {
    pub items: Vec<DecisionOut>,
    pub next_cursor: Option<String>,
}

/// When an emergency decision was reported to the next leadership meeting.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportIn {
    pub reported_on: NaiveDate,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
}

fn invalid(field: &str, v: &str) -> ApiError {
    ApiError(AppError::field(
        field,
        "invalid_value",
        format!("「{v}」不是有效的取值"),
        format!("{v:?} is not a valid value"),
    ))
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("decision")))
}

/// The input of the app, each code checked with the field named.
pub fn to_input(b: DecisionIn) -> ApiResult<DecisionInput> {
    let kind = DecisionKind::parse(&b.kind).ok_or_else(|| invalid("kind", &b.kind))?;
    let method = match b.method.as_deref() {
        Some(m) => DecisionMethod::parse(m).ok_or_else(|| invalid("method", m))?,
        None => DecisionMethod::Meeting,
    };
    let statements = b
        .statements
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Statement {
                member_id: s.member_id,
                position: Position::parse(&s.position)
                    .ok_or_else(|| invalid(&format!("statements[{i}].position"), &s.position))?,
                is_principal_leader: s.principal,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(DecisionInput {
        kind,
        title: b.title,
        amount_fen: b.amount_fen,
        method,
        decided_on: b.decided_on,
        meeting: b.meeting,
        members_total: b.members_total,
        attendees: b.attendees,
        recused: b.recused,
        prior_research: b.prior_research,
        consultation: b.consultation,
        legal_review: b.legal_review,
        statements,
        dissent_recorded: b.dissent_recorded,
        emergency: b.emergency,
        emergency_reported_on: b.emergency_reported_on,
    })
}

/// Records a decision in the organization's register; the answer carries
/// the verdict of the DOMAIN.md §8 checks and the warnings raised.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/decisions", params(("code" = String, Path)), request_body = DecisionIn, security(("bearer" = [])),
    responses((status = 201, body = DecisionDetailOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<DecisionIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<DecisionDetailOut>)> {
    let input = to_input(body(b)?)?;
    let d = st.app.record_decision(&a, &code, input).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// The organization's register, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/decisions", params(("code" = String, Path), ListQuery), security(("bearer" = [])),
    responses((status = 200, body = DecisionPageOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<DecisionPageOut>> {
    let q = query(q)?;
    let page = st
        .app
        .list_decisions(&a, &code, q.cursor.as_deref(), q.limit.unwrap_or(50))
        .await
        .map_err(|e| match e {
            AppError::Validation(v) if v.0.iter().any(|f| f.field == "cursor") => {
                ApiError::bad_request("cursor", "分页游标无效", "cursor is not valid")
            }
            e => ApiError(e),
        })?;
    Ok(Json(DecisionPageOut {
        items: page.items.iter().map(DecisionOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One decision with its verdict and warnings.
#[utoipa::path(get, path = "/api/v1/decisions/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = DecisionDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<DecisionDetailOut>> {
    Ok(Json(
        st.app.decision_detail(&a, parse_id(&id)?).await?.into(),
    ))
}

/// Records that an emergency decision was reported to the next leadership
/// meeting; it is re-checked and its warning clears.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/report-emergency", params(("id" = i64, Path)), request_body = ReportIn, security(("bearer" = [])),
    responses((status = 200, body = DecisionDetailOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn report(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<ReportIn>, JsonRejection>,
) -> ApiResult<Json<DecisionDetailOut>> {
    let b = body(b)?;
    Ok(Json(
        st.app
            .report_emergency(&a, parse_id(&id)?, b.reported_on)
            .await?
            .into(),
    ))
}
