//! Organizational life endpoints (DOMAIN.md §5): schedule and list an
//! organization's meetings, its frequency compliance, one meeting with its
//! attendance, online sign-in by code, the secretary's paper-list entry,
//! leave requests and decisions, status and minutes, a member's own record.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::meetings::{
    AttendanceView, MeetingDetail, MeetingInput, MeetingView, MyAttendance, OfflineEntry,
    OrgCompliance, local_month,
};
use dangjian_domain::meetings::{AttendanceState, MeetingKind, MeetingStatus, Repeat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::orgs::{body, query};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// A meeting to schedule.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeetingIn {
    /// branch_assembly, committee_meeting, group_meeting, party_lecture,
    /// theme_day, life_meeting, democratic_appraisal (or the Chinese name)
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub agenda: String,
    /// A place or an online link (at least one).
    pub place: Option<String>,
    pub online_link: Option<String>,
    pub lecturer: Option<String>,
    /// A party lecture given by the branch secretary.
    #[serde(default)]
    pub by_secretary: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// monthly or quarterly
    pub repeat: Option<String>,
    /// Instances in all when repeated (1–24).
    pub repeat_count: Option<u32>,
    /// Expected attendees (member ids), when not the whole roster; required
    /// for a committee meeting.
    pub attendee_ids: Option<Vec<i64>>,
}

/// A meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingOut {
    pub id: i64,
    pub org_code: String,
    pub org_name: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    pub agenda: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    pub lecturer: Option<String>,
    pub by_secretary: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// scheduled, held or cancelled
    pub status: String,
    pub series_id: Option<i64>,
    pub minutes: Option<String>,
    pub minutes_on: Option<NaiveDate>,
}

impl From<&MeetingView> for MeetingOut {
    fn from(m: &MeetingView) -> Self {
        Self {
            id: m.id,
            org_code: m.org.code.clone(),
            org_name: m.org.name.clone(),
            kind: m.kind.as_str().into(),
            kind_label: m.kind.label_zh().into(),
            title: m.title.clone(),
            agenda: m.agenda.clone(),
            place: m.place.clone(),
            online_link: m.online_link.clone(),
            lecturer: m.lecturer.clone(),
            by_secretary: m.by_secretary,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            status: m.status.as_str().into(),
            series_id: m.series_id,
            minutes: m.minutes.clone(),
            minutes_on: m.minutes_on,
        }
    }
}

/// One member's attendance; `channel` says how it came in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceOut {
    pub member_id: i64,
    pub name: String,
    /// expected, present or leave
    pub state: String,
    /// online or offline (paper list), once recorded
    pub channel: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub leave_reason: Option<String>,
    /// pending, approved or rejected
    pub leave_status: Option<String>,
}

impl From<&AttendanceView> for AttendanceOut {
    fn from(a: &AttendanceView) -> Self {
        Self {
            member_id: a.member_id,
            name: a.name.clone(),
            state: a.state.as_str().into(),
            channel: a.channel.map(|c| c.as_str().into()),
            recorded_at: a.recorded_at,
            leave_reason: a.leave_reason.clone(),
            leave_status: a.leave_status.map(|s| s.as_str().into()),
        }
    }
}

/// Attendance counts of a meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsOut {
    pub expected: u32,
    pub present: u32,
    pub online: u32,
    pub offline: u32,
    pub leave: u32,
    pub missing: u32,
}

/// A meeting with what the caller may see of its attendance.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingDetailOut {
    pub meeting: MeetingOut,
    pub counts: CountsOut,
    /// Every row, for those who manage or oversee the meeting.
    pub attendance: Vec<AttendanceOut>,
    /// The caller's own row, when expected.
    pub mine: Option<AttendanceOut>,
    /// The six-digit sign-in code, for the secretary only.
    pub signin_code: Option<String>,
    /// Path of the sign-in page with the code (what the QR code holds).
    pub signin_path: Option<String>,
    pub signin_opens_at: DateTime<Utc>,
    pub signin_closes_at: DateTime<Utc>,
    pub can_manage: bool,
    pub can_sign_in: bool,
}

impl From<MeetingDetail> for MeetingDetailOut {
    fn from(d: MeetingDetail) -> Self {
        let c = d.counts;
        Self {
            signin_path: d
                .signin_code
                .as_ref()
                .map(|code| format!("/meetings/{}/signin?code={code}", d.meeting.id)),
            meeting: MeetingOut::from(&d.meeting),
            counts: CountsOut {
                expected: c.expected,
                present: c.present,
                online: c.online,
                offline: c.offline,
                leave: c.leave,
                missing: c.missing,
            },
            attendance: d.attendance.iter().map(AttendanceOut::from).collect(),
            mine: d.mine.as_ref().map(AttendanceOut::from),
            signin_code: d.signin_code,
            signin_opens_at: d.signin_opens_at,
            signin_closes_at: d.signin_closes_at,
            can_manage: d.can_manage,
            can_sign_in: d.can_sign_in,
        }
    }
}

/// The code shown at the meeting.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInIn {
    pub code: String,
}

/// held or cancelled
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusIn {
    pub status: String,
}

/// The minutes and the date they carry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MinutesIn {
    pub text: String,
    pub dated_on: NaiveDate,
}

/// One line of the paper list.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EntryIn {
    pub member_id: i64,
    /// present or leave
    pub state: String,
    pub leave_reason: Option<String>,
}

/// The paper list entered by the secretary.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OfflineIn {
    pub entries: Vec<EntryIn>,
}

/// What an entry changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryReportOut {
    pub recorded: u32,
    pub unchanged: u32,
}

/// A leave request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LeaveIn {
    pub reason: String,
}

/// The decision on a leave request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LeaveDecisionIn {
    pub approve: bool,
}

/// One period of one requirement.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodOut {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub held: u32,
    /// met, missing, open or upcoming
    pub state: String,
}

/// Due, held and missing of one requirement.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceRowOut {
    /// A meeting kind, or secretary_lecture.
    pub requirement: String,
    pub label: String,
    pub interval_months: i32,
    pub due: u32,
    pub held: u32,
    pub missing: u32,
    pub periods: Vec<PeriodOut>,
}

/// Frequency compliance of one organization in one year.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceOut {
    pub org_code: String,
    pub org_name: String,
    pub year: i32,
    pub rows: Vec<ComplianceRowOut>,
}

impl From<&OrgCompliance> for ComplianceOut {
    fn from(c: &OrgCompliance) -> Self {
        Self {
            org_code: c.org.code.clone(),
            org_name: c.org.name.clone(),
            year: c.year,
            rows: c
                .rows
                .iter()
                .map(|r| ComplianceRowOut {
                    requirement: r.requirement.code().into(),
                    label: r.requirement.label("zh").into(),
                    interval_months: r.interval_months,
                    due: r.due,
                    held: r.held,
                    missing: r.missing,
                    periods: r
                        .periods
                        .iter()
                        .map(|p| PeriodOut {
                            start: p.start,
                            end: p.end,
                            held: p.held,
                            state: p.state.as_str().into(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// One meeting in the caller's own record.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyAttendanceOut {
    pub meeting: MeetingOut,
    pub state: String,
    pub channel: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub leave_status: Option<String>,
    /// Held, and neither present nor on approved leave.
    pub absent: bool,
}

impl From<&MyAttendance> for MyAttendanceOut {
    fn from(a: &MyAttendance) -> Self {
        Self {
            meeting: MeetingOut::from(&a.meeting),
            state: a.state.as_str().into(),
            channel: a.channel.map(|c| c.as_str().into()),
            recorded_at: a.recorded_at,
            leave_status: a.leave_status.map(|s| s.as_str().into()),
            absent: a.absent,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// YYYY-MM (default: this month, Asia/Shanghai)
    pub month: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct YearQuery {
    /// Default: this year.
    pub year: Option<i32>,
}

fn invalid(field: &str, v: &str) -> ApiError {
    ApiError(AppError::field(
        field,
        "invalid_value",
        format!("「{v}」不是有效的取值"),
        format!("{v:?} is not a valid value"),
    ))
}

pub(crate) fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("meeting")))
}

/// `YYYY-MM` as (year, month).
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    let (y, m) = (y.parse().ok()?, m.parse().ok()?);
    ((1..=12).contains(&m) && (1900..=9999).contains(&y)).then_some((y, m))
}

/// The app's input, each code checked with the field named.
pub fn to_input(b: MeetingIn) -> ApiResult<MeetingInput> {
    let kind = MeetingKind::parse(&b.kind).ok_or_else(|| invalid("kind", &b.kind))?;
    let repeat = match b.repeat.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(Repeat::parse(r).ok_or_else(|| invalid("repeat", r))?),
    };
    Ok(MeetingInput {
        kind,
        title: b.title,
        agenda: b.agenda,
        place: b.place,
        online_link: b.online_link,
        lecturer: b.lecturer,
        by_secretary: b.by_secretary,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        repeat,
        repeat_count: b.repeat_count.unwrap_or(1),
        attendee_ids: b.attendee_ids,
    })
}

/// Schedules a meeting (and its repetitions) with the expected attendees
/// taken from the roster; returns every instance.
#[utoipa::path(post, path = "/api/v1/orgs/{code}/meetings", params(("code" = String, Path)), request_body = MeetingIn, security(("bearer" = [])),
    responses((status = 201, body = Vec<MeetingOut>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<MeetingIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Vec<MeetingOut>>)> {
    let input = to_input(body(b)?)?;
    let v = st.app.schedule_meeting(&a, &code, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(v.iter().map(MeetingOut::from).collect()),
    ))
}

/// The calendar: meetings of the organization and its party groups starting
/// in one month.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/meetings", params(("code" = String, Path), MonthQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<MeetingOut>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<MonthQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<MeetingOut>>> {
    let q = query(q)?;
    let (y, m) = match q.month.as_deref() {
        None | Some("") => local_month(st.app.clock.now()),
        Some(s) => parse_month(s).ok_or_else(|| {
            ApiError::bad_request("month", "月份格式为 YYYY-MM", "month is YYYY-MM")
        })?,
    };
    let v = st.app.list_meetings(&a, &code, y, m).await?;
    Ok(Json(v.iter().map(MeetingOut::from).collect()))
}

/// Frequency compliance (DOMAIN.md §5): due, held and missing by meeting
/// type and period, for the organization and each of its party groups.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/meetings/compliance", params(("code" = String, Path), YearQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<ComplianceOut>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn compliance(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<ComplianceOut>>> {
    let q = query(q)?;
    let year = q.year.unwrap_or_else(|| local_month(st.app.clock.now()).0);
    let v = st.app.meeting_compliance(&a, &code, year).await?;
    Ok(Json(v.iter().map(ComplianceOut::from).collect()))
}

/// One meeting; the secretary gets the sign-in code and every row, a member
/// their own row.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MeetingDetailOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<MeetingDetailOut>> {
    Ok(Json(
        st.app.meeting_detail(&a, parse_id(&id)?).await?.into(),
    ))
}

/// Online sign-in of the calling member with the code shown at the meeting,
/// inside its window, once.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/signin", params(("id" = i64, Path)), request_body = SignInIn, security(("bearer" = [])),
    responses((status = 201, body = AttendanceOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn sign_in(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<SignInIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AttendanceOut>)> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let r = st.app.sign_in(&a, id, &b.code).await?;
    Ok((StatusCode::CREATED, Json(AttendanceOut::from(&r))))
}

/// Marks the meeting held (only once it has started) or cancelled.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/status", params(("id" = i64, Path)), request_body = StatusIn, security(("bearer" = [])),
    responses((status = 200, body = MeetingOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn status(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<StatusIn>, JsonRejection>,
) -> ApiResult<Json<MeetingOut>> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let to = MeetingStatus::parse(&b.status).ok_or_else(|| invalid("status", &b.status))?;
    let v = st.app.set_meeting_status(&a, id, to).await?;
    Ok(Json(MeetingOut::from(&v)))
}

/// Saved minutes: the meeting, and the near-duplicate check of the new text.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesSavedOut {
    #[serde(flatten)]
    pub meeting: MeetingOut,
    pub duplicate_check: crate::api::participation::MinutesCheckOut,
}

/// Stores the minutes, dated not before the meeting's day, and returns the
/// near-duplicate check of the new text (DOMAIN.md §5).
#[utoipa::path(put, path = "/api/v1/meetings/{id}/minutes", params(("id" = i64, Path)), request_body = MinutesIn, security(("bearer" = [])),
    responses((status = 200, body = MinutesSavedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn minutes(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<MinutesIn>, JsonRejection>,
) -> ApiResult<Json<MinutesSavedOut>> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let v = st.app.save_minutes(&a, id, &b.text, b.dated_on).await?;
    let check = st.app.minutes_check(&a, id).await?;
    Ok(Json(MinutesSavedOut {
        meeting: MeetingOut::from(&v),
        duplicate_check: (&check).into(),
    }))
}

/// The secretary enters the paper list (present, or leave approved); each
/// record keeps the offline channel, online sign-ins stay as they are.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/attendance", params(("id" = i64, Path)), request_body = OfflineIn, security(("bearer" = [])),
    responses((status = 200, body = EntryReportOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn offline(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<OfflineIn>, JsonRejection>,
) -> ApiResult<Json<EntryReportOut>> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let entries = b
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let state = AttendanceState::parse(&e.state)
                .ok_or_else(|| invalid(&format!("entries[{i}].state"), &e.state))?;
            Ok(OfflineEntry {
                member_id: e.member_id,
                state,
                leave_reason: e.leave_reason,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let r = st.app.record_offline(&a, id, entries).await?;
    Ok(Json(EntryReportOut {
        recorded: r.recorded,
        unchanged: r.unchanged,
    }))
}

/// The calling member asks for leave with a reason.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/leave", params(("id" = i64, Path)), request_body = LeaveIn, security(("bearer" = [])),
    responses((status = 201, body = AttendanceOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn leave(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<LeaveIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AttendanceOut>)> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let r = st.app.request_leave(&a, id, &b.reason).await?;
    Ok((StatusCode::CREATED, Json(AttendanceOut::from(&r))))
}

/// The secretary approves or rejects a member's pending leave request.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/leave/{member_id}", params(("id" = i64, Path), ("member_id" = i64, Path)), request_body = LeaveDecisionIn, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide_leave(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, member_id)): Path<(String, String)>,
    b: Result<Json<LeaveDecisionIn>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let member_id = member_id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    let b = body(b)?;
    st.app.decide_leave(&a, id, member_id, b.approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling member's own attendance, newest first.
#[utoipa::path(get, path = "/api/v1/me/attendance", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyAttendanceOut>), (status = 401, body = Problem)))]
pub async fn mine(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<MyAttendanceOut>>> {
    let v = st.app.my_attendance(&a).await?;
    Ok(Json(v.iter().map(MyAttendanceOut::from).collect()))
}
