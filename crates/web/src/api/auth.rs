//! Sign-in and sign-out for API clients and scripts (sets the session cookie).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse};

use crate::AppState;
use crate::api::types::{LoginIn, MeOut};
use crate::auth::{
    ApiActor, RemoteAddr, SESSION_COOKIE, clear_session_cookie, cookie, session_cookie,
};
use crate::error::{ApiError, ApiResult, Problem};

/// Signs in with login and password; sets an HttpOnly session cookie and
/// returns the CSRF token to send on unsafe requests.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginIn,
    responses((status = 200, body = MeOut), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(st): State<AppState>,
    RemoteAddr(addr): RemoteAddr,
    body: Result<Json<LoginIn>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<impl IntoResponse> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "body",
            &format!("请求体不是有效的 JSON：{e}"),
            &format!("body is not valid JSON: {e}"),
        )
    })?;
    let actor = st
        .app
        .authenticate_with_code(&body.login, &body.password, body.totp.as_deref(), addr)
        .await?;
    let (secret, csrf) = st.app.open_session(&actor).await?;
    let cookie = session_cookie(
        &secret,
        st.secure_cookies,
        st.app.config.session_hours * 3600,
    );
    Ok((
        AppendHeaders([(header::SET_COOKIE, cookie)]),
        Json(MeOut::new(&actor, Some(csrf))),
    ))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    _a: ApiActor,
) -> ApiResult<impl IntoResponse> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        st.app.close_session(secret).await?;
    }
    Ok((
        axum::http::StatusCode::NO_CONTENT,
        AppendHeaders([(header::SET_COOKIE, clear_session_cookie())]),
    ))
}

/// The signed-in user and their roles.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeOut), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn me(ApiActor(a): ApiActor) -> Json<MeOut> {
    Json(MeOut::new(&a, None))
}
