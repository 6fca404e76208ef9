//! Transfer pages (组织关系转接, DOMAIN.md §12): a branch's letters out and
//! in, with the forms to issue a letter, confirm an arrival, cancel or
//! return a letter with a reason, download the signed letter of a transfer
//! to another server, import such a letter (showing the signed receipt to
//! send back) and accept a receipt.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use dangjian_app::AppError;
use dangjian_app::transfers::{IssueInput, LetterView};
use dangjian_domain::transfers::{LetterKind, LetterStatus};

use super::{error_messages, error_page, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{code}/transfers",
            get(letters_page).post(issue_submit),
        )
        .route("/orgs/{code}/transfers/import", post(import_submit))
        .route("/orgs/{code}/transfers/receipt", post(receipt_submit))
        .route("/transfers/{id}/confirm", post(confirm_submit))
        .route("/transfers/{id}/cancel", post(cancel_submit))
        .route("/transfers/{id}/letter.txt", get(letter_download))
}

struct Row {
    id: i64,
    number: String,
    member_id: i64,
    member: String,
    stage: String,
    /// The other side: the receiving branch of a letter sent, the sending
    /// branch of a letter received (with its server when elsewhere).
    other: String,
    issued_on: String,
    valid_until: String,
    status: String,
    expired: bool,
    open: bool,
    arrived_on: String,
    reason: String,
    has_document: bool,
    may_confirm: bool,
    may_cancel: bool,
}

fn row(l: &LetterView, lang: Lang, sent: bool) -> Row {
    let lc = lang.code();
    let other = if sent {
        match &l.to_origin {
            Some(o) => format!("{}（{}，{o}）", l.to_org_name, l.to_org_code),
            None => format!("{}（{}）", l.to_org_name, l.to_org_code),
        }
    } else if l.kind == LetterKind::Incoming {
        format!("{}（{}，{}）", l.from_org_name, l.from_org_code, l.origin)
    } else {
        format!("{}（{}）", l.from_org_name, l.from_org_code)
    };
    Row {
        id: l.id,
        number: l.number.clone(),
        member_id: l.member_id,
        member: l.member_name.clone(),
        stage: l.member_stage.label(lc).into(),
        other,
        issued_on: l.issued_on.to_string(),
        valid_until: l.valid_until.to_string(),
        status: l.status.label(lc).into(),
        expired: l.expired,
        open: l.status == LetterStatus::Issued,
        arrived_on: l.arrived_on.map(|d| d.to_string()).unwrap_or_default(),
        reason: l.cancel_reason.clone().unwrap_or_default(),
        has_document: l.has_document,
        may_confirm: l.may_confirm,
        may_cancel: l.may_cancel,
    }
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct LettersPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    sent: Vec<Row>,
    received: Vec<Row>,
    may_issue: bool,
    /// Members that may be given a letter: (id, name and stage).
    members: Vec<(i64, String)>,
    validity_months: u32,
    today: String,
    errors: Vec<String>,
    /// A receipt to hand back after an import.
    receipt: String,
    notice: String,
}

#[derive(Default)]
struct Extra {
    errors: Vec<String>,
    receipt: String,
    notice: String,
}

async fn letters_view(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    extra: Extra,
) -> Response {
    let b = match st.app.branch_letters(&p.actor, code).await {
        Ok(b) => b,
        Err(e) => return error_page(lang, p, e),
    };
    let mut members = Vec::new();
    if b.may_issue {
        let page = match st.app.list_members(&p.actor, code, None, 500).await {
            Ok(m) => m,
            Err(e) => return error_page(lang, p, e),
        };
        members = page
            .items
            .iter()
            .filter(|m| {
                m.status.as_str() == "active" && matches!(m.stage.as_str(), "probationary" | "full")
            })
            .map(|m| {
                (
                    m.id,
                    format!("{}（{}）", m.name, m.stage.label(lang.code())),
                )
            })
            .collect();
    }
    render(
        if extra.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        LettersPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/transfers"),
            code: b.org.code.clone(),
            name: b.org.name.clone(),
            sent: b.sent.iter().map(|l| row(l, lang, true)).collect(),
            received: b.received.iter().map(|l| row(l, lang, false)).collect(),
            may_issue: b.may_issue,
            members,
            validity_months: b.validity_months,
            today: st.app.today().to_string(),
            errors: extra.errors,
            receipt: extra.receipt,
            notice: extra.notice,
        },
    )
}

async fn letters_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
) -> Response {
    letters_view(&st, lang, &p, &code, Extra::default()).await
}

type Posted = HashMap<String, String>;

fn field(f: &Posted, k: &str) -> String {
    f.get(k).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// A refusal shown on the branch's page when it is about the input, else
/// the error page.
async fn refused(st: &AppState, lang: Lang, p: &PageActor, code: &str, e: AppError) -> Response {
    let page_visible = st
        .app
        .visible_org(&p.actor, code)
        .await
        .is_ok_and(|o| p.actor.can_list_members(&o.path));
    match error_messages(&e, lang) {
        Some(errors) if page_visible => {
            letters_view(
                st,
                lang,
                p,
                code,
                Extra {
                    errors,
                    ..Extra::default()
                },
            )
            .await
        }
        _ => error_page(lang, p, e),
    }
}

/// The branch's forms are for those who manage its members: anyone else is
/// refused before the form is read.
async fn may_manage(st: &AppState, p: &PageActor, code: &str) -> Result<(), AppError> {
    let o = st.app.visible_org(&p.actor, code).await?;
    if p.actor.can_manage_members(&o.path) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn issue_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<Posted>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Err(e) = may_manage(&st, &p, &code).await {
        return error_page(lang, &p, e);
    }
    let bad = |zh: &str, en: &str| vec![lang.t(zh, en).to_string()];
    let Ok(member_id) = field(&f, "member_id").parse::<i64>() else {
        let errors = bad("请选择要转出的党员", "Choose the member to transfer");
        return letters_view(
            &st,
            lang,
            &p,
            &code,
            Extra {
                errors,
                ..Extra::default()
            },
        )
        .await;
    };
    let validity = field(&f, "validity_months");
    let validity_months = if validity.is_empty() {
        None
    } else {
        match validity.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let errors = bad("有效期应为月数", "The validity is a number of months");
                return letters_view(
                    &st,
                    lang,
                    &p,
                    &code,
                    Extra {
                        errors,
                        ..Extra::default()
                    },
                )
                .await;
            }
        }
    };
    let issued = field(&f, "issued_on");
    let issued_on = if issued.is_empty() {
        None
    } else {
        match NaiveDate::parse_from_str(&issued, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                let errors = bad("开具日期应为年-月-日", "The issue date is YYYY-MM-DD");
                return letters_view(
                    &st,
                    lang,
                    &p,
                    &code,
                    Extra {
                        errors,
                        ..Extra::default()
                    },
                )
                .await;
            }
        }
    };
    let opt = |k: &str| Some(field(&f, k)).filter(|s| !s.is_empty());
    let input = IssueInput {
        member_id,
        to_org_code: field(&f, "to_org"),
        to_origin: opt("to_origin"),
        to_org_name: opt("to_org_name"),
        issued_on,
        validity_months,
    };
    match st.app.issue_letter(&p.actor, input).await {
        Ok(_) => Redirect::to(&format!("/orgs/{code}/transfers")).into_response(),
        Err(e) => refused(&st, lang, &p, &code, e).await,
    }
}

/// Where to go back to after acting on a letter: the branch page the form
/// came from, when its code is a plain organization code.
fn back(f: &Posted) -> String {
    let code = field(f, "org");
    if !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        format!("/orgs/{code}/transfers")
    } else {
        "/".into()
    }
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse()
        .map_err(|_| AppError::NotFound("transfer letter"))
}

async fn confirm_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<Posted>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, &p, e),
    };
    let arrived = field(&f, "arrived_on");
    let arrived_on = NaiveDate::parse_from_str(&arrived, "%Y-%m-%d").ok();
    match st.app.confirm_arrival(&p.actor, id, arrived_on).await {
        Ok(_) => Redirect::to(&back(&f)).into_response(),
        Err(e) => refused(&st, lang, &p, &field(&f, "org"), e).await,
    }
}

async fn cancel_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<Posted>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, &p, e),
    };
    match st
        .app
        .cancel_letter(&p.actor, id, &field(&f, "reason"))
        .await
    {
        Ok(_) => Redirect::to(&back(&f)).into_response(),
        Err(e) => refused(&st, lang, &p, &field(&f, "org"), e).await,
    }
}

async fn letter_download(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(lang, &p, e),
    };
    match st.app.export_letter(&p.actor, id).await {
        Ok(text) => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"transfer-letter-{id}.txt\""),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

async fn import_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<Posted>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Err(e) = may_manage(&st, &p, &code).await {
        return error_page(lang, &p, e);
    }
    match st.app.import_letter(&p.actor, &field(&f, "letter")).await {
        Ok(r) => {
            let notice = format!(
                "{} {}（{}）",
                lang.t("已接收转入：", "Received:"),
                r.letter.member_name,
                r.letter.number
            );
            let extra = Extra {
                receipt: r.receipt,
                notice,
                ..Extra::default()
            };
            letters_view(&st, lang, &p, &r.letter.to_org_code, extra).await
        }
        Err(e) => refused(&st, lang, &p, &code, e).await,
    }
}

async fn receipt_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<Posted>,
) -> Response {
    if f.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if let Err(e) = may_manage(&st, &p, &code).await {
        return error_page(lang, &p, e);
    }
    match st.app.accept_receipt(&p.actor, &field(&f, "receipt")).await {
        Ok(_) => Redirect::to(&format!("/orgs/{code}/transfers")).into_response(),
        Err(e) => refused(&st, lang, &p, &code, e).await,
    }
}
