//! Transfer of organizational relationship (组织关系转接, DOMAIN.md §12):
//! the introduction letter's states and kinds, its validity, who may be
//! transferred, the checks on issuing and confirming a letter, and the
//! `transfer_letter_expired` finding of an unconfirmed letter.

use chrono::{Days, Months, NaiveDate};

use crate::members::Stage;
use crate::warnings::Level;
use crate::{FieldError, ValidationErrors};

code_enum! {
    /// Where an introduction letter stands (DOMAIN.md §12).
    pub enum LetterStatus {
        Issued = ("issued", "已开具待报到", "Issued, awaiting arrival"),
        Arrived = ("arrived", "已报到", "Arrived"),
        Cancelled = ("cancelled", "已撤销或退回", "Cancelled or returned"),
    }
}

code_enum! {
    /// Where the receiving branch is: on this server, or on another one
    /// that gets a signed letter (DOMAIN.md §12).
    pub enum LetterKind {
        Local = ("local", "本系统内转接", "Within this server"),
        Outgoing = ("outgoing", "转往其他系统", "To another server"),
        Incoming = ("incoming", "从其他系统转入", "From another server"),
    }
}

/// Longest validity an administrator may set, in months (the threshold's
/// own bound, `transfer_letter.validity_months`).
pub const MAX_VALIDITY_MONTHS: u32 = 12;

/// The last day a letter issued on `issued_on` is valid for `months`
/// (DOMAIN.md §12: 3 months by default, configurable).
pub fn valid_until(issued_on: NaiveDate, months: u32) -> NaiveDate {
    issued_on
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Only party members — probationary or full — transfer their
/// organizational relationship; applicants and activists are followed up
/// by their admission instead (DOMAIN.md §3, §12).
pub fn check_transferable(stage: Stage) -> Result<(), ValidationErrors> {
    match stage {
        Stage::Probationary | Stage::Full => Ok(()),
        _ => Err(ValidationErrors(vec![FieldError::new(
            "member_id",
            "not_a_party_member",
            format!(
                "“{}”不是党员，只有预备党员和正式党员转接组织关系（DOMAIN.md §12）",
                stage.label_zh()
            ),
            format!(
                "a {} is not a party member; only probationary and full members transfer (DOMAIN.md §12)",
                stage.label_en().to_lowercase()
            ),
        )])),
    }
}

/// What is checked when a letter is issued (DOMAIN.md §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueFacts {
    pub from_org_id: i64,
    /// The receiving branch when it is on this server.
    pub to_org_id: Option<i64>,
    pub issued_on: NaiveDate,
    pub validity_months: u32,
    pub today: NaiveDate,
}

/// Checks a letter before it is issued: not to the member's own branch,
/// not dated in the future, a validity of 1 to 12 months.
pub fn check_issue(f: &IssueFacts) -> Result<(), ValidationErrors> {
    let mut e = ValidationErrors::default();
    if f.to_org_id == Some(f.from_org_id) {
        e.push(FieldError::new(
            "to_org",
            "same_branch",
            "接收支部与转出支部相同",
            "the receiving branch is the member's own branch",
        ));
    }
    if f.issued_on > f.today {
        e.push(FieldError::new(
            "issued_on",
            "in_future",
            format!("开具日期{}晚于今天", f.issued_on),
            format!("the issue date {} is after today", f.issued_on),
        ));
    }
    if !(1..=MAX_VALIDITY_MONTHS).contains(&f.validity_months) {
        e.push(FieldError::new(
            "validity_months",
            "out_of_range",
            "介绍信有效期应为1至12个月（DOMAIN.md §12）",
            "a letter is valid for 1 to 12 months (DOMAIN.md §12)",
        ));
    }
    e.into_result()
}

/// Checks the day of arrival the receiving branch confirms: not before the
/// letter was issued, not in the future. A late arrival is accepted — the
/// expired letter was a warning, not a block (DOMAIN.md §12).
pub fn check_arrival(
    issued_on: NaiveDate,
    arrived_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), ValidationErrors> {
    if arrived_on < issued_on {
        return Err(ValidationErrors(vec![FieldError::new(
            "arrived_on",
            "before_issue",
            format!("报到日期{arrived_on}早于介绍信开具日期{issued_on}"),
            format!("the arrival {arrived_on} is before the letter was issued ({issued_on})"),
        )]));
    }
    if arrived_on > today {
        return Err(ValidationErrors(vec![FieldError::new(
            "arrived_on",
            "in_future",
            format!("报到日期{arrived_on}晚于今天"),
            format!("the arrival {arrived_on} is after today"),
        )]));
    }
    Ok(())
}

/// The reason of a cancellation or a return: 2 to 500 characters.
pub fn check_reason(reason: &str) -> Result<String, ValidationErrors> {
    let r = reason.trim();
    let n = r.chars().count();
    if !(2..=500).contains(&n) {
        return Err(ValidationErrors(vec![FieldError::new(
            "reason",
            "reason_required",
            "请填写撤销或退回的原因（2至500字）",
            "give the reason of the cancellation or return (2 to 500 characters)",
        )]));
    }
    Ok(r.to_string())
}

/// The level of `transfer_letter_expired` for a letter on `today`
/// (DOMAIN.md §12, §9): blue from `blue_days_before` days before the last
/// valid day, yellow once the letter has expired unconfirmed; `None` when
/// the letter is no longer open or not yet near its end. Also the day the
/// next level begins.
pub fn letter_level(
    status: LetterStatus,
    valid_until: NaiveDate,
    blue_days_before: u32,
    today: NaiveDate,
) -> Option<(Level, Option<NaiveDate>)> {
    if status != LetterStatus::Issued {
        return None;
    }
    if today > valid_until {
        return Some((Level::Yellow, None));
    }
    let blue_from = valid_until
        .checked_sub_days(Days::new(u64::from(blue_days_before)))
        .unwrap_or(NaiveDate::MIN);
    (today >= blue_from).then(|| (Level::Blue, valid_until.succ_opt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn section_12_default_validity_is_three_months() {
        assert_eq!(valid_until(d("2026-11-28"), 3), d("2027-02-28"));
        // Month ends clamp.
        assert_eq!(valid_until(d("2026-11-30"), 3), d("2027-02-28"));
    }

    #[test]
    fn section_12_only_party_members_transfer() {
        assert!(check_transferable(Stage::Full).is_ok());
        assert!(check_transferable(Stage::Probationary).is_ok());
        let e = check_transferable(Stage::Activist).unwrap_err();
        assert_eq!(e.0[0].code, "not_a_party_member");
    }

    #[test]
    fn section_12_issue_checks() {
        let ok = IssueFacts {
            from_org_id: 1,
            to_org_id: Some(2),
            issued_on: d("2026-11-28"),
            validity_months: 3,
            today: d("2026-11-28"),
        };
        assert!(check_issue(&ok).is_ok());
        let same = IssueFacts {
            to_org_id: Some(1),
            ..ok
        };
        assert_eq!(check_issue(&same).unwrap_err().0[0].code, "same_branch");
        let future = IssueFacts {
            issued_on: d("2026-11-29"),
            ..ok
        };
        assert_eq!(check_issue(&future).unwrap_err().0[0].field, "issued_on");
        for (m, good) in [(0, false), (1, true), (12, true), (13, false)] {
            let f = IssueFacts {
                validity_months: m,
                ..ok
            };
            assert_eq!(check_issue(&f).is_ok(), good, "{m}");
        }
    }

    #[test]
    fn section_12_arrival_between_issue_and_today() {
        let (issued, today) = (d("2026-11-01"), d("2026-11-28"));
        assert!(check_arrival(issued, issued, today).is_ok());
        assert!(check_arrival(issued, today, today).is_ok());
        assert!(check_arrival(issued, d("2026-10-31"), today).is_err());
        assert!(check_arrival(issued, d("2026-11-29"), today).is_err());
    }

    #[test]
    fn section_12_unconfirmed_letter_past_validity_is_flagged() {
        let until = d("2027-02-28");
        let issued = LetterStatus::Issued;
        assert_eq!(letter_level(issued, until, 7, d("2027-02-20")), None);
        assert_eq!(
            letter_level(issued, until, 7, d("2027-02-21")),
            Some((Level::Blue, Some(d("2027-03-01"))))
        );
        assert_eq!(
            letter_level(issued, until, 7, until),
            Some((Level::Blue, Some(d("2027-03-01"))))
        );
        assert_eq!(
            letter_level(issued, until, 7, d("2027-03-01")),
            Some((Level::Yellow, None))
        );
        for done in [LetterStatus::Arrived, LetterStatus::Cancelled] {
            assert_eq!(letter_level(done, until, 7, d("2027-06-01")), None);
        }
    }

    #[test]
    fn reasons_are_required() {
        assert!(check_reason(" ").is_err());
        assert_eq!(check_reason(" 人未报到 ").unwrap(), "人未报到");
    }
}
