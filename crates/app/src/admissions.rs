//! Admission (发展党员, DOMAIN.md §4) on the workflow engine: the 25-step
//! process as a versioned definition, the §4 rules of
//! `dangjian_domain::admissions` bound to its steps, durable instances with
//! their encrypted history and deadline rows, stage changes through the
//! member archive path, and the sweep that moves deadlines to "due soon"
//! and "overdue".
//!
//! Who may do what (DOMAIN.md §1, §2): the branch secretary acts on the
//! branch steps of their branch's applicants; committee staff act on the
//! higher-committee steps (filing, pre-review, talk, approval) for their
//! subtree; administrators on all; a member sees only their own timeline.
//! Anything outside the actor's reach is `NotFound`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::admissions::{self as rules, AssemblyVote, Breach, Gravity, PersonFacts};
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::identity::Role;
use dangjian_domain::members::{
    Education, MemberDraft, MemberStatus, Stage, StageDates, validate_member,
};
use dangjian_domain::warnings::{Finding as WarningFinding, Level, RuleId, SubjectKind};
use dangjian_domain::{FieldError, ValidationErrors};
use dangjian_store::entities::{member, org, workflow_instance, workflow_timer};
use dangjian_store::repo::{audit, members as mrepo, orgs as orepo, workflow as repo};
use dangjian_workflow::{
    ActError, Action, DateRef, DeadlineDef, Entry, EntryKind, FieldDef, FieldKind, Finding, Form,
    Instance, Override, Period, ProcessDef, Severity, SideActionDef, Status, StepDef, TimerState,
    timer_state,
};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::clock::to_local;
use crate::orgs::OrgView;
use crate::{Actor, App, AppError};

/// Key of the admission process.
pub const PROCESS_KEY: &str = "admission";
/// Version of [`definition`]; bump with any change of its steps or rules.
pub const PROCESS_VERSION: u32 = 1;
/// Associated data binding the encrypted history detail.
pub use crate::workflows::AAD_ENTRY;

/// Deadlines §4 fixes: overdue is a red warning (others are yellow).
const FIXED_DEADLINES: &[&str] = &["approval_due", "probation_end", "conversion_approval_due"];

const BRANCH: &[&str] = &["secretary", "admin"];
const COMMITTEE: &[&str] = &["committee_staff", "admin"];
const EITHER: &[&str] = &["secretary", "committee_staff", "admin"];

fn date(key: &str, zh: &str, en: &str) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind: FieldKind::Date,
        required: true,
    }
}

fn text(key: &str, zh: &str, en: &str, required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind: FieldKind::Text,
        required,
    }
}

fn count(key: &str, zh: &str, en: &str, required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind: FieldKind::Count,
        required,
    }
}

fn ids(key: &str, zh: &str, en: &str) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind: FieldKind::Ids,
        // Required in substance; the §4 rule reports a missing list with
        // its citation.
        required: false,
    }
}

fn vote_fields(held_zh: &str) -> Vec<FieldDef> {
    vec![
        date("held_on", held_zh, "Assembly held on"),
        count(
            "eligible",
            "应到有表决权的正式党员",
            "Full members entitled to vote",
            true,
        ),
        count(
            "present",
            "实到有表决权的正式党员",
            "Entitled members present",
            true,
        ),
        count("yes", "赞成", "Yes", true),
        count("no", "反对", "No", true),
        count("abstain", "弃权", "Abstain", true),
        count(
            "written_yes",
            "书面意见赞成",
            "Written opinions: yes",
            false,
        ),
        count("written_no", "书面意见反对", "Written opinions: no", false),
        count(
            "written_abstain",
            "书面意见弃权",
            "Written opinions: abstain",
            false,
        ),
    ]
}

fn step(
    number: u32,
    key: &str,
    zh: &str,
    en: &str,
    roles: &[&str],
    fields: Vec<FieldDef>,
    attachments: &[&str],
) -> StepDef {
    StepDef {
        key: key.into(),
        number,
        label_zh: zh.into(),
        label_en: en.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        fields,
        attachments: attachments.iter().map(|a| a.to_string()).collect(),
    }
}

fn at(entry: &str, field: &str) -> DateRef {
    DateRef {
        entry: entry.into(),
        field: field.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn deadline(
    key: &str,
    settled_by: &str,
    anchor: Vec<DateRef>,
    period: Period,
    remind_before_days: u32,
    rule: &str,
    zh: &str,
    en: &str,
) -> DeadlineDef {
    DeadlineDef {
        key: key.into(),
        settled_by: settled_by.into(),
        anchor,
        period,
        remind_before_days,
        extra_months: None,
        open_from: None,
        open_until: None,
        rule: rule.into(),
        label_zh: zh.into(),
        label_en: en.into(),
    }
}

/// The 25 steps of DOMAIN.md §4 in their fixed order, with the half-yearly
/// assessment and the probation extension as side actions and the
/// deadlines of §4 as timers.
pub fn definition() -> ProcessDef {
    let steps = vec![
        step(
            1,
            "application",
            "递交入党申请书",
            "Application submitted",
            BRANCH,
            vec![date("applied_on", "申请日期", "Applied on")],
            &[],
        ),
        step(
            2,
            "talk",
            "派人谈话",
            "Talk with the applicant",
            BRANCH,
            vec![
                date("talked_on", "谈话日期", "Talk held on"),
                text("talker", "谈话人", "Talked with by", false),
            ],
            &[],
        ),
        step(
            3,
            "activist",
            "确定入党积极分子",
            "Designated activist",
            BRANCH,
            vec![
                date("decided_on", "支委会决定日期", "Decided on"),
                text("recommended_by", "推荐方式", "Recommended by", false),
            ],
            &[],
        ),
        step(
            4,
            "activist_filing",
            "报上级党委备案（积极分子）",
            "Activist filed with the higher committee",
            COMMITTEE,
            vec![date("filed_on", "备案日期", "Filed on")],
            &[],
        ),
        step(
            5,
            "contacts",
            "指定培养联系人",
            "Contacts assigned",
            BRANCH,
            vec![
                date("assigned_on", "指定日期", "Assigned on"),
                ids(
                    "contact_ids",
                    "培养联系人（正式党员编号）",
                    "Contacts (full member ids)",
                ),
            ],
            &[],
        ),
        step(
            6,
            "activist_education",
            "培养教育考察",
            "Education and assessment",
            BRANCH,
            vec![
                date("assessed_on", "考察日期", "Assessed on"),
                text("assessment", "考察意见", "Assessment", true),
            ],
            &[],
        ),
        step(
            7,
            "development_target",
            "确定发展对象",
            "Designated development target",
            BRANCH,
            vec![date("decided_on", "支委会决定日期", "Decided on")],
            &[],
        ),
        step(
            8,
            "target_filing",
            "报上级党委备案（发展对象）",
            "Development target filed with the higher committee",
            COMMITTEE,
            vec![date("filed_on", "备案日期", "Filed on")],
            &[],
        ),
        step(
            9,
            "introducers",
            "确定入党介绍人",
            "Introducers named",
            BRANCH,
            vec![
                date("assigned_on", "确定日期", "Named on"),
                ids(
                    "introducer_ids",
                    "入党介绍人（正式党员编号）",
                    "Introducers (full member ids)",
                ),
            ],
            &[],
        ),
        step(
            10,
            "political_review",
            "政治审查",
            "Political review",
            BRANCH,
            vec![
                date("concluded_on", "结论日期", "Concluded on"),
                text("conclusion", "政审结论", "Conclusion", false),
            ],
            &["political_review_report"],
        ),
        step(
            11,
            "training",
            "集中培训",
            "Centralized training",
            BRANCH,
            vec![
                date("completed_on", "结业日期", "Completed on"),
                count("days", "培训天数", "Days", false),
                count("hours", "培训学时", "Class hours", false),
            ],
            &["training_certificate"],
        ),
        step(
            12,
            "branch_review",
            "支部委员会审查",
            "Branch committee review",
            BRANCH,
            vec![date("reviewed_on", "审查日期", "Reviewed on")],
            &[],
        ),
        step(
            13,
            "pre_review",
            "上级党委预审及公示",
            "Pre-review and public notice",
            COMMITTEE,
            vec![
                date("pre_reviewed_on", "预审日期", "Pre-reviewed on"),
                date("notice_from", "公示开始", "Notice from"),
                date("notice_to", "公示结束", "Notice until"),
            ],
            &[],
        ),
        step(
            14,
            "volunteer_form",
            "填写入党志愿书",
            "Volunteer form filled",
            BRANCH,
            vec![date("filled_on", "填写日期", "Filled on")],
            &["volunteer_form"],
        ),
        step(
            15,
            "assembly",
            "支部大会讨论表决",
            "Branch assembly vote",
            BRANCH,
            vote_fields("支部大会日期"),
            &[],
        ),
        step(
            16,
            "committee_talk",
            "上级党委派人谈话",
            "Talk by the higher committee",
            COMMITTEE,
            vec![date("talked_on", "谈话日期", "Talk held on")],
            &[],
        ),
        step(
            17,
            "approval",
            "上级党委审批",
            "Approval by the higher committee",
            COMMITTEE,
            vec![
                date("approved_on", "审批日期", "Approved on"),
                text("document", "批复文号", "Document number", false),
            ],
            &[],
        ),
        step(
            18,
            "org_filing",
            "报组织部门备案",
            "Filed with the organization department",
            COMMITTEE,
            vec![date("filed_on", "备案日期", "Filed on")],
            &[],
        ),
        step(
            19,
            "placement",
            "编入党支部和党小组",
            "Placed in branch and group",
            BRANCH,
            vec![
                date("placed_on", "编入日期", "Placed on"),
                text("group", "党小组", "Party group", false),
            ],
            &[],
        ),
        step(
            20,
            "oath",
            "入党宣誓",
            "Oath",
            BRANCH,
            vec![date("sworn_on", "宣誓日期", "Sworn on")],
            &[],
        ),
        step(
            21,
            "probation_education",
            "预备期教育考察",
            "Education during probation",
            BRANCH,
            vec![
                date("assessed_on", "考察日期", "Assessed on"),
                text("assessment", "考察意见", "Assessment", false),
            ],
            &[],
        ),
        step(
            22,
            "conversion_application",
            "提出转正申请",
            "Application for conversion",
            BRANCH,
            vec![date("applied_on", "申请日期", "Applied on")],
            &[],
        ),
        step(
            23,
            "conversion_vote",
            "支部大会讨论转正",
            "Branch assembly vote on conversion",
            BRANCH,
            vote_fields("支部大会日期"),
            &[],
        ),
        step(
            24,
            "conversion_approval",
            "上级党委审批转正",
            "Conversion approved by the higher committee",
            COMMITTEE,
            vec![
                date("approved_on", "审批日期", "Approved on"),
                text("document", "批复文号", "Document number", false),
            ],
            &[],
        ),
        step(
            25,
            "archiving",
            "材料归档",
            "Materials archived",
            EITHER,
            vec![date("archived_on", "归档日期", "Archived on")],
            &[],
        ),
    ];
    let side_actions = vec![
        SideActionDef {
            key: "assessment".into(),
            label_zh: "半年考察".into(),
            label_en: "Half-yearly assessment".into(),
            roles: BRANCH.iter().map(|r| r.to_string()).collect(),
            fields: vec![
                date("assessed_on", "考察日期", "Assessed on"),
                text("assessment", "考察意见", "Assessment", true),
            ],
            open_from: "activist_education".into(),
            open_until: "assembly".into(),
            max_times: None,
        },
        SideActionDef {
            key: "extension".into(),
            label_zh: "延长预备期".into(),
            label_en: "Probation extended".into(),
            roles: BRANCH.iter().map(|r| r.to_string()).collect(),
            fields: vec![
                date("decided_on", "支部大会决定日期", "Decided on"),
                count("months", "延长月数", "Months", true),
            ],
            open_from: "placement".into(),
            open_until: "conversion_vote".into(),
            max_times: None,
        },
    ];
    let mut assessment = deadline(
        "assessment_due",
        "assessment",
        vec![
            at("activist", "decided_on"),
            at("activist_education", "assessed_on"),
            at("assessment", "assessed_on"),
        ],
        Period::Months(rules::ASSESSMENT_EVERY_MONTHS),
        14,
        "DOMAIN.md §4 step 6",
        "半年考察",
        "Half-yearly assessment",
    );
    assessment.open_from = Some("activist_education".into());
    assessment.open_until = Some("assembly".into());
    let mut conversion = deadline(
        "probation_end",
        "conversion_vote",
        vec![at("assembly", "held_on")],
        Period::Months(rules::PROBATION_MONTHS),
        30,
        "DOMAIN.md §4 probation",
        "预备期满讨论转正",
        "Probation ends: conversion vote",
    );
    conversion.extra_months = Some(at("extension", "months"));
    let deadlines = vec![
        deadline(
            "talk_due",
            "talk",
            vec![at("application", "applied_on")],
            Period::Months(rules::TALK_WITHIN_MONTHS),
            7,
            "DOMAIN.md §4 step 2",
            "一个月内派人谈话",
            "Talk within one month",
        ),
        assessment,
        deadline(
            "approval_due",
            "approval",
            vec![at("assembly", "held_on")],
            Period::Months(rules::APPROVAL_MONTHS),
            30,
            "DOMAIN.md §4 step 17",
            "支部大会后3个月内审批",
            "Approval within 3 months of the assembly",
        ),
        conversion,
        deadline(
            "conversion_approval_due",
            "conversion_approval",
            vec![at("conversion_vote", "held_on")],
            Period::Months(rules::APPROVAL_MONTHS),
            30,
            "DOMAIN.md §4 step 24",
            "转正大会后3个月内审批",
            "Conversion approval within 3 months",
        ),
    ];
    ProcessDef {
        key: PROCESS_KEY.into(),
        version: PROCESS_VERSION,
        name_zh: "发展党员".into(),
        name_en: "Admission".into(),
        steps,
        side_actions,
        deadlines,
        exits: Vec::new(),
    }
}

/// The stage a step moves the candidate to, and the day it counts from.
fn stage_change(key: &str, inst: &Instance, form: &Form) -> Option<(Stage, Option<NaiveDate>)> {
    match key {
        "activist" => Some((Stage::Activist, form.date("decided_on"))),
        "development_target" => Some((Stage::DevelopmentTarget, form.date("decided_on"))),
        // Probation counts from the assembly that admitted (§4).
        "approval" => Some((Stage::Probationary, inst.date(&at("assembly", "held_on")))),
        // Full membership counts from the end of probation.
        "conversion_approval" => Some((
            Stage::Full,
            inst.date(&at("assembly", "held_on"))
                .map(|a| rules::probation_end(a, extension_months(inst))),
        )),
        _ => None,
    }
}

fn extension_months(inst: &Instance) -> u32 {
    inst.entries("extension")
        .filter_map(|e| e.form.count("months"))
        .map(|m| u32::try_from(m).unwrap_or(0))
        .sum()
}

// ---------------------------------------------------------------- views

/// A field or attachment of a step, for forms.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub key: String,
    pub number: u32,
    pub label_zh: String,
    pub label_en: String,
    pub roles: Vec<String>,
    pub fields: Vec<FieldDef>,
    pub attachments: Vec<String>,
}

impl StepView {
    fn of(s: &StepDef) -> Self {
        Self {
            key: s.key.clone(),
            number: s.number,
            label_zh: s.label_zh.clone(),
            label_en: s.label_en.clone(),
            roles: s.roles.clone(),
            fields: s.fields.clone(),
            attachments: s.attachments.clone(),
        }
    }
}

/// An open deadline and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct TimerView {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub due_on: NaiveDate,
    pub remind_on: NaiveDate,
    pub state: TimerState,
    pub rule: String,
}

/// One recorded action of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub seq: u32,
    pub kind: EntryKind,
    pub key: String,
    /// Step number (0 for side actions and cancellations).
    pub number: u32,
    pub label_zh: String,
    pub label_en: String,
    pub actor_user_id: Option<i64>,
    pub role: String,
    pub at: DateTime<Utc>,
    pub form: Form,
    pub attachments: Vec<String>,
    pub warnings: Vec<Finding>,
    pub overrides: Vec<Override>,
}

/// An admission in a pipeline: who, where they stand, what is due.
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionSummary {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub stage: Stage,
    pub org: OrgView,
    pub status: Status,
    pub steps_done: u32,
    pub steps_total: u32,
    pub next_step: Option<StepView>,
    pub timers: Vec<TimerView>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AdmissionSummary {
    /// The worst state of the open deadlines.
    pub fn worst(&self) -> Option<TimerState> {
        self.timers.iter().map(|t| t.state).max()
    }
}

/// An admission with its whole timeline.
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionDetail {
    pub summary: AdmissionSummary,
    pub history: Vec<EntryView>,
    /// Side actions open now that the viewer may take.
    pub side_actions: Vec<StepView>,
    /// The viewer may act on the next step.
    pub can_act: bool,
}

/// A person who applies and is not registered yet (DOMAIN.md §3, §4 step 1).
/// No `Debug`: the ID number and phone stay out of logs.
#[derive(Clone, Deserialize)]
pub struct NewApplicant {
    pub name: String,
    pub id_number: String,
    pub ethnicity: String,
    pub phone: Option<String>,
    pub education: Option<Education>,
    pub dues_category: DuesCategory,
    pub applied_on: NaiveDate,
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Applicant::Member(id) => f.debug_tuple("Member").field(id).finish(),
            Applicant::Person(p) => f.debug_tuple("Person").field(&p.name).finish(),
        }
    }
}

/// Whom an admission is started for.
#[derive(Clone)]
pub enum Applicant {
    /// A registered applicant (stage 入党申请人).
    Member(i64),
    /// A new person, registered as applicant in the same transaction.
    Person(NewApplicant),
}

/// An action on a step or side action.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepInput {
    #[serde(default)]
    pub form: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

// ---------------------------------------------------------------- errors

/// Codes of findings as static strings for [`FieldError`].
fn static_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "required",
        "invalid_value",
        "unknown_field",
        "date_in_future",
        "date_order",
        "age_under_18",
        "talk_late",
        "activist_period_too_short",
        "contacts_count",
        "introducers_count",
        "duplicate_person",
        "candidate_named",
        "probationary_not_allowed",
        "not_full_member",
        "review_conclusion_missing",
        "training_too_short",
        "notice_before_pre_review",
        "notice_too_short",
        "assembly_before_notice_end",
        "vote_counts_inconsistent",
        "quorum_not_met",
        "majority_not_reached",
        "approval_late",
        "approval_too_late",
        "extension_repeated",
        "extension_length",
        "probation_not_over",
    ];
    KNOWN
        .iter()
        .copied()
        .find(|k| *k == code)
        .unwrap_or("rule_breach")
}

fn finding_errors(prefix: &str, f: &[Finding]) -> AppError {
    AppError::Validation(ValidationErrors(
        f.iter()
            .map(|x| {
                FieldError::new(
                    format!("{prefix}{}", x.field),
                    static_code(&x.code),
                    x.message_zh.clone(),
                    x.message_en.clone(),
                )
            })
            .collect(),
    ))
}

fn act_error(def: &ProcessDef, e: ActError) -> AppError {
    let label = |k: &str| {
        def.step(k)
            .map(|s| (s.label_zh.clone(), s.label_en.clone()))
            .unwrap_or_else(|| (k.to_string(), k.to_string()))
    };
    match e {
        ActError::Closed(s) => AppError::Conflict(FieldError::new(
            "status",
            "process_closed",
            format!(
                "该发展流程已{}",
                if s == Status::Completed {
                    "完成"
                } else {
                    "终止"
                }
            ),
            format!("this admission is {}", s.as_str()),
        )),
        ActError::WrongDefinition { .. } => AppError::Internal(e.to_string()),
        ActError::Unknown(k) => AppError::field(
            "step",
            "unknown_step",
            format!("没有步骤“{k}”"),
            format!("there is no step {k:?}"),
        ),
        ActError::OutOfOrder { expected, got } => {
            let (gz, ge) = label(&got);
            let (ez, ee) = expected
                .as_deref()
                .map(label)
                .unwrap_or_else(|| ("（无）".into(), "(none)".into()));
            AppError::Conflict(FieldError::new(
                "step",
                "step_out_of_order",
                format!("发展党员25个步骤须按顺序进行：下一步是“{ez}”，不是“{gz}”（DOMAIN.md §4）"),
                format!(
                    "the 25 admission steps run in a fixed order: the next step is {ee:?}, not {ge:?} (DOMAIN.md §4)"
                ),
            ))
        }
        ActError::SideClosed(k) => AppError::Conflict(FieldError::new(
            "step",
            "side_action_closed",
            format!("当前阶段不能进行“{k}”"),
            format!("{k:?} is not open at this point of the process"),
        )),
        ActError::SideLimit { key, max } => AppError::field(
            "step",
            "side_action_limit",
            format!("“{key}”最多进行{max}次"),
            format!("{key:?} may be taken at most {max} time(s)"),
        ),
        ActError::RoleNotAllowed { .. } => AppError::Forbidden,
        ActError::Form(f) => finding_errors("form.", &f),
        ActError::MissingAttachments(m) => AppError::Validation(ValidationErrors(
            m.iter()
                .map(|a| {
                    FieldError::new(
                        "attachments",
                        "attachment_missing",
                        format!("缺少材料“{a}”（DOMAIN.md §4）"),
                        format!("the attachment {a:?} is missing (DOMAIN.md §4)"),
                    )
                })
                .collect(),
        )),
        ActError::Blocked(f) => finding_errors("form.", &f),
        ActError::NeedsOverride(f) => AppError::Validation(ValidationErrors(
            f.iter()
                .map(|x| {
                    FieldError::new(
                        "overrides",
                        static_code(&x.code),
                        format!(
                            "{}；如确需继续，请填写理由（overrides: {}）",
                            x.message_zh, x.code
                        ),
                        format!(
                            "{}; to proceed anyway, give a reason (overrides: {})",
                            x.message_en, x.code
                        ),
                    )
                })
                .collect(),
        )),
    }
}

fn finding(b: Breach) -> Finding {
    Finding {
        code: b.code.into(),
        field: b.field.into(),
        rule: b.rule.into(),
        severity: match b.gravity {
            Gravity::Block => Severity::Hard,
            Gravity::Warn => Severity::Soft,
        },
        message_zh: b.message_zh,
        message_en: b.message_en,
    }
}

// ---------------------------------------------------------------- rules

/// What the rules of a step need beyond the form and the history.
struct Facts {
    candidate_id: i64,
    birth_date: NaiveDate,
    today: NaiveDate,
    people: HashMap<i64, PersonFacts>,
    /// The public notice's minimum in working days, in force at the branch.
    notice_working_days: u32,
    /// The deployment's holidays and adjusted working days.
    calendar: rules::WorkCalendar,
}

impl Facts {
    fn people(&self, ids: &[i64]) -> Vec<Option<PersonFacts>> {
        ids.iter().map(|i| self.people.get(i).copied()).collect()
    }
}

fn main_date_field(fields: &[FieldDef]) -> Option<&str> {
    fields
        .iter()
        .find(|f| f.kind == FieldKind::Date)
        .map(|f| f.key.as_str())
}

fn vote_of(form: &Form) -> AssemblyVote {
    let n = |k: &str| form.count(k).unwrap_or(0);
    AssemblyVote {
        eligible: n("eligible"),
        present: n("present"),
        yes: n("yes"),
        no: n("no"),
        abstain: n("abstain"),
        written_yes: n("written_yes"),
        written_no: n("written_no"),
        written_abstain: n("written_abstain"),
    }
}

/// The §4 findings on an action: dates in order and not in the future, then
/// the step's own rules.
fn findings(def: &ProcessDef, inst: &Instance, key: &str, form: &Form, f: &Facts) -> Vec<Finding> {
    let mut out: Vec<Breach> = Vec::new();
    let fields = def
        .step(key)
        .map(|s| &s.fields)
        .or_else(|| def.side_action(key).map(|s| &s.fields));
    let main = fields.and_then(|fs| main_date_field(fs));
    let main_date = main.and_then(|k| form.date(k));
    if let (Some(k), Some(d)) = (main, main_date) {
        if d > f.today {
            let field: &'static str = static_field(k);
            out.push(Breach {
                code: "date_in_future",
                field,
                rule: "DOMAIN.md §4",
                gravity: Gravity::Block,
                message_zh: format!("日期{d}晚于今天（{}）（DOMAIN.md §4）", f.today),
                message_en: format!("the date {d} is after today ({}) (DOMAIN.md §4)", f.today),
            });
        }
        // Not before the previous step's date.
        if let Some(idx) = def.step_index(key).and_then(|i| i.checked_sub(1))
            && let Some(prev) = def.steps.get(idx)
            && let Some(pk) = main_date_field(&prev.fields)
            && let Some(pd) = inst.date(&at(&prev.key, pk))
        {
            out.extend(rules::check_not_before(
                static_field(k),
                "DOMAIN.md §4",
                pd,
                d,
            ));
        }
    }
    let date_of = |e: &str, k: &str| inst.date(&at(e, k));
    match key {
        "application" => {
            if let Some(d) = form.date("applied_on") {
                out.extend(rules::check_age(f.birth_date, d));
            }
        }
        "talk" => {
            if let (Some(a), Some(t)) =
                (date_of("application", "applied_on"), form.date("talked_on"))
            {
                // The generic order check already covers "before".
                out.extend(rules::check_talk(a, t).filter(|b| b.code != "date_order"));
            }
        }
        "contacts" => {
            let ids = form.ids("contact_ids");
            out.extend(rules::check_contacts(f.candidate_id, ids, &f.people(ids)));
        }
        "development_target" => {
            if let (Some(a), Some(t)) = (date_of("activist", "decided_on"), form.date("decided_on"))
            {
                out.extend(rules::check_activist_period(a, t));
            }
        }
        "introducers" => {
            let ids = form.ids("introducer_ids");
            out.extend(rules::check_introducers(
                f.candidate_id,
                ids,
                &f.people(ids),
            ));
        }
        "political_review" => out.extend(rules::check_political_review(form.text("conclusion"))),
        "training" => out.extend(rules::check_training(
            form.count("days").unwrap_or(0),
            form.count("hours").unwrap_or(0),
        )),
        "pre_review" => {
            if let (Some(p), Some(a), Some(b)) = (
                form.date("pre_reviewed_on"),
                form.date("notice_from"),
                form.date("notice_to"),
            ) {
                out.extend(rules::check_notice(
                    p,
                    a,
                    b,
                    f.notice_working_days,
                    &f.calendar,
                ));
            }
        }
        "assembly" => {
            if let (Some(n), Some(h)) = (date_of("pre_review", "notice_to"), form.date("held_on")) {
                out.extend(rules::check_assembly_after_notice(n, h));
            }
            out.extend(rules::check_assembly_vote(&vote_of(form)));
        }
        "approval" => {
            if let (Some(a), Some(d)) = (date_of("assembly", "held_on"), form.date("approved_on")) {
                out.extend(rules::check_approval(a, d));
            }
        }
        "conversion_vote" => {
            if let (Some(a), Some(h)) = (date_of("assembly", "held_on"), form.date("held_on")) {
                let end = rules::probation_end(a, extension_months(inst));
                out.extend(rules::check_conversion_vote(end, h));
            }
            out.extend(rules::check_assembly_vote(&vote_of(form)));
        }
        "conversion_approval" => {
            if let (Some(a), Some(d)) = (
                date_of("conversion_vote", "held_on"),
                form.date("approved_on"),
            ) {
                out.extend(rules::check_approval(a, d));
            }
        }
        "extension" => {
            out.extend(rules::check_extension(
                inst.entries("extension").count(),
                form.count("months").unwrap_or(0),
            ));
        }
        _ => {}
    }
    out.into_iter().map(finding).collect()
}

/// Field names of the definition as static strings (for [`Breach`]).
fn static_field(k: &str) -> &'static str {
    const FIELDS: &[&str] = &[
        "applied_on",
        "talked_on",
        "decided_on",
        "filed_on",
        "assigned_on",
        "assessed_on",
        "concluded_on",
        "completed_on",
        "reviewed_on",
        "pre_reviewed_on",
        "filled_on",
        "held_on",
        "approved_on",
        "placed_on",
        "sworn_on",
        "archived_on",
    ];
    FIELDS.iter().copied().find(|f| *f == k).unwrap_or("date")
}

// ---------------------------------------------------------------- storage

/// What someone who may not manage the organization's members is told: they
/// learn the admission exists only if they may see the roster.
pub(crate) fn refusal(actor: &Actor, path: &str, what: &'static str) -> AppError {
    if actor.can_list_members(path) {
        AppError::Forbidden
    } else {
        AppError::NotFound(what)
    }
}

/// Roles the actor holds over an organization at `path`, as step role codes.
pub(crate) fn roles_over(actor: &Actor, path: &str) -> Vec<String> {
    let mut out: Vec<String> = actor
        .grants
        .iter()
        .filter(|g| path.starts_with(&g.org_path))
        .filter(|g| matches!(g.role, Role::Secretary | Role::CommitteeStaff | Role::Admin))
        .map(|g| g.role.as_str().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn views_of_timers(rows: &[workflow_timer::Model], today: NaiveDate) -> Vec<TimerView> {
    let def = definition();
    rows.iter()
        .map(|t| {
            let d = def.deadlines.iter().find(|d| d.key == t.timer_key);
            let spec = dangjian_workflow::TimerSpec {
                key: t.timer_key.clone(),
                settled_by: t.settled_by.clone(),
                due_on: t.due_on,
                remind_on: t.remind_on,
                rule: t.rule.clone(),
                label_zh: String::new(),
                label_en: String::new(),
            };
            TimerView {
                key: t.timer_key.clone(),
                label_zh: d.map(|d| d.label_zh.clone()).unwrap_or_default(),
                label_en: d.map(|d| d.label_en.clone()).unwrap_or_default(),
                due_on: t.due_on,
                remind_on: t.remind_on,
                state: timer_state(&spec, today),
                rule: t.rule.clone(),
            }
        })
        .collect()
}

impl App {
    /// Writes an entry, the instance row and its deadline rows, and
    /// reconciles the member's `admission_deadline` warnings.
    async fn persist<C: ConnectionTrait>(
        &self,
        c: &C,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        inst: &Instance,
        entry: &Entry,
    ) -> Result<workflow_instance::Model, AppError> {
        let row = self.write_run(c, def, row, inst, entry).await?;
        let now = self.clock.now();
        let rows = repo::timers_of(c, &[row.id]).await?;
        self.reconcile_deadline_warnings(c, &row, &rows, to_local(now).date_naive(), now)
            .await?;
        Ok(row)
    }

    /// Raises, escalates or clears the `admission_deadline` warnings of an
    /// instance's member from its open deadlines (DOMAIN.md §9): blue when
    /// due soon; overdue is red for the deadlines §4 fixes (approval,
    /// probation) and yellow for the others (talk, assessments).
    async fn reconcile_deadline_warnings<C: ConnectionTrait>(
        &self,
        c: &C,
        row: &workflow_instance::Model,
        timers: &[workflow_timer::Model],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let def = definition();
        let findings: Vec<WarningFinding> = views_of_timers(timers, today)
            .into_iter()
            .filter_map(|t| {
                let level = match t.state {
                    TimerState::Pending => return None,
                    TimerState::DueSoon => Level::Blue,
                    TimerState::Overdue if FIXED_DEADLINES.contains(&t.key.as_str()) => Level::Red,
                    TimerState::Overdue => Level::Yellow,
                };
                let n = def.deadlines.iter().position(|d| d.key == t.key)?;
                Some(WarningFinding {
                    rule: RuleId::AdmissionDeadline,
                    level,
                    subject: (SubjectKind::Member, row.member_id),
                    period_key: format!("adm{}-{n}", row.id),
                    detail_zh: format!(
                        "发展党员：{}，应于{}前（{}）",
                        t.label_zh, t.due_on, t.rule
                    ),
                    detail_en: format!("Admission: {}, due {} ({})", t.label_en, t.due_on, t.rule),
                    due: Some(t.due_on),
                })
            })
            .collect();
        let org_id = row.org_id;
        crate::warnings::reconcile_subjects(
            c,
            SubjectKind::Member,
            &[row.member_id],
            &[RuleId::AdmissionDeadline],
            &findings,
            &move |_| Some(org_id),
            today,
            now,
        )
        .await?;
        Ok(())
    }

    /// The instance, its member and branch, when the actor may see them.
    pub(crate) async fn visible_admission(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(workflow_instance::Model, member::Model, org::Model), AppError> {
        let row = repo::get_instance(&self.db.conn, id)
            .await?
            .filter(|r| r.process_key == PROCESS_KEY)
            .ok_or(AppError::NotFound("admission"))?;
        let m = mrepo::get(&self.db.conn, row.member_id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        let o = orepo::get(&self.db.conn, row.org_id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        let own = actor.member_id == Some(m.id);
        if !own && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("admission"));
        }
        Ok((row, m, o))
    }

    fn summary_of(
        &self,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        m: &member::Model,
        o: &org::Model,
        timers: &[workflow_timer::Model],
    ) -> AdmissionSummary {
        let next = row
            .next_step
            .as_deref()
            .filter(|_| row.status == Status::Active.as_str())
            .and_then(|k| def.step(k))
            .map(StepView::of);
        AdmissionSummary {
            id: row.id,
            member_id: m.id,
            member_name: m.name.clone(),
            stage: Stage::parse(&m.stage).unwrap_or(Stage::Applicant),
            org: OrgView::from_model(o),
            status: Status::parse(&row.status).unwrap_or(Status::Active),
            steps_done: u32::try_from(row.steps_done).unwrap_or(0),
            steps_total: u32::try_from(def.steps.len()).unwrap_or(0),
            next_step: next,
            timers: views_of_timers(timers, self.today()),
            started_at: row.started_at,
            updated_at: row.updated_at,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn detail_of(
        &self,
        actor: &Actor,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        inst: &Instance,
        m: &member::Model,
        o: &org::Model,
        timers: &[workflow_timer::Model],
    ) -> AdmissionDetail {
        let summary = self.summary_of(def, row, m, o, timers);
        let roles = roles_over(actor, &o.path);
        let can_act = summary
            .next_step
            .as_ref()
            .is_some_and(|s| s.roles.iter().any(|r| roles.contains(r)));
        let done = inst.steps_done();
        let side_actions = if inst.status == Status::Active {
            def.side_actions
                .iter()
                .filter(|s| {
                    let from = def.step_index(&s.open_from).unwrap_or(usize::MAX);
                    let until = def.step_index(&s.open_until).unwrap_or(0);
                    done >= from && done <= until && s.roles.iter().any(|r| roles.contains(r))
                })
                .map(|s| StepView {
                    key: s.key.clone(),
                    number: 0,
                    label_zh: s.label_zh.clone(),
                    label_en: s.label_en.clone(),
                    roles: s.roles.clone(),
                    fields: s.fields.clone(),
                    attachments: Vec::new(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let history = inst
            .history
            .iter()
            .map(|e| {
                let (number, zh, en) = match e.kind {
                    EntryKind::Step => def
                        .step(&e.key)
                        .map(|s| (s.number, s.label_zh.clone(), s.label_en.clone())),
                    EntryKind::Side => def
                        .side_action(&e.key)
                        .map(|s| (0, s.label_zh.clone(), s.label_en.clone())),
                    EntryKind::Cancel => Some((0, "终止".into(), "Cancelled".into())),
                }
                .unwrap_or((0, e.key.clone(), e.key.clone()));
                EntryView {
                    seq: e.seq,
                    kind: e.kind,
                    key: e.key.clone(),
                    number,
                    label_zh: zh,
                    label_en: en,
                    actor_user_id: e.actor_user_id,
                    role: e.role.clone(),
                    at: e.at,
                    form: e.form.clone(),
                    attachments: e.attachments.clone(),
                    warnings: e.warnings.clone(),
                    overrides: e.overrides.clone(),
                }
            })
            .collect();
        AdmissionDetail {
            summary,
            history,
            side_actions,
            can_act,
        }
    }

    async fn facts_for<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        m: &member::Model,
        o: &org::Model,
        form: &Form,
    ) -> Result<Facts, AppError> {
        let mut people = HashMap::new();
        for key in ["contact_ids", "introducer_ids"] {
            for id in form.ids(key) {
                let Some(p) = mrepo::get(c, *id).await? else {
                    continue;
                };
                // Someone the actor may not see counts as unknown.
                let Some(po) = orepo::get(c, p.org_id).await? else {
                    continue;
                };
                if !actor.can_list_members(&po.path) {
                    continue;
                }
                if let (Some(stage), Some(status)) =
                    (Stage::parse(&p.stage), MemberStatus::parse(&p.status))
                {
                    people.insert(
                        p.id,
                        PersonFacts {
                            member_id: p.id,
                            stage,
                            status,
                        },
                    );
                }
            }
        }
        let notice = self
            .rule_settings(c, o)
            .await?
            .thresholds
            .admission_deadline
            .notice_working_days;
        Ok(Facts {
            candidate_id: m.id,
            birth_date: m.birth_date,
            today: self.today(),
            people,
            notice_working_days: u32::try_from(notice).unwrap_or(rules::NOTICE_WORKING_DAYS),
            calendar: self.config.work_calendar.clone(),
        })
    }

    /// Runs one action through the engine and the §4 rules, writes it and
    /// its stage change in `tx`. Returns the updated instance row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_action<C: ConnectionTrait>(
        &self,
        tx: &C,
        actor: &Actor,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        inst: &mut Instance,
        m: &member::Model,
        o: &org::Model,
        key: &str,
        input: StepInput,
    ) -> Result<workflow_instance::Model, AppError> {
        let action = Action {
            key: key.to_string(),
            roles: roles_over(actor, &o.path),
            actor_user_id: actor.audit_id(),
            at: self.clock.now(),
            form: input.form,
            attachments: input
                .attachments
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            overrides: input.overrides,
        };
        let prepared = dangjian_workflow::prepare(def, inst, &action).map_err(|e| {
            // A role that cannot act but can see: 403; one that cannot see: 404.
            if matches!(e, ActError::RoleNotAllowed { .. }) && !actor.can_list_members(&o.path) {
                AppError::NotFound("admission")
            } else {
                act_error(def, e)
            }
        })?;
        let facts = self.facts_for(tx, actor, m, o, &prepared.form).await?;
        let found = findings(def, inst, key, &prepared.form, &facts);
        let entry = dangjian_workflow::act(def, inst, prepared, &action, found)
            .map_err(|e| act_error(def, e))?;
        let row = self.persist(tx, def, row, inst, &entry).await?;
        if entry.kind == EntryKind::Step
            && let Some((stage, on)) = stage_change(key, inst, &entry.form)
        {
            let on = on.ok_or_else(|| {
                AppError::Internal(format!("admission {}: no date for {key}", row.id))
            })?;
            self.change_stage_in(
                tx,
                actor,
                m,
                stage,
                on,
                serde_json::json!({"admission": row.id, "step": key, "document": entry.form.text("document")}),
            )
            .await?;
        }
        audit::append(
            tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "admission.act".into(),
                target_kind: "admission".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "step": key,
                    "overrides": entry.overrides.iter().map(|x| &x.code).collect::<Vec<_>>(),
                }),
            },
            self.clock.now(),
        )
        .await?;
        Ok(row)
    }

    /// Starts an admission in branch `org_code` for a registered applicant
    /// or a new person, recording step 1 (the application) with its date.
    pub async fn start_admission(
        &self,
        actor: &Actor,
        org_code: &str,
        who: Applicant,
    ) -> Result<AdmissionDetail, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(refusal(actor, &o.path, "organization"));
        }
        crate::members::check_member_org(&o)?;
        // New admissions start on the latest version of the definition.
        let def = self.latest_definition(PROCESS_KEY)?.clone();
        let (_writer, tx) = self.begin_write().await?;
        let m = match who {
            Applicant::Member(id) => {
                let m = mrepo::get(&tx, id)
                    .await?
                    .filter(|m| m.org_id == o.id)
                    .ok_or(AppError::NotFound("member"))?;
                if m.stage != Stage::Applicant.as_str() || m.status != MemberStatus::Active.as_str()
                {
                    return Err(AppError::Conflict(FieldError::new(
                        "member_id",
                        "not_an_applicant",
                        "只能为在册的入党申请人启动发展流程",
                        "an admission starts for an active applicant (入党申请人)",
                    )));
                }
                m
            }
            Applicant::Person(p) => {
                let draft = MemberDraft {
                    name: p.name,
                    id_number: p.id_number,
                    ethnicity: p.ethnicity,
                    phone: p.phone,
                    education: p.education,
                    dues_category: p.dues_category,
                    stage: Stage::Applicant,
                    stage_dates: StageDates {
                        applied_on: Some(p.applied_on),
                        ..Default::default()
                    },
                    mobile: false,
                };
                // The §4 age rule first, so the message cites it.
                if let Ok(id) =
                    dangjian_domain::resident_id::ResidentId::parse(draft.id_number.trim())
                    && let Some(b) = rules::check_age(id.birth_date(), p.applied_on)
                {
                    return Err(finding_errors("form.", &[finding(b)]));
                }
                let v = validate_member(&draft, self.today())?;
                self.register_in(&tx, actor, &o, &v, "admission").await?
            }
        };
        if repo::open_instance(&tx, PROCESS_KEY, m.id).await?.is_some() {
            return Err(AppError::Conflict(FieldError::new(
                "member_id",
                "admission_open",
                "此人已有进行中的发展流程",
                "this person already has an admission in progress",
            )));
        }
        let applied_on = m.applied_on.ok_or_else(|| {
            AppError::field(
                "applied_on",
                "required",
                "缺少申请入党日期",
                "the application date is missing",
            )
        })?;
        let now = self.clock.now();
        let row = repo::insert_instance(
            &tx,
            crate::workflows::new_run(&def, m.id, o.id, actor.audit_id(), now),
        )
        .await?;
        let mut inst = Instance::new(&def);
        let mut form = serde_json::Map::new();
        form.insert("applied_on".into(), serde_json::json!(applied_on));
        let row = self
            .apply_action(
                &tx,
                actor,
                &def,
                &row,
                &mut inst,
                &m,
                &o,
                "application",
                StepInput {
                    form,
                    ..Default::default()
                },
            )
            .await?;
        let timers = repo::timers_of(&tx, &[row.id]).await?;
        let m = mrepo::get(&tx, m.id).await?.unwrap_or(m);
        tx.commit().await?;
        Ok(self.detail_of(actor, &def, &row, &inst, &m, &o, &timers))
    }

    /// Acts on step or side action `key` of admission `id`.
    pub async fn act_on_admission(
        &self,
        actor: &Actor,
        id: i64,
        key: &str,
        input: StepInput,
    ) -> Result<AdmissionDetail, AppError> {
        let (_, _, o) = self.visible_admission(actor, id).await?;
        if !actor.can_manage_members(&o.path) {
            return Err(refusal(actor, &o.path, "admission"));
        }
        let (_writer, tx) = self.begin_write().await?;
        // Read again inside the transaction: the state we act on is the
        // state we write after.
        let row = repo::get_instance(&tx, id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        // A run acts on the version it started on.
        let def = self
            .process_definition(&row.process_key, row.process_version)?
            .clone();
        let m = mrepo::get(&tx, row.member_id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        let mut inst = self.load_instance(&tx, &row).await?;
        // A required material with a scan on record counts as handed in.
        let mut input = input;
        if let Some(step) = def.step(key).filter(|s| !s.attachments.is_empty()) {
            let on_file = repo::attachment_kinds(&tx, row.id).await?;
            for k in &step.attachments {
                if on_file.contains(k) && !input.attachments.contains(k) {
                    input.attachments.push(k.clone());
                }
            }
        }
        let row = self
            .apply_action(&tx, actor, &def, &row, &mut inst, &m, &o, key, input)
            .await?;
        let timers = repo::timers_of(&tx, &[row.id]).await?;
        let m = mrepo::get(&tx, m.id).await?.unwrap_or(m);
        tx.commit().await?;
        Ok(self.detail_of(actor, &def, &row, &inst, &m, &o, &timers))
    }

    /// Ends an open admission (the applicant withdraws, or the branch stops
    /// it); the reason is kept in the history and its deadlines close.
    pub async fn cancel_admission(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<AdmissionDetail, AppError> {
        let (_, _, o) = self.visible_admission(actor, id).await?;
        let role = roles_over(actor, &o.path)
            .into_iter()
            .find(|r| BRANCH.contains(&r.as_str()));
        let Some(role) = role.filter(|_| actor.can_manage_members(&o.path)) else {
            return Err(refusal(actor, &o.path, "admission"));
        };
        if reason.trim().chars().count() < dangjian_workflow::engine::REASON_MIN_CHARS {
            return Err(AppError::field(
                "reason",
                "required",
                "请说明终止发展流程的理由",
                "give the reason for ending the admission",
            ));
        }
        let (_writer, tx) = self.begin_write().await?;
        let row = repo::get_instance(&tx, id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        let def = self
            .process_definition(&row.process_key, row.process_version)?
            .clone();
        let m = mrepo::get(&tx, row.member_id)
            .await?
            .ok_or(AppError::NotFound("admission"))?;
        let mut inst = self.load_instance(&tx, &row).await?;
        let entry = dangjian_workflow::cancel(
            &def,
            &mut inst,
            actor.audit_id(),
            &role,
            self.clock.now(),
            reason,
        )
        .map_err(|e| act_error(&def, e))?;
        let row = self.persist(&tx, &def, &row, &inst, &entry).await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "admission.cancel".into(),
                target_kind: "admission".into(),
                target_id: Some(row.id),
                org_id: Some(o.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({}),
            },
            self.clock.now(),
        )
        .await?;
        let timers = repo::timers_of(&tx, &[row.id]).await?;
        tx.commit().await?;
        Ok(self.detail_of(actor, &def, &row, &inst, &m, &o, &timers))
    }

    /// An admission with its timeline.
    pub async fn admission_detail(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<AdmissionDetail, AppError> {
        let (row, m, o) = self.visible_admission(actor, id).await?;
        // The run is read with the version it started on; an unknown
        // version is named (see `workflows`).
        let def = self
            .process_definition(&row.process_key, row.process_version)?
            .clone();
        let inst = self.load_instance(&self.db.conn, &row).await?;
        let timers = repo::timers_of(&self.db.conn, &[row.id]).await?;
        // Outside a write transaction: the audit chain is appended under
        // the writer lock.
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: "admission.read".into(),
            target_kind: "admission".into(),
            target_id: Some(row.id),
            org_id: Some(o.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({}),
        })
        .await?;
        Ok(self.detail_of(actor, &def, &row, &inst, &m, &o, &timers))
    }

    /// The admissions of a member (their own, or one the actor may see).
    pub async fn member_admissions(
        &self,
        actor: &Actor,
        member_id: i64,
    ) -> Result<Vec<AdmissionSummary>, AppError> {
        let m = mrepo::get(&self.db.conn, member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if actor.member_id != Some(m.id) && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        let def = definition();
        let rows = repo::instances_of_member(&self.db.conn, PROCESS_KEY, m.id).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let timers = repo::timers_of(&self.db.conn, &ids).await?;
        let mut out = Vec::new();
        for r in &rows {
            let io = if r.org_id == o.id {
                o.clone()
            } else {
                orepo::get(&self.db.conn, r.org_id)
                    .await?
                    .ok_or(AppError::NotFound("member"))?
            };
            let t: Vec<_> = timers
                .iter()
                .filter(|t| t.instance_id == r.id)
                .cloned()
                .collect();
            out.push(self.summary_of(&def, r, &m, &io, &t));
        }
        Ok(out)
    }

    /// The branch's applicant pipeline: open admissions, each with its next
    /// step and open deadlines, overdue first.
    pub async fn admission_pipeline(
        &self,
        actor: &Actor,
        org_code: &str,
    ) -> Result<Vec<AdmissionSummary>, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("organization"));
        }
        let def = definition();
        let rows =
            repo::instances_by_org(&self.db.conn, PROCESS_KEY, o.id, Status::Active.as_str())
                .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let timers = repo::timers_of(&self.db.conn, &ids).await?;
        let mut out = Vec::new();
        for r in &rows {
            let Some(m) = mrepo::get(&self.db.conn, r.member_id).await? else {
                continue;
            };
            let t: Vec<_> = timers
                .iter()
                .filter(|t| t.instance_id == r.id)
                .cloned()
                .collect();
            out.push(self.summary_of(&def, r, &m, &o, &t));
        }
        out.sort_by(|a, b| {
            b.worst()
                .cmp(&a.worst())
                .then(b.steps_done.cmp(&a.steps_done))
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// The sweep of admission deadlines: every deadline whose reminder day
    /// has come gets its state for `now` stored, and the member's
    /// `admission_deadline` warning follows. Returns how many changed.
    pub async fn sweep_admission_timers(&self, now: DateTime<Utc>) -> Result<u64, AppError> {
        let today = to_local(now).date_naive();
        let (_writer, tx) = self.begin_write().await?;
        let mut changed = 0;
        let mut instances: Vec<i64> = Vec::new();
        for t in repo::timers_reminding(&tx, PROCESS_KEY, today).await? {
            let spec = dangjian_workflow::TimerSpec {
                key: t.timer_key.clone(),
                settled_by: t.settled_by.clone(),
                due_on: t.due_on,
                remind_on: t.remind_on,
                rule: t.rule.clone(),
                label_zh: String::new(),
                label_en: String::new(),
            };
            let state = timer_state(&spec, today).as_str();
            if t.state != state {
                repo::set_timer_state(&tx, t.id, state, now).await?;
                changed += 1;
                instances.push(t.instance_id);
            }
        }
        instances.sort_unstable();
        instances.dedup();
        for id in instances {
            if let Some(row) = repo::get_instance(&tx, id).await? {
                let rows = repo::timers_of(&tx, &[id]).await?;
                self.reconcile_deadline_warnings(&tx, &row, &rows, today, now)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_has_the_25_steps_of_section_4_in_order() {
        let def = definition();
        assert!(def.check().is_empty(), "{:?}", def.check());
        assert_eq!(def.steps.len(), 25);
        for (i, s) in def.steps.iter().enumerate() {
            assert_eq!(s.number as usize, i + 1, "{}", s.key);
            let main = main_date_field(&s.fields).expect("every step has a date");
            assert_ne!(static_field(main), "date", "{main}");
        }
    }
}
