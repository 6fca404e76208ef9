//! The processes on the workflow engine, together (issue 8: "one engine for
//! admissions, transfers and the processes that come later"; "process
//! definitions as versioned data").
//!
//! - [`registry`]: every definition this build knows — `admission` and
//!   `transfer` — by key and version. New runs start on the latest
//!   version; a run is read and acted on with the version it started on.
//! - [`App::start_workflows`], run once when the application opens its
//!   database: stores each definition with its SHA-256 digest in
//!   `workflow_definitions` the first time, refuses to run when a stored
//!   digest differs ("definition X vN changed without a version bump"),
//!   and writes the history of runs a migration created without one (the
//!   transfer letters of M0012, role `migrated`).
//! - The storage every process shares: the encrypted history detail, the
//!   instance row and its deadline rows rewritten after every entry.

use dangjian_domain::FieldError;
use dangjian_store::entities::{
    workflow_definition, workflow_entry, workflow_instance, workflow_timer,
};
use dangjian_store::repo::workflow as repo;
use dangjian_workflow::{
    Entry, EntryKind, Finding, Form, Instance, Override, ProcessDef, Registry, RegistryError,
    Status, StoredDef, plan_timers, timer_state,
};
use sea_orm::{ConnectionTrait, Set};
use serde::{Deserialize, Serialize};

use crate::clock::to_local;
use crate::{App, AppError};

/// Associated data binding the encrypted history detail.
pub const AAD_ENTRY: &str = "workflow_entries.detail";

/// The row of a new run of `def` for a member at an organization: active,
/// at the first step, nothing done yet. Admissions and transfers start
/// their runs with it.
pub fn new_run(
    def: &ProcessDef,
    member_id: i64,
    org_id: i64,
    started_by: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> workflow_instance::ActiveModel {
    workflow_instance::ActiveModel {
        uid: Set(uuid::Uuid::now_v7()),
        process_key: Set(def.key.clone()),
        process_version: Set(i32::try_from(def.version).unwrap_or(i32::MAX)),
        member_id: Set(member_id),
        org_id: Set(org_id),
        status: Set(Status::Active.as_str().into()),
        next_step: Set(def.steps.first().map(|s| s.key.clone())),
        steps_done: Set(0),
        started_by: Set(started_by),
        started_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// The definitions of this build.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    for def in [
        crate::admissions::definition(),
        crate::transfers::definition(),
    ] {
        if let Err(e) = r.register(def) {
            // A malformed built-in definition is a bug caught by the tests
            // of each definition; keep the others usable.
            tracing::error!(error = %e, "process definition not registered");
        }
    }
    r
}

/// What [`App::start_workflows`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Definitions stored for the first time.
    pub stored: Vec<(String, u32)>,
    /// Runs whose history was written from a migrated record.
    pub migrated_runs: u64,
}

/// The encrypted part of a history entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredDetail {
    pub form: Form,
    pub attachments: Vec<String>,
    pub warnings: Vec<Finding>,
    pub overrides: Vec<Override>,
}

fn corrupt(what: &str, id: i64) -> AppError {
    AppError::Internal(format!("{what} {id} has unreadable stored fields"))
}

pub(crate) fn registry_error(e: RegistryError) -> AppError {
    AppError::Internal(e.to_string())
}

impl App {
    /// The definition `key` at `version` (a run's own), or a clear error
    /// naming the versions this build knows.
    pub fn process_definition(&self, key: &str, version: i32) -> Result<&ProcessDef, AppError> {
        let v = u32::try_from(version).map_err(|_| {
            AppError::Internal(format!("process definition {key} has no version {version}"))
        })?;
        self.workflows.get(key, v).map_err(registry_error)
    }

    /// The latest definition of `key`: what new runs start on.
    pub fn latest_definition(&self, key: &str) -> Result<&ProcessDef, AppError> {
        self.workflows.latest(key).map_err(registry_error)
    }

    /// Stores the definitions of this build the first time they run,
    /// refuses to go on when a stored one differs from the build's
    /// definition of the same key and version, and writes the history of
    /// runs a migration created (see the module doc). Idempotent; safe to
    /// run from several processes at once.
    pub async fn start_workflows(&self) -> Result<StartReport, AppError> {
        let mut report = StartReport::default();
        let (_writer, tx) = self.begin_write().await?;
        let rows = repo::definitions(&tx).await?;
        let stored: Vec<StoredDef> = rows
            .iter()
            .map(|r| StoredDef {
                key: r.process_key.clone(),
                version: u32::try_from(r.version).unwrap_or(u32::MAX),
                digest: r.digest.clone(),
            })
            .collect();
        self.workflows
            .check_stored(&stored)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.clock.now();
        for def in self.workflows.missing(&stored) {
            repo::insert_definition(
                &tx,
                workflow_definition::ActiveModel {
                    process_key: Set(def.key.clone()),
                    version: Set(i32::try_from(def.version).unwrap_or(i32::MAX)),
                    definition: Set(dangjian_workflow::canonical_json(def)),
                    digest: Set(dangjian_workflow::digest(def)),
                    created_at: Set(now),
                    ..Default::default()
                },
            )
            .await?;
            report.stored.push((def.key.clone(), def.version));
        }
        report.migrated_runs = self.write_migrated_transfer_runs(&tx).await?;
        tx.commit().await?;
        if !report.stored.is_empty() || report.migrated_runs > 0 {
            tracing::info!(stored = ?report.stored, migrated_runs = report.migrated_runs, "workflow definitions");
        }
        Ok(report)
    }

    pub(crate) fn load_history(
        &self,
        rows: &[workflow_entry::Model],
    ) -> Result<Vec<Entry>, AppError> {
        rows.iter()
            .map(|r| {
                let text = self.keys.decrypt_str(&r.detail_enc, AAD_ENTRY)?;
                let d: StoredDetail =
                    serde_json::from_str(&text).map_err(|_| corrupt("workflow entry", r.id))?;
                Ok(Entry {
                    seq: u32::try_from(r.seq).map_err(|_| corrupt("workflow entry", r.id))?,
                    kind: EntryKind::parse(&r.kind)
                        .ok_or_else(|| corrupt("workflow entry", r.id))?,
                    key: r.step_key.clone(),
                    actor_user_id: r.actor_user_id,
                    role: r.role.clone(),
                    at: r.at,
                    form: d.form,
                    attachments: d.attachments,
                    warnings: d.warnings,
                    overrides: d.overrides,
                })
            })
            .collect()
    }

    /// A run with its history, as the engine sees it.
    pub(crate) async fn load_instance<C: ConnectionTrait>(
        &self,
        c: &C,
        row: &workflow_instance::Model,
    ) -> Result<Instance, AppError> {
        let entries = repo::entries(c, row.id).await?;
        Ok(Instance {
            process_key: row.process_key.clone(),
            version: u32::try_from(row.process_version)
                .map_err(|_| corrupt("workflow instance", row.id))?,
            status: Status::parse(&row.status)
                .ok_or_else(|| corrupt("workflow instance", row.id))?,
            history: self.load_history(&entries)?,
        })
    }

    /// Writes an entry (its detail encrypted), the instance row where the
    /// run now stands, and its open deadlines as rows. Two actions racing
    /// on the same run: the later one trips `(instance_id, seq)`.
    pub(crate) async fn write_run<C: ConnectionTrait>(
        &self,
        c: &C,
        def: &ProcessDef,
        row: &workflow_instance::Model,
        inst: &Instance,
        entry: &Entry,
    ) -> Result<workflow_instance::Model, AppError> {
        let now = self.clock.now();
        let detail = serde_json::to_string(&StoredDetail {
            form: entry.form.clone(),
            attachments: entry.attachments.clone(),
            warnings: entry.warnings.clone(),
            overrides: entry.overrides.clone(),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        repo::insert_entry(
            c,
            workflow_entry::ActiveModel {
                instance_id: Set(row.id),
                seq: Set(i32::try_from(entry.seq).unwrap_or(i32::MAX)),
                kind: Set(entry.kind.as_str().into()),
                step_key: Set(entry.key.clone()),
                actor_user_id: Set(entry.actor_user_id),
                role: Set(entry.role.clone()),
                at: Set(entry.at),
                detail_enc: Set(self.keys.encrypt(detail.as_bytes(), AAD_ENTRY)?),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            let t = e.to_string().to_lowercase();
            if t.contains("unique") || t.contains("duplicate key") {
                AppError::Conflict(FieldError::new(
                    "step",
                    "concurrent_action",
                    "另一操作刚刚记录了此步骤，请刷新后重试",
                    "another action was just recorded on this process; reload and try again",
                ))
            } else {
                e.into()
            }
        })?;
        let mut am: workflow_instance::ActiveModel = row.clone().into();
        am.status = Set(inst.status.as_str().into());
        am.next_step = Set(inst.next_step(def).map(|s| s.key.clone()));
        am.steps_done = Set(i32::try_from(inst.steps_done()).unwrap_or(i32::MAX));
        am.updated_at = Set(now);
        let row = repo::update_instance(c, am).await?;
        let today = to_local(now).date_naive();
        let timers = plan_timers(def, inst)
            .into_iter()
            .map(|t| workflow_timer::ActiveModel {
                instance_id: Set(row.id),
                org_id: Set(row.org_id),
                timer_key: Set(t.key.clone()),
                settled_by: Set(t.settled_by.clone()),
                due_on: Set(t.due_on),
                remind_on: Set(t.remind_on),
                state: Set(timer_state(&t, today).as_str().into()),
                rule: Set(t.rule.clone()),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        repo::replace_timers(c, row.id, timers).await?;
        Ok(row)
    }
}
