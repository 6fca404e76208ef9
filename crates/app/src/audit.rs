//! The audit log as use cases (issue 5, item 2): recording an entry in its
//! own write transaction, verifying the hash chain, and showing or exporting
//! the entries of a subtree to its auditors and administrators.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dangjian_store::entities::audit as entity;
use dangjian_store::repo::audit::{self as repo, ChainReport, Entry};
use dangjian_store::repo::identity as irepo;
use serde::Serialize;

use crate::{Actor, App, AppError};

/// One audit entry as auditors see it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub id: i64,
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub login: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub org_id: Option<i64>,
    pub remote_addr: Option<String>,
    pub detail: serde_json::Value,
    pub hash: Option<String>,
}

/// A page of entries, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub items: Vec<AuditView>,
    /// Pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

impl App {
    /// Appends one entry in a write transaction of its own (for reads and
    /// sign-ins, which have no transaction to join).
    pub async fn record_audit(&self, e: Entry) -> Result<(), AppError> {
        let (_writer, tx) = self.begin_write().await?;
        repo::append(&tx, e, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Walks the whole chain: every edited, deleted or inserted-around row
    /// is a problem.
    pub async fn audit_verify(&self) -> Result<ChainReport, AppError> {
        Ok(repo::verify(&self.db.conn).await?)
    }

    async fn views(&self, rows: Vec<entity::Model>) -> Result<Vec<AuditView>, AppError> {
        let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.user_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let logins: HashMap<i64, String> = irepo::logins(&self.db.conn, &ids)
            .await?
            .into_iter()
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| AuditView {
                login: r.user_id.and_then(|u| logins.get(&u).cloned()),
                id: r.id,
                seq: r.seq,
                at: r.at,
                user_id: r.user_id,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                org_id: r.org_id,
                remote_addr: r.remote_addr,
                detail: r.detail,
                hash: r.hash,
            })
            .collect())
    }

    /// Entries about the subtree of `code`, newest first; for auditors and
    /// administrators covering it (others get 404 or 403 like elsewhere).
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        code: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<AuditPage, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_read_audit(&o.path) {
            return Err(AppError::Forbidden);
        }
        let limit = limit.clamp(1, 500);
        let rows = repo::in_subtree(&self.db.conn, &o.path, before, limit).await?;
        let next_before = (rows.len() as u64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok(AuditPage {
            items: self.views(rows).await?,
            next_before,
        })
    }

    /// Every entry about the subtree of `code` as CSV (the export itself is
    /// audited).
    pub async fn audit_export(&self, actor: &Actor, code: &str) -> Result<String, AppError> {
        let o = self.visible_org(actor, code).await?;
        if !actor.can_read_audit(&o.path) {
            return Err(AppError::Forbidden);
        }
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let rows = repo::in_subtree(&self.db.conn, &o.path, before, 1000).await?;
            let Some(last) = rows.last() else { break };
            before = Some(last.id);
            all.extend(rows);
        }
        let csv = self.audit_csv(all).await?;
        self.record_audit(Entry {
            user_id: actor.audit_id(),
            action: "audit.export".into(),
            target_kind: "org".into(),
            target_id: Some(o.id),
            org_id: Some(o.id),
            remote_addr: actor.remote_addr.clone(),
            detail: serde_json::json!({}),
        })
        .await?;
        Ok(csv)
    }

    /// Every entry of the database as CSV, oldest first (command line).
    pub async fn audit_export_all(&self) -> Result<String, AppError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let rows = repo::page(&self.db.conn, after, 1000).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            all.extend(rows);
        }
        self.audit_csv(all).await
    }

    async fn audit_csv(&self, rows: Vec<entity::Model>) -> Result<String, AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| AppError::Internal(e.to_string());
        w.write_record([
            "id",
            "seq",
            "at",
            "user_id",
            "login",
            "action",
            "target_kind",
            "target_id",
            "org_id",
            "remote_addr",
            "detail",
            "hash",
        ])
        .map_err(internal)?;
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        for v in self.views(rows).await? {
            w.write_record([
                v.id.to_string(),
                opt(v.seq),
                v.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                opt(v.user_id),
                v.login.unwrap_or_default(),
                v.action,
                v.target_kind,
                opt(v.target_id),
                opt(v.org_id),
                v.remote_addr.unwrap_or_default(),
                v.detail.to_string(),
                v.hash.unwrap_or_default(),
            ])
            .map_err(internal)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
    }
}
