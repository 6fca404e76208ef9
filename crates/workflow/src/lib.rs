//! The workflow engine of dangjian: one engine for admissions, transfers and
//! the processes that come later (DESIGN.md, "support" layer).
//!
//! - [`definition`]: a process is versioned data — ordered steps, who may act
//!   on each, the form fields and attachments it requires, deadlines with
//!   reminders, and side actions that may repeat without advancing the
//!   process (assessments, an extension).
//! - [`engine`]: an [`Instance`] is the state of one run plus its full
//!   history; [`engine::act`] checks an action against the definition and
//!   the caller's rule findings (hard blocks, soft warnings that need a
//!   recorded reason) and returns the history entry to store.
//! - [`registry`]: every known definition by key and version, the latest
//!   for new runs, and the digest that catches a definition edited
//!   without a version bump.
//! - [`timers`]: the deadlines an instance has open, derived from its
//!   history, and their state on a given day.
//!
//! Invariant: no IO, no clock, no database, no knowledge of any one process.
//! Time comes in as a parameter; rules come in as findings from the caller.

pub mod definition;
pub mod engine;
pub mod registry;
pub mod timers;

pub use definition::{
    DateRef, DeadlineDef, ExitDef, FieldDef, FieldKind, Period, ProcessDef, SideActionDef, StepDef,
};
pub use engine::{
    ActError, Action, Entry, EntryKind, Finding, Form, Instance, Override, Prepared, Severity,
    Status, Value, act, cancel, parse_form, prepare,
};
pub use registry::{Registry, RegistryError, StoredDef, canonical_json, digest};
pub use timers::{TimerSpec, TimerState, plan_timers, timer_state};
