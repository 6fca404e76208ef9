//! Membership dues (党费): categories and the exact calculator (DOMAIN.md §7).
//!
//! Money is integer fen; rates are basis points (1% = 100 bp); the fee is the
//! whole monthly base times the rate of its bracket (not marginal), rounded to
//! the fen, half up by default. No floating point anywhere. The rules are data
//! ([`DuesSchedule`]), chosen by the date they took effect.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

code_enum! {
    /// Occupation category, which decides the dues rule (DOMAIN.md §7).
    pub enum DuesCategory {
        Employed = ("employed", "在职", "Employed"),
        Retired = ("retired", "离退休", "Retired"),
        Farmer = ("farmer", "农民", "Farmer"),
        Student = ("student", "学生", "Student"),
        Unemployed = ("unemployed", "失业", "Unemployed"),
        Subsistence = ("subsistence", "低保", "On subsistence allowance"),
    }
}

code_enum! {
    /// How a fee is rounded to the fen (DOMAIN.md §7: half up, configurable).
    #[derive(Default)]
    pub enum RoundingMode {
        #[default]
        HalfUp = ("half_up", "四舍五入", "Half up"),
        HalfEven = ("half_even", "四舍六入五成双", "Half to even"),
        Down = ("down", "舍去", "Down"),
        Up = ("up", "进一", "Up"),
    }
}

impl RoundingMode {
    /// `numerator / denominator` rounded to an integer; both non-negative,
    /// denominator positive.
    fn divide(self, numerator: i128, denominator: i128) -> i128 {
        let q = numerator / denominator;
        let r = numerator % denominator;
        let up = match self {
            RoundingMode::HalfUp => 2 * r >= denominator,
            RoundingMode::HalfEven => 2 * r > denominator || (2 * r == denominator && q % 2 == 1),
            RoundingMode::Down => false,
            RoundingMode::Up => r > 0,
        };
        if up { q + 1 } else { q }
    }
}

/// Largest monthly base accepted: 100 million yuan. Anything above is a typing error.
pub const MAX_BASE_FEN: i64 = 100_000_000 * 100;
/// A single voluntary payment above 1000 yuan is a special payment reported
/// upward (DOMAIN.md §7).
pub const SPECIAL_PAYMENT_THRESHOLD_FEN: i64 = 1000 * 100;
/// The regulation behind [`DuesSchedule::national_2008`].
pub const SOURCE_2008: &str = "关于中国共产党党费收缴、使用和管理的规定（中组发〔2008〕3号，2008年4月1日起施行）; DOMAIN.md §7";

/// Whether a voluntary payment is a special payment to report upward (DOMAIN.md §7).
pub fn is_special_payment(voluntary_fen: i64) -> bool {
    voluntary_fen > SPECIAL_PAYMENT_THRESHOLD_FEN
}

/// What a rule charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DuesAmount {
    /// A share of the whole monthly base, in basis points (1% = 100).
    Rate { bp: u32 },
    /// A fixed monthly amount; the branch (or province) may set it within
    /// `min_fen..=max_fen`, `default_fen` otherwise.
    Fixed {
        default_fen: i64,
        min_fen: i64,
        max_fen: i64,
    },
}

/// One row of a dues schedule: for a category, from a date, within a bracket
/// of the monthly base, what is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuesRule {
    /// Stable identifier, e.g. `employed.5000-10000`.
    pub id: String,
    /// First day the rule applies; a category's rules with the latest such
    /// day not after the fee date replace all earlier ones.
    pub effective_from: NaiveDate,
    pub category: DuesCategory,
    /// The base must be above this (`None`: from zero, inclusive).
    pub lower_exclusive_fen: Option<i64>,
    /// The base must be at most this (`None`: no upper bound).
    pub upper_inclusive_fen: Option<i64>,
    pub amount: DuesAmount,
}

impl DuesRule {
    fn contains(&self, base_fen: i64) -> bool {
        self.lower_exclusive_fen.is_none_or(|l| base_fen > l)
            && self.upper_inclusive_fen.is_none_or(|u| base_fen <= u)
    }

    fn bracket_zh(&self) -> String {
        match (self.lower_exclusive_fen, self.upper_inclusive_fen) {
            (None, None) => "不分档".to_string(),
            (None, Some(u)) => format!("{}元及以下", format_fen(u)),
            (Some(l), None) => format!("{}元以上", format_fen(l)),
            (Some(l), Some(u)) => format!("{}元以上至{}元（含）", format_fen(l), format_fen(u)),
        }
    }

    fn bracket_en(&self) -> String {
        match (self.lower_exclusive_fen, self.upper_inclusive_fen) {
            (None, None) => "any base".to_string(),
            (None, Some(u)) => format!("up to {} yuan", format_fen(u)),
            (Some(l), None) => format!("above {} yuan", format_fen(l)),
            (Some(l), Some(u)) => format!("above {} up to {} yuan", format_fen(l), format_fen(u)),
        }
    }
}

/// A set of dues rules over time, with the regulation they come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuesSchedule {
    /// Citation shown with every fee.
    pub source: String,
    pub rules: Vec<DuesRule>,
}

/// Why a dues schedule is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dues rule {rule}: {problem}")]
pub struct ScheduleError {
    pub rule: String,
    pub problem: &'static str,
}

impl DuesSchedule {
    /// The national rules of 2008 (DOMAIN.md §7), in force from 1 April 2008.
    pub fn national_2008() -> DuesSchedule {
        let from = NaiveDate::from_ymd_opt(2008, 4, 1).unwrap_or(NaiveDate::MIN);
        let yuan = |y: i64| y * 100;
        let rate = |id: &str, category, lower: Option<i64>, upper: Option<i64>, bp| DuesRule {
            id: id.to_string(),
            effective_from: from,
            category,
            lower_exclusive_fen: lower.map(yuan),
            upper_inclusive_fen: upper.map(yuan),
            amount: DuesAmount::Rate { bp },
        };
        let fixed = |id: &str, category, min_fen, max_fen| DuesRule {
            id: id.to_string(),
            effective_from: from,
            category,
            lower_exclusive_fen: None,
            upper_inclusive_fen: None,
            amount: DuesAmount::Fixed {
                default_fen: min_fen,
                min_fen,
                max_fen,
            },
        };
        use DuesCategory::*;
        DuesSchedule {
            source: SOURCE_2008.to_string(),
            rules: vec![
                rate("employed.0-3000", Employed, None, Some(3000), 50),
                rate("employed.3000-5000", Employed, Some(3000), Some(5000), 100),
                rate(
                    "employed.5000-10000",
                    Employed,
                    Some(5000),
                    Some(10000),
                    150,
                ),
                rate("employed.10000+", Employed, Some(10000), None, 200),
                rate("retired.0-5000", Retired, None, Some(5000), 50),
                rate("retired.5000+", Retired, Some(5000), None, 100),
                fixed("farmer.fixed", Farmer, 20, 100),
                fixed("student.fixed", Student, 20, 20),
                fixed("unemployed.fixed", Unemployed, 20, 20),
                fixed("subsistence.fixed", Subsistence, 20, 20),
            ],
        }
    }

    /// The rules of `category` in force on `on`: those with the latest
    /// `effective_from` not after `on`, in schedule order.
    pub fn rules_in_force(&self, category: DuesCategory, on: NaiveDate) -> Vec<&DuesRule> {
        let of_category = || {
            self.rules
                .iter()
                .filter(move |r| r.category == category && r.effective_from <= on)
        };
        let Some(latest) = of_category().map(|r| r.effective_from).max() else {
            return Vec::new();
        };
        of_category()
            .filter(|r| r.effective_from == latest)
            .collect()
    }

    /// The first month from which the latest change of `category`'s rules
    /// on or before `upto` applies to the monthly sheets, if the schedule
    /// changed that category at all after its first rules. A change dated
    /// within a month applies from the next month (the sheet of a month is
    /// computed on its first day). Bases fixed before that month are
    /// recomputed under the new rule from then on (issue 7, §1).
    pub fn latest_change_month(
        &self,
        category: DuesCategory,
        upto: NaiveDate,
    ) -> Option<NaiveDate> {
        let dates = || {
            self.rules
                .iter()
                .filter(move |r| r.category == category)
                .map(|r| r.effective_from)
        };
        let first = dates().min()?;
        dates()
            .filter(|d| *d > first)
            .map(|d| {
                let m = crate::dues_ledger::month_of(d);
                if m == d {
                    m
                } else {
                    crate::dues_ledger::next_month(m)
                }
            })
            .filter(|m| *m <= upto)
            .max()
    }

    /// Checks that for every category and start date the rules are either one
    /// fixed amount, or rate brackets that cover every base from zero up
    /// without gap or overlap, with sane amounts.
    pub fn check(&self) -> Result<(), ScheduleError> {
        let err = |r: &DuesRule, problem| ScheduleError {
            rule: r.id.clone(),
            problem,
        };
        for r in &self.rules {
            let set: Vec<&DuesRule> = self
                .rules
                .iter()
                .filter(|o| o.category == r.category && o.effective_from == r.effective_from)
                .collect();
            match r.amount {
                DuesAmount::Fixed {
                    default_fen,
                    min_fen,
                    max_fen,
                } => {
                    if set.len() != 1 {
                        return Err(err(
                            r,
                            "a fixed amount must be the only rule of its category and date",
                        ));
                    }
                    if !(0 <= min_fen && min_fen <= default_fen && default_fen <= max_fen) {
                        return Err(err(
                            r,
                            "fixed amounts must satisfy 0 <= min <= default <= max",
                        ));
                    }
                }
                DuesAmount::Rate { bp } => {
                    if bp > 10_000 {
                        return Err(err(r, "a rate cannot exceed 100%"));
                    }
                    if let (Some(l), Some(u)) = (r.lower_exclusive_fen, r.upper_inclusive_fen)
                        && l >= u
                    {
                        return Err(err(r, "the bracket is empty"));
                    }
                    // The bracket must start where exactly one other ends (or at zero),
                    // and end where exactly one other starts (or never).
                    let starts = |at: Option<i64>| {
                        set.iter().filter(|o| o.lower_exclusive_fen == at).count()
                    };
                    let ends = |at: Option<i64>| {
                        set.iter().filter(|o| o.upper_inclusive_fen == at).count()
                    };
                    if starts(r.lower_exclusive_fen) != 1 || ends(r.upper_inclusive_fen) != 1 {
                        return Err(err(r, "brackets overlap"));
                    }
                    let joined_below =
                        r.lower_exclusive_fen.is_none() || ends(r.lower_exclusive_fen) == 1;
                    let joined_above =
                        r.upper_inclusive_fen.is_none() || starts(r.upper_inclusive_fen) == 1;
                    if !joined_below || !joined_above {
                        return Err(err(r, "brackets leave a gap"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Computes one month's dues of one member with these rules (DOMAIN.md §7).
    pub fn calculate(&self, input: &FeeInput) -> Result<FeeResult, FeeError> {
        let base_fen = input.income.map(income_to_fen).transpose()?;
        let rules = self.rules_in_force(input.category, input.on);
        if rules.is_empty() {
            return Err(FeeError::NoRuleInForce {
                category: input.category,
                on: input.on,
            });
        }
        let needs_base = rules
            .iter()
            .any(|r| matches!(r.amount, DuesAmount::Rate { .. }));
        let rule = if needs_base {
            let base = base_fen.ok_or(FeeError::IncomeRequired {
                category: input.category,
            })?;
            rules
                .into_iter()
                .find(|r| r.contains(base))
                .ok_or(FeeError::NoRuleInForce {
                    category: input.category,
                    on: input.on,
                })?
        } else {
            rules[0]
        };

        let rounding = input.rounding;
        let (standard_fen, rate, zh, en) = match rule.amount {
            DuesAmount::Rate { bp } => {
                if input.branch_amount_fen.is_some() {
                    return Err(FeeError::BranchAmountNotApplicable {
                        category: input.category,
                    });
                }
                let base = base_fen.unwrap_or(0);
                let exact = i128::from(base) * i128::from(bp);
                let fee = rounding.divide(exact, 10_000);
                let fee = i64::try_from(fee).unwrap_or(i64::MAX);
                let rate = format_rate_bp(bp);
                let exact_yuan = format_scaled(exact, 6);
                let zh = format!(
                    "{cat}党员月收入基数{b}元，属“{br}”档，按{rate}交纳：{b} × {rate} = {exact_yuan}元，{mode}到分为{f}元。",
                    cat = input.category.label_zh(),
                    b = format_fen(base),
                    br = rule.bracket_zh(),
                    mode = rounding.label_zh(),
                    f = format_fen(fee),
                );
                let en = format!(
                    "{cat} member, monthly base {b} yuan, bracket {br}: {rate} of the whole base, {b} × {rate} = {exact_yuan} yuan, rounded {mode} to the fen: {f} yuan.",
                    cat = input.category.label_en(),
                    b = format_fen(base),
                    br = rule.bracket_en(),
                    mode = rounding.label_en().to_lowercase(),
                    f = format_fen(fee),
                );
                (fee, rate, zh, en)
            }
            DuesAmount::Fixed {
                default_fen,
                min_fen,
                max_fen,
            } => {
                let fee = match input.branch_amount_fen {
                    None => default_fen,
                    Some(a) if (min_fen..=max_fen).contains(&a) => a,
                    Some(given) => {
                        return Err(FeeError::BranchAmountOutOfRange {
                            given,
                            min_fen,
                            max_fen,
                        });
                    }
                };
                let range_zh = if min_fen == max_fen {
                    String::new()
                } else {
                    format!(
                        "（标准为每月{}至{}元）",
                        format_fen(min_fen),
                        format_fen(max_fen)
                    )
                };
                let range_en = if min_fen == max_fen {
                    String::new()
                } else {
                    format!(
                        " (the standard is {} to {} yuan a month)",
                        format_fen(min_fen),
                        format_fen(max_fen)
                    )
                };
                let zh = format!(
                    "{cat}党员每月交纳党费{f}元{range_zh}。",
                    cat = input.category.label_zh(),
                    f = format_fen(fee)
                );
                let en = format!(
                    "{cat} member: a fixed {f} yuan a month{range_en}.",
                    cat = input.category.label_en(),
                    f = format_fen(fee)
                );
                (fee, "fixed".to_string(), zh, en)
            }
        };

        let (fee_fen, zh, en) = match &input.relief {
            None => (standard_fen, zh, en),
            Some(relief) => {
                if relief.approval_ref().trim().is_empty() {
                    return Err(FeeError::ApprovalRequired);
                }
                match *relief {
                    Relief::Exempt { ref approval_ref } => (
                        0,
                        format!("{zh}经批准（{approval_ref}）免交党费，本月应交0.00元。"),
                        format!("{en} Exempt by approval ({approval_ref}): 0.00 yuan."),
                    ),
                    Relief::Reduced {
                        fen,
                        ref approval_ref,
                    } => {
                        if fen <= 0 || fen >= standard_fen {
                            return Err(FeeError::ReductionInvalid {
                                reduced_fen: fen,
                                standard_fen,
                            });
                        }
                        (
                            fen,
                            format!(
                                "{zh}经批准（{approval_ref}）少交党费，本月应交{}元。",
                                format_fen(fen)
                            ),
                            format!(
                                "{en} Reduced by approval ({approval_ref}): {} yuan.",
                                format_fen(fen)
                            ),
                        )
                    }
                }
            }
        };

        Ok(FeeResult {
            fee_fen,
            standard_fee_fen: standard_fen,
            base_fen,
            rate,
            rule: rule.id.clone(),
            source: self.source.clone(),
            explanation_zh: zh,
            explanation_en: en,
            relief: input.relief.clone(),
        })
    }
}

/// A reduction or exemption of dues: the branch decides, the higher
/// committee approves (DOMAIN.md §7); the approval is cited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Relief {
    /// Pays `fen` a month instead of the standard amount.
    Reduced { fen: i64, approval_ref: String },
    /// Pays nothing.
    Exempt { approval_ref: String },
}

impl Relief {
    /// The approval's reference (document number or workflow id).
    pub fn approval_ref(&self) -> &str {
        match self {
            Relief::Reduced { approval_ref, .. } | Relief::Exempt { approval_ref } => approval_ref,
        }
    }
}

/// One member's month, as the calculator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeInput {
    pub category: DuesCategory,
    /// Monthly base in yuan (at most two decimals): income after tax for
    /// employed and retired members, or the other bases of DOMAIN.md §7.
    /// Not needed for fixed-amount categories.
    pub income: Option<Decimal>,
    /// The month's date; decides which rules are in force.
    pub on: NaiveDate,
    /// Amount set by the branch or province for fixed-amount categories
    /// (farmers: 20–100 fen; others: 20 fen).
    pub branch_amount_fen: Option<i64>,
    pub relief: Option<Relief>,
    pub rounding: RoundingMode,
}

impl FeeInput {
    /// An input with no income, no branch amount, no relief, half-up rounding.
    pub fn new(category: DuesCategory, on: NaiveDate) -> FeeInput {
        FeeInput {
            category,
            income: None,
            on,
            branch_amount_fen: None,
            relief: None,
            rounding: RoundingMode::default(),
        }
    }

    /// Sets the monthly base in yuan.
    pub fn with_income(mut self, yuan: Decimal) -> FeeInput {
        self.income = Some(yuan);
        self
    }

    /// Sets the monthly base from text such as `5000.01` (see [`parse_yuan_to_fen`]).
    pub fn with_income_str(mut self, yuan: &str) -> Result<FeeInput, FeeError> {
        self.income = Some(Decimal::new(parse_yuan_to_fen(yuan)?, 2));
        Ok(self)
    }
}

/// The fee of one month and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeResult {
    /// What the member pays this month, in fen.
    pub fee_fen: i64,
    /// What the rule charges before any reduction or exemption.
    pub standard_fee_fen: i64,
    /// The monthly base used, in fen, when one was given.
    pub base_fen: Option<i64>,
    /// `1.5%`, or `fixed` for fixed amounts.
    pub rate: String,
    /// Stable id of the rule applied, e.g. `employed.5000-10000`.
    pub rule: String,
    /// The regulation and section.
    pub source: String,
    pub explanation_zh: String,
    pub explanation_en: String,
    pub relief: Option<Relief>,
}

/// Why a fee could not be computed. [`FeeError::field`] names the input at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("a monthly income is required for {category} members")]
    IncomeRequired { category: DuesCategory },
    #[error("the income {value:?} is not a number of yuan such as 5000 or 5000.50")]
    IncomeNotANumber { value: String },
    #[error("the income cannot be negative")]
    IncomeNegative,
    #[error("the income has more than two decimals (yuan are counted to the fen)")]
    IncomeTooManyDecimals,
    #[error("the income exceeds 100 million yuan a month")]
    IncomeTooLarge,
    #[error("{given} fen is outside the allowed {min_fen} to {max_fen} fen")]
    BranchAmountOutOfRange {
        given: i64,
        min_fen: i64,
        max_fen: i64,
    },
    #[error("{category} members pay a rate of their income; no amount is set by the branch")]
    BranchAmountNotApplicable { category: DuesCategory },
    #[error("a reduction or exemption needs the reference of its approval")]
    ApprovalRequired,
    #[error(
        "a reduced amount of {reduced_fen} fen must be above zero and below the standard {standard_fen} fen"
    )]
    ReductionInvalid { reduced_fen: i64, standard_fen: i64 },
    #[error("no dues rule for {category} members is in force on {on}")]
    NoRuleInForce {
        category: DuesCategory,
        on: NaiveDate,
    },
}

impl FeeError {
    /// The input field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            FeeError::IncomeRequired { .. }
            | FeeError::IncomeNotANumber { .. }
            | FeeError::IncomeNegative
            | FeeError::IncomeTooManyDecimals
            | FeeError::IncomeTooLarge => "income",
            FeeError::BranchAmountOutOfRange { .. }
            | FeeError::BranchAmountNotApplicable { .. } => "branch_amount_fen",
            FeeError::ApprovalRequired => "relief.approval_ref",
            FeeError::ReductionInvalid { .. } => "relief.fen",
            FeeError::NoRuleInForce { .. } => "on",
        }
    }

    /// Stable code of the rule broken.
    pub fn code(&self) -> &'static str {
        match self {
            FeeError::IncomeRequired { .. } => "required",
            FeeError::IncomeNotANumber { .. } => "income_not_a_number",
            FeeError::IncomeNegative => "income_negative",
            FeeError::IncomeTooManyDecimals => "income_decimals",
            FeeError::IncomeTooLarge => "income_too_large",
            FeeError::BranchAmountOutOfRange { .. } => "amount_out_of_range",
            FeeError::BranchAmountNotApplicable { .. } => "amount_not_applicable",
            FeeError::ApprovalRequired => "approval_required",
            FeeError::ReductionInvalid { .. } => "reduction_invalid",
            FeeError::NoRuleInForce { .. } => "no_rule_in_force",
        }
    }

    /// Message for people, zh-CN.
    pub fn message_zh(&self) -> String {
        match self {
            FeeError::IncomeRequired { category } => {
                format!("{}党员须填写月收入基数", category.label_zh())
            }
            FeeError::IncomeNotANumber { value } => {
                format!("月收入“{value}”不是有效金额，应为如5000或5000.50的元数")
            }
            FeeError::IncomeNegative => "月收入不能为负数".to_string(),
            FeeError::IncomeTooManyDecimals => "月收入最多保留两位小数（精确到分）".to_string(),
            FeeError::IncomeTooLarge => "月收入超过1亿元，请核对".to_string(),
            FeeError::BranchAmountOutOfRange {
                given,
                min_fen,
                max_fen,
            } => format!(
                "设定金额{}元超出允许范围{}至{}元",
                format_fen(*given),
                format_fen(*min_fen),
                format_fen(*max_fen)
            ),
            FeeError::BranchAmountNotApplicable { category } => {
                format!(
                    "{}党员按收入比例交纳，不能设定固定金额",
                    category.label_zh()
                )
            }
            FeeError::ApprovalRequired => "少交或免交党费须注明上级党委的批准文号".to_string(),
            FeeError::ReductionInvalid {
                reduced_fen,
                standard_fen,
            } => format!(
                "少交金额{}元应大于0且低于标准金额{}元",
                format_fen(*reduced_fen),
                format_fen(*standard_fen)
            ),
            FeeError::NoRuleInForce { category, on } => {
                format!("{on}没有适用于{}党员的党费标准", category.label_zh())
            }
        }
    }

    /// This error as a validation error.
    pub fn to_field_error(&self) -> FieldError {
        FieldError::new(
            self.field(),
            self.code(),
            self.message_zh(),
            self.to_string(),
        )
    }
}

/// Converts a base in yuan to fen: not negative, at most two decimals (trailing
/// zeros allowed), at most [`MAX_BASE_FEN`].
pub fn income_to_fen(yuan: Decimal) -> Result<i64, FeeError> {
    if yuan.is_sign_negative() && !yuan.is_zero() {
        return Err(FeeError::IncomeNegative);
    }
    if yuan.round_dp(2) != yuan {
        return Err(FeeError::IncomeTooManyDecimals);
    }
    if yuan > Decimal::new(MAX_BASE_FEN, 2) {
        return Err(FeeError::IncomeTooLarge);
    }
    (yuan * Decimal::ONE_HUNDRED)
        .to_i64()
        .ok_or(FeeError::IncomeTooLarge)
}

/// Parses an amount of yuan such as `5000`, `5000.5` or ` 5000.50 ` into fen.
/// Rejects empty text, signs other than a leading `-` (reported as negative),
/// exponents, separators, more than two decimals (other than trailing zeros)
/// and amounts above [`MAX_BASE_FEN`].
pub fn parse_yuan_to_fen(text: &str) -> Result<i64, FeeError> {
    let t = text.trim();
    let not_a_number = || FeeError::IncomeNotANumber {
        value: t.chars().take(40).collect(),
    };
    if t.is_empty() {
        return Err(not_a_number());
    }
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(not_a_number());
    }
    if negative {
        return Err(FeeError::IncomeNegative);
    }
    let frac = frac_part.unwrap_or("");
    if frac.len() > 2 && frac[2..].bytes().any(|b| b != b'0') {
        return Err(FeeError::IncomeTooManyDecimals);
    }
    let int_digits = int_part.trim_start_matches('0');
    // MAX_BASE_FEN / 100 has 9 digits; 10 or more cannot fit.
    if int_digits.len() > 9 {
        return Err(FeeError::IncomeTooLarge);
    }
    let yuan: i64 = int_digits.parse().unwrap_or(0);
    let mut fen_digits = frac.bytes().take(2).map(|b| i64::from(b - b'0'));
    let tenths = fen_digits.next().unwrap_or(0);
    let hundredths = fen_digits.next().unwrap_or(0);
    let fen = yuan * 100 + tenths * 10 + hundredths;
    if fen > MAX_BASE_FEN {
        return Err(FeeError::IncomeTooLarge);
    }
    Ok(fen)
}

/// Formats fen as yuan with two decimals: `1235` → `12.35`, `-5` → `-0.05`.
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Formats basis points as a percentage: `50` → `0.5%`, `100` → `1%`, `150` → `1.5%`.
pub fn format_rate_bp(bp: u32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        format!("{whole}%")
    } else {
        let f = format!("{frac:02}");
        format!("{whole}.{}%", f.trim_end_matches('0'))
    }
}

/// `value / 10^scale` written exactly, trailing zeros dropped down to two decimals.
fn format_scaled(value: i128, scale: u32) -> String {
    let div = 10i128.pow(scale);
    let whole = value / div;
    let frac = format!("{:0width$}", value % div, width = scale as usize);
    let trimmed = frac.trim_end_matches('0');
    let shown = if trimmed.len() < 2 {
        &frac[..2]
    } else {
        trimmed
    };
    format!("{whole}.{shown}")
}

/// Computes one month's dues with the national rules (DOMAIN.md §7), see
/// [`DuesSchedule::calculate`].
pub fn calculate_fee(input: FeeInput) -> Result<FeeResult, FeeError> {
    DuesSchedule::national_2008().calculate(&input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::RoundingStrategy;

    fn on() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).expect("valid test date")
    }

    fn fee(category: DuesCategory, income: &str) -> FeeResult {
        let input = FeeInput::new(category, on())
            .with_income_str(income)
            .expect("valid income");
        calculate_fee(input).expect("computable")
    }

    fn check(category: DuesCategory, income: &str, fen: i64, rate: &str, rule: &str) {
        let r = fee(category, income);
        assert_eq!(
            (r.fee_fen, r.rate.as_str(), r.rule.as_str()),
            (fen, rate, rule),
            "{category} {income}"
        );
    }

    #[test]
    fn employed_bracket_boundaries() {
        // DOMAIN.md §7: the rate applies to the whole base.
        use DuesCategory::Employed as E;
        check(E, "0", 0, "0.5%", "employed.0-3000");
        check(E, "3000.00", 1500, "0.5%", "employed.0-3000");
        check(E, "3000.01", 3000, "1%", "employed.3000-5000");
        check(E, "5000", 5000, "1%", "employed.3000-5000");
        check(E, "5000.01", 7500, "1.5%", "employed.5000-10000");
        check(E, "10000", 15000, "1.5%", "employed.5000-10000");
        check(E, "10000.01", 20000, "2%", "employed.10000+");
        check(E, "25000", 50000, "2%", "employed.10000+");
    }

    #[test]
    fn retired_bracket_boundaries() {
        use DuesCategory::Retired as R;
        check(R, "5000", 2500, "0.5%", "retired.0-5000");
        check(R, "5000.01", 5000, "1%", "retired.5000+");
    }

    #[test]
    fn rounding() {
        use DuesCategory::Employed as E;
        // 3333.33 × 1% = 33.3333 → 33.33.
        check(E, "3333.33", 3333, "1%", "employed.3000-5000");
        // 2999 × 0.5% = 14.995: exactly half a fen, half up → 15.00.
        check(E, "2999", 1500, "0.5%", "employed.0-3000");
        // 2997 × 0.5% = 14.985 → 14.99.
        check(E, "2997", 1499, "0.5%", "employed.0-3000");
        // 3000.50 × 1% = 30.005 → 30.01.
        check(E, "3000.50", 3001, "1%", "employed.3000-5000");
        // 3000.49 × 1% = 30.0049 → 30.00.
        check(E, "3000.49", 3000, "1%", "employed.3000-5000");
        // 0.01 × 0.5% = 0.00005 → 0.00.
        check(E, "0.01", 0, "0.5%", "employed.0-3000");
    }

    #[test]
    fn rounding_modes() {
        let run = |income: &str, mode| {
            let mut input = FeeInput::new(DuesCategory::Employed, on())
                .with_income_str(income)
                .expect("valid");
            input.rounding = mode;
            calculate_fee(input).expect("ok").fee_fen
        };
        // 14.995 and 14.985.
        assert_eq!(run("2999", RoundingMode::HalfUp), 1500);
        assert_eq!(run("2999", RoundingMode::HalfEven), 1500);
        assert_eq!(run("2997", RoundingMode::HalfUp), 1499);
        assert_eq!(run("2997", RoundingMode::HalfEven), 1498);
        assert_eq!(run("2997", RoundingMode::Down), 1498);
        // 14.98005 → 14.99.
        assert_eq!(run("2996.01", RoundingMode::Up), 1499);
        assert_eq!(run("2996", RoundingMode::Up), 1498);
        assert_eq!(RoundingMode::default(), RoundingMode::HalfUp);
        assert_eq!(RoundingMode::parse("四舍五入"), Some(RoundingMode::HalfUp));
    }

    #[test]
    fn explanation_and_source() {
        let r = fee(DuesCategory::Employed, "5000.01");
        assert_eq!(r.base_fen, Some(500_001));
        assert!(r.source.contains("2008"), "{}", r.source);
        assert!(r.source.contains("§7"));
        assert!(
            r.explanation_zh.contains("5000.01 × 1.5% = 75.00015元"),
            "{}",
            r.explanation_zh
        );
        assert!(r.explanation_zh.contains("75.00元"), "{}", r.explanation_zh);
        assert!(
            r.explanation_en.contains("75.00 yuan"),
            "{}",
            r.explanation_en
        );
    }

    #[test]
    fn farmers_and_fixed_categories() {
        let farmer = FeeInput::new(DuesCategory::Farmer, on());
        let r = calculate_fee(farmer.clone()).expect("ok");
        assert_eq!(
            (r.fee_fen, r.rate.as_str(), r.rule.as_str()),
            (20, "fixed", "farmer.fixed")
        );
        for (amount, ok) in [
            (19, false),
            (20, true),
            (50, true),
            (100, true),
            (101, false),
        ] {
            let mut i = farmer.clone();
            i.branch_amount_fen = Some(amount);
            let res = calculate_fee(i);
            assert_eq!(res.is_ok(), ok, "{amount}");
            if let Err(e) = res {
                assert_eq!(e.field(), "branch_amount_fen");
            }
        }
        for c in [
            DuesCategory::Student,
            DuesCategory::Unemployed,
            DuesCategory::Subsistence,
        ] {
            let r = calculate_fee(FeeInput::new(c, on())).expect("ok");
            assert_eq!(r.fee_fen, 20, "{c}");
            let mut i = FeeInput::new(c, on());
            i.branch_amount_fen = Some(10);
            assert!(matches!(
                calculate_fee(i),
                Err(FeeError::BranchAmountOutOfRange { .. })
            ));
        }
        // An income given for a farmer is checked but not used.
        let r = calculate_fee(farmer.with_income_str("2000").expect("valid")).expect("ok");
        assert_eq!(r.fee_fen, 20);
    }

    #[test]
    fn relief_needs_approval() {
        let student = FeeInput::new(DuesCategory::Student, on());
        let mut i = student.clone();
        i.relief = Some(Relief::Exempt {
            approval_ref: "某党委〔2025〕3号".into(),
        });
        let r = calculate_fee(i).expect("ok");
        assert_eq!((r.fee_fen, r.standard_fee_fen), (0, 20));
        assert!(r.explanation_zh.contains("免交"));

        let mut i = student.clone();
        i.relief = Some(Relief::Reduced {
            fen: 10,
            approval_ref: "WF-1".into(),
        });
        assert_eq!(calculate_fee(i).expect("ok").fee_fen, 10);

        let mut i = student.clone();
        i.relief = Some(Relief::Exempt {
            approval_ref: " ".into(),
        });
        let e = calculate_fee(i).expect_err("no approval");
        assert_eq!(
            (e.field(), e.code()),
            ("relief.approval_ref", "approval_required")
        );

        let mut i = student;
        i.relief = Some(Relief::Reduced {
            fen: 20,
            approval_ref: "WF-1".into(),
        });
        assert!(matches!(
            calculate_fee(i),
            Err(FeeError::ReductionInvalid { .. })
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let e = calculate_fee(FeeInput::new(DuesCategory::Employed, on())).expect_err("no income");
        assert_eq!((e.field(), e.code()), ("income", "required"));
        let mut i =
            FeeInput::new(DuesCategory::Employed, on()).with_income(Decimal::new(300_000, 2));
        i.branch_amount_fen = Some(20);
        assert_eq!(
            calculate_fee(i).expect_err("n/a").field(),
            "branch_amount_fen"
        );
        let i = FeeInput::new(DuesCategory::Employed, on()).with_income(Decimal::new(-1, 2));
        assert_eq!(calculate_fee(i), Err(FeeError::IncomeNegative));
        let i = FeeInput::new(DuesCategory::Employed, on()).with_income(Decimal::new(1, 3));
        assert_eq!(calculate_fee(i), Err(FeeError::IncomeTooManyDecimals));
        let i =
            FeeInput::new(DuesCategory::Employed, on()).with_income(Decimal::new(30_000_000, 4));
        assert_eq!(
            calculate_fee(i).expect("3000.0000 is 3000.00").fee_fen,
            1500
        );
        let i = FeeInput::new(DuesCategory::Employed, on()).with_income(Decimal::MAX);
        assert_eq!(calculate_fee(i), Err(FeeError::IncomeTooLarge));
        let fe = FeeError::IncomeNegative.to_field_error();
        assert_eq!(fe.field, "income");
        assert!(fe.message_zh.contains("负数"));
    }

    #[test]
    fn effective_dates() {
        let before = NaiveDate::from_ymd_opt(2008, 3, 31).expect("date");
        let first = NaiveDate::from_ymd_opt(2008, 4, 1).expect("date");
        let i = FeeInput::new(DuesCategory::Farmer, before);
        let e = calculate_fee(i).expect_err("before 2008 rules");
        assert_eq!(e.code(), "no_rule_in_force");
        assert!(calculate_fee(FeeInput::new(DuesCategory::Farmer, first)).is_ok());

        // A later rule set replaces the earlier one for its category from its date.
        let mut s = DuesSchedule::national_2008();
        let from_2030 = NaiveDate::from_ymd_opt(2030, 1, 1).expect("date");
        s.rules.push(DuesRule {
            id: "farmer.fixed.2030".into(),
            effective_from: from_2030,
            category: DuesCategory::Farmer,
            lower_exclusive_fen: None,
            upper_inclusive_fen: None,
            amount: DuesAmount::Fixed {
                default_fen: 50,
                min_fen: 50,
                max_fen: 100,
            },
        });
        assert_eq!(s.check(), Ok(()));
        let r = s
            .calculate(&FeeInput::new(DuesCategory::Farmer, from_2030))
            .expect("ok");
        assert_eq!((r.fee_fen, r.rule.as_str()), (50, "farmer.fixed.2030"));
        let r = s
            .calculate(&FeeInput::new(DuesCategory::Farmer, on()))
            .expect("ok");
        assert_eq!(r.rule, "farmer.fixed");
    }

    #[test]
    fn latest_change_month() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        let s = DuesSchedule::national_2008();
        assert_eq!(
            s.latest_change_month(DuesCategory::Employed, d(2030, 1, 1)),
            None
        );
        let mut s2 = s.clone();
        for r in s
            .rules
            .iter()
            .filter(|r| r.category == DuesCategory::Employed)
        {
            let mut r = r.clone();
            r.id = format!("{}.2027", r.id);
            r.effective_from = d(2027, 7, 15);
            s2.rules.push(r);
        }
        assert_eq!(s2.check(), Ok(()));
        let c = DuesCategory::Employed;
        assert_eq!(s2.latest_change_month(c, d(2027, 7, 1)), None);
        assert_eq!(
            s2.latest_change_month(c, d(2027, 8, 1)),
            Some(d(2027, 8, 1))
        );
        assert_eq!(
            s2.latest_change_month(c, d(2029, 1, 1)),
            Some(d(2027, 8, 1))
        );
        assert_eq!(
            s2.latest_change_month(DuesCategory::Retired, d(2029, 1, 1)),
            None
        );
    }

    #[test]
    fn schedule_check() {
        let s = DuesSchedule::national_2008();
        assert_eq!(s.check(), Ok(()));
        let mut gap = s.clone();
        gap.rules.retain(|r| r.id != "employed.3000-5000");
        assert!(gap.check().is_err());
        let mut overlap = s.clone();
        overlap.rules.push(overlap.rules[0].clone());
        assert!(overlap.check().is_err());
        let mut no_top = s;
        no_top.rules.retain(|r| r.id != "retired.5000+");
        assert!(no_top.check().is_err());
    }

    #[test]
    fn parse_yuan() {
        assert_eq!(parse_yuan_to_fen("12.35"), Ok(1235));
        assert_eq!(parse_yuan_to_fen(" 5000 "), Ok(500_000));
        assert_eq!(parse_yuan_to_fen("5000.5"), Ok(500_050));
        assert_eq!(parse_yuan_to_fen("0.01"), Ok(1));
        assert_eq!(parse_yuan_to_fen("007.10"), Ok(710));
        assert_eq!(parse_yuan_to_fen("3000.000"), Ok(300_000));
        assert_eq!(parse_yuan_to_fen("100000000"), Ok(MAX_BASE_FEN));
        assert_eq!(
            parse_yuan_to_fen("100000000.01"),
            Err(FeeError::IncomeTooLarge)
        );
        assert_eq!(
            parse_yuan_to_fen("99999999999999999999999"),
            Err(FeeError::IncomeTooLarge)
        );
        assert_eq!(parse_yuan_to_fen("-1"), Err(FeeError::IncomeNegative));
        assert_eq!(
            parse_yuan_to_fen("1.001"),
            Err(FeeError::IncomeTooManyDecimals)
        );
        for bad in [
            "",
            "abc",
            "1e3",
            "1,000",
            "+5",
            ".5",
            "5.",
            "1.2.3",
            "NaN",
            "¥100",
            "１００",
            "- 5",
        ] {
            assert!(
                matches!(
                    parse_yuan_to_fen(bad),
                    Err(FeeError::IncomeNotANumber { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(parse_yuan_to_fen("abc").expect_err("bad").field(), "income");
    }

    #[test]
    fn formatting() {
        assert_eq!(format_fen(1235), "12.35");
        assert_eq!(format_fen(5), "0.05");
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(-5), "-0.05");
        assert_eq!(format_fen(i64::MIN), "-92233720368547758.08");
        assert_eq!(format_rate_bp(50), "0.5%");
        assert_eq!(format_rate_bp(100), "1%");
        assert_eq!(format_rate_bp(150), "1.5%");
        assert_eq!(format_rate_bp(25), "0.25%");
        assert_eq!(format_scaled(7_500_150, 6), "7.50015");
        assert_eq!(format_scaled(15_000_000, 6), "15.00");
    }

    #[test]
    fn special_payment() {
        assert!(!is_special_payment(100_000));
        assert!(is_special_payment(100_001));
    }

    fn rate_rule_for(category: DuesCategory, base: i64) -> (u32, Option<i64>, Option<i64>) {
        let s = DuesSchedule::national_2008();
        let rules = s.rules_in_force(category, on());
        let r = rules
            .into_iter()
            .find(|r| r.contains(base))
            .expect("bracket");
        match r.amount {
            DuesAmount::Rate { bp } => (bp, r.lower_exclusive_fen, r.upper_inclusive_fen),
            DuesAmount::Fixed { .. } => unreachable!("rate categories only"),
        }
    }

    fn rate_category() -> impl Strategy<Value = DuesCategory> {
        prop::sample::select(vec![DuesCategory::Employed, DuesCategory::Retired])
    }

    fn fee_of(category: DuesCategory, base: i64) -> i64 {
        let i = FeeInput::new(category, on()).with_income(Decimal::new(base, 2));
        calculate_fee(i).expect("computable").fee_fen
    }

    /// DOMAIN.md §7's table, written out independently of the schedule:
    /// (upper bound inclusive in fen or none, rate in basis points, rule).
    fn reference_table(category: DuesCategory) -> &'static [(Option<i64>, u32, &'static str)] {
        match category {
            DuesCategory::Employed => &[
                (Some(300_000), 50, "employed.0-3000"),
                (Some(500_000), 100, "employed.3000-5000"),
                (Some(1_000_000), 150, "employed.5000-10000"),
                (None, 200, "employed.10000+"),
            ],
            _ => &[
                (Some(500_000), 50, "retired.0-5000"),
                (None, 100, "retired.5000+"),
            ],
        }
    }

    fn reference_bracket(category: DuesCategory, base: i64) -> (u32, &'static str) {
        reference_table(category)
            .iter()
            .find(|(upper, _, _)| upper.is_none_or(|u| base <= u))
            .map(|(_, bp, rule)| (*bp, *rule))
            .expect("the last bracket has no upper bound")
    }

    /// Every bracket edge of §7 with the category it belongs to.
    fn edges() -> Vec<(DuesCategory, i64)> {
        [DuesCategory::Employed, DuesCategory::Retired]
            .into_iter()
            .flat_map(|c| {
                reference_table(c)
                    .iter()
                    .filter_map(move |(u, _, _)| u.map(|u| (c, u)))
            })
            .collect()
    }

    fn fee_with(category: DuesCategory, base: i64, mode: RoundingMode) -> FeeResult {
        let mut i = FeeInput::new(category, on()).with_income(Decimal::new(base, 2));
        i.rounding = mode;
        calculate_fee(i).expect("computable")
    }

    fn rounding_mode() -> impl Strategy<Value = RoundingMode> {
        prop::sample::select(vec![
            RoundingMode::HalfUp,
            RoundingMode::HalfEven,
            RoundingMode::Down,
            RoundingMode::Up,
        ])
    }

    proptest! {
        /// Around every bracket edge of §7 (the edge itself belongs to the
        /// lower bracket), the rule and rate are those of DOMAIN.md's table
        /// and the fee is the whole base times that rate, half up.
        #[test]
        fn every_bracket_edge(edge in prop::sample::select(edges()), delta in -300i64..=300) {
            let (category, upper) = edge;
            let base = upper + delta;
            let (bp, rule) = reference_bracket(category, base);
            let r = fee_with(category, base, RoundingMode::HalfUp);
            prop_assert_eq!(r.rule.as_str(), rule);
            prop_assert_eq!(r.rate.clone(), format_rate_bp(bp));
            let exact = i128::from(base) * i128::from(bp);
            prop_assert_eq!(i128::from(r.fee_fen), (exact + 5_000) / 10_000);
            // Crossing an edge upward never lowers the rate.
            if delta > 0 {
                prop_assert!(bp > reference_bracket(category, upper).0);
            }
        }

        /// Every rounding mode lands within one fen of the exact fee, on the
        /// side the mode names; ties (exactly half a fen) go up under half
        /// up and to the even fen under half to even.
        #[test]
        fn rounding_cases(
            category in rate_category(),
            base in 0i64..=3_000_000,
            mode in rounding_mode(),
        ) {
            let (bp, _) = reference_bracket(category, base);
            let exact = i128::from(base) * i128::from(bp); // fen × 10⁻⁴
            let fee = i128::from(fee_with(category, base, mode).fee_fen) * 10_000;
            prop_assert!((fee - exact).abs() < 10_000);
            let tie = exact % 10_000 == 5_000;
            match mode {
                RoundingMode::Down => prop_assert!(fee <= exact),
                RoundingMode::Up => prop_assert!(fee >= exact),
                RoundingMode::HalfUp => {
                    prop_assert!((fee - exact).abs() <= 5_000);
                    if tie { prop_assert!(fee > exact); }
                }
                RoundingMode::HalfEven => {
                    prop_assert!((fee - exact).abs() <= 5_000);
                    if tie { prop_assert_eq!((fee / 10_000) % 2, 0); }
                }
            }
        }

        /// Bases that put the fee exactly on half a fen (e.g. 2999 yuan ×
        /// 0.5% = 14.995) round up under the default.
        #[test]
        fn exact_half_fen_rounds_up(k in 0i64..=1_499, category in rate_category()) {
            // base × 50 bp ends in half a fen when base ≡ 100 (mod 200).
            let base = 100 + 200 * k;
            prop_assume!(reference_bracket(category, base).0 == 50);
            let r = fee_with(category, base, RoundingMode::HalfUp);
            prop_assert_eq!(i128::from(r.fee_fen) * 10_000, i128::from(base) * 50 + 5_000);
        }

        #[test]
        fn equals_base_times_rate_rounded(category in rate_category(), base in 0i64..=5_000_000) {
            let (bp, _, _) = rate_rule_for(category, base);
            let expected = (Decimal::new(base, 2) * Decimal::new(i64::from(bp), 4))
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let fee = fee_of(category, base);
            prop_assert!(fee >= 0);
            prop_assert_eq!(Decimal::new(fee, 2), expected);
        }

        #[test]
        fn monotone_within_bracket(category in rate_category(), a in 0i64..=5_000_000, b in 0i64..=5_000_000) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assume!(rate_rule_for(category, lo) == rate_rule_for(category, hi));
            prop_assert!(fee_of(category, lo) <= fee_of(category, hi));
        }

        #[test]
        fn never_negative_any_base(category in rate_category(), base in 0i64..=MAX_BASE_FEN) {
            prop_assert!(fee_of(category, base) >= 0);
        }

        #[test]
        fn parse_format_roundtrip(fen in 0i64..=MAX_BASE_FEN) {
            prop_assert_eq!(parse_yuan_to_fen(&format_fen(fen)), Ok(fen));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = parse_yuan_to_fen(&s);
        }
    }
}
