//! Organizational life pages (DOMAIN.md §5): the branch calendar by month
//! with its frequency compliance and the schedule form; a meeting page — the
//! secretary's screen shows the sign-in code and its QR code (inline SVG),
//! the attendance with its channels, leave decisions, status and minutes;
//! a member's phone shows a one-tap sign-in (the QR code opens it with the
//! code filled in) and a leave request; the paper-list entry form; a
//! member's own attendance. All work without JavaScript.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use dangjian_app::AppError;
use dangjian_app::clock::{china_offset, to_local};
use dangjian_app::meetings::{MeetingDetail, MeetingInput, OfflineEntry, local_month};
use dangjian_domain::meetings::{
    AttendanceState, LeaveStatus, MeetingKind, MeetingStatus, PeriodState, Repeat,
};
use dangjian_domain::{FieldError, ValidationErrors};
use serde::Deserialize;

use super::{error_page, render};
use crate::AppState;
use crate::api::meetings::parse_month;
use crate::auth::PageActor;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{code}/meetings", get(calendar).post(schedule_submit))
        .route("/meetings/{id}", get(meeting_page))
        .route(
            "/meetings/{id}/signin",
            get(signin_page).post(signin_submit),
        )
        .route("/meetings/{id}/leave", post(leave_submit))
        .route("/meetings/{id}/leave/{member_id}", post(leave_decide))
        .route("/meetings/{id}/status", post(status_submit))
        .route("/meetings/{id}/minutes", post(minutes_submit))
        .route("/meetings/{id}/minutes/confirm", post(minutes_confirm))
        .route(
            "/meetings/{id}/attendance",
            get(entry_page).post(entry_submit),
        )
        .route("/me/meetings", get(my_meetings))
}

fn local(t: DateTime<Utc>) -> String {
    to_local(t).format("%Y-%m-%d %H:%M").to_string()
}

fn span(s: DateTime<Utc>, e: DateTime<Utc>) -> String {
    let (ls, le) = (to_local(s), to_local(e));
    if ls.date_naive() == le.date_naive() {
        format!(
            "{} {}–{}",
            ls.format("%Y-%m-%d"),
            ls.format("%H:%M"),
            le.format("%H:%M")
        )
    } else {
        format!("{} – {}", local(s), local(e))
    }
}

fn messages(v: &[FieldError], lang: Lang) -> Vec<String> {
    v.iter()
        .map(|e| {
            if lang.is_en() {
                e.message_en.clone()
            } else {
                e.message_zh.clone()
            }
        })
        .collect()
}

/// `2026-11-28T10:00` in Asia/Shanghai as UTC.
fn parse_local(s: &str) -> Option<DateTime<Utc>> {
    let t = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").ok()?;
    china_offset()
        .from_local_datetime(&t)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::NotFound("meeting"))
}

// ---------------------------------------------------------------------------
// Calendar
// ---------------------------------------------------------------------------

struct CalRow {
    id: i64,
    when: String,
    kind: &'static str,
    title: String,
    status: &'static str,
    org: String,
}

struct CompRow {
    label: &'static str,
    interval: i32,
    due: u32,
    held: u32,
    missing: u32,
    strip: String,
}

struct CompBlock {
    org: String,
    rows: Vec<CompRow>,
}

#[derive(Deserialize, Default, Clone)]
struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    online_link: String,
    #[serde(default)]
    lecturer: String,
    by_secretary: Option<String>,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    minutes_long: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    repeat_count: String,
    /// Chosen attendees (`attendee` fields); empty means the whole roster.
    #[serde(skip)]
    attendees: Vec<i64>,
}

impl ScheduleForm {
    /// The form from its fields (repeated `attendee` fields included).
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = ScheduleForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "kind" => f.kind = v,
                "title" => f.title = v,
                "agenda" => f.agenda = v,
                "place" => f.place = v,
                "online_link" => f.online_link = v,
                "lecturer" => f.lecturer = v,
                "by_secretary" => f.by_secretary = Some(v),
                "starts_at" => f.starts_at = v,
                "minutes_long" => f.minutes_long = v,
                "repeat" => f.repeat = v,
                "repeat_count" => f.repeat_count = v,
                "attendee" => f.attendees.extend(v.parse::<i64>().ok()),
                _ => {}
            }
        }
        f
    }
}

/// Most roster names the schedule form lists as checkboxes.
const PICKER_MAX: usize = 300;

#[derive(Template)]
#[template(path = "meetings.html")]
struct CalendarPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    code: String,
    name: String,
    month_label: String,
    prev: String,
    next: String,
    year: i32,
    rows: Vec<CalRow>,
    compliance: Vec<CompBlock>,
    can_manage: bool,
    kinds: Vec<(&'static str, &'static str)>,
    /// Roster to choose attendees from (id, name, chosen).
    roster: Vec<(i64, String, bool)>,
    form: ScheduleForm,
    errors: Vec<String>,
}

/// One square per period, coloured by its state; the numbers beside it say
/// the same in text.
fn strip(periods: &[dangjian_domain::meetings::PeriodCompliance], lang: Lang) -> String {
    let (w, gap) = (16, 3);
    let total = periods.len() as i32 * (w + gap);
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {total} {w}\" width=\"{total}\" height=\"{w}\">",
        lang.t("各期完成情况", "Periods")
    );
    for (i, p) in periods.iter().enumerate() {
        let (fill, stroke) = match p.state {
            PeriodState::Met => ("#2e7d32", "#2e7d32"),
            PeriodState::Missing => ("#c8102e", "#c8102e"),
            PeriodState::Open => ("#ffffff", "#555555"),
            PeriodState::Upcoming => ("#e6e6e6", "#e6e6e6"),
        };
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"1\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{fill}\" stroke=\"{stroke}\"><title>{} – {}: {}</title></rect>",
            i as i32 * (w + gap),
            w - 2,
            w - 2,
            p.start,
            p.end,
            p.state.label(lang.code())
        ));
    }
    s.push_str("</svg>");
    s
}

#[derive(Deserialize, Default)]
struct MonthQuery {
    month: Option<String>,
}

async fn calendar_page(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    code: &str,
    month: Option<&str>,
    form: ScheduleForm,
    errors: Vec<String>,
) -> Response {
    let (y, m) = month
        .and_then(parse_month)
        .unwrap_or_else(|| local_month(st.app.clock.now()));
    let a = &p.actor;
    let list = match st.app.list_meetings(a, code, y, m).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, p, e),
    };
    let comp = match st.app.meeting_compliance(a, code, y).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, p, e),
    };
    let Some(org) = comp.first().map(|c| c.org.clone()) else {
        return error_page(lang, p, AppError::NotFound("organization"));
    };
    let l = lang.code();
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let can_manage = a.can_manage_members(&org.path);
    let roster = if can_manage {
        match st.app.meeting_roster(a, code).await {
            Ok(r) if r.len() <= PICKER_MAX => r
                .into_iter()
                .map(|(id, name)| (id, name, form.attendees.contains(&id)))
                .collect(),
            Ok(_) => Vec::new(),
            Err(e) => return error_page(lang, p, e),
        }
    } else {
        Vec::new()
    };
    render(
        status,
        CalendarPage {
            lang,
            user: Some(a.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/orgs/{code}/meetings"),
            code: org.code.clone(),
            name: org.name.clone(),
            month_label: if lang.is_en() {
                format!("{y}-{m:02}")
            } else {
                format!("{y}年{m}月")
            },
            prev: format!("{py}-{pm:02}"),
            next: format!("{ny}-{nm:02}"),
            year: y,
            rows: list
                .iter()
                .map(|v| CalRow {
                    id: v.id,
                    when: span(v.starts_at, v.ends_at),
                    kind: v.kind.label(l),
                    title: v.title.clone(),
                    status: v.status.label(l),
                    org: if v.org.id == org.id {
                        String::new()
                    } else {
                        v.org.name.clone()
                    },
                })
                .collect(),
            compliance: comp
                .iter()
                .map(|c| CompBlock {
                    org: c.org.name.clone(),
                    rows: c
                        .rows
                        .iter()
                        .map(|r| CompRow {
                            label: r.requirement.label(l),
                            interval: r.interval_months,
                            due: r.due,
                            held: r.held,
                            missing: r.missing,
                            strip: strip(&r.periods, lang),
                        })
                        .collect(),
                })
                .collect(),
            can_manage,
            kinds: MeetingKind::ALL
                .iter()
                .map(|k| (k.as_str(), k.label(l)))
                .collect(),
            roster,
            form,
            errors,
        },
    )
}

async fn calendar(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    q: Result<Query<MonthQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let form = ScheduleForm {
        kind: MeetingKind::ThemeDay.as_str().into(),
        minutes_long: "120".into(),
        repeat_count: "1".into(),
        ..Default::default()
    };
    calendar_page(&st, lang, &p, &code, q.month.as_deref(), form, Vec::new()).await
}

fn to_input(f: &ScheduleForm) -> Result<MeetingInput, ValidationErrors> {
    let mut e = ValidationErrors::default();
    let kind = MeetingKind::parse(&f.kind);
    if kind.is_none() {
        e.push(FieldError::new(
            "kind",
            "invalid_value",
            "请选择会议类型",
            "Choose a kind",
        ));
    }
    let starts = parse_local(&f.starts_at);
    if starts.is_none() {
        e.push(FieldError::new(
            "starts_at",
            "invalid_value",
            "请填写开始时间",
            "Give the start time",
        ));
    }
    let minutes: Option<i64> = f.minutes_long.trim().parse().ok().filter(|m| *m > 0);
    if minutes.is_none() {
        e.push(FieldError::new(
            "minutes_long",
            "invalid_value",
            "会议时长（分钟）须为正整数",
            "The length in minutes must be a positive number",
        ));
    }
    let repeat = match f.repeat.trim() {
        "" => None,
        r => match Repeat::parse(r) {
            Some(r) => Some(r),
            None => {
                e.push(FieldError::new(
                    "repeat",
                    "invalid_value",
                    "重复方式无效",
                    "Invalid repeat",
                ));
                None
            }
        },
    };
    let count: u32 = match f.repeat_count.trim() {
        "" => 1,
        c => c.parse().unwrap_or_else(|_| {
            e.push(FieldError::new(
                "repeat_count",
                "invalid_value",
                "重复次数须为数字",
                "The repeat count must be a number",
            ));
            1
        }),
    };
    let (Some(kind), Some(starts_at), Some(minutes)) = (kind, starts, minutes) else {
        return Err(e);
    };
    e.into_result()?;
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(MeetingInput {
        kind,
        title: f.title.clone(),
        agenda: f.agenda.clone(),
        place: opt(&f.place),
        online_link: opt(&f.online_link),
        lecturer: opt(&f.lecturer),
        by_secretary: f.by_secretary.is_some(),
        starts_at,
        ends_at: starts_at + Duration::minutes(minutes.min(60 * 48)),
        repeat,
        repeat_count: count,
        attendee_ids: (!f.attendees.is_empty()).then(|| f.attendees.clone()),
    })
}

async fn schedule_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let f = ScheduleForm::from_pairs(pairs);
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let input = match to_input(&f) {
        Ok(i) => i,
        Err(v) => {
            let m = messages(&v.0, lang);
            return calendar_page(&st, lang, &p, &code, None, f, m).await;
        }
    };
    let month = to_local(input.starts_at).format("%Y-%m").to_string();
    match st.app.schedule_meeting(&p.actor, &code, input).await {
        Ok(v) => match v.first() {
            Some(m) => Redirect::to(&format!("/meetings/{}", m.id)).into_response(),
            None => Redirect::to(&format!("/orgs/{code}/meetings?month={month}")).into_response(),
        },
        Err(e) => match super::error_messages(&e, lang) {
            Some(m) => calendar_page(&st, lang, &p, &code, Some(&month), f, m).await,
            None => error_page(lang, &p, e),
        },
    }
}

// ---------------------------------------------------------------------------
// One meeting
// ---------------------------------------------------------------------------

struct AttRow {
    member_id: i64,
    name: String,
    state: &'static str,
    channel: &'static str,
    at: String,
    reason: String,
    pending: bool,
}

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    org_code: String,
    org_name: String,
    title: String,
    kind: &'static str,
    status: &'static str,
    scheduled: bool,
    when: String,
    place: String,
    online_link: String,
    lecturer: String,
    agenda: String,
    minutes: String,
    minutes_on: String,
    today: String,
    window: String,
    can_manage: bool,
    code: String,
    qr: String,
    signin_url: String,
    counts: dangjian_app::meetings::AttendanceCounts,
    /// Certificates issued for this meeting (held), for those who manage it.
    certificates_issued: Option<u64>,
    rows: Vec<AttRow>,
    mine: String,
    can_sign_in: bool,
    can_ask_leave: bool,
    prefill: String,
    errors: Vec<String>,
    notice: String,
    /// The near-duplicate warnings of the minutes (DOMAIN.md §5), for the editor.
    duplicates: Vec<String>,
    /// The branch's recorded confirmation, if any.
    confirmed: String,
    /// A branch assembly: its votes page is linked.
    is_assembly: bool,
    attachments: Vec<AttachmentRow>,
}

/// A meeting attachment as listed on the meeting page.
struct AttachmentRow {
    id: i64,
    purpose: &'static str,
    filename: String,
    content_type: String,
    size: String,
    sha256: String,
}

/// The near-duplicate warnings of a meeting's minutes, and the branch's
/// confirmation, as the minutes editor shows them.
async fn duplicate_lines(
    st: &AppState,
    p: &PageActor,
    lang: Lang,
    id: i64,
) -> (Vec<String>, String) {
    match st.app.minutes_check(&p.actor, id).await {
        Ok(c) => {
            let out = crate::api::participation::MinutesCheckOut::from(&c);
            let lines = out
                .duplicates
                .into_iter()
                .map(|d| lang.t(&d.message_zh, &d.message_en).to_string())
                .collect();
            let confirmed = match (out.confirmed_reason, out.confirmed_at) {
                (Some(r), Some(t)) => format!("{}（{}）", r, local(t)),
                _ => String::new(),
            };
            (lines, confirmed)
        }
        Err(e) => {
            tracing::warn!(error = %e, "minutes check not shown");
            (Vec::new(), String::new())
        }
    }
}

/// The QR code of `url` as inline SVG (the XML prolog dropped).
fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(q) => {
            let svg = q
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "QR code not rendered");
            String::new()
        }
    }
}

/// The server's origin as the browser reached it (`https://host`).
pub(crate) fn origin(st: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!(
        "{}://{host}",
        if st.secure_cookies { "https" } else { "http" }
    )
}

#[allow(clippy::too_many_arguments)]
async fn show_meeting(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    headers: &HeaderMap,
    id: i64,
    prefill: &str,
    errors: Vec<String>,
    notice: &str,
) -> Response {
    let d: MeetingDetail = match st.app.meeting_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return error_page(lang, p, e),
    };
    let l = lang.code();
    let m = &d.meeting;
    let (code, qr, url) = match &d.signin_code {
        Some(c) => {
            let url = format!("{}/meetings/{id}/signin?code={c}", origin(st, headers));
            (c.clone(), qr_svg(&url), url)
        }
        None => Default::default(),
    };
    let mine = match &d.mine {
        Some(r) => {
            let mut s = r.state.label(l).to_string();
            if let Some(c) = r.channel {
                s.push_str(&format!("（{}）", c.label(l)));
            }
            if let Some(ls) = r.leave_status {
                s.push_str(&format!(" · {}", ls.label(l)));
            }
            s
        }
        None => String::new(),
    };
    let scheduled = m.status == MeetingStatus::Scheduled;
    let certificates_issued = if d.can_manage && m.status == MeetingStatus::Held {
        match st.app.meeting_certificate_count(&p.actor, id).await {
            Ok(n) => Some(n),
            Err(e) => return error_page(lang, p, e),
        }
    } else {
        None
    };
    let now = st.app.clock.now();
    let (duplicates, confirmed) = if d.can_manage {
        duplicate_lines(st, p, lang, id).await
    } else {
        Default::default()
    };
    let attachments = match st.app.meeting_attachments(&p.actor, id).await {
        Ok(v) => v
            .iter()
            .map(|a| AttachmentRow {
                id: a.id,
                purpose: a.purpose.label(l),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: format!("{:.1} KB", a.size as f64 / 1024.0),
                sha256: a.sha256.clone(),
            })
            .collect(),
        Err(e) => return error_page(lang, p, e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        MeetingPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/meetings/{id}"),
            id,
            org_code: m.org.code.clone(),
            org_name: m.org.name.clone(),
            title: m.title.clone(),
            kind: m.kind.label(l),
            status: m.status.label(l),
            scheduled,
            when: span(m.starts_at, m.ends_at),
            place: m.place.clone().unwrap_or_default(),
            online_link: m.online_link.clone().unwrap_or_default(),
            lecturer: m.lecturer.clone().unwrap_or_default(),
            agenda: m.agenda.clone(),
            minutes: m.minutes.clone().unwrap_or_default(),
            minutes_on: m.minutes_on.map(|d| d.to_string()).unwrap_or_default(),
            today: st.app.today().to_string(),
            window: format!(
                "{} – {}",
                local(d.signin_opens_at),
                local(d.signin_closes_at)
            ),
            can_manage: d.can_manage,
            code,
            qr,
            signin_url: url,
            counts: d.counts,
            certificates_issued,
            rows: d
                .attendance
                .iter()
                .map(|r| AttRow {
                    member_id: r.member_id,
                    name: r.name.clone(),
                    state: r.state.label(l),
                    channel: r.channel.map(|c| c.label(l)).unwrap_or(""),
                    at: r.recorded_at.map(local).unwrap_or_default(),
                    reason: match (&r.leave_reason, r.leave_status) {
                        (Some(x), Some(s)) => format!("{x}（{}）", s.label(l)),
                        (Some(x), None) => x.clone(),
                        _ => String::new(),
                    },
                    pending: r.leave_status == Some(LeaveStatus::Pending),
                })
                .collect(),
            mine,
            can_sign_in: d.can_sign_in,
            can_ask_leave: scheduled
                && now <= m.ends_at
                && d.mine
                    .as_ref()
                    .is_some_and(|r| r.state == AttendanceState::Expected),
            prefill: prefill.to_string(),
            duplicates,
            confirmed,
            errors,
            notice: notice.to_string(),
            is_assembly: m.kind == MeetingKind::BranchAssembly,
            attachments,
        },
    )
}

#[derive(Deserialize, Default)]
struct MeetingQuery {
    done: Option<String>,
    code: Option<String>,
}

fn notice(lang: Lang, done: Option<&str>) -> &'static str {
    match done {
        Some("signin") => lang.t("签到成功。", "Signed in."),
        Some("leave") => lang.t("请假申请已提交。", "Leave request sent."),
        Some("status") => lang.t("会议状态已更新。", "Status updated."),
        Some("minutes") => lang.t("会议记录已保存。", "Minutes saved."),
        Some("attendance") => lang.t("出席情况已登记。", "Attendance recorded."),
        Some("decided") => lang.t("已处理请假申请。", "Leave request decided."),
        Some("minutes_confirmed") => lang.t("已确认会议记录属实。", "Minutes confirmed."),
        Some("attachment") => lang.t("附件已上传。", "Attachment uploaded."),
        _ => "",
    }
}

async fn meeting_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<MeetingQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let n = notice(lang, q.done.as_deref());
    show_meeting(&st, lang, &p, &headers, id, "", Vec::new(), n).await
}

/// What the QR code opens: the meeting page with the code filled in, so
/// the member signs in with one tap.
async fn signin_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<MeetingQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let code: String = q
        .code
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    show_meeting(&st, lang, &p, &headers, id, &code, Vec::new(), "").await
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    dated_on: String,
    #[serde(default)]
    approve: String,
}

/// Runs a write of the meeting page; on success back to the page with a
/// notice, on a refusal the page again with the message.
#[allow(clippy::too_many_arguments)]
async fn after<T>(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    headers: &HeaderMap,
    id: i64,
    r: Result<T, AppError>,
    done: &str,
    prefill: &str,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/meetings/{id}?done={done}")).into_response(),
        Err(e) => match super::error_messages(&e, lang) {
            Some(m) => show_meeting(st, lang, p, headers, id, prefill, m, "").await,
            None => error_page(lang, p, e),
        },
    }
}

async fn signin_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = st.app.sign_in(&p.actor, id, &f.code).await;
    after(&st, lang, &p, &headers, id, r, "signin", "").await
}

async fn leave_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = st.app.request_leave(&p.actor, id, &f.reason).await;
    after(&st, lang, &p, &headers, id, r, "leave", "").await
}

async fn leave_decide(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path((id, member_id)): Path<(String, String)>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let (Ok(id), Ok(member_id)) = (parse_id(&id), member_id.parse::<i64>()) else {
        return error_page(lang, &p, AppError::NotFound("meeting"));
    };
    let r = st
        .app
        .decide_leave(&p.actor, id, member_id, f.approve == "1")
        .await;
    after(&st, lang, &p, &headers, id, r, "decided", "").await
}

async fn status_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = match MeetingStatus::parse(&f.status) {
        Some(to) => st
            .app
            .set_meeting_status(&p.actor, id, to)
            .await
            .map(|_| ()),
        None => Err(AppError::field(
            "status",
            "invalid_value",
            "状态无效",
            "Invalid status",
        )),
    };
    after(&st, lang, &p, &headers, id, r, "status", "").await
}

async fn minutes_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = match chrono::NaiveDate::parse_from_str(f.dated_on.trim(), "%Y-%m-%d") {
        Ok(d) => st
            .app
            .save_minutes(&p.actor, id, &f.text, d)
            .await
            .map(|_| ()),
        Err(_) => Err(AppError::field(
            "dated_on",
            "invalid_value",
            "请填写记录日期",
            "Give the date of the minutes",
        )),
    };
    after(&st, lang, &p, &headers, id, r, "minutes", "").await
}

/// The branch confirms, with a reason, that flagged minutes are genuine.
async fn minutes_confirm(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> Response {
    if f.csrf != p.csrf {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let r = st.app.confirm_minutes(&p.actor, id, &f.reason).await;
    after(&st, lang, &p, &headers, id, r, "minutes_confirmed", "").await
}

// ---------------------------------------------------------------------------
// Paper list
// ---------------------------------------------------------------------------

struct EntryRow {
    member_id: i64,
    name: String,
    state: &'static str,
    present: bool,
}

#[derive(Template)]
#[template(path = "meeting_attendance.html")]
struct EntryPage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    id: i64,
    title: String,
    when: String,
    rows: Vec<EntryRow>,
    errors: Vec<String>,
}

async fn show_entry(
    st: &AppState,
    lang: Lang,
    p: &PageActor,
    id: i64,
    errors: Vec<String>,
) -> Response {
    let d = match st.app.meeting_detail(&p.actor, id).await {
        Ok(d) if d.can_manage => d,
        Ok(_) => return error_page(lang, p, AppError::Forbidden),
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
        EntryPage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: format!("/meetings/{id}/attendance"),
            id,
            title: d.meeting.title.clone(),
            when: span(d.meeting.starts_at, d.meeting.ends_at),
            rows: d
                .attendance
                .iter()
                .map(|r| EntryRow {
                    member_id: r.member_id,
                    name: r.name.clone(),
                    state: r.state.label(l),
                    present: r.state == AttendanceState::Present,
                })
                .collect(),
            errors,
        },
    )
}

async fn entry_page(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
) -> Response {
    match parse_id(&id) {
        Ok(id) => show_entry(&st, lang, &p, id, Vec::new()).await,
        Err(e) => error_page(lang, &p, e),
    }
}

/// `s_<member id>` = present | leave | (empty), `r_<member id>` = reason.
async fn entry_submit(
    State(st): State<AppState>,
    lang: Lang,
    p: PageActor,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let fields: HashMap<String, String> = f.into_iter().collect();
    if fields.get("csrf") != Some(&p.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return error_page(lang, &p, e),
    };
    let mut entries = Vec::new();
    let mut keys: Vec<(&String, &String)> = fields.iter().collect();
    keys.sort();
    for (k, v) in keys {
        let Some(member) = k.strip_prefix("s_").and_then(|m| m.parse::<i64>().ok()) else {
            continue;
        };
        let state = match v.as_str() {
            "present" => AttendanceState::Present,
            "leave" => AttendanceState::Leave,
            _ => continue,
        };
        entries.push(OfflineEntry {
            member_id: member,
            state,
            leave_reason: fields
                .get(&format!("r_{member}"))
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
        });
    }
    match st.app.record_offline(&p.actor, id, entries).await {
        Ok(_) => Redirect::to(&format!("/meetings/{id}?done=attendance")).into_response(),
        Err(e) => match super::error_messages(&e, lang) {
            Some(m) => show_entry(&st, lang, &p, id, m).await,
            None => error_page(lang, &p, e),
        },
    }
}

// ---------------------------------------------------------------------------
// A member's own record
// ---------------------------------------------------------------------------

struct MineRow {
    id: i64,
    when: String,
    title: String,
    kind: &'static str,
    status: &'static str,
    state: String,
    absent: bool,
}

#[derive(Template)]
#[template(path = "my_meetings.html")]
struct MinePage {
    lang: Lang,
    user: Option<String>,
    csrf: String,
    here: String,
    rows: Vec<MineRow>,
    present: usize,
    absent: usize,
    calendars: Vec<(String, String)>,
    /// This year's participation (DOMAIN.md §5): rate by type, points off.
    kinds: Vec<(String, String)>,
    total_rate: String,
    longest_run: u32,
    points: u32,
    rule: String,
    chart: String,
    certs: Vec<CertRow>,
}

/// One certificate of organizational life in the member's own record.
struct CertRow {
    number: String,
    date: String,
    title: String,
    kind: &'static str,
    revoked: bool,
}

async fn my_meetings(State(st): State<AppState>, lang: Lang, p: PageActor) -> Response {
    let rows = match st.app.my_attendance(&p.actor).await {
        Ok(r) => r,
        Err(e) => return error_page(lang, &p, e),
    };
    let certs = match st.app.my_certificates(&p.actor).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, &p, e),
    };
    let l = lang.code();
    let year = local_month(st.app.clock.now()).0;
    let this_year = |t: DateTime<Utc>| to_local(t).year() == year;
    let part = match p.actor.member_id {
        Some(_) => st.app.my_participation(&p.actor, year).await.ok(),
        None => None,
    };
    let (kinds, total_rate, longest_run, points, rule, chart) = match &part {
        Some(x) => {
            let r = &x.report;
            let data = super::participation::kinds(x, lang);
            (
                r.by_kind
                    .iter()
                    .map(|k| {
                        (
                            k.kind.label(l).to_string(),
                            format!(
                                "{} / {}（{}）",
                                k.rate.present,
                                k.rate.expected,
                                k.rate
                                    .percent()
                                    .map(|v| format!("{v}%"))
                                    .unwrap_or_default()
                            ),
                        )
                    })
                    .collect(),
                r.total
                    .percent()
                    .map(|v| format!("{v}%"))
                    .unwrap_or("—".into()),
                r.longest_run,
                r.deduction_points,
                match lang {
                    Lang::Zh => format!(
                        "连续 {} 次无故缺席扣减年度评议 {} 分",
                        r.threshold_count, r.threshold_points
                    ),
                    Lang::En => format!(
                        "{} unexcused absences in a row deduct {} points",
                        r.threshold_count, r.threshold_points
                    ),
                },
                if data.is_empty() {
                    String::new()
                } else {
                    super::chart::percent_bars(&data, lang.t("出勤率", "Attendance rate"))
                },
            )
        }
        None => Default::default(),
    };
    render(
        StatusCode::OK,
        MinePage {
            lang,
            user: Some(p.actor.display_name.clone()),
            csrf: p.csrf.clone(),
            here: "/me/meetings".into(),
            present: rows
                .iter()
                .filter(|r| this_year(r.meeting.starts_at) && r.state == AttendanceState::Present)
                .count(),
            absent: rows
                .iter()
                .filter(|r| this_year(r.meeting.starts_at) && r.absent)
                .count(),
            rows: rows
                .iter()
                .map(|r| MineRow {
                    id: r.meeting.id,
                    when: span(r.meeting.starts_at, r.meeting.ends_at),
                    title: r.meeting.title.clone(),
                    kind: r.meeting.kind.label(l),
                    status: r.meeting.status.label(l),
                    state: {
                        let mut s = r.state.label(l).to_string();
                        if let Some(c) = r.channel {
                            s.push_str(&format!("（{}）", c.label(l)));
                        }
                        s
                    },
                    absent: r.absent,
                })
                .collect(),
            calendars: p
                .actor
                .browse_roots()
                .iter()
                .map(|g| (g.org_code.clone(), g.org_name.clone()))
                .collect(),
            kinds,
            total_rate,
            longest_run,
            points,
            rule,
            chart,
            certs: certs
                .iter()
                .map(|c| CertRow {
                    number: c.number.clone(),
                    date: c.date.clone(),
                    title: c.title.clone(),
                    kind: c.kind.label(l),
                    revoked: c.revoked,
                })
                .collect(),
        },
    )
}
