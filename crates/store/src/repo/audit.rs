//! The audit log: append and read (never update or delete), with its own
//! hash chain. Each row stores its position (`seq`), the previous row's hash
//! and SHA-256 over its canonical content ([`canonical`]), so editing or
//! deleting a row breaks the chain at that row ([`verify`]).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationDef, Set,
};
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::entities::{audit, org};

/// One audit entry to append.
#[derive(Debug, Clone)]
pub struct Entry {
    pub user_id: Option<i64>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub org_id: Option<i64>,
    pub remote_addr: Option<String>,
    pub detail: serde_json::Value,
}

/// The `prev_hash` of the first row of the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Times are kept to the microsecond, what both databases store.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The bytes a row's hash covers: a JSON array of a version tag, the chain
/// position, the previous hash and every column, in a fixed order (JSON
/// objects inside `detail` serialize with sorted keys).
pub fn canonical(seq: i64, prev_hash: &str, at: DateTime<Utc>, e: &Entry) -> Vec<u8> {
    let v = serde_json::json!([
        "dangjian-audit-v1",
        seq,
        prev_hash,
        to_micros(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.user_id,
        e.action,
        e.target_kind,
        e.target_id,
        e.org_id,
        e.remote_addr,
        e.detail,
    ]);
    v.to_string().into_bytes()
}

/// SHA-256 hex of a row's canonical bytes.
pub fn row_hash(seq: i64, prev_hash: &str, at: DateTime<Utc>, e: &Entry) -> String {
    hex::encode(Sha256::digest(canonical(seq, prev_hash, at, e)))
}

fn entry_of(m: &audit::Model) -> Entry {
    Entry {
        user_id: m.user_id,
        action: m.action.clone(),
        target_kind: m.target_kind.clone(),
        target_id: m.target_id,
        org_id: m.org_id,
        remote_addr: m.remote_addr.clone(),
        detail: m.detail.clone(),
    }
}

/// Appends one entry at the end of the chain.
///
/// Call it inside a write transaction (`App::begin_write`): on SQLite the
/// writer lock orders appends; on PostgreSQL a transaction-scoped advisory
/// lock (the ledger's, so the two never wait for each other in opposite
/// order) does.
pub async fn append<C: ConnectionTrait>(
    c: &C,
    e: Entry,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if c.get_database_backend() == DbBackend::Postgres {
        c.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({})",
            crate::repo::ledger::APPEND_LOCK
        ))
        .await?;
    }
    let last = audit::Entity::find()
        .filter(audit::Column::Seq.is_not_null())
        .order_by_desc(audit::Column::Seq)
        .one(c)
        .await?;
    let (seq, prev) = match last {
        Some(r) => (
            r.seq.unwrap_or(0) + 1,
            r.hash.unwrap_or_else(|| GENESIS.to_string()),
        ),
        None => (1, GENESIS.to_string()),
    };
    let at = to_micros(now);
    let hash = row_hash(seq, &prev, at, &e);
    audit::ActiveModel {
        at: Set(at),
        user_id: Set(e.user_id),
        action: Set(e.action),
        target_kind: Set(e.target_kind),
        target_id: Set(e.target_id),
        org_id: Set(e.org_id),
        remote_addr: Set(e.remote_addr),
        detail: Set(e.detail),
        seq: Set(Some(seq)),
        prev_hash: Set(Some(prev)),
        hash: Set(Some(hash)),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(())
}

/// What [`verify`] found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChainReport {
    /// Rows in the chain that were checked.
    pub rows: u64,
    /// Rows written before the chain existed (not covered).
    pub legacy_rows: u64,
    /// Hash of the last row: record it elsewhere to detect a cut-off tail.
    pub head: Option<String>,
    pub problems: Vec<String>,
}

/// Walks the chain in order and reports every row whose content, position
/// or link does not match.
pub async fn verify<C: ConnectionTrait>(c: &C) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport::default();
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut first_chained_id: Option<i64> = None;
    let mut after: Option<i64> = None;
    loop {
        let mut q = audit::Entity::find()
            .filter(audit::Column::Seq.is_not_null())
            .order_by_asc(audit::Column::Seq)
            .limit(1000);
        if let Some(a) = after {
            q = q.filter(audit::Column::Seq.gt(a));
        }
        let rows = q.all(c).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            let seq = r.seq.unwrap_or(0);
            first_chained_id = Some(first_chained_id.map_or(r.id, |f| f.min(r.id)));
            if seq != expected_seq {
                report.problems.push(if seq > expected_seq {
                    format!(
                        "rows {expected_seq}..{} of the chain are missing (deleted) before row id {}",
                        seq - 1,
                        r.id
                    )
                } else {
                    format!("row id {} repeats chain position {seq}", r.id)
                });
            }
            let stored_prev = r.prev_hash.clone().unwrap_or_default();
            if stored_prev != prev && seq == expected_seq {
                report.problems.push(format!(
                    "row id {} (seq {seq}) does not link to the row before it",
                    r.id
                ));
            }
            let stored = r.hash.clone().unwrap_or_default();
            if row_hash(seq, &stored_prev, r.at, &entry_of(r)) != stored {
                report.problems.push(format!(
                    "row id {} (seq {seq}, {}) was altered after it was written",
                    r.id, r.action
                ));
            }
            report.rows += 1;
            expected_seq = seq + 1;
            prev = stored;
        }
    }
    report.head = (report.rows > 0).then_some(prev);
    // Rows outside the chain: legacy ones come before the first chained
    // row; any later one was written around the chain.
    let unchained = audit::Entity::find()
        .filter(audit::Column::Seq.is_null())
        .order_by_asc(audit::Column::Id)
        .all(c)
        .await?;
    for r in unchained {
        match first_chained_id {
            Some(f) if r.id > f => report.problems.push(format!(
                "row id {} ({}) is outside the chain",
                r.id, r.action
            )),
            _ => report.legacy_rows += 1,
        }
    }
    Ok(report)
}

fn audit_org() -> RelationDef {
    audit::Entity::belongs_to(org::Entity)
        .from(audit::Column::OrgId)
        .to(org::Column::Id)
        .into()
}

/// Entries about organizations in the subtree at `path`, newest first,
/// below id `before` when given.
pub async fn in_subtree<C: ConnectionTrait>(
    c: &C,
    path: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<audit::Model>, StoreError> {
    let mut q = audit::Entity::find()
        .join(JoinType::InnerJoin, audit_org())
        .filter(org::Column::Path.starts_with(path))
        .order_by_desc(audit::Column::Id)
        .limit(limit);
    if let Some(b) = before {
        q = q.filter(audit::Column::Id.lt(b));
    }
    Ok(q.all(c).await?)
}

/// Every entry in id order, from id `after` on (for exports).
pub async fn page<C: ConnectionTrait>(
    c: &C,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<audit::Model>, StoreError> {
    let mut q = audit::Entity::find()
        .order_by_asc(audit::Column::Id)
        .limit(limit);
    if let Some(a) = after {
        q = q.filter(audit::Column::Id.gt(a));
    }
    Ok(q.all(c).await?)
}

/// The latest entries about one target.
pub async fn for_target<C: ConnectionTrait>(
    c: &C,
    target_kind: &str,
    target_id: i64,
    limit: u64,
) -> Result<Vec<audit::Model>, StoreError> {
    Ok(audit::Entity::find()
        .filter(audit::Column::TargetKind.eq(target_kind))
        .filter(audit::Column::TargetId.eq(target_id))
        .order_by_desc(audit::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            user_id: Some(7),
            action: "member.read_sensitive".into(),
            target_kind: "member".into(),
            target_id: Some(42),
            org_id: Some(3),
            remote_addr: Some("10.0.0.1".into()),
            detail: serde_json::json!({"fields": ["id_number"], "a": 1}),
        }
    }

    #[test]
    fn hash_covers_every_column_and_the_link() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).expect("time");
        let h = row_hash(5, GENESIS, at, &entry());
        assert_eq!(h.len(), 64);
        // Sub-microsecond digits are not stored, so they do not count.
        let at2 = DateTime::from_timestamp(1_800_000_000, 123_456_000).expect("time");
        assert_eq!(h, row_hash(5, GENESIS, at2, &entry()));
        let changed: [fn(&mut Entry); 7] = [
            |e| e.user_id = Some(8),
            |e| e.action = "member.read".into(),
            |e| e.target_kind = "org".into(),
            |e| e.target_id = None,
            |e| e.org_id = Some(4),
            |e| e.remote_addr = None,
            |e| e.detail = serde_json::json!({}),
        ];
        for f in changed {
            let mut e = entry();
            f(&mut e);
            assert_ne!(h, row_hash(5, GENESIS, at, &e));
        }
        assert_ne!(h, row_hash(6, GENESIS, at, &entry()));
        assert_ne!(h, row_hash(5, &"1".repeat(64), at, &entry()));
        let later = at + chrono::Duration::microseconds(1);
        assert_ne!(h, row_hash(5, GENESIS, later, &entry()));
    }
}
