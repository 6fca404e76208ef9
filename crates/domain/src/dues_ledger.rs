//! Dues collection rules (DOMAIN.md §7 and §6): months as cycles, when an
//! annual base takes effect, how payments settle the monthly charges, and
//! which arrears warnings a member's account raises. Pure: "today" and every
//! amount (integer fen) are parameters.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::warnings::{Finding, Level, RuleId, SubjectKind};

/// Six consecutive unpaid months: the member is regarded as having left
/// the party unless the branch finds a proper reason (DOMAIN.md §6, fixed).
/// The platform only flags it; the branch decides.
pub const SELF_WITHDRAWAL_MONTHS: u32 = 6;

/// The first day of the month of `d`.
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The first day of the month after `m`.
pub fn next_month(m: NaiveDate) -> NaiveDate {
    let (y, mo) = if m.month() == 12 {
        (m.year() + 1, 1)
    } else {
        (m.year(), m.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, mo, 1).unwrap_or(m)
}

/// Whole months from `a` to `b` (both taken as months): `b - a`.
pub fn months_between(a: NaiveDate, b: NaiveDate) -> i32 {
    (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32
}

/// `2026-03` as a month.
pub fn format_month(m: NaiveDate) -> String {
    format!("{:04}-{:02}", m.year(), m.month())
}

/// Parses a month written `YYYY-MM` (years 2000–2100) into its first day.
pub fn parse_month(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "invalid_month",
            format!(
                "月份应写作 YYYY-MM，例如 2026-03（收到“{}”）",
                text.chars().take(20).collect::<String>()
            ),
            format!(
                "A month is written YYYY-MM, e.g. 2026-03 (got \"{}\")",
                text.chars().take(20).collect::<String>()
            ),
        )
    };
    let t = text.trim();
    let (y, m) = t.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&y) {
        return Err(bad());
    }
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)
}

/// From which month a newly declared annual base applies (DOMAIN.md §7: the
/// base is fixed once a year). The first base of `year` covers that year
/// from January; a change of an already declared base applies from the
/// next cycle (next January) unless approved, then from the next month.
/// `year` must be this year or the next.
pub fn base_effective_from(
    year: i32,
    today: NaiveDate,
    declared_this_year: bool,
    approved: bool,
) -> Result<NaiveDate, FieldError> {
    if year != today.year() && year != today.year() + 1 {
        return Err(FieldError::new(
            "year",
            "year_out_of_range",
            format!(
                "只能申报{}年或{}年的党费基数",
                today.year(),
                today.year() + 1
            ),
            format!(
                "A base can be declared for {} or {} only",
                today.year(),
                today.year() + 1
            ),
        ));
    }
    let january = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(today);
    Ok(if !declared_this_year {
        january(year)
    } else if approved && year == today.year() {
        next_month(month_of(today))
    } else if approved {
        january(year)
    } else {
        january(year + 1)
    })
}

/// One month's charge of a member's sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub month: NaiveDate,
    pub fee_fen: i64,
}

/// A member's dues account at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuesStatus {
    /// Sum of the charges.
    pub due_fen: i64,
    /// Sum of payments settling dues (regular and advance, net of corrections).
    pub paid_fen: i64,
    /// `due - paid`; negative is credit paid in advance.
    pub balance_fen: i64,
    /// Ended months (before the current one) not fully paid.
    pub months_in_arrears: u32,
    /// The oldest of them.
    pub oldest_unpaid: Option<NaiveDate>,
    /// Voluntary and special payments (not counted against dues).
    pub voluntary_fen: i64,
}

/// Settles `charges` oldest first with `paid_fen` (DOMAIN.md §7): a month
/// counts as unpaid once it has ended (`today` is in a later month) and
/// its charge is not fully covered. Zero charges (exemption) are paid.
/// Because payments cover the oldest months first, unpaid months are always
/// the most recent charged months, so they are also consecutive.
pub fn settle(
    charges: &[Charge],
    paid_fen: i64,
    voluntary_fen: i64,
    today: NaiveDate,
) -> DuesStatus {
    let mut sorted: Vec<Charge> = charges.to_vec();
    sorted.sort_by_key(|c| c.month);
    let due_fen: i64 = sorted.iter().map(|c| c.fee_fen).sum();
    let current = month_of(today);
    let mut left = paid_fen.max(0);
    let mut months_in_arrears = 0;
    let mut oldest_unpaid = None;
    for c in &sorted {
        let covered = left >= c.fee_fen;
        left = (left - c.fee_fen).max(0);
        if !covered && c.month < current {
            months_in_arrears += 1;
            oldest_unpaid.get_or_insert(c.month);
        }
    }
    DuesStatus {
        due_fen,
        paid_fen,
        balance_fen: due_fen - paid_fen,
        months_in_arrears,
        oldest_unpaid,
        voluntary_fen,
    }
}

/// The arrears findings of one member (DOMAIN.md §7, §6): `yellow_months`
/// unpaid months raise `dues_arrears_3m`; six raise `dues_arrears_6m` (red),
/// a flag for the branch to decide and record, never an automatic removal.
/// The period key is the oldest unpaid month, so a later, separate arrears
/// episode is a new warning.
pub fn arrears_findings(member_id: i64, s: &DuesStatus, yellow_months: u32) -> Vec<Finding> {
    let Some(oldest) = s.oldest_unpaid else {
        return Vec::new();
    };
    let n = s.months_in_arrears;
    let mut out = Vec::new();
    let key = format_month(oldest);
    if n >= yellow_months.max(1) {
        out.push(Finding {
            rule: RuleId::DuesArrears3m,
            level: Level::Yellow,
            subject: (SubjectKind::Member, member_id),
            period_key: key.clone(),
            detail_zh: format!(
                "自{key}起已{n}个月未交党费，欠缴{}元",
                crate::dues::format_fen(s.balance_fen.max(0))
            ),
            detail_en: format!(
                "{n} months of dues unpaid since {key}, {} yuan owed",
                crate::dues::format_fen(s.balance_fen.max(0))
            ),
            due: None,
        });
    }
    if n >= SELF_WITHDRAWAL_MONTHS {
        out.push(Finding {
            rule: RuleId::DuesArrears6m,
            level: Level::Red,
            subject: (SubjectKind::Member, member_id),
            period_key: key.clone(),
            detail_zh: format!(
                "自{key}起连续{n}个月未交党费：由支部按党章第九条研究决定并记录，平台不会自动除名"
            ),
            detail_en: format!(
                "{n} consecutive months of dues unpaid since {key}: the branch decides under Article 9 and records it; the platform never removes anyone"
            ),
            due: None,
        });
    }
    out
}

/// What a payment is for (DOMAIN.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Dues of charged months.
    Regular,
    /// Months not yet charged; needs an approval.
    Advance,
    /// More than the dues, of the member's own will.
    Voluntary,
    /// Reverses an earlier payment (never an edit).
    Correction,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Regular => "regular",
            PaymentKind::Advance => "advance",
            PaymentKind::Voluntary => "voluntary",
            PaymentKind::Correction => "correction",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "regular" => PaymentKind::Regular,
            "advance" => PaymentKind::Advance,
            "voluntary" => PaymentKind::Voluntary,
            "correction" => PaymentKind::Correction,
            _ => return None,
        })
    }
    /// Counts against the monthly dues (voluntary payments do not).
    pub fn settles_dues(self) -> bool {
        !matches!(self, PaymentKind::Voluntary)
    }
}

code_enum! {
    /// How a payment came in (DOMAIN.md §7).
    pub enum PaymentMethod {
        Cash = ("cash", "现金", "Cash"),
        Bank = ("bank", "银行转账", "Bank transfer"),
        Online = ("online", "线上支付", "Online payment"),
    }
}

/// Checks a new payment (DOMAIN.md §7): positive amount, a reference
/// (receipt number for cash, transfer or online reference otherwise), an
/// approval for an advance, and no regular payment beyond what is owed
/// (`balance_fen`, charged and unpaid), which must be an approved advance or
/// a voluntary payment instead.
pub fn validate_payment(
    kind: PaymentKind,
    amount_fen: i64,
    reference: &str,
    approval_ref: Option<&str>,
    balance_fen: i64,
) -> Vec<FieldError> {
    let mut e = Vec::new();
    if amount_fen <= 0 {
        e.push(FieldError::new(
            "amount",
            "not_positive",
            "金额必须大于0",
            "The amount must be above zero",
        ));
    }
    if reference.trim().is_empty() || reference.trim().chars().count() > 64 {
        e.push(FieldError::new(
            "reference",
            "required",
            "请填写收据号、转账或线上支付流水号（不超过64字）",
            "Give the receipt number, transfer or online reference (at most 64 characters)",
        ));
    }
    match kind {
        PaymentKind::Correction => e.push(FieldError::new(
            "kind",
            "correction_by_reversal",
            "更正须冲销原缴费记录",
            "A correction is made by reversing the original payment",
        )),
        PaymentKind::Advance if approval_ref.is_none_or(|a| a.trim().is_empty()) => {
            e.push(FieldError::new(
                "approval_ref",
                "approval_required",
                "预交党费须经批准，请填写批准文号",
                "Paying in advance needs an approval; give its reference",
            ))
        }
        PaymentKind::Regular if amount_fen > 0 && amount_fen > balance_fen.max(0) => {
            e.push(FieldError::new(
                "amount",
                "exceeds_owed",
                format!(
                    "金额超过应交未交的{}元；多交部分请登记为预交（需批准）或自愿多交",
                    crate::dues::format_fen(balance_fen.max(0))
                ),
                format!(
                    "The amount exceeds the {} yuan owed; record the rest as an approved advance or a voluntary payment",
                    crate::dues::format_fen(balance_fen.max(0))
                ),
            ))
        }
        _ => {}
    }
    e
}

/// Collection rate in basis points (paid of due, capped at 100%); `None`
/// when nothing was due.
pub fn collection_rate_bp(due_fen: i64, paid_fen: i64) -> Option<u32> {
    if due_fen <= 0 {
        return None;
    }
    let p = paid_fen.clamp(0, due_fen) as i128;
    Some(((p * 10_000) / due_fen as i128) as u32)
}

/// What one organization owes upward for one month (DOMAIN.md §7: dues are
/// remitted level by level to the higher organization). In integer fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceBalance {
    /// Collected from its own members in the month (every kind of payment,
    /// net of corrections).
    pub collected_fen: i64,
    /// Remitted to it by its child organizations for the month.
    pub received_fen: i64,
    /// To pass upward: `collected + received`.
    pub to_remit_fen: i64,
    /// Recorded as remitted upward for the month (net of corrections).
    pub remitted_fen: i64,
    /// `to_remit - remitted`; negative when more was remitted than held.
    pub outstanding_fen: i64,
}

/// The upward balance of every organization of a set for one month, from
/// its collection, the remittances of its children and its own remittances.
/// `parents` maps each organization to its parent (`None` at the top);
/// `collected` and `remitted` are per organization. Organizations with no
/// money moving at all are left out.
pub fn remittance_balances(
    parents: &std::collections::HashMap<i64, Option<i64>>,
    collected: &std::collections::HashMap<i64, i64>,
    remitted: &std::collections::HashMap<i64, i64>,
) -> std::collections::BTreeMap<i64, RemittanceBalance> {
    let mut out: std::collections::BTreeMap<i64, RemittanceBalance> = Default::default();
    for (&id, &fen) in collected {
        out.entry(id).or_default().collected_fen += fen;
    }
    for (&id, &fen) in remitted {
        out.entry(id).or_default().remitted_fen += fen;
        if let Some(Some(parent)) = parents.get(&id)
            && parents.contains_key(parent)
        {
            out.entry(*parent).or_default().received_fen += fen;
        }
    }
    for b in out.values_mut() {
        b.to_remit_fen = b.collected_fen + b.received_fen;
        b.outstanding_fen = b.to_remit_fen - b.remitted_fen;
    }
    out.retain(|_, b| *b != RemittanceBalance::default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn months(from: NaiveDate, n: usize, fee: i64) -> Vec<Charge> {
        let mut out = Vec::new();
        let mut m = from;
        for _ in 0..n {
            out.push(Charge {
                month: m,
                fee_fen: fee,
            });
            m = next_month(m);
        }
        out
    }

    #[test]
    fn month_arithmetic() {
        assert_eq!(next_month(d(2026, 12, 1)), d(2027, 1, 1));
        assert_eq!(months_between(d(2025, 11, 1), d(2026, 2, 1)), 3);
        assert_eq!(parse_month("month", "2026-03").unwrap(), d(2026, 3, 1));
        for bad in [
            "2026-13", "2026-3", "26-03", "abcd-ef", "", "1999-01", "2026-00",
        ] {
            assert_eq!(
                parse_month("month", bad).unwrap_err().code,
                "invalid_month",
                "{bad}"
            );
        }
    }

    /// DOMAIN.md §7: the base is fixed once a year; a mid-year change waits
    /// for the next cycle unless approved.
    #[test]
    fn base_effective_dates() {
        let today = d(2026, 5, 20);
        assert_eq!(
            base_effective_from(2026, today, false, false).unwrap(),
            d(2026, 1, 1)
        );
        assert_eq!(
            base_effective_from(2026, today, true, false).unwrap(),
            d(2027, 1, 1)
        );
        assert_eq!(
            base_effective_from(2026, today, true, true).unwrap(),
            d(2026, 6, 1)
        );
        assert_eq!(
            base_effective_from(2027, today, false, false).unwrap(),
            d(2027, 1, 1)
        );
        assert_eq!(
            base_effective_from(2027, today, true, true).unwrap(),
            d(2027, 1, 1)
        );
        assert!(base_effective_from(2025, today, false, false).is_err());
        assert!(base_effective_from(2028, today, false, false).is_err());
    }

    #[test]
    fn settle_oldest_first_and_arrears_counts_only_ended_months() {
        let ch = months(d(2026, 1, 1), 4, 1000);
        // Paid two months; April is the current month, so Mar is in arrears.
        let s = settle(&ch, 2000, 0, d(2026, 4, 10));
        assert_eq!((s.due_fen, s.paid_fen, s.balance_fen), (4000, 2000, 2000));
        assert_eq!(s.months_in_arrears, 1);
        assert_eq!(s.oldest_unpaid, Some(d(2026, 3, 1)));
        // A partial payment leaves the month unpaid.
        let s = settle(&ch, 2999, 0, d(2026, 5, 1));
        assert_eq!(s.months_in_arrears, 2);
        // Exempt months (zero fee) are never in arrears.
        let s = settle(&months(d(2026, 1, 1), 8, 0), 0, 0, d(2026, 12, 1));
        assert_eq!(s.months_in_arrears, 0);
        // Advance payment: credit.
        let s = settle(&ch, 6000, 0, d(2026, 5, 1));
        assert_eq!((s.balance_fen, s.months_in_arrears), (-2000, 0));
    }

    /// DOMAIN.md §7 and §6: three months a warning, six a red flag.
    #[test]
    fn arrears_thresholds() {
        let ch = months(d(2026, 1, 1), 7, 1000);
        let at = |today, paid| arrears_findings(9, &settle(&ch, paid, 0, today), 3);
        assert!(at(d(2026, 3, 15), 0).is_empty()); // Jan, Feb: 2 months
        let f = at(d(2026, 4, 1), 0);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule, f[0].level),
            (RuleId::DuesArrears3m, Level::Yellow)
        );
        assert_eq!(f[0].period_key, "2026-01");
        assert_eq!(at(d(2026, 6, 30), 0).len(), 1); // 5 months
        let f = at(d(2026, 7, 1), 0);
        assert_eq!(f.len(), 2);
        assert_eq!((f[1].rule, f[1].level), (RuleId::DuesArrears6m, Level::Red));
        // Paying the oldest month moves the episode: 5 unpaid from Feb.
        let f = at(d(2026, 7, 1), 1000);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].period_key, "2026-02");
    }

    #[test]
    fn payments_are_checked() {
        use PaymentKind::*;
        assert!(validate_payment(Regular, 1000, "R-1", None, 1000).is_empty());
        assert_eq!(
            validate_payment(Regular, 1001, "R-1", None, 1000)[0].code,
            "exceeds_owed"
        );
        assert_eq!(
            validate_payment(Regular, 0, "R-1", None, 1000)[0].code,
            "not_positive"
        );
        assert_eq!(
            validate_payment(Regular, 10, " ", None, 1000)[0].code,
            "required"
        );
        assert_eq!(
            validate_payment(Advance, 10, "R", None, 0)[0].code,
            "approval_required"
        );
        assert!(validate_payment(Advance, 10, "R", Some("党委〔2026〕3号"), 0).is_empty());
        assert!(validate_payment(Voluntary, 500_000, "R", None, 0).is_empty());
        assert_eq!(
            validate_payment(Correction, 10, "R", None, 0)[0].code,
            "correction_by_reversal"
        );
    }

    #[test]
    fn rates() {
        assert_eq!(collection_rate_bp(0, 0), None);
        assert_eq!(collection_rate_bp(3000, 1000), Some(3333));
        assert_eq!(collection_rate_bp(3000, 9000), Some(10_000));
    }

    proptest::proptest! {
        /// Settlement invariants (DOMAIN.md §7): the balance is due minus
        /// paid; paying the whole balance leaves nothing in arrears; unpaid
        /// months are the latest ended ones, so arrears never exceed them.
        #[test]
        fn settlement_invariants(
            fees in proptest::collection::vec(0i64..50_000, 0..24),
            paid in 0i64..2_000_000,
            today_offset in 0i32..30,
        ) {
            let start = d(2025, 1, 1);
            let mut charges = Vec::new();
            let mut m = start;
            for f in &fees {
                charges.push(Charge { month: m, fee_fen: *f });
                m = next_month(m);
            }
            let mut today = start;
            for _ in 0..today_offset {
                today = next_month(today);
            }
            let s = settle(&charges, paid, 0, today);
            proptest::prop_assert_eq!(s.balance_fen, s.due_fen - paid);
            let ended = charges.iter().filter(|c| c.month < today).count() as u32;
            proptest::prop_assert!(s.months_in_arrears <= ended);
            if paid >= s.due_fen {
                proptest::prop_assert_eq!(s.months_in_arrears, 0);
            }
            if s.oldest_unpaid.is_some() {
                // Every charged month after the oldest unpaid one is unpaid
                // or free: payments cover the oldest months first.
                let f = arrears_findings(1, &s, 3);
                proptest::prop_assert_eq!(f.len(), usize::from(s.months_in_arrears >= 3) + usize::from(s.months_in_arrears >= 6));
            }
        }
    }
    #[test]
    fn remittance_passes_level_by_level() {
        // DOMAIN.md §7: branch 2 remits to committee 1; the committee passes
        // on its own collection plus what its branches remitted.
        use std::collections::HashMap;
        let parents: HashMap<i64, Option<i64>> =
            [(1, None), (2, Some(1)), (3, Some(1)), (4, Some(1))].into();
        let collected: HashMap<i64, i64> = [(1, 500), (2, 12_345), (3, 700)].into();
        let remitted: HashMap<i64, i64> = [(2, 12_000), (1, 10_000)].into();
        let b = remittance_balances(&parents, &collected, &remitted);
        assert_eq!(
            b[&2],
            RemittanceBalance {
                collected_fen: 12_345,
                received_fen: 0,
                to_remit_fen: 12_345,
                remitted_fen: 12_000,
                outstanding_fen: 345,
            }
        );
        assert_eq!(b[&3].outstanding_fen, 700);
        assert_eq!(
            (
                b[&1].received_fen,
                b[&1].to_remit_fen,
                b[&1].outstanding_fen
            ),
            (12_000, 12_500, 2_500)
        );
        // Nothing moved at branch 4: no row.
        assert!(!b.contains_key(&4));
        // A parent outside the set (the report's own top) receives nothing here.
        let parents: HashMap<i64, Option<i64>> = [(2, Some(1))].into();
        let b = remittance_balances(&parents, &HashMap::new(), &[(2, 100)].into());
        assert_eq!((b.len(), b[&2].outstanding_fen), (1, -100));
    }
}
