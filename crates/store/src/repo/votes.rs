//! Votes and meeting records (DOMAIN.md §2, §4, §5): committee seats by
//! organization (closed by date, never deleted), assembly votes and
//! committee election rounds by meeting, meeting attachments (listed
//! without their bytes).

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};

use crate::StoreError;
use crate::entities::{assembly_vote, committee_member, election, meeting_attachment as att};

/// The seats of `org_id`'s committee in office (no end date), secretary first.
pub async fn committee_now<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
) -> Result<Vec<committee_member::Model>, StoreError> {
    Ok(committee_member::Entity::find()
        .filter(committee_member::Column::OrgId.eq(org_id))
        .filter(committee_member::Column::UntilOn.is_null())
        .order_by_asc(committee_member::Column::Id)
        .all(c)
        .await?)
}

/// Ends the term of every seat of `org_id` in office on `until`.
pub async fn close_committee<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    until: NaiveDate,
) -> Result<(), StoreError> {
    committee_member::Entity::update_many()
        .col_expr(committee_member::Column::UntilOn, Expr::value(Some(until)))
        .filter(committee_member::Column::OrgId.eq(org_id))
        .filter(committee_member::Column::UntilOn.is_null())
        .exec(c)
        .await?;
    Ok(())
}

/// Inserts a committee seat.
pub async fn add_seat<C: ConnectionTrait>(
    c: &C,
    am: committee_member::ActiveModel,
) -> Result<committee_member::Model, StoreError> {
    Ok(am.insert(c).await?)
}

/// Inserts an assembly vote.
pub async fn add_assembly_vote<C: ConnectionTrait>(
    c: &C,
    am: assembly_vote::ActiveModel,
) -> Result<assembly_vote::Model, StoreError> {
    Ok(am.insert(c).await?)
}

/// The assembly votes of a meeting, oldest first.
pub async fn assembly_votes<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<assembly_vote::Model>, StoreError> {
    Ok(assembly_vote::Entity::find()
        .filter(assembly_vote::Column::MeetingId.eq(meeting_id))
        .order_by_asc(assembly_vote::Column::Id)
        .all(c)
        .await?)
}

/// Inserts an election round.
pub async fn add_election<C: ConnectionTrait>(
    c: &C,
    am: election::ActiveModel,
) -> Result<election::Model, StoreError> {
    Ok(am.insert(c).await?)
}

/// The election rounds of a meeting, oldest first.
pub async fn elections<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<election::Model>, StoreError> {
    Ok(election::Entity::find()
        .filter(election::Column::MeetingId.eq(meeting_id))
        .order_by_asc(election::Column::Id)
        .all(c)
        .await?)
}

/// Inserts an attachment.
pub async fn add_attachment<C: ConnectionTrait>(
    c: &C,
    am: att::ActiveModel,
) -> Result<att::Model, StoreError> {
    Ok(am.insert(c).await?)
}

/// A meeting's attachments without their bytes: id, purpose, file name,
/// type, size, SHA-256, upload time.
pub type AttachmentRow = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    chrono::DateTime<chrono::Utc>,
);

/// The attachments of a meeting, oldest first, without their bytes.
pub async fn attachments<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<AttachmentRow>, StoreError> {
    Ok(att::Entity::find()
        .select_only()
        .column(att::Column::Id)
        .column(att::Column::Purpose)
        .column(att::Column::Filename)
        .column(att::Column::ContentType)
        .column(att::Column::Size)
        .column(att::Column::Sha256)
        .column(att::Column::CreatedAt)
        .filter(att::Column::MeetingId.eq(meeting_id))
        .order_by_asc(att::Column::Id)
        .into_tuple()
        .all(c)
        .await?)
}

/// One attachment with its bytes.
pub async fn attachment<C: ConnectionTrait>(
    c: &C,
    id: i64,
) -> Result<Option<att::Model>, StoreError> {
    Ok(att::Entity::find_by_id(id).one(c).await?)
}
