//! The 三重一大 register (DOMAIN.md §8): decision rows of an organization,
//! newest first with keyset pagination. Rows are corrected, never deleted.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::decision;

pub async fn insert<C: ConnectionTrait>(
    c: &C,
    row: decision::ActiveModel,
) -> Result<decision::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn get<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<decision::Model>, StoreError> {
    Ok(decision::Entity::find_by_id(id).one(c).await?)
}

/// Decisions of one organization, newest first, with ids below `before`.
pub async fn list_by_org<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<decision::Model>, StoreError> {
    let mut q = decision::Entity::find().filter(decision::Column::OrgId.eq(org_id));
    if let Some(b) = before {
        q = q.filter(decision::Column::Id.lt(b));
    }
    Ok(q.order_by_desc(decision::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Writes the set columns of a decision.
pub async fn update<C: ConnectionTrait>(
    c: &C,
    am: decision::ActiveModel,
) -> Result<decision::Model, StoreError> {
    Ok(am.update(c).await?)
}
