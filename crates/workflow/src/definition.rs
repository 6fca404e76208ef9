//! Process definitions as data: steps in a fixed order, side actions,
//! fields, attachments and deadlines. A definition is identified by its key
//! and version; an instance stays on the version it started with, so a
//! changed definition never rewrites a run in progress.

use serde::{Deserialize, Serialize};

/// A versioned process: its steps run in order, each once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDef {
    /// Stable key (`admission`).
    pub key: String,
    /// Version of the definition; bump on any change of steps or rules.
    pub version: u32,
    pub name_zh: String,
    pub name_en: String,
    pub steps: Vec<StepDef>,
    /// Actions that may be taken while the process is in a range of steps,
    /// possibly more than once, without advancing it.
    #[serde(default)]
    pub side_actions: Vec<SideActionDef>,
    #[serde(default)]
    pub deadlines: Vec<DeadlineDef>,
    /// Ways out of an open run before its last step (a letter cancelled by
    /// its sender, returned by its receiver), each with the roles that may
    /// take it and its form (a reason). Not serialized when empty, so a
    /// definition without exits keeps the data (and digest) it had before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exits: Vec<ExitDef>,
}

/// A way to end an open run early: an entry of kind `cancel` with its own
/// key, roles and form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitDef {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub roles: Vec<String>,
    pub fields: Vec<FieldDef>,
}

/// One step of a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDef {
    pub key: String,
    /// Number of the step in its regulation (1-based, as printed).
    pub number: u32,
    pub label_zh: String,
    pub label_en: String,
    /// Role codes allowed to act on this step.
    pub roles: Vec<String>,
    pub fields: Vec<FieldDef>,
    /// Kinds of attachment that must accompany the step.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// An action allowed while the process is at a step in
/// `[open_from, open_until)`, at most `max_times` times when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideActionDef {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub roles: Vec<String>,
    pub fields: Vec<FieldDef>,
    /// First step (by key) at which the action is open: the process must
    /// have reached it (it may be the current step).
    pub open_from: String,
    /// Step (by key) from which on the action is closed: once it is done.
    pub open_until: String,
    pub max_times: Option<u32>,
}

/// A form field of a step or side action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub kind: FieldKind,
    pub required: bool,
}

/// The type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// A whole number ≥ 0.
    Count,
    /// Free text (trimmed; blank counts as missing).
    Text,
    /// A list of record ids (e.g. members).
    Ids,
}

/// A date recorded in the history: field `field` of the latest entry of the
/// step or side action `entry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRef {
    pub entry: String,
    pub field: String,
}

/// A length of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Days(u32),
    Months(u32),
}

/// A deadline: due `period` after the latest of the `anchor` dates (plus
/// the months recorded in `extra_months` entries), settled when the step
/// `settled_by` is done — or, when `settled_by` names a side action, it
/// recurs (each entry moves the anchor) while the process is between
/// `open_from` and `open_until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineDef {
    pub key: String,
    pub settled_by: String,
    pub anchor: Vec<DateRef>,
    pub period: Period,
    /// Days before the due day from which a reminder is shown.
    pub remind_before_days: u32,
    /// Months added by entries of a side action (a probation extension).
    #[serde(default)]
    pub extra_months: Option<DateRef>,
    /// For recurring deadlines: the step range in which they run.
    #[serde(default)]
    pub open_from: Option<String>,
    #[serde(default)]
    pub open_until: Option<String>,
    /// The rule it enforces, for messages (`DOMAIN.md §4 step 2`).
    pub rule: String,
    pub label_zh: String,
    pub label_en: String,
}

impl ProcessDef {
    /// Index of the step `key`.
    pub fn step_index(&self, key: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.key == key)
    }

    pub fn step(&self, key: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.key == key)
    }

    pub fn side_action(&self, key: &str) -> Option<&SideActionDef> {
        self.side_actions.iter().find(|s| s.key == key)
    }

    pub fn exit(&self, key: &str) -> Option<&ExitDef> {
        self.exits.iter().find(|s| s.key == key)
    }

    /// Problems of the definition itself: duplicate keys, unknown step
    /// references, no roles. Empty means well formed.
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut keys: Vec<&str> = self.steps.iter().map(|s| s.key.as_str()).collect();
        keys.extend(self.side_actions.iter().map(|s| s.key.as_str()));
        keys.extend(self.exits.iter().map(|s| s.key.as_str()));
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != keys.len() {
            out.push("duplicate step, side action or exit key".into());
        }
        if self.steps.is_empty() {
            out.push("no steps".into());
        }
        for s in &self.steps {
            if s.roles.is_empty() {
                out.push(format!("step {} has no roles", s.key));
            }
        }
        for x in &self.exits {
            if x.roles.is_empty() {
                out.push(format!("exit {} has no roles", x.key));
            }
        }
        for a in &self.side_actions {
            for k in [&a.open_from, &a.open_until] {
                if self.step_index(k).is_none() {
                    out.push(format!("side action {} names unknown step {k}", a.key));
                }
            }
        }
        for d in &self.deadlines {
            if self.step(&d.settled_by).is_none() && self.side_action(&d.settled_by).is_none() {
                out.push(format!(
                    "deadline {} settled by unknown {}",
                    d.key, d.settled_by
                ));
            }
            for r in d.anchor.iter().chain(d.extra_months.iter()) {
                if self.step(&r.entry).is_none() && self.side_action(&r.entry).is_none() {
                    out.push(format!("deadline {} refers to unknown {}", d.key, r.entry));
                }
            }
        }
        out
    }
}
