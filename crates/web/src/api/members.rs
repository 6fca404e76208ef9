//! Member endpoints: list (masked, cursor-paginated), register, detail
//! (sensitive fields audited), exact ID-number search, roster import/export.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use dangjian_app::AppError;
use dangjian_app::roster::RosterFormat;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{Education, MemberDraft, Stage, StageDates};
use serde::Deserialize;

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::api::types::{
    IdSearchIn, ImportOut, MemberDetailOut, MemberListOut, MemberOut, MemberPageOut, NewMemberIn,
};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u64>,
}

/// Members of an organization, masked, in registration order.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/members", params(("code" = String, Path), ListQuery), security(("bearer" = [])),
    responses((status = 200, body = MemberPageOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<MemberPageOut>> {
    let q = query(q)?;
    let page = st
        .app
        .list_members(&a, &code, q.cursor.as_deref(), q.limit.unwrap_or(50))
        .await
        .map_err(|e| match e {
            AppError::Validation(v) if v.0.iter().any(|f| f.field == "cursor") => {
                ApiError::bad_request("cursor", "分页游标无效", "cursor is not valid")
            }
            e => ApiError(e),
        })?;
    Ok(Json(MemberPageOut {
        items: page.items.iter().map(MemberOut::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn parse_or<T>(
    field: &str,
    v: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    default: T,
) -> ApiResult<T> {
    match v {
        None => Ok(default),
        Some(s) => parse(s).ok_or_else(|| {
            ApiError(AppError::field(
                field,
                "invalid_value",
                format!("「{s}」不是有效的取值"),
                format!("{s:?} is not a valid value"),
            ))
        }),
    }
}

/// Registers a member in the branch `code`.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/members", params(("code" = String, Path)), request_body = NewMemberIn, security(("bearer" = [])),
    responses((status = 201, body = MemberOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<NewMemberIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<MemberOut>)> {
    let b = body(b)?;
    let stage = parse_or("stage", Some(&b.stage), Stage::parse, Stage::Applicant)?;
    let dues_category = parse_or(
        "dues_category",
        b.dues_category.as_deref(),
        DuesCategory::parse,
        DuesCategory::Employed,
    )?;
    let education = match b.education.as_deref() {
        None => None,
        Some(e) => Some(parse_or(
            "education",
            Some(e),
            Education::parse,
            Education::Senior,
        )?),
    };
    let draft = MemberDraft {
        name: b.name,
        id_number: b.id_number,
        ethnicity: b.ethnicity.unwrap_or_else(|| "汉族".into()),
        phone: b.phone.filter(|p| !p.trim().is_empty()),
        education,
        dues_category,
        stage,
        stage_dates: StageDates {
            applied_on: b.applied_on,
            activist_on: b.activist_on,
            development_target_on: b.development_target_on,
            probationary_on: b.probationary_on,
            full_on: b.full_on,
        },
        mobile: b.is_mobile,
    };
    let m = st.app.register_member(&a, &code, draft).await?;
    Ok((StatusCode::CREATED, Json(MemberOut::from(&m))))
}

/// A member's record. ID number and phone are in clear only for roles that
/// may read them; every such read is written to the audit log.
#[utoipa::path(get, path = "/api/v1/members/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemberDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberDetailOut>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    Ok(Json(st.app.member_detail(&a, id).await?.into()))
}

/// Finds members by exact resident ID number within the caller's subtrees.
/// POST keeps the number out of URLs and access logs.
#[utoipa::path(post, path = "/api/v1/members/search", request_body = IdSearchIn, security(("bearer" = [])),
    responses((status = 200, body = MemberListOut), (status = 422, body = Problem)))]
pub async fn search(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    b: Result<Json<IdSearchIn>, JsonRejection>,
) -> ApiResult<Json<MemberListOut>> {
    let b = body(b)?;
    let items = st
        .app
        .search_by_id_number(&a, &b.id_number)
        .await?
        .iter()
        .map(MemberOut::from)
        .collect();
    Ok(Json(MemberListOut { items }))
}

/// Imports a roster (body: the CSV or XLSX file; `Content-Type: text/csv`
/// or the XLSX media type). All rows or none; 422 lists every error.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/roster", params(("code" = String, Path)), security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 201, body = ImportOut), (status = 415, body = Problem), (status = 422, body = ImportOut)))]
pub async fn import(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult<impl IntoResponse> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = if ct.starts_with("text/csv") {
        RosterFormat::Csv
    } else if ct.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") {
        RosterFormat::Xlsx
    } else {
        return Err(ApiError::bad_request(
            "content-type",
            "请以 text/csv 或 XLSX 类型上传名册",
            "send the roster as text/csv or XLSX",
        ));
    };
    let report = st
        .app
        .import_roster(&a, &code, format, &bytes, &|_| {})
        .await?;
    let status = if report.errors.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(ImportOut::from(report))))
}

/// Exports a branch roster as `roster.csv` or `roster.xlsx`; masked unless
/// the caller may read sensitive fields.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/roster.{ext}", params(("code" = String, Path), ("ext" = String, Path, description = "csv or xlsx")), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = Problem)))]
pub async fn export(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((code, ext)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let (format, ctype) = match ext.as_str() {
        "csv" => (RosterFormat::Csv, "text/csv; charset=utf-8"),
        "xlsx" => (
            RosterFormat::Xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Err(ApiError(AppError::NotFound("format"))),
    };
    let bytes = st.app.export_roster(&a, &code, format).await?;
    let disp = format!(
        "attachment; filename=\"roster-{}.{ext}\"",
        code.replace('"', "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CONTENT_DISPOSITION, disp),
        ],
        bytes,
    ))
}
