//! Members: stages, statuses and the registry's validation rules (DOMAIN.md §3).

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::classification::Classification;
use crate::dues::DuesCategory;
use crate::error::{FieldError, ValidationErrors};
use crate::resident_id::{ResidentId, mask_phone, validate_mobile};

code_enum! {
    /// Stage of a person on the road to full membership (DOMAIN.md §3), in order.
    pub enum Stage {
        Applicant = ("applicant", "入党申请人", "Applicant"),
        Activist = ("activist", "入党积极分子", "Activist"),
        DevelopmentTarget = ("development_target", "发展对象", "Development target"),
        Probationary = ("probationary", "预备党员", "Probationary member"),
        Full = ("full", "正式党员", "Full member"),
    }
}

code_enum! {
    /// Whether a registration is active, or how it ended (DOMAIN.md §3).
    pub enum MemberStatus {
        Active = ("active", "在册", "Active"),
        TransferredOut = ("transferred_out", "已转出", "Transferred out"),
        Deceased = ("deceased", "已去世", "Deceased"),
        Expelled = ("expelled", "出党", "Expelled or removed"),
        Withdrawn = ("withdrawn", "自行脱党", "Self-withdrawn"),
    }
}

code_enum! {
    /// Sex, derived from the resident ID number, never typed (DOMAIN.md §3).
    pub enum Sex {
        Male = ("male", "男", "Male"),
        Female = ("female", "女", "Female"),
    }
}

code_enum! {
    /// Highest education completed.
    pub enum Education {
        Primary = ("primary", "小学", "Primary school"),
        Junior = ("junior", "初中", "Junior secondary"),
        Senior = ("senior", "高中", "Senior secondary"),
        Vocational = ("vocational", "中专", "Vocational secondary"),
        College = ("college", "大专", "Junior college"),
        Bachelor = ("bachelor", "本科", "Bachelor"),
        Master = ("master", "硕士", "Master"),
        Doctor = ("doctor", "博士", "Doctorate"),
    }
}

impl Stage {
    /// Position in the road to full membership, from 0 (applicant) to 4 (full).
    pub fn ordinal(self) -> usize {
        match self {
            Stage::Applicant => 0,
            Stage::Activist => 1,
            Stage::DevelopmentTarget => 2,
            Stage::Probationary => 3,
            Stage::Full => 4,
        }
    }

    /// The stage that follows, `None` for a full member (DOMAIN.md §3, §4).
    pub fn next(self) -> Option<Stage> {
        Stage::ALL.get(self.ordinal() + 1).copied()
    }

    /// The stage before, `None` for an applicant.
    pub fn previous(self) -> Option<Stage> {
        self.ordinal()
            .checked_sub(1)
            .and_then(|i| Stage::ALL.get(i).copied())
    }

    /// Name of the [`StageDates`] field holding the day this stage was reached.
    pub fn date_field(self) -> &'static str {
        match self {
            Stage::Applicant => "applied_on",
            Stage::Activist => "activist_on",
            Stage::DevelopmentTarget => "development_target_on",
            Stage::Probationary => "probationary_on",
            Stage::Full => "full_on",
        }
    }

    /// Field name used in validation errors: `stage_dates.<date field>`.
    pub fn error_field(self) -> String {
        format!("stage_dates.{}", self.date_field())
    }
}

/// The day each stage was reached (DOMAIN.md §3, §4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDates {
    /// Application submitted (§4 step 1).
    pub applied_on: Option<NaiveDate>,
    /// Designated activist by the branch committee (§4 step 3).
    pub activist_on: Option<NaiveDate>,
    /// Designated development target (§4 step 7).
    pub development_target_on: Option<NaiveDate>,
    /// Branch assembly admitted as probationary member (§4 step 15); the
    /// probation year and dues run from this day (§4, §7).
    pub probationary_on: Option<NaiveDate>,
    /// Converted to full member (§4 step 23).
    pub full_on: Option<NaiveDate>,
}

impl StageDates {
    /// The date recorded for `stage`.
    pub fn get(&self, stage: Stage) -> Option<NaiveDate> {
        match stage {
            Stage::Applicant => self.applied_on,
            Stage::Activist => self.activist_on,
            Stage::DevelopmentTarget => self.development_target_on,
            Stage::Probationary => self.probationary_on,
            Stage::Full => self.full_on,
        }
    }

    /// Sets the date recorded for `stage`.
    pub fn set(&mut self, stage: Stage, date: Option<NaiveDate>) {
        let slot = match stage {
            Stage::Applicant => &mut self.applied_on,
            Stage::Activist => &mut self.activist_on,
            Stage::DevelopmentTarget => &mut self.development_target_on,
            Stage::Probationary => &mut self.probationary_on,
            Stage::Full => &mut self.full_on,
        };
        *slot = date;
    }
}

/// Minimum age on the day of application (DOMAIN.md §4 step 1).
pub const MIN_AGE_AT_APPLICATION: u32 = 18;
/// Shortest and longest name, in characters (middle dots included).
pub const NAME_MIN_CHARS: usize = 2;
pub const NAME_MAX_CHARS: usize = 20;
/// Longest ethnicity, in characters.
pub const ETHNICITY_MAX_CHARS: usize = 20;
/// Minimum months between two stages (§4 step 7: activist at least one year;
/// §4 probation: one year from admission).
pub const MIN_ACTIVIST_MONTHS: u32 = 12;
pub const MIN_PROBATION_MONTHS: u32 = 12;

/// A member record as entered (form, import), before validation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDraft {
    pub name: String,
    /// Resident ID number as typed; birth date and sex are derived from it.
    pub id_number: String,
    /// 民族, e.g. `汉族`.
    pub ethnicity: String,
    /// Mobile number; empty or `None` means not given.
    pub phone: Option<String>,
    pub education: Option<Education>,
    pub dues_category: DuesCategory,
    pub stage: Stage,
    pub stage_dates: StageDates,
    /// Mobile member (流动党员) working away from the branch (DOMAIN.md §3).
    pub mobile: bool,
}

impl std::fmt::Debug for MemberDraft {
    // ID number and phone are sensitive (DOMAIN.md §13): keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberDraft")
            .field("name", &self.name)
            .field("id_number", &"<redacted>")
            .field("ethnicity", &self.ethnicity)
            .field("phone", &self.phone.as_ref().map(|p| mask_phone(p)))
            .field("education", &self.education)
            .field("dues_category", &self.dues_category)
            .field("stage", &self.stage)
            .field("stage_dates", &self.stage_dates)
            .field("mobile", &self.mobile)
            .finish()
    }
}

/// A member record that passed [`validate_member`]: trimmed, normalized, with
/// birth date and sex derived from the ID number.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ValidMember {
    pub name: String,
    pub id: ResidentId,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub ethnicity: String,
    /// Bare 11 digits.
    pub phone: Option<String>,
    pub education: Option<Education>,
    pub dues_category: DuesCategory,
    pub stage: Stage,
    pub stage_dates: StageDates,
    pub mobile: bool,
}

impl std::fmt::Debug for ValidMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidMember")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("birth_date", &self.birth_date)
            .field("sex", &self.sex)
            .field("ethnicity", &self.ethnicity)
            .field("phone", &self.phone.as_ref().map(|p| mask_phone(p)))
            .field("education", &self.education)
            .field("dues_category", &self.dues_category)
            .field("stage", &self.stage)
            .field("stage_dates", &self.stage_dates)
            .field("mobile", &self.mobile)
            .finish()
    }
}

/// The name trimmed, look-alike dots turned into the middle dot `·`.
pub fn normalize_name(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '•' | '・' | '．' | '.' | '‧' | '∙' | '･' | '⋅' => '·',
            c => c,
        })
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3007}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}'
        | '\u{30000}'..='\u{3134F}')
}

fn is_any_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Checks a person's name: 2–20 Chinese characters, middle dots `·` allowed
/// between parts of ethnic-minority names, no digits. Returns the normalized name.
pub fn validate_name(name: &str) -> Result<String, FieldError> {
    let n = normalize_name(name);
    let err = |code, zh: &str, en: &str| FieldError::new("name", code, zh, en);
    if n.is_empty() {
        return Err(err("required", "请填写姓名", "The name is required"));
    }
    if n.chars().any(is_any_digit) {
        return Err(err(
            "name_digits",
            "姓名不能包含数字",
            "A name cannot contain digits",
        ));
    }
    let len = n.chars().count();
    if !(NAME_MIN_CHARS..=NAME_MAX_CHARS).contains(&len) {
        return Err(err(
            "name_length",
            "姓名应为2至20个字",
            "A name has 2 to 20 characters",
        ));
    }
    if !n.chars().all(|c| c == '·' || is_cjk(c)) {
        return Err(err(
            "name_chars",
            "姓名只能包含汉字和间隔号“·”",
            "A name contains only Chinese characters and the middle dot ·",
        ));
    }
    if n.starts_with('·') || n.ends_with('·') || n.contains("··") {
        return Err(err(
            "name_dot",
            "间隔号“·”只能用于姓名各部分之间",
            "The middle dot · only separates parts of a name",
        ));
    }
    Ok(n)
}

fn validate_ethnicity(ethnicity: &str) -> Result<String, FieldError> {
    let e = ethnicity.trim();
    let err = |code, zh: &str, en: &str| FieldError::new("ethnicity", code, zh, en);
    if e.is_empty() {
        return Err(err("required", "请填写民族", "The ethnicity is required"));
    }
    if e.chars().count() > ETHNICITY_MAX_CHARS
        || e.chars().any(|c| is_any_digit(c) || c.is_control())
    {
        return Err(err(
            "ethnicity_format",
            "民族应为不超过20个字的名称，如“汉族”",
            "The ethnicity is a name of at most 20 characters, e.g. 汉族",
        ));
    }
    Ok(e.to_string())
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Checks the dates of the stages reached (DOMAIN.md §3, §4) and appends
/// every problem to `errors`.
fn check_stage_dates(
    stage: Stage,
    dates: &StageDates,
    today: NaiveDate,
    errors: &mut ValidationErrors,
) {
    let mut last: Option<(Stage, NaiveDate)> = None;
    for s in Stage::ALL.iter().copied() {
        let field = s.error_field();
        let date = dates.get(s);
        let reached = s <= stage;
        match date {
            None if reached => errors.push(FieldError::new(
                field,
                "required",
                format!(
                    "当前阶段为“{}”，缺少成为“{}”的日期",
                    stage.label_zh(),
                    s.label_zh()
                ),
                format!(
                    "The stage is {}: the date of becoming {} is required",
                    stage.label_en(),
                    s.label_en().to_lowercase()
                ),
            )),
            None => {}
            Some(_) if !reached => errors.push(FieldError::new(
                field,
                "stage_not_reached",
                format!(
                    "当前阶段为“{}”，不应填写成为“{}”的日期",
                    stage.label_zh(),
                    s.label_zh()
                ),
                format!(
                    "The stage is {}: there can be no date of becoming {}",
                    stage.label_en(),
                    s.label_en().to_lowercase()
                ),
            )),
            Some(d) if d > today => errors.push(FieldError::new(
                field,
                "date_in_future",
                format!("日期{d}晚于今天（{today}）"),
                format!("The date {d} is after today ({today})"),
            )),
            Some(d) => {
                if let Some((prev, prev_date)) = last
                    && d < prev_date
                {
                    errors.push(FieldError::new(
                        field,
                        "stage_date_order",
                        format!("成为“{}”的日期{d}早于成为“{}”的日期{prev_date}", s.label_zh(), prev.label_zh()),
                        format!(
                            "The date of becoming {} ({d}) is before the date of becoming {} ({prev_date})",
                            s.label_en().to_lowercase(),
                            prev.label_en().to_lowercase()
                        ),
                    ));
                } else {
                    check_min_period(s, d, dates, errors);
                }
                last = Some((s, d));
            }
        }
    }
}

/// The one-year periods of DOMAIN.md §4: activist at least one year before
/// becoming a development target (step 7); probation one year before conversion.
fn check_min_period(
    stage: Stage,
    date: NaiveDate,
    dates: &StageDates,
    errors: &mut ValidationErrors,
) {
    let (from_stage, months, code, zh, en) = match stage {
        Stage::DevelopmentTarget => (
            Stage::Activist,
            MIN_ACTIVIST_MONTHS,
            "activist_period_too_short",
            "入党积极分子培养考察须满一年方可确定为发展对象（发展党员工作细则第七步）",
            "An activist becomes a development target only after at least one year (admission step 7)",
        ),
        Stage::Full => (
            Stage::Probationary,
            MIN_PROBATION_MONTHS,
            "probation_too_short",
            "预备期为一年，自支部大会通过接收为预备党员之日起计算，未满一年不能转正",
            "Probation lasts one year from the branch assembly's admission; conversion cannot come earlier",
        ),
        _ => return,
    };
    let Some(from) = dates.get(from_stage) else {
        return;
    };
    let earliest = add_months(from, months);
    if date < earliest {
        errors.push(FieldError::new(
            stage.error_field(),
            code,
            format!("{zh}：最早为{earliest}"),
            format!("{en}: {earliest} at the earliest"),
        ));
    }
}

/// Validates a member record (DOMAIN.md §3, §4) and collects every error:
/// name, ethnicity, ID number (checksum, birth date not after `today`), age at
/// least 18 on the application date (§4 step 1), a date for the current stage
/// and each earlier one, dates in stage order and not after `today`, one year
/// as activist (§4 step 7) and one year of probation (§4), phone if given.
pub fn validate_member(
    draft: &MemberDraft,
    today: NaiveDate,
) -> Result<ValidMember, ValidationErrors> {
    let mut errors = ValidationErrors::default();

    let name = validate_name(&draft.name).map_err(|e| errors.push(e)).ok();
    let ethnicity = validate_ethnicity(&draft.ethnicity)
        .map_err(|e| errors.push(e))
        .ok();
    let id = ResidentId::parse_at(&draft.id_number, today)
        .map_err(|e| errors.push(e.to_field_error("id_number")))
        .ok();
    let phone = match draft.phone.as_deref().map(str::trim) {
        None | Some("") => Some(None),
        Some(p) => validate_mobile(p)
            .map(Some)
            .map_err(|e| errors.push(e.to_field_error("phone")))
            .ok(),
    };

    check_stage_dates(draft.stage, &draft.stage_dates, today, &mut errors);

    if let (Some(id), Some(applied)) = (&id, draft.stage_dates.applied_on) {
        let age = id.age_on(applied);
        if age.is_none_or(|a| a < MIN_AGE_AT_APPLICATION) {
            errors.push(FieldError::new(
                Stage::Applicant.error_field(),
                "age_under_18",
                format!("申请入党时须年满18周岁：出生于{}，申请日期{applied}", id.birth_date()),
                format!(
                    "An applicant must be at least 18 on the application date: born {}, applied {applied}",
                    id.birth_date()
                ),
            ));
        }
    }

    match (name, ethnicity, id, phone) {
        (Some(name), Some(ethnicity), Some(id), Some(phone)) if errors.is_empty() => {
            Ok(ValidMember {
                name,
                birth_date: id.birth_date(),
                sex: id.sex(),
                id,
                ethnicity,
                phone,
                education: draft.education,
                dues_category: draft.dues_category,
                stage: draft.stage,
                stage_dates: draft.stage_dates,
                mobile: draft.mobile,
            })
        }
        _ => Err(errors),
    }
}

/// Classification of every member field (DOMAIN.md §13): sensitive and core
/// fields are encrypted at rest, masked in lists and each read is logged.
/// Storage names each column's classification from this table.
pub fn member_field_classification() -> &'static [(&'static str, Classification)] {
    use Classification::{Core, Internal, Public, Sensitive};
    &[
        ("name", Internal),
        ("id_number", Sensitive),
        ("birth_date", Internal),
        ("sex", Internal),
        ("ethnicity", Internal),
        ("native_place", Internal),
        ("phone", Sensitive),
        ("email", Sensitive),
        ("address", Sensitive),
        ("photo", Sensitive),
        ("education", Internal),
        ("occupation", Internal),
        ("work_unit", Internal),
        ("job_title", Internal),
        ("dues_category", Internal),
        ("income", Sensitive),
        ("dues_base", Sensitive),
        ("stage", Internal),
        ("stage_dates.applied_on", Internal),
        ("stage_dates.activist_on", Internal),
        ("stage_dates.development_target_on", Internal),
        ("stage_dates.probationary_on", Internal),
        ("stage_dates.full_on", Internal),
        ("status", Internal),
        ("mobile", Internal),
        ("mobile_location", Internal),
        ("party_posts", Internal),
        ("evaluation_grade", Internal),
        ("introducers", Core),
        ("stage_history", Core),
        ("archive", Core),
        ("political_review", Core),
        ("discipline_record", Core),
        ("branch", Public),
        ("group", Internal),
    ]
}

/// Classification of one member field, `None` for a field the table does not name.
pub fn classify_member_field(field: &str) -> Option<Classification> {
    member_field_classification()
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident_id::compute_check_char;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    fn id_born(y: i32, m: u32, day: u32, seq: u32) -> String {
        let first17 = format!("330106{y:04}{m:02}{day:02}{seq:03}");
        format!("{first17}{}", compute_check_char(&first17))
    }

    const TODAY: (i32, u32, u32) = (2025, 6, 1);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    fn full_member() -> MemberDraft {
        MemberDraft {
            name: " 王小明 ".into(),
            id_number: id_born(1990, 5, 20, 123),
            ethnicity: "汉族".into(),
            phone: Some("138 1234 5678".into()),
            education: Some(Education::Bachelor),
            dues_category: DuesCategory::Employed,
            stage: Stage::Full,
            stage_dates: StageDates {
                applied_on: Some(d(2015, 3, 1)),
                activist_on: Some(d(2015, 9, 1)),
                development_target_on: Some(d(2016, 9, 1)),
                probationary_on: Some(d(2017, 6, 30)),
                full_on: Some(d(2018, 6, 30)),
            },
            mobile: false,
        }
    }

    fn errors_of(draft: &MemberDraft) -> Vec<(String, &'static str)> {
        match validate_member(draft, today()) {
            Ok(_) => vec![],
            Err(e) => e.0.into_iter().map(|f| (f.field, f.code)).collect(),
        }
    }

    fn has(errors: &[(String, &'static str)], field: &str, code: &str) -> bool {
        errors.iter().any(|(f, c)| f == field && *c == code)
    }

    #[test]
    fn valid_full_member_derives_birth_and_sex() {
        let m = validate_member(&full_member(), today()).expect("valid");
        assert_eq!(m.name, "王小明");
        assert_eq!(m.birth_date, d(1990, 5, 20));
        assert_eq!(m.sex, Sex::Male);
        assert_eq!(m.phone.as_deref(), Some("13812345678"));
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("13812345678"), "{dbg}");
        assert!(!dbg.contains(m.id.as_str()), "{dbg}");
    }

    #[test]
    fn collects_all_errors() {
        let mut draft = full_member();
        draft.name = "张3".into();
        draft.id_number = "110105194912310021".into();
        draft.phone = Some("1234".into());
        draft.ethnicity = " ".into();
        draft.stage_dates.activist_on = None;
        let e = errors_of(&draft);
        assert!(has(&e, "name", "name_digits"), "{e:?}");
        assert!(has(&e, "id_number", "id_checksum"), "{e:?}");
        assert!(has(&e, "phone", "phone_format"), "{e:?}");
        assert!(has(&e, "ethnicity", "required"), "{e:?}");
        assert!(has(&e, "stage_dates.activist_on", "required"), "{e:?}");
        let dbg = format!("{draft:?}");
        assert!(!dbg.contains("110105194912310021"));
    }

    #[test]
    fn empty_phone_is_absent() {
        let mut draft = full_member();
        draft.phone = Some("  ".into());
        assert_eq!(validate_member(&draft, today()).expect("valid").phone, None);
        draft.phone = None;
        assert!(validate_member(&draft, today()).is_ok());
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("  李四 "), Ok("李四".into()));
        assert_eq!(validate_name("买买提·艾力"), Ok("买买提·艾力".into()));
        assert_eq!(validate_name("买买提.艾力"), Ok("买买提·艾力".into()));
        assert_eq!(
            validate_name("阿依古丽・买买提"),
            Ok("阿依古丽·买买提".into())
        );
        let code = |n: &str| validate_name(n).err().map(|e| e.code);
        assert_eq!(code(""), Some("required"));
        assert_eq!(code("   "), Some("required"));
        assert_eq!(code("张"), Some("name_length"));
        assert_eq!(code(&"张".repeat(20)), None);
        assert_eq!(code(&"张".repeat(21)), Some("name_length"));
        assert_eq!(code("张3"), Some("name_digits"));
        assert_eq!(code("张３"), Some("name_digits"));
        assert_eq!(code("John"), Some("name_chars"));
        assert_eq!(code("张 三"), Some("name_chars"));
        assert_eq!(code("·张三"), Some("name_dot"));
        assert_eq!(code("张三·"), Some("name_dot"));
        assert_eq!(code("张··三"), Some("name_dot"));
        // 〇 is a character used in names, not a digit.
        assert_eq!(code("李〇"), None);
    }

    #[test]
    fn applicant_needs_only_application_date() {
        let mut draft = full_member();
        draft.stage = Stage::Applicant;
        draft.stage_dates = StageDates {
            applied_on: Some(d(2025, 1, 10)),
            ..StageDates::default()
        };
        assert!(validate_member(&draft, today()).is_ok());
        draft.stage_dates.applied_on = None;
        assert!(has(
            &errors_of(&draft),
            "stage_dates.applied_on",
            "required"
        ));
    }

    #[test]
    fn every_earlier_stage_needs_a_date() {
        let mut draft = full_member();
        draft.stage = Stage::Probationary;
        draft.stage_dates.full_on = None;
        assert!(validate_member(&draft, today()).is_ok());
        for missing in [
            Stage::Applicant,
            Stage::Activist,
            Stage::DevelopmentTarget,
            Stage::Probationary,
        ] {
            let mut dr = draft.clone();
            dr.stage_dates.set(missing, None);
            let e = errors_of(&dr);
            assert!(
                has(&e, &missing.error_field(), "required"),
                "{missing:?}: {e:?}"
            );
        }
    }

    #[test]
    fn date_of_later_stage_is_an_error() {
        let mut draft = full_member();
        draft.stage = Stage::DevelopmentTarget;
        let e = errors_of(&draft);
        assert!(has(&e, "stage_dates.probationary_on", "stage_not_reached"));
        assert!(has(&e, "stage_dates.full_on", "stage_not_reached"));
    }

    #[test]
    fn dates_in_order_and_not_in_future() {
        let mut draft = full_member();
        draft.stage_dates.activist_on = Some(d(2015, 2, 1));
        assert!(has(
            &errors_of(&draft),
            "stage_dates.activist_on",
            "stage_date_order"
        ));

        let mut draft = full_member();
        draft.stage = Stage::Applicant;
        draft.stage_dates = StageDates {
            applied_on: Some(d(2025, 6, 2)),
            ..StageDates::default()
        };
        assert!(has(
            &errors_of(&draft),
            "stage_dates.applied_on",
            "date_in_future"
        ));
        draft.stage_dates.applied_on = Some(today());
        assert!(errors_of(&draft).is_empty());
    }

    #[test]
    fn age_18_on_application_date() {
        // §4 step 1.
        let mut draft = full_member();
        draft.id_number = id_born(2000, 6, 15, 246);
        draft.stage = Stage::Applicant;
        draft.stage_dates = StageDates {
            applied_on: Some(d(2018, 6, 14)),
            ..StageDates::default()
        };
        assert!(has(
            &errors_of(&draft),
            "stage_dates.applied_on",
            "age_under_18"
        ));
        draft.stage_dates.applied_on = Some(d(2018, 6, 15));
        let m = validate_member(&draft, today()).expect("18 on the day");
        assert_eq!(m.sex, Sex::Female);
    }

    #[test]
    fn activist_at_least_one_year() {
        // §4 step 7.
        let mut draft = full_member();
        draft.stage = Stage::DevelopmentTarget;
        draft.stage_dates.probationary_on = None;
        draft.stage_dates.full_on = None;
        draft.stage_dates.activist_on = Some(d(2020, 3, 1));
        draft.stage_dates.development_target_on = Some(d(2021, 2, 28));
        assert!(has(
            &errors_of(&draft),
            "stage_dates.development_target_on",
            "activist_period_too_short"
        ));
        draft.stage_dates.development_target_on = Some(d(2021, 3, 1));
        assert!(errors_of(&draft).is_empty());
    }

    #[test]
    fn probation_at_least_one_year() {
        // §4 probation: one year from the assembly's admission.
        let mut draft = full_member();
        draft.stage_dates.probationary_on = Some(d(2017, 7, 1));
        draft.stage_dates.full_on = Some(d(2018, 6, 30));
        assert!(has(
            &errors_of(&draft),
            "stage_dates.full_on",
            "probation_too_short"
        ));
        draft.stage_dates.full_on = Some(d(2018, 7, 1));
        assert!(errors_of(&draft).is_empty());
        // Extended probation (up to one more year) is fine.
        draft.stage_dates.full_on = Some(d(2019, 7, 1));
        assert!(errors_of(&draft).is_empty());
    }

    #[test]
    fn future_birth_date_in_id() {
        let mut draft = full_member();
        draft.id_number = id_born(2026, 1, 1, 111);
        assert!(has(&errors_of(&draft), "id_number", "id_birth_date_future"));
    }

    #[test]
    fn stage_navigation() {
        assert_eq!(Stage::Applicant.next(), Some(Stage::Activist));
        assert_eq!(Stage::Probationary.next(), Some(Stage::Full));
        assert_eq!(Stage::Full.next(), None);
        assert_eq!(Stage::Applicant.previous(), None);
        assert_eq!(Stage::Full.previous(), Some(Stage::Probationary));
        for s in Stage::ALL {
            assert_eq!(Stage::ALL[s.ordinal()], *s);
        }
        assert_eq!(Stage::Activist.error_field(), "stage_dates.activist_on");
    }

    #[test]
    fn classification_table() {
        let table = member_field_classification();
        let mut names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate field");
        assert_eq!(
            classify_member_field("id_number"),
            Some(Classification::Sensitive)
        );
        assert_eq!(
            classify_member_field("phone"),
            Some(Classification::Sensitive)
        );
        assert_eq!(
            classify_member_field("address"),
            Some(Classification::Sensitive)
        );
        assert_eq!(
            classify_member_field("income"),
            Some(Classification::Sensitive)
        );
        assert_eq!(
            classify_member_field("stage_history"),
            Some(Classification::Core)
        );
        assert_eq!(
            classify_member_field("political_review"),
            Some(Classification::Core)
        );
        assert_eq!(
            classify_member_field("branch"),
            Some(Classification::Public)
        );
        assert_eq!(
            classify_member_field("name"),
            Some(Classification::Internal)
        );
        assert_eq!(classify_member_field("nope"), None);
        // Every field of the draft is classified.
        for f in [
            "name",
            "id_number",
            "ethnicity",
            "phone",
            "education",
            "dues_category",
            "stage",
            "mobile",
        ] {
            assert!(classify_member_field(f).is_some(), "{f}");
        }
        for s in Stage::ALL {
            assert!(classify_member_field(&s.error_field()).is_some(), "{s:?}");
        }
    }
}
