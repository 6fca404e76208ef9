//! Early warnings (三色预警, DOMAIN.md §9): levels, states, the rule catalogue,
//! configurable thresholds, the pure evaluation of the organization and registry
//! rules, and the reconciliation that keeps one warning per subject and period.
//!
//! How the engine in `app` uses this module, on a write or in the sweep:
//! 1. load the facts of the subjects concerned and the thresholds in force for
//!    their subtree ([`Thresholds::merge`] from the root down), then call
//!    [`evaluate_org`] / [`evaluate_member_data`] with "today";
//! 2. load the stored warnings of the same rules ([`ORG_RULES`],
//!    [`MEMBER_DATA_RULES`]) and the same subjects;
//! 3. [`reconcile`] them into [`Change`]s and apply those in the same
//!    transaction. Nothing is ever deleted (DOMAIN.md §9).

use std::collections::HashMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::members::Stage;
use crate::orgs::OrgKind;

code_enum! {
    /// Colour of a warning (DOMAIN.md §9), ordered blue < yellow < red.
    pub enum Level {
        /// Something is due soon.
        Blue = ("blue", "提醒", "Reminder"),
        /// A deviation that must be corrected.
        Yellow = ("yellow", "纠偏", "Deviation"),
        /// A serious violation, or a deadline fixed by the rules has passed.
        Red = ("red", "违规", "Violation"),
    }
}

code_enum! {
    /// What a warning is about; with an id it names the subject.
    pub enum SubjectKind {
        Member = ("member", "党员", "Member"),
        Organization = ("organization", "党组织", "Organization"),
        Decision = ("decision", "三重一大事项", "Major decision"),
        Request = ("request", "群众诉求", "Service request"),
        Letter = ("letter", "组织关系介绍信", "Transfer letter"),
        Meeting = ("meeting", "组织生活会议", "Meeting"),
    }
}

code_enum! {
    /// Where a warning is in its handling (DOMAIN.md §9). There is no "deleted".
    pub enum WarningState {
        Open = ("open", "待处理", "Open"),
        Acknowledged = ("acknowledged", "已签收", "Acknowledged"),
        Corrected = ("corrected", "已整改", "Corrected"),
        Closed = ("closed", "已销号", "Closed"),
    }
}

code_enum! {
    /// What a person does to a warning; stored in its history.
    pub enum ActionKind {
        Acknowledge = ("acknowledge", "签收", "Acknowledge"),
        Correct = ("correct", "整改", "Correct"),
        Close = ("close", "销号", "Close"),
        Reopen = ("reopen", "重新打开", "Reopen"),
    }
}

code_enum! {
    /// When a rule is evaluated: on every write that can change its outcome, by
    /// the scheduled sweep (time-driven rules), or both.
    pub enum Trigger {
        OnWrite = ("on_write", "写入时", "On write"),
        Sweep = ("sweep", "定时巡检", "Scheduled sweep"),
        Both = ("both", "写入时及定时巡检", "On write and sweep"),
    }
}

/// A person's action on a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    /// 整改: needs a non-empty description of what was done.
    Correct {
        evidence: String,
    },
    Close,
    Reopen,
}

impl Action {
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Acknowledge => ActionKind::Acknowledge,
            Action::Correct { .. } => ActionKind::Correct,
            Action::Close => ActionKind::Close,
            Action::Reopen => ActionKind::Reopen,
        }
    }
}

/// Why an action on a warning was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarningError {
    #[error("cannot {action} a warning that is {from}")]
    NotAllowed {
        from: WarningState,
        action: ActionKind,
    },
    #[error("a correction needs evidence of what was done")]
    EvidenceRequired,
}

impl WarningError {
    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            WarningError::NotAllowed { .. } => "warning_transition_not_allowed",
            WarningError::EvidenceRequired => "warning_evidence_required",
        }
    }
    pub fn message_zh(&self) -> String {
        match self {
            WarningError::NotAllowed { from, action } => {
                format!("预警当前为“{}”，不能{}", from.label_zh(), action.label_zh())
            }
            WarningError::EvidenceRequired => "整改须填写整改情况说明".to_string(),
        }
    }
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The state machine of DOMAIN.md §9:
/// open → acknowledged → corrected (with evidence) → closed.
/// A correction may skip the acknowledgement (open → corrected); close needs a
/// correction first; reopen takes a corrected or closed warning back to open.
/// Anything else, including repeating the current step, is refused.
pub fn transition(state: WarningState, action: &Action) -> Result<WarningState, WarningError> {
    use WarningState::*;
    let next = match (state, action) {
        (Open, Action::Acknowledge) => Acknowledged,
        (Open | Acknowledged, Action::Correct { evidence }) => {
            if evidence.trim().is_empty() {
                return Err(WarningError::EvidenceRequired);
            }
            Corrected
        }
        (Corrected, Action::Close) => Closed,
        (Corrected | Closed, Action::Reopen) => Open,
        (from, action) => {
            return Err(WarningError::NotAllowed {
                from,
                action: action.kind(),
            });
        }
    };
    Ok(next)
}

/// 容错纠错 (DOMAIN.md §9): a correction counts as a tolerated mistake when it
/// comes before the warning would have escalated, i.e. before `due` (the date
/// its next level begins); with no `due` nothing was going to escalate, so
/// any correction is in time. A red warning is already a violation: never.
pub fn tolerated_mistake(level: Level, due: Option<NaiveDate>, corrected_on: NaiveDate) -> bool {
    level < Level::Red && due.is_none_or(|d| corrected_on < d)
}

/// What applying an action to a stored warning yields, for the app to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    pub state: WarningState,
    /// Set on a correction made in time ([`tolerated_mistake`]); false otherwise.
    pub tolerated_mistake: bool,
    /// Trimmed evidence of a correction.
    pub evidence: Option<String>,
}

/// [`transition`] plus what the history records: the evidence and whether the
/// correction was in time.
pub fn act(
    warning: &ExistingWarning,
    action: &Action,
    today: NaiveDate,
) -> Result<ActionOutcome, WarningError> {
    let state = transition(warning.state, action)?;
    Ok(match action {
        Action::Correct { evidence } => ActionOutcome {
            state,
            tolerated_mistake: tolerated_mistake(warning.level, warning.due, today),
            evidence: Some(evidence.trim().to_string()),
        },
        _ => ActionOutcome {
            state,
            tolerated_mistake: false,
            evidence: None,
        },
    })
}

code_enum! {
    /// Every warning rule of the platform. Codes are stored: never rename one.
    pub enum RuleId {
        TermExpiring = ("term_expiring", "任期届满换届", "Committee term expiring"),
        TooFewFullMembers = ("too_few_full_members", "正式党员不足3名", "Fewer than 3 full members"),
        CommitteeRequired = ("committee_required", "正式党员7名以上未设支委会", "7 or more full members without a committee"),
        BranchOver50 = ("branch_over_50", "党员超过50名可设党总支", "Over 50 members: may form a general branch"),
        Over100 = ("over_100", "党员100名以上可设基层党委", "100 or more members: may form a grassroots committee"),
        RegistryDataQuality = ("registry_data_quality", "党员阶段日期缺失或顺序错误", "Stage dates missing or out of order"),
        MeetingFrequency = ("meeting_frequency", "三会一课未按期开展", "Meetings not held as often as required"),
        ConsecutiveAbsences = ("consecutive_absences", "连续无故缺席组织生活", "Consecutive unexcused absences"),
        SixMonthNoLife = ("six_month_no_life", "连续六个月未过组织生活、未交党费或未做党所分配的工作", "Six months without organizational life, dues or assigned work"),
        DuesArrears3m = ("dues_arrears_3m", "党费欠缴3个月", "Dues unpaid for 3 months"),
        DuesArrears6m = ("dues_arrears_6m", "党费欠缴6个月", "Dues unpaid for 6 months"),
        AdmissionDeadline = ("admission_deadline", "发展党员环节超期（谈话、考察、审批等）", "Admission step overdue (talks, assessment, approval…)"),
        TransferLetterExpired = ("transfer_letter_expired", "组织关系介绍信逾期未报到", "Transfer letter expired unconfirmed"),
        DecisionCompliance = ("decision_compliance", "三重一大决策不合规", "Major decision not compliant"),
        ServiceRequestOverdue = ("service_request_overdue", "群众诉求超期未办结", "Service request overdue"),
        EmergencyDecisionUnreported = ("emergency_decision_unreported", "临机决策未向下次会议报告", "Emergency decision not reported to the next meeting"),
        DuplicateRegistration = ("duplicate_registration", "同一人在另一组织也在册（疑似重复入党）", "Also active in another organization (joined twice?)"),
        MinutesNearDuplicate = ("minutes_near_duplicate", "会议记录与其他会议雷同", "Minutes nearly identical to another meeting's"),
    }
}

/// The catalogue entry of a rule: what the dashboard shows and what it enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleSpec {
    pub id: RuleId,
    pub subject: SubjectKind,
    /// The levels this rule can raise, lowest first.
    pub levels: &'static [Level],
    /// The section of DOMAIN.md it enforces.
    pub section: &'static str,
    /// The regulation behind it.
    pub regulation: &'static str,
    pub trigger: Trigger,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// The next step shown on the dashboard.
    pub what_to_do_zh: &'static str,
    pub what_to_do_en: &'static str,
}

const REG_BRANCH: &str = "中国共产党支部工作条例（试行）(2018)";
const REG_ELECTION: &str = "中国共产党基层组织选举工作条例 (2020)";
const REG_ADMISSION: &str = "中国共产党发展党员工作细则 (2014)";
const REG_CONSTITUTION_9: &str = "中国共产党章程 第九条";
const REG_DUES: &str = "关于中国共产党党费收缴、使用和管理的规定 (2008)";
const REG_DECISIONS: &str = "关于进一步推进国有企业贯彻落实“三重一大”决策制度的意见 (2010)";

impl RuleId {
    /// The catalogue entry of this rule.
    pub fn spec(self) -> RuleSpec {
        use Level::*;
        use SubjectKind as S;
        use Trigger::*;
        #[allow(clippy::type_complexity)]
        let (subject, levels, section, regulation, trigger, todo_zh, todo_en): (
            SubjectKind,
            &'static [Level],
            &'static str,
            &'static str,
            Trigger,
            &'static str,
            &'static str,
        ) = match self {
            RuleId::TermExpiring => (
                S::Organization,
                &[Blue, Yellow, Red],
                "DOMAIN.md §2",
                REG_ELECTION,
                Both,
                "按期筹备换届选举；确需延期或提前换届的，报上级党组织批准。",
                "Prepare the re-election on time; a delay or an early election needs the higher organization's approval.",
            ),
            RuleId::TooFewFullMembers => (
                S::Organization,
                &[Yellow],
                "DOMAIN.md §2",
                REG_BRANCH,
                OnWrite,
                "与邻近单位成立联合党支部（不超过5个单位），或调整组织设置。",
                "Form a joint branch with neighbouring units (at most 5), or reorganize.",
            ),
            RuleId::CommitteeRequired => (
                S::Organization,
                &[Yellow],
                "DOMAIN.md §2",
                REG_BRANCH,
                OnWrite,
                "召开党员大会选举支部委员会（一般3至5人，最多不超过7人）。",
                "Hold a member assembly to elect a branch committee (3–5 members, at most 7).",
            ),
            RuleId::BranchOver50 => (
                S::Organization,
                &[Blue],
                "DOMAIN.md §2",
                REG_BRANCH,
                OnWrite,
                "研究是否成立党总支，报上级党组织批准。",
                "Consider forming a general branch, with the higher organization's approval.",
            ),
            RuleId::Over100 => (
                S::Organization,
                &[Blue],
                "DOMAIN.md §2",
                REG_BRANCH,
                OnWrite,
                "研究是否成立基层党委，报上级党组织批准。",
                "Consider forming a grassroots committee, with the higher organization's approval.",
            ),
            RuleId::RegistryDataQuality => (
                S::Member,
                &[Yellow],
                "DOMAIN.md §3",
                REG_ADMISSION,
                OnWrite,
                "核对入党材料原件，补全或更正各阶段日期。",
                "Check the original admission documents and complete or correct the stage dates.",
            ),
            RuleId::MeetingFrequency => (
                S::Organization,
                &[Blue, Yellow],
                "DOMAIN.md §5",
                REG_BRANCH,
                Both,
                "按计划召开会议并如实记录。",
                "Hold the meeting as planned and record it truthfully.",
            ),
            RuleId::ConsecutiveAbsences => (
                S::Member,
                &[Yellow],
                "DOMAIN.md §5",
                REG_BRANCH,
                Both,
                "支部书记与党员谈心谈话，了解原因；按本地规定计入年度评议。",
                "The secretary talks with the member about the reason; it counts in the annual evaluation as local rules say.",
            ),
            RuleId::SixMonthNoLife => (
                S::Member,
                &[Blue, Yellow, Red],
                "DOMAIN.md §6",
                REG_CONSTITUTION_9,
                Both,
                "及时联系、教育帮助；满六个月的由支部研究决定并记录，平台不会自动除名。",
                "Contact and help the member now; at six months the branch decides and records it. The platform never removes anyone by itself.",
            ),
            RuleId::DuesArrears3m => (
                S::Member,
                &[Yellow],
                "DOMAIN.md §7",
                REG_DUES,
                Both,
                "提醒党员补交党费，了解困难，必要时按程序办理减免。",
                "Remind the member to pay; in case of hardship start a reduction or exemption.",
            ),
            RuleId::DuesArrears6m => (
                S::Member,
                &[Red],
                "DOMAIN.md §6, §7",
                REG_CONSTITUTION_9,
                Both,
                "支部按党章第九条研究处理并记录决定。",
                "The branch examines the case under Article 9 of the Constitution and records its decision.",
            ),
            RuleId::AdmissionDeadline => (
                S::Member,
                &[Blue, Yellow, Red],
                "DOMAIN.md §4",
                REG_ADMISSION,
                Both,
                "按期完成到期的发展环节（谈话、培养考察、政审、预审、审批等，见预警详情）；上级党委应在支部大会决议后3个月内审批，最迟不超过6个月。",
                "Complete the admission step that is due (talk, assessment, political review, pre-review, approval… as the warning says); the higher committee approves within 3 months of the assembly resolution, never later than 6.",
            ),
            RuleId::TransferLetterExpired => (
                S::Letter,
                &[Blue, Yellow],
                "DOMAIN.md §12",
                "党员组织关系转接（介绍信有效期可配置）",
                Both,
                "接收支部确认报到；未报到的，转出支部联系党员并重新开具介绍信。",
                "The receiving branch confirms arrival; otherwise the sending branch contacts the member and reissues the letter.",
            ),
            RuleId::DecisionCompliance => (
                S::Decision,
                &[Yellow, Red],
                "DOMAIN.md §8",
                REG_DECISIONS,
                OnWrite,
                "纪检人员核查；程序缺陷按规定补正，必要时重新集体决策。",
                "Discipline staff review it; repair the procedure, or decide again collectively.",
            ),
            RuleId::ServiceRequestOverdue => (
                S::Request,
                &[Blue, Yellow, Red],
                "DOMAIN.md §10",
                "12371 群众诉求办理时限（可配置）",
                Both,
                "责任组织尽快办理并答复，或一键转办。",
                "The responsible organization answers now, or transfers the request.",
            ),
            RuleId::EmergencyDecisionUnreported => (
                S::Decision,
                &[Blue],
                "DOMAIN.md §8",
                REG_DECISIONS,
                Both,
                "在下次领导班子会议上报告该临机决策并记入纪要。",
                "Report the decision at the next leadership meeting and record it in the minutes.",
            ),
            RuleId::DuplicateRegistration => (
                S::Member,
                &[Red],
                "DOMAIN.md §3",
                REG_ADMISSION,
                Sweep,
                "与上级组织部门核实此人的组织关系，撤销错误的一处登记。",
                "Check this person's membership with the higher organization department and end the wrong registration.",
            ),
            RuleId::MinutesNearDuplicate => (
                S::Meeting,
                &[Yellow],
                "DOMAIN.md §5",
                REG_BRANCH,
                OnWrite,
                "核实会议记录是否照抄其他会议；如实重写，或确属实的由支部在会议记录页说明理由后确认。",
                "Check whether the minutes were copied from another meeting; rewrite them truthfully, or, if they are genuine, the branch confirms with a reason on the minutes page.",
            ),
        };
        RuleSpec {
            id: self,
            subject,
            levels,
            section,
            regulation,
            trigger,
            title_zh: self.label_zh(),
            title_en: self.label_en(),
            what_to_do_zh: todo_zh,
            what_to_do_en: todo_en,
        }
    }
}

/// The whole catalogue, in declaration order.
pub fn catalogue() -> impl Iterator<Item = RuleSpec> {
    RuleId::ALL.iter().map(|r| r.spec())
}

/// The rules [`evaluate_org`] decides: reconcile stored warnings of exactly these.
pub const ORG_RULES: &[RuleId] = &[
    RuleId::TermExpiring,
    RuleId::TooFewFullMembers,
    RuleId::CommitteeRequired,
    RuleId::BranchOver50,
    RuleId::Over100,
];

/// The rules [`evaluate_member_data`] decides.
pub const MEMBER_DATA_RULES: &[RuleId] = &[RuleId::RegistryDataQuality];

// ---------------------------------------------------------------------------
// Thresholds
// ---------------------------------------------------------------------------

/// A branch needs at least this many full members (DOMAIN.md §2, fixed).
pub const MIN_FULL_MEMBERS: u32 = 3;
/// From this many full members a branch elects a committee (DOMAIN.md §2, fixed).
pub const COMMITTEE_FROM_FULL_MEMBERS: u32 = 7;
/// Over this many members a branch may form a general branch (DOMAIN.md §2, fixed).
pub const GENERAL_BRANCH_OVER: u32 = 50;
/// From this many members an organization may form a grassroots committee (DOMAIN.md §2, fixed).
pub const GRASSROOTS_COMMITTEE_FROM: u32 = 100;
/// Months without life, dues or work that mean self-withdrawal (DOMAIN.md §6, fixed).
pub const SELF_WITHDRAWAL_MONTHS: i32 = 6;

/// Declares one section of [`Thresholds`] with its defaults, and its override
/// twin whose fields are all optional.
macro_rules! threshold_section {
    ($(#[$m:meta])* $name:ident, $ov:ident { $($(#[$fm:meta])* $field:ident = $default:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name { $($(#[$fm])* pub $field: i32),+ }

        impl Default for $name {
            fn default() -> Self { Self { $($field: $default),+ } }
        }

        #[doc = concat!("Override of [`", stringify!($name), "`]: each field given replaces the inherited value.")]
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $ov {
            $($(#[$fm])* #[serde(skip_serializing_if = "Option::is_none")] pub $field: Option<i32>),+
        }

        impl $name {
            fn apply(&mut self, o: &$ov) {
                $(if let Some(v) = o.$field { self.$field = v; })+
            }
        }
    };
}

threshold_section! {
    /// `term_expiring` (DOMAIN.md §2): lead and grace times around the term end.
    TermExpiringThresholds, TermExpiringOverride {
        /// Blue from this many months before the term ends.
        blue_months_before = 6,
        /// Yellow from this many months after the term ends (0: on the day).
        yellow_months_after = 0,
        /// Red from this many months after the term ends.
        red_months_after = 3,
    }
}

threshold_section! {
    /// `meeting_frequency` (DOMAIN.md §5): the longest interval between two
    /// meetings of each kind, in months. Configurable upward only: a subtree may
    /// ask for meetings more often, never less often than the national default.
    MeetingFrequencyThresholds, MeetingFrequencyOverride {
        /// 支部党员大会: once a quarter.
        assembly_months = 3,
        /// 支部委员会会议: once a month.
        committee_months = 1,
        /// 党小组会: once a month.
        group_months = 1,
        /// 党课: once a quarter.
        lecture_months = 3,
        /// The secretary lectures at least once a year.
        secretary_lecture_months = 12,
        /// 主题党日: once a month.
        theme_day_months = 1,
        /// 组织生活会 and 民主评议党员: once a year.
        life_meeting_months = 12,
    }
}

threshold_section! {
    /// `consecutive_absences` (DOMAIN.md §5, local practice).
    ConsecutiveAbsencesThresholds, ConsecutiveAbsencesOverride {
        /// Unexcused absences in a row that raise the warning and cost points.
        count = 3,
        /// Points each such run deducts from the annual evaluation.
        deduct_points = 5,
    }
}

threshold_section! {
    /// `six_month_no_life` (DOMAIN.md §6): red at six months is fixed
    /// ([`SELF_WITHDRAWAL_MONTHS`]); the platform warns long before.
    SixMonthRuleThresholds, SixMonthRuleOverride {
        /// Blue after this many months without organizational life.
        blue_from_months = 3,
        /// Yellow after this many months.
        yellow_from_months = 5,
    }
}

threshold_section! {
    /// `dues_arrears_3m` (DOMAIN.md §7); `dues_arrears_6m` is fixed at six months (§6).
    DuesArrearsThresholds, DuesArrearsOverride {
        /// Yellow after this many months unpaid.
        yellow_months = 3,
    }
}

threshold_section! {
    /// `admission_deadline` (DOMAIN.md §4): approval within 3 months of the
    /// assembly resolution, never later than 6 (both fixed).
    AdmissionDeadlineThresholds, AdmissionDeadlineOverride {
        /// Blue from this many days before the 3-month deadline.
        blue_days_before = 30,
        /// The public notice before the assembly lasts at least this many
        /// working days (§4 step 13: 5, a locality may require more).
        notice_working_days = 5,
    }
}

threshold_section! {
    /// `transfer_letter_expired` (DOMAIN.md §12).
    TransferLetterThresholds, TransferLetterOverride {
        /// Validity of an introduction letter, in months.
        validity_months = 3,
        /// Blue from this many days before the letter expires unconfirmed.
        blue_days_before = 7,
    }
}

threshold_section! {
    /// Who sees a warning (DOMAIN.md §9: "warnings go to the organization
    /// concerned and its parent"): the organization concerned and its
    /// parents up to this many levels above it, by level. The more serious
    /// the warning, the higher it reaches: in the five-level linkage (§2) a
    /// branch's blue reminder stays with its grassroots committee, a yellow
    /// deviation reaches the county committee over a general branch's or
    /// committee's head, a red violation reaches the city. Read with the
    /// thresholds in force at the viewer's organization: a subtree decides
    /// how far below it it watches. Platform administrators see every level.
    VisibilityThresholds, VisibilityOverride {
        /// Levels above the organization concerned that see a blue warning.
        blue_levels_up = 1,
        /// … a yellow warning.
        yellow_levels_up = 2,
        /// … a red warning.
        red_levels_up = 3,
    }
}

impl VisibilityThresholds {
    /// Levels above the organization concerned that see a warning of `level`.
    pub fn levels_up(&self, level: Level) -> i32 {
        match level {
            Level::Blue => self.blue_levels_up,
            Level::Yellow => self.yellow_levels_up,
            Level::Red => self.red_levels_up,
        }
    }

    /// Whether a viewer `up` levels above the organization concerned (0: the
    /// organization itself) sees a warning of `level`.
    pub fn sees(&self, level: Level, up: i32) -> bool {
        up <= self.levels_up(level)
    }
}

/// Thresholds in force for one organization subtree. Defaults come from
/// DOMAIN.md; an administrator overrides them per subtree with a
/// [`ThresholdsOverride`] (stored as JSON, every change audited by `app`).
/// Numbers DOMAIN.md marks fixed are constants of this module, not fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub term_expiring: TermExpiringThresholds,
    pub meeting_frequency: MeetingFrequencyThresholds,
    pub consecutive_absences: ConsecutiveAbsencesThresholds,
    pub six_month_rule: SixMonthRuleThresholds,
    pub dues_arrears: DuesArrearsThresholds,
    pub admission_deadline: AdmissionDeadlineThresholds,
    pub transfer_letter: TransferLetterThresholds,
    pub visibility: VisibilityThresholds,
}

/// One subtree's changes to the inherited [`Thresholds`]; absent fields inherit.
/// Unknown fields are refused so a typo in an administrator's JSON is not lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdsOverride {
    pub term_expiring: TermExpiringOverride,
    pub meeting_frequency: MeetingFrequencyOverride,
    pub consecutive_absences: ConsecutiveAbsencesOverride,
    pub six_month_rule: SixMonthRuleOverride,
    pub dues_arrears: DuesArrearsOverride,
    pub admission_deadline: AdmissionDeadlineOverride,
    pub transfer_letter: TransferLetterOverride,
    pub visibility: VisibilityOverride,
}

impl Thresholds {
    /// The inherited thresholds with `o` applied, validated as a whole (so an
    /// override of only the red month is checked against the inherited yellow).
    /// Chain it from the root down to the organization.
    pub fn merge(&self, o: &ThresholdsOverride) -> Result<Thresholds, ValidationErrors> {
        let mut t = self.clone();
        t.term_expiring.apply(&o.term_expiring);
        t.meeting_frequency.apply(&o.meeting_frequency);
        t.consecutive_absences.apply(&o.consecutive_absences);
        t.six_month_rule.apply(&o.six_month_rule);
        t.dues_arrears.apply(&o.dues_arrears);
        t.admission_deadline.apply(&o.admission_deadline);
        t.transfer_letter.apply(&o.transfer_letter);
        t.visibility.apply(&o.visibility);
        t.validate()?;
        Ok(t)
    }

    /// Every broken bound, each naming its field (`term_expiring.red_months_after`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        let te = &self.term_expiring;
        in_range(
            &mut e,
            "term_expiring.blue_months_before",
            te.blue_months_before,
            0,
            24,
        );
        in_range(
            &mut e,
            "term_expiring.yellow_months_after",
            te.yellow_months_after,
            0,
            24,
        );
        in_range(
            &mut e,
            "term_expiring.red_months_after",
            te.red_months_after,
            0,
            24,
        );
        before(
            &mut e,
            "term_expiring.red_months_after",
            ("term_expiring.yellow_months_after", te.yellow_months_after),
            te.red_months_after,
        );

        // §9: the parent always sees it; a worse warning never reaches less far.
        let v = &self.visibility;
        for (field, x) in [
            ("visibility.blue_levels_up", v.blue_levels_up),
            ("visibility.yellow_levels_up", v.yellow_levels_up),
            ("visibility.red_levels_up", v.red_levels_up),
        ] {
            in_range(&mut e, field, x, 1, 8);
        }
        if v.yellow_levels_up < v.blue_levels_up {
            e.push(FieldError::new(
                "visibility.yellow_levels_up",
                "below_lower_level",
                "黄色预警的可见层级不能少于蓝色预警",
                "a yellow warning cannot reach fewer levels than a blue one",
            ));
        }
        if v.red_levels_up < v.yellow_levels_up {
            e.push(FieldError::new(
                "visibility.red_levels_up",
                "below_lower_level",
                "红色预警的可见层级不能少于黄色预警",
                "a red warning cannot reach fewer levels than a yellow one",
            ));
        }

        let mf = &self.meeting_frequency;
        let d = MeetingFrequencyThresholds::default();
        for (field, v, max) in [
            (
                "meeting_frequency.assembly_months",
                mf.assembly_months,
                d.assembly_months,
            ),
            (
                "meeting_frequency.committee_months",
                mf.committee_months,
                d.committee_months,
            ),
            (
                "meeting_frequency.group_months",
                mf.group_months,
                d.group_months,
            ),
            (
                "meeting_frequency.lecture_months",
                mf.lecture_months,
                d.lecture_months,
            ),
            (
                "meeting_frequency.secretary_lecture_months",
                mf.secretary_lecture_months,
                d.secretary_lecture_months,
            ),
            (
                "meeting_frequency.theme_day_months",
                mf.theme_day_months,
                d.theme_day_months,
            ),
            (
                "meeting_frequency.life_meeting_months",
                mf.life_meeting_months,
                d.life_meeting_months,
            ),
        ] {
            in_range(&mut e, field, v, 1, max);
        }

        in_range(
            &mut e,
            "consecutive_absences.count",
            self.consecutive_absences.count,
            1,
            12,
        );
        in_range(
            &mut e,
            "consecutive_absences.deduct_points",
            self.consecutive_absences.deduct_points,
            0,
            100,
        );

        let sm = &self.six_month_rule;
        let last = SELF_WITHDRAWAL_MONTHS - 1;
        in_range(
            &mut e,
            "six_month_rule.blue_from_months",
            sm.blue_from_months,
            1,
            last,
        );
        in_range(
            &mut e,
            "six_month_rule.yellow_from_months",
            sm.yellow_from_months,
            1,
            last,
        );
        before(
            &mut e,
            "six_month_rule.yellow_from_months",
            ("six_month_rule.blue_from_months", sm.blue_from_months),
            sm.yellow_from_months,
        );

        in_range(
            &mut e,
            "dues_arrears.yellow_months",
            self.dues_arrears.yellow_months,
            1,
            last,
        );
        in_range(
            &mut e,
            "admission_deadline.blue_days_before",
            self.admission_deadline.blue_days_before,
            0,
            90,
        );
        in_range(
            &mut e,
            "admission_deadline.notice_working_days",
            self.admission_deadline.notice_working_days,
            5,
            30,
        );
        let tl = &self.transfer_letter;
        in_range(
            &mut e,
            "transfer_letter.validity_months",
            tl.validity_months,
            1,
            12,
        );
        in_range(
            &mut e,
            "transfer_letter.blue_days_before",
            tl.blue_days_before,
            0,
            30,
        );
        e.into_result()
    }
}

fn in_range(e: &mut ValidationErrors, field: &str, v: i32, min: i32, max: i32) {
    if v < min || v > max {
        e.push(FieldError::new(
            field,
            "out_of_range",
            format!("{field} 应在 {min} 至 {max} 之间，当前为 {v}"),
            format!("{field} must be between {min} and {max}, got {v}"),
        ));
    }
}

/// `later` must come strictly after `earlier` (yellow before red, blue before yellow).
fn before(e: &mut ValidationErrors, field: &str, earlier: (&str, i32), later: i32) {
    let (earlier_field, earlier_v) = earlier;
    if later <= earlier_v {
        e.push(FieldError::new(
            field,
            "not_after",
            format!("{field}（{later}）应大于 {earlier_field}（{earlier_v}）"),
            format!("{field} ({later}) must be greater than {earlier_field} ({earlier_v})"),
        ));
    }
}

// ---------------------------------------------------------------------------
// Findings and evaluation
// ---------------------------------------------------------------------------

/// Period key of rules about a standing condition (one warning while it lasts).
pub const CURRENT: &str = "current";

/// What one rule found about one subject now. `(rule, subject, period_key)`
/// identifies a warning: the engine never holds two with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub level: Level,
    pub subject: (SubjectKind, i64),
    /// The period the finding is about: the term end date for `term_expiring`,
    /// [`CURRENT`] for standing conditions.
    pub period_key: String,
    pub detail_zh: String,
    pub detail_en: String,
    /// When the next level begins (or the deadline), if it can still escalate.
    pub due: Option<NaiveDate>,
}

/// What `app` knows about an organization for the structure and term rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFacts {
    pub org_id: i64,
    pub kind: OrgKind,
    pub full_members: u32,
    /// Full and probationary members.
    pub total_members: u32,
    pub has_committee: bool,
    /// End of the current term of its elected body, if it has one.
    pub term_ends_on: Option<NaiveDate>,
}

fn months_after(d: NaiveDate, months: i32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(u32::try_from(months).unwrap_or(0)))
}

fn months_before(d: NaiveDate, months: i32) -> Option<NaiveDate> {
    d.checked_sub_months(Months::new(u32::try_from(months).unwrap_or(0)))
}

/// The organization rules (DOMAIN.md §2) for one organization on `today`.
///
/// - `term_expiring`, for any organization with a term end: blue from
///   `blue_months_before` before the end, yellow from `yellow_months_after`
///   after it, red from `red_months_after` after it; keyed by the end date,
///   so a new term is a new warning and the old one clears.
/// - `too_few_full_members` (branch, < 3 full), `committee_required` (branch,
///   ≥ 7 full, no committee): yellow.
/// - `branch_over_50` (branch, > 50 members) and `over_100` (branch or
///   general branch, ≥ 100 members): blue; a branch of 100 or more gets only
///   `over_100`, the more specific advice.
pub fn evaluate_org(facts: &OrgFacts, t: &Thresholds, today: NaiveDate) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = (SubjectKind::Organization, facts.org_id);
    let finding = |rule, level, period_key: String, zh: String, en: String, due| Finding {
        rule,
        level,
        subject,
        period_key,
        detail_zh: zh,
        detail_en: en,
        due,
    };

    if let Some(end) = facts.term_ends_on {
        let te = &t.term_expiring;
        let blue_from = months_before(end, te.blue_months_before);
        let yellow_from = months_after(end, te.yellow_months_after);
        let red_from = months_after(end, te.red_months_after);
        let reached = |d: Option<NaiveDate>| d.is_some_and(|d| today >= d);
        let level = if reached(red_from) {
            Some((Level::Red, None))
        } else if reached(yellow_from) {
            Some((Level::Yellow, red_from))
        } else if reached(blue_from) {
            Some((Level::Blue, yellow_from))
        } else {
            None
        };
        if let Some((level, due)) = level {
            let (zh, en) = match level {
                Level::Blue => (
                    format!("本届任期将于 {end} 届满，请筹备换届选举"),
                    format!("The term ends on {end}; prepare the re-election"),
                ),
                Level::Yellow => (
                    format!("本届任期已于 {end} 届满，尚未换届"),
                    format!("The term ended on {end} and no re-election is recorded"),
                ),
                Level::Red => (
                    format!(
                        "本届任期已于 {end} 届满，超过 {} 个月仍未换届",
                        te.red_months_after
                    ),
                    format!(
                        "The term ended on {end}, over {} months ago, and no re-election is recorded",
                        te.red_months_after
                    ),
                ),
            };
            out.push(finding(
                RuleId::TermExpiring,
                level,
                end.to_string(),
                zh,
                en,
                due,
            ));
        }
    }

    let n_full = facts.full_members;
    let n_all = facts.total_members;
    if facts.kind == OrgKind::Branch && n_full < MIN_FULL_MEMBERS {
        out.push(finding(
            RuleId::TooFewFullMembers,
            Level::Yellow,
            CURRENT.to_string(),
            format!("正式党员 {n_full} 名，不足 {MIN_FULL_MEMBERS} 名"),
            format!("{n_full} full members, fewer than {MIN_FULL_MEMBERS}"),
            None,
        ));
    }
    if facts.kind == OrgKind::Branch
        && n_full >= COMMITTEE_FROM_FULL_MEMBERS
        && !facts.has_committee
    {
        out.push(finding(
            RuleId::CommitteeRequired,
            Level::Yellow,
            CURRENT.to_string(),
            format!("正式党员 {n_full} 名，应设立支部委员会"),
            format!("{n_full} full members: a branch committee must be elected"),
            None,
        ));
    }
    let may_form_committee = matches!(facts.kind, OrgKind::Branch | OrgKind::GeneralBranch)
        && n_all >= GRASSROOTS_COMMITTEE_FROM;
    if may_form_committee {
        out.push(finding(
            RuleId::Over100,
            Level::Blue,
            CURRENT.to_string(),
            format!("党员 {n_all} 名，可申请成立基层党委"),
            format!("{n_all} members: may apply to form a grassroots committee"),
            None,
        ));
    } else if facts.kind == OrgKind::Branch && n_all > GENERAL_BRANCH_OVER {
        out.push(finding(
            RuleId::BranchOver50,
            Level::Blue,
            CURRENT.to_string(),
            format!("党员 {n_all} 名，超过 {GENERAL_BRANCH_OVER} 名，可申请成立党总支"),
            format!(
                "{n_all} members, over {GENERAL_BRANCH_OVER}: may apply to form a general branch"
            ),
            None,
        ));
    }
    out
}

/// The stage dates of one member as the registry holds them (DOMAIN.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    pub member_id: i64,
    /// The member's current stage.
    pub stage: Stage,
    pub applied_on: Option<NaiveDate>,
    pub activist_on: Option<NaiveDate>,
    pub target_on: Option<NaiveDate>,
    pub probationary_on: Option<NaiveDate>,
    pub full_on: Option<NaiveDate>,
}

impl MemberFacts {
    /// The date the member reached `stage`, if recorded.
    pub fn date_of(&self, stage: Stage) -> Option<NaiveDate> {
        match stage {
            Stage::Applicant => self.applied_on,
            Stage::Activist => self.activist_on,
            Stage::DevelopmentTarget => self.target_on,
            Stage::Probationary => self.probationary_on,
            Stage::Full => self.full_on,
        }
    }
}

code_enum! {
    /// A defect of a member's stage dates (DOMAIN.md §3).
    pub enum DataProblemKind {
        Missing = ("missing", "缺少日期", "date missing"),
        OutOfOrder = ("out_of_order", "日期早于前一阶段", "date before an earlier stage"),
        InFuture = ("in_future", "日期晚于今天", "date in the future"),
        BeyondStage = ("beyond_stage", "尚未到达该阶段却有日期", "date of a stage not yet reached"),
    }
}

/// One defect of one stage date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataProblem {
    pub kind: DataProblemKind,
    pub stage: Stage,
    /// For `out_of_order`: the earlier stage whose date is later.
    pub after: Option<Stage>,
}

/// Every defect of the stage dates (DOMAIN.md §3): a date missing for a stage
/// reached, a date for a stage not reached, a date in the future, or a date
/// before the latest date of an earlier stage (equal dates are accepted).
pub fn member_data_problems(facts: &MemberFacts, today: NaiveDate) -> Vec<DataProblem> {
    let mut out = Vec::new();
    let mut latest: Option<(Stage, NaiveDate)> = None;
    for &stage in Stage::ALL {
        let date = facts.date_of(stage);
        let problem = |kind, after| DataProblem { kind, stage, after };
        match date {
            None if stage <= facts.stage => out.push(problem(DataProblemKind::Missing, None)),
            None => {}
            Some(d) => {
                if stage > facts.stage {
                    out.push(problem(DataProblemKind::BeyondStage, None));
                }
                if d > today {
                    out.push(problem(DataProblemKind::InFuture, None));
                }
                match latest {
                    Some((prev, pd)) if d < pd => {
                        out.push(problem(DataProblemKind::OutOfOrder, Some(prev)));
                    }
                    _ => latest = Some((stage, d)),
                }
            }
        }
    }
    out
}

/// `registry_data_quality` for one member: one yellow finding listing every
/// defect, or nothing when the dates are sound.
pub fn evaluate_member_data(facts: &MemberFacts, today: NaiveDate) -> Vec<Finding> {
    let problems = member_data_problems(facts, today);
    if problems.is_empty() {
        return Vec::new();
    }
    let describe = |p: &DataProblem, zh: bool| {
        let (stage, kind) = if zh {
            (p.stage.label_zh(), p.kind.label_zh())
        } else {
            (p.stage.label_en(), p.kind.label_en())
        };
        match p.after {
            Some(a) if zh => format!("{stage}：日期早于{}", a.label_zh()),
            Some(a) => format!("{stage}: date before {}", a.label_en()),
            None if zh => format!("{stage}：{kind}"),
            None => format!("{stage}: {kind}"),
        }
    };
    let zh: Vec<String> = problems.iter().map(|p| describe(p, true)).collect();
    let en: Vec<String> = problems.iter().map(|p| describe(p, false)).collect();
    vec![Finding {
        rule: RuleId::RegistryDataQuality,
        level: Level::Yellow,
        subject: (SubjectKind::Member, facts.member_id),
        period_key: CURRENT.to_string(),
        detail_zh: zh.join("；"),
        detail_en: en.join("; "),
        due: None,
    }]
}

// ---------------------------------------------------------------------------
// Reconciliation
// ---------------------------------------------------------------------------

/// A stored warning, as much of it as [`reconcile`] and [`act`] need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingWarning {
    pub id: i64,
    pub rule: RuleId,
    pub subject: (SubjectKind, i64),
    pub period_key: String,
    pub level: Level,
    pub state: WarningState,
    pub due: Option<NaiveDate>,
    /// The engine (not a person) corrected it because its condition cleared.
    pub cleared_by_data: bool,
}

/// What the engine must do to the stored warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Change {
    /// A new warning for a key never seen.
    Raise(Finding),
    /// The same key at a higher level: raise the level (and store the new
    /// detail and due). `reopen` when a person had corrected or closed it:
    /// the condition got worse since, so it is open again.
    Escalate {
        warning_id: i64,
        from: Level,
        finding: Finding,
        reopen: bool,
    },
    /// The condition came back after the engine had cleared it: reopen the
    /// same warning at `level` (never lower than before).
    Recur {
        warning_id: i64,
        level: Level,
        finding: Finding,
    },
    /// An open or acknowledged warning whose condition no longer holds: the app
    /// marks it corrected by data (keeps it, sets `cleared_by_data`, and may
    /// record [`tolerated_mistake`] for the day).
    ConditionCleared { warning_id: i64 },
}

type Key<'a> = (RuleId, (SubjectKind, i64), &'a str);

fn finding_key(f: &Finding) -> Key<'_> {
    (f.rule, f.subject, f.period_key.as_str())
}

fn warning_key(w: &ExistingWarning) -> Key<'_> {
    (w.rule, w.subject, w.period_key.as_str())
}

/// The pure core of the engine: compare the stored warnings with what the
/// rules find now and say what to change. Per key `(rule, subject, period)`:
/// - no stored warning: `Raise`;
/// - stored at a lower level: `Escalate` (levels never go down by themselves;
///   a lower or equal finding changes nothing);
/// - stored, corrected or closed by the engine, condition back: `Recur`;
/// - stored, corrected or closed by a person, same or lower level: nothing
///   (the person's correction stands until it gets worse);
/// - stored open or acknowledged, no finding any more: `ConditionCleared`.
///
/// Precondition: `existing` holds the stored warnings of exactly the rules and
/// subjects that were evaluated to give `findings` (e.g. [`ORG_RULES`] for the
/// organizations evaluated); any other warning passed in would be cleared.
/// Duplicate findings of one key count once, at their highest level. Output
/// order: findings in input order, then clearances in `existing` order.
pub fn reconcile(existing: &[ExistingWarning], findings: &[Finding]) -> Vec<Change> {
    let mut stored: HashMap<Key<'_>, &ExistingWarning> = HashMap::new();
    for w in existing {
        stored.entry(warning_key(w)).or_insert(w);
    }

    // Deduplicate findings by key, keeping the first position and the highest level.
    let mut order: Vec<Key<'_>> = Vec::new();
    let mut best: HashMap<Key<'_>, &Finding> = HashMap::new();
    for f in findings {
        let k = finding_key(f);
        match best.get(&k) {
            Some(b) if b.level >= f.level => {}
            Some(_) => {
                best.insert(k, f);
            }
            None => {
                order.push(k);
                best.insert(k, f);
            }
        }
    }

    let mut out = Vec::new();
    for k in &order {
        let Some(&f) = best.get(k) else { continue };
        let Some(&w) = stored.get(k) else {
            out.push(Change::Raise(f.clone()));
            continue;
        };
        let handled = matches!(w.state, WarningState::Corrected | WarningState::Closed);
        if handled && w.cleared_by_data {
            out.push(Change::Recur {
                warning_id: w.id,
                level: w.level.max(f.level),
                finding: f.clone(),
            });
        } else if f.level > w.level {
            out.push(Change::Escalate {
                warning_id: w.id,
                from: w.level,
                finding: f.clone(),
                reopen: handled,
            });
        }
    }

    for w in existing {
        let live = matches!(w.state, WarningState::Open | WarningState::Acknowledged);
        let first = stored.get(&warning_key(w)).is_some_and(|s| s.id == w.id);
        if live && first && !best.contains_key(&warning_key(w)) {
            out.push(Change::ConditionCleared { warning_id: w.id });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    // ----- levels, states, actions (DOMAIN.md §9) -----

    #[test]
    fn levels_are_ordered_blue_yellow_red() {
        assert!(Level::Blue < Level::Yellow && Level::Yellow < Level::Red);
        assert_eq!(Level::parse("纠偏"), Some(Level::Yellow));
        assert_eq!(Level::parse("red"), Some(Level::Red));
    }

    #[test]
    fn transition_happy_path() {
        let s = transition(WarningState::Open, &Action::Acknowledge).expect("ack");
        assert_eq!(s, WarningState::Acknowledged);
        let s = transition(
            s,
            &Action::Correct {
                evidence: "已召开换届选举大会".into(),
            },
        )
        .expect("fix");
        assert_eq!(s, WarningState::Corrected);
        let s = transition(s, &Action::Close).expect("close");
        assert_eq!(s, WarningState::Closed);
        assert_eq!(transition(s, &Action::Reopen), Ok(WarningState::Open));
    }

    #[test]
    fn transition_table_is_exhaustive() {
        use WarningState::*;
        let fix = Action::Correct {
            evidence: "done".into(),
        };
        let actions = [Action::Acknowledge, fix, Action::Close, Action::Reopen];
        let allowed = |s: WarningState, a: &Action| -> Option<WarningState> {
            match (s, a.kind()) {
                (Open, ActionKind::Acknowledge) => Some(Acknowledged),
                (Open | Acknowledged, ActionKind::Correct) => Some(Corrected),
                (Corrected, ActionKind::Close) => Some(Closed),
                (Corrected | Closed, ActionKind::Reopen) => Some(Open),
                _ => None,
            }
        };
        let mut ok = 0;
        for &s in WarningState::ALL {
            for a in &actions {
                match (transition(s, a), allowed(s, a)) {
                    (Ok(got), Some(want)) => {
                        assert_eq!(got, want);
                        ok += 1;
                    }
                    (Err(WarningError::NotAllowed { from, action }), None) => {
                        assert_eq!((from, action), (s, a.kind()));
                    }
                    (got, want) => panic!("{s} {a:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(ok, 6);
    }

    #[test]
    fn correction_needs_evidence() {
        for blank in ["", "   ", "\n\t"] {
            let a = Action::Correct {
                evidence: blank.into(),
            };
            assert_eq!(
                transition(WarningState::Open, &a),
                Err(WarningError::EvidenceRequired)
            );
        }
        let e = WarningError::EvidenceRequired;
        assert_eq!(e.code(), "warning_evidence_required");
        assert!(e.message_zh().contains("整改"));
        let e = transition(WarningState::Closed, &Action::Close).expect_err("closed twice");
        assert!(e.message_zh().contains("已销号"));
        assert_eq!(e.message_en(), "cannot close a warning that is closed");
    }

    #[test]
    fn tolerated_mistake_before_escalation_only() {
        let due = Some(d(2026, 6, 30));
        assert!(tolerated_mistake(Level::Blue, due, d(2026, 6, 29)));
        assert!(!tolerated_mistake(Level::Blue, due, d(2026, 6, 30)));
        assert!(tolerated_mistake(Level::Yellow, None, d(2030, 1, 1)));
        assert!(!tolerated_mistake(Level::Red, None, d(2020, 1, 1)));
        assert!(!tolerated_mistake(Level::Red, due, d(2020, 1, 1)));
    }

    #[test]
    fn act_records_evidence_and_tolerance() {
        let w = stored(1, RuleId::TermExpiring, Level::Blue, Some(d(2026, 6, 30)));
        let fix = Action::Correct {
            evidence: "  已报批换届  ".into(),
        };
        let o = act(&w, &fix, d(2026, 6, 1)).expect("correct");
        assert_eq!(o.state, WarningState::Corrected);
        assert!(o.tolerated_mistake);
        assert_eq!(o.evidence.as_deref(), Some("已报批换届"));
        let late = act(&w, &fix, d(2026, 7, 1)).expect("correct late");
        assert!(!late.tolerated_mistake);
        let ack = act(&w, &Action::Acknowledge, d(2026, 6, 1)).expect("ack");
        assert_eq!(
            (ack.state, ack.tolerated_mistake, ack.evidence),
            (WarningState::Acknowledged, false, None)
        );
        assert!(act(&w, &Action::Close, d(2026, 6, 1)).is_err());
    }

    // ----- catalogue -----

    #[test]
    fn catalogue_is_complete_and_cites_domain() {
        let specs: Vec<RuleSpec> = catalogue().collect();
        assert_eq!(specs.len(), 18);
        for s in &specs {
            assert!(s.section.starts_with("DOMAIN.md §"), "{}", s.id);
            assert!(
                !s.regulation.is_empty()
                    && !s.what_to_do_zh.is_empty()
                    && !s.what_to_do_en.is_empty()
            );
            assert!(
                !s.levels.is_empty() && s.levels.windows(2).all(|w| w[0] < w[1]),
                "{}",
                s.id
            );
            assert_eq!(s.title_zh, s.id.label_zh());
            assert_eq!(RuleId::parse(s.id.as_str()), Some(s.id));
        }
        let spec = RuleId::SixMonthNoLife.spec();
        assert_eq!(
            (spec.section, spec.subject),
            ("DOMAIN.md §6", SubjectKind::Member)
        );
        assert!(spec.levels.contains(&Level::Red));
        assert_eq!(RuleId::DuesArrears6m.spec().levels, &[Level::Red]);
        assert_eq!(RuleId::DuesArrears3m.spec().levels, &[Level::Yellow]);
        assert_eq!(RuleId::TooFewFullMembers.spec().levels, &[Level::Yellow]);
        assert_eq!(RuleId::CommitteeRequired.spec().levels, &[Level::Yellow]);
        assert_eq!(RuleId::BranchOver50.spec().levels, &[Level::Blue]);
        assert_eq!(RuleId::Over100.spec().levels, &[Level::Blue]);
        assert_eq!(RuleId::RegistryDataQuality.spec().section, "DOMAIN.md §3");
        assert_eq!(RuleId::TermExpiring.spec().trigger, Trigger::Both);
        assert_eq!(
            RuleId::TransferLetterExpired.spec().subject,
            SubjectKind::Letter
        );
        assert_eq!(
            RuleId::ServiceRequestOverdue.spec().subject,
            SubjectKind::Request
        );
        assert_eq!(
            RuleId::EmergencyDecisionUnreported.spec().levels,
            &[Level::Blue]
        );
        for r in ORG_RULES {
            assert_eq!(r.spec().subject, SubjectKind::Organization);
        }
    }

    // ----- thresholds -----

    #[test]
    fn defaults_follow_domain_and_are_valid() {
        let t = Thresholds::default();
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(
            (
                t.term_expiring.blue_months_before,
                t.term_expiring.yellow_months_after,
                t.term_expiring.red_months_after
            ),
            (6, 0, 3)
        );
        assert_eq!(t.meeting_frequency.assembly_months, 3);
        assert_eq!(t.meeting_frequency.life_meeting_months, 12);
        assert_eq!(t.consecutive_absences.count, 3);
        assert_eq!(t.dues_arrears.yellow_months, 3);
        assert_eq!(t.transfer_letter.validity_months, 3);
    }

    #[test]
    fn merge_chains_overrides_and_validates_the_whole() {
        let province = ThresholdsOverride {
            term_expiring: TermExpiringOverride {
                red_months_after: Some(6),
                ..Default::default()
            },
            ..Default::default()
        };
        let county = ThresholdsOverride {
            term_expiring: TermExpiringOverride {
                yellow_months_after: Some(1),
                ..Default::default()
            },
            meeting_frequency: MeetingFrequencyOverride {
                assembly_months: Some(2),
                ..Default::default()
            },
            ..Default::default()
        };
        let t = Thresholds::default()
            .merge(&province)
            .and_then(|p| p.merge(&county))
            .expect("valid chain");
        assert_eq!(t.term_expiring.blue_months_before, 6);
        assert_eq!(t.term_expiring.yellow_months_after, 1);
        assert_eq!(t.term_expiring.red_months_after, 6);
        assert_eq!(t.meeting_frequency.assembly_months, 2);
        assert_eq!(
            Thresholds::default().merge(&ThresholdsOverride::default()),
            Ok(Thresholds::default())
        );

        // Red moved before the inherited yellow: refused, naming the field.
        let bad = ThresholdsOverride {
            term_expiring: TermExpiringOverride {
                red_months_after: Some(1),
                ..Default::default()
            },
            ..Default::default()
        };
        let err = t.merge(&bad).expect_err("red before yellow");
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].field, "term_expiring.red_months_after");
        assert_eq!(err.0[0].code, "not_after");
    }

    #[test]
    fn validation_names_every_bad_field() {
        let o = ThresholdsOverride {
            term_expiring: TermExpiringOverride {
                blue_months_before: Some(-1),
                ..Default::default()
            },
            meeting_frequency: MeetingFrequencyOverride {
                assembly_months: Some(4),
                group_months: Some(0),
                ..Default::default()
            },
            six_month_rule: SixMonthRuleOverride {
                blue_from_months: Some(5),
                ..Default::default()
            },
            dues_arrears: DuesArrearsOverride {
                yellow_months: Some(6),
            },
            consecutive_absences: ConsecutiveAbsencesOverride {
                count: Some(0),
                deduct_points: Some(-1),
            },
            transfer_letter: TransferLetterOverride {
                validity_months: Some(0),
                ..Default::default()
            },
            admission_deadline: AdmissionDeadlineOverride {
                blue_days_before: Some(-5),
                // Shorter than the regulation's five working days.
                notice_working_days: Some(3),
            },
            visibility: VisibilityOverride::default(),
        };
        let err = Thresholds::default().merge(&o).expect_err("all bad");
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "term_expiring.blue_months_before",
                "meeting_frequency.assembly_months",
                "meeting_frequency.group_months",
                "consecutive_absences.count",
                "consecutive_absences.deduct_points",
                "six_month_rule.yellow_from_months",
                "dues_arrears.yellow_months",
                "admission_deadline.blue_days_before",
                "admission_deadline.notice_working_days",
                "transfer_letter.validity_months",
            ]
        );
        assert!(
            err.0[0]
                .message_zh
                .contains("term_expiring.blue_months_before")
        );
        assert!(err.0[0].message_en.contains("got -1"));
    }

    #[test]
    fn visibility_reaches_further_the_worse_the_warning() {
        let v = Thresholds::default().visibility;
        // §9: the organization and its parent see every warning.
        for l in [Level::Blue, Level::Yellow, Level::Red] {
            assert!(v.sees(l, 0) && v.sees(l, 1));
        }
        assert!(!v.sees(Level::Blue, 2));
        assert!(v.sees(Level::Yellow, 2) && !v.sees(Level::Yellow, 3));
        assert!(v.sees(Level::Red, 3) && !v.sees(Level::Red, 4));
        let bad = ThresholdsOverride {
            visibility: VisibilityOverride {
                blue_levels_up: Some(0),
                red_levels_up: Some(1),
                ..Default::default()
            },
            ..Default::default()
        };
        let fields: Vec<String> = Thresholds::default()
            .merge(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            ["visibility.blue_levels_up", "visibility.red_levels_up"]
        );
    }

    #[test]
    fn meeting_frequency_only_upward() {
        // More often than the national default: allowed; less often: refused.
        for (v, ok) in [(1, true), (3, true), (4, false), (0, false)] {
            let o = ThresholdsOverride {
                meeting_frequency: MeetingFrequencyOverride {
                    lecture_months: Some(v),
                    ..Default::default()
                },
                ..Default::default()
            };
            assert_eq!(
                Thresholds::default().merge(&o).is_ok(),
                ok,
                "lecture_months {v}"
            );
        }
    }

    #[test]
    fn yellow_equal_red_is_refused_at_the_boundary() {
        for (yellow, red, ok) in [(2, 3, true), (3, 3, false), (0, 0, false), (0, 1, true)] {
            let o = ThresholdsOverride {
                term_expiring: TermExpiringOverride {
                    yellow_months_after: Some(yellow),
                    red_months_after: Some(red),
                    ..Default::default()
                },
                ..Default::default()
            };
            assert_eq!(
                Thresholds::default().merge(&o).is_ok(),
                ok,
                "{yellow}/{red}"
            );
        }
    }

    #[test]
    fn sections_deserialize_partially_and_refuse_unknown_fields() {
        // serde's value deserializers cannot produce `Option`s (JSON can); the
        // section itself shows the `default` and `deny_unknown_fields` wiring.
        use serde::de::value::{Error as DeError, MapDeserializer};
        let pairs = |v: Vec<(&'static str, i32)>| MapDeserializer::<_, DeError>::new(v.into_iter());
        let section = TermExpiringThresholds::deserialize(pairs(vec![("red_months_after", 6)]));
        assert_eq!(
            section,
            Ok(TermExpiringThresholds {
                red_months_after: 6,
                ..Default::default()
            })
        );
        let typo = TermExpiringOverride::deserialize(pairs(vec![("red_month_after", 6)]));
        assert!(typo.is_err_and(|e| e.to_string().contains("unknown field `red_month_after`")));
        let typo = TermExpiringThresholds::deserialize(pairs(vec![("red_month_after", 6)]));
        assert!(typo.is_err());
    }

    // ----- organization rules (DOMAIN.md §2) -----

    fn branch(full: u32, total: u32, committee: bool) -> OrgFacts {
        OrgFacts {
            org_id: 7,
            kind: OrgKind::Branch,
            full_members: full,
            total_members: total,
            has_committee: committee,
            term_ends_on: None,
        }
    }

    fn rules(f: &[Finding]) -> Vec<(RuleId, Level)> {
        f.iter().map(|f| (f.rule, f.level)).collect()
    }

    #[test]
    fn structure_rules_at_their_boundaries() {
        let t = Thresholds::default();
        let today = d(2026, 1, 1);
        let cases: &[(OrgFacts, &[(RuleId, Level)])] = &[
            (
                branch(2, 2, false),
                &[(RuleId::TooFewFullMembers, Level::Yellow)],
            ),
            (
                branch(0, 1, false),
                &[(RuleId::TooFewFullMembers, Level::Yellow)],
            ),
            (branch(3, 3, false), &[]),
            (branch(6, 10, false), &[]),
            (
                branch(7, 10, false),
                &[(RuleId::CommitteeRequired, Level::Yellow)],
            ),
            (branch(7, 10, true), &[]),
            (branch(30, 50, true), &[]),
            (branch(30, 51, true), &[(RuleId::BranchOver50, Level::Blue)]),
            (branch(60, 99, true), &[(RuleId::BranchOver50, Level::Blue)]),
            (branch(60, 100, true), &[(RuleId::Over100, Level::Blue)]),
            (
                OrgFacts {
                    kind: OrgKind::GeneralBranch,
                    ..branch(80, 100, true)
                },
                &[(RuleId::Over100, Level::Blue)],
            ),
            (
                OrgFacts {
                    kind: OrgKind::GeneralBranch,
                    ..branch(40, 99, true)
                },
                &[],
            ),
            // The branch rules do not apply to other kinds.
            (
                OrgFacts {
                    kind: OrgKind::Committee,
                    ..branch(1, 500, false)
                },
                &[],
            ),
            (
                OrgFacts {
                    kind: OrgKind::GeneralBranch,
                    ..branch(2, 60, false)
                },
                &[],
            ),
            (
                OrgFacts {
                    kind: OrgKind::Group,
                    ..branch(1, 1, false)
                },
                &[],
            ),
        ];
        for (facts, want) in cases {
            let got = evaluate_org(facts, &t, today);
            assert_eq!(rules(&got), *want, "{facts:?}");
            for f in &got {
                assert_eq!(f.period_key, CURRENT);
                assert_eq!(f.subject, (SubjectKind::Organization, 7));
                assert!(ORG_RULES.contains(&f.rule));
                assert!(!f.detail_zh.is_empty() && !f.detail_en.is_empty());
            }
        }
    }

    fn with_term(end: NaiveDate) -> OrgFacts {
        OrgFacts {
            term_ends_on: Some(end),
            ..branch(5, 5, true)
        }
    }

    #[test]
    fn term_expiring_levels_at_each_threshold() {
        let t = Thresholds::default();
        let end = d(2026, 6, 30);
        let f = with_term(end);
        let cases = [
            (d(2025, 12, 29), None),
            (d(2025, 12, 30), Some((Level::Blue, Some(end)))),
            (d(2026, 6, 29), Some((Level::Blue, Some(end)))),
            (d(2026, 6, 30), Some((Level::Yellow, Some(d(2026, 9, 30))))),
            (d(2026, 9, 29), Some((Level::Yellow, Some(d(2026, 9, 30))))),
            (d(2026, 9, 30), Some((Level::Red, None))),
            (d(2030, 1, 1), Some((Level::Red, None))),
        ];
        for (today, want) in cases {
            let got = evaluate_org(&f, &t, today);
            let got = got.first().map(|f| {
                assert_eq!(f.rule, RuleId::TermExpiring);
                assert_eq!(f.period_key, "2026-06-30");
                (f.level, f.due)
            });
            assert_eq!(got, want, "{today}");
        }
    }

    #[test]
    fn term_expiring_month_end_and_zero_lead() {
        // Six months before 31 August is the last day of February.
        let f = with_term(d(2026, 8, 31));
        let t = Thresholds::default();
        assert!(evaluate_org(&f, &t, d(2026, 2, 27)).is_empty());
        assert_eq!(
            rules(&evaluate_org(&f, &t, d(2026, 2, 28))),
            [(RuleId::TermExpiring, Level::Blue)]
        );
        // No blue lead time: nothing before the end, then yellow.
        let o = ThresholdsOverride {
            term_expiring: TermExpiringOverride {
                blue_months_before: Some(0),
                ..Default::default()
            },
            ..Default::default()
        };
        let t = t.merge(&o).expect("valid");
        assert!(evaluate_org(&f, &t, d(2026, 8, 30)).is_empty());
        assert_eq!(
            rules(&evaluate_org(&f, &t, d(2026, 8, 31))),
            [(RuleId::TermExpiring, Level::Yellow)]
        );
    }

    #[test]
    fn term_expiring_near_the_end_of_time_does_not_panic() {
        let f = with_term(NaiveDate::MAX);
        let got = evaluate_org(&f, &Thresholds::default(), NaiveDate::MAX);
        assert_eq!(rules(&got), [(RuleId::TermExpiring, Level::Yellow)]);
        assert_eq!(got[0].due, None);
        let f = with_term(NaiveDate::MIN);
        assert!(!evaluate_org(&f, &Thresholds::default(), NaiveDate::MIN).is_empty());
    }

    // ----- registry data quality (DOMAIN.md §3) -----

    fn member(stage: Stage, dates: [Option<NaiveDate>; 5]) -> MemberFacts {
        let [applied_on, activist_on, target_on, probationary_on, full_on] = dates;
        MemberFacts {
            member_id: 42,
            stage,
            applied_on,
            activist_on,
            target_on,
            probationary_on,
            full_on,
        }
    }

    type Problem = (DataProblemKind, Stage, Option<Stage>);

    #[test]
    fn data_quality_cases() {
        use DataProblemKind::*;
        let today = d(2026, 1, 1);
        let a = Some(d(2018, 3, 1));
        let b = Some(d(2018, 9, 1));
        let c = Some(d(2019, 10, 1));
        let p = Some(d(2020, 7, 1));
        let f = Some(d(2021, 7, 1));
        let future = Some(d(2026, 1, 2));
        let cases: Vec<(MemberFacts, Vec<Problem>)> = vec![
            (member(Stage::Full, [a, b, c, p, f]), vec![]),
            (
                member(Stage::Applicant, [a, None, None, None, None]),
                vec![],
            ),
            // Equal dates are accepted; today is not the future.
            (member(Stage::Activist, [a, a, None, None, None]), vec![]),
            (
                member(
                    Stage::Activist,
                    [Some(today), Some(today), None, None, None],
                ),
                vec![],
            ),
            (
                member(Stage::Full, [a, b, None, p, f]),
                vec![(Missing, Stage::DevelopmentTarget, None)],
            ),
            (
                member(Stage::Applicant, [None, None, None, None, None]),
                vec![(Missing, Stage::Applicant, None)],
            ),
            (
                member(Stage::Full, [a, c, b, p, f]),
                vec![(OutOfOrder, Stage::DevelopmentTarget, Some(Stage::Activist))],
            ),
            (
                member(Stage::Probationary, [a, b, c, p, f]),
                vec![(BeyondStage, Stage::Full, None)],
            ),
            (
                member(Stage::Activist, [a, future, None, None, None]),
                vec![(InFuture, Stage::Activist, None)],
            ),
            // Later dates are compared with the latest earlier date, not only the neighbour.
            (
                member(Stage::Full, [f, b, c, p, f]),
                vec![
                    (OutOfOrder, Stage::Activist, Some(Stage::Applicant)),
                    (OutOfOrder, Stage::DevelopmentTarget, Some(Stage::Applicant)),
                    (OutOfOrder, Stage::Probationary, Some(Stage::Applicant)),
                ],
            ),
        ];
        for (facts, want) in cases {
            let got: Vec<_> = member_data_problems(&facts, today)
                .into_iter()
                .map(|p| (p.kind, p.stage, p.after))
                .collect();
            assert_eq!(got, want, "{facts:?}");
            let findings = evaluate_member_data(&facts, today);
            assert_eq!(findings.len(), usize::from(!want.is_empty()));
            if let Some(fi) = findings.first() {
                assert_eq!(
                    (fi.rule, fi.level),
                    (RuleId::RegistryDataQuality, Level::Yellow)
                );
                assert_eq!(fi.subject, (SubjectKind::Member, 42));
                assert_eq!(fi.period_key, CURRENT);
                assert_eq!(fi.detail_zh.split('；').count(), want.len());
            }
        }
    }

    #[test]
    fn data_quality_detail_is_readable() {
        let m = member(
            Stage::Full,
            [Some(d(2019, 1, 1)), Some(d(2018, 1, 1)), None, None, None],
        );
        let f = evaluate_member_data(&m, d(2026, 1, 1));
        let zh = &f[0].detail_zh;
        assert!(zh.contains("入党积极分子：日期早于入党申请人"), "{zh}");
        assert!(zh.contains("发展对象：缺少日期"), "{zh}");
        assert!(
            f[0].detail_en.contains("Activist: date before Applicant"),
            "{}",
            f[0].detail_en
        );
    }

    // ----- reconcile -----

    fn stored(id: i64, rule: RuleId, level: Level, due: Option<NaiveDate>) -> ExistingWarning {
        ExistingWarning {
            id,
            rule,
            subject: (SubjectKind::Organization, 7),
            period_key: CURRENT.to_string(),
            level,
            state: WarningState::Open,
            due,
            cleared_by_data: false,
        }
    }

    fn found(rule: RuleId, level: Level) -> Finding {
        Finding {
            rule,
            level,
            subject: (SubjectKind::Organization, 7),
            period_key: CURRENT.to_string(),
            detail_zh: "x".into(),
            detail_en: "x".into(),
            due: None,
        }
    }

    /// A toy store applying changes as `app` would; never deletes.
    #[derive(Default)]
    struct Store {
        rows: Vec<ExistingWarning>,
        raised: usize,
        escalated: usize,
        cleared: usize,
        recurred: usize,
    }

    impl Store {
        fn apply(&mut self, changes: Vec<Change>) {
            for c in changes {
                match c {
                    Change::Raise(f) => {
                        self.raised += 1;
                        let id = i64::try_from(self.rows.len()).expect("small") + 1;
                        self.rows.push(ExistingWarning {
                            id,
                            rule: f.rule,
                            subject: f.subject,
                            period_key: f.period_key,
                            level: f.level,
                            state: WarningState::Open,
                            due: f.due,
                            cleared_by_data: false,
                        });
                    }
                    Change::Escalate {
                        warning_id,
                        from,
                        finding,
                        reopen,
                    } => {
                        self.escalated += 1;
                        let w = self.get(warning_id);
                        assert_eq!(w.level, from);
                        assert!(finding.level > from);
                        w.level = finding.level;
                        w.due = finding.due;
                        if reopen {
                            w.state = WarningState::Open;
                            w.cleared_by_data = false;
                        }
                    }
                    Change::Recur {
                        warning_id,
                        level,
                        finding,
                    } => {
                        self.recurred += 1;
                        let w = self.get(warning_id);
                        assert!(level >= w.level);
                        w.level = level;
                        w.due = finding.due;
                        w.state = WarningState::Open;
                        w.cleared_by_data = false;
                    }
                    Change::ConditionCleared { warning_id } => {
                        self.cleared += 1;
                        let w = self.get(warning_id);
                        w.state = WarningState::Corrected;
                        w.cleared_by_data = true;
                    }
                }
            }
        }
        fn get(&mut self, id: i64) -> &mut ExistingWarning {
            self.rows.iter_mut().find(|w| w.id == id).expect("known id")
        }
        fn sweep(&mut self, facts: &OrgFacts, t: &Thresholds, today: NaiveDate) -> Vec<Change> {
            let findings = evaluate_org(facts, t, today);
            let mine: Vec<ExistingWarning> = self
                .rows
                .iter()
                .filter(|w| {
                    ORG_RULES.contains(&w.rule)
                        && w.subject == (SubjectKind::Organization, facts.org_id)
                })
                .cloned()
                .collect();
            let changes = reconcile(&mine, &findings);
            self.apply(changes.clone());
            self.assert_unique();
            changes
        }
        fn assert_unique(&self) {
            let mut keys: Vec<_> = self.rows.iter().map(warning_key).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "duplicate warning key");
        }
    }

    fn kinds(changes: &[Change]) -> Vec<&'static str> {
        changes
            .iter()
            .map(|c| match c {
                Change::Raise(_) => "raise",
                Change::Escalate { .. } => "escalate",
                Change::Recur { .. } => "recur",
                Change::ConditionCleared { .. } => "cleared",
            })
            .collect()
    }

    #[test]
    fn term_expiring_clock_walk_raises_escalates_and_never_duplicates() {
        let t = Thresholds::default();
        let end = d(2026, 6, 30);
        let facts = with_term(end);
        let mut s = Store::default();
        let steps = [
            (d(2025, 12, 29), vec![], None),
            (d(2025, 12, 30), vec!["raise"], Some(Level::Blue)),
            (d(2025, 12, 30), vec![], Some(Level::Blue)),
            (d(2026, 6, 29), vec![], Some(Level::Blue)),
            (d(2026, 6, 30), vec!["escalate"], Some(Level::Yellow)),
            (d(2026, 9, 29), vec![], Some(Level::Yellow)),
            (d(2026, 9, 30), vec!["escalate"], Some(Level::Red)),
            (d(2027, 9, 30), vec![], Some(Level::Red)),
        ];
        for (today, want, level) in steps {
            let changes = s.sweep(&facts, &t, today);
            assert_eq!(kinds(&changes), want, "{today}");
            assert_eq!(s.rows.first().map(|w| w.level), level, "{today}");
        }
        // Every day across the whole span: still exactly one raise and two escalations.
        let mut s = Store::default();
        let mut day = d(2025, 11, 1);
        while day <= d(2027, 1, 1) {
            s.sweep(&facts, &t, day);
            day = day.succ_opt().expect("date");
        }
        assert_eq!(
            (s.raised, s.escalated, s.cleared, s.rows.len()),
            (1, 2, 0, 1)
        );
        assert_eq!(s.rows[0].period_key, "2026-06-30");
    }

    #[test]
    fn re_election_clears_the_old_term_and_the_warning_is_closed() {
        let t = Thresholds::default();
        let mut s = Store::default();
        s.sweep(&with_term(d(2026, 6, 30)), &t, d(2026, 7, 15));
        assert_eq!(s.rows[0].level, Level::Yellow);
        // Acknowledged by the branch, then the re-election is recorded: new term.
        s.rows[0].state = transition(s.rows[0].state, &Action::Acknowledge).expect("ack");
        let new_term = with_term(d(2029, 7, 10));
        let changes = s.sweep(&new_term, &t, d(2026, 7, 20));
        assert_eq!(kinds(&changes), ["cleared"]);
        assert_eq!(s.rows[0].state, WarningState::Corrected);
        // Corrected by data before its due (yellow, red from 30 Sep): a tolerated mistake.
        assert!(tolerated_mistake(
            s.rows[0].level,
            s.rows[0].due,
            d(2026, 7, 20)
        ));
        s.rows[0].state = transition(s.rows[0].state, &Action::Close).expect("close");
        // Sweeping on changes nothing: kept, closed, not duplicated.
        assert!(s.sweep(&new_term, &t, d(2026, 12, 1)).is_empty());
        // The new term's own warning comes in its time, under its own key.
        let changes = s.sweep(&new_term, &t, d(2029, 1, 10));
        assert_eq!(kinds(&changes), ["raise"]);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0].state, WarningState::Closed);
        assert_eq!(s.rows[1].period_key, "2029-07-10");
    }

    #[test]
    fn person_correction_stands_until_it_gets_worse() {
        let t = Thresholds::default();
        let facts = with_term(d(2026, 6, 30));
        let mut s = Store::default();
        s.sweep(&facts, &t, d(2026, 1, 1));
        let fix = Action::Correct {
            evidence: "换届选举已报上级批准，定于7月举行".into(),
        };
        let o = act(&s.rows[0], &fix, d(2026, 2, 1)).expect("correct");
        assert!(o.tolerated_mistake);
        s.rows[0].state = o.state;
        // Same level, condition still there: the correction stands.
        assert!(s.sweep(&facts, &t, d(2026, 3, 1)).is_empty());
        assert_eq!(s.rows[0].state, WarningState::Corrected);
        // The deadline passes with no election: it escalates and reopens.
        let changes = s.sweep(&facts, &t, d(2026, 6, 30));
        assert!(matches!(
            changes.as_slice(),
            [Change::Escalate {
                reopen: true,
                from: Level::Blue,
                ..
            }]
        ));
        assert_eq!(
            (s.rows[0].state, s.rows[0].level),
            (WarningState::Open, Level::Yellow)
        );
    }

    #[test]
    fn structure_condition_clears_and_recurs_on_the_same_warning() {
        let t = Thresholds::default();
        let mut s = Store::default();
        assert_eq!(
            kinds(&s.sweep(&branch(2, 2, false), &t, d(2026, 1, 1))),
            ["raise"]
        );
        assert_eq!(
            kinds(&s.sweep(&branch(3, 3, false), &t, d(2026, 2, 1))),
            ["cleared"]
        );
        assert!(s.sweep(&branch(3, 3, false), &t, d(2026, 3, 1)).is_empty());
        assert_eq!(
            kinds(&s.sweep(&branch(2, 3, false), &t, d(2026, 4, 1))),
            ["recur"]
        );
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.rows[0].state, WarningState::Open);
        assert_eq!(s.recurred, 1);
        // Growing past 50 and then 100: one advice replaces the other, both kept.
        s.sweep(&branch(40, 60, true), &t, d(2026, 5, 1));
        let changes = s.sweep(&branch(70, 100, true), &t, d(2026, 6, 1));
        assert_eq!(kinds(&changes), ["raise", "cleared"]);
        assert_eq!(s.rows.len(), 3);
    }

    #[test]
    fn reconcile_table() {
        use WarningState::*;
        let y = Level::Yellow;
        let with = |mut w: ExistingWarning, state, by_data| {
            w.state = state;
            w.cleared_by_data = by_data;
            w
        };
        let w = |level| stored(9, RuleId::TooFewFullMembers, level, None);
        let f = |level| found(RuleId::TooFewFullMembers, level);
        let cases: Vec<(Vec<ExistingWarning>, Vec<Finding>, Vec<&str>)> = vec![
            (vec![], vec![], vec![]),
            (vec![], vec![f(y)], vec!["raise"]),
            (vec![w(y)], vec![f(y)], vec![]),
            (vec![w(Level::Blue)], vec![f(y)], vec!["escalate"]),
            // Never lowered automatically.
            (vec![w(Level::Red)], vec![f(y)], vec![]),
            (vec![w(y)], vec![], vec!["cleared"]),
            (
                vec![with(w(y), Acknowledged, false)],
                vec![],
                vec!["cleared"],
            ),
            (vec![with(w(y), Corrected, false)], vec![], vec![]),
            (vec![with(w(y), Closed, true)], vec![], vec![]),
            (vec![with(w(y), Corrected, false)], vec![f(y)], vec![]),
            (vec![with(w(y), Closed, false)], vec![f(y)], vec![]),
            (
                vec![with(w(Level::Blue), Closed, false)],
                vec![f(y)],
                vec!["escalate"],
            ),
            (vec![with(w(y), Corrected, true)], vec![f(y)], vec!["recur"]),
            (
                vec![with(w(Level::Red), Closed, true)],
                vec![f(y)],
                vec!["recur"],
            ),
            // Duplicate findings of one key: one raise.
            (
                vec![],
                vec![f(Level::Blue), f(y), f(Level::Blue)],
                vec!["raise"],
            ),
            // Another period or subject is another warning.
            (
                vec![w(y)],
                vec![Finding {
                    period_key: "2026".into(),
                    ..f(y)
                }],
                vec!["raise", "cleared"],
            ),
            (
                vec![w(y)],
                vec![Finding {
                    subject: (SubjectKind::Organization, 8),
                    ..f(y)
                }],
                vec!["raise", "cleared"],
            ),
        ];
        for (existing, findings, want) in cases {
            let got = reconcile(&existing, &findings);
            assert_eq!(kinds(&got), want, "{existing:?} / {findings:?}");
        }
    }

    #[test]
    fn reconcile_details() {
        // Duplicates keep the highest level.
        let got = reconcile(
            &[],
            &[
                found(RuleId::Over100, Level::Blue),
                found(RuleId::Over100, Level::Yellow),
            ],
        );
        assert!(matches!(&got[..], [Change::Raise(f)] if f.level == Level::Yellow));
        // A recurrence never lowers the level.
        let mut w = stored(3, RuleId::Over100, Level::Red, None);
        w.state = WarningState::Corrected;
        w.cleared_by_data = true;
        let got = reconcile(&[w], &[found(RuleId::Over100, Level::Blue)]);
        assert!(matches!(
            &got[..],
            [Change::Recur {
                warning_id: 3,
                level: Level::Red,
                ..
            }]
        ));
        // Two stored rows with one key (should not happen): the first one is used, nothing raised.
        let a = stored(1, RuleId::Over100, Level::Blue, None);
        let b = stored(2, RuleId::Over100, Level::Blue, None);
        assert!(
            reconcile(
                &[a.clone(), b.clone()],
                &[found(RuleId::Over100, Level::Blue)]
            )
            .is_empty()
        );
        assert_eq!(
            reconcile(&[a, b], &[]),
            [Change::ConditionCleared { warning_id: 1 }]
        );
    }
}
