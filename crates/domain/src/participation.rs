//! Participation in organizational life (the meetings context, DOMAIN.md §5
//! and §6): a member's attendance rate by meeting type in a year, runs of
//! consecutive unexcused absences and the points they deduct from the
//! annual evaluation (local practice, configurable: N absences in a row cost
//! M points, default 3 and 5), and the two warnings about a member:
//! `consecutive_absences` and `six_month_no_life`.
//!
//! Only held meetings the member was expected at count. A member present
//! (online or on the paper list) attended; approved leave (请假) is excused;
//! anything else — not recorded, leave pending or rejected — is an
//! unexcused absence.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::meetings::{AttendanceState, LeaveStatus, MeetingKind};
use crate::warnings::{
    ConsecutiveAbsencesThresholds, Finding, Level, RuleId, SELF_WITHDRAWAL_MONTHS,
    SixMonthRuleThresholds, SubjectKind,
};

code_enum! {
    /// What one expected attendance of a held meeting amounts to.
    pub enum Outcome {
        Present = ("present", "出席", "Present"),
        Excused = ("excused", "请假（已批准）", "Excused (leave approved)"),
        Absent = ("absent", "无故缺席", "Absent without leave"),
    }
}

/// The outcome of a member's row for a held meeting (DOMAIN.md §5: leave
/// is the third state; only approved leave excuses).
pub fn outcome(state: AttendanceState, leave: Option<LeaveStatus>) -> Outcome {
    match (state, leave) {
        (AttendanceState::Present, _) => Outcome::Present,
        (AttendanceState::Leave, Some(LeaveStatus::Approved)) => Outcome::Excused,
        _ => Outcome::Absent,
    }
}

/// One held meeting a member was expected at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub meeting_id: i64,
    pub kind: MeetingKind,
    pub starts_at: DateTime<Utc>,
    /// Local day of the meeting.
    pub day: NaiveDate,
    pub outcome: Outcome,
}

/// Counts of one meeting type (or all types) in a year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Held meetings the member was expected at.
    pub expected: u32,
    pub present: u32,
    pub excused: u32,
    pub absent: u32,
}

impl Rate {
    fn add(&mut self, o: Outcome) {
        self.expected += 1;
        match o {
            Outcome::Present => self.present += 1,
            Outcome::Excused => self.excused += 1,
            Outcome::Absent => self.absent += 1,
        }
    }

    /// Attendance rate in per cent (present / expected, rounded half up),
    /// `None` when nothing was expected.
    pub fn percent(&self) -> Option<u32> {
        (self.expected > 0).then(|| (self.present * 200 + self.expected) / (self.expected * 2))
    }
}

/// A run of consecutive unexcused absences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsenceRun {
    /// The first meeting missed.
    pub first_meeting_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub count: u32,
}

/// One line of the report: a meeting type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindRate {
    pub kind: MeetingKind,
    pub rate: Rate,
}

/// A member's participation in one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participation {
    pub year: i32,
    /// One line per type the member was expected at, in catalogue order.
    pub by_kind: Vec<KindRate>,
    pub total: Rate,
    /// The longest run of unexcused absences in the year.
    pub longest_run: u32,
    /// The runs that reached the threshold, oldest first.
    pub counted_runs: Vec<AbsenceRun>,
    /// Points deducted from the annual evaluation.
    pub deduction_points: u32,
    /// The thresholds applied.
    pub threshold_count: u32,
    pub threshold_points: u32,
}

fn sorted(meetings: &[Expected]) -> Vec<&Expected> {
    let mut v: Vec<&Expected> = meetings.iter().collect();
    v.sort_by_key(|m| (m.starts_at, m.meeting_id));
    v
}

/// Runs of unexcused absences, in meeting order. Present ends a run;
/// excused leave neither ends nor extends it (the member had a proper
/// reason for that one meeting; the absences around it are still in a
/// row among the meetings they owed).
pub fn absence_runs(meetings: &[Expected]) -> Vec<AbsenceRun> {
    let mut out: Vec<AbsenceRun> = Vec::new();
    let mut open: Option<AbsenceRun> = None;
    for m in sorted(meetings) {
        match m.outcome {
            Outcome::Present => {
                if let Some(r) = open.take() {
                    out.push(r);
                }
            }
            Outcome::Excused => {}
            Outcome::Absent => match &mut open {
                Some(r) => {
                    r.count += 1;
                    r.to = m.day;
                }
                None => {
                    open = Some(AbsenceRun {
                        first_meeting_id: m.meeting_id,
                        from: m.day,
                        to: m.day,
                        count: 1,
                    })
                }
            },
        }
    }
    out.extend(open);
    out
}

/// Points a run deducts (DOMAIN.md §5, local practice): each full
/// `count` absences in a row cost `deduct_points` (a run of 6 at the
/// default 3 costs 10).
pub fn run_points(run: &AbsenceRun, t: &ConsecutiveAbsencesThresholds) -> u32 {
    let n = t.count.max(1) as u32;
    (run.count / n) * t.deduct_points.max(0) as u32
}

/// The participation of one member in `year` (DOMAIN.md §5) from the held
/// meetings they were expected at (any year; only `year`'s count). Runs
/// are counted inside the year: the annual evaluation judges its own year.
pub fn participation(
    year: i32,
    meetings: &[Expected],
    t: &ConsecutiveAbsencesThresholds,
) -> Participation {
    use chrono::Datelike;
    let in_year: Vec<Expected> = meetings
        .iter()
        .filter(|m| m.day.year() == year)
        .cloned()
        .collect();
    let mut by_kind: Vec<KindRate> = Vec::new();
    let mut total = Rate::default();
    for &kind in MeetingKind::ALL {
        let mut r = Rate::default();
        for m in in_year.iter().filter(|m| m.kind == kind) {
            r.add(m.outcome);
            total.add(m.outcome);
        }
        if r.expected > 0 {
            by_kind.push(KindRate { kind, rate: r });
        }
    }
    let runs = absence_runs(&in_year);
    let longest_run = runs.iter().map(|r| r.count).max().unwrap_or(0);
    let counted_runs: Vec<AbsenceRun> = runs
        .into_iter()
        .filter(|r| r.count >= t.count.max(1) as u32)
        .collect();
    let deduction_points = counted_runs.iter().map(|r| run_points(r, t)).sum();
    Participation {
        year,
        by_kind,
        total,
        longest_run,
        counted_runs,
        deduction_points,
        threshold_count: t.count.max(0) as u32,
        threshold_points: t.deduct_points.max(0) as u32,
    }
}

/// `consecutive_absences` (DOMAIN.md §5): yellow while the member's latest
/// run of unexcused absences (across years: the run is what matters to the
/// branch now) has reached the threshold; keyed by the run's first meeting,
/// so the next run is a new warning and attending clears this one.
pub fn absence_findings(
    member_id: i64,
    meetings: &[Expected],
    t: &ConsecutiveAbsencesThresholds,
) -> Vec<Finding> {
    let runs = absence_runs(meetings);
    let Some(last) = runs.last() else {
        return Vec::new();
    };
    let open = sorted(meetings)
        .iter()
        .rev()
        .find(|m| m.outcome != Outcome::Excused)
        .is_some_and(|m| m.outcome == Outcome::Absent);
    if !open || last.count < t.count.max(1) as u32 {
        return Vec::new();
    }
    let pts = run_points(last, t);
    vec![Finding {
        rule: RuleId::ConsecutiveAbsences,
        level: Level::Yellow,
        subject: (SubjectKind::Member, member_id),
        period_key: format!("run:{}", last.first_meeting_id),
        detail_zh: format!(
            "自 {} 起连续 {} 次无故缺席组织生活（至 {}），按规定扣减年度评议 {} 分",
            last.from, last.count, last.to, pts
        ),
        detail_en: format!(
            "{} unexcused absences in a row since {} (last {}); {} points off the annual evaluation",
            last.count, last.from, last.to, pts
        ),
        due: None,
    }]
}

fn plus_months(d: NaiveDate, m: i32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(u32::try_from(m).ok()?))
}

/// `six_month_no_life` (DOMAIN.md §6): months without organizational life
/// counted from the member's last held meeting attended or excused (or,
/// if there is none, from the first they missed). Raised only when the
/// member missed a held meeting in that time: if the branch held none,
/// the member had no life to take part in — that is the branch's
/// `meeting_frequency` warning, not a lapse of the member. Blue from
/// `blue_from_months`, yellow from `yellow_from_months`, red at six months
/// (fixed): the branch must examine the case and record its decision. The
/// platform never removes anyone. Keyed by the anchor date, so attending
/// clears the warning and a later lapse is a new one.
pub fn no_life_findings(
    member_id: i64,
    meetings: &[Expected],
    t: &SixMonthRuleThresholds,
    today: NaiveDate,
) -> Vec<Finding> {
    let ms = sorted(meetings);
    let last_life = ms
        .iter()
        .rev()
        .find(|m| m.outcome != Outcome::Absent)
        .map(|m| m.day);
    let missed_since = |from: Option<NaiveDate>| {
        ms.iter()
            .find(|m| m.outcome == Outcome::Absent && from.is_none_or(|f| m.day > f))
            .map(|m| m.day)
    };
    let Some(first_missed) = missed_since(last_life) else {
        return Vec::new();
    };
    let anchor = last_life.unwrap_or(first_missed);
    let blue = plus_months(anchor, t.blue_from_months);
    let yellow = plus_months(anchor, t.yellow_from_months);
    let red = plus_months(anchor, SELF_WITHDRAWAL_MONTHS);
    let reached = |d: Option<NaiveDate>| d.is_some_and(|d| today >= d);
    let (level, due) = if reached(red) {
        (Level::Red, None)
    } else if reached(yellow) {
        (Level::Yellow, red)
    } else if reached(blue) {
        (Level::Blue, yellow)
    } else {
        return Vec::new();
    };
    let since = match last_life {
        Some(d) => (
            format!("上次参加组织生活为 {d}"),
            format!("last organizational life on {d}"),
        ),
        None => (
            format!("自 {first_missed} 起未参加过组织生活"),
            format!("no organizational life since {first_missed}"),
        ),
    };
    let (zh, en) = match level {
        Level::Red => (
            format!(
                "{}，已连续六个月未参加组织生活：请支部研究并记录决定（平台不会自动除名）",
                since.0
            ),
            format!(
                "{}: six months without organizational life; the branch examines the case and records its decision (never an automatic removal)",
                since.1
            ),
        ),
        _ => (
            format!(
                "{}，已逾 {} 个月未参加组织生活，请及时联系",
                since.0,
                if level == Level::Yellow {
                    t.yellow_from_months
                } else {
                    t.blue_from_months
                }
            ),
            format!(
                "{}: over {} months without organizational life; contact the member",
                since.1,
                if level == Level::Yellow {
                    t.yellow_from_months
                } else {
                    t.blue_from_months
                }
            ),
        ),
    };
    vec![Finding {
        rule: RuleId::SixMonthNoLife,
        level,
        subject: (SubjectKind::Member, member_id),
        period_key: format!("since:{anchor}"),
        detail_zh: zh,
        detail_en: en,
        due,
    }]
}

/// The member rules of this module, for reconciling stored warnings.
pub const PARTICIPATION_RULES: &[RuleId] = &[RuleId::ConsecutiveAbsences, RuleId::SixMonthNoLife];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn mt(id: i64, kind: MeetingKind, day: NaiveDate, outcome: Outcome) -> Expected {
        Expected {
            meeting_id: id,
            kind,
            starts_at: Utc.from_utc_datetime(&day.and_hms_opt(6, 0, 0).expect("time")),
            day,
            outcome,
        }
    }

    fn monthly(outcomes: &[Outcome]) -> Vec<Expected> {
        outcomes
            .iter()
            .enumerate()
            .map(|(i, &o)| {
                mt(
                    i as i64 + 1,
                    MeetingKind::ThemeDay,
                    d(2026, i as u32 + 1, 10),
                    o,
                )
            })
            .collect()
    }

    use Outcome::{Absent as A, Excused as E, Present as P};

    #[test]
    fn only_approved_leave_excuses_section_5() {
        assert_eq!(outcome(AttendanceState::Present, None), P);
        assert_eq!(
            outcome(AttendanceState::Leave, Some(LeaveStatus::Approved)),
            E
        );
        assert_eq!(
            outcome(AttendanceState::Leave, Some(LeaveStatus::Pending)),
            A
        );
        assert_eq!(
            outcome(AttendanceState::Leave, Some(LeaveStatus::Rejected)),
            A
        );
        assert_eq!(outcome(AttendanceState::Expected, None), A);
    }

    #[test]
    fn three_consecutive_unexcused_absences_deduct_five_points_section_5() {
        let t = ConsecutiveAbsencesThresholds::default();
        assert_eq!((t.count, t.deduct_points), (3, 5));
        let p = participation(2026, &monthly(&[P, A, A, A, P]), &t);
        assert_eq!(p.longest_run, 3);
        assert_eq!(p.deduction_points, 5);
        assert_eq!(p.counted_runs.len(), 1);
        assert_eq!(p.counted_runs[0].from, d(2026, 2, 10));
        // Two absences in a row, twice: nothing deducted.
        let p = participation(2026, &monthly(&[A, A, P, A, A]), &t);
        assert_eq!((p.longest_run, p.deduction_points), (2, 0));
        // Six in a row at the default: two full runs of three.
        let p = participation(2026, &monthly(&[A, A, A, A, A, A]), &t);
        assert_eq!(p.deduction_points, 10);
    }

    #[test]
    fn approved_leave_neither_breaks_nor_extends_a_run() {
        let t = ConsecutiveAbsencesThresholds::default();
        let p = participation(2026, &monthly(&[A, E, A, A]), &t);
        assert_eq!(p.longest_run, 3);
        assert_eq!(p.deduction_points, 5);
        let p = participation(2026, &monthly(&[A, E, E, A]), &t);
        assert_eq!(p.longest_run, 2);
    }

    #[test]
    fn the_rule_is_configurable() {
        let t = ConsecutiveAbsencesThresholds {
            count: 2,
            deduct_points: 3,
        };
        let p = participation(2026, &monthly(&[A, A, P, A, A, A]), &t);
        assert_eq!(p.deduction_points, 6);
        assert_eq!((p.threshold_count, p.threshold_points), (2, 3));
    }

    #[test]
    fn rates_by_type_and_in_total() {
        let t = ConsecutiveAbsencesThresholds::default();
        let mut ms = monthly(&[P, P, A, E]);
        ms.push(mt(10, MeetingKind::BranchAssembly, d(2026, 3, 20), P));
        ms.push(mt(11, MeetingKind::BranchAssembly, d(2025, 12, 20), A));
        let p = participation(2026, &ms, &t);
        assert_eq!(p.by_kind.len(), 2);
        assert_eq!(p.by_kind[0].kind, MeetingKind::BranchAssembly);
        assert_eq!(p.by_kind[0].rate.percent(), Some(100));
        let theme = p.by_kind[1].rate;
        assert_eq!(
            (theme.expected, theme.present, theme.excused, theme.absent),
            (4, 2, 1, 1)
        );
        assert_eq!(theme.percent(), Some(50));
        assert_eq!(p.total.expected, 5);
        assert_eq!(p.total.percent(), Some(60));
        assert_eq!(Rate::default().percent(), None);
        let third = Rate {
            expected: 3,
            present: 2,
            ..Rate::default()
        };
        assert_eq!(third.percent(), Some(67));
    }

    #[test]
    fn absence_warning_while_the_latest_run_lasts() {
        let t = ConsecutiveAbsencesThresholds::default();
        assert!(absence_findings(7, &monthly(&[P, A, A]), &t).is_empty());
        let f = absence_findings(7, &monthly(&[P, A, A, A]), &t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, RuleId::ConsecutiveAbsences);
        assert_eq!(f[0].level, Level::Yellow);
        assert_eq!(f[0].subject, (SubjectKind::Member, 7));
        assert_eq!(f[0].period_key, "run:2");
        // A fourth absence keeps the same key (no duplicate warning).
        let g = absence_findings(7, &monthly(&[P, A, A, A, A]), &t);
        assert_eq!(g[0].period_key, "run:2");
        // Attending ends it; an excused leave after the run does not.
        assert!(absence_findings(7, &monthly(&[P, A, A, A, P]), &t).is_empty());
        assert_eq!(absence_findings(7, &monthly(&[A, A, A, E]), &t).len(), 1);
    }

    #[test]
    fn six_months_without_life_escalates_and_never_removes_section_6() {
        let t = SixMonthRuleThresholds::default();
        // Present on 10 Jan, then missed every monthly meeting.
        let ms = monthly(&[P, A, A, A, A, A, A, A]);
        assert!(no_life_findings(1, &ms, &t, d(2026, 4, 9)).is_empty());
        let blue = no_life_findings(1, &ms, &t, d(2026, 4, 10));
        assert_eq!(blue[0].level, Level::Blue);
        assert_eq!(blue[0].due, Some(d(2026, 6, 10)));
        assert_eq!(blue[0].period_key, "since:2026-01-10");
        let yellow = no_life_findings(1, &ms, &t, d(2026, 6, 10));
        assert_eq!(yellow[0].level, Level::Yellow);
        assert_eq!(yellow[0].due, Some(d(2026, 7, 10)));
        let red = no_life_findings(1, &ms, &t, d(2026, 7, 10));
        assert_eq!(red[0].level, Level::Red);
        assert_eq!(red[0].due, None);
        assert!(red[0].detail_zh.contains("不会自动除名"));
        assert_eq!(
            red[0].period_key, blue[0].period_key,
            "one warning escalates"
        );
    }

    #[test]
    fn leave_counts_as_life_and_no_meetings_is_not_the_members_lapse() {
        let t = SixMonthRuleThresholds::default();
        // Excused in June: the months count from June.
        let ms = monthly(&[P, A, A, A, A, E, A]);
        let f = no_life_findings(1, &ms, &t, d(2026, 8, 1));
        assert!(f.is_empty(), "{f:?}");
        // Present in January and no meeting held since: the branch's problem.
        let ms = monthly(&[P]);
        assert!(no_life_findings(1, &ms, &t, d(2026, 12, 1)).is_empty());
        // Never attended: counted from the first meeting missed.
        let ms = monthly(&[A, A, A, A]);
        let f = no_life_findings(1, &ms, &t, d(2026, 4, 10));
        assert_eq!(f[0].level, Level::Blue);
        assert_eq!(f[0].period_key, "since:2026-01-10");
        // Attending moves the anchor: the old key disappears.
        let ms = monthly(&[P, A, A, A, A, P]);
        assert!(no_life_findings(1, &ms, &t, d(2026, 7, 1)).is_empty());
    }
}
