//! 三重一大 major decisions (DOMAIN.md §8): the register's record of one
//! decision and its compliance checks, giving a verdict and the warnings
//! (`decision_compliance`, `emergency_decision_unreported`) the engine raises.
//!
//! Choices made where DOMAIN.md §8 leaves room, applied by every check:
//! - Body size is `members_total`, the whole leadership body. Recused members
//!   stay in it but do not count as present for the quorum, and their
//!   positions do not count toward the majority (a recusal must not help a
//!   quorum or a vote).
//! - Quorum: present × 2 > body (more than half); for cadre appointments
//!   present × 3 ≥ body × 2 (two thirds).
//! - Majority: agree × 2 > body, counting each present, non-recused member's
//!   first stated position once. Positions of absent members do not count.
//! - "Dissent" is a `disagree` position; abstentions are not dissent.
//! - A large sum is `amount_fen ≥ threshold_fen`, whatever the kind; a
//!   `large_fund_use` with no amount is treated as large.
//! - An emergency decision taken alone is exempt from the meeting checks; it
//!   must be reported to the next meeting (blue until it is), and a large sum
//!   taken alone is still red.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::warnings::{CURRENT, Finding, Level, RuleId, SubjectKind};

code_enum! {
    /// The four kinds of 三重一大 matter (DOMAIN.md §8).
    pub enum DecisionKind {
        MajorPolicy = ("major_policy", "重大决策事项", "Major policy decision"),
        CadreAppointment = ("cadre_appointment", "重要干部任免", "Appointment or removal of important cadres"),
        MajorProject = ("major_project", "重大项目安排", "Major project arrangement"),
        LargeFundUse = ("large_fund_use", "大额度资金运作", "Use of a large sum"),
    }
}

code_enum! {
    /// How the decision was taken. Only `meeting` is compliant (DOMAIN.md §8).
    pub enum DecisionMethod {
        Meeting = ("meeting", "会议集体决策", "Collective decision at a meeting"),
        Circulation = ("circulation", "传签", "Circulating papers"),
        Countersign = ("countersign", "会签", "Countersigning"),
        OneByOne = ("one_by_one", "个别征求意见", "One-by-one consultation"),
    }
}

code_enum! {
    /// A member's stated position (DOMAIN.md §8).
    pub enum Position {
        Agree = ("agree", "同意", "Agree"),
        Disagree = ("disagree", "不同意", "Disagree"),
        Abstain = ("abstain", "弃权", "Abstain"),
    }
}

/// One member's position, in the order spoken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub member_id: i64,
    pub position: Position,
    pub is_principal_leader: bool,
}

/// An emergency decision taken alone (临机决策).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emergency {
    /// Date of the next leadership meeting where it was reported, once it was.
    pub reported_at_next_meeting: Option<NaiveDate>,
}

/// One entry of the 三重一大 register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub kind: DecisionKind,
    pub title: String,
    /// Amount of money involved, in fen, if any.
    pub amount_fen: Option<i64>,
    /// The organization's large-sum threshold, in fen (configurable per organization).
    pub threshold_fen: i64,
    pub method: DecisionMethod,
    /// Size of the leadership body (all its members, recused or not).
    pub members_total: u32,
    /// Members present at the meeting.
    pub attendees: Vec<i64>,
    /// Members who recused themselves for a conflict of interest.
    pub recused: Vec<i64>,
    pub prior_research: bool,
    pub consultation: bool,
    /// Legal or risk review (合法性审查 / 风险评估).
    pub legal_review: bool,
    /// Positions in speaking order.
    pub statements: Vec<Statement>,
    /// Disagreeing opinions are recorded in the minutes.
    pub dissent_recorded: bool,
    /// Set when the decision was taken alone in an emergency.
    pub emergency: Option<Emergency>,
}

impl Decision {
    /// Input checks at the edge (not compliance): each broken one names its field.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        if self.title.trim().is_empty() {
            e.push(FieldError::new(
                "title",
                "required",
                "请填写事项名称",
                "The title is required",
            ));
        }
        if self.amount_fen.is_some_and(|a| a < 0) {
            e.push(FieldError::new(
                "amount_fen",
                "negative",
                "金额不能为负数",
                "The amount cannot be negative",
            ));
        }
        if self.threshold_fen <= 0 {
            e.push(FieldError::new(
                "threshold_fen",
                "not_positive",
                "大额资金标准必须大于零",
                "The large-sum threshold must be greater than zero",
            ));
        }
        if self.members_total == 0 {
            e.push(FieldError::new(
                "members_total",
                "not_positive",
                "领导班子成员数必须大于零",
                "The leadership body must have members",
            ));
        }
        let distinct: HashSet<i64> = self.attendees.iter().copied().collect();
        if distinct.len() != self.attendees.len() {
            e.push(FieldError::new(
                "attendees",
                "duplicate",
                "到会成员重复",
                "An attendee is listed twice",
            ));
        }
        if u64::try_from(distinct.len()).unwrap_or(u64::MAX) > u64::from(self.members_total) {
            e.push(FieldError::new(
                "attendees",
                "exceeds_body",
                "到会人数超过领导班子成员数",
                "More attendees than members of the body",
            ));
        }
        e.into_result()
    }
}

code_enum! {
    /// One compliance check of DOMAIN.md §8; its level is fixed ([`DecisionCheck::level`]).
    pub enum DecisionCheck {
        NotAtMeeting = ("not_at_meeting", "未经会议集体决策", "Not decided collectively at a meeting"),
        NoQuorum = ("no_quorum", "到会人数不足", "No quorum"),
        FailedMajority = ("failed_majority", "同意人数未超过班子成员半数", "Agree votes not more than half of the body"),
        LargeFundNotCollective = ("large_fund_not_collective", "大额资金未经集体决策", "Large sum not decided collectively"),
        MissingPriorResearch = ("missing_prior_research", "会前未调查研究", "No prior research"),
        MissingConsultation = ("missing_consultation", "会前未征求意见", "No prior consultation"),
        MissingLegalReview = ("missing_legal_review", "未进行合法性或风险审查", "No legal or risk review"),
        MissingAmount = ("missing_amount", "资金事项未填金额", "Amount missing"),
        PrincipalNotLast = ("principal_not_last", "主要负责人未末位表态", "Principal leader did not speak last"),
        PositionNotStated = ("position_not_stated", "到会成员未表态", "A present member stated no position"),
        DuplicateStatement = ("duplicate_statement", "同一成员重复表态", "A member stated a position twice"),
        StatedWithoutAttending = ("stated_without_attending", "未到会成员有表态记录", "A position from a member not present"),
        RecusedTookPart = ("recused_took_part", "应回避成员参与表态", "A recused member stated a position"),
        DissentNotRecorded = ("dissent_not_recorded", "不同意见未记入纪要", "Dissent not recorded in the minutes"),
        EmergencyNotReported = ("emergency_not_reported", "临机决策尚未向下次会议报告", "Emergency decision not yet reported"),
    }
}

impl DecisionCheck {
    /// Red: no collective, quorate, passing decision. Yellow: a procedural
    /// deviation to correct. Blue: a pending report.
    pub fn level(self) -> Level {
        use DecisionCheck::*;
        match self {
            NotAtMeeting | NoQuorum | FailedMajority | LargeFundNotCollective => Level::Red,
            MissingPriorResearch
            | MissingConsultation
            | MissingLegalReview
            | MissingAmount
            | PrincipalNotLast
            | PositionNotStated
            | DuplicateStatement
            | StatedWithoutAttending
            | RecusedTookPart
            | DissentNotRecorded => Level::Yellow,
            EmergencyNotReported => Level::Blue,
        }
    }
}

/// One failed check with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionFinding {
    pub code: DecisionCheck,
    pub level: Level,
    pub message_zh: String,
    pub message_en: String,
}

/// The outcome of [`check_compliance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// No red or yellow finding (a blue reminder does not make it non-compliant).
    pub compliant: bool,
    pub findings: Vec<DecisionFinding>,
}

impl Verdict {
    /// The highest level found, if any.
    pub fn worst(&self) -> Option<Level> {
        self.findings.iter().map(|f| f.level).max()
    }

    pub fn has(&self, code: DecisionCheck) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// The warnings for the engine ([`crate::warnings::reconcile`]):
    /// `decision_compliance` at the worst red or yellow level with every such
    /// finding in its detail, and `emergency_decision_unreported` (blue).
    pub fn warning_findings(&self, decision_id: i64) -> Vec<Finding> {
        let subject = (SubjectKind::Decision, decision_id);
        let mut out = Vec::new();
        let serious: Vec<&DecisionFinding> = self
            .findings
            .iter()
            .filter(|f| f.level > Level::Blue)
            .collect();
        if let Some(level) = serious.iter().map(|f| f.level).max() {
            out.push(Finding {
                rule: RuleId::DecisionCompliance,
                level,
                subject,
                period_key: CURRENT.to_string(),
                detail_zh: join(&serious, |f| &f.message_zh, "；"),
                detail_en: join(&serious, |f| &f.message_en, "; "),
                due: None,
            });
        }
        if let Some(f) = self
            .findings
            .iter()
            .find(|f| f.code == DecisionCheck::EmergencyNotReported)
        {
            out.push(Finding {
                rule: RuleId::EmergencyDecisionUnreported,
                level: Level::Blue,
                subject,
                period_key: CURRENT.to_string(),
                detail_zh: f.message_zh.clone(),
                detail_en: f.message_en.clone(),
                due: None,
            });
        }
        out
    }
}

fn join(fs: &[&DecisionFinding], text: impl Fn(&DecisionFinding) -> &String, sep: &str) -> String {
    fs.iter()
        .map(|f| text(f).as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Yuan with two decimals, for messages.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The sum is at or above the organization's threshold (or unknown for a fund use).
fn is_large_sum(d: &Decision) -> bool {
    match d.amount_fen {
        Some(a) => a >= d.threshold_fen,
        None => d.kind == DecisionKind::LargeFundUse,
    }
}

/// Every check of DOMAIN.md §8 on one decision; see the module doc for the
/// counting rules. Never fails: odd input just yields findings.
pub fn check_compliance(d: &Decision) -> Verdict {
    use DecisionCheck::*;
    let mut out: Vec<DecisionFinding> = Vec::new();
    let mut add = |code: DecisionCheck, zh: String, en: String| {
        out.push(DecisionFinding {
            code,
            level: code.level(),
            message_zh: zh,
            message_en: en,
        });
    };
    let large = is_large_sum(d);

    if d.kind == DecisionKind::LargeFundUse && d.amount_fen.is_none() {
        add(
            MissingAmount,
            "资金事项未填写金额，按大额资金处理".into(),
            "No amount recorded for a use of funds; treated as a large sum".into(),
        );
    }
    let collective = d.emergency.is_none() && d.method == DecisionMethod::Meeting;
    if large && !collective {
        let amount = d.amount_fen.map(yuan).unwrap_or_else(|| "?".into());
        let threshold = yuan(d.threshold_fen);
        add(
            LargeFundNotCollective,
            format!("金额 {amount} 元达到大额资金标准 {threshold} 元，未经会议集体决策"),
            format!(
                "{amount} yuan reaches the large-sum threshold of {threshold} yuan but was not decided collectively at a meeting"
            ),
        );
    }

    if let Some(em) = &d.emergency {
        if em.reported_at_next_meeting.is_none() {
            add(
                EmergencyNotReported,
                "临机决策尚未向下次领导班子会议报告".into(),
                "The emergency decision has not yet been reported to the next leadership meeting"
                    .into(),
            );
        }
        return verdict(out);
    }

    if d.method != DecisionMethod::Meeting {
        add(
            NotAtMeeting,
            format!("以“{}”方式决策，未召开会议集体决策", d.method.label_zh()),
            format!(
                "Decided by {}, not collectively at a meeting",
                d.method.label_en().to_lowercase()
            ),
        );
    }

    let body = u64::from(d.members_total);
    let recused: HashSet<i64> = d.recused.iter().copied().collect();
    let attended: HashSet<i64> = d.attendees.iter().copied().collect();
    let present: HashSet<i64> = attended.difference(&recused).copied().collect();
    let n_present = count(present.len());

    let cadre = d.kind == DecisionKind::CadreAppointment;
    let quorate = if cadre {
        n_present * 3 >= body * 2
    } else {
        n_present * 2 > body
    };
    if !quorate {
        let (need_zh, need_en) = if cadre {
            ("三分之二", "two thirds")
        } else {
            ("半数", "more than half")
        };
        add(
            NoQuorum,
            format!("班子成员 {body} 名，实到（不含回避）{n_present} 名，未达到{need_zh}"),
            format!(
                "{n_present} of {body} members present (recused excluded): fewer than {need_en}"
            ),
        );
    }

    // Each member's first statement counts; later ones are duplicates.
    let mut seen: HashSet<i64> = HashSet::new();
    let mut agree = 0u64;
    let mut disagree = 0u64;
    let mut dup = Vec::new();
    let mut absent = Vec::new();
    let mut recused_spoke = Vec::new();
    for s in &d.statements {
        if !seen.insert(s.member_id) {
            dup.push(s.member_id);
            continue;
        }
        if recused.contains(&s.member_id) {
            recused_spoke.push(s.member_id);
        } else if !attended.contains(&s.member_id) {
            absent.push(s.member_id);
        } else {
            match s.position {
                Position::Agree => agree += 1,
                Position::Disagree => disagree += 1,
                Position::Abstain => {}
            }
        }
    }
    if agree * 2 <= body {
        add(
            FailedMajority,
            format!("同意 {agree} 票，未超过班子成员 {body} 名的半数"),
            format!("{agree} agree of a body of {body}: not more than half"),
        );
    }

    if !d.prior_research {
        add(
            MissingPriorResearch,
            "会前未开展调查研究".into(),
            "No research before the meeting".into(),
        );
    }
    if !d.consultation {
        add(
            MissingConsultation,
            "会前未充分征求意见".into(),
            "No consultation before the meeting".into(),
        );
    }
    let major = matches!(
        d.kind,
        DecisionKind::MajorPolicy | DecisionKind::MajorProject
    ) || large;
    if major && !d.legal_review {
        add(
            MissingLegalReview,
            "重大事项未进行合法性审查或风险评估".into(),
            "A major item without legal or risk review".into(),
        );
    }

    let principal_last = match d.statements.split_last() {
        Some((last, earlier)) => {
            last.is_principal_leader && !earlier.iter().any(|s| s.is_principal_leader)
        }
        None => false,
    };
    if !principal_last {
        add(
            PrincipalNotLast,
            "主要负责人未在最后表态".into(),
            "The principal leader did not speak last".into(),
        );
    }

    let mut silent: Vec<i64> = present
        .iter()
        .copied()
        .filter(|m| !seen.contains(m))
        .collect();
    silent.sort_unstable();
    if !silent.is_empty() {
        add(
            PositionNotStated,
            format!("到会成员未表态：{}", ids(&silent)),
            format!("Present members who stated no position: {}", ids(&silent)),
        );
    }
    if !dup.is_empty() {
        add(
            DuplicateStatement,
            format!("重复表态（仅计首次）：{}", ids(&dup)),
            format!("Stated more than once (first counted): {}", ids(&dup)),
        );
    }
    if !absent.is_empty() {
        add(
            StatedWithoutAttending,
            format!("未到会成员有表态记录（不计入表决）：{}", ids(&absent)),
            format!(
                "Positions of members not present (not counted): {}",
                ids(&absent)
            ),
        );
    }
    if !recused_spoke.is_empty() {
        add(
            RecusedTookPart,
            format!("应回避成员参与表态（不计入表决）：{}", ids(&recused_spoke)),
            format!(
                "Recused members stated a position (not counted): {}",
                ids(&recused_spoke)
            ),
        );
    }
    if disagree > 0 && !d.dissent_recorded {
        add(
            DissentNotRecorded,
            format!("{disagree} 名成员表示不同意，纪要未记录不同意见"),
            format!("{disagree} member(s) disagreed but the minutes do not record it"),
        );
    }
    verdict(out)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn ids(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

fn verdict(findings: Vec<DecisionFinding>) -> Verdict {
    Verdict {
        compliant: findings.iter().all(|f| f.level == Level::Blue),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecisionCheck::*;

    /// A compliant decision of a 9-member body: all present, all agree, principal (9) last.
    fn base() -> Decision {
        Decision {
            kind: DecisionKind::MajorProject,
            title: "新建党群服务中心".into(),
            amount_fen: Some(5_000_000),
            threshold_fen: 10_000_000,
            method: DecisionMethod::Meeting,
            members_total: 9,
            attendees: (1..=9).collect(),
            recused: vec![],
            prior_research: true,
            consultation: true,
            legal_review: true,
            statements: (1..=9).map(|m| say(m, Position::Agree)).collect(),
            dissent_recorded: false,
            emergency: None,
        }
    }

    fn say(member_id: i64, position: Position) -> Statement {
        Statement {
            member_id,
            position,
            is_principal_leader: member_id == 9,
        }
    }

    /// Members `present` attend (principal 9 always among them, speaking last);
    /// the first `agree` of them agree, the rest abstain.
    fn meeting(d: &mut Decision, present: &[i64], agree: usize) {
        let mut order: Vec<i64> = present.iter().copied().filter(|&m| m != 9).collect();
        order.push(9);
        d.attendees = order.clone();
        d.statements = order
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                say(
                    m,
                    if i < agree {
                        Position::Agree
                    } else {
                        Position::Abstain
                    },
                )
            })
            .collect();
    }

    type Case = (&'static str, fn(&mut Decision), &'static [DecisionCheck]);

    #[test]
    fn compliance_table() {
        let cases: &[Case] = &[
            ("compliant baseline", |_| {}, &[]),
            // Method (red).
            (
                "circulation",
                |d| d.method = DecisionMethod::Circulation,
                &[NotAtMeeting],
            ),
            (
                "countersign",
                |d| d.method = DecisionMethod::Countersign,
                &[NotAtMeeting],
            ),
            (
                "one by one",
                |d| d.method = DecisionMethod::OneByOne,
                &[NotAtMeeting],
            ),
            // Quorum, more than half: 5 of 9 passes, 4 fails.
            ("5 of 9 present", |d| meeting(d, &[1, 2, 3, 4, 9], 5), &[]),
            (
                "4 of 9 present",
                |d| meeting(d, &[1, 2, 3, 9], 4),
                &[NoQuorum, FailedMajority],
            ),
            // Even body: 3 of 6 is not more than half, 4 is.
            (
                "3 of 6 present",
                |d| {
                    d.members_total = 6;
                    meeting(d, &[1, 2, 9], 3);
                },
                &[NoQuorum, FailedMajority],
            ),
            (
                "4 of 6 present",
                |d| {
                    d.members_total = 6;
                    meeting(d, &[1, 2, 3, 9], 4);
                },
                &[],
            ),
            // Recused members do not count as present; they stay in the body.
            (
                "5 present, 1 recused",
                |d| {
                    meeting(d, &[1, 2, 3, 4, 9], 5);
                    d.recused = vec![1];
                    d.statements.retain(|s| s.member_id != 1);
                    d.attendees.push(5);
                    d.statements.insert(0, say(5, Position::Agree));
                },
                &[],
            ),
            (
                "4 present after recusal",
                |d| {
                    meeting(d, &[1, 2, 3, 4, 9], 5);
                    d.recused = vec![1];
                    d.statements.retain(|s| s.member_id != 1);
                },
                &[NoQuorum, FailedMajority],
            ),
            // Cadre appointments, two thirds: 6 of 9 passes, 5 fails.
            (
                "cadre 6 of 9",
                |d| {
                    d.kind = DecisionKind::CadreAppointment;
                    d.amount_fen = None;
                    d.legal_review = false;
                    meeting(d, &[1, 2, 3, 4, 5, 9], 6);
                },
                &[],
            ),
            (
                "cadre 5 of 9",
                |d| {
                    d.kind = DecisionKind::CadreAppointment;
                    d.amount_fen = None;
                    d.legal_review = false;
                    meeting(d, &[1, 2, 3, 4, 9], 5);
                },
                &[NoQuorum],
            ),
            // Majority of the whole body, not of those present: 5 agree of 9 passes, 4 fails.
            (
                "5 agree of 9",
                |d| meeting(d, &[1, 2, 3, 4, 5, 6, 7, 8, 9], 5),
                &[],
            ),
            (
                "4 agree of 9",
                |d| meeting(d, &[1, 2, 3, 4, 5, 6, 7, 8, 9], 4),
                &[FailedMajority],
            ),
            (
                "5 agree of 5 present",
                |d| meeting(d, &[1, 2, 3, 4, 9], 5),
                &[],
            ),
            (
                "4 agree of 5 present",
                |d| meeting(d, &[1, 2, 3, 4, 9], 4),
                &[FailedMajority],
            ),
            // An absent member's position does not count toward the majority.
            (
                "absent agree not counted",
                |d| {
                    meeting(d, &[1, 2, 3, 4, 9], 4);
                    d.statements.insert(0, say(8, Position::Agree));
                },
                &[FailedMajority, StatedWithoutAttending],
            ),
            // Large sums: at the threshold counts, below does not.
            (
                "fund at threshold by circulation",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = Some(10_000_000);
                    d.method = DecisionMethod::Circulation;
                },
                &[LargeFundNotCollective, NotAtMeeting],
            ),
            (
                "fund below threshold by circulation",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = Some(9_999_999);
                    d.method = DecisionMethod::Circulation;
                },
                &[NotAtMeeting],
            ),
            (
                "fund at threshold at a meeting",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = Some(10_000_000);
                },
                &[],
            ),
            (
                "fund with no amount",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = None;
                },
                &[MissingAmount],
            ),
            // Prior research and consultation (yellow).
            (
                "no research",
                |d| d.prior_research = false,
                &[MissingPriorResearch],
            ),
            (
                "no consultation",
                |d| d.consultation = false,
                &[MissingConsultation],
            ),
            // Legal/risk review for major items only.
            (
                "project without review",
                |d| d.legal_review = false,
                &[MissingLegalReview],
            ),
            (
                "policy without review",
                |d| {
                    d.kind = DecisionKind::MajorPolicy;
                    d.legal_review = false;
                },
                &[MissingLegalReview],
            ),
            (
                "cadre without review",
                |d| {
                    d.kind = DecisionKind::CadreAppointment;
                    d.amount_fen = None;
                    d.legal_review = false;
                },
                &[],
            ),
            (
                "small fund without review",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = Some(9_999_999);
                    d.legal_review = false;
                },
                &[],
            ),
            (
                "large fund without review",
                |d| {
                    d.kind = DecisionKind::LargeFundUse;
                    d.amount_fen = Some(10_000_000);
                    d.legal_review = false;
                },
                &[MissingLegalReview],
            ),
            // Principal leader speaks last, once.
            (
                "principal first",
                |d| d.statements.rotate_right(1),
                &[PrincipalNotLast],
            ),
            (
                "principal second to last",
                |d| d.statements.swap(7, 8),
                &[PrincipalNotLast],
            ),
            (
                "no principal marked",
                |d| {
                    for s in &mut d.statements {
                        s.is_principal_leader = false;
                    }
                },
                &[PrincipalNotLast],
            ),
            (
                "principal speaks twice",
                |d| d.statements.insert(0, say(9, Position::Agree)),
                &[PrincipalNotLast, DuplicateStatement],
            ),
            // Each present member states a position.
            (
                "one silent",
                |d| {
                    d.statements.remove(0);
                },
                &[PositionNotStated],
            ),
            (
                "nobody speaks",
                |d| d.statements.clear(),
                &[FailedMajority, PrincipalNotLast, PositionNotStated],
            ),
            // Dissent in the minutes.
            (
                "dissent unrecorded",
                |d| d.statements[0].position = Position::Disagree,
                &[DissentNotRecorded],
            ),
            (
                "dissent recorded",
                |d| {
                    d.statements[0].position = Position::Disagree;
                    d.dissent_recorded = true;
                },
                &[],
            ),
            (
                "abstention is not dissent",
                |d| d.statements[0].position = Position::Abstain,
                &[],
            ),
            // Positions of people not present, recused members speaking.
            (
                "stated without attending",
                |d| {
                    d.attendees.retain(|&m| m != 1);
                },
                &[StatedWithoutAttending],
            ),
            ("recused spoke", |d| d.recused = vec![1], &[RecusedTookPart]),
            // Emergencies taken alone.
            (
                "emergency unreported",
                |d| {
                    d.method = DecisionMethod::OneByOne;
                    d.attendees.clear();
                    d.statements.clear();
                    d.emergency = Some(Emergency {
                        reported_at_next_meeting: None,
                    });
                },
                &[EmergencyNotReported],
            ),
            (
                "emergency reported",
                |d| {
                    d.attendees.clear();
                    d.statements.clear();
                    d.emergency = Some(Emergency {
                        reported_at_next_meeting: NaiveDate::from_ymd_opt(2026, 3, 2),
                    });
                },
                &[],
            ),
            (
                "emergency with a large sum",
                |d| {
                    d.amount_fen = Some(10_000_000);
                    d.emergency = Some(Emergency {
                        reported_at_next_meeting: None,
                    });
                },
                &[LargeFundNotCollective, EmergencyNotReported],
            ),
        ];
        for (name, edit, want) in cases {
            let mut d = base();
            edit(&mut d);
            let v = check_compliance(&d);
            let got: Vec<DecisionCheck> = v.findings.iter().map(|f| f.code).collect();
            assert_eq!(got, *want, "{name}");
            let serious = want.iter().any(|c| c.level() > Level::Blue);
            assert_eq!(v.compliant, !serious, "{name}");
            for f in &v.findings {
                assert_eq!(f.level, f.code.level(), "{name}");
                assert!(
                    !f.message_zh.is_empty() && !f.message_en.is_empty(),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn levels_follow_the_issue() {
        assert_eq!(NotAtMeeting.level(), Level::Red);
        assert_eq!(NoQuorum.level(), Level::Red);
        assert_eq!(FailedMajority.level(), Level::Red);
        assert_eq!(LargeFundNotCollective.level(), Level::Red);
        assert_eq!(MissingConsultation.level(), Level::Yellow);
        assert_eq!(MissingLegalReview.level(), Level::Yellow);
        assert_eq!(PrincipalNotLast.level(), Level::Yellow);
        assert_eq!(EmergencyNotReported.level(), Level::Blue);
        assert_eq!(DecisionCheck::ALL.len(), 15);
    }

    #[test]
    fn messages_explain_the_numbers() {
        let mut d = base();
        meeting(&mut d, &[1, 2, 3, 9], 4);
        let v = check_compliance(&d);
        let q = v
            .findings
            .iter()
            .find(|f| f.code == NoQuorum)
            .expect("no quorum");
        assert!(
            q.message_zh.contains("实到（不含回避）4 名"),
            "{}",
            q.message_zh
        );
        assert!(q.message_en.contains("4 of 9"), "{}", q.message_en);
        let mut d = base();
        d.amount_fen = Some(12_345_678);
        d.method = DecisionMethod::Countersign;
        let v = check_compliance(&d);
        let f = v
            .findings
            .iter()
            .find(|f| f.code == LargeFundNotCollective)
            .expect("large");
        assert!(
            f.message_zh.contains("123456.78 元") && f.message_zh.contains("100000.00 元"),
            "{}",
            f.message_zh
        );
        assert_eq!(yuan(-5), "-0.05");
    }

    #[test]
    fn verdict_to_warning_findings() {
        let v = check_compliance(&base());
        assert!(v.compliant && v.worst().is_none() && v.warning_findings(1).is_empty());

        let mut d = base();
        d.method = DecisionMethod::Circulation;
        d.consultation = false;
        let v = check_compliance(&d);
        assert_eq!(v.worst(), Some(Level::Red));
        assert!(v.has(NotAtMeeting) && v.has(MissingConsultation));
        let w = v.warning_findings(77);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].rule, w[0].level),
            (RuleId::DecisionCompliance, Level::Red)
        );
        assert_eq!(w[0].subject, (SubjectKind::Decision, 77));
        assert_eq!(w[0].detail_zh.split('；').count(), 2);

        let mut d = base();
        d.emergency = Some(Emergency {
            reported_at_next_meeting: None,
        });
        let v = check_compliance(&d);
        assert!(v.compliant);
        let w = v.warning_findings(5);
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].rule, w[0].level),
            (RuleId::EmergencyDecisionUnreported, Level::Blue)
        );
    }

    #[test]
    fn validate_names_fields() {
        assert_eq!(base().validate(), Ok(()));
        let mut d = base();
        d.title = "  ".into();
        d.amount_fen = Some(-1);
        d.threshold_fen = 0;
        d.members_total = 0;
        d.attendees = vec![1, 1];
        let err = d.validate().expect_err("bad");
        let fields: Vec<(&str, &str)> = err.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("title", "required"),
                ("amount_fen", "negative"),
                ("threshold_fen", "not_positive"),
                ("members_total", "not_positive"),
                ("attendees", "duplicate"),
                ("attendees", "exceeds_body"),
            ]
        );
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mut d = base();
        d.members_total = u32::MAX;
        d.amount_fen = Some(i64::MAX);
        d.threshold_fen = i64::MIN;
        let v = check_compliance(&d);
        assert!(v.has(NoQuorum) && v.has(FailedMajority));
        assert_eq!(yuan(i64::MIN), "-92233720368547758.08");
    }
}
