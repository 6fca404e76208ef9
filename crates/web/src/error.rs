//! Mapping of application errors to HTTP, in one place: RFC 9457 problem
//! details for the API (with `field` and all `errors` for validation), and a
//! plain page for browsers. Internal errors are logged, never shown; a
//! throttled request gets 429 with `Retry-After`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dangjian_app::AppError;
use dangjian_domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// One field error inside a problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message: String,
    pub message_en: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// An error answered by the API.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

fn pf(e: &FieldError) -> ProblemField {
    ProblemField {
        field: e.field.clone(),
        code: e.code.to_string(),
        message: e.message_zh.clone(),
        message_en: e.message_en.clone(),
    }
}

impl ApiError {
    /// A 400 for malformed request syntax (bad query parameter, bad JSON).
    pub fn bad_request(field: &str, zh: &str, en: &str) -> Self {
        ApiError(AppError::field(field, "bad_request", zh, en))
    }

    pub fn status(&self) -> StatusCode {
        match &self.0 {
            AppError::Validation(v) if v.0.iter().any(|e| e.code == "bad_request") => {
                StatusCode::BAD_REQUEST
            }
            AppError::Validation(v) if v.0.iter().any(|e| e.code == "payload_too_large") => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, title, detail, field, errors) = match &self.0 {
            AppError::Validation(v) => (
                "validation",
                "输入有误 (invalid input)",
                v.0.iter()
                    .map(|e| format!("{}: {}", e.field, e.message_zh))
                    .collect::<Vec<_>>()
                    .join("；"),
                v.0.first().map(|e| e.field.clone()),
                v.0.iter().map(pf).collect(),
            ),
            AppError::Unauthorized => (
                "unauthorized",
                "需要登录 (authentication required)",
                "请先登录 / sign in first".to_string(),
                None,
                vec![],
            ),
            AppError::Forbidden => (
                "forbidden",
                "无权访问 (forbidden)",
                "您的角色不覆盖该组织 / your roles do not cover this organization".into(),
                None,
                vec![],
            ),
            AppError::NotFound(what) => (
                "not-found",
                "未找到 (not found)",
                format!("{what} not found"),
                None,
                vec![],
            ),
            AppError::Conflict(e) => (
                "conflict",
                "与已有数据冲突 (conflict)",
                format!("{} / {}", e.message_zh, e.message_en),
                Some(e.field.clone()),
                vec![pf(e)],
            ),
            AppError::Throttled(secs) => (
                "too-many-requests",
                "尝试次数过多 (too many requests)",
                format!("请 {secs} 秒后再试 / try again in {secs} s"),
                None,
                vec![],
            ),
            AppError::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                (
                    "internal",
                    "服务器内部错误 (internal error)",
                    "请稍后再试 / please try again later".into(),
                    None,
                    vec![],
                )
            }
        };
        Problem {
            kind: format!("https://dangjian.invalid/problems/{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            field,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (status, Json(self.problem())).into_response();
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        if let AppError::Throttled(secs) = self.0 {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        res
    }
}

/// Result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Turns the plain-text rejections of axum's extractors (a path segment
/// that is not a number, a body over the limit, a wrong media type) into
/// problem details on API routes, so every API error has one shape
/// whichever extractor refused the request.
pub async fn plain_rejections_as_problems(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !api || !plain || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).into_owned();
    let reason = status.canonical_reason().unwrap_or("error");
    let problem = Problem {
        kind: format!(
            "https://dangjian.invalid/problems/{}",
            reason.to_ascii_lowercase().replace(' ', "-")
        ),
        title: reason.to_string(),
        status: status.as_u16(),
        detail,
        field: None,
        errors: Vec::new(),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        axum::Json(problem),
    )
        .into_response()
}
