//! Transfer of organizational relationship (组织关系转接, DOMAIN.md §12).
//!
//! Within one server: the sending branch's secretary (or committee staff
//! above it) issues an introduction letter with a number and a validity
//! (the `transfer_letter.validity_months` threshold, 3 months by default);
//! the receiving branch confirms arrival, which moves the member through
//! [`App::transfer_member_in`] — the row keeps its stage dates and archive
//! history, a `transferred` event and its ledger leaf record the move;
//! either side may cancel (or return) an open letter with a reason. An open
//! letter near or past its validity raises `transfer_letter_expired`
//! through the warning engine; confirmation or cancellation closes it.
//!
//! Between separately run servers: the letter is a C2SP signed note signed
//! with the sending server's log key; its text is a header line and one
//! line of JSON carrying the member's record (with its ledger `uid`) and
//! archive history. The receiver verifies the signature against a trusted
//! key (the `transfer_trusted_keys` setting or the logs it witnesses),
//! refuses a letter for another server or one already imported (the
//! letter number is unique per origin), imports the member with its
//! history and answers with a signed receipt; the sender marks the member
//! transferred out when it accepts that receipt.
//!
//! Each letter is a run of the `transfer` process on the workflow engine
//! ([`definition`]): step 1 `issue` (the sending branch, or the signature
//! of the issuing server for a letter imported from it), step 2 `confirm`
//! (the receiving branch, or the receiver's signed receipt), exits
//! `cancel` (sending branch) and `return` (receiving branch) each with a
//! required reason. Where a letter stands is its run's status; the run's
//! history is the letter's timeline. The validity is the run's deadline:
//! due on the last valid day, with a timer row the sweep reads 30 days
//! ahead (the widest blue window) to raise `transfer_letter_expired` at the
//! subtree's own threshold. An arrival after the validity is a soft
//! finding, `letter_expired`, that passes with a recorded reason.

use chrono::{DateTime, NaiveDate, Utc};
use dangjian_domain::FieldError;
use dangjian_domain::dues::DuesCategory;
use dangjian_domain::members::{
    Education, MemberDraft, MemberStatus, Stage, StageDates, validate_member,
};
use dangjian_domain::transfers::{self as rules, IssueFacts, LetterKind, LetterStatus};
use dangjian_domain::warnings::{Finding as WarningFinding, RuleId, SubjectKind};
use dangjian_ledger::{Note, Verifier};
use dangjian_store::entities::{
    member, member_event, org, transfer_letter as letter, workflow_instance,
};
use dangjian_store::repo::{
    audit, federation as frepo, identity as irepo, members as mrepo, orgs as orepo,
    transfers as repo, workflow as wrepo,
};
use dangjian_workflow::{
    ActError, Action, DateRef, DeadlineDef, Entry, EntryKind, ExitDef, FieldDef, FieldKind,
    Finding, Form, Instance, Override, Period, ProcessDef, Severity, Status, StepDef, Value,
};
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::members::{AAD_EVENT, AAD_ID, AAD_PHONE, check_member_org};
use crate::orgs::OrgView;
use crate::{Actor, App, AppError};

/// Associated data of the encrypted signed letter.
pub const AAD_DOCUMENT: &str = "transfer_letters.document";
/// First line of a signed letter's text.
pub const LETTER_HEADER: &str = "dangjian-transfer-letter/v1";
/// First line of a signed receipt's text.
pub const RECEIPT_HEADER: &str = "dangjian-transfer-receipt/v1";
/// Letters listed per branch and direction.
const LIST_LIMIT: u64 = 200;

/// Key of the transfer process.
pub const PROCESS_KEY: &str = "transfer";
/// Version of [`definition`]; bump with any change of its steps or rules.
pub const PROCESS_VERSION: u32 = 1;
/// Step roles of the sending branch's managers.
const SENDER: &[&str] = &["sender:secretary", "sender:committee_staff", "sender:admin"];
/// Step roles of the receiving branch's managers.
const RECEIVER: &[&str] = &[
    "receiver:secretary",
    "receiver:committee_staff",
    "receiver:admin",
];
/// The issue step of a letter imported from another server: its signature
/// stands for the sending branch.
pub const ROLE_SIGNED_LETTER: &str = "sender:signed_letter";
/// The confirmation of a letter to another server: the receiver's signed
/// receipt stands for the receiving branch.
pub const ROLE_SIGNED_RECEIPT: &str = "receiver:signed_receipt";
/// The role of history entries written from a letter recorded before
/// letters ran on the engine (migration M0012).
pub const ROLE_MIGRATED: &str = "migrated";
/// The soft finding of an arrival after the letter's validity.
pub const LETTER_EXPIRED: &str = "letter_expired";

fn field(key: &str, zh: &str, en: &str, kind: FieldKind, required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_zh: zh.into(),
        label_en: en.into(),
        kind,
        required,
    }
}

fn roles(list: &[&str], extra: &str) -> Vec<String> {
    list.iter()
        .copied()
        .chain(std::iter::once(extra))
        .map(String::from)
        .collect()
}

fn reason_field() -> Vec<FieldDef> {
    vec![field("reason", "原因", "Reason", FieldKind::Text, true)]
}

/// The transfer of DOMAIN.md §12 as a process: issue, then confirmation of
/// arrival; cancellation by the sender or return by the receiver, each
/// with a reason; the letter's validity as the deadline of the arrival.
/// Attachments: none — the signed letter of a transfer to another server
/// and its receipt are kept on the letter, and no scan of a paper letter
/// is collected.
pub fn definition() -> ProcessDef {
    ProcessDef {
        key: PROCESS_KEY.into(),
        version: PROCESS_VERSION,
        name_zh: "组织关系转接".into(),
        name_en: "Transfer of organizational relationship".into(),
        steps: vec![
            StepDef {
                key: "issue".into(),
                number: 1,
                label_zh: "开具组织关系介绍信".into(),
                label_en: "Introduction letter issued".into(),
                roles: roles(SENDER, ROLE_SIGNED_LETTER),
                fields: vec![
                    field("issued_on", "开具日期", "Issued on", FieldKind::Date, true),
                    field(
                        "valid_until",
                        "有效期至",
                        "Valid until",
                        FieldKind::Date,
                        true,
                    ),
                    field(
                        "to_org",
                        "接收支部代码",
                        "Receiving branch code",
                        FieldKind::Text,
                        true,
                    ),
                    field(
                        "to_origin",
                        "接收系统",
                        "Receiving server",
                        FieldKind::Text,
                        false,
                    ),
                ],
                attachments: Vec::new(),
            },
            StepDef {
                key: "confirm".into(),
                number: 2,
                label_zh: "接收支部确认报到".into(),
                label_en: "Arrival confirmed".into(),
                roles: roles(RECEIVER, ROLE_SIGNED_RECEIPT),
                fields: vec![field(
                    "arrived_on",
                    "报到日期",
                    "Arrived on",
                    FieldKind::Date,
                    true,
                )],
                attachments: Vec::new(),
            },
        ],
        side_actions: Vec::new(),
        deadlines: vec![DeadlineDef {
            key: "letter_valid".into(),
            settled_by: "confirm".into(),
            anchor: vec![DateRef {
                entry: "issue".into(),
                field: "valid_until".into(),
            }],
            period: Period::Days(0),
            // The widest blue window `transfer_letter.blue_days_before`
            // allows; the warning itself uses the subtree's threshold.
            remind_before_days: 30,
            extra_months: None,
            open_from: None,
            open_until: None,
            rule: "DOMAIN.md §12".into(),
            label_zh: "介绍信有效期内报到".into(),
            label_en: "Arrival within the letter's validity".into(),
        }],
        exits: vec![
            ExitDef {
                key: "cancel".into(),
                label_zh: "转出支部撤销".into(),
                label_en: "Cancelled by the sending branch".into(),
                roles: SENDER.iter().map(|r| r.to_string()).collect(),
                fields: reason_field(),
            },
            ExitDef {
                key: "return".into(),
                label_zh: "接收支部退回".into(),
                label_en: "Returned by the receiving branch".into(),
                roles: RECEIVER.iter().map(|r| r.to_string()).collect(),
                fields: reason_field(),
            },
        ],
    }
}

/// The step roles an actor holds on a letter: `sender:<role>` over the
/// sending branch, `receiver:<role>` over the receiving one.
fn party_roles(actor: &Actor, from: Option<&org::Model>, to: Option<&org::Model>) -> Vec<String> {
    let mut out = Vec::new();
    for (side, o) in [("sender", from), ("receiver", to)] {
        if let Some(o) = o {
            out.extend(
                crate::admissions::roles_over(actor, &o.path)
                    .into_iter()
                    .map(|r| format!("{side}:{r}")),
            );
        }
    }
    out
}

/// Where a letter stands, from its run.
fn status_of(run: &workflow_instance::Model) -> LetterStatus {
    match Status::parse(&run.status) {
        Some(Status::Active) => LetterStatus::Issued,
        Some(Status::Completed) => LetterStatus::Arrived,
        _ => LetterStatus::Cancelled,
    }
}

/// The soft finding of an arrival after the validity (DOMAIN.md §12: an
/// expired letter is a warning, so the arrival passes with a reason).
fn late_arrival(valid_until: NaiveDate, arrived_on: NaiveDate) -> Option<Finding> {
    (arrived_on > valid_until).then(|| Finding {
        code: LETTER_EXPIRED.into(),
        field: "arrived_on".into(),
        rule: "DOMAIN.md §12".into(),
        severity: Severity::Soft,
        message_zh: format!("介绍信有效期至{valid_until}，报到日期{arrived_on}已过有效期（DOMAIN.md §12）"),
        message_en: format!(
            "the letter was valid until {valid_until}; the arrival on {arrived_on} is after it (DOMAIN.md §12)"
        ),
    })
}

/// Why the engine refused an action on a letter.
fn act_error(e: ActError) -> AppError {
    match e {
        ActError::Closed(_) => letter_closed(),
        ActError::RoleNotAllowed { .. } => AppError::Forbidden,
        ActError::Form(f) | ActError::Blocked(f) => {
            AppError::Validation(dangjian_domain::ValidationErrors(
                f.iter()
                    .map(|x| {
                        FieldError::new(
                            x.field.clone(),
                            if x.code == "required" {
                                "required"
                            } else {
                                "invalid_value"
                            },
                            x.message_zh.clone(),
                            x.message_en.clone(),
                        )
                    })
                    .collect(),
            ))
        }
        ActError::NeedsOverride(f) => AppError::Validation(dangjian_domain::ValidationErrors(
            f.iter()
                .map(|x| {
                    FieldError::new(
                        "overrides",
                        if x.code == LETTER_EXPIRED {
                            LETTER_EXPIRED
                        } else {
                            "needs_override"
                        },
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
        other => AppError::Internal(other.to_string()),
    }
}

fn letter_closed() -> AppError {
    conflict(
        "letter",
        "letter_closed",
        "该介绍信已报到或已撤销",
        "this letter has already been confirmed or cancelled",
    )
}

/// One entry of a letter's timeline (DOMAIN.md §12).
#[derive(Debug, Clone, Serialize)]
pub struct LetterStep {
    pub seq: u32,
    pub kind: EntryKind,
    /// `issue`, `confirm`, `cancel` or `return`.
    pub action: String,
    pub label_zh: String,
    pub label_en: String,
    /// The user who recorded it (login), when one did.
    pub who: Option<String>,
    pub actor_user_id: Option<i64>,
    /// `sender:secretary`, `receiver:signed_receipt`, `migrated`, ...
    pub role: String,
    pub at: DateTime<Utc>,
    /// The day it records (issued on, arrived on).
    pub on: Option<NaiveDate>,
    /// The reason of a cancellation or return.
    pub reason: Option<String>,
    /// Warnings passed with a reason (an arrival after the validity).
    pub overrides: Vec<Override>,
}

/// A letter's run with its history.
struct Run {
    row: workflow_instance::Model,
    inst: Instance,
}

/// An organization named in a letter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrgRef {
    pub code: String,
    pub name: String,
}

/// The member's record a signed letter carries.
#[derive(Clone, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The pseudonymous id of the member in the archive ledgers.
    pub uid: uuid::Uuid,
    pub name: String,
    pub id_number: String,
    pub ethnicity: String,
    pub phone: Option<String>,
    pub education: Option<String>,
    pub dues_category: String,
    pub stage: String,
    pub stage_dates: StageDates,
    pub is_mobile: bool,
}

impl std::fmt::Debug for MemberRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberRecord")
            .field("uid", &self.uid)
            .field("name", &self.name)
            .field("id_number", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One archive event the letter carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryItem {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// The signed body of a letter to another server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LetterBody {
    pub number: String,
    /// The sending server's log origin; the signature's key name.
    pub origin: String,
    /// The receiving server's log origin.
    pub to_origin: String,
    pub from_org: OrgRef,
    pub to_org: OrgRef,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub member: MemberRecord,
    pub history: Vec<HistoryItem>,
}

/// The signed body of a receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptBody {
    pub number: String,
    /// The origin that issued the letter.
    pub letter_origin: String,
    /// The origin that received the member; the signature's key name.
    pub receiver_origin: String,
    pub to_org_code: String,
    pub arrived_on: NaiveDate,
}

/// A letter as shown to the branches.
#[derive(Debug, Clone, Serialize)]
pub struct LetterView {
    pub id: i64,
    pub number: String,
    /// The issuing server ("" for this one).
    pub origin: String,
    pub kind: LetterKind,
    pub status: LetterStatus,
    pub member_id: i64,
    pub member_name: String,
    pub member_stage: Stage,
    pub from_org_code: String,
    pub from_org_name: String,
    pub to_org_code: String,
    pub to_org_name: String,
    pub to_origin: Option<String>,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub arrived_on: Option<NaiveDate>,
    pub cancel_reason: Option<String>,
    /// Open and past its validity (DOMAIN.md §12).
    pub expired: bool,
    /// A signed letter can be downloaded (a transfer to another server).
    pub has_document: bool,
    /// The actor may confirm arrival (receiving side of a local letter).
    pub may_confirm: bool,
    /// The actor may cancel (sending side) or return (receiving side).
    pub may_cancel: bool,
    /// The process the letter runs on and the version it started with.
    pub process: String,
    pub process_version: u32,
    /// The letter's timeline, oldest first.
    pub history: Vec<LetterStep>,
}

/// A branch's letters, sent and received.
#[derive(Debug, Clone, Serialize)]
pub struct BranchLetters {
    pub org: OrgView,
    pub sent: Vec<LetterView>,
    pub received: Vec<LetterView>,
    /// The actor may issue letters for this branch's members.
    pub may_issue: bool,
    /// The validity in force for new letters, in months.
    pub validity_months: u32,
}

/// What the sending branch fills in.
#[derive(Debug, Clone, Default)]
pub struct IssueInput {
    pub member_id: i64,
    /// Code of the receiving branch (on this server, or on `to_origin`).
    pub to_org_code: String,
    /// The receiving server's log origin (`dangjian/<root code>`) when the
    /// branch is on another server.
    pub to_origin: Option<String>,
    /// Name of a branch on another server, as printed on the letter.
    pub to_org_name: Option<String>,
    /// Default: today.
    pub issued_on: Option<NaiveDate>,
    /// Default: the subtree's `transfer_letter.validity_months`.
    pub validity_months: Option<u32>,
}

/// What importing a signed letter produced.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub letter: LetterView,
    pub member_id: i64,
    /// The signed receipt to send back to the issuing server.
    pub receipt: String,
}

fn letter_field(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::field("letter", code, zh, en)
}

fn conflict(field: &str, code: &'static str, zh: &str, en: &str) -> AppError {
    AppError::Conflict(FieldError::new(field, code, zh, en))
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn is_unique_violation(e: &impl std::fmt::Display) -> bool {
    let s = e.to_string().to_lowercase();
    s.contains("unique") || s.contains("duplicate key")
}

/// The signed-note text of a body: a header line and one line of JSON.
fn note_text<T: Serialize>(header: &str, body: &T) -> Result<String, AppError> {
    let json = serde_json::to_string(body).map_err(internal)?;
    Ok(format!("{header}\n{json}\n"))
}

/// Parses a signed note with the given header: the note and its body.
fn parse_note<T: for<'de> Deserialize<'de>>(
    text: &str,
    header: &str,
) -> Result<(Note, T), AppError> {
    let bad = || {
        letter_field(
            "malformed",
            "不是有效的签名文书",
            format!("not a signed {header} document"),
        )
    };
    let text = text.replace("\r\n", "\n");
    let note = Note::parse(&text).map_err(|_| bad())?;
    let mut lines = note.text().lines();
    if lines.next() != Some(header) {
        return Err(bad());
    }
    let body: T = serde_json::from_str(lines.next().ok_or_else(bad)?).map_err(|_| bad())?;
    if lines.next().is_some() {
        return Err(bad());
    }
    Ok((note, body))
}

impl App {
    fn letter_view(
        &self,
        actor: &Actor,
        l: &letter::Model,
        from: Option<&org::Model>,
        to: Option<&org::Model>,
        run: Option<&Run>,
        names: &std::collections::HashMap<i64, String>,
    ) -> LetterView {
        let status = run
            .map(|r| status_of(&r.row))
            .unwrap_or(LetterStatus::Cancelled);
        let kind = LetterKind::parse(&l.kind).unwrap_or(LetterKind::Local);
        let open = status == LetterStatus::Issued;
        let manages = |o: Option<&org::Model>| o.is_some_and(|o| actor.can_manage_members(&o.path));
        let def = run.and_then(|r| {
            self.process_definition(&r.row.process_key, r.row.process_version)
                .ok()
        });
        let history = run
            .map(|r| {
                r.inst
                    .history
                    .iter()
                    .map(|e| step_of(def, e, names))
                    .collect()
            })
            .unwrap_or_default();
        LetterView {
            id: l.id,
            number: l.number.clone(),
            origin: l.origin.clone(),
            kind,
            status,
            member_id: l.member_id,
            member_name: l.member_name.clone(),
            member_stage: Stage::parse(&l.member_stage).unwrap_or(Stage::Full),
            from_org_code: l.from_org_code.clone(),
            from_org_name: l.from_org_name.clone(),
            to_org_code: l.to_org_code.clone(),
            to_org_name: l.to_org_name.clone(),
            to_origin: l.to_origin.clone(),
            issued_on: l.issued_on,
            valid_until: l.valid_until,
            arrived_on: l.arrived_on,
            cancel_reason: l.cancel_reason.clone(),
            expired: open && self.today() > l.valid_until,
            has_document: l.document_enc.is_some() && manages(from),
            may_confirm: open && kind == LetterKind::Local && manages(to),
            may_cancel: open && (manages(from) || (kind == LetterKind::Local && manages(to))),
            process: run
                .map(|r| r.row.process_key.clone())
                .unwrap_or_else(|| PROCESS_KEY.into()),
            process_version: run
                .and_then(|r| u32::try_from(r.row.process_version).ok())
                .unwrap_or(PROCESS_VERSION),
            history,
        }
    }

    /// The runs of some letters with their histories, and the logins of
    /// the users named in them.
    async fn runs_of<C: ConnectionTrait>(
        &self,
        c: &C,
        letters: &[&letter::Model],
    ) -> Result<
        (
            std::collections::HashMap<i64, Run>,
            std::collections::HashMap<i64, String>,
        ),
        AppError,
    > {
        let ids: Vec<i64> = letters.iter().filter_map(|l| l.instance_id).collect();
        let rows = wrepo::instances_by_ids(c, &ids).await?;
        let entries = wrepo::entries_of(c, &ids).await?;
        let mut runs = std::collections::HashMap::new();
        let mut users: Vec<i64> = Vec::new();
        for row in rows {
            let mine: Vec<_> = entries
                .iter()
                .filter(|e| e.instance_id == row.id)
                .cloned()
                .collect();
            let history = self.load_history(&mine)?;
            users.extend(history.iter().filter_map(|e| e.actor_user_id));
            let inst = Instance {
                process_key: row.process_key.clone(),
                version: u32::try_from(row.process_version).unwrap_or(0),
                status: Status::parse(&row.status).unwrap_or(Status::Cancelled),
                history,
            };
            runs.insert(row.id, Run { row, inst });
        }
        users.sort_unstable();
        users.dedup();
        let names = irepo::logins(c, &users).await?.into_iter().collect();
        Ok((runs, names))
    }

    /// Views of letters with their branches, their runs read in one go.
    async fn letter_views<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        items: &[(letter::Model, Option<org::Model>, Option<org::Model>)],
    ) -> Result<Vec<LetterView>, AppError> {
        let letters: Vec<&letter::Model> = items.iter().map(|(l, _, _)| l).collect();
        let (runs, names) = self.runs_of(c, &letters).await?;
        Ok(items
            .iter()
            .map(|(l, from, to)| {
                let run = l.instance_id.and_then(|i| runs.get(&i));
                self.letter_view(actor, l, from.as_ref(), to.as_ref(), run, &names)
            })
            .collect())
    }

    /// The view of one letter.
    async fn letter_view_of<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        l: letter::Model,
        from: Option<org::Model>,
        to: Option<org::Model>,
    ) -> Result<LetterView, AppError> {
        let mut v = self.letter_views(c, actor, &[(l, from, to)]).await?;
        v.pop()
            .ok_or_else(|| AppError::Internal("letter view".into()))
    }

    /// The open run of a letter, read in `c` (inside the transaction that
    /// acts on it): refused when the letter is closed.
    async fn open_run<C: ConnectionTrait>(
        &self,
        c: &C,
        l: &letter::Model,
    ) -> Result<(workflow_instance::Model, Instance, ProcessDef), AppError> {
        let row = match l.instance_id {
            Some(id) => wrepo::get_instance(c, id).await?,
            None => None,
        }
        .ok_or_else(|| AppError::Internal(format!("transfer letter {} has no run", l.id)))?;
        if row.status != Status::Active.as_str() {
            return Err(letter_closed());
        }
        let def = self
            .process_definition(&row.process_key, row.process_version)?
            .clone();
        let inst = self.load_instance(c, &row).await?;
        Ok((row, inst, def))
    }

    /// Runs one action of a letter's process through the engine and writes
    /// it. `findings` are the rules' verdicts (soft ones need an override).
    #[allow(clippy::too_many_arguments)]
    async fn act_on_letter<C: ConnectionTrait>(
        &self,
        c: &C,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        inst: &mut Instance,
        key: &str,
        roles: Vec<String>,
        actor_user_id: Option<i64>,
        form: serde_json::Value,
        overrides: Vec<Override>,
        findings: Vec<Finding>,
    ) -> Result<(workflow_instance::Model, Entry), AppError> {
        let action = Action {
            key: key.into(),
            roles,
            actor_user_id,
            at: self.clock.now(),
            form: form.as_object().cloned().unwrap_or_default(),
            attachments: Vec::new(),
            overrides,
        };
        let prepared = dangjian_workflow::prepare(def, inst, &action).map_err(act_error)?;
        let entry =
            dangjian_workflow::act(def, inst, prepared, &action, findings).map_err(act_error)?;
        let row = self.write_run(c, def, row, inst, &entry).await?;
        Ok((row, entry))
    }

    /// A new run of the transfer process for a member, refused when the
    /// member already has an open letter.
    async fn start_run<C: ConnectionTrait>(
        &self,
        c: &C,
        def: &ProcessDef,
        member_id: i64,
        org_id: i64,
        started_by: Option<i64>,
    ) -> Result<workflow_instance::Model, AppError> {
        if wrepo::open_instance(c, PROCESS_KEY, member_id)
            .await?
            .is_some()
        {
            return Err(letter_open());
        }
        let now = self.clock.now();
        wrepo::insert_instance(
            c,
            crate::workflows::new_run(def, member_id, org_id, started_by, now),
        )
        .await
        .map_err(|e| {
            // Two letters for one person at once: the open-run index.
            if is_unique_violation(&e) {
                letter_open()
            } else {
                e.into()
            }
        })
    }

    /// Writes the history of letter runs that migration M0012 created
    /// without one (it cannot encrypt): the issue, then the arrival or the
    /// cancellation, each with role `migrated`, from the letter's own
    /// columns. Returns how many runs it completed.
    pub(crate) async fn write_migrated_transfer_runs<C: ConnectionTrait>(
        &self,
        c: &C,
    ) -> Result<u64, AppError> {
        let rows = wrepo::instances_without_entries(c, PROCESS_KEY).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let letters = repo::by_instances(c, &ids).await?;
        let mut n = 0;
        for row in rows {
            let Some(l) = letters.iter().find(|l| l.instance_id == Some(row.id)) else {
                tracing::warn!(instance = row.id, "transfer run without a letter");
                continue;
            };
            let def = self
                .process_definition(&row.process_key, row.process_version)?
                .clone();
            let target = Status::parse(&row.status).unwrap_or(Status::Cancelled);
            let mut inst = Instance::new(&def);
            let mut form = Form::default();
            form.0.insert("issued_on".into(), Value::Date(l.issued_on));
            form.0
                .insert("valid_until".into(), Value::Date(l.valid_until));
            form.0
                .insert("to_org".into(), Value::Text(l.to_org_code.clone()));
            if let Some(o) = &l.to_origin {
                form.0.insert("to_origin".into(), Value::Text(o.clone()));
            }
            let mut entries = vec![(EntryKind::Step, "issue", l.issued_by, l.created_at, form)];
            match target {
                Status::Completed => {
                    let mut f = Form::default();
                    let on = l
                        .arrived_on
                        .unwrap_or_else(|| crate::clock::to_local(l.updated_at).date_naive());
                    f.0.insert("arrived_on".into(), Value::Date(on));
                    entries.push((EntryKind::Step, "confirm", l.closed_by, l.updated_at, f));
                }
                Status::Cancelled => {
                    // Before M0012 a cancellation and a return were one
                    // status; which side acted is not recorded on the row.
                    let mut f = Form::default();
                    if let Some(r) = &l.cancel_reason {
                        f.0.insert("reason".into(), Value::Text(r.clone()));
                    }
                    entries.push((EntryKind::Cancel, "cancel", l.closed_by, l.updated_at, f));
                }
                Status::Active => {}
            }
            let mut row = row;
            for (kind, key, by, at, form) in entries {
                let entry = Entry {
                    seq: u32::try_from(inst.history.len() + 1).unwrap_or(u32::MAX),
                    kind,
                    key: key.into(),
                    actor_user_id: by,
                    role: ROLE_MIGRATED.into(),
                    at,
                    form,
                    attachments: Vec::new(),
                    warnings: Vec::new(),
                    overrides: Vec::new(),
                };
                inst.apply(&def, entry.clone());
                row = self.write_run(c, &def, &row, &inst, &entry).await?;
            }
            if inst.status != target {
                return Err(AppError::Internal(format!(
                    "migrated transfer run {} ends {:?}, not {:?}",
                    row.id, inst.status, target
                )));
            }
            n += 1;
        }
        Ok(n)
    }

    async fn letter_orgs<C: ConnectionTrait>(
        &self,
        c: &C,
        l: &letter::Model,
    ) -> Result<(Option<org::Model>, Option<org::Model>), AppError> {
        let from = match l.from_org_id {
            Some(id) => orepo::get(c, id).await?,
            None => None,
        };
        let to = match l.to_org_id {
            Some(id) => orepo::get(c, id).await?,
            None => None,
        };
        Ok((from, to))
    }

    /// The letter with its branches, when the actor may see either side.
    async fn visible_letter<C: ConnectionTrait>(
        &self,
        c: &C,
        actor: &Actor,
        id: i64,
    ) -> Result<(letter::Model, Option<org::Model>, Option<org::Model>), AppError> {
        let l = repo::get(c, id)
            .await?
            .ok_or(AppError::NotFound("transfer letter"))?;
        let (from, to) = self.letter_orgs(c, &l).await?;
        let sees =
            |o: &Option<org::Model>| o.as_ref().is_some_and(|o| actor.can_list_members(&o.path));
        if sees(&from) || sees(&to) {
            Ok((l, from, to))
        } else {
            Err(AppError::NotFound("transfer letter"))
        }
    }

    /// The verifier keys of servers whose letters and receipts are trusted:
    /// the configured ones and the child logs this server witnesses.
    async fn transfer_verifiers(&self) -> Result<Vec<Verifier>, AppError> {
        let mut out = Vec::new();
        for k in &self.config.transfer_trusted_keys {
            match Verifier::from_vkey(k.trim()) {
                Ok(v) => out.push(v),
                Err(e) => tracing::warn!(error = %e, "transfer trusted key ignored"),
            }
        }
        for l in frepo::logs(&self.db.conn).await? {
            if let Ok(v) = Verifier::from_vkey(&l.vkey) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Checks that `note` is signed by a trusted key named `origin`.
    async fn verify_signed_by(&self, note: &Note, origin: &str) -> Result<(), AppError> {
        let trusted: Vec<Verifier> = self
            .transfer_verifiers()
            .await?
            .into_iter()
            .filter(|v| v.name() == origin)
            .collect();
        if trusted.is_empty() {
            return Err(letter_field(
                "untrusted_origin",
                format!("未配置“{origin}”的公钥，无法验证签名"),
                format!(
                    "no trusted key of {origin:?} is configured; the signature cannot be verified"
                ),
            ));
        }
        if trusted.iter().any(|v| note.verify(v).is_ok()) {
            Ok(())
        } else {
            Err(letter_field(
                "bad_signature",
                "签名验证失败：文书被改动或不是该系统签发",
                "the signature does not verify: the document was altered or not issued by that server",
            ))
        }
    }

    /// Raises, escalates or closes the letter's `transfer_letter_expired`
    /// warning (DOMAIN.md §12, §9), for the sending branch (the receiving
    /// one for a letter from another server).
    async fn reconcile_letter<C: ConnectionTrait>(
        &self,
        c: &C,
        l: &letter::Model,
        status: LetterStatus,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let Some(org_id) = l.from_org_id.or(l.to_org_id) else {
            return Ok(());
        };
        let Some(o) = orepo::get(c, org_id).await? else {
            return Ok(());
        };
        let t = self.rule_settings(c, &o).await?.thresholds.transfer_letter;
        let blue = u32::try_from(t.blue_days_before).unwrap_or(0);
        let findings: Vec<WarningFinding> = rules::letter_level(status, l.valid_until, blue, today)
            .map(|(level, due)| WarningFinding {
                rule: RuleId::TransferLetterExpired,
                level,
                subject: (SubjectKind::Letter, l.id),
                period_key: dangjian_domain::warnings::CURRENT.into(),
                detail_zh: format!(
                    "介绍信{}（{}，转往{}）有效期至{}，尚未报到（DOMAIN.md §12）",
                    l.number, l.member_name, l.to_org_name, l.valid_until
                ),
                detail_en: format!(
                    "Letter {} ({}, to {}) valid until {} and not confirmed (DOMAIN.md §12)",
                    l.number, l.member_name, l.to_org_name, l.valid_until
                ),
                due,
            })
            .into_iter()
            .collect();
        crate::warnings::reconcile_subjects(
            c,
            SubjectKind::Letter,
            &[l.id],
            &[RuleId::TransferLetterExpired],
            &findings,
            &move |_| Some(org_id),
            today,
            now,
        )
        .await?;
        Ok(())
    }

    /// The validity in force for letters of branch `o`, in months.
    async fn validity_months<C: ConnectionTrait>(
        &self,
        c: &C,
        o: &org::Model,
    ) -> Result<u32, AppError> {
        let t = self.rule_settings(c, o).await?.thresholds.transfer_letter;
        Ok(u32::try_from(t.validity_months).unwrap_or(3))
    }

    /// The letters of a branch, sent and received (DOMAIN.md §12).
    pub async fn branch_letters(
        &self,
        actor: &Actor,
        org_code: &str,
    ) -> Result<BranchLetters, AppError> {
        let o = self.visible_org(actor, org_code).await?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::Forbidden);
        }
        let c = &self.db.conn;
        let mut sent = Vec::new();
        for l in repo::sent_by(c, o.id, LIST_LIMIT).await? {
            let (_, to) = self.letter_orgs(c, &l).await?;
            sent.push((l, Some(o.clone()), to));
        }
        let mut received = Vec::new();
        for l in repo::received_by(c, o.id, LIST_LIMIT).await? {
            let (from, _) = self.letter_orgs(c, &l).await?;
            received.push((l, from, Some(o.clone())));
        }
        let sent = self.letter_views(c, actor, &sent).await?;
        let received = self.letter_views(c, actor, &received).await?;
        Ok(BranchLetters {
            may_issue: actor.can_manage_members(&o.path) && o.kind == "branch",
            validity_months: self.validity_months(c, &o).await?,
            org: OrgView::from_model(&o),
            sent,
            received,
        })
    }

    /// One letter, when the actor may see either branch.
    pub async fn letter_detail(&self, actor: &Actor, id: i64) -> Result<LetterView, AppError> {
        let (l, from, to) = self.visible_letter(&self.db.conn, actor, id).await?;
        self.letter_view_of(&self.db.conn, actor, l, from, to).await
    }

    /// Issues an introduction letter for a member of the actor's branch
    /// (DOMAIN.md §12). A letter to another server is signed now and kept
    /// encrypted until it is downloaded.
    pub async fn issue_letter(
        &self,
        actor: &Actor,
        input: IssueInput,
    ) -> Result<LetterView, AppError> {
        let m = mrepo::get(&self.db.conn, input.member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let from = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !actor.can_manage_members(&from.path) {
            return Err(if actor.can_list_members(&from.path) {
                AppError::Forbidden
            } else {
                AppError::NotFound("member")
            });
        }
        if m.status != MemberStatus::Active.as_str() {
            return Err(conflict(
                "member_id",
                "not_active",
                "此人不在册，不能开具介绍信",
                "this person is not an active member; no letter can be issued",
            ));
        }
        let stage = Stage::parse(&m.stage).ok_or_else(|| internal("unknown stage"))?;
        rules::check_transferable(stage)?;
        let to_origin = input
            .to_origin
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from);
        let own_origin = self.ledger_origin().await?;
        let to_origin = to_origin.filter(|o| *o != own_origin);
        let code = input.to_org_code.trim().to_string();
        if code.is_empty() || code.chars().count() > 32 {
            return Err(AppError::field(
                "to_org",
                "required",
                "请填写接收支部的组织代码",
                "give the code of the receiving branch",
            ));
        }
        let (to, to_name) = match &to_origin {
            None => {
                let to = orepo::by_code(&self.db.conn, &code)
                    .await?
                    .filter(|o| o.kind == "branch" && o.status == "active")
                    .ok_or_else(|| {
                        AppError::field(
                            "to_org",
                            "unknown_branch",
                            format!("本系统没有代码为“{code}”的党支部"),
                            format!("there is no active branch {code:?} on this server"),
                        )
                    })?;
                let name = to.name.clone();
                (Some(to), name)
            }
            Some(origin) => {
                if origin.chars().count() > 200 || !origin.starts_with("dangjian/") {
                    return Err(AppError::field(
                        "to_origin",
                        "invalid_origin",
                        "接收系统标识应为“dangjian/根组织代码”",
                        "the receiving server is named dangjian/<root organization code>",
                    ));
                }
                let name = input
                    .to_org_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&code)
                    .chars()
                    .take(200)
                    .collect();
                (None, name)
            }
        };
        let today = self.today();
        let issued_on = input.issued_on.unwrap_or(today);
        let months = match input.validity_months {
            Some(n) => n,
            None => self.validity_months(&self.db.conn, &from).await?,
        };
        rules::check_issue(&IssueFacts {
            from_org_id: from.id,
            to_org_id: to.as_ref().map(|t| t.id),
            issued_on,
            validity_months: months,
            today,
        })?;
        let valid_until = rules::valid_until(issued_on, months);
        let now = self.clock.now();
        let def = self.latest_definition(PROCESS_KEY)?.clone();
        let (_writer, tx) = self.begin_write().await?;
        let run = self
            .start_run(&tx, &def, m.id, from.id, actor.audit_id())
            .await?;
        let mut inst = Instance::new(&def);
        let (run, _) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                "issue",
                party_roles(actor, Some(&from), None),
                actor.audit_id(),
                serde_json::json!({
                    "issued_on": issued_on,
                    "valid_until": valid_until,
                    "to_org": code,
                    "to_origin": to_origin,
                }),
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let prefix = format!("{}-{}-", from.code, issued_on.format("%Y"));
        let seq = repo::count_numbered(&tx, &prefix).await? + 1;
        let number = format!("{prefix}{seq:04}");
        let kind = if to_origin.is_some() {
            LetterKind::Outgoing
        } else {
            LetterKind::Local
        };
        let document_enc = match &to_origin {
            Some(origin) => {
                let body = LetterBody {
                    number: number.clone(),
                    origin: own_origin.clone(),
                    to_origin: origin.clone(),
                    from_org: OrgRef {
                        code: from.code.clone(),
                        name: from.name.clone(),
                    },
                    to_org: OrgRef {
                        code: code.clone(),
                        name: to_name.clone(),
                    },
                    issued_on,
                    valid_until,
                    member: self.member_record(&m)?,
                    history: self.member_history(&tx, m.id).await?,
                };
                let mut note = Note::new(note_text(LETTER_HEADER, &body)?).map_err(internal)?;
                note.sign(&self.ledger_signer().await?).map_err(internal)?;
                Some(
                    self.keys
                        .encrypt(note.to_string().as_bytes(), AAD_DOCUMENT)?,
                )
            }
            None => None,
        };
        let row = repo::insert(
            &tx,
            letter::ActiveModel {
                origin: Set(String::new()),
                number: Set(number.clone()),
                kind: Set(kind.as_str().into()),
                member_id: Set(m.id),
                member_name: Set(m.name.clone()),
                member_stage: Set(m.stage.clone()),
                from_org_id: Set(Some(from.id)),
                from_org_code: Set(from.code.clone()),
                from_org_name: Set(from.name.clone()),
                to_org_id: Set(to.as_ref().map(|t| t.id)),
                to_org_code: Set(code.clone()),
                to_org_name: Set(to_name),
                to_origin: Set(to_origin.clone()),
                issued_on: Set(issued_on),
                valid_until: Set(valid_until),
                arrived_on: Set(None),
                cancel_reason: Set(None),
                issued_by: Set(actor.audit_id()),
                closed_by: Set(None),
                document_enc: Set(document_enc),
                receipt: Set(None),
                instance_id: Set(Some(run.id)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            // Two letters numbered at once in one branch: the later one
            // trips the number index (one open letter per member is the
            // run's index, checked when the run started).
            if is_unique_violation(&e) {
                conflict(
                    "letter",
                    "concurrent_issue",
                    "另一封介绍信刚刚开具，请重试",
                    "another letter was just issued; try again",
                )
            } else {
                e.into()
            }
        })?;
        self.reconcile_letter(&tx, &row, status_of(&run), today, now)
            .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "transfer.issue".into(),
                target_kind: "transfer_letter".into(),
                target_id: Some(row.id),
                org_id: Some(from.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"number": number, "member": m.id, "to_org": code, "to_origin": to_origin}),
            },
            now,
        )
        .await?;
        let view = self.letter_view_of(&tx, actor, row, Some(from), to).await?;
        tx.commit().await?;
        Ok(view)
    }

    fn member_record(&self, m: &member::Model) -> Result<MemberRecord, AppError> {
        Ok(MemberRecord {
            uid: m.uid,
            name: m.name.clone(),
            id_number: self.keys.decrypt_str(&m.id_enc, AAD_ID)?,
            ethnicity: m.ethnicity.clone(),
            phone: match &m.phone_enc {
                Some(p) => Some(self.keys.decrypt_str(p, AAD_PHONE)?),
                None => None,
            },
            education: m.education.clone(),
            dues_category: m.dues_category.clone(),
            stage: m.stage.clone(),
            stage_dates: StageDates {
                applied_on: m.applied_on,
                activist_on: m.activist_on,
                development_target_on: m.development_target_on,
                probationary_on: m.probationary_on,
                full_on: m.full_on,
            },
            is_mobile: m.is_mobile,
        })
    }

    async fn member_history<C: ConnectionTrait>(
        &self,
        c: &C,
        member_id: i64,
    ) -> Result<Vec<HistoryItem>, AppError> {
        let mut out = Vec::new();
        for e in mrepo::events(c, member_id).await? {
            let detail = self.keys.decrypt_str(&e.detail_enc, AAD_EVENT)?;
            out.push(HistoryItem {
                at: e.at,
                kind: e.kind,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    /// The receiving branch confirms the member's arrival (DOMAIN.md §12):
    /// the member moves with their stage dates and history; the letter's
    /// run completes and its warning closes. An arrival after the validity
    /// needs an override of `letter_expired` with a reason.
    pub async fn confirm_arrival(
        &self,
        actor: &Actor,
        id: i64,
        arrived_on: Option<NaiveDate>,
        overrides: Vec<Override>,
    ) -> Result<LetterView, AppError> {
        let (l, from, to) = self.visible_letter(&self.db.conn, actor, id).await?;
        let Some(to) = to.filter(|_| l.kind == LetterKind::Local.as_str()) else {
            return Err(conflict(
                "letter",
                "not_local",
                "转往其他系统的介绍信由对方系统导入并回执确认",
                "a letter to another server is confirmed by the receiver's signed receipt",
            ));
        };
        if !actor.can_manage_members(&to.path) {
            return Err(AppError::Forbidden);
        }
        check_member_org(&to)?;
        let today = self.today();
        let arrived_on = arrived_on.unwrap_or(today);
        rules::check_arrival(l.issued_on, arrived_on, today)?;
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        // Re-read inside the transaction: a concurrent confirmation or
        // cancellation wins once.
        let l = repo::get(&tx, l.id)
            .await?
            .ok_or(AppError::NotFound("transfer letter"))?;
        let (run, mut inst, def) = self.open_run(&tx, &l).await?;
        let (run, entry) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                "confirm",
                party_roles(actor, from.as_ref(), Some(&to)),
                actor.audit_id(),
                serde_json::json!({ "arrived_on": arrived_on }),
                overrides,
                late_arrival(l.valid_until, arrived_on)
                    .into_iter()
                    .collect(),
            )
            .await?;
        let m = mrepo::get(&tx, l.member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        // After the run completed: the member's open runs that move with
        // them to the receiving branch no longer include this letter's.
        self.transfer_member_in(
            &tx,
            actor,
            &m,
            &to,
            serde_json::json!({
                "letter": l.number,
                "from_org": l.from_org_code,
                "to_org": to.code,
                "arrived_on": arrived_on,
            }),
        )
        .await?;
        let mut am: letter::ActiveModel = l.into();
        am.arrived_on = Set(Some(arrived_on));
        am.closed_by = Set(actor.audit_id());
        am.updated_at = Set(now);
        let row = repo::update(&tx, am).await?;
        self.reconcile_letter(&tx, &row, status_of(&run), today, now)
            .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "transfer.confirm".into(),
                target_kind: "transfer_letter".into(),
                target_id: Some(row.id),
                org_id: Some(to.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({
                    "number": row.number,
                    "arrived_on": arrived_on,
                    "overrides": entry.overrides.iter().map(|o| &o.code).collect::<Vec<_>>(),
                }),
            },
            now,
        )
        .await?;
        let view = self.letter_view_of(&tx, actor, row, from, Some(to)).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Cancels an open letter (the sending branch, exit `cancel`) or
    /// returns it (the receiving branch of a local letter, exit `return`),
    /// with a reason.
    pub async fn cancel_letter(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<LetterView, AppError> {
        let (l, from, to) = self.visible_letter(&self.db.conn, actor, id).await?;
        let manages = |o: &Option<org::Model>| {
            o.as_ref()
                .is_some_and(|o| actor.can_manage_members(&o.path))
        };
        let receiving = l.kind == LetterKind::Local.as_str() && manages(&to);
        if !manages(&from) && !receiving {
            return Err(AppError::Forbidden);
        }
        let reason = rules::check_reason(reason)?;
        let (exit, roles) = if manages(&from) {
            ("cancel", party_roles(actor, from.as_ref(), None))
        } else {
            ("return", party_roles(actor, None, to.as_ref()))
        };
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let l = repo::get(&tx, l.id)
            .await?
            .ok_or(AppError::NotFound("transfer letter"))?;
        let (run, mut inst, def) = self.open_run(&tx, &l).await?;
        let (run, _) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                exit,
                roles,
                actor.audit_id(),
                serde_json::json!({ "reason": reason }),
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let mut am: letter::ActiveModel = l.into();
        am.cancel_reason = Set(Some(reason.clone()));
        am.closed_by = Set(actor.audit_id());
        am.updated_at = Set(now);
        let row = repo::update(&tx, am).await?;
        self.reconcile_letter(&tx, &row, status_of(&run), self.today(), now)
            .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "transfer.cancel".into(),
                target_kind: "transfer_letter".into(),
                target_id: Some(row.id),
                org_id: row.from_org_id.or(row.to_org_id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"number": row.number, "reason": reason, "by": if exit == "cancel" { "sender" } else { "receiver" }}),
            },
            now,
        )
        .await?;
        let view = self.letter_view_of(&tx, actor, row, from, to).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The signed letter of a transfer to another server, for the sending
    /// branch to hand over. It carries the member's ID number: the read is
    /// audited.
    pub async fn export_letter(&self, actor: &Actor, id: i64) -> Result<String, AppError> {
        let (l, from, _) = self.visible_letter(&self.db.conn, actor, id).await?;
        let Some(from) = from.filter(|o| actor.can_manage_members(&o.path)) else {
            return Err(AppError::Forbidden);
        };
        let Some(doc) = &l.document_enc else {
            return Err(AppError::NotFound("signed letter"));
        };
        let text = self.keys.decrypt_str(doc, AAD_DOCUMENT)?;
        self.record_audit(audit::Entry {
            user_id: actor.audit_id(),
            action: "transfer.export".into(),
            target_kind: "transfer_letter".into(),
            target_id: Some(l.id),
            org_id: Some(from.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({"number": l.number, "fields": ["id_number", "phone", "archive"]}),
        })
        .await?;
        Ok(text)
    }

    /// Imports a signed letter from another server (DOMAIN.md §12): checks
    /// the signature against a trusted key, the addressee, and that the
    /// letter was not imported before; registers the member in the named
    /// branch with their stage dates, ledger uid and archive history; and
    /// answers with a signed receipt.
    pub async fn import_letter(
        &self,
        actor: &Actor,
        text: &str,
    ) -> Result<ImportOutcome, AppError> {
        may_receive(actor)?;
        let (note, body): (Note, LetterBody) = parse_note(text, LETTER_HEADER)?;
        self.verify_signed_by(&note, &body.origin).await?;
        let own = self.ledger_origin().await?;
        if body.to_origin != own {
            return Err(letter_field(
                "wrong_server",
                format!("该介绍信开往“{}”，不是本系统", body.to_origin),
                format!(
                    "this letter is addressed to {:?}, not to this server",
                    body.to_origin
                ),
            ));
        }
        let to = self.visible_org(actor, &body.to_org.code).await?;
        if !actor.can_manage_members(&to.path) {
            return Err(AppError::Forbidden);
        }
        check_member_org(&to)?;
        if repo::by_number(&self.db.conn, &body.origin, &body.number)
            .await?
            .is_some()
        {
            return Err(replayed());
        }
        let r = &body.member;
        let draft = MemberDraft {
            name: r.name.clone(),
            id_number: r.id_number.clone(),
            ethnicity: r.ethnicity.clone(),
            phone: r.phone.clone(),
            education: r.education.as_deref().and_then(Education::parse),
            dues_category: DuesCategory::parse(&r.dues_category).unwrap_or(DuesCategory::Employed),
            stage: Stage::parse(&r.stage).ok_or_else(|| {
                letter_field(
                    "malformed",
                    "介绍信中的党员阶段无效",
                    "the letter's stage is not valid",
                )
            })?,
            stage_dates: r.stage_dates,
            mobile: r.is_mobile,
        };
        let v = validate_member(&draft, self.today())?;
        rules::check_transferable(v.stage)?;
        let today = self.today();
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        if let Some(existing) = self.active_registration(&tx, &v.id).await? {
            return Err(crate::members::duplicate_conflict(actor, Some(&existing)));
        }
        let mut row = crate::members::build_row(self, &v, to.id, now)?;
        row.uid = Set(r.uid);
        let m = mrepo::insert(&tx, row).await.map_err(|e| {
            if is_unique_violation(&e) {
                conflict(
                    "letter",
                    "member_exists",
                    "此人的档案已在本系统中（同一档案标识），未重复导入",
                    "this person's record is already on this server (same archive id); nothing was imported",
                )
            } else {
                e.into()
            }
        })?;
        let provenance = serde_json::json!({"origin": body.origin, "letter": body.number});
        let mut events = Vec::with_capacity(body.history.len() + 1);
        for h in &body.history {
            let detail = serde_json::json!({"carried": h.detail, "imported_from": provenance});
            events.push(self.event_row(&m, &to, h.at, &h.kind, actor, &detail)?);
        }
        events.push(self.event_row(
            &m,
            &to,
            now,
            "transferred_in",
            actor,
            &serde_json::json!({
                "letter": body.number,
                "origin": body.origin,
                "from_org": body.from_org,
                "to_org": to.code,
                "arrived_on": today,
            }),
        )?);
        let mut written: Vec<member_event::Model> = Vec::with_capacity(events.len());
        for e in events {
            written.push(mrepo::add_event(&tx, e).await?);
        }
        let mut appender = self.ledger_appender(&tx).await?;
        appender.append_events(self, &tx, written).await?;
        self.rules_after_member_write(&tx, &to, &[crate::warnings::member_facts_of(&m)])
            .await?;
        let receipt_body = ReceiptBody {
            number: body.number.clone(),
            letter_origin: body.origin.clone(),
            receiver_origin: own,
            to_org_code: to.code.clone(),
            arrived_on: today,
        };
        let mut receipt = Note::new(note_text(RECEIPT_HEADER, &receipt_body)?).map_err(internal)?;
        receipt
            .sign(&self.ledger_signer().await?)
            .map_err(internal)?;
        let receipt = receipt.to_string();
        // The letter's run here: issued by the other server's signature,
        // confirmed by this branch at import.
        let def = self.latest_definition(PROCESS_KEY)?.clone();
        let run = self
            .start_run(&tx, &def, m.id, to.id, actor.audit_id())
            .await?;
        let mut inst = Instance::new(&def);
        let (run, _) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                "issue",
                vec![ROLE_SIGNED_LETTER.into()],
                None,
                serde_json::json!({
                    "issued_on": body.issued_on,
                    "valid_until": body.valid_until,
                    "to_org": to.code,
                }),
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let (_, _) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                "confirm",
                party_roles(actor, None, Some(&to)),
                actor.audit_id(),
                serde_json::json!({ "arrived_on": today }),
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let l = repo::insert(
            &tx,
            letter::ActiveModel {
                origin: Set(body.origin.chars().take(200).collect()),
                number: Set(body.number.chars().take(64).collect()),
                kind: Set(LetterKind::Incoming.as_str().into()),
                member_id: Set(m.id),
                member_name: Set(m.name.clone()),
                member_stage: Set(m.stage.clone()),
                from_org_id: Set(None),
                from_org_code: Set(body.from_org.code.chars().take(32).collect()),
                from_org_name: Set(body.from_org.name.chars().take(200).collect()),
                to_org_id: Set(Some(to.id)),
                to_org_code: Set(to.code.clone()),
                to_org_name: Set(to.name.clone()),
                to_origin: Set(None),
                issued_on: Set(body.issued_on),
                valid_until: Set(body.valid_until),
                arrived_on: Set(Some(today)),
                cancel_reason: Set(None),
                issued_by: Set(None),
                closed_by: Set(actor.audit_id()),
                document_enc: Set(None),
                receipt: Set(Some(receipt.clone())),
                instance_id: Set(Some(run.id)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                replayed()
            } else {
                e.into()
            }
        })?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "transfer.import".into(),
                target_kind: "transfer_letter".into(),
                target_id: Some(l.id),
                org_id: Some(to.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"number": l.number, "origin": l.origin, "member": m.id, "events": body.history.len()}),
            },
            now,
        )
        .await?;
        let letter = self.letter_view_of(&tx, actor, l, None, Some(to)).await?;
        tx.commit().await?;
        Ok(ImportOutcome {
            letter,
            member_id: m.id,
            receipt,
        })
    }

    fn event_row(
        &self,
        m: &member::Model,
        to: &org::Model,
        at: DateTime<Utc>,
        kind: &str,
        actor: &Actor,
        detail: &serde_json::Value,
    ) -> Result<member_event::ActiveModel, AppError> {
        let kind: String = kind
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(48)
            .collect();
        Ok(member_event::ActiveModel {
            member_id: Set(m.id),
            org_id: Set(to.id),
            at: Set(at),
            kind: Set(if kind.is_empty() {
                "event".into()
            } else {
                kind
            }),
            actor_user_id: Set(actor.audit_id()),
            detail_enc: Set(self
                .keys
                .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
            ..Default::default()
        })
    }

    /// Accepts the receiver's signed receipt of a letter to another server:
    /// the member is marked transferred out and the letter arrived.
    pub async fn accept_receipt(&self, actor: &Actor, text: &str) -> Result<LetterView, AppError> {
        may_receive(actor)?;
        let (note, body): (Note, ReceiptBody) = parse_note(text, RECEIPT_HEADER)?;
        let own = self.ledger_origin().await?;
        let l = repo::by_number(&self.db.conn, "", &body.number)
            .await?
            .filter(|l| l.kind == LetterKind::Outgoing.as_str() && body.letter_origin == own)
            .ok_or(AppError::NotFound("transfer letter"))?;
        let (l, from, _) = self.visible_letter(&self.db.conn, actor, l.id).await?;
        let Some(from) = from.filter(|o| actor.can_manage_members(&o.path)) else {
            return Err(AppError::Forbidden);
        };
        if l.to_origin.as_deref() != Some(body.receiver_origin.as_str()) {
            return Err(letter_field(
                "wrong_receiver",
                "回执不是由介绍信的接收系统签发",
                "the receipt is not from the server the letter was addressed to",
            ));
        }
        self.verify_signed_by(&note, &body.receiver_origin).await?;
        let today = self.today();
        let now = self.clock.now();
        let (_writer, tx) = self.begin_write().await?;
        let l = repo::get(&tx, l.id)
            .await?
            .ok_or(AppError::NotFound("transfer letter"))?;
        let (run, mut inst, def) = self.open_run(&tx, &l).await?;
        // The receiver's signed receipt confirms the arrival; the actor
        // records it. A late arrival was the receiver's to judge.
        let (run, _) = self
            .act_on_letter(
                &tx,
                &def,
                &run,
                &mut inst,
                "confirm",
                vec![ROLE_SIGNED_RECEIPT.into()],
                actor.audit_id(),
                serde_json::json!({ "arrived_on": body.arrived_on }),
                Vec::new(),
                Vec::new(),
            )
            .await?;
        let m = mrepo::get(&tx, l.member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        self.transfer_member_out(
            &tx,
            actor,
            &m,
            serde_json::json!({
                "letter": l.number,
                "to_origin": body.receiver_origin,
                "to_org": body.to_org_code,
                "arrived_on": body.arrived_on,
            }),
        )
        .await?;
        let mut am: letter::ActiveModel = l.into();
        am.arrived_on = Set(Some(body.arrived_on));
        am.closed_by = Set(actor.audit_id());
        am.receipt = Set(Some(text.replace("\r\n", "\n")));
        am.updated_at = Set(now);
        let row = repo::update(&tx, am).await?;
        self.reconcile_letter(&tx, &row, status_of(&run), today, now)
            .await?;
        audit::append(
            &tx,
            audit::Entry {
                user_id: actor.audit_id(),
                action: "transfer.receipt".into(),
                target_kind: "transfer_letter".into(),
                target_id: Some(row.id),
                org_id: Some(from.id),
                remote_addr: actor.remote_addr.clone(),
                detail: serde_json::json!({"number": row.number, "receiver": body.receiver_origin}),
            },
            now,
        )
        .await?;
        let view = self
            .letter_view_of(&tx, actor, row, Some(from), None)
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The letters of a member (a member sees their own).
    pub async fn member_letters(
        &self,
        actor: &Actor,
        member_id: i64,
    ) -> Result<Vec<LetterView>, AppError> {
        let m = mrepo::get(&self.db.conn, member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if actor.member_id != Some(m.id) && !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        let mut items = Vec::new();
        for l in repo::of_member(&self.db.conn, m.id).await? {
            let (from, to) = self.letter_orgs(&self.db.conn, &l).await?;
            items.push((l, from, to));
        }
        self.letter_views(&self.db.conn, actor, &items).await
    }

    /// The sweep of open letters (DOMAIN.md §12, §9): the deadline rows of
    /// transfer runs whose reminder day has come (30 days before the last
    /// valid day) get their state for `now`, and each such letter gets its
    /// `transfer_letter_expired` warning raised or escalated at its
    /// subtree's threshold. The rows are in the database, so a restart
    /// loses nothing. Returns how many letters it examined.
    pub async fn sweep_transfer_letters(&self, now: DateTime<Utc>) -> Result<u64, AppError> {
        let today = crate::clock::to_local(now).date_naive();
        let (_writer, tx) = self.begin_write().await?;
        let timers = wrepo::timers_reminding(&tx, PROCESS_KEY, today).await?;
        for t in &timers {
            let spec = dangjian_workflow::TimerSpec {
                key: t.timer_key.clone(),
                settled_by: t.settled_by.clone(),
                due_on: t.due_on,
                remind_on: t.remind_on,
                rule: t.rule.clone(),
                label_zh: String::new(),
                label_en: String::new(),
            };
            let state = dangjian_workflow::timer_state(&spec, today).as_str();
            if t.state != state {
                wrepo::set_timer_state(&tx, t.id, state, now).await?;
            }
        }
        let mut ids: Vec<i64> = timers.iter().map(|t| t.instance_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let runs = wrepo::instances_by_ids(&tx, &ids).await?;
        let letters = repo::by_instances(&tx, &ids).await?;
        for l in &letters {
            let Some(run) = runs.iter().find(|r| Some(r.id) == l.instance_id) else {
                continue;
            };
            self.reconcile_letter(&tx, l, status_of(run), today, now)
                .await?;
        }
        tx.commit().await?;
        Ok(letters.len() as u64)
    }
}

/// Only those who manage members somewhere handle signed letters and
/// receipts; the branch they name is checked once the document is read.
fn may_receive(actor: &Actor) -> Result<(), AppError> {
    use dangjian_domain::identity::Role;
    if actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Secretary | Role::CommitteeStaff | Role::Admin))
    {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn replayed() -> AppError {
    conflict(
        "letter",
        "letter_replayed",
        "该介绍信已导入过，不能重复导入",
        "this letter has already been imported; nothing was imported again",
    )
}

fn letter_open() -> AppError {
    conflict(
        "member_id",
        "letter_open",
        "此人已有未报到的介绍信，请先撤销或等待报到",
        "this person already has an open letter; cancel it or wait for the arrival",
    )
}

/// A history entry as a timeline step, labelled from the definition.
fn step_of(
    def: Option<&ProcessDef>,
    e: &Entry,
    names: &std::collections::HashMap<i64, String>,
) -> LetterStep {
    let (zh, en) = def
        .and_then(|d| match e.kind {
            EntryKind::Step => d
                .step(&e.key)
                .map(|s| (s.label_zh.clone(), s.label_en.clone())),
            EntryKind::Cancel => d
                .exit(&e.key)
                .map(|x| (x.label_zh.clone(), x.label_en.clone())),
            EntryKind::Side => d
                .side_action(&e.key)
                .map(|x| (x.label_zh.clone(), x.label_en.clone())),
        })
        .unwrap_or_else(|| (e.key.clone(), e.key.clone()));
    LetterStep {
        seq: e.seq,
        kind: e.kind,
        action: e.key.clone(),
        label_zh: zh,
        label_en: en,
        who: e.actor_user_id.and_then(|u| names.get(&u).cloned()),
        actor_user_id: e.actor_user_id,
        role: e.role.clone(),
        at: e.at,
        on: e
            .form
            .date("arrived_on")
            .or_else(|| e.form.date("issued_on")),
        reason: e.form.text("reason").map(String::from),
        overrides: e.overrides.clone(),
    }
}
