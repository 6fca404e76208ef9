//! The fixed rules of admission (发展党员, DOMAIN.md §4), as pure functions.
//!
//! Each check returns the [`Breach`]es it finds; a breach names the form
//! field at fault, cites its rule, and says whether it blocks (a fixed rule,
//! rigid control) or is a warning the secretary may override with a reason
//! (flexible blank). The steps and their order are the workflow definition
//! in `app::admissions`; this module only judges facts.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::members::{MIN_AGE_AT_APPLICATION, MemberStatus, Stage};

/// The talk with an applicant happens within one month (§4 step 2).
pub const TALK_WITHIN_MONTHS: u32 = 1;
/// At least one year as activist before becoming a development target (§4 step 7).
pub const ACTIVIST_MIN_MONTHS: u32 = 12;
/// Contacts of an activist: one or two full members (§4 step 5).
pub const CONTACTS_MIN: usize = 1;
pub const CONTACTS_MAX: usize = 2;
/// Introducers of a development target: two full members (§4 step 9).
pub const INTRODUCERS: usize = 2;
/// Centralized training: at least 3 days or 24 class hours (§4 step 11).
pub const TRAINING_MIN_DAYS: i64 = 3;
pub const TRAINING_MIN_HOURS: i64 = 24;
/// Public notice period, in working days (§4 step 13; configurable, this
/// is the default).
pub const NOTICE_WORKING_DAYS: u32 = 5;
/// Higher committee approval within 3 months of the assembly, never later
/// than 6 months (§4 steps 17 and 24).
pub const APPROVAL_MONTHS: u32 = 3;
pub const APPROVAL_MAX_MONTHS: u32 = 6;
/// Probation lasts one year from the assembly (§4).
pub const PROBATION_MONTHS: u32 = 12;
/// A probation may be extended once, by 6 to 12 months (§4).
pub const EXTENSION_MIN_MONTHS: i64 = 6;
pub const EXTENSION_MAX_MONTHS: i64 = 12;
pub const EXTENSIONS_MAX: usize = 1;
/// Activists and development targets are assessed every half year (§4 step 6).
pub const ASSESSMENT_EVERY_MONTHS: u32 = 6;

/// Whether a breach blocks the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gravity {
    /// A fixed rule of §4: the action cannot be taken.
    Block,
    /// A warning that may be overridden with a recorded reason.
    Warn,
}

/// A rule of §4 that the facts break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    pub code: &'static str,
    pub field: &'static str,
    /// The rule, e.g. `DOMAIN.md §4 step 7`.
    pub rule: &'static str,
    pub gravity: Gravity,
    pub message_zh: String,
    pub message_en: String,
}

fn block(
    code: &'static str,
    field: &'static str,
    rule: &'static str,
    zh: String,
    en: String,
) -> Breach {
    Breach {
        code,
        field,
        rule,
        gravity: Gravity::Block,
        message_zh: format!("{zh}（{rule}）"),
        message_en: format!("{en} ({rule})"),
    }
}

fn warn(
    code: &'static str,
    field: &'static str,
    rule: &'static str,
    zh: String,
    en: String,
) -> Breach {
    Breach {
        gravity: Gravity::Warn,
        ..block(code, field, rule, zh, en)
    }
}

/// `date` plus `months` calendar months (the end of a shorter month when the
/// day does not exist there: 31 January + 1 month = 28/29 February).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// A date that must not come before another (`field` on `later`).
pub fn check_not_before(
    field: &'static str,
    rule: &'static str,
    earlier: NaiveDate,
    later: NaiveDate,
) -> Option<Breach> {
    (later < earlier).then(|| {
        block(
            "date_order",
            field,
            rule,
            format!("日期{later}早于前一步骤的日期{earlier}"),
            format!("the date {later} is before the previous step's date {earlier}"),
        )
    })
}

/// Step 1: the applicant is at least 18 on the day of application.
pub fn check_age(birth_date: NaiveDate, applied_on: NaiveDate) -> Option<Breach> {
    let age = applied_on.years_since(birth_date).unwrap_or(0);
    (age < MIN_AGE_AT_APPLICATION).then(|| {
        block(
            "age_under_18",
            "applied_on",
            "DOMAIN.md §4 step 1",
            format!("申请入党须年满18周岁：出生于{birth_date}，申请日期{applied_on}"),
            format!("an applicant must be at least 18: born {birth_date}, applied {applied_on}"),
        )
    })
}

/// The last day for the talk with an applicant (step 2).
pub fn talk_due(applied_on: NaiveDate) -> NaiveDate {
    add_months(applied_on, TALK_WITHIN_MONTHS)
}

/// Step 2: the talk is not before the application, and within one month of
/// it (late is a warning: the talk still has to happen).
pub fn check_talk(applied_on: NaiveDate, talked_on: NaiveDate) -> Option<Breach> {
    const RULE: &str = "DOMAIN.md §4 step 2";
    if let Some(b) = check_not_before("talked_on", RULE, applied_on, talked_on) {
        return Some(b);
    }
    let due = talk_due(applied_on);
    (talked_on > due).then(|| {
        warn(
            "talk_late",
            "talked_on",
            RULE,
            format!("应在收到入党申请后一个月内谈话：申请{applied_on}，最迟{due}，实际{talked_on}"),
            format!(
                "the talk is due within one month of the application: applied {applied_on}, due {due}, held {talked_on}"
            ),
        )
    })
}

/// Step 7: at least one year as activist before becoming a development target.
pub fn check_activist_period(activist_on: NaiveDate, target_on: NaiveDate) -> Option<Breach> {
    let earliest = add_months(activist_on, ACTIVIST_MIN_MONTHS);
    (target_on < earliest).then(|| {
        block(
            "activist_period_too_short",
            "decided_on",
            "DOMAIN.md §4 step 7",
            format!("入党积极分子须经一年以上培养考察方可确定为发展对象：{activist_on}起，最早{earliest}"),
            format!(
                "an activist becomes a development target only after at least one year: activist since {activist_on}, {earliest} at the earliest"
            ),
        )
    })
}

/// What a rule needs to know about a member named in a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonFacts {
    pub member_id: i64,
    pub stage: Stage,
    pub status: MemberStatus,
}

fn check_full_members(
    field: &'static str,
    rule: &'static str,
    candidate_id: i64,
    people: &[Option<PersonFacts>],
    ids: &[i64],
    out: &mut Vec<Breach>,
) {
    let mut seen = std::collections::HashSet::new();
    for (id, p) in ids.iter().zip(people) {
        if !seen.insert(*id) {
            out.push(block(
                "duplicate_person",
                field,
                rule,
                format!("编号{id}重复"),
                format!("member {id} is named twice"),
            ));
        } else if *id == candidate_id {
            out.push(block(
                "candidate_named",
                field,
                rule,
                "申请人本人不能担任".into(),
                "the candidate cannot be named here".into(),
            ));
        } else {
            match p {
                Some(p) if p.status == MemberStatus::Active && p.stage == Stage::Full => {}
                Some(p) if p.stage == Stage::Probationary => out.push(block(
                    "probationary_not_allowed",
                    field,
                    rule,
                    format!("编号{id}为预备党员，预备党员不能担任"),
                    format!("member {id} is probationary; probationary members cannot serve"),
                )),
                _ => out.push(block(
                    "not_full_member",
                    field,
                    rule,
                    format!("编号{id}不是在册正式党员"),
                    format!("member {id} is not an active full member"),
                )),
            }
        }
    }
}

/// Step 5: one or two active full members as contacts of an activist.
/// `people[i]` are the facts of `ids[i]` (`None`: unknown or out of reach).
pub fn check_contacts(
    candidate_id: i64,
    ids: &[i64],
    people: &[Option<PersonFacts>],
) -> Vec<Breach> {
    const RULE: &str = "DOMAIN.md §4 step 5";
    let mut out = Vec::new();
    if !(CONTACTS_MIN..=CONTACTS_MAX).contains(&ids.len()) {
        out.push(block(
            "contacts_count",
            "contact_ids",
            RULE,
            format!("培养联系人应为1至2名正式党员，现为{}名", ids.len()),
            format!(
                "an activist has 1 or 2 full members as contacts, not {}",
                ids.len()
            ),
        ));
    }
    check_full_members("contact_ids", RULE, candidate_id, people, ids, &mut out);
    out
}

/// Step 9: two active full members as introducers, never probationary.
pub fn check_introducers(
    candidate_id: i64,
    ids: &[i64],
    people: &[Option<PersonFacts>],
) -> Vec<Breach> {
    const RULE: &str = "DOMAIN.md §4 step 9";
    let mut out = Vec::new();
    if ids.len() != INTRODUCERS {
        out.push(block(
            "introducers_count",
            "introducer_ids",
            RULE,
            format!("入党介绍人应为2名正式党员，现为{}名", ids.len()),
            format!(
                "a development target has two full members as introducers, not {}",
                ids.len()
            ),
        ));
    }
    check_full_members("introducer_ids", RULE, candidate_id, people, ids, &mut out);
    out
}

/// Step 10: the political review has a written conclusion.
pub fn check_political_review(conclusion: Option<&str>) -> Option<Breach> {
    conclusion.is_none_or(|c| c.trim().is_empty()).then(|| {
        block(
            "review_conclusion_missing",
            "conclusion",
            "DOMAIN.md §4 step 10",
            "政治审查须形成结论性材料".into(),
            "the political review needs a written conclusion".into(),
        )
    })
}

/// Step 11: centralized training of at least 3 days or 24 class hours.
pub fn check_training(days: i64, hours: i64) -> Option<Breach> {
    (days < TRAINING_MIN_DAYS && hours < TRAINING_MIN_HOURS).then(|| {
        block(
            "training_too_short",
            "days",
            "DOMAIN.md §4 step 11",
            format!("集中培训时间一般不少于3天（或不少于24个学时），现为{days}天、{hours}学时"),
            format!("centralized training lasts at least 3 days or 24 class hours, not {days} days / {hours} hours"),
        )
    })
}

/// The working-day calendar of a deployment: Monday to Friday, except the
/// public holidays it lists, plus the weekend days it lists as working days
/// (调休, the State Council's yearly holiday arrangement). Empty: weekdays only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkCalendar {
    /// Days off that fall on a weekday (e.g. 2026-10-01).
    pub holidays: std::collections::BTreeSet<NaiveDate>,
    /// Weekend days that are working days.
    pub workdays: std::collections::BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// Whether `d` is a working day.
    pub fn is_working(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }
}

/// Working days from `from` to `to`, both included, in `cal`.
pub fn working_days(from: NaiveDate, to: NaiveDate, cal: &WorkCalendar) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d <= to {
        if cal.is_working(d) {
            n += 1;
        }
        match d.checked_add_days(Days::new(1)) {
            Some(next) => d = next,
            None => break,
        }
    }
    n
}

/// Step 13: the public notice follows the pre-review and lasts at least
/// `min_working_days` working days.
pub fn check_notice(
    pre_reviewed_on: NaiveDate,
    notice_from: NaiveDate,
    notice_to: NaiveDate,
    min_working_days: u32,
    cal: &WorkCalendar,
) -> Vec<Breach> {
    const RULE: &str = "DOMAIN.md §4 step 13";
    let mut out = Vec::new();
    if notice_from < pre_reviewed_on {
        out.push(block(
            "notice_before_pre_review",
            "notice_from",
            RULE,
            format!("公示应在上级党委预审之后：预审{pre_reviewed_on}，公示起{notice_from}"),
            format!("the public notice follows the pre-review: pre-review {pre_reviewed_on}, notice from {notice_from}"),
        ));
    }
    let n = if notice_to < notice_from {
        0
    } else {
        working_days(notice_from, notice_to, cal)
    };
    if n < min_working_days {
        out.push(block(
            "notice_too_short",
            "notice_to",
            RULE,
            format!("公示期应不少于{min_working_days}个工作日，{notice_from}至{notice_to}仅{n}个工作日"),
            format!("the public notice lasts at least {min_working_days} working days; {notice_from} to {notice_to} has {n}"),
        ));
    }
    out
}

/// Step 15: the assembly is held after the public notice has ended.
pub fn check_assembly_after_notice(notice_to: NaiveDate, held_on: NaiveDate) -> Option<Breach> {
    (held_on <= notice_to).then(|| {
        block(
            "assembly_before_notice_end",
            "held_on",
            "DOMAIN.md §4 step 13",
            format!("支部大会须在公示期满后召开：公示至{notice_to}，大会{held_on}"),
            format!("the assembly meets after the public notice has ended: notice until {notice_to}, assembly {held_on}"),
        )
    })
}

/// A branch assembly's vote, as recorded counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AssemblyVote {
    /// Full members entitled to vote.
    pub eligible: i64,
    /// Full members entitled to vote who were present.
    pub present: i64,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    /// Written opinions handed in before the meeting by absent voters.
    pub written_yes: i64,
    pub written_no: i64,
    pub written_abstain: i64,
}

/// Steps 15 and 23: more than half of the full members entitled to vote are
/// present, and YES votes (written opinions of absent voters included)
/// exceed half of all entitled, not of those present.
pub fn check_assembly_vote(v: &AssemblyVote) -> Vec<Breach> {
    const RULE: &str = "DOMAIN.md §4 assembly votes";
    let mut out = Vec::new();
    let written = v.written_yes + v.written_no + v.written_abstain;
    let cast = v.yes + v.no + v.abstain;
    let negative = [
        v.eligible,
        v.present,
        v.yes,
        v.no,
        v.abstain,
        v.written_yes,
        v.written_no,
        v.written_abstain,
    ]
    .iter()
    .any(|n| *n < 0);
    if negative
        || v.eligible == 0
        || v.present > v.eligible
        || cast > v.present
        || written > v.eligible - v.present
    {
        out.push(block(
            "vote_counts_inconsistent",
            "eligible",
            RULE,
            format!(
                "票数不一致：应到{}人，实到{}人，现场表决{cast}票，书面意见{written}份",
                v.eligible, v.present
            ),
            format!(
                "the counts do not add up: {} entitled, {} present, {cast} votes cast, {written} written opinions",
                v.eligible, v.present
            ),
        ));
        return out;
    }
    if v.present * 2 <= v.eligible {
        out.push(block(
            "quorum_not_met",
            "present",
            RULE,
            format!(
                "到会有表决权的正式党员须超过应到人数的半数：应到{}人，实到{}人",
                v.eligible, v.present
            ),
            format!(
                "more than half of the {} full members entitled to vote must be present, not {}",
                v.eligible, v.present
            ),
        ));
    }
    let yes = v.yes + v.written_yes;
    if yes * 2 <= v.eligible {
        out.push(block(
            "majority_not_reached",
            "yes",
            RULE,
            format!(
                "赞成票须超过应到会有表决权的正式党员的半数：应到{}人，赞成{yes}票",
                v.eligible
            ),
            format!(
                "YES votes must exceed half of all {} full members entitled to vote, not {yes}",
                v.eligible
            ),
        ));
    }
    out
}

/// Steps 17 and 24: the higher committee approves within 3 months of the
/// assembly (a later approval, up to 6 months in special cases, is a
/// warning that needs its reason; beyond 6 months it is refused).
pub fn check_approval(assembly_on: NaiveDate, approved_on: NaiveDate) -> Option<Breach> {
    const RULE: &str = "DOMAIN.md §4 approval";
    if let Some(b) = check_not_before("approved_on", RULE, assembly_on, approved_on) {
        return Some(b);
    }
    let due = add_months(assembly_on, APPROVAL_MONTHS);
    let max = add_months(assembly_on, APPROVAL_MAX_MONTHS);
    if approved_on > max {
        Some(block(
            "approval_too_late",
            "approved_on",
            RULE,
            format!("上级党委审批最迟不得超过支部大会决议后6个月：大会{assembly_on}，最迟{max}"),
            format!(
                "the higher committee approves no later than 6 months after the assembly: assembly {assembly_on}, {max} at the latest"
            ),
        ))
    } else if approved_on > due {
        Some(warn(
            "approval_late",
            "approved_on",
            RULE,
            format!(
                "上级党委应在支部大会决议后3个月内审批（特殊情况可延长至6个月，须说明理由）：应于{due}前"
            ),
            format!(
                "the higher committee approves within 3 months of the assembly (up to 6 in special cases, with a reason): due {due}"
            ),
        ))
    } else {
        None
    }
}

/// The day probation ends: one year from the assembly that admitted the
/// member, plus any extension.
pub fn probation_end(assembly_on: NaiveDate, extension_months: u32) -> NaiveDate {
    add_months(assembly_on, PROBATION_MONTHS + extension_months)
}

/// A probation extension: at most once, by 6 to 12 months.
pub fn check_extension(earlier_extensions: usize, months: i64) -> Vec<Breach> {
    const RULE: &str = "DOMAIN.md §4 probation";
    let mut out = Vec::new();
    if earlier_extensions >= EXTENSIONS_MAX {
        out.push(block(
            "extension_repeated",
            "months",
            RULE,
            "预备期只能延长一次".into(),
            "probation can be extended only once".into(),
        ));
    }
    if !(EXTENSION_MIN_MONTHS..=EXTENSION_MAX_MONTHS).contains(&months) {
        out.push(block(
            "extension_length",
            "months",
            RULE,
            format!("延长预备期不能少于半年，最长不超过一年，现为{months}个月"),
            format!(
                "an extension lasts at least 6 months and at most one year, not {months} months"
            ),
        ));
    }
    out
}

/// Step 23: the conversion vote comes when the probation has ended.
pub fn check_conversion_vote(probation_end: NaiveDate, held_on: NaiveDate) -> Option<Breach> {
    (held_on < probation_end).then(|| {
        block(
            "probation_not_over",
            "held_on",
            "DOMAIN.md §4 probation",
            format!("预备期为一年，自支部大会通过之日起计算，{probation_end}期满后方可讨论转正"),
            format!("probation lasts one year from the assembly; conversion is discussed from {probation_end}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn codes(v: &[Breach]) -> Vec<&'static str> {
        v.iter().map(|b| b.code).collect()
    }

    #[test]
    fn age_18_on_the_birthday_not_the_day_before() {
        assert_eq!(
            check_age(d(2008, 3, 15), d(2026, 3, 14)).map(|b| b.code),
            Some("age_under_18")
        );
        assert!(check_age(d(2008, 3, 15), d(2026, 3, 15)).is_none());
        // Born on 29 February: 18 on 1 March of a common year.
        assert!(check_age(d(2008, 2, 29), d(2026, 2, 28)).is_some());
        assert!(check_age(d(2008, 2, 29), d(2026, 3, 1)).is_none());
        let b = check_age(d(2010, 1, 1), d(2026, 1, 1)).expect("breach");
        assert!(b.message_zh.contains("DOMAIN.md §4 step 1") && b.message_en.contains("§4 step 1"));
        assert_eq!(b.gravity, Gravity::Block);
    }

    #[test]
    fn talk_within_one_month_is_a_warning_after() {
        let applied = d(2026, 1, 31);
        assert_eq!(talk_due(applied), d(2026, 2, 28));
        assert!(check_talk(applied, d(2026, 2, 28)).is_none());
        let late = check_talk(applied, d(2026, 3, 1)).expect("late");
        assert_eq!((late.code, late.gravity), ("talk_late", Gravity::Warn));
        let before = check_talk(applied, d(2026, 1, 30)).expect("before");
        assert_eq!(
            (before.code, before.gravity),
            ("date_order", Gravity::Block)
        );
    }

    #[test]
    fn one_year_as_activist() {
        let a = d(2025, 3, 10);
        assert_eq!(
            check_activist_period(a, d(2026, 3, 9)).map(|b| b.code),
            Some("activist_period_too_short")
        );
        assert!(check_activist_period(a, d(2026, 3, 10)).is_none());
    }

    fn person(id: i64, stage: Stage) -> Option<PersonFacts> {
        Some(PersonFacts {
            member_id: id,
            stage,
            status: MemberStatus::Active,
        })
    }

    #[test]
    fn introducers_two_full_members_never_probationary() {
        let full = [person(2, Stage::Full), person(3, Stage::Full)];
        assert!(check_introducers(1, &[2, 3], &full).is_empty());
        assert_eq!(
            codes(&check_introducers(1, &[2], &full[..1])),
            vec!["introducers_count"]
        );
        assert_eq!(
            codes(&check_introducers(
                1,
                &[2, 3, 4],
                &[full[0], full[1], person(4, Stage::Full)]
            )),
            vec!["introducers_count"]
        );
        assert_eq!(
            codes(&check_introducers(
                1,
                &[2, 3],
                &[full[0], person(3, Stage::Probationary)]
            )),
            vec!["probationary_not_allowed"]
        );
        assert_eq!(
            codes(&check_introducers(1, &[2, 2], &[full[0], full[0]])),
            vec!["duplicate_person"]
        );
        assert_eq!(
            codes(&check_introducers(
                1,
                &[2, 1],
                &[full[0], person(1, Stage::Full)]
            )),
            vec!["candidate_named"]
        );
        let mut gone = person(3, Stage::Full);
        if let Some(p) = gone.as_mut() {
            p.status = MemberStatus::Deceased;
        }
        assert_eq!(
            codes(&check_introducers(1, &[2, 3], &[full[0], gone])),
            vec!["not_full_member"]
        );
        assert_eq!(
            codes(&check_introducers(1, &[2, 9], &[full[0], None])),
            vec!["not_full_member"]
        );
    }

    #[test]
    fn contacts_one_or_two_full_members() {
        assert!(check_contacts(1, &[2], &[person(2, Stage::Full)]).is_empty());
        assert!(
            check_contacts(
                1,
                &[2, 3],
                &[person(2, Stage::Full), person(3, Stage::Full)]
            )
            .is_empty()
        );
        assert_eq!(codes(&check_contacts(1, &[], &[])), vec!["contacts_count"]);
        let three = [
            person(2, Stage::Full),
            person(3, Stage::Full),
            person(4, Stage::Full),
        ];
        assert_eq!(
            codes(&check_contacts(1, &[2, 3, 4], &three)),
            vec!["contacts_count"]
        );
        assert_eq!(
            codes(&check_contacts(1, &[2], &[person(2, Stage::Activist)])),
            vec!["not_full_member"]
        );
    }

    #[test]
    fn political_review_needs_a_conclusion() {
        assert!(check_political_review(Some("政治合格")).is_none());
        assert!(check_political_review(Some("  ")).is_some());
        assert!(check_political_review(None).is_some());
    }

    #[test]
    fn training_three_days_or_24_hours() {
        assert!(check_training(3, 0).is_none());
        assert!(check_training(0, 24).is_none());
        assert!(check_training(2, 23).is_some());
        assert!(check_training(2, 24).is_none());
    }

    #[test]
    fn notice_five_working_days_after_pre_review() {
        let cal = WorkCalendar::default();
        // Monday 2 March 2026 to Friday 6 March: five working days.
        assert_eq!(working_days(d(2026, 3, 2), d(2026, 3, 6), &cal), 5);
        assert!(check_notice(d(2026, 3, 1), d(2026, 3, 2), d(2026, 3, 6), 5, &cal).is_empty());
        // Wednesday to next Monday spans a weekend: 4 working days.
        assert_eq!(working_days(d(2026, 3, 4), d(2026, 3, 9), &cal), 4);
        assert_eq!(
            codes(&check_notice(
                d(2026, 3, 1),
                d(2026, 3, 4),
                d(2026, 3, 9),
                5,
                &cal
            )),
            vec!["notice_too_short"]
        );
        assert!(check_notice(d(2026, 3, 1), d(2026, 3, 4), d(2026, 3, 10), 5, &cal).is_empty());
        assert_eq!(
            codes(&check_notice(
                d(2026, 3, 3),
                d(2026, 3, 2),
                d(2026, 3, 6),
                5,
                &cal
            )),
            vec!["notice_before_pre_review"]
        );
        assert_eq!(
            codes(&check_notice(
                d(2026, 3, 1),
                d(2026, 3, 6),
                d(2026, 3, 2),
                5,
                &cal
            )),
            vec!["notice_too_short"]
        );
        assert!(check_assembly_after_notice(d(2026, 3, 6), d(2026, 3, 6)).is_some());
        assert!(check_assembly_after_notice(d(2026, 3, 6), d(2026, 3, 7)).is_none());
    }

    #[test]
    fn holidays_and_adjusted_workdays_count_as_the_calendar_says() {
        // National Day 2026: Thursday 1 October to Wednesday 7 October off;
        // Sunday 27 September and Saturday 10 October are working days.
        let cal = WorkCalendar {
            holidays: [1, 2, 5, 6, 7].iter().map(|&x| d(2026, 10, x)).collect(),
            workdays: [d(2026, 9, 27), d(2026, 10, 10)].into_iter().collect(),
        };
        assert!(cal.is_working(d(2026, 9, 27)));
        assert!(!cal.is_working(d(2026, 10, 1)));
        assert!(!cal.is_working(d(2026, 10, 3)));
        // Monday 28 September to Friday 9 October: without the calendar
        // ten working days; with it, three before the holiday and two after.
        assert_eq!(
            working_days(d(2026, 9, 28), d(2026, 10, 9), &WorkCalendar::default()),
            10
        );
        assert_eq!(working_days(d(2026, 9, 28), d(2026, 10, 9), &cal), 5);
        // A notice over the holiday that is five weekdays long is too short.
        assert_eq!(
            codes(&check_notice(
                d(2026, 9, 25),
                d(2026, 9, 29),
                d(2026, 10, 8),
                5,
                &cal
            )),
            vec!["notice_too_short"]
        );
        // Configured upward: seven working days.
        assert_eq!(
            codes(&check_notice(
                d(2026, 3, 1),
                d(2026, 3, 2),
                d(2026, 3, 6),
                7,
                &WorkCalendar::default()
            )),
            vec!["notice_too_short"]
        );
    }

    fn vote(eligible: i64, present: i64, yes: i64, written_yes: i64) -> AssemblyVote {
        AssemblyVote {
            eligible,
            present,
            yes,
            no: present - yes,
            abstain: 0,
            written_yes,
            ..Default::default()
        }
    }

    #[test]
    fn assembly_quorum_and_majority_of_all_entitled() {
        // 10 entitled: 6 present is a quorum, 5 is not.
        assert!(check_assembly_vote(&vote(10, 6, 6, 0)).is_empty());
        assert_eq!(
            codes(&check_assembly_vote(&vote(10, 5, 5, 1))),
            vec!["quorum_not_met"]
        );
        // YES must exceed half of all entitled, not of those present.
        assert_eq!(
            codes(&check_assembly_vote(&vote(10, 6, 5, 0))),
            vec!["majority_not_reached"]
        );
        // Written opinions of absent voters count.
        assert!(check_assembly_vote(&vote(10, 6, 5, 1)).is_empty());
        // Odd numbers: 9 entitled, 5 present and 5 YES pass; 4 present fail.
        assert!(check_assembly_vote(&vote(9, 5, 5, 0)).is_empty());
        assert_eq!(
            codes(&check_assembly_vote(&vote(9, 4, 4, 1))),
            vec!["quorum_not_met"]
        );
        // Inconsistent counts.
        assert_eq!(
            codes(&check_assembly_vote(&vote(10, 11, 6, 0))),
            vec!["vote_counts_inconsistent"]
        );
        assert_eq!(
            codes(&check_assembly_vote(&vote(10, 6, 6, 5))),
            vec!["vote_counts_inconsistent"]
        );
        let mut v = vote(10, 6, 6, 0);
        v.no = 1;
        assert_eq!(
            codes(&check_assembly_vote(&v)),
            vec!["vote_counts_inconsistent"]
        );
        assert_eq!(
            codes(&check_assembly_vote(&AssemblyVote::default())),
            vec!["vote_counts_inconsistent"]
        );
    }

    #[test]
    fn approval_within_3_months_never_after_6() {
        let a = d(2026, 1, 31);
        assert!(check_approval(a, d(2026, 4, 30)).is_none());
        let late = check_approval(a, d(2026, 5, 1)).expect("late");
        assert_eq!((late.code, late.gravity), ("approval_late", Gravity::Warn));
        assert_eq!(
            check_approval(a, d(2026, 7, 31)).map(|b| b.gravity),
            Some(Gravity::Warn)
        );
        let too = check_approval(a, d(2026, 8, 1)).expect("too late");
        assert_eq!(
            (too.code, too.gravity),
            ("approval_too_late", Gravity::Block)
        );
        assert_eq!(
            check_approval(a, d(2026, 1, 30)).map(|b| b.code),
            Some("date_order")
        );
    }

    #[test]
    fn probation_one_year_extension_once_6_to_12_months() {
        assert_eq!(probation_end(d(2026, 5, 20), 0), d(2027, 5, 20));
        assert_eq!(probation_end(d(2026, 5, 20), 6), d(2027, 11, 20));
        assert!(check_extension(0, 6).is_empty());
        assert!(check_extension(0, 12).is_empty());
        assert_eq!(codes(&check_extension(0, 5)), vec!["extension_length"]);
        assert_eq!(codes(&check_extension(0, 13)), vec!["extension_length"]);
        assert_eq!(codes(&check_extension(1, 6)), vec!["extension_repeated"]);
        assert!(check_conversion_vote(d(2027, 5, 20), d(2027, 5, 19)).is_some());
        assert!(check_conversion_vote(d(2027, 5, 20), d(2027, 5, 20)).is_none());
    }
}
