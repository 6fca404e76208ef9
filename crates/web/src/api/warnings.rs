//! Warning endpoints (三色预警, DOMAIN.md §9): the rule catalogue, lists
//! filtered by subtree, level, rule and state, one warning with its history,
//! the four actions, the dashboard summary, and the thresholds of a subtree.
//! Wire types live here; handlers only parse, call `dangjian-app` and shape.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::warnings::{
    ThresholdsView, WarningDetail, WarningEventView, WarningQuery, WarningSummary, WarningView,
};
use dangjian_domain::warnings::{Action, Level, RuleId, RuleSpec, WarningState, catalogue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// One rule of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleOut {
    pub id: String,
    pub title: String,
    pub title_en: String,
    /// member, organization, decision, request, letter, meeting
    pub subject: String,
    /// Levels it can raise, lowest first: blue, yellow, red.
    pub levels: Vec<String>,
    /// The DOMAIN.md section it enforces.
    pub section: String,
    pub regulation: String,
    /// on_write, sweep or both
    pub trigger: String,
    pub what_to_do: String,
    pub what_to_do_en: String,
}

impl From<RuleSpec> for RuleOut {
    fn from(s: RuleSpec) -> Self {
        Self {
            id: s.id.as_str().into(),
            title: s.title_zh.into(),
            title_en: s.title_en.into(),
            subject: s.subject.as_str().into(),
            levels: s.levels.iter().map(|l| l.as_str().to_string()).collect(),
            section: s.section.into(),
            regulation: s.regulation.into(),
            trigger: s.trigger.as_str().into(),
            what_to_do: s.what_to_do_zh.into(),
            what_to_do_en: s.what_to_do_en.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleListOut {
    pub items: Vec<RuleOut>,
}

/// A warning.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningOut {
    pub id: i64,
    pub rule: String,
    pub rule_title: String,
    pub rule_title_en: String,
    /// blue, yellow or red
    pub level: String,
    pub level_label: String,
    /// open, acknowledged, corrected or closed
    pub state: String,
    pub state_label: String,
    pub subject_kind: String,
    pub subject_id: i64,
    /// The organization concerned (a member's branch, a decision's organization).
    pub org_code: String,
    pub org_name: String,
    /// The period it is about: a term end date, or `current`.
    pub period_key: String,
    pub detail: String,
    pub detail_en: String,
    /// When it escalates next, if it still can.
    pub due_on: Option<NaiveDate>,
    /// Corrected by the engine because the condition cleared.
    pub cleared_by_data: bool,
    /// 容错纠错: corrected in time.
    pub tolerated_mistake: bool,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<&WarningView> for WarningOut {
    fn from(w: &WarningView) -> Self {
        Self {
            id: w.id,
            rule: w.rule.as_str().into(),
            rule_title: w.rule.label_zh().into(),
            rule_title_en: w.rule.label_en().into(),
            level: w.level.as_str().into(),
            level_label: w.level.label_zh().into(),
            state: w.state.as_str().into(),
            state_label: w.state.label_zh().into(),
            subject_kind: w.subject_kind.as_str().into(),
            subject_id: w.subject_id,
            org_code: w.org_code.clone(),
            org_name: w.org_name.clone(),
            period_key: w.period_key.clone(),
            detail: w.detail_zh.clone(),
            detail_en: w.detail_en.clone(),
            due_on: w.due_on,
            cleared_by_data: w.cleared_by_data,
            tolerated_mistake: w.tolerated_mistake,
            raised_at: w.raised_at,
            updated_at: w.updated_at,
            closed_at: w.closed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WarningPageOut {
    pub items: Vec<WarningOut>,
    pub next_cursor: Option<String>,
}

/// One entry of a warning's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningEventOut {
    pub at: DateTime<Utc>,
    /// raised, escalated, recurred, cleared, acknowledged, corrected, closed, reopened
    pub kind: String,
    /// Absent for the engine.
    pub actor_user_id: Option<i64>,
    pub from_level: Option<String>,
    pub level: String,
    pub from_state: Option<String>,
    pub state: String,
    pub evidence: Option<String>,
    pub tolerated_mistake: bool,
}

impl From<&WarningEventView> for WarningEventOut {
    fn from(e: &WarningEventView) -> Self {
        Self {
            at: e.at,
            kind: e.kind.clone(),
            actor_user_id: e.actor_user_id,
            from_level: e.from_level.map(|l| l.as_str().into()),
            level: e.level.as_str().into(),
            from_state: e.from_state.map(|s| s.as_str().into()),
            state: e.state.as_str().into(),
            evidence: e.evidence.clone(),
            tolerated_mistake: e.tolerated_mistake,
        }
    }
}

/// A warning with its rule, subject, history and the caller's allowed actions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarningDetailOut {
    pub warning: WarningOut,
    pub rule: RuleOut,
    pub subject_label: String,
    pub history: Vec<WarningEventOut>,
    /// acknowledge, correct, close, reopen: what the caller may do now.
    pub allowed: Vec<String>,
}

impl From<WarningDetail> for WarningDetailOut {
    fn from(d: WarningDetail) -> Self {
        Self {
            warning: WarningOut::from(&d.warning),
            rule: d.spec.into(),
            subject_label: d.subject_label,
            history: d.history.iter().map(WarningEventOut::from).collect(),
            allowed: d.allowed.iter().map(|a| a.as_str().to_string()).collect(),
        }
    }
}

/// The evidence of a correction (整改情况).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectIn {
    pub evidence: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LevelCount {
    pub level: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleCount {
    pub rule: String,
    pub title: String,
    pub count: u64,
}

/// A child organization coloured by the worst live warning in its subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildOut {
    pub code: String,
    pub name: String,
    pub kind: String,
    /// red, yellow, blue, or absent when nothing is live.
    pub worst: Option<String>,
    pub live: u64,
}

/// Live (open or acknowledged) warnings over a subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    pub org_code: String,
    pub total: u64,
    pub by_level: Vec<LevelCount>,
    pub by_rule: Vec<RuleCount>,
    /// Worst live warning about the organization itself.
    pub own_worst: Option<String>,
    pub own_live: u64,
    pub children: Vec<ChildOut>,
}

impl From<WarningSummary> for SummaryOut {
    fn from(s: WarningSummary) -> Self {
        Self {
            org_code: s.org.code.clone(),
            total: s.total,
            by_level: s
                .by_level
                .iter()
                .map(|(l, n)| LevelCount {
                    level: l.as_str().into(),
                    count: *n,
                })
                .collect(),
            by_rule: s
                .by_rule
                .iter()
                .map(|(r, n)| RuleCount {
                    rule: r.as_str().into(),
                    title: r.label_zh().into(),
                    count: *n,
                })
                .collect(),
            own_worst: s.own.map(|l| l.as_str().into()),
            own_live: s.own_live,
            children: s
                .children
                .iter()
                .map(|c| ChildOut {
                    code: c.org.code.clone(),
                    name: c.org.name.clone(),
                    kind: c.org.kind.as_str().into(),
                    worst: c.worst.map(|l| l.as_str().into()),
                    live: c.live,
                })
                .collect(),
        }
    }
}

/// Thresholds in force for an organization and its own override.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdsOut {
    pub org_code: String,
    /// Every threshold in force (defaults merged with the overrides from the root down).
    #[schema(value_type = Object)]
    pub effective: serde_json::Value,
    /// Large-sum threshold of the 三重一大 register, in fen.
    pub large_sum_fen: i64,
    /// This organization's own override; `{}` when it only inherits.
    #[schema(value_type = Object)]
    pub own: serde_json::Value,
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<i64>,
}

impl From<ThresholdsView> for ThresholdsOut {
    fn from(t: ThresholdsView) -> Self {
        Self {
            org_code: t.org_code,
            effective: serde_json::to_value(&t.effective).unwrap_or_default(),
            large_sum_fen: t.large_sum_fen,
            own: t.own,
            changed_at: t.changed_at,
            changed_by: t.changed_by,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Code of the subtree's root (default: every subtree the caller sees).
    pub org: Option<String>,
    /// blue, yellow or red
    pub level: Option<String>,
    /// A rule id from `/api/v1/warnings/rules`.
    pub rule: Option<String>,
    /// open, acknowledged, corrected, closed, comma-separated; `live` means open,acknowledged.
    pub state: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u64>,
}

fn bad_param(field: &str, v: &str) -> ApiError {
    ApiError::bad_request(
        field,
        &format!("{field} 的取值「{v}」无效"),
        &format!("{v:?} is not a valid {field}"),
    )
}

fn parse_states(s: &str) -> ApiResult<Vec<WarningState>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "live" {
            out.extend([WarningState::Open, WarningState::Acknowledged]);
        } else {
            out.push(WarningState::parse(part).ok_or_else(|| bad_param("state", part))?);
        }
    }
    Ok(out)
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("warning")))
}

/// The rule catalogue: what each rule checks, its levels, the DOMAIN.md
/// section and regulation it enforces, and what to do.
#[utoipa::path(get, path = "/api/v1/warnings/rules", security(("bearer" = [])),
    responses((status = 200, body = RuleListOut), (status = 401, body = Problem)))]
pub async fn rules(_caller: ApiActor) -> Json<RuleListOut> {
    Json(RuleListOut {
        items: catalogue().map(RuleOut::from).collect(),
    })
}

/// Warnings in a subtree, newest first, filtered by level, rule and state.
#[utoipa::path(get, path = "/api/v1/warnings", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = WarningPageOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<WarningPageOut>> {
    let q = query(q)?;
    let level = match q.level.as_deref() {
        Some(l) => Some(Level::parse(l).ok_or_else(|| bad_param("level", l))?),
        None => None,
    };
    let rule = match q.rule.as_deref() {
        Some(r) => Some(RuleId::parse(r).ok_or_else(|| bad_param("rule", r))?),
        None => None,
    };
    let states = match q.state.as_deref() {
        Some(s) => Some(parse_states(s)?),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "limit 须在 1 到 500 之间",
            "limit must be between 1 and 500",
        ));
    }
    let page = st
        .app
        .list_warnings(
            &a,
            &WarningQuery {
                org: q.org,
                level,
                rule,
                states,
                cursor: q.cursor,
                limit,
            },
        )
        .await
        .map_err(|e| match e {
            AppError::Validation(v) if v.0.iter().any(|f| f.field == "cursor") => {
                ApiError::bad_request("cursor", "分页游标无效", "cursor is not valid")
            }
            e => ApiError(e),
        })?;
    Ok(Json(WarningPageOut {
        items: page.items.iter().map(WarningOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One warning with its rule, subject and whole history.
#[utoipa::path(get, path = "/api/v1/warnings/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarningDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WarningDetailOut>> {
    Ok(Json(
        st.app.warning_detail(&a, parse_id(&id)?).await?.into(),
    ))
}

async fn act(
    st: &AppState,
    a: &dangjian_app::Actor,
    id: &str,
    action: Action,
) -> ApiResult<Json<WarningDetailOut>> {
    Ok(Json(
        st.app
            .act_on_warning(a, parse_id(id)?, action)
            .await?
            .into(),
    ))
}

/// Acknowledges (签收) an open warning.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/acknowledge", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarningDetailOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn acknowledge(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WarningDetailOut>> {
    act(&st, &a, &id, Action::Acknowledge).await
}

/// Records the correction (整改) of a warning with evidence of what was done.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/correct", params(("id" = i64, Path)), request_body = CorrectIn, security(("bearer" = [])),
    responses((status = 200, body = WarningDetailOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn correct(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<CorrectIn>, JsonRejection>,
) -> ApiResult<Json<WarningDetailOut>> {
    let b = body(b)?;
    act(
        &st,
        &a,
        &id,
        Action::Correct {
            evidence: b.evidence,
        },
    )
    .await
}

/// Closes (销号) a corrected warning.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/close", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarningDetailOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn close(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WarningDetailOut>> {
    act(&st, &a, &id, Action::Close).await
}

/// Reopens a corrected or closed warning.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/reopen", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarningDetailOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reopen(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<WarningDetailOut>> {
    act(&st, &a, &id, Action::Reopen).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    /// Code of the subtree's root.
    pub org: String,
}

/// Live warnings over a subtree: by level, by rule, and the worst level under
/// each child organization.
#[utoipa::path(get, path = "/api/v1/warnings/summary", params(SummaryQuery), security(("bearer" = [])),
    responses((status = 200, body = SummaryOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn summary(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    q: Result<Query<SummaryQuery>, QueryRejection>,
) -> ApiResult<Json<SummaryOut>> {
    let q = query(q)?;
    Ok(Json(st.app.warning_summary(&a, &q.org).await?.into()))
}

/// The thresholds in force for an organization (inherited from the root
/// down) and its own override.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/thresholds", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ThresholdsOut), (status = 404, body = Problem)))]
pub async fn thresholds(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<ThresholdsOut>> {
    Ok(Json(st.app.org_thresholds(&a, &code).await?.into()))
}

/// Replaces an organization's override of the thresholds for its subtree,
/// e.g. `{"term_expiring": {"blue_months_before": 9}, "decisions":
/// {"large_sum_fen": 50000000}}`. Audited; the subtree is re-evaluated.
/// 422 names each field out of bounds or unknown.
#[utoipa::path(put, path = "/api/v1/orgs/{code}/thresholds", params(("code" = String, Path)),
    request_body(content = Object, description = "Sections of the thresholds to override"), security(("bearer" = [])),
    responses((status = 200, body = ThresholdsOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_thresholds(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<serde_json::Value>, JsonRejection>,
) -> ApiResult<Json<ThresholdsOut>> {
    let b = body(b)?;
    Ok(Json(st.app.set_thresholds(&a, &code, &b).await?.into()))
}
