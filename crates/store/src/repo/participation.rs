//! Participation (DOMAIN.md §5, §6): the attendance rows of members at held
//! meetings with the meetings they belong to, and pages of active members
//! for the participation sweep.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::StoreError;
use crate::entities::{meeting, meeting_attendance as att, member};

/// The rows of `member_ids` at held meetings starting in `[from, to)`, each
/// with its meeting.
pub async fn held_rows<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(att::Model, meeting::Model)>, StoreError> {
    let mut rows = Vec::new();
    for chunk in member_ids.chunks(900) {
        rows.extend(
            att::Entity::find()
                .filter(att::Column::MemberId.is_in(chunk.iter().copied()))
                .all(c)
                .await?,
        );
    }
    let mut ids: Vec<i64> = rows.iter().map(|r| r.meeting_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut meetings = std::collections::HashMap::new();
    for chunk in ids.chunks(900) {
        for m in meeting::Entity::find()
            .filter(meeting::Column::Id.is_in(chunk.iter().copied()))
            .filter(meeting::Column::Status.eq("held"))
            .filter(meeting::Column::StartsAt.gte(from))
            .filter(meeting::Column::StartsAt.lt(to))
            .all(c)
            .await?
        {
            meetings.insert(m.id, m);
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let m = meetings.get(&r.meeting_id)?.clone();
            Some((r, m))
        })
        .collect())
}

/// Active members after `after`, in id order: (id, org_id).
pub async fn active_member_page<C: ConnectionTrait>(
    c: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .column(member::Column::OrgId)
        .filter(member::Column::Id.gt(after))
        .filter(member::Column::Status.eq("active"))
        .order_by_asc(member::Column::Id)
        .limit(limit)
        .into_tuple::<(i64, i64)>()
        .all(c)
        .await?)
}

/// Active members of the organizations `org_ids`: (id, org_id).
pub async fn active_members_of<C: ConnectionTrait>(
    c: &C,
    org_ids: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .column(member::Column::OrgId)
        .filter(member::Column::OrgId.is_in(org_ids.iter().copied()))
        .filter(member::Column::Status.eq("active"))
        .order_by_asc(member::Column::Id)
        .into_tuple::<(i64, i64)>()
        .all(c)
        .await?)
}

/// The organizations of the active members among `ids`: (id, org_id).
pub async fn member_orgs<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(900) {
        out.extend(
            member::Entity::find()
                .select_only()
                .column(member::Column::Id)
                .column(member::Column::OrgId)
                .filter(member::Column::Id.is_in(chunk.iter().copied()))
                .filter(member::Column::Status.eq("active"))
                .into_tuple::<(i64, i64)>()
                .all(c)
                .await?,
        );
    }
    Ok(out)
}
