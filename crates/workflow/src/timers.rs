//! Deadlines of an instance, derived from its history, and their state on a
//! given day. The caller stores the planned timers as rows with their due
//! days and evaluates them in a sweep, so they survive restarts.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::definition::{DeadlineDef, Period, ProcessDef};
use crate::engine::{Instance, Status};

/// An open deadline of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerSpec {
    pub key: String,
    /// The step or side action that settles it.
    pub settled_by: String,
    /// The last day on time.
    pub due_on: NaiveDate,
    /// From this day on a reminder is due.
    pub remind_on: NaiveDate,
    pub rule: String,
    pub label_zh: String,
    pub label_en: String,
}

/// Where an open deadline stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerState {
    /// Not yet in the reminder window.
    Pending,
    /// In the reminder window, not yet late.
    DueSoon,
    /// Past the due day.
    Overdue,
}

impl TimerState {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::Pending => "pending",
            TimerState::DueSoon => "due_soon",
            TimerState::Overdue => "overdue",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            TimerState::Pending,
            TimerState::DueSoon,
            TimerState::Overdue,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

fn add_period(d: NaiveDate, p: Period) -> NaiveDate {
    match p {
        Period::Days(n) => d.checked_add_days(Days::new(u64::from(n))),
        Period::Months(n) => d.checked_add_months(Months::new(n)),
    }
    .unwrap_or(NaiveDate::MAX)
}

fn is_open(def: &ProcessDef, inst: &Instance, d: &DeadlineDef) -> bool {
    let done = inst.steps_done();
    if def.step(&d.settled_by).is_some() && inst.is_done(def, &d.settled_by) {
        return false;
    }
    if let Some(from) = d.open_from.as_deref().and_then(|k| def.step_index(k))
        && done < from
    {
        return false;
    }
    if let Some(until) = d.open_until.as_deref().and_then(|k| def.step_index(k))
        && done > until
    {
        return false;
    }
    true
}

/// The deadlines open in an instance: those whose settling step is not done
/// (or, for recurring ones, whose step range the process is in) and whose
/// anchor date is recorded.
pub fn plan_timers(def: &ProcessDef, inst: &Instance) -> Vec<TimerSpec> {
    if inst.status != Status::Active {
        return Vec::new();
    }
    let mut out = Vec::new();
    for d in &def.deadlines {
        if !is_open(def, inst, d) {
            continue;
        }
        let Some(anchor) = d.anchor.iter().filter_map(|r| inst.date(r)).max() else {
            continue;
        };
        let extra: i64 = d
            .extra_months
            .as_ref()
            .map(|r| {
                inst.entries(&r.entry)
                    .filter_map(|e| e.form.count(&r.field))
                    .sum()
            })
            .unwrap_or(0);
        let base = add_period(anchor, d.period);
        let due_on = u32::try_from(extra)
            .ok()
            .and_then(|m| base.checked_add_months(Months::new(m)))
            .unwrap_or(base);
        let remind_on = due_on
            .checked_sub_days(Days::new(u64::from(d.remind_before_days)))
            .unwrap_or(due_on);
        out.push(TimerSpec {
            key: d.key.clone(),
            settled_by: d.settled_by.clone(),
            due_on,
            remind_on,
            rule: d.rule.clone(),
            label_zh: d.label_zh.clone(),
            label_en: d.label_en.clone(),
        });
    }
    out
}

/// The state of an open deadline on `today`.
pub fn timer_state(t: &TimerSpec, today: NaiveDate) -> TimerState {
    if today > t.due_on {
        TimerState::Overdue
    } else if today >= t.remind_on {
        TimerState::DueSoon
    } else {
        TimerState::Pending
    }
}
