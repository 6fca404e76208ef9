//! Certificate pages (issue 6): the download of a certificate PDF with the
//! session (the member, or their organization's staff) and the public
//! verification page a certificate's QR code opens — no login, rate
//! limited, showing the verdict and, only when valid, the member's name and
//! the meeting.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dangjian_app::certificates::CertificateStatus;

use super::{error_page, render};
use crate::AppState;
use crate::api::certificates::pdf_response;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/certificates/{number}/pdf", get(download))
        .route("/verify/certificate/{number}", get(verify_page))
}

async fn download(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Response {
    let origin = super::meetings::origin(&st, &headers);
    match st.app.certificate_pdf(&p.actor, &number, &origin).await {
        Ok((name, pdf)) => {
            pdf_response(&name, &format!("certificate-{number}"), pdf).into_response()
        }
        Err(e) => error_page(lang, &p, e),
    }
}

#[derive(Template)]
#[template(path = "verify_certificate.html")]
struct VerifyPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    number: String,
    valid: bool,
    verdict: &'static str,
    member: String,
    org: String,
    kind: String,
    title: String,
    date: String,
}

async fn verify_page(
    State(st): State<AppState>,
    lang: Lang,
    Path(number): Path<String>,
) -> Response {
    let c = match st.app.verify_certificate(&number).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "certificate verification");
            return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
        }
    };
    let verdict = match c.status {
        CertificateStatus::Valid => lang.t("证明有效", "Valid certificate"),
        CertificateStatus::Unknown => lang.t(
            "无效：没有这个编号的证明",
            "Not valid: no certificate has this number",
        ),
        CertificateStatus::BadSignature => lang.t(
            "无效：证明内容与签名不符",
            "Not valid: the certificate does not match its signature",
        ),
        CertificateStatus::Revoked => lang.t("无效：证明已被撤销", "Not valid: revoked"),
    };
    let l = lang.code();
    render(
        StatusCode::OK,
        VerifyPage {
            lang,
            user: None,
            csrf: String::new(),
            here: format!("/verify/certificate/{}", c.number),
            valid: c.valid,
            verdict,
            member: c.member.clone().unwrap_or_default(),
            org: c.org.clone().unwrap_or_default(),
            kind: c.kind.map(|k| k.label(l).to_string()).unwrap_or_default(),
            title: c.title.clone().unwrap_or_default(),
            date: c.date.clone().unwrap_or_default(),
            number: c.number,
        },
    )
}
