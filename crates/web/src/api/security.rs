//! Security routes (issue 5): the audit log of a subtree for its auditors
//! (JSON pages and a CSV export), changing one's password, and ending
//! another user's sessions.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::auth::{ApiActor, SESSION_COOKIE, cookie};
use crate::error::{ApiResult, Problem};

/// One audit entry: who did or read what, when, from where.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    /// Position in the hash chain.
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub login: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub org_id: Option<i64>,
    pub remote_addr: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// SHA-256 over the entry and the previous entry's hash.
    pub hash: Option<String>,
}

/// A page of audit entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditListOut {
    pub items: Vec<AuditOut>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only entries with a smaller id (from `next_before`).
    pub before: Option<i64>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<u64>,
}

/// The audit log of the organization's subtree, newest first; for auditors
/// and administrators covering it.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/audit", params(("code" = String, Path), AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditListOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn audit_list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<AuditListOut>> {
    let q = query(q)?;
    let page = st
        .app
        .audit_entries(&a, &code, q.before, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(AuditListOut {
        items: page
            .items
            .into_iter()
            .map(|v| AuditOut {
                id: v.id,
                seq: v.seq,
                at: v.at,
                user_id: v.user_id,
                login: v.login,
                action: v.action,
                target_kind: v.target_kind,
                target_id: v.target_id,
                org_id: v.org_id,
                remote_addr: v.remote_addr,
                detail: v.detail,
                hash: v.hash,
            })
            .collect(),
        next_before: page.next_before,
    }))
}

/// The whole audit log of the organization's subtree as CSV (audited).
#[utoipa::path(get, path = "/api/v1/orgs/{code}/audit.csv", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn audit_csv(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let csv = st.app.audit_export(&a, &code).await?;
    let disp = format!(
        "attachment; filename=\"audit-{}.csv\"",
        code.replace(['"', '\\'], "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disp),
        ],
        csv,
    ))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordIn {
    pub current_password: String,
    /// At least 10 characters of two kinds or more, not containing the login.
    pub new_password: String,
}

/// Changes the caller's password; every other session of theirs ends.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordIn, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    headers: HeaderMap,
    b: Result<Json<PasswordIn>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let b = body(b)?;
    st.app
        .change_password(
            &a,
            &b.current_password,
            &b.new_password,
            cookie(&headers, SESSION_COOKIE),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an authenticator app needs to enroll.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpOut {
    /// Base32 secret.
    pub secret: String,
    /// `otpauth://` URI (for a QR code).
    pub uri: String,
}

/// Starts enrolling a second factor (TOTP) for the caller; required at
/// sign-in once confirmed.
#[utoipa::path(post, path = "/api/v1/me/totp", security(("bearer" = [])),
    responses((status = 200, body = TotpOut), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn totp_enroll(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<TotpOut>> {
    let e = st.app.totp_enroll(&a).await?;
    Ok(Json(TotpOut {
        secret: e.secret,
        uri: e.uri,
    }))
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpCodeIn {
    pub code: String,
}

/// Confirms the enrollment with a first code.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", request_body = TotpCodeIn, security(("bearer" = [])),
    responses((status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn totp_confirm(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    b: Result<Json<TotpCodeIn>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let b = body(b)?;
    st.app.totp_confirm(&a, &b.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedOut {
    pub revoked: u64,
}

/// Ends every session of a user; for administrators over every
/// organization where the user holds a role.
#[utoipa::path(post, path = "/api/v1/users/{login}/sessions/revoke", params(("login" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RevokedOut), (status = 404, body = Problem)))]
pub async fn revoke_sessions(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(login): Path<String>,
) -> ApiResult<Json<RevokedOut>> {
    Ok(Json(RevokedOut {
        revoked: st.app.revoke_user_sessions(&a, &login).await?,
    }))
}
