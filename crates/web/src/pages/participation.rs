//! Participation pages (the meetings context, DOMAIN.md §5, §6): a branch's
//! table of its members' attendance rate, runs of unexcused absences and
//! evaluation points deducted in a year, with an SVG chart of the rates;
//! the member's own report is on their attendance page (`meetings.rs`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use dangjian_app::meetings::local_month;
use dangjian_app::participation::MemberParticipation;
use serde::Deserialize;

use super::{chart, error_page, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{code}/participation", get(branch_page))
}

/// One line of a participation table.
pub(crate) struct ParticipationRow {
    pub member_id: i64,
    pub name: String,
    pub expected: u32,
    pub present: u32,
    pub excused: u32,
    pub absent: u32,
    pub rate: String,
    pub longest_run: u32,
    pub points: u32,
}

pub(crate) fn row(p: &MemberParticipation) -> ParticipationRow {
    let t = &p.report.total;
    ParticipationRow {
        member_id: p.member_id,
        name: p.name.clone(),
        expected: t.expected,
        present: t.present,
        excused: t.excused,
        absent: t.absent,
        rate: t.percent().map(|v| format!("{v}%")).unwrap_or("—".into()),
        longest_run: p.report.longest_run,
        points: p.report.deduction_points,
    }
}

/// The rate of each meeting type of one member, as chart data and table lines.
pub(crate) fn kinds(p: &MemberParticipation, lang: Lang) -> Vec<(String, i64)> {
    p.report
        .by_kind
        .iter()
        .map(|k| {
            (
                k.kind.label(lang.code()).to_string(),
                i64::from(k.rate.percent().unwrap_or(0)),
            )
        })
        .collect()
}

#[derive(Template)]
#[template(path = "participation.html")]
struct BranchPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    year: i32,
    rule: String,
    rows: Vec<ParticipationRow>,
    chart: String,
}

#[derive(Deserialize)]
struct YearQ {
    year: Option<String>,
}

async fn branch_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Query(q): Query<YearQ>,
) -> Response {
    let year = q
        .year
        .as_deref()
        .and_then(|y| y.trim().parse().ok())
        .unwrap_or_else(|| local_month(st.app.clock.now()).0);
    let b = match st.app.branch_participation(&p.actor, &code, year).await {
        Ok(b) => b,
        Err(e) => return error_page(lang, &p, e),
    };
    let (n, m) = b
        .members
        .first()
        .map(|x| (x.report.threshold_count, x.report.threshold_points))
        .unwrap_or((3, 5));
    let data: Vec<(String, i64)> = b
        .members
        .iter()
        .filter(|x| x.report.total.expected > 0)
        .take(40)
        .map(|x| {
            (
                x.name.clone(),
                i64::from(x.report.total.percent().unwrap_or(0)),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        BranchPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/participation"),
            code: b.org.code.clone(),
            name: b.org.name.clone(),
            year,
            rule: match lang {
                Lang::Zh => format!("连续 {n} 次无故缺席扣减年度评议 {m} 分（请假经批准的不计）"),
                Lang::En => format!(
                    "{n} unexcused absences in a row deduct {m} points from the annual evaluation (approved leave excused)"
                ),
            },
            chart: if data.is_empty() {
                String::new()
            } else {
                chart::percent_bars(&data, lang.t("出勤率", "Attendance rate"))
            },
            rows: b.members.iter().map(row).collect(),
        },
    )
}
