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

/// Address of the caller: the client address [`resolve_client`] found
/// (behind a trusted proxy, from `X-Forwarded-For`), else the connection's
/// peer; `None` when the server runs without connect info.
pub fn remote_addr(parts: &Parts) -> Option<String> {
    client_addr(&parts.extensions).map(|ip| ip.to_string())
}

/// The client address of a request, as [`remote_addr`] reads it.
pub fn client_addr(ext: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    ext.get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}

/// The address of the client behind the connection, set by [`resolve_client`].
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub std::net::IpAddr);

/// Who sent a request that arrived from `peer` with `forwarded_for` (the
/// `X-Forwarded-For` values, in order): the peer itself unless it is a
/// trusted proxy; then, walking the list from the right, the first address
/// that is not a trusted proxy. A client can prepend anything to the
/// header, so only what trusted proxies appended counts; a malformed entry
/// stops the walk at the last trusted hop.
pub fn client_ip(
    peer: std::net::IpAddr,
    forwarded_for: &[&str],
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer;
    if !is_trusted(&peer) {
        return peer;
    }
    for entry in forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .rev()
    {
        match entry.parse::<std::net::IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Middleware (outermost): records the client address of each request for
/// the rate limits, sign-in throttling and the audit log.
pub async fn resolve_client(
    axum::extract::State(st): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = if st.trusted_proxies.is_empty() {
            peer
        } else {
            let values: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            client_ip(peer, &values, &st.trusted_proxies)
        };
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
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

#[cfg(test)]
mod tests {
    use super::client_ip;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_client_behind_trusted_proxies_only() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // Not from a proxy: the header is the client's own claim, ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // One trusted proxy: the address it appended.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // A forged entry on the left does not count.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // Two proxies, two header lines.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["198.51.100.7", "10.1.1.1"], &trusted),
            ip("198.51.100.7")
        );
        // Garbage stops at the last trusted hop.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["nonsense"], &trusted),
            ip("10.0.0.2")
        );
        // No proxies configured: always the peer.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["198.51.100.7"], &[]),
            ip("10.0.0.2")
        );
    }
}
