//! Key rotation (issue 5, item 5): re-encrypt every encrypted column (`_enc`)
//! under the keyring's active key, table by table in short write
//! transactions, so a running server keeps serving between batches; then
//! retire the old keys. `dangjian keys rotate` and `keys status` call this.
//!
//! A re-encrypted `members` row changes the ciphertexts its ledger leaf
//! commits to (`ledger::member_digest`), so it is written through the one
//! member-write path: the row, a `fields_reencrypted` archive event naming
//! the key ids (no personal data) and its ledger leaf, in one transaction.
//! Event details are committed to in clear, so re-encrypting
//! `member_events.detail_enc` and the other tables needs no event.
//!
//! Each value is replaced only if it is still the one read (compare and
//! swap), so a concurrent write by the server is never overwritten; a value
//! so skipped, or written by a server that has not yet reloaded the key
//! file, is caught by the next pass. The blind-index key is never rotated.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dangjian_store::Keyring;
use dangjian_store::entities::{member, member_event};
use dangjian_store::repo::{audit, members as mrepo};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::Serialize;

use crate::members::{AAD_EVENT, AAD_ID, AAD_PHONE};
use crate::{App, AppError};

/// One encrypted column: its table, its name and the associated data its
/// values are bound to (see `dangjian_store::crypto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub aad: &'static str,
}

const fn col(table: &'static str, column: &'static str, aad: &'static str) -> EncryptedColumn {
    EncryptedColumn { table, column, aad }
}

/// Every encrypted column of the schema (each `_enc` column in
/// `dangjian_store::migration`), grouped by table, `members` first. Every
/// table's primary key is `id`. A test compares this with the schema.
pub const ENCRYPTED_COLUMNS: &[EncryptedColumn] = &[
    col("members", "id_enc", AAD_ID),
    col("members", "phone_enc", AAD_PHONE),
    col("member_events", "detail_enc", AAD_EVENT),
    col(
        "workflow_entries",
        "detail_enc",
        crate::admissions::AAD_ENTRY,
    ),
    col("users", "totp_secret_enc", crate::totp::AAD_TOTP),
    col("dues_bases", "base_enc", crate::dues::AAD_BASE),
    col(
        "admission_attachments",
        "data_enc",
        crate::admission_attachments::AAD_ATTACHMENT,
    ),
    col(
        "transfer_letters",
        "document_enc",
        crate::transfers::AAD_DOCUMENT,
    ),
];

/// The kind of the archive event of a re-encrypted member row.
pub const EVENT_REENCRYPTED: &str = "fields_reencrypted";

/// Tables whose encrypted column holds a whole file (a scan).
const FILE_TABLES: &[&str] = &["admission_attachments"];
/// Rows of a [`FILE_TABLES`] table re-encrypted per transaction.
const FILE_BATCH: u64 = 8;

/// The tables of [`ENCRYPTED_COLUMNS`], in order, each with its columns.
pub fn encrypted_tables() -> Vec<(&'static str, Vec<EncryptedColumn>)> {
    let mut out: Vec<(&'static str, Vec<EncryptedColumn>)> = Vec::new();
    for c in ENCRYPTED_COLUMNS {
        match out.iter_mut().find(|(t, _)| *t == c.table) {
            Some((_, cols)) => cols.push(*c),
            None => out.push((c.table, vec![*c])),
        }
    }
    out
}

/// How many stored values of one column are under each key id
/// (`"?"`: not in the keyring's format).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ColumnKeys {
    pub table: &'static str,
    pub column: &'static str,
    pub by_key: BTreeMap<String, u64>,
}

/// The outcome of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows read.
    pub scanned: u64,
    /// Values re-encrypted.
    pub reencrypted: u64,
    /// Values left because they changed between the read and the write.
    pub raced: u64,
    /// `fields_reencrypted` member events written.
    pub member_events: u64,
    /// The last primary key read: the next batch starts after it.
    pub last_id: Option<i64>,
}

/// Settings of a rotation.
#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Rows per write transaction.
    pub batch: u64,
    /// How long after the key file was written a pass that finds nothing
    /// under an old key counts as final: servers reread a changed key file
    /// every few seconds, and may write with the old key until they do.
    pub settle: Duration,
    /// Give up (keeping every key) after this many passes that still found
    /// values under old keys.
    pub max_passes: u32,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch: 500,
            settle: Duration::from_secs(6),
            max_passes: 50,
        }
    }
}

/// Progress of a rotation, for the CLI's progress line.
#[derive(Debug, Clone)]
pub enum RotateProgress {
    /// A pass starts over `rows` rows.
    Pass { pass: u32, rows: u64 },
    /// A batch of `table` finished, `scanned` rows read.
    Batch { table: &'static str, scanned: u64 },
    /// Waiting for servers to reread the key file.
    Settling { remaining: Duration },
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    /// The key every value is now under.
    pub active_key: String,
    /// True when this run created the key; false when it finished a
    /// rotation an earlier run began (the key file held several keys).
    pub new_key: bool,
    /// The keys removed from the key file.
    pub retired: Vec<String>,
    /// Values re-encrypted, by table.
    pub reencrypted: BTreeMap<String, u64>,
    /// `fields_reencrypted` member events (and ledger leaves) written.
    pub member_events: u64,
    pub passes: u32,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("keys: {e}"))
}

impl App {
    /// Counts the stored values of every encrypted column by key id.
    pub async fn key_usage(&self) -> Result<Vec<ColumnKeys>, AppError> {
        let mut out = Vec::new();
        for (table, cols) in encrypted_tables() {
            let mut counts: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); cols.len()];
            let mut after = 0i64;
            loop {
                let rows = self
                    .read_page(&self.db.conn, table, &cols, after, 2000)
                    .await?;
                let Some((last, _)) = rows.last() else { break };
                after = *last;
                for (_, values) in &rows {
                    for (i, v) in values.iter().enumerate() {
                        if let Some(v) = v {
                            let id = Keyring::key_id_of(v).unwrap_or("?").to_string();
                            *counts[i].entry(id).or_default() += 1;
                        }
                    }
                }
            }
            for (c, by_key) in cols.iter().zip(counts) {
                out.push(ColumnKeys {
                    table: c.table,
                    column: c.column,
                    by_key,
                });
            }
        }
        Ok(out)
    }

    /// Rows of `table` with id above `after`, in id order: the id and each
    /// of `cols`.
    async fn read_page<C: ConnectionTrait>(
        &self,
        c: &C,
        table: &str,
        cols: &[EncryptedColumn],
        after: i64,
        limit: u64,
    ) -> Result<Vec<(i64, Vec<Option<Vec<u8>>>)>, AppError> {
        let mut q = Query::select();
        q.from(Alias::new(table)).column(Alias::new("id"));
        for col in cols {
            q.column(Alias::new(col.column));
        }
        q.and_where(Expr::col(Alias::new("id")).gt(after))
            .order_by(Alias::new("id"), sea_orm::Order::Asc)
            .limit(limit);
        let mut out = Vec::new();
        for row in c.query_all(&q).await? {
            let id: i64 = row.try_get("", "id")?;
            let mut values = Vec::with_capacity(cols.len());
            for col in cols {
                values.push(row.try_get::<Option<Vec<u8>>>("", col.column)?);
            }
            out.push((id, values));
        }
        Ok(out)
    }

    /// Re-encrypts, in one write transaction, the values under a key other
    /// than the active one among the `batch` rows of `table` after id
    /// `after`. Member rows get their archive event and ledger leaf.
    pub async fn reencrypt_batch(
        &self,
        table: &'static str,
        after: i64,
        batch: u64,
    ) -> Result<BatchOutcome, AppError> {
        let cols: Vec<EncryptedColumn> = ENCRYPTED_COLUMNS
            .iter()
            .filter(|c| c.table == table)
            .copied()
            .collect();
        if cols.is_empty() {
            return Err(internal(format!("{table} has no encrypted column")));
        }
        let active = self.keys.active_key_id();
        let (_guard, tx) = self.begin_write().await?;
        let rows = self.read_page(&tx, table, &cols, after, batch).await?;
        let mut out = BatchOutcome {
            scanned: rows.len() as u64,
            last_id: rows.last().map(|r| r.0),
            ..Default::default()
        };
        // Member id → the old key ids of its re-encrypted columns.
        let mut members: Vec<(i64, Vec<String>)> = Vec::new();
        for (id, values) in rows {
            let mut upd = Query::update();
            upd.table(Alias::new(table))
                .and_where(Expr::col(Alias::new("id")).eq(id));
            let mut old_keys = Vec::new();
            let mut n = 0u64;
            for (c, v) in cols.iter().zip(values) {
                let Some(v) = v else { continue };
                let key = Keyring::key_id_of(&v).ok_or_else(|| {
                    internal(format!("{table}#{id}.{}: not an encrypted value", c.column))
                })?;
                if key == active {
                    continue;
                }
                let plain = self
                    .keys
                    .decrypt(&v, c.aad)
                    .map_err(|e| internal(format!("{table}#{id}.{} (key {key}): {e}", c.column)))?;
                let fresh = self.keys.encrypt(&plain, c.aad)?;
                if !old_keys.iter().any(|k| k == key) {
                    old_keys.push(key.to_string());
                }
                upd.value(Alias::new(c.column), fresh);
                n += 1;
                // Compare and swap: only the value read is replaced.
                upd.and_where(Expr::col(Alias::new(c.column)).eq(v));
            }
            if old_keys.is_empty() {
                continue;
            }
            if tx.execute(&upd).await?.rows_affected() == 0 {
                out.raced += n;
                continue;
            }
            out.reencrypted += n;
            if table == "members" {
                members.push((id, old_keys));
            }
        }
        if !members.is_empty() {
            let now = self.clock.now();
            let mut events = Vec::with_capacity(members.len());
            for (id, old_keys) in &members {
                let m = member::Entity::find_by_id(*id)
                    .one(&tx)
                    .await?
                    .ok_or_else(|| internal(format!("member {id} vanished")))?;
                let detail = serde_json::json!({"from_keys": old_keys, "to_key": active});
                events.push(
                    mrepo::add_event(
                        &tx,
                        member_event::ActiveModel {
                            member_id: Set(m.id),
                            org_id: Set(m.org_id),
                            at: Set(now),
                            kind: Set(EVENT_REENCRYPTED.into()),
                            actor_user_id: Set(None),
                            detail_enc: Set(self
                                .keys
                                .encrypt(detail.to_string().as_bytes(), AAD_EVENT)?),
                            ..Default::default()
                        },
                    )
                    .await?,
                );
            }
            // The ledger's append lock is taken after the row locks, in the
            // order every member write takes them.
            let mut appender = self.ledger_appender(&tx).await?;
            out.member_events = appender.append_events(self, &tx, events).await? as u64;
        }
        if out.reencrypted > 0 {
            audit::append(
                &tx,
                audit::Entry {
                    user_id: None,
                    action: "keys.reencrypt".into(),
                    target_kind: table.into(),
                    target_id: None,
                    org_id: None,
                    remote_addr: None,
                    detail: serde_json::json!({
                        "to_key": active,
                        "values": out.reencrypted,
                        "first_id": after + 1,
                        "last_id": out.last_id,
                    }),
                },
                self.clock.now(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Rotates the data-encryption key: adds a new active key to the key
    /// file (or, when the file already holds several keys, finishes the
    /// rotation an interrupted run began), re-encrypts every value under an
    /// older key in batches until a pass finds none, then retires the older
    /// keys from the key file. Rerunnable at any point.
    pub async fn rotate_keys(
        &self,
        opts: &RotateOptions,
        progress: &(dyn Fn(RotateProgress) + Sync),
    ) -> Result<RotateReport, AppError> {
        let path = self
            .keys
            .key_file()
            .ok_or_else(|| internal("the keyring was not loaded from a key file"))?
            .to_path_buf();
        // One rotation at a time: an advisory lock on a file beside the key
        // file, released by the OS when this process ends however it ends.
        let lock_path = path.with_file_name(format!(
            ".{}.rotate.lock",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| internal(format!("{}: {e}", lock_path.display())))?;
        if lock.try_lock().is_err() {
            return Err(AppError::Conflict(dangjian_domain::FieldError::new(
                "keys",
                "rotation_running",
                "另一次密钥轮换正在进行",
                "another key rotation is running on this key file",
            )));
        }
        // Start from the file as it is now.
        self.keys.reload()?;
        let new_key = self.keys.key_ids().len() <= 1;
        if new_key {
            self.keys.add_active_key()?;
            self.keys.save(&path)?;
        }
        let written = Instant::now();
        let active = self.keys.active_key_id();
        let batch = Ord::max(opts.batch, 1);
        let mut report = RotateReport {
            active_key: active.clone(),
            new_key,
            retired: Vec::new(),
            reencrypted: BTreeMap::new(),
            member_events: 0,
            passes: 0,
        };
        loop {
            if report.passes >= opts.max_passes {
                return Err(internal(format!(
                    "values under old keys still appear after {} passes: is a server running \
                     with a key file it does not reread? Every key is kept; run again once it is",
                    report.passes
                )));
            }
            report.passes += 1;
            let pass_started = Instant::now();
            let rows = self.encrypted_rows().await?;
            progress(RotateProgress::Pass {
                pass: report.passes,
                rows,
            });
            let mut changed = 0u64;
            for (table, _) in encrypted_tables() {
                // Whole files (up to `attachment_max_bytes` each) are read a
                // few at a time, not a batch of rows' worth.
                let batch = if FILE_TABLES.contains(&table) {
                    Ord::min(batch, FILE_BATCH)
                } else {
                    batch
                };
                let mut after = 0i64;
                loop {
                    let o = self.reencrypt_batch(table, after, batch).await?;
                    changed += o.reencrypted + o.raced;
                    report.member_events += o.member_events;
                    if o.reencrypted > 0 {
                        *report.reencrypted.entry(table.to_string()).or_default() += o.reencrypted;
                    }
                    progress(RotateProgress::Batch {
                        table,
                        scanned: o.scanned,
                    });
                    match o.last_id {
                        Some(last) if o.scanned == batch => after = last,
                        _ => break,
                    }
                }
            }
            if changed > 0 {
                continue;
            }
            // A clean pass counts only if it began after every server had
            // time to reread the key file.
            let settled_at = written + opts.settle;
            if pass_started >= settled_at {
                break;
            }
            let remaining = settled_at.saturating_duration_since(Instant::now());
            progress(RotateProgress::Settling { remaining });
            tokio::time::sleep(remaining).await;
        }
        // Nothing may be left under another key before those keys go.
        for c in self.key_usage().await? {
            if let Some(k) = c.by_key.keys().find(|k| **k != active) {
                return Err(internal(format!(
                    "{}.{} still holds values under key {k}; every key is kept",
                    c.table, c.column
                )));
            }
        }
        report.retired = self.keys.retire_inactive();
        if !report.retired.is_empty() {
            self.keys.save(&path)?;
        }
        Ok(report)
    }

    /// Rows of every table with an encrypted column (for progress).
    async fn encrypted_rows(&self) -> Result<u64, AppError> {
        let mut n = 0u64;
        for (table, _) in encrypted_tables() {
            let q = Query::select()
                .from(Alias::new(table))
                .expr_as(Expr::col(Alias::new("id")).count(), Alias::new("n"))
                .to_owned();
            if let Some(row) = self.db.conn.query_one(&q).await? {
                n += u64::try_from(row.try_get::<i64>("", "n").unwrap_or(0)).unwrap_or(0);
            }
        }
        Ok(n)
    }
}
