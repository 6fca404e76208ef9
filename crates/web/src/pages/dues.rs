//! Dues pages (DOMAIN.md §7): a member's own account ("what I owe and
//! paid"), an organization's dues page — collection chart over the last
//! twelve months, the month's sheet with quick entry from a paper list (one
//! form, one row per member), the subtree's collection by organization and
//! the remittance to the higher level (with the form to record one) — and
//! the reversing correction of a payment from the member's page.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use dangjian_app::AppError;
use dangjian_app::dues::{BaseInput, MemberDues, PaymentInput};
use dangjian_app::dues_remit::RemittanceInput;
use dangjian_domain::ValidationErrors;
use dangjian_domain::dues::format_fen;
use dangjian_domain::dues_ledger::{
    PaymentKind, PaymentMethod, format_month, month_of, next_month,
};
use serde::Deserialize;

use super::{chart, error_page, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dues", get(my_dues))
        .route("/members/{id}/dues", get(member_dues_page))
        .route("/orgs/{code}/dues", get(org_dues_page))
        .route("/orgs/{code}/dues/generate", post(generate_submit))
        .route("/orgs/{code}/dues/entry", post(entry_submit))
        .route("/orgs/{code}/dues/remit", post(remit_submit))
        .route("/dues/payments/{id}/reverse", post(reverse_submit))
        .route("/members/{id}/dues/base", post(base_submit))
}

struct PaymentRow {
    id: i64,
    can_reverse: bool,
    paid_on: String,
    kind: String,
    method: String,
    reference: String,
    amount: String,
    note: String,
}

#[derive(Template)]
#[template(path = "dues_member.html")]
struct MemberPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    member_id: i64,
    can_declare: bool,
    year: i32,
    name: String,
    org_code: String,
    org_name: String,
    due: String,
    paid: String,
    balance: String,
    arrears: u32,
    oldest: String,
    voluntary: String,
    charges: Vec<(String, String)>,
    payments: Vec<PaymentRow>,
    bases: Vec<(i32, String, String, String)>,
}

struct SheetLine {
    member_id: i64,
    name: String,
    fee: String,
    balance: String,
    arrears: u32,
    suggested: String,
}

struct OrgLine {
    code: String,
    name: String,
    due: String,
    paid: String,
    rate: String,
}

/// One organization's remittance upward for the shown month.
struct RemitLine {
    code: String,
    name: String,
    to: String,
    collected: String,
    received: String,
    to_remit: String,
    remitted: String,
    outstanding: String,
    refs: String,
}

#[derive(Template)]
#[template(path = "dues_org.html")]
struct OrgPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    month: String,
    prev: String,
    next: String,
    chart: String,
    generated: bool,
    due: String,
    paid: String,
    lines: Vec<SheetLine>,
    orgs: Vec<OrgLine>,
    remits: Vec<RemitLine>,
    can_remit: bool,
    remit_to: String,
    can_record: bool,
    today: String,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct MonthQuery {
    month: Option<String>,
    done: Option<String>,
}

fn yuan(fen: i64) -> String {
    format_fen(fen)
}

fn rate(bp: Option<u32>) -> String {
    bp.map(dangjian_domain::dues::format_rate_bp)
        .unwrap_or_else(|| "—".into())
}

fn member_page(lang: Lang, p: &PageActor, d: &MemberDues, here: String, year: i32) -> Response {
    let l = lang.code();
    let page = MemberPage {
        lang,
        user: Some(p.actor.display_name.clone()),
        csrf: p.csrf.clone(),
        here,
        member_id: d.member_id,
        can_declare: d.can_record || p.actor.member_id == Some(d.member_id),
        year,
        name: d.name.clone(),
        org_code: d.org.code.clone(),
        org_name: d.org.name.clone(),
        due: yuan(d.status.due_fen),
        paid: yuan(d.status.paid_fen),
        balance: yuan(d.status.balance_fen),
        arrears: d.status.months_in_arrears,
        oldest: d.status.oldest_unpaid.map(format_month).unwrap_or_default(),
        voluntary: yuan(d.status.voluntary_fen),
        charges: d
            .charges
            .iter()
            .rev()
            .map(|c| (format_month(c.month), yuan(c.fee_fen)))
            .collect(),
        payments: d
            .payments
            .iter()
            .rev()
            .map(|x| PaymentRow {
                id: x.id,
                can_reverse: d.can_record && !x.reversed && x.kind != PaymentKind::Correction,
                paid_on: x.paid_on.to_string(),
                kind: kind_label(x.kind, lang).into(),
                method: PaymentMethod::parse(&x.method)
                    .map(|m| m.label(l).to_string())
                    .unwrap_or_else(|| x.method.clone()),
                reference: x.reference.clone(),
                amount: yuan(x.amount_fen),
                note: [
                    x.special.then(|| {
                        lang.t("特殊党费，已向上级报告", "special payment, reported upward")
                    }),
                    x.reversed.then(|| lang.t("已冲销", "reversed")),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("；"),
            })
            .collect(),
        bases: d
            .bases
            .iter()
            .map(|b| {
                (
                    b.year,
                    b.effective_from.to_string(),
                    b.income_fen.map(yuan).unwrap_or_else(|| "—".into()),
                    yuan(b.fee_fen),
                )
            })
            .collect(),
    };
    render(StatusCode::OK, page)
}

fn kind_label(k: PaymentKind, lang: Lang) -> &'static str {
    match k {
        PaymentKind::Regular => lang.t("按月交纳", "Monthly dues"),
        PaymentKind::Advance => lang.t("预交", "Advance"),
        PaymentKind::Voluntary => lang.t("自愿多交", "Voluntary"),
        PaymentKind::Correction => lang.t("冲销更正", "Correction"),
    }
}

/// The signed-in member's own dues; staff without a member record go to
/// the dues page of their first organization.
async fn my_dues(State(st): State<AppState>, lang: Lang, p: PageActor) -> Response {
    match p.actor.member_id {
        Some(id) => match st.app.member_dues(&p.actor, id).await {
            Ok(d) => member_page(lang, &p, &d, "/dues".into(), st.app.today().year()),
            Err(e) => error_page(lang, &p, e),
        },
        None => match p.actor.grants.first() {
            Some(g) => Redirect::to(&format!("/orgs/{}/dues", g.org_code)).into_response(),
            None => error_page(lang, &p, AppError::NotFound("member")),
        },
    }
}

async fn member_dues_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("member"));
    };
    match st.app.member_dues(&p.actor, id).await {
        Ok(d) => member_page(
            lang,
            &p,
            &d,
            format!("/members/{id}/dues"),
            st.app.today().year(),
        ),
        Err(e) => error_page(lang, &p, e),
    }
}

async fn org_page(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    month: NaiveDate,
    notice: Option<String>,
) -> Response {
    let a = &p.actor;
    let m = format_month(month);
    let sheet = match st.app.dues_sheet(a, code, &m).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, p, e),
    };
    // Twelve months up to the shown one.
    let mut from = month;
    for _ in 0..11 {
        from = from.pred_opt().map(month_of).unwrap_or(from);
    }
    let report = match st.app.dues_report(a, code, &format_month(from), &m).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, p, e),
    };
    let data: Vec<(String, i64)> = report
        .months
        .iter()
        .map(|r| (r.month.clone(), i64::from(r.rate_bp.unwrap_or(0)) / 100))
        .collect();
    let chart = chart::bars(&data, lang.t("收缴率（%）", "Collection rate (%)"));
    let orgs = report
        .rows
        .iter()
        .filter(|r| r.month == m)
        .map(|r| OrgLine {
            code: r.org_code.clone(),
            name: r.org_name.clone(),
            due: yuan(r.due_fen),
            paid: yuan(r.paid_fen),
            rate: rate(r.rate_bp),
        })
        .collect();
    let lines = sheet
        .rows
        .iter()
        .map(|r| SheetLine {
            member_id: r.member_id,
            name: r.name.clone(),
            fee: r.fee_fen.map(yuan).unwrap_or_else(|| "—".into()),
            balance: yuan(r.status.balance_fen),
            arrears: r.status.months_in_arrears,
            suggested: if r.status.balance_fen > 0 {
                yuan(r.status.balance_fen)
            } else {
                String::new()
            },
        })
        .collect();
    // Remittance to the higher level (DOMAIN.md §7) for the shown month.
    let remit = st.app.dues_remittances(a, code, &m, &m).await.ok();
    let remits = remit
        .iter()
        .flat_map(|r| r.rows.iter())
        .map(|r| RemitLine {
            code: r.org_code.clone(),
            name: r.org_name.clone(),
            to: r.to_org_name.clone().unwrap_or_else(|| "—".into()),
            collected: yuan(r.balance.collected_fen),
            received: yuan(r.balance.received_fen),
            to_remit: yuan(r.balance.to_remit_fen),
            remitted: yuan(r.balance.remitted_fen),
            outstanding: yuan(r.balance.outstanding_fen),
            refs: r
                .remittances
                .iter()
                .map(|x| format!("{} {} {}", x.remitted_on, x.reference, yuan(x.amount_fen)))
                .collect::<Vec<_>>()
                .join("；"),
        })
        .collect();
    let can_remit = remit.as_ref().is_some_and(|r| r.can_record);
    let remit_to = remit
        .as_ref()
        .and_then(|r| r.to_org_name.clone())
        .unwrap_or_default();
    let prev = month.pred_opt().map(month_of).unwrap_or(month);
    render(
        StatusCode::OK,
        OrgPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/dues?month={m}"),
            code: sheet.org.code.clone(),
            name: sheet.org.name.clone(),
            month: m,
            prev: format_month(prev),
            next: format_month(next_month(month)),
            chart,
            generated: sheet.generated,
            due: yuan(sheet.due_fen),
            paid: yuan(sheet.paid_fen),
            lines,
            orgs,
            remits,
            can_remit,
            remit_to,
            can_record: sheet.can_record,
            today: st.app.today().to_string(),
            notice,
        },
    )
}

fn month_or_today(st: &AppState, q: Option<&str>) -> Result<NaiveDate, AppError> {
    match q.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(month_of(st.app.today())),
        Some(s) => dangjian_domain::dues_ledger::parse_month("month", s)
            .map_err(|e| AppError::Validation(ValidationErrors(vec![e]))),
    }
}

async fn org_dues_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let month = match month_or_today(&st, q.month.as_deref()) {
        Ok(m) => m,
        Err(e) => return error_page(lang, &p, e),
    };
    let notice = q
        .done
        .map(|n| format!("{}{n}", lang.t("已完成：", "Done: ")));
    org_page(&st, lang, &p, &code, month, notice).await
}

#[derive(Debug, Deserialize)]
struct GenerateForm {
    csrf: String,
    month: String,
}

async fn generate_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<GenerateForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    match st
        .app
        .generate_dues(&p.actor, &code, &f.month, &|_, _| {})
        .await
    {
        Ok(r) => Redirect::to(&format!(
            "/orgs/{code}/dues?month={}&done={}",
            r.month, r.charges_created
        ))
        .into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

/// Quick entry from a paper list: fields `amount_<member id>` and
/// `ref_<member id>` for each row, one method and date for the list. Rows
/// with an empty amount are skipped; the first invalid row stops the entry
/// (rows before it are recorded) and is named in the error.
async fn entry_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    if get("csrf") != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    // Only who keeps this organization's dues may enter its paper list, even
    // an empty one.
    match st.app.visible_org(&p.actor, &code).await {
        Ok(o) if p.actor.can_manage_members(&o.path) => {}
        Ok(_) => return error_page(lang, &p, AppError::Forbidden),
        Err(e) => return error_page(lang, &p, e),
    }
    let month = get("month");
    let method = PaymentMethod::parse(&get("method")).unwrap_or(PaymentMethod::Cash);
    let paid_on = NaiveDate::parse_from_str(&get("paid_on"), "%Y-%m-%d").ok();
    let mut n = 0;
    for (k, amount) in &f {
        let Some(id) = k
            .strip_prefix("amount_")
            .and_then(|i| i.parse::<i64>().ok())
        else {
            continue;
        };
        if amount.trim().is_empty() {
            continue;
        }
        let input = PaymentInput {
            kind: PaymentKind::Regular,
            method,
            amount: amount.clone(),
            reference: get(&format!("ref_{id}")),
            paid_on,
            approval_ref: None,
        };
        if let Err(e) = st.app.record_dues_payment(&p.actor, id, input).await {
            let e = match e {
                AppError::Validation(mut v) => {
                    for x in &mut v.0 {
                        x.message_zh = format!("第{id}号党员（已登记{n}笔）：{}", x.message_zh);
                        x.message_en =
                            format!("member {id} ({n} recorded before): {}", x.message_en);
                    }
                    AppError::Validation(v)
                }
                e => e,
            };
            return error_page(lang, &p, e);
        }
        n += 1;
    }
    Redirect::to(&format!("/orgs/{code}/dues?month={month}&done={n}")).into_response()
}

#[derive(Debug, Deserialize)]
struct RemitForm {
    csrf: String,
    month: String,
    amount: String,
    reference: String,
    remitted_on: Option<String>,
}

/// Records the organization's remittance to its parent for the month.
async fn remit_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<RemitForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let remitted_on = match f.remitted_on.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                return error_page(
                    lang,
                    &p,
                    AppError::field(
                        "remitted_on",
                        "invalid_date",
                        "上缴日期格式应为 YYYY-MM-DD",
                        "The remittance date is YYYY-MM-DD",
                    ),
                );
            }
        },
    };
    let input = RemittanceInput {
        month: f.month.clone(),
        amount: f.amount,
        reference: f.reference,
        remitted_on,
    };
    match st.app.record_dues_remittance(&p.actor, &code, input).await {
        Ok(r) => Redirect::to(&format!(
            "/orgs/{code}/dues?month={}&done={}",
            r.month,
            lang.t("上缴已登记", "remittance recorded")
        ))
        .into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

#[derive(Debug, Deserialize)]
struct ReverseForm {
    csrf: String,
    reason: String,
}

/// Reverses a payment (a correction entry, never an edit) and returns to
/// the member's dues page.
async fn reverse_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<ReverseForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("payment"));
    };
    let member = match st.app.dues_payment_member(&p.actor, id).await {
        Ok(m) => m,
        Err(e) => return error_page(lang, &p, e),
    };
    match st.app.reverse_dues_payment(&p.actor, id, &f.reason).await {
        Ok(_) => Redirect::to(&format!("/members/{member}/dues")).into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

#[derive(Debug, Deserialize)]
struct BaseForm {
    csrf: String,
    year: String,
    income: String,
    approval_ref: Option<String>,
}

/// Declares a member's annual base (by the member or the secretary) and
/// returns to the member's dues page.
async fn base_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<BaseForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("member"));
    };
    let Ok(year) = f.year.trim().parse::<i32>() else {
        return error_page(
            lang,
            &p,
            AppError::field(
                "year",
                "invalid_value",
                "年度应为四位数字",
                "The year is four digits",
            ),
        );
    };
    let input = BaseInput {
        year,
        income: Some(f.income),
        approval_ref: f.approval_ref,
        ..Default::default()
    };
    match st.app.set_dues_base(&p.actor, id, input).await {
        Ok(_) => Redirect::to(&format!("/members/{id}/dues")).into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}
