//! Resident ID numbers (GB 11643): checksum, birth date and sex (DOMAIN.md §3),
//! and Chinese mobile phone numbers. Both are sensitive data (DOMAIN.md §13):
//! `Debug` shows them masked, and `masked()` / [`mask_phone`] are what lists show.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::members::Sex;

/// Weights of the first 17 digits in the GB 11643 checksum (DOMAIN.md §3).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by the weighted sum mod 11 (DOMAIN.md §3).
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Length of a resident ID number.
pub const ID_LEN: usize = 18;
/// Earliest birth year accepted: an 18-character number with an older birth
/// date is a typing error, not a living member.
pub const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// Why a resident ID number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the ID number is empty")]
    Empty,
    #[error("the ID number has {len} characters, 18 are required")]
    WrongLength { len: usize },
    /// `position` is 1-based.
    #[error("character {position} of the ID number is not a digit")]
    NotDigit { position: usize },
    #[error("the last character of the ID number must be a digit or X")]
    BadCheckChar,
    #[error("the check character is {found}, the number requires {expected}")]
    Checksum { expected: char, found: char },
    #[error("the ID number does not contain a real birth date")]
    InvalidBirthDate,
    #[error("the birth date {birth} in the ID number is before {EARLIEST_BIRTH_YEAR}")]
    BirthDateTooEarly { birth: NaiveDate },
    #[error("the birth date {birth} in the ID number is after today ({today})")]
    BirthDateInFuture { birth: NaiveDate, today: NaiveDate },
}

impl IdError {
    /// Stable code of the rule broken.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Empty => "required",
            IdError::WrongLength { .. } => "id_length",
            IdError::NotDigit { .. } => "id_digits",
            IdError::BadCheckChar => "id_check_char",
            IdError::Checksum { .. } => "id_checksum",
            IdError::InvalidBirthDate => "id_birth_date",
            IdError::BirthDateTooEarly { .. } => "id_birth_date_too_early",
            IdError::BirthDateInFuture { .. } => "id_birth_date_future",
        }
    }

    /// Message for people, zh-CN.
    pub fn message_zh(&self) -> String {
        match self {
            IdError::Empty => "请填写身份证号码".to_string(),
            IdError::WrongLength { len } => {
                format!("身份证号码应为18位，当前为{len}位")
            }
            IdError::NotDigit { position } => {
                format!("身份证号码第{position}位应为数字")
            }
            IdError::BadCheckChar => "身份证号码最后一位应为数字或X".to_string(),
            IdError::Checksum { expected, found } => {
                format!("身份证号码校验位错误：应为{expected}，实为{found}，请核对")
            }
            IdError::InvalidBirthDate => "身份证号码中的出生日期不是有效日期".to_string(),
            IdError::BirthDateTooEarly { birth } => {
                format!("身份证号码中的出生日期{birth}早于{EARLIEST_BIRTH_YEAR}年")
            }
            IdError::BirthDateInFuture { birth, today } => {
                format!("身份证号码中的出生日期{birth}晚于今天（{today}）")
            }
        }
    }

    /// Message for people, English (the `Display` text).
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// This error as a validation error of `field`.
    pub fn to_field_error(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.message_zh(), self.message_en())
    }
}

/// A checked 18-character resident ID number (GB 11643), stored with an
/// uppercase check character. Its `Debug` output is masked.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId {
    text: String,
    birth: NaiveDate,
}

impl ResidentId {
    /// Parses and checks a resident ID number: 18 characters, 17 digits, a
    /// check character (`x` accepted as `X`) matching the GB 11643 checksum, and
    /// a real birth date (DOMAIN.md §3). Surrounding whitespace is ignored.
    /// Whether the birth date is in the future depends on today: see
    /// [`ResidentId::validate_at`].
    pub fn parse(input: &str) -> Result<ResidentId, IdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        let len = s.chars().count();
        if len != ID_LEN {
            return Err(IdError::WrongLength { len });
        }
        // 18 chars; from here on non-ASCII characters are reported as non-digits.
        let chars: Vec<char> = s.chars().collect();
        let mut first17 = [0u32; 17];
        for (i, c) in chars.iter().take(17).enumerate() {
            first17[i] = c
                .to_digit(10)
                .ok_or(IdError::NotDigit { position: i + 1 })?;
        }
        let found = match chars[17] {
            c @ '0'..='9' => c,
            'x' | 'X' => 'X',
            _ => return Err(IdError::BadCheckChar),
        };
        let expected = check_char_of(&first17);
        if expected != found {
            return Err(IdError::Checksum { expected, found });
        }
        let mut text: String = chars[..17].iter().collect();
        text.push(found);
        let birth = birth_date_of(&text).ok_or(IdError::InvalidBirthDate)?;
        if birth.year() < EARLIEST_BIRTH_YEAR {
            return Err(IdError::BirthDateTooEarly { birth });
        }
        Ok(ResidentId { text, birth })
    }

    /// Parses and checks that the birth date is not after `today`.
    pub fn parse_at(input: &str, today: NaiveDate) -> Result<ResidentId, IdError> {
        let id = Self::parse(input)?;
        id.validate_at(today)?;
        Ok(id)
    }

    /// Checks the rules that depend on the date: the birth date is not after `today`.
    pub fn validate_at(&self, today: NaiveDate) -> Result<(), IdError> {
        if self.birth > today {
            return Err(IdError::BirthDateInFuture {
                birth: self.birth,
                today,
            });
        }
        Ok(())
    }

    /// The 18 characters, check character uppercase.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Birth date (characters 7–14).
    pub fn birth_date(&self) -> NaiveDate {
        self.birth
    }

    /// Sex from the sequence number: odd 17th digit is male (DOMAIN.md §3).
    pub fn sex(&self) -> Sex {
        let odd = self.text.as_bytes()[16] % 2 == 1;
        if odd { Sex::Male } else { Sex::Female }
    }

    /// Administrative region code (the first 6 digits).
    pub fn region_code(&self) -> &str {
        &self.text[..6]
    }

    /// Age in full years on `on`; `None` when `on` is before the birth date.
    /// Someone born on 29 February comes of age on 1 March in common years.
    pub fn age_on(&self, on: NaiveDate) -> Option<u32> {
        on.years_since(self.birth)
    }

    /// The number for lists: first 6 and last 4 characters kept, e.g.
    /// `110105********002X` (DOMAIN.md §13).
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.text[..6], &self.text[14..])
    }
}

impl std::fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

impl TryFrom<String> for ResidentId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ResidentId::parse(&value)
    }
}

impl From<ResidentId> for String {
    fn from(id: ResidentId) -> String {
        id.text
    }
}

impl std::str::FromStr for ResidentId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResidentId::parse(s)
    }
}

fn check_char_of(first17: &[u32; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Check character of the first 17 digits, or `None` unless `first17` is
/// exactly 17 ASCII digits.
pub fn checked_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = [0u32; 17];
    for (d, b) in digits.iter_mut().zip(first17.bytes()) {
        *d = u32::from(b - b'0');
    }
    Some(check_char_of(&digits))
}

/// Check character (GB 11643, DOMAIN.md §3) for 17 digits, for generating
/// valid demo numbers: `format!("{first17}{}", compute_check_char(first17))`.
/// Callers pass 17 ASCII digits; anything else yields `'?'`, which no
/// number accepts. See [`checked_check_char`] for untrusted input.
pub fn compute_check_char(first17: &str) -> char {
    checked_check_char(first17).unwrap_or('?')
}

fn birth_date_of(text: &str) -> Option<NaiveDate> {
    let year: i32 = text.get(6..10)?.parse().ok()?;
    let month: u32 = text.get(10..12)?.parse().ok()?;
    let day: u32 = text.get(12..14)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Why a mobile phone number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the mobile number is empty")]
    Empty,
    #[error("a mobile number has 11 digits starting with 13 to 19")]
    Format,
}

impl PhoneError {
    /// Stable code of the rule broken.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Empty => "required",
            PhoneError::Format => "phone_format",
        }
    }

    /// Message for people, zh-CN.
    pub fn message_zh(&self) -> &'static str {
        match self {
            PhoneError::Empty => "请填写手机号码",
            PhoneError::Format => "手机号码应为以13至19开头的11位数字",
        }
    }

    /// This error as a validation error of `field`.
    pub fn to_field_error(&self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.message_zh(), self.to_string())
    }
}

/// Checks a mainland China mobile number: 11 digits, `1` then `3`–`9`.
/// Spaces and hyphens between digits and a leading `+86` / `86` are
/// tolerated; the result is the bare 11 digits.
pub fn validate_mobile(input: &str) -> Result<String, PhoneError> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    if compact.is_empty() {
        return Err(PhoneError::Empty);
    }
    let digits = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&compact);
    let b = digits.as_bytes();
    let ok = b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1]);
    if ok {
        Ok(digits.to_string())
    } else {
        Err(PhoneError::Format)
    }
}

/// Masks a phone number for lists: `13812345678` → `138****5678`
/// (DOMAIN.md §13). Other lengths keep at most the first 3 and last 4
/// characters and always hide at least 4; very short input is hidden entirely.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    let n = chars.len();
    if n < 8 {
        return "*".repeat(n.max(4));
    }
    let keep_tail = 4;
    let keep_head = (n - keep_tail - 4).min(3);
    let mut out: String = chars[..keep_head].iter().collect();
    out.push_str(&"*".repeat(n - keep_head - keep_tail));
    out.extend(&chars[n - keep_tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn make(first17: &str) -> String {
        format!("{first17}{}", compute_check_char(first17))
    }

    #[test]
    fn gb_example_parses() {
        // The example number of GB 11643 (DOMAIN.md §3).
        let id = ResidentId::parse("11010519491231002X").expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), d(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(compute_check_char("11010519491231002"), 'X');
    }

    #[test]
    fn lowercase_x_is_stored_uppercase() {
        let id = ResidentId::parse(" 11010519491231002x ").expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn computed_male_id() {
        // Sequence 123: odd 17th digit → male.
        let s = make("44030419900307123");
        let id = ResidentId::parse(&s).expect("valid");
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_date(), d(1990, 3, 7));
        assert_eq!(id.region_code(), "440304");
        assert!(id.masked().starts_with("440304********"));
        assert!(id.masked().ends_with(&s[14..]));
    }

    #[test]
    fn errors() {
        assert_eq!(ResidentId::parse(""), Err(IdError::Empty));
        assert_eq!(
            ResidentId::parse("1101051949123100"),
            Err(IdError::WrongLength { len: 16 })
        );
        assert_eq!(
            ResidentId::parse("1101A519491231002X"),
            Err(IdError::NotDigit { position: 5 })
        );
        assert_eq!(
            ResidentId::parse("11010519491231002Y"),
            Err(IdError::BadCheckChar)
        );
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(IdError::Checksum {
                expected: 'X',
                found: '1'
            })
        );
        // Full-width digits are not digits here.
        let fw = "１10105194912310021";
        assert_eq!(
            ResidentId::parse(fw),
            Err(IdError::NotDigit { position: 1 })
        );
        // 2023-02-29 does not exist.
        assert_eq!(
            ResidentId::parse(&make("11010520230229001")),
            Err(IdError::InvalidBirthDate)
        );
        assert_eq!(
            ResidentId::parse(&make("11010518991231001")),
            Err(IdError::BirthDateTooEarly {
                birth: d(1899, 12, 31)
            })
        );
        assert_eq!(
            ResidentId::parse(&make("11010519991331001")),
            Err(IdError::InvalidBirthDate)
        );
    }

    #[test]
    fn future_birth_date() {
        let id = ResidentId::parse(&make("11010520300101001")).expect("valid format");
        assert_eq!(
            id.validate_at(d(2025, 6, 1)),
            Err(IdError::BirthDateInFuture {
                birth: d(2030, 1, 1),
                today: d(2025, 6, 1)
            })
        );
        assert!(id.validate_at(d(2030, 1, 1)).is_ok());
        assert!(ResidentId::parse_at(id.as_str(), d(2029, 12, 31)).is_err());
    }

    #[test]
    fn leap_day_birth_age() {
        let id = ResidentId::parse(&make("11010520000229001")).expect("valid");
        assert_eq!(id.age_on(d(2018, 2, 28)), Some(17));
        assert_eq!(id.age_on(d(2018, 3, 1)), Some(18));
        assert_eq!(id.age_on(d(1999, 1, 1)), None);
    }

    #[test]
    fn debug_is_masked_conversions_are_full() {
        let id = ResidentId::parse("11010519491231002X").expect("valid");
        assert_eq!(format!("{id:?}"), "ResidentId(\"110105********002X\")");
        assert_eq!(String::from(id.clone()), "11010519491231002X");
        assert_eq!(
            ResidentId::try_from("11010519491231002x".to_string()),
            Ok(id)
        );
    }

    #[test]
    fn field_error_names_field() {
        let e = IdError::Checksum {
            expected: 'X',
            found: '1',
        }
        .to_field_error("id_number");
        assert_eq!(e.field, "id_number");
        assert_eq!(e.code, "id_checksum");
        assert!(e.message_zh.contains("校验位"));
    }

    #[test]
    fn check_char_helper_rejects_bad_input() {
        assert_eq!(checked_check_char("1234"), None);
        assert_eq!(checked_check_char("1101051949123100a"), None);
        assert_eq!(compute_check_char("abc"), '?');
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(validate_mobile("13812345678"), Ok("13812345678".into()));
        assert_eq!(
            validate_mobile("+86 138-1234-5678"),
            Ok("13812345678".into())
        );
        assert_eq!(validate_mobile("8619912345678"), Ok("19912345678".into()));
        assert_eq!(validate_mobile(""), Err(PhoneError::Empty));
        assert_eq!(validate_mobile("12812345678"), Err(PhoneError::Format));
        assert_eq!(validate_mobile("1381234567"), Err(PhoneError::Format));
        assert_eq!(validate_mobile("138123456789"), Err(PhoneError::Format));
        assert_eq!(validate_mobile("1381234567a"), Err(PhoneError::Format));
        assert_eq!(validate_mobile("010-12345678"), Err(PhoneError::Format));
        assert_eq!(
            PhoneError::Format.to_field_error("phone").code,
            "phone_format"
        );
    }

    #[test]
    fn phone_masking() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345678"), "****5678");
        assert_eq!(mask_phone("123"), "****");
        assert_eq!(mask_phone("010123456789"), "010*****6789");
    }

    fn valid_id() -> impl Strategy<Value = String> {
        (
            110000u32..=659999,
            1900i32..=2024,
            1u32..=12,
            1u32..=28,
            0u32..=999,
        )
            .prop_map(|(region, y, m, day, seq)| {
                make(&format!("{region:06}{y:04}{m:02}{day:02}{seq:03}"))
            })
    }

    proptest! {
        #[test]
        fn every_generated_id_parses(s in valid_id()) {
            let id = ResidentId::parse(&s).expect("generated id is valid");
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(id.as_str().as_bytes()[16] % 2 == 1, id.sex() == Sex::Male);
        }

        #[test]
        fn single_digit_change_fails(s in valid_id(), pos in 0usize..17, delta in 1u8..=9) {
            let mut bytes = s.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).expect("ascii");
            let checksum_failed = matches!(ResidentId::parse(&changed), Err(IdError::Checksum { .. }));
            prop_assert!(checksum_failed, "{} accepted", changed);
        }

        #[test]
        fn check_char_change_fails(s in valid_id(), c in prop::sample::select(CHECK_CHARS.to_vec())) {
            prop_assume!(!s.ends_with(c));
            let changed = format!("{}{c}", &s[..17]);
            let checksum_failed = matches!(ResidentId::parse(&changed), Err(IdError::Checksum { .. }));
            prop_assert!(checksum_failed, "{} accepted", changed);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = ResidentId::parse(&s);
            let _ = validate_mobile(&s);
            let _ = mask_phone(&s);
        }
    }
}
