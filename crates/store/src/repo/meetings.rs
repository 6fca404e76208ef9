//! Organizational life (DOMAIN.md §5): meetings of an organization by time,
//! the attendance rows of a meeting (one per expected member, created with
//! the meeting), the guarded updates that record presence or leave, and the
//! member's present meetings for the overlap check. Rows are corrected,
//! never deleted.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::StoreError;
use crate::entities::{meeting, meeting_attendance as att, member};

pub async fn insert<C: ConnectionTrait>(
    c: &C,
    row: meeting::ActiveModel,
) -> Result<meeting::Model, StoreError> {
    Ok(row.insert(c).await?)
}

pub async fn get<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<meeting::Model>, StoreError> {
    Ok(meeting::Entity::find_by_id(id).one(c).await?)
}

/// Writes the set columns of a meeting.
pub async fn update<C: ConnectionTrait>(
    c: &C,
    am: meeting::ActiveModel,
) -> Result<meeting::Model, StoreError> {
    Ok(am.update(c).await?)
}

/// Meetings of the organizations `org_ids` starting in `[from, to)`, by start.
pub async fn in_range<C: ConnectionTrait>(
    c: &C,
    org_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<meeting::Model>, StoreError> {
    Ok(meeting::Entity::find()
        .filter(meeting::Column::OrgId.is_in(org_ids.iter().copied()))
        .filter(meeting::Column::StartsAt.gte(from))
        .filter(meeting::Column::StartsAt.lt(to))
        .order_by_asc(meeting::Column::StartsAt)
        .order_by_asc(meeting::Column::Id)
        .all(c)
        .await?)
}

/// Meetings by id.
pub async fn by_ids<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<meeting::Model>, StoreError> {
    Ok(meeting::Entity::find()
        .filter(meeting::Column::Id.is_in(ids.iter().copied()))
        .all(c)
        .await?)
}

/// Ids of the active members of `org_id` (or, with `group`, of the members
/// whose party group is `org_id`) at one of `stages`, in id order.
pub async fn roster_ids<C: ConnectionTrait>(
    c: &C,
    org_id: i64,
    group: bool,
    stages: &[&str],
) -> Result<Vec<i64>, StoreError> {
    let col = if group {
        member::Column::GroupId
    } else {
        member::Column::OrgId
    };
    Ok(member::Entity::find()
        .select_only()
        .column(member::Column::Id)
        .filter(col.eq(org_id))
        .filter(member::Column::Status.eq("active"))
        .filter(member::Column::Stage.is_in(stages.iter().copied()))
        .order_by_asc(member::Column::Id)
        .into_tuple::<i64>()
        .all(c)
        .await?)
}

/// Names of members by id.
pub async fn member_names<C: ConnectionTrait>(
    c: &C,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(900) {
        out.extend(
            member::Entity::find()
                .select_only()
                .column(member::Column::Id)
                .column(member::Column::Name)
                .filter(member::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple::<(i64, String)>()
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// One `expected` attendance row per member of a new meeting.
pub async fn add_expected<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    member_ids: &[i64],
) -> Result<(), StoreError> {
    for chunk in member_ids.chunks(1000) {
        let rows = chunk.iter().map(|&m| att::ActiveModel {
            meeting_id: Set(meeting_id),
            member_id: Set(m),
            state: Set("expected".into()),
            ..Default::default()
        });
        att::Entity::insert_many(rows)
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The attendance rows of a meeting, in member order.
pub async fn attendance<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<att::Model>, StoreError> {
    Ok(att::Entity::find()
        .filter(att::Column::MeetingId.eq(meeting_id))
        .order_by_asc(att::Column::MemberId)
        .all(c)
        .await?)
}

/// Attendance rows of a meeting counted by state and channel.
pub async fn state_counts<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
) -> Result<Vec<(String, Option<String>, i64)>, StoreError> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    Ok(att::Entity::find()
        .select_only()
        .column(att::Column::State)
        .column(att::Column::Channel)
        .column_as(Expr::col(att::Column::Id).count(), "n")
        .filter(att::Column::MeetingId.eq(meeting_id))
        .group_by(att::Column::State)
        .group_by(att::Column::Channel)
        .into_tuple::<(String, Option<String>, i64)>()
        .all(c)
        .await?)
}

/// One member's attendance row of a meeting.
pub async fn attendance_row<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    member_id: i64,
) -> Result<Option<att::Model>, StoreError> {
    Ok(att::Entity::find()
        .filter(att::Column::MeetingId.eq(meeting_id))
        .filter(att::Column::MemberId.eq(member_id))
        .one(c)
        .await?)
}

/// Every attendance row of a member, newest meeting first.
pub async fn of_member<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
) -> Result<Vec<att::Model>, StoreError> {
    Ok(att::Entity::find()
        .filter(att::Column::MemberId.eq(member_id))
        .order_by_desc(att::Column::MeetingId)
        .all(c)
        .await?)
}

/// Meetings other than `except`, not cancelled, overlapping
/// `[starts_at, ends_at)`, at which `member_id` is recorded present.
pub async fn present_overlapping<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
    except: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<Vec<meeting::Model>, StoreError> {
    let present = Query::select()
        .column(att::Column::MeetingId)
        .from(att::Entity)
        .and_where(att::Column::MemberId.eq(member_id))
        .and_where(att::Column::State.eq("present"))
        .to_owned();
    Ok(meeting::Entity::find()
        .filter(meeting::Column::Id.in_subquery(present))
        .filter(meeting::Column::Id.ne(except))
        .filter(meeting::Column::Status.ne("cancelled"))
        .filter(meeting::Column::StartsAt.lt(ends_at))
        .filter(meeting::Column::EndsAt.gt(starts_at))
        .order_by_asc(meeting::Column::StartsAt)
        .all(c)
        .await?)
}

/// What a guarded attendance update writes.
#[derive(Debug, Clone)]
pub struct Record {
    pub state: &'static str,
    pub channel: &'static str,
    pub at: DateTime<Utc>,
    pub by: Option<i64>,
    pub leave_reason: Option<String>,
    pub leave_status: Option<&'static str>,
}

/// Sets a member's row of a meeting to `r`, only if its state is one of
/// `from` (so "once per member" holds when two requests race) and, when
/// `max_failed` is given, fewer wrong codes were tried. Returns whether a
/// row changed.
pub async fn record<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    member_id: i64,
    from: &[&str],
    max_failed: Option<i32>,
    r: Record,
) -> Result<bool, StoreError> {
    let mut q = att::Entity::update_many();
    if let Some(m) = max_failed {
        q = q.filter(att::Column::FailedCodes.lt(m));
    }
    let res = q
        .col_expr(att::Column::State, r.state.into())
        .col_expr(att::Column::Channel, Some(r.channel.to_string()).into())
        .col_expr(att::Column::RecordedAt, Some(r.at).into())
        .col_expr(att::Column::RecordedBy, r.by.into())
        .col_expr(att::Column::LeaveReason, r.leave_reason.into())
        .col_expr(
            att::Column::LeaveStatus,
            r.leave_status.map(str::to_string).into(),
        )
        .col_expr(att::Column::LeaveDecidedBy, Option::<i64>::None.into())
        .filter(att::Column::MeetingId.eq(meeting_id))
        .filter(att::Column::MemberId.eq(member_id))
        .filter(att::Column::State.is_in(from.iter().copied()))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records the decision on a pending leave request. Returns whether a row changed.
pub async fn decide_leave<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    member_id: i64,
    status: &'static str,
    by: Option<i64>,
) -> Result<bool, StoreError> {
    let res = att::Entity::update_many()
        .col_expr(att::Column::LeaveStatus, Some(status.to_string()).into())
        .col_expr(att::Column::LeaveDecidedBy, by.into())
        .filter(att::Column::MeetingId.eq(meeting_id))
        .filter(att::Column::MemberId.eq(member_id))
        .filter(att::Column::State.eq("leave"))
        .filter(att::Column::LeaveStatus.eq("pending"))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Active branches and party groups with ids above `after`, in id order
/// (the organizations that owe organizational life), for the sweep.
pub async fn life_org_page<C: ConnectionTrait>(
    c: &C,
    after: i64,
    limit: u64,
) -> Result<Vec<crate::entities::org::Model>, StoreError> {
    use crate::entities::org;
    Ok(org::Entity::find()
        .filter(org::Column::Id.gt(after))
        .filter(org::Column::Kind.is_in(["branch", "group"]))
        .filter(org::Column::Status.eq("active"))
        .order_by_asc(org::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// Held meetings of `org_ids` starting at or after `from`.
pub async fn held_since<C: ConnectionTrait>(
    c: &C,
    org_ids: &[i64],
    from: DateTime<Utc>,
) -> Result<Vec<meeting::Model>, StoreError> {
    let mut out = Vec::new();
    for chunk in org_ids.chunks(900) {
        out.extend(
            meeting::Entity::find()
                .filter(meeting::Column::OrgId.is_in(chunk.iter().copied()))
                .filter(meeting::Column::Status.eq("held"))
                .filter(meeting::Column::StartsAt.gte(from))
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Counts one wrong sign-in code of a member for a meeting; returns the
/// count after it (`None` when the member is not on the list).
pub async fn add_failed_code<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    member_id: i64,
) -> Result<Option<i32>, StoreError> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    att::Entity::update_many()
        .col_expr(
            att::Column::FailedCodes,
            Expr::col(att::Column::FailedCodes).add(1),
        )
        .filter(att::Column::MeetingId.eq(meeting_id))
        .filter(att::Column::MemberId.eq(member_id))
        .exec(c)
        .await?;
    Ok(attendance_row(c, meeting_id, member_id)
        .await?
        .map(|r| r.failed_codes))
}
