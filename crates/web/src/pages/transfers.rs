//! Transfer pages (组织关系转接, DOMAIN.md §12): a branch's letters out and
//! in, one letter with its timeline (the history of its run of the
//! `transfer` process), with the forms to issue a letter, confirm an arrival, cancel or
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
use dangjian_app::transfers::{IssueInput, LETTER_EXPIRED, LetterView};
use dangjian_domain::transfers::{LetterKind, LetterStatus};
use dangjian_workflow::Override;

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
        .route("/transfers/{id}", get(letter_page))
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

/// One entry of a letter's timeline, for the page.
struct TimelineRow {
    label: String,
    action: String,
    at: String,
    on: String,
    who: String,
    role: String,
    reason: String,
    overrides: Vec<(String, String)>,
}

/// The words for a step role of the transfer process.
fn role_label(role: &str, lang: Lang) -> String {
    let (side_zh, side_en, rest) = match role.split_once(':') {
        Some(("sender", r)) => ("转出方", "Sending side", r),
        Some(("receiver", r)) => ("接收方", "Receiving side", r),
        _ => ("", "", role),
    };
    let (zh, en) = match rest {
        "secretary" => ("支部书记", "branch secretary"),
        "committee_staff" => ("党委工作人员", "committee staff"),
        "admin" => ("管理员", "administrator"),
        "signed_letter" => ("对方系统签名介绍信", "signed letter of the other server"),
        "signed_receipt" => ("对方系统签名回执", "signed receipt of the other server"),
        "migrated" => ("迁移前记录", "recorded before the workflow engine"),
        other => (other, other),
    };
    if side_zh.is_empty() {
        lang.t(zh, en).to_string()
    } else {
        format!("{} · {}", lang.t(side_zh, side_en), lang.t(zh, en))
    }
}

#[derive(Template)]
#[template(path = "transfer_letter.html")]
struct LetterPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    r: Row,
    kind: String,
    from: String,
    to: String,
    /// The branch page to go back to (the side the viewer manages or sees).
    branch: String,
    process: String,
    timeline: Vec<TimelineRow>,
    today: String,
    errors: Vec<String>,
}

async fn letter_view(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    errors: Vec<String>,
) -> Response {
    let l = match st.app.letter_detail(&p.actor, id).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, p, e),
    };
    let lc = lang.code();
    let side = |code: &str, name: &str, origin: Option<&str>| match origin {
        Some(o) if !o.is_empty() => format!("{name}（{code}，{o}）"),
        _ => format!("{name}（{code}）"),
    };
    let from = side(&l.from_org_code, &l.from_org_name, Some(l.origin.as_str()));
    let to = side(&l.to_org_code, &l.to_org_name, l.to_origin.as_deref());
    let branch = if l.kind == LetterKind::Incoming {
        l.to_org_code.clone()
    } else {
        l.from_org_code.clone()
    };
    let timeline = l
        .history
        .iter()
        .map(|e| TimelineRow {
            label: lang.t(&e.label_zh, &e.label_en).to_string(),
            action: e.action.clone(),
            at: dangjian_app::clock::to_local(e.at)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            on: e.on.map(|d| d.to_string()).unwrap_or_default(),
            who: e.who.clone().unwrap_or_default(),
            role: role_label(&e.role, lang),
            reason: e.reason.clone().unwrap_or_default(),
            overrides: e
                .overrides
                .iter()
                .map(|o| (o.code.clone(), o.reason.clone()))
                .collect(),
        })
        .collect();
    render(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        LetterPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/transfers/{id}"),
            kind: l.kind.label(lc).into(),
            from,
            to,
            branch,
            process: format!("{} v{}", l.process, l.process_version),
            timeline,
            today: st.app.today().to_string(),
            errors,
            r: row(&l, lang, true),
        },
    )
}

/// One letter with its timeline (either branch may see it).
async fn letter_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    match parse_id(&id) {
        Ok(id) => letter_view(&st, lang, &p, id, Vec::new()).await,
        Err(e) => error_page(lang, &p, e),
    }
}

/// A refusal of an action taken from the letter's own page: shown there
/// when it is about the input.
async fn refused_on_letter(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    e: AppError,
) -> Response {
    match error_messages(&e, lang) {
        Some(errors) if st.app.letter_detail(&p.actor, id).await.is_ok() => {
            letter_view(st, lang, p, id, errors).await
        }
        _ => error_page(lang, p, e),
    }
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
    // The reason for an arrival after the validity (DOMAIN.md §12).
    let late = field(&f, "late_reason");
    let overrides = if late.is_empty() {
        Vec::new()
    } else {
        vec![Override {
            code: LETTER_EXPIRED.into(),
            reason: late,
        }]
    };
    let from_letter = field(&f, "from") == "letter";
    match st
        .app
        .confirm_arrival(&p.actor, id, arrived_on, overrides)
        .await
    {
        Ok(_) if from_letter => Redirect::to(&format!("/transfers/{id}")).into_response(),
        Ok(_) => Redirect::to(&back(&f)).into_response(),
        Err(e) if from_letter => refused_on_letter(&st, lang, &p, id, e).await,
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
    let from_letter = field(&f, "from") == "letter";
    match st
        .app
        .cancel_letter(&p.actor, id, &field(&f, "reason"))
        .await
    {
        Ok(_) if from_letter => Redirect::to(&format!("/transfers/{id}")).into_response(),
        Ok(_) => Redirect::to(&back(&f)).into_response(),
        Err(e) if from_letter => refused_on_letter(&st, lang, &p, id, e).await,
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
