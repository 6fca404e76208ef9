//! Organizational life (三会一课 and more, DOMAIN.md §5): meeting kinds and
//! their default frequencies, meeting status transitions, the sign-in window
//! and code, the checks that keep records real (no member present at two
//! overlapping meetings, no meeting held in the future, no minutes dated
//! before their meeting, no sign-in outside the window), recurrence, and
//! frequency compliance per period.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::warnings::{Finding, Level, MeetingFrequencyThresholds, RuleId, SubjectKind};

code_enum! {
    /// The kinds of organizational life (DOMAIN.md §5).
    pub enum MeetingKind {
        BranchAssembly = ("branch_assembly", "支部党员大会", "Branch member assembly"),
        CommitteeMeeting = ("committee_meeting", "支部委员会会议", "Branch committee meeting"),
        GroupMeeting = ("group_meeting", "党小组会", "Party group meeting"),
        PartyLecture = ("party_lecture", "党课", "Party lecture"),
        ThemeDay = ("theme_day", "主题党日", "Theme party day"),
        LifeMeeting = ("life_meeting", "组织生活会", "Organizational life meeting"),
        DemocraticAppraisal = ("democratic_appraisal", "民主评议党员", "Democratic appraisal of members"),
    }
}

code_enum! {
    /// Where a meeting stands. Scheduled → held or cancelled; both are final.
    pub enum MeetingStatus {
        Scheduled = ("scheduled", "已安排", "Scheduled"),
        Held = ("held", "已召开", "Held"),
        Cancelled = ("cancelled", "已取消", "Cancelled"),
    }
}

code_enum! {
    /// How an attendance record came in (DOMAIN.md §5: dual track).
    pub enum Channel {
        Online = ("online", "线上签到", "Online sign-in"),
        Offline = ("offline", "纸质签到登记", "Paper list"),
    }
}

code_enum! {
    /// A member's state for one meeting: on the list and not yet recorded,
    /// present, or on leave (请假, the third state of DOMAIN.md §5).
    pub enum AttendanceState {
        Expected = ("expected", "未签到", "Not signed in"),
        Present = ("present", "出席", "Present"),
        Leave = ("leave", "请假", "On leave"),
    }
}

code_enum! {
    /// The decision on a leave request.
    pub enum LeaveStatus {
        Pending = ("pending", "待批准", "Pending"),
        Approved = ("approved", "已批准", "Approved"),
        Rejected = ("rejected", "未批准", "Rejected"),
    }
}

code_enum! {
    /// What a meeting attachment is (DOMAIN.md §5: minutes with photos and
    /// scans; the optional photo of the paper attendance list).
    pub enum AttachmentPurpose {
        Minutes = ("minutes", "会议记录附件", "Minutes attachment"),
        AttendanceList = ("attendance_list", "纸质签到表照片", "Photo of the paper attendance list"),
    }
}

code_enum! {
    /// How often a scheduled meeting repeats.
    pub enum Repeat {
        Monthly = ("monthly", "每月", "Monthly"),
        Quarterly = ("quarterly", "每季度", "Quarterly"),
    }
}

/// Most instances one schedule request creates (two years of monthly meetings).
pub const REPEAT_MAX: u32 = 24;
/// Longest meeting accepted, in hours (a theme day can take a whole day).
pub const MEETING_MAX_HOURS: i64 = 24;
/// The sign-in opens this many minutes before the meeting starts.
pub const SIGNIN_OPENS_MINUTES_BEFORE: i64 = 30;
/// Digits of a sign-in code.
pub const SIGNIN_CODE_DIGITS: usize = 6;

/// A meeting's start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Window {
    /// Two meetings overlap when each starts before the other ends; one
    /// ending exactly when the next starts does not overlap.
    pub fn overlaps(&self, o: &Window) -> bool {
        self.starts_at < o.ends_at && o.starts_at < self.ends_at
    }

    /// When online sign-in is accepted: from [`SIGNIN_OPENS_MINUTES_BEFORE`]
    /// before the start to the end of the meeting, both included.
    pub fn signin_window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.starts_at - Duration::minutes(SIGNIN_OPENS_MINUTES_BEFORE),
            self.ends_at,
        )
    }

    /// The schedule's own checks: it ends after it starts and lasts at most
    /// [`MEETING_MAX_HOURS`].
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.ends_at <= self.starts_at {
            return Err(FieldError::new(
                "ends_at",
                "ends_before_start",
                "结束时间必须晚于开始时间",
                "The meeting must end after it starts",
            ));
        }
        if self.ends_at - self.starts_at > Duration::hours(MEETING_MAX_HOURS) {
            return Err(FieldError::new(
                "ends_at",
                "too_long",
                format!("会议时长不超过{MEETING_MAX_HOURS}小时"),
                format!("A meeting lasts at most {MEETING_MAX_HOURS} hours"),
            ));
        }
        Ok(())
    }
}

/// Another meeting a member was recorded present at, as the overlap check
/// needs it and as its message names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherMeeting {
    pub id: i64,
    pub title: String,
    pub window: Window,
}

/// DOMAIN.md §5 (records must be real): a member cannot be present at two
/// overlapping meetings. Returns the error naming the first other meeting
/// (in `others`) that overlaps `this`.
pub fn overlap_error(
    this: &Window,
    others: &[OtherMeeting],
    local: &dyn Fn(DateTime<Utc>) -> String,
) -> Option<FieldError> {
    let o = others.iter().find(|o| this.overlaps(&o.window))?;
    let (s, e) = (local(o.window.starts_at), local(o.window.ends_at));
    Some(FieldError::new(
        "member_id",
        "overlapping_meeting",
        format!(
            "该党员已记录出席时间重叠的会议「{}」（{s} 至 {e}，编号 {}）",
            o.title, o.id
        ),
        format!(
            "The member is already recorded present at the overlapping meeting \"{}\" ({s} to {e}, no. {})",
            o.title, o.id
        ),
    ))
}

/// DOMAIN.md §5: online sign-in only inside the window.
pub fn signin_time_error(
    w: &Window,
    now: DateTime<Utc>,
    local: &dyn Fn(DateTime<Utc>) -> String,
) -> Option<FieldError> {
    let (open, close) = w.signin_window();
    if now < open || now > close {
        let (o, c) = (local(open), local(close));
        return Some(FieldError::new(
            "code",
            "outside_window",
            format!("不在签到时间内：签到时间为 {o} 至 {c}"),
            format!("Sign-in is open from {o} to {c} only"),
        ));
    }
    None
}

/// Whether `code` has the shape of a sign-in code (six ASCII digits).
pub fn is_code_shape(code: &str) -> bool {
    code.len() == SIGNIN_CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// A sign-in code from random bytes: six digits, uniform (rejection of the
/// biased top of the `u32` range is left to the caller's retry; the bias of
/// `u32 % 10^6` is below 0.03 %, harmless for a code valid for hours).
pub fn signin_code(random: u32) -> String {
    format!("{:06}", random % 1_000_000)
}

/// DOMAIN.md §5 (records must be real): the allowed status changes. A
/// meeting is marked held only once it has started (never in the future);
/// a held or cancelled meeting is final.
pub fn transition(
    from: MeetingStatus,
    to: MeetingStatus,
    w: &Window,
    now: DateTime<Utc>,
    local: &dyn Fn(DateTime<Utc>) -> String,
) -> Result<(), FieldError> {
    use MeetingStatus::*;
    match (from, to) {
        (Scheduled, Held) if w.starts_at > now => Err(FieldError::new(
            "status",
            "held_in_future",
            format!("会议尚未开始（{}），不能标记为已召开", local(w.starts_at)),
            format!(
                "The meeting has not started yet ({}); it cannot be marked held",
                local(w.starts_at)
            ),
        )),
        (Scheduled, Held) | (Scheduled, Cancelled) => Ok(()),
        (f, t) => Err(FieldError::new(
            "status",
            "invalid_transition",
            format!("会议状态不能从「{}」改为「{}」", f.label_zh(), t.label_zh()),
            format!(
                "The status cannot change from {} to {}",
                f.label_en(),
                t.label_en()
            ),
        )),
    }
}

/// The `minutes_near_duplicate` finding (DOMAIN.md §5: records must be
/// real; "identical content: minutes copied between meetings or branches")
/// for meeting `meeting_id`, whose saved minutes are nearly identical to
/// other meetings' with the similarities `similar` (per cent). None when
/// nothing is similar, or when the branch has confirmed the minutes with a
/// reason (the confirmation is stored and audited). The detail names no
/// other meeting: the warning is read higher up the tree than the other
/// meeting may be visible.
pub fn minutes_duplicate_finding(
    meeting_id: i64,
    similar: &[u32],
    confirmed: bool,
) -> Option<Finding> {
    let top = similar.iter().copied().max()?;
    if confirmed {
        return None;
    }
    let n = similar.len();
    Some(Finding {
        rule: RuleId::MinutesNearDuplicate,
        level: Level::Yellow,
        subject: (SubjectKind::Meeting, meeting_id),
        period_key: crate::warnings::CURRENT.to_string(),
        detail_zh: format!(
            "会议记录与另外 {n} 次会议的记录高度雷同（最高相似度 {top}%），请核实是否照抄"
        ),
        detail_en: format!(
            "The minutes are nearly identical to those of {n} other meeting(s) (up to {top}% similar); check whether they were copied"
        ),
        due: None,
    })
}

/// DOMAIN.md §5 (records must be real): minutes are dated on or after the
/// day of their meeting and not after today; a cancelled meeting has none.
pub fn minutes_error(
    status: MeetingStatus,
    meeting_day: NaiveDate,
    dated_on: NaiveDate,
    today: NaiveDate,
) -> Option<FieldError> {
    if status == MeetingStatus::Cancelled {
        return Some(FieldError::new(
            "status",
            "cancelled",
            "会议已取消，不能填写记录",
            "The meeting was cancelled; it has no minutes",
        ));
    }
    if dated_on < meeting_day {
        return Some(FieldError::new(
            "dated_on",
            "before_meeting",
            format!("记录日期{dated_on}早于会议日期{meeting_day}"),
            format!("The minutes are dated {dated_on}, before the meeting on {meeting_day}"),
        ));
    }
    if dated_on > today {
        return Some(FieldError::new(
            "dated_on",
            "date_in_future",
            format!("记录日期{dated_on}晚于今天（{today}）"),
            format!("The minutes are dated {dated_on}, after today ({today})"),
        ));
    }
    None
}

/// The start of each instance of a repeated meeting: `count` instances,
/// each one or three calendar months after the previous (the day is kept,
/// or clamped to the month's last day). The first is `first` itself.
pub fn repeat_starts(
    first: DateTime<Utc>,
    repeat: Option<Repeat>,
    count: u32,
) -> Vec<DateTime<Utc>> {
    let step = match repeat {
        None => return vec![first],
        Some(Repeat::Monthly) => 1,
        Some(Repeat::Quarterly) => 3,
    };
    (0..count.clamp(1, REPEAT_MAX))
        .filter_map(|i| first.checked_add_months(Months::new(i * step)))
        .collect()
}

// ---------------------------------------------------------------------------
// Frequency compliance
// ---------------------------------------------------------------------------

/// What frequency compliance is counted for: a kind, or the secretary's own
/// party lecture (at least once a year, DOMAIN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Kind(MeetingKind),
    SecretaryLecture,
}

impl Requirement {
    pub fn code(self) -> &'static str {
        match self {
            Requirement::Kind(k) => k.as_str(),
            Requirement::SecretaryLecture => "secretary_lecture",
        }
    }
    pub fn label(self, lang: &str) -> &'static str {
        match self {
            Requirement::Kind(k) => k.label(lang),
            Requirement::SecretaryLecture if lang.starts_with("en") => {
                "Party lecture by the secretary"
            }
            Requirement::SecretaryLecture => "书记讲党课",
        }
    }
}

/// The interval in months a requirement must be met in (DOMAIN.md §5
/// defaults, overridable upward through the `meeting_frequency` thresholds).
pub fn interval_months(r: Requirement, t: &MeetingFrequencyThresholds) -> i32 {
    let m = match r {
        Requirement::Kind(MeetingKind::BranchAssembly) => t.assembly_months,
        Requirement::Kind(MeetingKind::CommitteeMeeting) => t.committee_months,
        Requirement::Kind(MeetingKind::GroupMeeting) => t.group_months,
        Requirement::Kind(MeetingKind::PartyLecture) => t.lecture_months,
        Requirement::SecretaryLecture => t.secretary_lecture_months,
        Requirement::Kind(MeetingKind::ThemeDay) => t.theme_day_months,
        Requirement::Kind(MeetingKind::LifeMeeting | MeetingKind::DemocraticAppraisal) => {
            t.life_meeting_months
        }
    };
    m.clamp(1, 12)
}

/// A held meeting as the compliance count needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldMeeting {
    pub kind: MeetingKind,
    /// Local day of the meeting.
    pub day: NaiveDate,
    /// A party lecture given by the branch secretary.
    pub by_secretary: bool,
}

code_enum! {
    /// Where one period stands.
    pub enum PeriodState {
        Met = ("met", "已完成", "Held"),
        Missing = ("missing", "未开展", "Missing"),
        Open = ("open", "进行中", "In progress"),
        Upcoming = ("upcoming", "未到期", "Not yet due"),
    }
}

/// One period of one requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodCompliance {
    pub start: NaiveDate,
    /// Last day of the period.
    pub end: NaiveDate,
    pub held: u32,
    pub state: PeriodState,
}

/// Due, held and missing of one requirement in one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    pub requirement: Requirement,
    pub interval_months: i32,
    /// Periods that have ended or are in progress on `today`.
    pub due: u32,
    /// Meetings held in the year.
    pub held: u32,
    /// Periods that ended without a meeting.
    pub missing: u32,
    pub periods: Vec<PeriodCompliance>,
}

/// The requirements of an organization (DOMAIN.md §5): a branch owes all
/// kinds but the group meeting, the committee meeting only when it has a
/// committee; a party group owes group meetings only.
pub fn requirements(is_group: bool, has_committee: bool) -> Vec<Requirement> {
    use MeetingKind::*;
    if is_group {
        return vec![Requirement::Kind(GroupMeeting)];
    }
    let mut v = vec![Requirement::Kind(BranchAssembly)];
    if has_committee {
        v.push(Requirement::Kind(CommitteeMeeting));
    }
    v.extend([
        Requirement::Kind(PartyLecture),
        Requirement::SecretaryLecture,
        Requirement::Kind(ThemeDay),
        Requirement::Kind(LifeMeeting),
        Requirement::Kind(DemocraticAppraisal),
    ]);
    v
}

fn counts(r: Requirement, m: &HeldMeeting) -> bool {
    match r {
        Requirement::Kind(k) => m.kind == k,
        Requirement::SecretaryLecture => m.kind == MeetingKind::PartyLecture && m.by_secretary,
    }
}

/// Frequency compliance of `year` on `today` (DOMAIN.md §5): the year is cut
/// into periods of the requirement's interval from 1 January (the last one
/// ends on 31 December); a period that has ended with no held meeting is
/// missing, the period containing `today` is open (met once a meeting is
/// held), later ones are not yet due.
pub fn compliance(
    year: i32,
    reqs: &[Requirement],
    held: &[HeldMeeting],
    t: &MeetingFrequencyThresholds,
    today: NaiveDate,
) -> Vec<Compliance> {
    let Some(jan1) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return Vec::new();
    };
    let Some(dec31) = NaiveDate::from_ymd_opt(year, 12, 31) else {
        return Vec::new();
    };
    reqs.iter()
        .map(|&r| {
            let n = interval_months(r, t);
            let mut periods = Vec::new();
            let mut start = jan1;
            while start <= dec31 {
                let next = start
                    .checked_add_months(Months::new(n as u32))
                    .unwrap_or(dec31 + Duration::days(1));
                let end = (next - Duration::days(1)).min(dec31);
                let n_held = held
                    .iter()
                    .filter(|m| counts(r, m) && m.day >= start && m.day <= end)
                    .count() as u32;
                let state = if n_held > 0 {
                    PeriodState::Met
                } else if end < today {
                    PeriodState::Missing
                } else if start <= today {
                    PeriodState::Open
                } else {
                    PeriodState::Upcoming
                };
                periods.push(PeriodCompliance {
                    start,
                    end,
                    held: n_held,
                    state,
                });
                start = end + Duration::days(1);
            }
            Compliance {
                requirement: r,
                interval_months: n,
                due: periods.iter().filter(|p| p.start <= today).count() as u32,
                held: periods.iter().map(|p| p.held).sum(),
                missing: periods
                    .iter()
                    .filter(|p| p.state == PeriodState::Missing)
                    .count() as u32,
                periods,
            }
        })
        .collect()
}

/// Days before the end of a period without a meeting from which the blue
/// reminder of `meeting_frequency` is raised (DOMAIN.md §9: blue = due soon).
pub const REMIND_DAYS_BEFORE_END: i64 = 7;

/// `meeting_frequency` (DOMAIN.md §5, §9) from the compliance of one
/// organization (this year and, for the periods still worth a warning, the
/// year before): yellow for each period that ended without a meeting, blue
/// for the open period with none held in its last
/// [`REMIND_DAYS_BEFORE_END`] days. Periods that started before `since`
/// (when the organization was created) are not owed. Keyed by requirement
/// and period start, so the blue reminder escalates to yellow in place.
pub fn frequency_findings(
    org_id: i64,
    rows: &[Compliance],
    since: NaiveDate,
    today: NaiveDate,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in rows {
        let (zh, en) = (r.requirement.label("zh"), r.requirement.label("en"));
        for p in r.periods.iter().filter(|p| p.start >= since) {
            let (level, detail_zh, detail_en, due) = match p.state {
                PeriodState::Missing => (
                    Level::Yellow,
                    format!("{zh}：{} 至 {} 未召开", p.start, p.end),
                    format!("{en}: none held from {} to {}", p.start, p.end),
                    None,
                ),
                PeriodState::Open if (p.end - today).num_days() < REMIND_DAYS_BEFORE_END => (
                    Level::Blue,
                    format!("{zh}：本期（{} 至 {}）尚未召开", p.start, p.end),
                    format!("{en}: none held yet this period ({} to {})", p.start, p.end),
                    Some(p.end + Duration::days(1)),
                ),
                _ => continue,
            };
            out.push(Finding {
                rule: RuleId::MeetingFrequency,
                level,
                subject: (SubjectKind::Organization, org_id),
                period_key: format!("{}:{}", r.requirement.code(), p.start),
                detail_zh,
                detail_en,
                due,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn copied_minutes_are_a_yellow_meeting_warning_until_confirmed() {
        // DOMAIN.md §5: identical content is a typical defect of records.
        assert_eq!(minutes_duplicate_finding(7, &[], false), None);
        let f = minutes_duplicate_finding(7, &[88, 95], false).expect("finding");
        assert_eq!(f.rule, RuleId::MinutesNearDuplicate);
        assert_eq!(f.level, Level::Yellow);
        assert_eq!(f.subject, (SubjectKind::Meeting, 7));
        assert!(f.detail_zh.contains("2 次") && f.detail_zh.contains("95%"));
        // The branch's confirmation with a reason ends it.
        assert_eq!(minutes_duplicate_finding(7, &[95], true), None);
        assert_eq!(RuleId::MinutesNearDuplicate.spec().section, "DOMAIN.md §5");
    }

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, 0)
            .single()
            .expect("valid")
    }
    fn w(s: (u32, u32), e: (u32, u32)) -> Window {
        Window {
            starts_at: t(s.0, s.1),
            ends_at: t(e.0, e.1),
        }
    }
    fn fmt(x: DateTime<Utc>) -> String {
        x.format("%H:%M").to_string()
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid")
    }

    /// DOMAIN.md §5 "a member present at two overlapping meetings".
    #[test]
    fn overlap_names_the_other_meeting() {
        let this = w((2, 0), (3, 0));
        let others = vec![
            OtherMeeting {
                id: 7,
                title: "十一月主题党日".into(),
                window: w((3, 0), (4, 0)),
            },
            OtherMeeting {
                id: 9,
                title: "第四季度支部党员大会".into(),
                window: w((2, 30), (3, 30)),
            },
        ];
        let e = overlap_error(&this, &others, &fmt).expect("overlap");
        assert_eq!(e.code, "overlapping_meeting");
        assert!(
            e.message_zh.contains("第四季度支部党员大会"),
            "{}",
            e.message_zh
        );
        assert!(e.message_en.contains("no. 9"));
        // Back to back is not an overlap.
        assert!(overlap_error(&this, &others[..1], &fmt).is_none());
        // Contained and containing both overlap.
        assert!(w((1, 0), (5, 0)).overlaps(&this));
        assert!(w((2, 10), (2, 20)).overlaps(&this));
    }

    /// DOMAIN.md §5 "a meeting recorded in the future".
    #[test]
    fn held_only_once_started_and_final_states_stay() {
        use MeetingStatus::*;
        let m = w((2, 0), (3, 0));
        let e = transition(Scheduled, Held, &m, t(1, 59), &fmt).expect_err("future");
        assert_eq!(e.code, "held_in_future");
        assert!(transition(Scheduled, Held, &m, t(2, 0), &fmt).is_ok());
        assert!(transition(Scheduled, Cancelled, &m, t(1, 0), &fmt).is_ok());
        for (f, to) in [
            (Held, Cancelled),
            (Cancelled, Held),
            (Held, Scheduled),
            (Held, Held),
        ] {
            assert_eq!(
                transition(f, to, &m, t(5, 0), &fmt)
                    .expect_err("final")
                    .code,
                "invalid_transition"
            );
        }
    }

    /// DOMAIN.md §5 "minutes dated before the meeting".
    #[test]
    fn minutes_not_before_meeting_nor_after_today() {
        use MeetingStatus::*;
        let day = d(2026, 11, 20);
        let today = d(2026, 11, 28);
        assert_eq!(
            minutes_error(Held, day, d(2026, 11, 19), today).map(|e| e.code),
            Some("before_meeting")
        );
        assert!(minutes_error(Held, day, day, today).is_none());
        assert!(minutes_error(Scheduled, day, today, today).is_none());
        assert_eq!(
            minutes_error(Held, day, d(2026, 11, 29), today).map(|e| e.code),
            Some("date_in_future")
        );
        assert_eq!(
            minutes_error(Cancelled, day, day, today).map(|e| e.code),
            Some("cancelled")
        );
    }

    /// DOMAIN.md §5: sign-in valid only inside the meeting's time window.
    #[test]
    fn signin_window_edges() {
        let m = w((2, 0), (3, 0));
        assert!(signin_time_error(&m, t(1, 29), &fmt).is_some());
        assert!(signin_time_error(&m, t(1, 30), &fmt).is_none());
        assert!(signin_time_error(&m, t(3, 0), &fmt).is_none());
        let e = signin_time_error(&m, t(3, 1), &fmt).expect("late");
        assert_eq!(e.code, "outside_window");
        assert!(e.message_zh.contains("01:30") && e.message_zh.contains("03:00"));
    }

    #[test]
    fn codes_have_six_digits() {
        assert_eq!(signin_code(42), "000042");
        assert_eq!(signin_code(u32::MAX), "967295");
        assert!(is_code_shape("012345"));
        assert!(!is_code_shape("12345"));
        assert!(!is_code_shape("12345a"));
        assert!(!is_code_shape("１２３４５６"));
    }

    #[test]
    fn window_checks() {
        assert_eq!(
            w((3, 0), (2, 0)).validate().expect_err("reversed").code,
            "ends_before_start"
        );
        let long = Window {
            starts_at: t(0, 0),
            ends_at: t(0, 0) + Duration::hours(25),
        };
        assert_eq!(long.validate().expect_err("long").code, "too_long");
        assert!(w((2, 0), (3, 0)).validate().is_ok());
    }

    #[test]
    fn repeats_keep_the_day_or_clamp_it() {
        let jan31 = Utc
            .with_ymd_and_hms(2026, 1, 31, 1, 0, 0)
            .single()
            .expect("v");
        let s = repeat_starts(jan31, Some(Repeat::Monthly), 3);
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].date_naive(), d(2026, 2, 28));
        assert_eq!(s[2].date_naive(), d(2026, 3, 31));
        let q = repeat_starts(jan31, Some(Repeat::Quarterly), 4);
        assert_eq!(q[3].date_naive(), d(2026, 10, 31));
        assert_eq!(repeat_starts(jan31, None, 9), vec![jan31]);
        assert_eq!(
            repeat_starts(jan31, Some(Repeat::Monthly), 1000).len() as u32,
            REPEAT_MAX
        );
    }

    /// DOMAIN.md §5 table: assembly quarterly, committee/group/theme day
    /// monthly, lecture quarterly with the secretary once a year, life
    /// meeting and appraisal yearly.
    #[test]
    fn compliance_by_period() {
        let th = MeetingFrequencyThresholds::default();
        let today = d(2026, 5, 10);
        let held = vec![
            HeldMeeting {
                kind: MeetingKind::BranchAssembly,
                day: d(2026, 2, 1),
                by_secretary: false,
            },
            HeldMeeting {
                kind: MeetingKind::ThemeDay,
                day: d(2026, 1, 5),
                by_secretary: false,
            },
            HeldMeeting {
                kind: MeetingKind::ThemeDay,
                day: d(2026, 3, 5),
                by_secretary: false,
            },
            HeldMeeting {
                kind: MeetingKind::ThemeDay,
                day: d(2026, 5, 5),
                by_secretary: false,
            },
            HeldMeeting {
                kind: MeetingKind::PartyLecture,
                day: d(2026, 4, 2),
                by_secretary: true,
            },
        ];
        let reqs = requirements(false, true);
        let c = compliance(2026, &reqs, &held, &th, today);
        let get = |r: Requirement| c.iter().find(|x| x.requirement == r).expect("row");

        let a = get(Requirement::Kind(MeetingKind::BranchAssembly));
        assert_eq!(a.interval_months, 3);
        assert_eq!(a.periods.len(), 4);
        assert_eq!((a.due, a.held, a.missing), (2, 1, 0));
        assert_eq!(a.periods[1].state, PeriodState::Open);
        assert_eq!(a.periods[3].state, PeriodState::Upcoming);
        assert_eq!(a.periods[3].end, d(2026, 12, 31));

        let td = get(Requirement::Kind(MeetingKind::ThemeDay));
        assert_eq!(td.periods.len(), 12);
        // Jan met, Feb missing, Mar met, Apr missing, May met (open month).
        assert_eq!((td.due, td.held, td.missing), (5, 3, 2));

        let cm = get(Requirement::Kind(MeetingKind::CommitteeMeeting));
        assert_eq!((cm.due, cm.held, cm.missing), (5, 0, 4));

        let sl = get(Requirement::SecretaryLecture);
        assert_eq!((sl.due, sl.held, sl.missing), (1, 1, 0));
        assert_eq!(sl.periods[0].state, PeriodState::Met);

        let life = get(Requirement::Kind(MeetingKind::LifeMeeting));
        assert_eq!(life.periods.len(), 1);
        assert_eq!(life.periods[0].state, PeriodState::Open);

        // A year over: the yearly life meeting is missing.
        let c = compliance(2025, &reqs, &[], &th, today);
        let life = c
            .iter()
            .find(|x| x.requirement == Requirement::Kind(MeetingKind::LifeMeeting))
            .expect("row");
        assert_eq!((life.due, life.missing), (1, 1));
    }

    #[test]
    fn requirements_of_groups_and_branches() {
        assert_eq!(
            requirements(true, true),
            vec![Requirement::Kind(MeetingKind::GroupMeeting)]
        );
        assert!(
            !requirements(false, false).contains(&Requirement::Kind(MeetingKind::CommitteeMeeting))
        );
        assert!(
            requirements(false, true).contains(&Requirement::Kind(MeetingKind::CommitteeMeeting))
        );
    }

    /// DOMAIN.md §5, §9: missing periods are yellow, the open period blue
    /// in its last week, nothing before the organization existed.
    #[test]
    fn frequency_findings_yellow_blue_and_since() {
        let th = MeetingFrequencyThresholds::default();
        let reqs = [Requirement::Kind(MeetingKind::ThemeDay)];
        let held = [HeldMeeting {
            kind: MeetingKind::ThemeDay,
            day: d(2026, 9, 9),
            by_secretary: false,
        }];
        let c = compliance(2026, &reqs, &held, &th, d(2026, 11, 25));
        let f = frequency_findings(5, &c, d(2026, 8, 15), d(2026, 11, 25));
        let keys: Vec<(&str, Level)> = f.iter().map(|f| (f.period_key.as_str(), f.level)).collect();
        // August started before the branch existed; September was held;
        // October is missing; November is open with 5 days left.
        assert_eq!(
            keys,
            vec![
                ("theme_day:2026-10-01", Level::Yellow),
                ("theme_day:2026-11-01", Level::Blue)
            ]
        );
        assert_eq!(f[1].due, Some(d(2026, 12, 1)));
        assert!(f[0].detail_zh.contains("主题党日"));
        // Earlier in November there is no reminder yet.
        let c = compliance(2026, &reqs, &held, &th, d(2026, 11, 20));
        assert_eq!(
            frequency_findings(5, &c, d(2026, 8, 15), d(2026, 11, 20)).len(),
            1
        );
    }

    /// A subtree may ask for meetings more often (DOMAIN.md §5: configurable upward).
    #[test]
    fn stricter_interval_makes_more_periods() {
        let th = MeetingFrequencyThresholds {
            assembly_months: 2,
            ..Default::default()
        };
        let c = compliance(
            2026,
            &[Requirement::Kind(MeetingKind::BranchAssembly)],
            &[],
            &th,
            d(2026, 12, 31),
        );
        assert_eq!(c[0].periods.len(), 6);
        assert_eq!(c[0].missing, 5);
    }
}
