//! The audit log: append and read (never update or delete).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::StoreError;
use crate::entities::audit;

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

pub async fn append<C: ConnectionTrait>(
    c: &C,
    e: Entry,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::ActiveModel {
        at: Set(now),
        user_id: Set(e.user_id),
        action: Set(e.action),
        target_kind: Set(e.target_kind),
        target_id: Set(e.target_id),
        org_id: Set(e.org_id),
        remote_addr: Set(e.remote_addr),
        detail: Set(e.detail),
        ..Default::default()
    }
    .insert(c)
    .await?;
    Ok(())
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
