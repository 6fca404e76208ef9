//! Who is calling: bearer tokens and session cookies turned into an
//! [`Actor`], CSRF checks, and the cookies we set. An invalid credential is
//! an error, never silently "anonymous" (STYLE.md idea 4).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use dangjian_app::{Actor, AppError};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "dj_session";
pub const LANG_COOKIE: &str = "dj_lang";

/// The value of cookie `name`, if present.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` value of a session cookie (HttpOnly, SameSite=Lax).
pub fn session_cookie(secret: &str, secure: bool, max_age_secs: i64) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Address of the caller, when the server runs with connect info.
pub fn remote_addr(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// The caller's address (from the connection), for sign-in throttling and
/// the audit log; `None` when the server runs without connect info.
pub struct RemoteAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RemoteAddr(remote_addr(parts)))
    }
}

/// The caller of an API route: a bearer token, or a session cookie (then
/// unsafe methods must carry the session's `X-CSRF-Token`).
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let addr = remote_addr(parts);
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|s| s.strip_prefix("Bearer "))
                .ok_or(ApiError(AppError::Unauthorized))?;
            return Ok(ApiActor(st.app.token_actor(token.trim(), addr).await?));
        }
        let secret =
            cookie(&parts.headers, SESSION_COOKIE).ok_or(ApiError(AppError::Unauthorized))?;
        let (actor, csrf) = st.app.session_actor(secret, addr).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(csrf.as_str()) {
                return Err(ApiError(AppError::field(
                    "x-csrf-token",
                    "csrf",
                    "缺少或错误的 CSRF 令牌",
                    "missing or wrong CSRF token",
                )));
            }
        }
        Ok(ApiActor(actor))
    }
}

/// The signed-in user of a page, with the session's CSRF token for forms.
pub struct PageActor {
    pub actor: Actor,
    pub csrf: String,
}

/// Sends a browser without a session to the login page.
pub struct ToLogin(String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", urlencode(&self.0))).into_response()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl FromRequestParts<AppState> for PageActor {
    type Rejection = ToLogin;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ToLogin> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let addr = remote_addr(parts);
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ToLogin(next));
        };
        match st.app.session_actor(secret, addr).await {
            Ok((actor, csrf)) => Ok(PageActor { actor, csrf }),
            Err(_) => Err(ToLogin(next)),
        }
    }
}

/// Only local paths may be a redirect target after login.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}
