//! Certificates of organizational life (issue 6): the calling member's
//! certificates, a certificate's PDF (the member or their organization's
//! staff), revocation by the secretary, and the public verification — no
//! login, rate limited, showing only the verdict and, when valid, the name
//! and the meeting.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use dangjian_app::certificates::{CertificateCheck, CertificateView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::body;
use crate::auth::ApiActor;
use crate::error::{ApiResult, Problem};

/// A certificate as its holder and their organization see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateOut {
    pub number: String,
    pub meeting_id: i64,
    pub member: String,
    pub org: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    /// Meeting date, `YYYY-MM-DD`.
    pub date: String,
    pub issued_at: DateTime<Utc>,
    pub revoked: bool,
    /// Where to download the PDF with the same credentials.
    pub pdf: String,
}

impl From<&CertificateView> for CertificateOut {
    fn from(c: &CertificateView) -> Self {
        Self {
            number: c.number.clone(),
            meeting_id: c.meeting_id,
            member: c.member.clone(),
            org: c.org.clone(),
            kind: c.kind.as_str().into(),
            kind_label: c.kind.label_zh().into(),
            title: c.title.clone(),
            date: c.date.clone(),
            issued_at: c.issued_at,
            revoked: c.revoked,
            pdf: format!("/api/v1/certificates/{}/pdf", c.number),
        }
    }
}

/// The public verdict on a certificate number.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationOut {
    pub number: String,
    /// valid, unknown, bad_signature or revoked
    pub status: String,
    pub valid: bool,
    /// The member's name, when valid.
    pub member: Option<String>,
    pub org: Option<String>,
    pub kind: Option<String>,
    pub title: Option<String>,
    pub date: Option<String>,
    pub issued_at: Option<DateTime<Utc>>,
}

impl From<&CertificateCheck> for VerificationOut {
    fn from(c: &CertificateCheck) -> Self {
        Self {
            number: c.number.clone(),
            status: c.status.as_str().into(),
            valid: c.valid,
            member: c.member.clone(),
            org: c.org.clone(),
            kind: c.kind.map(|k| k.as_str().to_string()),
            title: c.title.clone(),
            date: c.date.clone(),
            issued_at: c.issued_at,
        }
    }
}

/// Why a certificate is revoked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeIn {
    pub reason: String,
}

/// `Content-Disposition: attachment` with an ASCII fallback name and the
/// UTF-8 name (RFC 6266, RFC 8187 `filename*`).
pub fn attachment(utf8_name: &str, ascii_fallback: &str) -> String {
    let mut enc = String::with_capacity(utf8_name.len() * 3);
    for b in utf8_name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let fallback: String = ascii_fallback
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{enc}")
}

/// A PDF response (certificates, admission forms): `application/pdf`,
/// UTF-8 file name, ASCII fallback `certificate-<number>.pdf` style.
pub fn pdf_response(name: &str, ascii_stem: &str, pdf: Vec<u8>) -> impl IntoResponse + use<> {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                attachment(name, &format!("{ascii_stem}.pdf")),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        pdf,
    )
}

/// The calling member's certificates of organizational life, newest first.
#[utoipa::path(get, path = "/api/v1/me/certificates", security(("bearer" = [])),
    responses((status = 200, body = Vec<CertificateOut>), (status = 401, body = Problem)))]
pub async fn mine(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<CertificateOut>>> {
    let v = st.app.my_certificates(&a).await?;
    Ok(Json(v.iter().map(CertificateOut::from).collect()))
}

/// A certificate as a PDF: for the member, and those who may list the
/// members of the meeting's organization (audited).
#[utoipa::path(get, path = "/api/v1/certificates/{number}/pdf", params(("number" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/pdf"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn pdf(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let origin = crate::pages::meetings::origin(&st, &headers);
    let (name, bytes) = st.app.certificate_pdf(&a, &number, &origin).await?;
    Ok(pdf_response(&name, &format!("certificate-{number}"), bytes))
}

/// Revokes a certificate (the secretary found the attendance wrong).
#[utoipa::path(post, path = "/api/v1/certificates/{number}/revoke", params(("number" = String, Path)), request_body = RevokeIn, security(("bearer" = [])),
    responses((status = 200, body = CertificateOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(number): Path<String>,
    b: Result<Json<RevokeIn>, JsonRejection>,
) -> ApiResult<Json<CertificateOut>> {
    let b = body(b)?;
    let v = st.app.revoke_certificate(&a, &number, &b.reason).await?;
    Ok(Json(CertificateOut::from(&v)))
}

/// Public verification of a certificate number (no login): valid, unknown,
/// bad_signature or revoked; the name and meeting only when valid.
#[utoipa::path(get, path = "/api/v1/verify/certificate/{number}", params(("number" = String, Path)),
    responses((status = 200, body = VerificationOut), (status = 429, body = Problem)))]
pub async fn verify(
    State(st): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<VerificationOut>> {
    let c = st.app.verify_certificate(&number).await?;
    Ok(Json(VerificationOut::from(&c)))
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn content_disposition_carries_the_utf8_name() {
        assert_eq!(
            attachment("证明 a.pdf", "c-1.pdf"),
            "attachment; filename=\"c-1.pdf\"; filename*=UTF-8''%E8%AF%81%E6%98%8E%20a.pdf"
        );
    }
}
