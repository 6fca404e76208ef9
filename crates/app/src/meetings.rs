//! Organizational life (三会一课, DOMAIN.md §5): schedule meetings (with
//! monthly or quarterly repetition) and their expected attendees from the
//! roster; attendance on two tracks — online sign-in by a six-digit code
//! inside the meeting's window, offline entry from the paper list by the
//! secretary — and leave requests with approval, each record keeping its
//! channel; status (held, cancelled) and minutes under the checks of
//! `dangjian_domain::meetings`; frequency compliance per organization and
//! year; a member's own attendance.
//!
//! Access: the secretary (or committee staff, administrators) of the
//! organization manages its meetings; those who may list its members read
//! them; a member reads and signs in to the meetings of their own branch and
//! its groups only. Anything else is `NotFound`.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use dangjian_domain::meetings::{
    self as dm, AttendanceState, Channel, Compliance, HeldMeeting, LeaveStatus, MeetingKind,
    MeetingStatus, OtherMeeting, Repeat, Window,
};
use dangjian_domain::orgs::OrgKind;
use dangjian_domain::warnings::{RuleId, SubjectKind};
use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::entities::{meeting, meeting_attendance, org};
use dangjian_store::repo::meetings::{self as repo, Record};
use dangjian_store::repo::{audit, orgs as orepo};
use sea_orm::{ConnectionTrait, Set};
use serde::Serialize;

use crate::clock::{china_offset, to_local};
use crate::orgs::OrgView;
use crate::warnings::{
    EngineCounts, Overrides, SweepReport, load_overrides, path_ids, reconcile_subjects,
    settings_for,
};
use crate::{Actor, App, AppError};

pub mod signin;

/// The warning rule this module raises (DOMAIN.md §5, §9).
pub const MEETING_RULES: &[RuleId] = &[RuleId::MeetingFrequency];

/// Organizations evaluated per page (and per transaction) by the sweep.
pub const SWEEP_PAGE: u64 = 2000;

/// Longest title, place and lecturer name, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Years a meeting may take place in (keeps date arithmetic far from its limits).
pub const YEAR_MIN: i32 = 1949;
pub const YEAR_MAX: i32 = 2199;
/// Longest agenda and leave reason, in characters.
pub const AGENDA_MAX_CHARS: usize = 5000;
/// Longest minutes, in characters.
pub const MINUTES_MAX_CHARS: usize = 50_000;
/// Longest online link.
pub const LINK_MAX_CHARS: usize = 500;

/// Wrong sign-in codes a member may try for one meeting; then only the
/// secretary's paper list can record them (a six-digit code must not be
/// guessable from a phone at home).
pub const MAX_FAILED_CODES: i32 = 5;

/// Stages that attend organizational life by default (DOMAIN.md §3, §5).
const ATTENDING_STAGES: &[&str] = &["probationary", "full"];

/// A meeting to schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MeetingInput {
    pub kind: MeetingKind,
    pub title: String,
    pub agenda: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// Who gives a party lecture.
    pub lecturer: Option<String>,
    /// A party lecture given by the branch secretary (counts for the
    /// yearly secretary lecture, DOMAIN.md §5).
    pub by_secretary: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub repeat: Option<Repeat>,
    /// Instances in all, the first included (1 when not repeated).
    pub repeat_count: u32,
    /// Expected attendees, when not the whole roster (a party group's
    /// members for a group meeting, the committee in office for a
    /// committee meeting).
    pub attendee_ids: Option<Vec<i64>>,
}

/// How many attendance rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AttendanceCounts {
    pub expected: u32,
    pub present: u32,
    pub online: u32,
    pub offline: u32,
    pub leave: u32,
    /// Not recorded (absent once the meeting is held).
    pub missing: u32,
}

/// A meeting as users see it.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingView {
    pub id: i64,
    pub org: OrgView,
    pub kind: MeetingKind,
    pub title: String,
    pub agenda: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    pub lecturer: Option<String>,
    pub by_secretary: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: MeetingStatus,
    pub series_id: Option<i64>,
    pub minutes: Option<String>,
    pub minutes_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

/// One member's attendance of one meeting.
#[derive(Debug, Clone, Serialize)]
pub struct AttendanceView {
    pub member_id: i64,
    pub name: String,
    pub state: AttendanceState,
    pub channel: Option<Channel>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub leave_reason: Option<String>,
    pub leave_status: Option<LeaveStatus>,
}

/// A meeting with what the viewer may see of its attendance.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingDetail {
    pub meeting: MeetingView,
    pub counts: AttendanceCounts,
    /// Every row for those who manage or oversee the meeting; empty for a member.
    pub attendance: Vec<AttendanceView>,
    /// The viewer's own row, when they are expected.
    pub mine: Option<AttendanceView>,
    /// The sign-in code, for those who manage the meeting only.
    pub signin_code: Option<String>,
    pub signin_opens_at: DateTime<Utc>,
    pub signin_closes_at: DateTime<Utc>,
    pub can_manage: bool,
    /// The viewer is expected, not yet present, and the window is open.
    pub can_sign_in: bool,
}

/// One line of the paper list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct OfflineEntry {
    pub member_id: i64,
    /// Present or on leave (an approved leave, entered by the secretary).
    pub state: AttendanceState,
    pub leave_reason: Option<String>,
}

/// What an offline entry changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EntryReport {
    pub recorded: u32,
    /// Already recorded that way (an online sign-in is kept as it is).
    pub unchanged: u32,
}

/// Frequency compliance of one organization.
#[derive(Debug, Clone, Serialize)]
pub struct OrgCompliance {
    pub org: OrgView,
    pub year: i32,
    pub rows: Vec<Compliance>,
}

/// One meeting in a member's own record.
#[derive(Debug, Clone, Serialize)]
pub struct MyAttendance {
    pub meeting: MeetingView,
    pub state: AttendanceState,
    pub channel: Option<Channel>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub leave_status: Option<LeaveStatus>,
    /// Held, and neither present nor on approved leave.
    pub absent: bool,
}

/// What the viewer may do with a meeting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub(crate) manage: bool,
    pub(crate) oversee: bool,
}

impl Actor {
    /// May sign in to and read the meetings of the organization at `path`:
    /// a member of it, or of the branch it is a party group of.
    pub fn attends(&self, path: &str) -> bool {
        self.member_id.is_some()
            && self.grants.iter().any(|g| {
                g.role == dangjian_domain::identity::Role::Member && path.starts_with(&g.org_path)
            })
    }
}

fn local_text(t: DateTime<Utc>) -> String {
    to_local(t).format("%Y-%m-%d %H:%M").to_string()
}

/// The UTC instant of local midnight starting `d`.
pub fn local_midnight(d: NaiveDate) -> DateTime<Utc> {
    china_offset()
        .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn locked() -> AppError {
    AppError::Conflict(FieldError::new(
        "code",
        "too_many_attempts",
        format!("签到码错误已达{MAX_FAILED_CODES}次，线上签到已锁定，请由支部书记登记"),
        format!(
            "{MAX_FAILED_CODES} wrong codes: online sign-in is locked; the secretary can record you from the paper list"
        ),
    ))
}

fn corrupt(id: i64) -> AppError {
    AppError::Internal(format!("meeting {id} has unreadable stored fields"))
}

pub(crate) fn view(m: &meeting::Model, o: &org::Model) -> Result<MeetingView, AppError> {
    Ok(MeetingView {
        id: m.id,
        org: OrgView::from_model(o),
        kind: MeetingKind::parse(&m.kind).ok_or_else(|| corrupt(m.id))?,
        title: m.title.clone(),
        agenda: m.agenda.clone(),
        place: m.place.clone(),
        online_link: m.online_link.clone(),
        lecturer: m.lecturer.clone(),
        by_secretary: m.by_secretary,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        status: MeetingStatus::parse(&m.status).ok_or_else(|| corrupt(m.id))?,
        series_id: m.series_id,
        minutes: m.minutes.clone(),
        minutes_on: m.minutes_on,
        created_at: m.created_at,
    })
}

fn att_view(a: &meeting_attendance::Model, name: String) -> AttendanceView {
    AttendanceView {
        member_id: a.member_id,
        name,
        state: AttendanceState::parse(&a.state).unwrap_or(AttendanceState::Expected),
        channel: a.channel.as_deref().and_then(Channel::parse),
        recorded_at: a.recorded_at,
        leave_reason: a.leave_reason.clone(),
        leave_status: a.leave_status.as_deref().and_then(LeaveStatus::parse),
    }
}

fn window_of(m: &meeting::Model) -> Window {
    Window {
        starts_at: m.starts_at,
        ends_at: m.ends_at,
    }
}

fn too_long(field: &str, what_zh: &str, what_en: &str, max: usize) -> FieldError {
    FieldError::new(
        field,
        "too_long",
        format!("{what_zh}不超过{max}个字"),
        format!("{what_en} has at most {max} characters"),
    )
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The schedule's checks of its own fields (the window in the domain).
fn validate_input(i: &MeetingInput) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    let title = i.title.trim();
    if title.is_empty() {
        e.push(FieldError::new(
            "title",
            "required",
            "请填写会议名称",
            "The title is required",
        ));
    } else if title.chars().count() > TITLE_MAX_CHARS {
        e.push(too_long("title", "会议名称", "The title", TITLE_MAX_CHARS));
    }
    if i.agenda.chars().count() > AGENDA_MAX_CHARS {
        e.push(too_long("agenda", "议程", "The agenda", AGENDA_MAX_CHARS));
    }
    let place = trimmed(&i.place);
    let link = trimmed(&i.online_link);
    if place.is_none() && link.is_none() {
        e.push(FieldError::new(
            "place",
            "required",
            "请填写会议地点或线上会议链接",
            "Give a place or an online link",
        ));
    }
    if place
        .as_deref()
        .is_some_and(|p| p.chars().count() > TITLE_MAX_CHARS)
    {
        e.push(too_long("place", "会议地点", "The place", TITLE_MAX_CHARS));
    }
    if let Some(l) = &link {
        if l.chars().count() > LINK_MAX_CHARS {
            e.push(too_long("online_link", "链接", "The link", LINK_MAX_CHARS));
        } else if !(l.starts_with("https://") || l.starts_with("http://")) {
            e.push(FieldError::new(
                "online_link",
                "invalid_link",
                "线上会议链接须以 https:// 或 http:// 开头",
                "The online link must start with https:// or http://",
            ));
        }
    }
    if trimmed(&i.lecturer).is_some_and(|p| p.chars().count() > TITLE_MAX_CHARS) {
        e.push(too_long(
            "lecturer",
            "主讲人",
            "The lecturer",
            TITLE_MAX_CHARS,
        ));
    }
    if i.by_secretary && i.kind != MeetingKind::PartyLecture {
        e.push(FieldError::new(
            "by_secretary",
            "not_lecture",
            "只有党课可以标记为书记讲党课",
            "Only a party lecture can be given by the secretary",
        ));
    }
    let sane = |t: DateTime<Utc>| (YEAR_MIN..=YEAR_MAX).contains(&t.year());
    if !sane(i.starts_at) || !sane(i.ends_at) {
        e.push(FieldError::new(
            "starts_at",
            "out_of_range",
            format!("会议时间须在{YEAR_MIN}年至{YEAR_MAX}年之间"),
            format!("Meetings take place between {YEAR_MIN} and {YEAR_MAX}"),
        ));
    } else if let Err(w) = (Window {
        starts_at: i.starts_at,
        ends_at: i.ends_at,
    })
    .validate()
    {
        e.push(w);
    }
    if i.repeat.is_some() && !(1..=dm::REPEAT_MAX).contains(&i.repeat_count) {
        e.push(FieldError::new(
            "repeat_count",
            "out_of_range",
            format!("重复次数为1至{}次", dm::REPEAT_MAX),
            format!("Repeat 1 to {} times", dm::REPEAT_MAX),
        ));
    }
    e
}

/// A fresh six-digit sign-in code.
fn new_code() -> Result<String, AppError> {
    let b = crate::identity::random_bytes::<4>()?;
    Ok(dm::signin_code(u32::from_le_bytes(b)))
}

impl App {
    /// An organization that holds meetings, if the actor manages it.
    pub(crate) async fn managed_org(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<org::Model, AppError> {
        let o = orepo::by_code(&self.db.conn, code)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if actor.can_manage_members(&o.path) {
            Ok(o)
        } else if actor.can_list_members(&o.path) || actor.attends(&o.path) {
            Err(AppError::Forbidden)
        } else {
            Err(AppError::NotFound("organization"))
        }
    }

    /// An organization whose calendar the actor may read.
    pub(crate) async fn calendar_org(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<org::Model, AppError> {
        let o = orepo::by_code(&self.db.conn, code)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if actor.can_list_members(&o.path) || actor.attends(&o.path) {
            Ok(o)
        } else {
            Err(AppError::NotFound("organization"))
        }
    }

    /// A meeting, its organization and what the actor may do; 404 when the
    /// actor may not see it.
    pub(crate) async fn visible_meeting(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(meeting::Model, org::Model, Access), AppError> {
        let m = repo::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("meeting"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("meeting"))?;
        let access = Access {
            manage: actor.can_manage_members(&o.path),
            oversee: actor.can_list_members(&o.path),
        };
        if !access.oversee && !actor.attends(&o.path) {
            return Err(AppError::NotFound("meeting"));
        }
        Ok((m, o, access))
    }

    /// The organization itself and its party groups (a branch's calendar
    /// shows its groups' meetings too).
    async fn calendar_orgs(&self, o: &org::Model) -> Result<Vec<org::Model>, AppError> {
        let mut v = vec![o.clone()];
        if o.kind != OrgKind::Group.as_str() {
            v.extend(
                orepo::children(&self.db.conn, o.id)
                    .await?
                    .into_iter()
                    .filter(|c| c.kind == OrgKind::Group.as_str() && c.status == "active"),
            );
        }
        Ok(v)
    }

    /// Schedules a meeting of `code` (and its repetitions), with one
    /// attendance row per expected member; audited. Returns the instances.
    pub async fn schedule_meeting(
        &self,
        actor: &Actor,
        code: &str,
        input: MeetingInput,
    ) -> Result<Vec<MeetingView>, AppError> {
        let o = self.managed_org(actor, code).await?;
        let mut errs = validate_input(&input);
        let kind = OrgKind::parse(&o.kind).unwrap_or(OrgKind::Branch);
        let is_group = kind == OrgKind::Group;
        if o.status != "active" {
            errs.push(FieldError::new(
                "org",
                "dissolved",
                "该组织已撤销",
                "The organization is dissolved",
            ));
        }
        if (input.kind == MeetingKind::GroupMeeting) != is_group {
            errs.push(FieldError::new(
                "kind",
                "wrong_org_kind",
                "党小组会由党小组召开，其他会议由支部（或党总支、党委）召开",
                "A party group meeting is held by a party group; other meetings by a branch (or general branch, committee)",
            ));
        }
        if !is_group && !kind.is_grassroots() {
            errs.push(FieldError::new(
                "org",
                "not_grassroots",
                "三会一课由基层党组织召开",
                "Organizational life is held by grassroots organizations",
            ));
        }
        // A committee meeting expects the committee in office (DOMAIN.md §2,
        // §5); a list given by the secretary is used as given.
        let mut committee = Vec::new();
        if input.kind == MeetingKind::CommitteeMeeting {
            committee = dangjian_store::repo::votes::committee_now(&self.db.conn, o.id)
                .await?
                .into_iter()
                .map(|s| s.member_id)
                .collect::<Vec<i64>>();
            if !o.has_committee {
                errs.push(FieldError::new(
                    "kind",
                    "no_committee",
                    "该支部未设支部委员会",
                    "This branch has no committee",
                ));
            } else if committee.is_empty()
                && input.attendee_ids.as_ref().is_none_or(|v| v.is_empty())
            {
                errs.push(FieldError::new(
                    "attendee_ids",
                    "required",
                    "支部委员会会议请选择参会的支委，或先登记支委名单",
                    "Name the committee members attending, or record the committee first",
                ));
            }
        }
        let roster = repo::roster_ids(&self.db.conn, o.id, is_group, ATTENDING_STAGES).await?;
        let expected: Vec<i64> = match &input.attendee_ids {
            Some(ids) if !ids.is_empty() => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                let strangers: Vec<String> = ids
                    .iter()
                    .filter(|i| roster.binary_search(i).is_err())
                    .map(i64::to_string)
                    .collect();
                if !strangers.is_empty() {
                    let list = strangers.join(", ");
                    errs.push(FieldError::new(
                        "attendee_ids",
                        "not_in_roster",
                        format!("以下编号不是本组织在册的党员：{list}"),
                        format!("Not active members of this organization: {list}"),
                    ));
                }
                ids
            }
            _ if input.kind == MeetingKind::CommitteeMeeting => {
                committee.sort_unstable();
                committee
            }
            _ => roster,
        };
        errs.into_result()?;
        let starts = dm::repeat_starts(
            input.starts_at,
            input.repeat,
            if input.repeat.is_some() {
                input.repeat_count
            } else {
                1
            },
        );
        let length = input.ends_at - input.starts_at;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let mut rows = Vec::with_capacity(starts.len());
        let mut series = None;
        for s in starts {
            let row = repo::insert(
                &tx,
                meeting::ActiveModel {
                    org_id: Set(o.id),
                    kind: Set(input.kind.as_str().into()),
                    title: Set(input.title.trim().to_string()),
                    agenda: Set(input.agenda.trim().to_string()),
                    place: Set(trimmed(&input.place)),
                    online_link: Set(trimmed(&input.online_link)),
                    lecturer: Set(trimmed(&input.lecturer)),
                    by_secretary: Set(input.by_secretary),
                    starts_at: Set(s),
                    ends_at: Set(s.checked_add_signed(length).unwrap_or(s)),
                    status: Set(MeetingStatus::Scheduled.as_str().into()),
                    signin_code: Set(new_code()?),
                    series_id: Set(series),
                    minutes: Set(None),
                    minutes_on: Set(None),
                    created_by: Set(actor.audit_id()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            let row = if input.repeat.is_some() && series.is_none() {
                series = Some(row.id);
                let mut am: meeting::ActiveModel = row.into();
                am.series_id = Set(series);
                repo::update(&tx, am).await?
            } else {
                row
            };
            repo::add_expected(&tx, row.id, &expected).await?;
            rows.push(row);
        }
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.schedule".into(),
                target_kind: "meeting".into(),
                target_id: rows.first().map(|r| r.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "kind": input.kind.as_str(),
                    "instances": rows.len(),
                    "expected": expected.len(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        rows.iter().map(|r| view(r, &o)).collect()
    }

    /// Who a meeting of `code` expects by default (active full and
    /// probationary members; of the group for a party group), id and name,
    /// for the secretary choosing attendees.
    pub async fn meeting_roster(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<(i64, String)>, AppError> {
        let o = self.managed_org(actor, code).await?;
        let ids = repo::roster_ids(
            &self.db.conn,
            o.id,
            o.kind == OrgKind::Group.as_str(),
            ATTENDING_STAGES,
        )
        .await?;
        let mut v = repo::member_names(&self.db.conn, &ids).await?;
        v.sort_unstable();
        Ok(v)
    }

    /// The meetings of `code` and its party groups starting in the local
    /// month `year`-`month`, by start.
    pub async fn list_meetings(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
        month: u32,
    ) -> Result<Vec<MeetingView>, AppError> {
        let o = self.calendar_org(actor, code).await?;
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| {
            AppError::field(
                "month",
                "invalid_month",
                "月份无效",
                "month is not valid (YYYY-MM)",
            )
        })?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| {
                AppError::field("month", "invalid_month", "月份无效", "month is not valid")
            })?;
        let orgs = self.calendar_orgs(&o).await?;
        let ids: Vec<i64> = orgs.iter().map(|o| o.id).collect();
        let rows = repo::in_range(
            &self.db.conn,
            &ids,
            local_midnight(first),
            local_midnight(next),
        )
        .await?;
        rows.iter()
            .map(|m| {
                let mo = orgs.iter().find(|x| x.id == m.org_id).unwrap_or(&o);
                view(m, mo)
            })
            .collect()
    }

    /// One meeting with what the actor may see of its attendance.
    pub async fn meeting_detail(&self, actor: &Actor, id: i64) -> Result<MeetingDetail, AppError> {
        let (m, o, access) = self.visible_meeting(actor, id).await?;
        let see_all = access.manage || access.oversee;
        // A member's phone reads its own row and the counts, never the
        // whole list (5,000 phones open this page in the same minute).
        let rows = if see_all {
            repo::attendance(&self.db.conn, id).await?
        } else {
            match actor.member_id {
                Some(me) => repo::attendance_row(&self.db.conn, id, me)
                    .await?
                    .into_iter()
                    .collect(),
                None => Vec::new(),
            }
        };
        let mut counts = AttendanceCounts::default();
        for (state, channel, n) in repo::state_counts(&self.db.conn, id).await? {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            counts.expected += n;
            match AttendanceState::parse(&state) {
                Some(AttendanceState::Present) => {
                    counts.present += n;
                    match channel.as_deref().and_then(Channel::parse) {
                        Some(Channel::Online) => counts.online += n,
                        _ => counts.offline += n,
                    }
                }
                Some(AttendanceState::Leave) => counts.leave += n,
                _ => counts.missing += n,
            }
        }
        let mine_row = actor
            .member_id
            .and_then(|me| rows.iter().find(|r| r.member_id == me));
        let wanted: Vec<i64> = if see_all {
            rows.iter().map(|r| r.member_id).collect()
        } else {
            mine_row.iter().map(|r| r.member_id).collect()
        };
        let names: std::collections::HashMap<i64, String> =
            repo::member_names(&self.db.conn, &wanted)
                .await?
                .into_iter()
                .collect();
        let name_of = |id: i64| names.get(&id).cloned().unwrap_or_default();
        let attendance = if see_all {
            rows.iter()
                .map(|r| att_view(r, name_of(r.member_id)))
                .collect()
        } else {
            Vec::new()
        };
        let mine = mine_row.map(|r| att_view(r, name_of(r.member_id)));
        let w = window_of(&m);
        let (open, close) = w.signin_window();
        let now = self.clock.now();
        let meeting = view(&m, &o)?;
        let can_sign_in = meeting.status != MeetingStatus::Cancelled
            && now >= open
            && now <= close
            && actor.attends(&o.path)
            && mine
                .as_ref()
                .is_some_and(|r| r.state != AttendanceState::Present);
        Ok(MeetingDetail {
            meeting,
            counts,
            attendance,
            mine,
            signin_code: access.manage.then(|| m.signin_code.clone()),
            signin_opens_at: open,
            signin_closes_at: close,
            can_manage: access.manage,
            can_sign_in,
        })
    }

    /// Refuses presence of `member_id` at `m` when they are already present
    /// at an overlapping meeting (DOMAIN.md §5), reading in `c`.
    async fn check_overlap<C: ConnectionTrait>(
        &self,
        c: &C,
        m: &meeting::Model,
        member_id: i64,
        who: Option<&str>,
    ) -> Result<(), AppError> {
        let others: Vec<OtherMeeting> =
            repo::present_overlapping(c, member_id, m.id, m.starts_at, m.ends_at)
                .await?
                .into_iter()
                .map(|o| OtherMeeting {
                    id: o.id,
                    title: o.title.clone(),
                    window: window_of(&o),
                })
                .collect();
        if let Some(mut e) = dm::overlap_error(&window_of(m), &others, &local_text) {
            if let Some(name) = who {
                e.message_zh = format!("{name}：{}", e.message_zh);
                e.message_en = format!("{name}: {}", e.message_en);
            }
            return Err(AppError::Conflict(e));
        }
        Ok(())
    }

    /// A meeting and its organization for a sign-in, from the meeting
    /// cache when read in the last few seconds (see [`crate::caches`]);
    /// `NotFound` unless the actor may see the meeting.
    async fn signin_meeting(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<std::sync::Arc<(meeting::Model, org::Model)>, AppError> {
        let cache = &self.caches.meetings;
        let mo = match cache.get(&id, std::time::Instant::now()) {
            Some(mo) => mo,
            None => {
                let generation = cache.generation();
                let m = repo::get(&self.db.conn, id)
                    .await?
                    .ok_or(AppError::NotFound("meeting"))?;
                let o = orepo::get(&self.db.conn, m.org_id)
                    .await?
                    .ok_or(AppError::NotFound("meeting"))?;
                let mo = std::sync::Arc::new((m, o));
                cache.put(id, mo.clone(), generation, std::time::Instant::now());
                mo
            }
        };
        if !actor.can_list_members(&mo.1.path) && !actor.attends(&mo.1.path) {
            return Err(AppError::NotFound("meeting"));
        }
        Ok(mo)
    }

    /// Forgets the cached meetings (see [`crate::caches`]); called after
    /// each write of a meeting row or an organization.
    pub fn meetings_changed(&self) {
        self.caches.meetings.clear();
    }

    /// Online sign-in of the acting member with the meeting's code, inside
    /// its window, once (DOMAIN.md §5). The record keeps the online channel.
    ///
    /// The checks that need no lock run here (the meeting from a short-lived
    /// cache); the write joins the group commit of [`signin`], which checks
    /// the meeting, window, overlap and row again under the write lock and
    /// answers once the batch is committed.
    pub async fn sign_in(
        &self,
        actor: &Actor,
        id: i64,
        code: &str,
    ) -> Result<AttendanceView, AppError> {
        let mo = self.signin_meeting(actor, id).await?;
        let (m, o) = (&mo.0, &mo.1);
        let member_id = match actor.member_id {
            Some(me) if actor.attends(&o.path) => me,
            _ => {
                return Err(AppError::Conflict(FieldError::new(
                    "member_id",
                    "not_a_member",
                    "只有本组织的党员可以签到",
                    "Only members of this organization sign in",
                )));
            }
        };
        if m.status == MeetingStatus::Cancelled.as_str() {
            return Err(AppError::Conflict(FieldError::new(
                "status",
                "cancelled",
                "会议已取消",
                "The meeting was cancelled",
            )));
        }
        let code = code.trim();
        if !dm::is_code_shape(code) || code != m.signin_code {
            let (_writer, tx) = self.begin_write().await?;
            let n = repo::add_failed_code(&tx, m.id, member_id).await?;
            tx.commit().await?;
            if n.is_some_and(|n| n >= MAX_FAILED_CODES) {
                return Err(locked());
            }
            return Err(AppError::field(
                "code",
                "wrong_code",
                "签到码不正确",
                "The sign-in code is wrong",
            ));
        }
        let now = self.clock.now();
        if let Some(e) = dm::signin_time_error(&window_of(m), now, &local_text) {
            return Err(AppError::Validation(ValidationErrors(vec![e])));
        }
        let recorded_at = self
            .commit_sign_in(signin::Pending {
                by: actor.audit_id(),
                meeting_id: m.id,
                member_id,
                now,
            })
            .await?;
        Ok(AttendanceView {
            member_id,
            name: actor.display_name.clone(),
            state: AttendanceState::Present,
            channel: Some(Channel::Online),
            recorded_at: Some(recorded_at),
            leave_reason: None,
            leave_status: None,
        })
    }

    /// The secretary enters the paper list: members present (or on leave,
    /// approved) with the offline channel, in one transaction; a member
    /// already signed in online keeps that record. Refused for a meeting
    /// that has not started or was cancelled, and for a member present at an
    /// overlapping meeting (the message names both). Audited.
    pub async fn record_offline(
        &self,
        actor: &Actor,
        id: i64,
        entries: Vec<OfflineEntry>,
    ) -> Result<EntryReport, AppError> {
        let (m, o, access) = self.visible_meeting(actor, id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        let now = self.clock.now();
        if m.status == MeetingStatus::Cancelled.as_str() {
            return Err(AppError::Conflict(FieldError::new(
                "status",
                "cancelled",
                "会议已取消，不能登记出席",
                "The meeting was cancelled; no attendance can be recorded",
            )));
        }
        if m.starts_at > now {
            return Err(AppError::field(
                "entries",
                "meeting_in_future",
                format!("会议尚未开始（{}），不能登记出席", local_text(m.starts_at)),
                format!(
                    "The meeting has not started yet ({}); attendance cannot be recorded",
                    local_text(m.starts_at)
                ),
            ));
        }
        let mut errs = ValidationErrors::default();
        for (i, e) in entries.iter().enumerate() {
            if e.state == AttendanceState::Expected {
                errs.push(FieldError::new(
                    format!("entries[{i}].state"),
                    "invalid_value",
                    "只能登记出席或请假",
                    "Record present or on leave",
                ));
            }
            if e.leave_reason
                .as_deref()
                .is_some_and(|r| r.chars().count() > AGENDA_MAX_CHARS)
            {
                errs.push(too_long(
                    &format!("entries[{i}].leave_reason"),
                    "请假事由",
                    "The reason",
                    AGENDA_MAX_CHARS,
                ));
            }
        }
        errs.into_result()?;
        let rows = repo::attendance(&self.db.conn, id).await?;
        let ids: Vec<i64> = entries.iter().map(|e| e.member_id).collect();
        let names: std::collections::HashMap<i64, String> = repo::member_names(&self.db.conn, &ids)
            .await?
            .into_iter()
            .collect();
        let mut report = EntryReport::default();
        let (_writer, tx) = self.begin_write().await?;
        // PostgreSQL: the members' presence locks before their overlap
        // checks, as the sign-in batches take them (see `signin`).
        repo::lock_presence(&tx, &ids).await?;
        for (i, e) in entries.iter().enumerate() {
            let Some(row) = rows.iter().find(|r| r.member_id == e.member_id) else {
                return Err(AppError::field(
                    &format!("entries[{i}].member_id"),
                    "not_expected",
                    format!("编号 {} 不在本次会议的应到名单上", e.member_id),
                    format!(
                        "No. {} is not on this meeting's attendance list",
                        e.member_id
                    ),
                ));
            };
            let name = names.get(&e.member_id).map(String::as_str);
            let r = match e.state {
                AttendanceState::Present => {
                    if row.state == "present" {
                        report.unchanged += 1;
                        continue;
                    }
                    self.check_overlap(&tx, &m, e.member_id, name).await?;
                    Record {
                        state: "present",
                        channel: Channel::Offline.as_str(),
                        at: now,
                        by: actor.audit_id(),
                        leave_reason: None,
                        leave_status: None,
                    }
                }
                _ => {
                    if row.state == "present" {
                        return Err(AppError::Conflict(FieldError::new(
                            format!("entries[{i}].state"),
                            "already_present",
                            format!("{}已登记出席，不能再登记请假", name.unwrap_or("")),
                            format!("{} is recorded present; not on leave", name.unwrap_or("")),
                        )));
                    }
                    Record {
                        state: "leave",
                        channel: Channel::Offline.as_str(),
                        at: now,
                        by: actor.audit_id(),
                        leave_reason: trimmed(&e.leave_reason),
                        leave_status: Some(LeaveStatus::Approved.as_str()),
                    }
                }
            };
            let r = Record {
                leave_reason: r.leave_reason.or_else(|| match r.state {
                    "leave" => row.leave_reason.clone(),
                    _ => None,
                }),
                ..r
            };
            if repo::record(&tx, m.id, e.member_id, &["expected", "leave"], None, r).await? {
                report.recorded += 1;
            } else {
                report.unchanged += 1;
            }
        }
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.attendance_offline".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"recorded": report.recorded, "unchanged": report.unchanged}),
            },
            now,
        )
        .await?;
        if self.config.evaluate_rules_on_write && m.status == MeetingStatus::Held.as_str() {
            crate::participation::evaluate_meeting_members(&tx, m.id, self.today(), now).await?;
        }
        // Recorded after the meeting was marked held: certificates now.
        self.issue_certificates_in(&tx, actor.audit_id(), &m, &o, None, now)
            .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The acting member asks for leave (请假) with a reason, before the
    /// meeting ends; the secretary approves or rejects it.
    pub async fn request_leave(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<AttendanceView, AppError> {
        let (m, o, _) = self.visible_meeting(actor, id).await?;
        let Some(member_id) = actor.member_id.filter(|_| actor.attends(&o.path)) else {
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "not_a_member",
                "只有本组织的党员可以请假",
                "Only members of this organization ask for leave",
            )));
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::field(
                "reason",
                "required",
                "请填写请假事由",
                "Give a reason",
            ));
        }
        if reason.chars().count() > AGENDA_MAX_CHARS {
            return Err(AppError::Validation(ValidationErrors(vec![too_long(
                "reason",
                "请假事由",
                "The reason",
                AGENDA_MAX_CHARS,
            )])));
        }
        let now = self.clock.now();
        if m.status != MeetingStatus::Scheduled.as_str() || now > m.ends_at {
            return Err(AppError::Conflict(FieldError::new(
                "status",
                "closed",
                "会议已结束或已取消，不能请假",
                "The meeting is over or cancelled; leave cannot be requested",
            )));
        }
        let (_writer, tx) = self.begin_write().await?;
        let changed = repo::record(
            &tx,
            m.id,
            member_id,
            &["expected"],
            None,
            Record {
                state: "leave",
                channel: Channel::Online.as_str(),
                at: now,
                by: actor.audit_id(),
                leave_reason: Some(reason.to_string()),
                leave_status: Some(LeaveStatus::Pending.as_str()),
            },
        )
        .await?;
        if !changed {
            drop(tx);
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "already_recorded",
                "您已签到或已请假，或不在应到名单上",
                "You are already recorded (present or on leave), or not on the list",
            )));
        }
        tx.commit().await?;
        Ok(AttendanceView {
            member_id,
            name: actor.display_name.clone(),
            state: AttendanceState::Leave,
            channel: Some(Channel::Online),
            recorded_at: Some(now),
            leave_reason: Some(reason.to_string()),
            leave_status: Some(LeaveStatus::Pending),
        })
    }

    /// The secretary approves or rejects a pending leave request; audited.
    pub async fn decide_leave(
        &self,
        actor: &Actor,
        id: i64,
        member_id: i64,
        approve: bool,
    ) -> Result<(), AppError> {
        let (m, o, access) = self.visible_meeting(actor, id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        let status = if approve {
            LeaveStatus::Approved
        } else {
            LeaveStatus::Rejected
        };
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        if !repo::decide_leave(&tx, m.id, member_id, status.as_str(), actor.audit_id()).await? {
            drop(tx);
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "no_pending_leave",
                "该党员没有待批准的请假",
                "This member has no pending leave request",
            )));
        }
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.leave_decision".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"member_id": member_id, "status": status.as_str()}),
            },
            now,
        )
        .await?;
        if self.config.evaluate_rules_on_write && m.status == MeetingStatus::Held.as_str() {
            crate::participation::evaluate_meeting_members(&tx, m.id, self.today(), now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a meeting held (only once it has started) or cancelled; audited.
    pub async fn set_meeting_status(
        &self,
        actor: &Actor,
        id: i64,
        to: MeetingStatus,
    ) -> Result<MeetingView, AppError> {
        let (m, o, access) = self.visible_meeting(actor, id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        let from = MeetingStatus::parse(&m.status).ok_or_else(|| corrupt(m.id))?;
        let now = self.clock.now();
        dm::transition(from, to, &window_of(&m), now, &local_text).map_err(|e| match e.code {
            "invalid_transition" => AppError::Conflict(e),
            _ => AppError::Validation(ValidationErrors(vec![e])),
        })?;
        let (_writer, tx) = self.begin_write().await?;
        let mut am: meeting::ActiveModel = m.clone().into();
        am.status = Set(to.as_str().into());
        am.updated_at = Set(now);
        let row = repo::update(&tx, am).await?;
        // Certificates of organizational life for everyone present (issue 6).
        let issued = self
            .issue_certificates_in(&tx, actor.audit_id(), &row, &o, None, now)
            .await?;
        if self.config.evaluate_rules_on_write {
            let overrides = load_overrides(&tx, Some(&path_ids(&o.path))).await?;
            evaluate_frequency(&tx, std::slice::from_ref(&o), &overrides, self.today(), now)
                .await?;
            crate::participation::evaluate_meeting_members(&tx, m.id, self.today(), now).await?;
        }
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.status".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"from": from.as_str(), "to": to.as_str(), "certificates_issued": issued}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.meetings_changed();
        view(&row, &o)
    }

    /// Stores the minutes of a meeting, dated `dated_on` (not before the
    /// meeting's day, not after today); audited.
    pub async fn save_minutes(
        &self,
        actor: &Actor,
        id: i64,
        text: &str,
        dated_on: NaiveDate,
    ) -> Result<MeetingView, AppError> {
        let (m, o, access) = self.visible_meeting(actor, id).await?;
        if !access.manage {
            return Err(AppError::Forbidden);
        }
        let text = text.trim();
        let mut errs = ValidationErrors::default();
        if text.is_empty() {
            errs.push(FieldError::new(
                "text",
                "required",
                "请填写会议记录",
                "The minutes are empty",
            ));
        } else if text.chars().count() > MINUTES_MAX_CHARS {
            errs.push(too_long(
                "text",
                "会议记录",
                "The minutes",
                MINUTES_MAX_CHARS,
            ));
        }
        let status = MeetingStatus::parse(&m.status).ok_or_else(|| corrupt(m.id))?;
        let day = to_local(m.starts_at).date_naive();
        if let Some(e) = dm::minutes_error(status, day, dated_on, self.today()) {
            if e.code == "cancelled" {
                return Err(AppError::Conflict(e));
            }
            errs.push(e);
        }
        errs.into_result()?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let mut am: meeting::ActiveModel = m.clone().into();
        am.minutes = Set(Some(text.to_string()));
        am.minutes_on = Set(Some(dated_on));
        am.updated_at = Set(now);
        let row = repo::update(&tx, am).await?;
        crate::minutes::store_signature(&tx, m.id, o.id, text, now).await?;
        crate::minutes::reconcile_duplicate_warning(&tx, m.id, o.id, self.today(), now).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "meeting.minutes".into(),
                target_kind: "meeting".into(),
                target_id: Some(m.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"dated_on": dated_on, "chars": text.chars().count()}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.meetings_changed();
        view(&row, &o)
    }

    /// Frequency compliance (DOMAIN.md §5) of `code` in `year` on today,
    /// and of each of its party groups, with the thresholds in force.
    pub async fn meeting_compliance(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
    ) -> Result<Vec<OrgCompliance>, AppError> {
        let o = self.calendar_org(actor, code).await?;
        let in_range = (YEAR_MIN..=YEAR_MAX).contains(&year);
        let (true, Some(jan1), Some(next)) = (
            in_range,
            NaiveDate::from_ymd_opt(year.clamp(YEAR_MIN, YEAR_MAX), 1, 1),
            NaiveDate::from_ymd_opt(year.clamp(YEAR_MIN, YEAR_MAX) + 1, 1, 1),
        ) else {
            return Err(AppError::field(
                "year",
                "invalid_year",
                "年份无效",
                "year is not valid",
            ));
        };
        let orgs = self.calendar_orgs(&o).await?;
        let ids: Vec<i64> = orgs.iter().map(|o| o.id).collect();
        let rows = repo::in_range(
            &self.db.conn,
            &ids,
            local_midnight(jan1),
            local_midnight(next),
        )
        .await?;
        let today = self.today();
        let mut out = Vec::with_capacity(orgs.len());
        for org in &orgs {
            let th = self
                .rule_settings(&self.db.conn, org)
                .await?
                .thresholds
                .meeting_frequency;
            let held: Vec<HeldMeeting> = rows
                .iter()
                .filter(|m| m.org_id == org.id && m.status == MeetingStatus::Held.as_str())
                .filter_map(|m| {
                    Some(HeldMeeting {
                        kind: MeetingKind::parse(&m.kind)?,
                        day: to_local(m.starts_at).date_naive(),
                        by_secretary: m.by_secretary,
                    })
                })
                .collect();
            let owes = org.kind == OrgKind::Branch.as_str() || org.kind == OrgKind::Group.as_str();
            let reqs = if owes {
                dm::requirements(org.kind == OrgKind::Group.as_str(), org.has_committee)
            } else {
                Vec::new()
            };
            out.push(OrgCompliance {
                org: OrgView::from_model(org),
                year,
                rows: dm::compliance(year, &reqs, &held, &th, today),
            });
        }
        Ok(out)
    }

    /// The acting member's own attendance, newest meeting first.
    pub async fn my_attendance(&self, actor: &Actor) -> Result<Vec<MyAttendance>, AppError> {
        let Some(me) = actor.member_id else {
            return Ok(Vec::new());
        };
        let rows = repo::of_member(&self.db.conn, me).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.meeting_id).collect();
        let meetings = repo::by_ids(&self.db.conn, &ids).await?;
        let mut org_ids: Vec<i64> = meetings.iter().map(|m| m.org_id).collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        let orgs = orepo::by_ids(&self.db.conn, &org_ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(m) = meetings.iter().find(|m| m.id == r.meeting_id) else {
                continue;
            };
            let Some(o) = orgs.iter().find(|o| o.id == m.org_id) else {
                continue;
            };
            let a = att_view(r, actor.display_name.clone());
            let v = view(m, o)?;
            let absent = v.status == MeetingStatus::Held
                && match a.state {
                    AttendanceState::Expected => true,
                    AttendanceState::Leave => a.leave_status != Some(LeaveStatus::Approved),
                    AttendanceState::Present => false,
                };
            out.push(MyAttendance {
                meeting: v,
                state: a.state,
                channel: a.channel,
                recorded_at: a.recorded_at,
                leave_status: a.leave_status,
                absent,
            });
        }
        out.sort_by_key(|a| std::cmp::Reverse(a.meeting.starts_at));
        Ok(out)
    }
}

/// The current local year and month of `t`.
pub fn local_month(t: DateTime<Utc>) -> (i32, u32) {
    let l = to_local(t);
    (l.year(), l.month())
}

/// `meeting_frequency` for `orgs` (branches and groups) on `today`:
/// compliance of this year and the last from their held meetings (read in
/// `c`), reconciled with the stored warnings in `c`.
async fn evaluate_frequency<C: ConnectionTrait>(
    c: &C,
    orgs: &[org::Model],
    overrides: &Overrides,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    let orgs: Vec<&org::Model> = orgs
        .iter()
        .filter(|o| o.status == "active" && (o.kind == "branch" || o.kind == "group"))
        .collect();
    let ids: Vec<i64> = orgs.iter().map(|o| o.id).collect();
    if ids.is_empty() {
        return Ok(EngineCounts::default());
    }
    let year = today.year();
    let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(today);
    let held = repo::held_since(c, &ids, local_midnight(from)).await?;
    let mut findings = Vec::new();
    for o in &orgs {
        let th = settings_for(&o.path, overrides)
            .thresholds
            .meeting_frequency;
        let mine: Vec<HeldMeeting> = held
            .iter()
            .filter(|m| m.org_id == o.id)
            .filter_map(|m| {
                Some(HeldMeeting {
                    kind: MeetingKind::parse(&m.kind)?,
                    day: to_local(m.starts_at).date_naive(),
                    by_secretary: m.by_secretary,
                })
            })
            .collect();
        let reqs = dm::requirements(o.kind == "group", o.has_committee);
        let mut rows = dm::compliance(year - 1, &reqs, &mine, &th, today);
        rows.extend(dm::compliance(year, &reqs, &mine, &th, today));
        let since = to_local(o.created_at).date_naive();
        findings.extend(dm::frequency_findings(o.id, &rows, since, today));
    }
    reconcile_subjects(
        c,
        SubjectKind::Organization,
        &ids,
        MEETING_RULES,
        &findings,
        &|id| Some(id),
        today,
        now,
    )
    .await
}

impl App {
    /// The scheduled sweep of `meeting_frequency` (DOMAIN.md §5, §9) over
    /// every active branch and party group, [`SWEEP_PAGE`] at a time, each
    /// page in one transaction. Kept apart from [`App::sweep`] so the
    /// organization rules' figures and tests stay as they are; `serve` runs
    /// both.
    pub async fn sweep_meeting_frequency(
        &self,
        now: DateTime<Utc>,
    ) -> Result<SweepReport, AppError> {
        let today = to_local(now).date_naive();
        let overrides = load_overrides(&self.db.conn, None).await?;
        let mut report = SweepReport {
            today,
            subjects: 0,
            pages: 0,
            changes: EngineCounts::default(),
        };
        let mut after = 0;
        loop {
            let rows = repo::life_org_page(&self.db.conn, after, SWEEP_PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let (_writer, tx) = self.begin_write().await?;
            let n = evaluate_frequency(&tx, &rows, &overrides, today, now).await?;
            tx.commit().await?;
            report.subjects += rows.len() as u64;
            report.pages += 1;
            report.changes += n;
        }
        Ok(report)
    }
}
