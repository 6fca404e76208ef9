//! Supervision pages (DOMAIN.md §8, §9): a committee's dashboard of live
//! warnings across its subtree (by colour, by rule, child organizations
//! coloured by their worst warning, open warnings per week) — the same URL
//! gives a branch its own list — one warning with what to do next, its
//! history and action forms; the 三重一大 register with its verdicts, a form
//! to record a decision, and one decision. Charts are server-rendered SVG;
//! colour is never the only signal (each carries a text label).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use dangjian_app::AppError;
use dangjian_app::clock::to_local;
use dangjian_app::decisions::{DecisionInput, DecisionView};
use dangjian_app::warnings::{WarningQuery, WarningView};
use dangjian_domain::decisions::{DecisionKind, DecisionMethod, Position, Statement};
use dangjian_domain::warnings::{Action, Level, RuleId, SubjectKind, WarningState};
use dangjian_domain::{FieldError, ValidationErrors};
use serde::Deserialize;

use super::{chart, error_page, form_errors, render};
use crate::AppState;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/warnings", get(my_warnings))
        .route("/supervision/{code}", get(dashboard))
        .route("/supervision/{code}/thresholds", post(thresholds_submit))
        .route("/warnings/{id}", get(warning_page))
        .route("/warnings/{id}/act", post(warning_act))
        .route(
            "/orgs/{code}/decisions",
            get(decisions_page).post(decision_submit),
        )
        .route("/decisions/{id}", get(decision_page))
        .route("/decisions/{id}/report", post(decision_report))
}

// ---------------------------------------------------------------------------
// Colours and charts
// ---------------------------------------------------------------------------

/// Fill colour of a level (none: grey). Text labels always go with it.
fn colour(l: Option<Level>) -> &'static str {
    match l {
        Some(Level::Red) => "#c8102e",
        Some(Level::Yellow) => "#b58100",
        Some(Level::Blue) => "#1f5fbf",
        None => "#8c959f",
    }
}

fn level_label(l: Option<Level>, lang: Lang) -> String {
    match l {
        Some(Level::Red) => lang.t("红色·违规", "Red · violation").into(),
        Some(Level::Yellow) => lang.t("黄色·纠偏", "Yellow · deviation").into(),
        Some(Level::Blue) => lang.t("蓝色·提醒", "Blue · reminder").into(),
        None => lang.t("无预警", "No warning").into(),
    }
}

/// A small coloured dot (decorative: the label next to it says the level).
fn swatch(l: Option<Level>) -> String {
    format!(
        "<svg class=\"swatch\" width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"{}\"></circle></svg>",
        colour(l)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars of live warnings per level, each in its colour with its
/// label and count written out.
fn level_bars(data: &[(Level, u64)], lang: Lang) -> String {
    let max = data.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let (row, label_w, bar_w) = (30u64, 130u64, 200u64);
    let h = row * data.len() as u64 + 10;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {h}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">",
        esc(lang.t("按颜色统计的待处理预警", "Live warnings by colour")),
        label_w + bar_w + 60
    );
    for (i, (level, n)) in data.iter().enumerate() {
        let y = i as u64 * row + 5;
        let w = (n * bar_w / max).max(if *n > 0 { 2 } else { 0 });
        s.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"3\" fill=\"{}\"></rect><text x=\"{}\" y=\"{}\">{n}</text>",
            y + 15,
            esc(&level_label(Some(*level), lang)),
            y + 2,
            colour(Some(*level)),
            label_w + w + 6,
            y + 15
        ));
    }
    s.push_str("</svg>");
    s
}

/// A line of weekly counts with each value written above its point and the
/// dates along the bottom.
fn trend_line(points: &[(NaiveDate, u64)], title: &str) -> String {
    let (w, h, left, bottom, top) = (360i64, 170i64, 10i64, 30i64, 20i64);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as i64;
    let n = points.len().max(2) as i64;
    let step = (w - 2 * left) / (n - 1);
    let xy = |i: usize, v: u64| {
        let x = left + i as i64 * step;
        let y = h - bottom - (v as i64) * (h - bottom - top) / max;
        (x, y)
    };
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">",
        esc(title)
    );
    s.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#d9dde1\"></line>",
        h - bottom,
        w - left
    ));
    let pts: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = xy(i, p.1);
            format!("{x},{y}")
        })
        .collect();
    s.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#c8102e\" stroke-width=\"2\"></polyline>",
        pts.join(" ")
    ));
    for (i, (day, v)) in points.iter().enumerate() {
        let (x, y) = xy(i, *v);
        s.push_str(&format!(
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"#c8102e\"></circle><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{v}</text>",
            y - 6
        ));
        if i % 2 == (points.len() + 1) % 2 {
            s.push_str(&format!(
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                h - 10,
                day.format("%m-%d")
            ));
        }
    }
    s.push_str("</svg>");
    s
}

// ---------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------

/// A warning in a list.
struct WarningRow {
    id: i64,
    swatch: String,
    level: String,
    rule: &'static str,
    state: &'static str,
    org_name: String,
    detail: String,
    due: String,
}

fn warning_row(w: &WarningView, lang: Lang) -> WarningRow {
    WarningRow {
        id: w.id,
        swatch: swatch(Some(w.level)),
        level: level_label(Some(w.level), lang),
        rule: w.rule.label(lang.code()),
        state: w.state.label(lang.code()),
        org_name: w.org_name.clone(),
        detail: if lang.is_en() {
            w.detail_en.clone()
        } else {
            w.detail_zh.clone()
        },
        due: w.due_on.map(|d| d.to_string()).unwrap_or_default(),
    }
}

struct ChildRow {
    code: String,
    name: String,
    kind: &'static str,
    swatch: String,
    worst: String,
    live: u64,
}

struct RuleLink {
    code: &'static str,
    title: &'static str,
    count: u64,
}

#[derive(Template)]
#[template(path = "supervision.html")]
struct DashboardPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    kind: &'static str,
    total: u64,
    levels: Vec<(String, String, u64, &'static str)>,
    level_chart: String,
    rule_chart: String,
    rules: Vec<RuleLink>,
    own: String,
    own_swatch: String,
    own_live: u64,
    children: Vec<ChildRow>,
    trend_chart: String,
    warnings: Vec<WarningRow>,
    more: bool,
    filter: String,
    can_set_thresholds: bool,
    thresholds_json: String,
    effective_json: String,
}

#[derive(Deserialize, Default)]
struct DashboardQuery {
    level: Option<String>,
    rule: Option<String>,
}

async fn dashboard(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<DashboardQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let a = &p.actor;
    let s = match st.app.warning_summary(a, &code).await {
        Ok(s) => s,
        Err(e) => return error_page(lang, &p, e),
    };
    let level = q.level.as_deref().and_then(Level::parse);
    let rule = q.rule.as_deref().and_then(RuleId::parse);
    let list = st
        .app
        .list_warnings(
            a,
            &WarningQuery {
                org: Some(code.clone()),
                level,
                rule,
                states: Some(vec![WarningState::Open, WarningState::Acknowledged]),
                cursor: None,
                limit: 100,
            },
        )
        .await;
    let trend = st.app.warning_trend(a, &code, 12).await;
    let th = st.app.org_thresholds(a, &code).await;
    let (list, trend, th) = match (list, trend, th) {
        (Ok(l), Ok(t), Ok(th)) => (l, t, th),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return error_page(lang, &p, e),
    };
    // Worst first, newest first within a colour.
    let mut items = list.items.clone();
    items.sort_by(|x, y| y.level.cmp(&x.level).then(y.id.cmp(&x.id)));
    let warnings: Vec<WarningRow> = items.iter().map(|w| warning_row(w, lang)).collect();
    let rule_bars: Vec<(String, i64)> = s
        .by_rule
        .iter()
        .map(|(r, n)| (r.label(lang.code()).to_string(), *n as i64))
        .collect();
    let filter = match (level, rule) {
        (None, None) => String::new(),
        (l, r) => [
            l.map(|l| level_label(Some(l), lang)),
            r.map(|r| r.label(lang.code()).to_string()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    };
    render(
        StatusCode::OK,
        DashboardPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/supervision/{code}"),
            name: s.org.name.clone(),
            kind: s.org.kind.label(lang.code()),
            total: s.total,
            levels: s
                .by_level
                .iter()
                .map(|(l, n)| {
                    (
                        swatch(Some(*l)),
                        level_label(Some(*l), lang),
                        *n,
                        l.as_str(),
                    )
                })
                .collect(),
            level_chart: level_bars(&s.by_level, lang),
            rule_chart: if rule_bars.is_empty() {
                String::new()
            } else {
                chart::bars(&rule_bars, lang.t("按规则统计", "By rule"))
            },
            rules: s
                .by_rule
                .iter()
                .map(|(r, n)| RuleLink {
                    code: r.as_str(),
                    title: r.label(lang.code()),
                    count: *n,
                })
                .collect(),
            own: level_label(s.own, lang),
            own_swatch: swatch(s.own),
            own_live: s.own_live,
            children: s
                .children
                .iter()
                .map(|c| ChildRow {
                    code: c.org.code.clone(),
                    name: c.org.name.clone(),
                    kind: c.org.kind.label(lang.code()),
                    swatch: swatch(c.worst),
                    worst: level_label(c.worst, lang),
                    live: c.live,
                })
                .collect(),
            trend_chart: trend_line(
                &trend.iter().map(|t| (t.on, t.open)).collect::<Vec<_>>(),
                lang.t(
                    "近12周每周待处理预警数",
                    "Live warnings at the end of each of the last 12 weeks",
                ),
            ),
            more: list.next_cursor.is_some(),
            warnings,
            filter,
            can_set_thresholds: a.can_set_thresholds(&s.org.path),
            thresholds_json: serde_json::to_string_pretty(&th.own).unwrap_or_default(),
            effective_json: serde_json::to_string_pretty(&th.effective).unwrap_or_default(),
            code,
        },
    )
}

#[derive(Deserialize)]
struct ThresholdsForm {
    csrf: String,
    overrides: String,
}

async fn thresholds_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<ThresholdsForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let text = if f.overrides.trim().is_empty() {
        "{}"
    } else {
        f.overrides.trim()
    };
    let v: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return error_page(
                lang,
                &p,
                AppError::field(
                    "overrides",
                    "invalid_json",
                    format!("阈值设置不是有效的 JSON：{e}"),
                    format!("the thresholds are not valid JSON: {e}"),
                ),
            );
        }
    };
    match st.app.set_thresholds(&p.actor, &code, &v).await {
        Ok(_) => Redirect::to(&format!("/supervision/{code}#thresholds")).into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

#[derive(Template)]
#[template(path = "warnings.html")]
struct WarningsPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    roots: Vec<(String, String)>,
    warnings: Vec<WarningRow>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListPageQuery {
    cursor: Option<String>,
}

/// The live warnings of every subtree the user sees (a secretary's own list).
async fn my_warnings(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    q: Result<Query<ListPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let a = &p.actor;
    let page = match st
        .app
        .list_warnings(
            a,
            &WarningQuery {
                states: Some(vec![WarningState::Open, WarningState::Acknowledged]),
                cursor: q.cursor,
                limit: 100,
                ..Default::default()
            },
        )
        .await
    {
        Ok(pg) => pg,
        Err(e) => return error_page(lang, &p, e),
    };
    let mut items = page.items.clone();
    items.sort_by(|x, y| y.level.cmp(&x.level).then(y.id.cmp(&x.id)));
    render(
        StatusCode::OK,
        WarningsPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: "/warnings".into(),
            roots: a
                .browse_roots()
                .iter()
                .filter(|g| a.can_view_warnings(&g.org_path))
                .map(|g| (g.org_code.clone(), g.org_name.clone()))
                .collect(),
            warnings: items.iter().map(|w| warning_row(w, lang)).collect(),
            next_cursor: page.next_cursor,
        },
    )
}

// ---------------------------------------------------------------------------
// One warning
// ---------------------------------------------------------------------------

fn event_label(kind: &str, lang: Lang) -> &'static str {
    match kind {
        "raised" => lang.t("触发", "Raised"),
        "escalated" => lang.t("升级", "Escalated"),
        "recurred" => lang.t("再次出现", "Came back"),
        "cleared" => lang.t(
            "情形已消除（自动整改）",
            "Condition cleared (corrected by data)",
        ),
        "acknowledged" => lang.t("签收", "Acknowledged"),
        "corrected" => lang.t("整改", "Corrected"),
        "closed" => lang.t("销号", "Closed"),
        "reopened" => lang.t("重新打开", "Reopened"),
        _ => lang.t("其他", "Other"),
    }
}

struct HistoryRow {
    at: String,
    event: &'static str,
    swatch: String,
    level: String,
    state: &'static str,
    by: String,
    evidence: String,
    tolerated: bool,
}

#[derive(Template)]
#[template(path = "warning.html")]
struct WarningPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    swatch: String,
    level: String,
    rule: &'static str,
    state: &'static str,
    org_code: String,
    org_name: String,
    subject_kind: &'static str,
    subject_label: String,
    subject_link: String,
    detail: String,
    period: String,
    due: String,
    raised_at: String,
    cleared_by_data: bool,
    tolerated: bool,
    section: &'static str,
    regulation: &'static str,
    what_to_do: &'static str,
    history: Vec<HistoryRow>,
    can_acknowledge: bool,
    can_correct: bool,
    can_close: bool,
    can_reopen: bool,
}

fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    to_local(t).format("%Y-%m-%d %H:%M").to_string()
}

async fn warning_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("warning"));
    };
    let d = match st.app.warning_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, &p, e),
    };
    let w = &d.warning;
    let l = lang.code();
    let subject_link = match w.subject_kind {
        SubjectKind::Organization => format!("/supervision/{}", w.org_code),
        SubjectKind::Member => format!("/members/{}", w.subject_id),
        SubjectKind::Decision => format!("/decisions/{}", w.subject_id),
        SubjectKind::Meeting => format!("/meetings/{}#minutes", w.subject_id),
        _ => String::new(),
    };
    let has = |k| d.allowed.contains(&k);
    use dangjian_domain::warnings::ActionKind as K;
    render(
        StatusCode::OK,
        WarningPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/warnings/{id}"),
            id,
            swatch: swatch(Some(w.level)),
            level: level_label(Some(w.level), lang),
            rule: w.rule.label(l),
            state: w.state.label(l),
            org_code: w.org_code.clone(),
            org_name: w.org_name.clone(),
            subject_kind: w.subject_kind.label(l),
            subject_label: d.subject_label.clone(),
            subject_link,
            detail: if lang.is_en() {
                w.detail_en.clone()
            } else {
                w.detail_zh.clone()
            },
            period: w.period_key.clone(),
            due: w.due_on.map(|d| d.to_string()).unwrap_or_default(),
            raised_at: local(w.raised_at),
            cleared_by_data: w.cleared_by_data,
            tolerated: w.tolerated_mistake,
            section: d.spec.section,
            regulation: d.spec.regulation,
            what_to_do: if lang.is_en() {
                d.spec.what_to_do_en
            } else {
                d.spec.what_to_do_zh
            },
            history: d
                .history
                .iter()
                .map(|e| HistoryRow {
                    at: local(e.at),
                    event: event_label(&e.kind, lang),
                    swatch: swatch(Some(e.level)),
                    level: level_label(Some(e.level), lang),
                    state: e.state.label(l),
                    by: match e.actor_user_id {
                        Some(u) => format!("#{u}"),
                        None => lang.t("系统", "system").into(),
                    },
                    evidence: e.evidence.clone().unwrap_or_default(),
                    tolerated: e.tolerated_mistake,
                })
                .collect(),
            can_acknowledge: has(K::Acknowledge),
            can_correct: has(K::Correct),
            can_close: has(K::Close),
            can_reopen: has(K::Reopen),
        },
    )
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    evidence: Option<String>,
}

async fn warning_act(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("warning"));
    };
    let action = match f.action.as_str() {
        "acknowledge" => Action::Acknowledge,
        "correct" => Action::Correct {
            evidence: f.evidence.unwrap_or_default(),
        },
        "close" => Action::Close,
        "reopen" => Action::Reopen,
        other => {
            return error_page(
                lang,
                &p,
                AppError::field(
                    "action",
                    "invalid_value",
                    format!("「{other}」不是有效的操作"),
                    format!("{other:?} is not an action"),
                ),
            );
        }
    };
    match st.app.act_on_warning(&p.actor, id, action).await {
        Ok(_) => Redirect::to(&format!("/warnings/{id}")).into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

// ---------------------------------------------------------------------------
// The 三重一大 register
// ---------------------------------------------------------------------------

struct DecisionRow {
    id: i64,
    decided_on: String,
    title: String,
    kind: &'static str,
    emergency: bool,
    swatch: String,
    verdict: String,
}

fn verdict_label(d: &DecisionView, lang: Lang) -> String {
    match (d.verdict.compliant, d.verdict.worst()) {
        (true, None) => lang.t("合规", "Compliant").into(),
        (true, Some(_)) => lang
            .t(
                "合规（临机决策待报告）",
                "Compliant (emergency report pending)",
            )
            .into(),
        (false, Some(Level::Red)) => lang.t("不合规·红色", "Not compliant · red").into(),
        (false, _) => lang.t("不合规·黄色", "Not compliant · yellow").into(),
    }
}

fn decision_row(d: &DecisionView, lang: Lang) -> DecisionRow {
    DecisionRow {
        id: d.id,
        decided_on: d.decided_on.to_string(),
        title: d.title.clone(),
        kind: d.kind.label(lang.code()),
        emergency: d.emergency,
        swatch: swatch(d.verdict.worst()),
        verdict: verdict_label(d, lang),
    }
}

/// The register form as typed, kept to show it again after an error.
#[derive(Deserialize, Default, Clone)]
struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount_yuan: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    decided_on: String,
    #[serde(default)]
    meeting: String,
    #[serde(default)]
    members_total: String,
    #[serde(default)]
    attendees: String,
    #[serde(default)]
    recused: String,
    #[serde(default)]
    statements: String,
    prior_research: Option<String>,
    consultation: Option<String>,
    legal_review: Option<String>,
    dissent_recorded: Option<String>,
    emergency: Option<String>,
    #[serde(default)]
    emergency_reported_on: String,
}

#[derive(Template)]
#[template(path = "decisions.html")]
struct DecisionsPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    rows: Vec<DecisionRow>,
    next_cursor: Option<String>,
    can_record: bool,
    kinds: Vec<(&'static str, &'static str)>,
    methods: Vec<(&'static str, &'static str)>,
    form: DecisionForm,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn register_page(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    cursor: Option<&str>,
    form: DecisionForm,
    errors: Vec<String>,
) -> Response {
    let a = &p.actor;
    let o = match st.app.visible_org(a, code).await {
        Ok(o) => o,
        Err(e) => return error_page(lang, p, e),
    };
    let page = match st.app.list_decisions(a, code, cursor, 50).await {
        Ok(pg) => pg,
        Err(e) => return error_page(lang, p, e),
    };
    let l = lang.code();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        DecisionsPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/decisions"),
            code: o.code.clone(),
            name: o.name.clone(),
            rows: page.items.iter().map(|d| decision_row(d, lang)).collect(),
            next_cursor: page.next_cursor,
            can_record: a.can_act_on_warnings(&o.path),
            kinds: DecisionKind::ALL
                .iter()
                .map(|k| (k.as_str(), k.label(l)))
                .collect(),
            methods: DecisionMethod::ALL
                .iter()
                .map(|m| (m.as_str(), m.label(l)))
                .collect(),
            form,
            errors,
        },
    )
}

async fn decisions_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<CursorQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let form = DecisionForm {
        kind: DecisionKind::MajorPolicy.as_str().into(),
        method: DecisionMethod::Meeting.as_str().into(),
        ..Default::default()
    };
    register_page(&st, lang, &p, &code, q.cursor.as_deref(), form, Vec::new()).await
}

fn field_err(field: &str, zh: String, en: String) -> FieldError {
    FieldError::new(field, "invalid_value", zh, en)
}

/// Yuan with at most two decimals, in fen.
fn parse_yuan(s: &str) -> Option<i64> {
    let s = s.trim().replace([',', '，'], "");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yuan: i64 = int.parse().ok()?;
    let fen: i64 = format!("{frac:0<2}").parse().ok()?;
    yuan.checked_mul(100)?.checked_add(fen)
}

fn parse_numbers(field: &str, s: &str, errs: &mut ValidationErrors) -> Vec<i64> {
    let mut out = Vec::new();
    for part in s
        .split([',', '，', '、', ' ', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.parse::<i64>() {
            Ok(n) => out.push(n),
            Err(_) => errs.push(field_err(
                field,
                format!("「{part}」不是成员编号"),
                format!("{part:?} is not a member number"),
            )),
        }
    }
    out
}

/// `3:同意, 5:不同意, 9:同意*` — member number, position, `*` for the
/// principal leader; in speaking order.
fn parse_statements(s: &str, errs: &mut ValidationErrors) -> Vec<Statement> {
    let mut out = Vec::new();
    for part in s
        .split([',', '，', '、', ';', '；', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let principal = part.ends_with('*') || part.ends_with('＊');
        let body = part.trim_end_matches(['*', '＊']);
        let parsed = body
            .split_once([':', '：'])
            .and_then(|(id, pos)| Some((id.trim().parse::<i64>().ok()?, Position::parse(pos)?)));
        match parsed {
            Some((member_id, position)) => out.push(Statement {
                member_id,
                position,
                is_principal_leader: principal,
            }),
            None => errs.push(field_err(
                "statements",
                format!("「{part}」应写成“编号:同意/不同意/弃权”，主要负责人后加 *"),
                format!("{part:?} should read number:agree/disagree/abstain, with * after the principal leader"),
            )),
        }
    }
    out
}

fn parse_date(field: &str, s: &str, errs: &mut ValidationErrors) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(field_err(
                field,
                format!("「{s}」不是日期（年-月-日）"),
                format!("{s:?} is not a date (YYYY-MM-DD)"),
            ));
            None
        }
    }
}

fn to_input(f: &DecisionForm) -> Result<DecisionInput, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let kind = DecisionKind::parse(&f.kind).unwrap_or_else(|| {
        errs.push(field_err(
            "kind",
            "请选择事项类型".into(),
            "choose a kind".into(),
        ));
        DecisionKind::MajorPolicy
    });
    let method = DecisionMethod::parse(&f.method).unwrap_or_else(|| {
        errs.push(field_err(
            "method",
            "请选择决策方式".into(),
            "choose a method".into(),
        ));
        DecisionMethod::Meeting
    });
    let amount_fen = if f.amount_yuan.trim().is_empty() {
        None
    } else {
        let v = parse_yuan(&f.amount_yuan);
        if v.is_none() {
            errs.push(field_err(
                "amount_yuan",
                "金额应为元，最多两位小数".into(),
                "the amount is in yuan with at most two decimals".into(),
            ));
        }
        v
    };
    let decided_on = parse_date("decided_on", &f.decided_on, &mut errs);
    if decided_on.is_none() && f.decided_on.trim().is_empty() {
        errs.push(field_err(
            "decided_on",
            "请填写决策日期".into(),
            "the decision date is required".into(),
        ));
    }
    let members_total = match f.members_total.trim().parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            errs.push(field_err(
                "members_total",
                "请填写领导班子成员数".into(),
                "the number of members of the body is required".into(),
            ));
            0
        }
    };
    let attendees = parse_numbers("attendees", &f.attendees, &mut errs);
    let recused = parse_numbers("recused", &f.recused, &mut errs);
    let statements = parse_statements(&f.statements, &mut errs);
    let emergency_reported_on =
        parse_date("emergency_reported_on", &f.emergency_reported_on, &mut errs);
    match decided_on {
        Some(decided_on) if errs.is_empty() => Ok(DecisionInput {
            kind,
            title: f.title.clone(),
            amount_fen,
            method,
            decided_on,
            meeting: Some(f.meeting.clone()),
            members_total,
            attendees,
            recused,
            prior_research: f.prior_research.is_some(),
            consultation: f.consultation.is_some(),
            legal_review: f.legal_review.is_some(),
            statements,
            dissent_recorded: f.dissent_recorded.is_some(),
            emergency: f.emergency.is_some(),
            emergency_reported_on,
        }),
        _ => Err(errs),
    }
}

fn messages(v: &ValidationErrors, lang: Lang) -> Vec<String> {
    form_errors(&AppError::Validation(v.clone()), lang).unwrap_or_default()
}

async fn decision_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let input = match to_input(&f) {
        Ok(i) => i,
        Err(v) => return register_page(&st, lang, &p, &code, None, f, messages(&v, lang)).await,
    };
    match st.app.record_decision(&p.actor, &code, input).await {
        Ok(d) => Redirect::to(&format!("/decisions/{}", d.decision.id)).into_response(),
        Err(AppError::Validation(v)) => {
            register_page(&st, lang, &p, &code, None, f, messages(&v, lang)).await
        }
        Err(e) => error_page(lang, &p, e),
    }
}

struct FindingRow {
    swatch: String,
    level: String,
    title: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "decision.html")]
struct DecisionPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    org_code: String,
    org_name: String,
    title: String,
    kind: &'static str,
    method: &'static str,
    decided_on: String,
    meeting: String,
    amount: String,
    threshold: String,
    members_total: u32,
    attendees: String,
    recused: String,
    checks: Vec<(&'static str, bool)>,
    statements: Vec<(i64, &'static str, bool)>,
    emergency: bool,
    reported_on: String,
    swatch: String,
    verdict: String,
    findings: Vec<FindingRow>,
    warnings: Vec<WarningRow>,
    can_report: bool,
    today: String,
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

fn joined(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("、")
}

async fn decision_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("decision"));
    };
    let d = match st.app.decision_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, &p, e),
    };
    let v = &d.decision;
    let l = lang.code();
    render(
        StatusCode::OK,
        DecisionPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/decisions/{id}"),
            id,
            org_code: v.org.code.clone(),
            org_name: v.org.name.clone(),
            title: v.title.clone(),
            kind: v.kind.label(l),
            method: v.method.label(l),
            decided_on: v.decided_on.to_string(),
            meeting: v.meeting.clone().unwrap_or_default(),
            amount: v.amount_fen.map(yuan).unwrap_or_default(),
            threshold: yuan(v.threshold_fen),
            members_total: v.members_total,
            attendees: joined(&v.attendees),
            recused: joined(&v.recused),
            checks: vec![
                (lang.t("会前调查研究", "Prior research"), v.prior_research),
                (lang.t("会前征求意见", "Consultation"), v.consultation),
                (
                    lang.t("合法性审查或风险评估", "Legal or risk review"),
                    v.legal_review,
                ),
                (
                    lang.t("不同意见记入纪要", "Dissent in the minutes"),
                    v.dissent_recorded,
                ),
            ],
            statements: v
                .statements
                .iter()
                .map(|s| (s.member_id, s.position.label(l), s.is_principal_leader))
                .collect(),
            emergency: v.emergency,
            reported_on: v
                .emergency_reported_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            swatch: swatch(v.verdict.worst()),
            verdict: verdict_label(v, lang),
            findings: v
                .verdict
                .findings
                .iter()
                .map(|f| FindingRow {
                    swatch: swatch(Some(f.level)),
                    level: level_label(Some(f.level), lang),
                    title: f.code.label(l),
                    message: if lang.is_en() {
                        f.message_en.clone()
                    } else {
                        f.message_zh.clone()
                    },
                })
                .collect(),
            warnings: d.warnings.iter().map(|w| warning_row(w, lang)).collect(),
            can_report: d.can_report,
            today: st.app.today().to_string(),
        },
    )
}

#[derive(Deserialize)]
struct ReportForm {
    csrf: String,
    reported_on: String,
}

async fn decision_report(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(lang, &p, AppError::NotFound("decision"));
    };
    let mut errs = ValidationErrors::default();
    let Some(day) = parse_date("reported_on", &f.reported_on, &mut errs) else {
        if errs.is_empty() {
            errs.push(field_err(
                "reported_on",
                "请填写报告日期".into(),
                "the report date is required".into(),
            ));
        }
        return error_page(lang, &p, AppError::Validation(errs));
    };
    match st.app.report_emergency(&p.actor, id, day).await {
        Ok(_) => Redirect::to(&format!("/decisions/{id}")).into_response(),
        Err(e) => error_page(lang, &p, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_statements_parse() {
        assert_eq!(parse_yuan("1,000,000.5"), Some(100_000_050));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-1"), None);
        let mut e = ValidationErrors::default();
        let s = parse_statements("1:同意，2：不同意\n9:agree*", &mut e);
        assert!(e.is_empty());
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].position, Position::Disagree);
        assert!(s[2].is_principal_leader && !s[0].is_principal_leader);
        parse_statements("x", &mut e);
        assert_eq!(e.0[0].field, "statements");
    }

    #[test]
    fn charts_label_every_colour() {
        let svg = level_bars(
            &[(Level::Red, 2), (Level::Yellow, 0), (Level::Blue, 1)],
            Lang::Zh,
        );
        assert!(svg.contains("红色·违规") && svg.contains("#c8102e"));
        assert!(svg.contains("role=\"img\""));
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        let line = trend_line(&[(d, 1), (d, 3)], "t");
        assert!(line.contains("<polyline") && line.contains(">3</text>"));
    }
}
