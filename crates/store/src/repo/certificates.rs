//! Certificates of organizational life: insert, look up by number, by
//! meeting and member, list a member's, count a meeting's, revoke. Rows are
//! revoked, never deleted.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::StoreError;
use crate::entities::certificate;

pub async fn insert<C: ConnectionTrait>(
    c: &C,
    row: certificate::ActiveModel,
) -> Result<certificate::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn by_number<C: ConnectionTrait>(
    c: &C,
    number: &str,
) -> Result<Option<certificate::Model>, StoreError> {
    Ok(certificate::Entity::find()
        .filter(certificate::Column::Number.eq(number))
        .one(c)
        .await?)
}

/// The certificates of one meeting, by member.
pub async fn of_meeting<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<certificate::Model>, StoreError> {
    Ok(certificate::Entity::find()
        .filter(certificate::Column::MeetingId.eq(meeting_id))
        .order_by_asc(certificate::Column::MemberId)
        .all(c)
        .await?)
}

/// How many certificates of a meeting are issued and not revoked.
pub async fn count_of_meeting<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<u64, StoreError> {
    Ok(certificate::Entity::find()
        .filter(certificate::Column::MeetingId.eq(meeting_id))
        .filter(certificate::Column::RevokedAt.is_null())
        .count(c)
        .await?)
}

/// A member's certificates, newest first.
pub async fn of_member<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<certificate::Model>, StoreError> {
    Ok(certificate::Entity::find()
        .filter(certificate::Column::MemberId.eq(member_id))
        .order_by_desc(certificate::Column::IssuedAt)
        .all(c)
        .await?)
}

/// Marks a certificate revoked (no-op when it already is).
pub async fn revoke<C: ConnectionTrait>(
    c: &C,
    row: certificate::Model,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<certificate::Model, StoreError> {
    if row.revoked_at.is_some() {
        return Ok(row);
    }
    let mut am: certificate::ActiveModel = row.into();
    am.revoked_at = Set(Some(at));
    am.revoked_reason = Set(Some(reason.to_string()));
    Ok(am.update(c).await?)
}
