//! Organization endpoints: browse, create, rename, move, dissolve, history.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dangjian_app::orgs::NewOrgInput;
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use serde::Deserialize;

use crate::AppState;
use crate::api::types::{HistoryOut, MoveIn, NewOrgIn, OrgDetailOut, OrgListOut, OrgOut, RenameIn};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// The JSON body, or a 400 naming what is wrong with it.
pub fn body<T>(r: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    r.map(|Json(t)| t).map_err(|e| {
        ApiError::bad_request(
            "body",
            &format!("请求体无效：{}", e.body_text()),
            &format!("invalid request body: {}", e.body_text()),
        )
    })
}

/// The query string, or a 400 naming what is wrong with it.
pub fn query<T>(r: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    r.map(|Query(t)| t).map_err(|e| {
        ApiError::bad_request(
            "query",
            &format!("查询参数无效：{}", e.body_text()),
            &format!("invalid query parameters: {}", e.body_text()),
        )
    })
}

fn bad_enum(field: &str, v: &str) -> ApiError {
    ApiError(dangjian_app::AppError::field(
        field,
        "invalid_value",
        format!("「{v}」不是有效的取值"),
        format!("{v:?} is not a valid value"),
    ))
}

/// Organizations the caller starts browsing from (the roots of their roles).
#[utoipa::path(get, path = "/api/v1/orgs", responses((status = 200, body = OrgListOut), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn roots(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<OrgListOut>> {
    let items = st
        .app
        .org_roots(&a)
        .await?
        .iter()
        .map(OrgOut::from_view)
        .collect();
    Ok(Json(OrgListOut { items }))
}

/// Creates an organization under `parent_code`.
#[utoipa::path(post, path = "/api/v1/orgs", request_body = NewOrgIn, security(("bearer" = [])),
    responses((status = 201, body = OrgOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    b: Result<Json<NewOrgIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<OrgOut>)> {
    let b = body(b)?;
    let kind = OrgKind::parse(&b.kind).ok_or_else(|| bad_enum("kind", &b.kind))?;
    let setting = match &b.setting {
        Some(s) => OrgSetting::parse(s).ok_or_else(|| bad_enum("setting", s))?,
        None => OrgSetting::Other,
    };
    let o = st
        .app
        .create_org(
            &a,
            NewOrgInput {
                code: b.code,
                name: b.name,
                kind,
                setting,
                parent_code: Some(b.parent_code),
                has_committee: b.has_committee,
                committee_elected_on: b.committee_elected_on,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(OrgOut::from_view(&o))))
}

/// An organization with its parent, children and member counts by stage.
#[utoipa::path(get, path = "/api/v1/orgs/{code}", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrgDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<OrgDetailOut>> {
    Ok(Json(st.app.org_detail(&a, &code).await?.into()))
}

/// Renames an organization (kept in its history).
#[utoipa::path(patch, path = "/api/v1/orgs/{code}", params(("code" = String, Path)), request_body = RenameIn, security(("bearer" = [])),
    responses((status = 200, body = OrgOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rename(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<RenameIn>, JsonRejection>,
) -> ApiResult<Json<OrgOut>> {
    let b = body(b)?;
    Ok(Json(OrgOut::from_view(
        &st.app.rename_org(&a, &code, &b.name).await?,
    )))
}

/// Moves an organization and its subtree under another parent.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/move", params(("code" = String, Path)), request_body = MoveIn, security(("bearer" = [])),
    responses((status = 200, body = OrgOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn move_org(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<MoveIn>, JsonRejection>,
) -> ApiResult<Json<OrgOut>> {
    let b = body(b)?;
    Ok(Json(OrgOut::from_view(
        &st.app.move_org(&a, &code, &b.parent_code).await?,
    )))
}

/// Dissolves an organization (archived, never deleted).
#[utoipa::path(post, path = "/api/v1/orgs/{code}/dissolve", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OrgOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn dissolve(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<OrgOut>> {
    Ok(Json(OrgOut::from_view(
        &st.app.dissolve_org(&a, &code).await?,
    )))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SubtreeQuery {
    /// Levels below the organization (1–6, default 2).
    pub levels: Option<i32>,
}

/// The subtree below an organization, in tree order.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/subtree", params(("code" = String, Path), SubtreeQuery), security(("bearer" = [])),
    responses((status = 200, body = OrgListOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn subtree(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<SubtreeQuery>, QueryRejection>,
) -> ApiResult<Json<OrgListOut>> {
    let q = query(q)?;
    let levels = q.levels.unwrap_or(2);
    if !(1..=6).contains(&levels) {
        return Err(ApiError::bad_request(
            "levels",
            "levels 须在 1 到 6 之间",
            "levels must be between 1 and 6",
        ));
    }
    let items = st
        .app
        .org_subtree(&a, &code, levels)
        .await?
        .iter()
        .map(OrgOut::from_view)
        .collect();
    Ok(Json(OrgListOut { items }))
}

/// History of an organization: created, renamed, moved, dissolved.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/history", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<HistoryOut>), (status = 404, body = Problem)))]
pub async fn history(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<HistoryOut>>> {
    Ok(Json(
        st.app
            .org_history(&a, &code)
            .await?
            .into_iter()
            .map(|h| HistoryOut {
                at: h.at,
                action: h.action,
                detail: h.detail,
            })
            .collect(),
    ))
}

/// The election of an organization's committee (换届).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommitteeIn {
    /// Day the committee in office was elected; null when it has none.
    pub elected_on: Option<chrono::NaiveDate>,
    /// Term chosen at the election, in years (DOMAIN.md §2: 3–5 for most
    /// grassroots committees); absent: the longest the organization allows.
    #[serde(default)]
    pub term_years: Option<u32>,
}

/// Records the election of the committee (a new term) or that there is none;
/// the term and committee-required warnings are re-evaluated at once.
#[utoipa::path(put, path = "/api/v1/orgs/{code}/committee", params(("code" = String, Path)), request_body = CommitteeIn, security(("bearer" = [])),
    responses((status = 200, body = OrgOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn committee(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<CommitteeIn>, JsonRejection>,
) -> ApiResult<Json<OrgOut>> {
    let b = body(b)?;
    Ok(Json(OrgOut::from_view(
        &st.app
            .set_committee(&a, &code, b.elected_on, b.term_years)
            .await?,
    )))
}
