//! Instances and actions: the state machine of one run of a process.
//!
//! An action goes through two phases so the caller can load what its rules
//! need between them:
//! 1. [`prepare`] checks the action against the definition — the instance is
//!    open, the step is the next one (or the side action is open and under
//!    its limit, or the exit is one of the definition's), the actor holds a role allowed on it, the form has its
//!    fields with the right types, the attachments are there — and returns
//!    the typed form.
//! 2. [`act`] takes the caller's rule findings: any hard one blocks; a soft
//!    one passes only with an override carrying a reason, which is recorded
//!    with the entry. It appends the entry to the instance and returns it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::definition::{DateRef, FieldDef, FieldKind, ProcessDef};

/// Longest text a form field takes, in characters.
pub const TEXT_MAX_CHARS: usize = 2000;
/// Largest count a form field takes.
pub const COUNT_MAX: i64 = 1_000_000;
/// Shortest reason of an override, in characters.
pub const REASON_MIN_CHARS: usize = 2;

/// Whether a run is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Completed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Status::Active, Status::Completed, Status::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A typed form value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Count(i64),
    Ids(Vec<i64>),
    Date(NaiveDate),
    Text(String),
}

/// The typed fields of one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form(pub BTreeMap<String, Value>);

impl Form {
    pub fn date(&self, key: &str) -> Option<NaiveDate> {
        match self.0.get(key)? {
            Value::Date(d) => Some(*d),
            Value::Text(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
            _ => None,
        }
    }
    pub fn count(&self, key: &str) -> Option<i64> {
        match self.0.get(key)? {
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.0.get(key)? {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    pub fn ids(&self, key: &str) -> &[i64] {
        match self.0.get(key) {
            Some(Value::Ids(v)) => v,
            _ => &[],
        }
    }
}

/// Whether a finding blocks or may be overridden with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A fixed rule: the action cannot be taken (rigid control).
    Hard,
    /// A warning: the action may be taken with a recorded reason.
    Soft,
}

/// A rule's verdict on an action, or a problem with its form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable code (`age_under_18`, `required`, ...).
    pub code: String,
    /// The form field concerned.
    pub field: String,
    /// Where the rule is written (`DOMAIN.md §4 step 7`).
    pub rule: String,
    pub severity: Severity,
    pub message_zh: String,
    pub message_en: String,
}

impl Finding {
    fn form(field: &str, code: &str, zh: String, en: String) -> Self {
        Finding {
            code: code.into(),
            field: field.into(),
            rule: "form".into(),
            severity: Severity::Hard,
            message_zh: zh,
            message_en: en,
        }
    }
}

/// A soft finding overridden with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub code: String,
    pub reason: String,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Step,
    Side,
    Cancel,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Step => "step",
            EntryKind::Side => "side",
            EntryKind::Cancel => "cancel",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [EntryKind::Step, EntryKind::Side, EntryKind::Cancel]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One action taken, as kept in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the history, from 1.
    pub seq: u32,
    pub kind: EntryKind,
    /// Step, side action or exit key (`cancel` for a cancellation without
    /// an exit of the definition).
    pub key: String,
    pub actor_user_id: Option<i64>,
    /// The role the actor acted in.
    pub role: String,
    pub at: DateTime<Utc>,
    pub form: Form,
    pub attachments: Vec<String>,
    /// Soft findings that were overridden, with their reasons.
    pub warnings: Vec<Finding>,
    pub overrides: Vec<Override>,
}

/// The state of one run: its definition version and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub process_key: String,
    pub version: u32,
    pub status: Status,
    pub history: Vec<Entry>,
}

impl Instance {
    pub fn new(def: &ProcessDef) -> Self {
        Instance {
            process_key: def.key.clone(),
            version: def.version,
            status: Status::Active,
            history: Vec::new(),
        }
    }

    /// Number of steps done (they are done in order).
    pub fn steps_done(&self) -> usize {
        self.history
            .iter()
            .filter(|e| e.kind == EntryKind::Step)
            .count()
    }

    /// The step to act on next, `None` when all are done.
    pub fn next_step<'d>(&self, def: &'d ProcessDef) -> Option<&'d crate::StepDef> {
        def.steps.get(self.steps_done())
    }

    pub fn is_done(&self, def: &ProcessDef, step: &str) -> bool {
        def.step_index(step).is_some_and(|i| i < self.steps_done())
    }

    /// The latest entry of a step or side action.
    pub fn latest(&self, key: &str) -> Option<&Entry> {
        self.history
            .iter()
            .rev()
            .find(|e| e.key == key && e.kind != EntryKind::Cancel)
    }

    /// Every entry of a step or side action, oldest first.
    pub fn entries<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.history
            .iter()
            .filter(move |e| e.key == key && e.kind != EntryKind::Cancel)
    }

    /// The date a [`DateRef`] points to, if recorded.
    pub fn date(&self, r: &DateRef) -> Option<NaiveDate> {
        self.latest(&r.entry).and_then(|e| e.form.date(&r.field))
    }

    /// Appends an entry and moves the status: completed after the last step,
    /// cancelled after a cancellation.
    pub fn apply(&mut self, def: &ProcessDef, entry: Entry) {
        let kind = entry.kind;
        self.history.push(entry);
        match kind {
            EntryKind::Cancel => self.status = Status::Cancelled,
            EntryKind::Step if self.steps_done() >= def.steps.len() => {
                self.status = Status::Completed
            }
            _ => {}
        }
    }
}

/// An action requested by an actor.
#[derive(Debug, Clone)]
pub struct Action {
    /// Step, side action or exit key.
    pub key: String,
    /// Role codes the actor holds over the subject.
    pub roles: Vec<String>,
    pub actor_user_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub form: serde_json::Map<String, serde_json::Value>,
    pub attachments: Vec<String>,
    pub overrides: Vec<Override>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActError {
    #[error("the process is {0:?}, not active")]
    Closed(Status),
    #[error("instance of {found} v{found_version} does not belong to this definition")]
    WrongDefinition { found: String, found_version: u32 },
    #[error("no step, side action or exit {0:?}")]
    Unknown(String),
    #[error("step {got:?} is not the next step ({expected:?})")]
    OutOfOrder {
        expected: Option<String>,
        got: String,
    },
    #[error("side action {0:?} is not open at this point of the process")]
    SideClosed(String),
    #[error("side action {key:?} may be taken at most {max} time(s)")]
    SideLimit { key: String, max: u32 },
    #[error("none of the actor's roles may act on {key:?} (allowed: {allowed:?})")]
    RoleNotAllowed { key: String, allowed: Vec<String> },
    #[error("the form is not valid")]
    Form(Vec<Finding>),
    #[error("attachments missing: {0:?}")]
    MissingAttachments(Vec<String>),
    #[error("blocked by a fixed rule")]
    Blocked(Vec<Finding>),
    #[error("warnings need an override with a reason")]
    NeedsOverride(Vec<Finding>),
}

/// An action that passed the definition's checks.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub kind: EntryKind,
    pub key: String,
    /// The role of the actor that the step allows.
    pub role: String,
    pub form: Form,
}

fn parse_field(f: &FieldDef, v: Option<&serde_json::Value>) -> Result<Option<Value>, Box<Finding>> {
    let blank = match v {
        None | Some(serde_json::Value::Null) => true,
        Some(serde_json::Value::String(s)) => s.trim().is_empty(),
        Some(serde_json::Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if blank {
        return if f.required {
            Err(Box::new(Finding::form(
                &f.key,
                "required",
                format!("请填写“{}”", f.label_zh),
                format!("{} is required", f.label_en),
            )))
        } else {
            Ok(None)
        };
    }
    let bad = |what_zh: &str, what_en: &str| {
        Box::new(Finding::form(
            &f.key,
            "invalid_value",
            format!("“{}”应为{what_zh}", f.label_zh),
            format!("{} must be {what_en}", f.label_en),
        ))
    };
    let v = v.unwrap_or(&serde_json::Value::Null);
    match f.kind {
        FieldKind::Date => v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
            .map(|d| Some(Value::Date(d)))
            .ok_or_else(|| bad("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)")),
        FieldKind::Count => v
            .as_i64()
            .filter(|n| (0..=COUNT_MAX).contains(n))
            .map(|n| Some(Value::Count(n)))
            .ok_or_else(|| bad("不小于0的整数", "a whole number ≥ 0")),
        FieldKind::Text => v
            .as_str()
            .map(str::trim)
            .filter(|s| s.chars().count() <= TEXT_MAX_CHARS)
            .map(|s| Some(Value::Text(s.to_string())))
            .ok_or_else(|| bad("不超过2000字的文字", "text of at most 2000 characters")),
        FieldKind::Ids => {
            let ids: Option<Vec<i64>> = v
                .as_array()
                .map(|a| a.iter().map(|x| x.as_i64().filter(|n| *n > 0)).collect())
                .unwrap_or(None);
            ids.map(|v| Some(Value::Ids(v)))
                .ok_or_else(|| bad("编号列表", "a list of ids"))
        }
    }
}

/// Checks the fields of a form against their definitions; unknown fields
/// are refused so a typo never passes silently.
pub fn parse_form(
    fields: &[FieldDef],
    input: &serde_json::Map<String, serde_json::Value>,
) -> Result<Form, Vec<Finding>> {
    let mut form = Form::default();
    let mut problems = Vec::new();
    for k in input.keys() {
        if !fields.iter().any(|f| &f.key == k) {
            problems.push(Finding::form(
                k,
                "unknown_field",
                format!("此步骤没有字段“{k}”"),
                format!("this step has no field {k:?}"),
            ));
        }
    }
    for f in fields {
        match parse_field(f, input.get(&f.key)) {
            Ok(Some(v)) => {
                form.0.insert(f.key.clone(), v);
            }
            Ok(None) => {}
            Err(p) => problems.push(*p),
        }
    }
    if problems.is_empty() {
        Ok(form)
    } else {
        Err(problems)
    }
}

fn pick_role(roles: &[String], allowed: &[String], key: &str) -> Result<String, ActError> {
    allowed
        .iter()
        .find(|r| roles.contains(r))
        .cloned()
        .ok_or_else(|| ActError::RoleNotAllowed {
            key: key.into(),
            allowed: allowed.to_vec(),
        })
}

/// Phase 1: checks an action against the definition and the instance.
pub fn prepare(def: &ProcessDef, inst: &Instance, action: &Action) -> Result<Prepared, ActError> {
    if inst.process_key != def.key || inst.version != def.version {
        return Err(ActError::WrongDefinition {
            found: inst.process_key.clone(),
            found_version: inst.version,
        });
    }
    if inst.status != Status::Active {
        return Err(ActError::Closed(inst.status));
    }
    let (kind, role, fields, attachments) = if let Some(step) = def.step(&action.key) {
        let next = inst.next_step(def);
        if next.map(|s| s.key.as_str()) != Some(step.key.as_str()) {
            return Err(ActError::OutOfOrder {
                expected: next.map(|s| s.key.clone()),
                got: action.key.clone(),
            });
        }
        let role = pick_role(&action.roles, &step.roles, &step.key)?;
        (
            EntryKind::Step,
            role,
            &step.fields,
            step.attachments.as_slice(),
        )
    } else if let Some(side) = def.side_action(&action.key) {
        let done = inst.steps_done();
        let from = def.step_index(&side.open_from).unwrap_or(usize::MAX);
        let until = def.step_index(&side.open_until).unwrap_or(0);
        // Open once the process has reached `open_from` (it is the next
        // step or further) and until `open_until` is done.
        if done < from || done > until {
            return Err(ActError::SideClosed(side.key.clone()));
        }
        if let Some(max) = side.max_times
            && inst.entries(&side.key).count() >= max as usize
        {
            return Err(ActError::SideLimit {
                key: side.key.clone(),
                max,
            });
        }
        let role = pick_role(&action.roles, &side.roles, &side.key)?;
        (EntryKind::Side, role, &side.fields, &[][..])
    } else if let Some(exit) = def.exit(&action.key) {
        let role = pick_role(&action.roles, &exit.roles, &exit.key)?;
        (EntryKind::Cancel, role, &exit.fields, &[][..])
    } else {
        return Err(ActError::Unknown(action.key.clone()));
    };
    let form = parse_form(fields, &action.form).map_err(ActError::Form)?;
    let missing: Vec<String> = attachments
        .iter()
        .filter(|a| !action.attachments.contains(a))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(ActError::MissingAttachments(missing));
    }
    Ok(Prepared {
        kind,
        key: action.key.clone(),
        role,
        form,
    })
}

/// Phase 2: applies the caller's findings and, when nothing blocks, appends
/// the entry to the instance and returns it.
pub fn act(
    def: &ProcessDef,
    inst: &mut Instance,
    prepared: Prepared,
    action: &Action,
    findings: Vec<Finding>,
) -> Result<Entry, ActError> {
    let (hard, soft): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| f.severity == Severity::Hard);
    if !hard.is_empty() {
        return Err(ActError::Blocked(hard));
    }
    let reason_of = |code: &str| {
        action
            .overrides
            .iter()
            .find(|o| o.code == code && o.reason.trim().chars().count() >= REASON_MIN_CHARS)
    };
    let unanswered: Vec<Finding> = soft
        .iter()
        .filter(|f| reason_of(&f.code).is_none())
        .cloned()
        .collect();
    if !unanswered.is_empty() {
        return Err(ActError::NeedsOverride(unanswered));
    }
    let overrides = soft
        .iter()
        .filter_map(|f| reason_of(&f.code))
        .map(|o| Override {
            code: o.code.clone(),
            reason: o.reason.trim().to_string(),
        })
        .collect();
    let entry = Entry {
        seq: u32::try_from(inst.history.len() + 1).unwrap_or(u32::MAX),
        kind: prepared.kind,
        key: prepared.key,
        actor_user_id: action.actor_user_id,
        role: prepared.role,
        at: action.at,
        form: prepared.form,
        attachments: action.attachments.clone(),
        warnings: soft,
        overrides,
    };
    inst.apply(def, entry.clone());
    Ok(entry)
}

/// Cancels an open run (an applicant withdraws); the reason is kept.
pub fn cancel(
    def: &ProcessDef,
    inst: &mut Instance,
    actor_user_id: Option<i64>,
    role: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Entry, ActError> {
    if inst.status != Status::Active {
        return Err(ActError::Closed(inst.status));
    }
    let mut form = Form::default();
    form.0
        .insert("reason".into(), Value::Text(reason.trim().to_string()));
    let entry = Entry {
        seq: u32::try_from(inst.history.len() + 1).unwrap_or(u32::MAX),
        kind: EntryKind::Cancel,
        key: "cancel".into(),
        actor_user_id,
        role: role.into(),
        at,
        form,
        attachments: Vec::new(),
        warnings: Vec::new(),
        overrides: Vec::new(),
    };
    inst.apply(def, entry.clone());
    Ok(entry)
}
