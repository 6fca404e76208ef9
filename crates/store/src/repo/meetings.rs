//! Organizational life (DOMAIN.md §5): meetings of an organization by time,
//! the attendance rows of a meeting (one per expected member, created with
//! the meeting), the guarded updates that record presence or leave, and the
//! member's present meetings for the overlap check. Rows are corrected,
//! never deleted.

pub mod direct;

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

/// Presence at other meetings for a batch of sign-ins: `(member_id,
/// meeting)` for each of `member_ids` recorded present at a meeting, not
/// cancelled, overlapping `[from, to)` (the union of the batch's meeting
/// windows; the caller narrows it per meeting). Two queries whatever the
/// batch size.
pub async fn present_in_span<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, meeting::Model)>, StoreError> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    let overlapping = Query::select()
        .column(meeting::Column::Id)
        .from(meeting::Entity)
        .and_where(meeting::Column::Status.ne("cancelled"))
        .and_where(meeting::Column::StartsAt.lt(to))
        .and_where(meeting::Column::EndsAt.gt(from))
        .to_owned();
    let pairs: Vec<(i64, i64)> = att::Entity::find()
        .select_only()
        .column(att::Column::MemberId)
        .column(att::Column::MeetingId)
        .filter(att::Column::MemberId.is_in(member_ids.iter().copied()))
        .filter(att::Column::State.eq("present"))
        .filter(att::Column::MeetingId.in_subquery(overlapping))
        .into_tuple()
        .all(c)
        .await?;
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let meetings = by_ids(c, &meeting_ids_of(&pairs)).await?;
    Ok(with_meetings(pairs, meetings))
}

/// The distinct meeting ids of `(member_id, meeting_id)` pairs, in order.
fn meeting_ids_of(pairs: &[(i64, i64)]) -> Vec<i64> {
    let mut ids: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `(member_id, meeting)` for each pair whose meeting is among `meetings`.
fn with_meetings(
    pairs: Vec<(i64, i64)>,
    meetings: Vec<meeting::Model>,
) -> Vec<(i64, meeting::Model)> {
    let meetings: std::collections::HashMap<i64, meeting::Model> =
        meetings.into_iter().map(|m| (m.id, m)).collect();
    pairs
        .into_iter()
        .filter_map(|(member, m)| meetings.get(&m).map(|m| (member, m.clone())))
        .collect()
}

/// The attendance rows of `member_ids` at `meeting_ids` (every pair that
/// exists), for a batch of sign-ins.
pub async fn attendance_of<C: ConnectionTrait>(
    c: &C,
    meeting_ids: &[i64],
    member_ids: &[i64],
) -> Result<Vec<att::Model>, StoreError> {
    if meeting_ids.is_empty() || member_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(att::Entity::find()
        .filter(att::Column::MeetingId.is_in(meeting_ids.iter().copied()))
        .filter(att::Column::MemberId.is_in(member_ids.iter().copied()))
        .all(c)
        .await?)
}

/// One online sign-in of a batch: who, where, when, recorded by whom.
#[derive(Debug, Clone, Copy)]
pub struct OnlinePresence {
    pub meeting_id: i64,
    pub member_id: i64,
    pub at: DateTime<Utc>,
    pub by: Option<i64>,
}

/// Records a batch of online sign-ins with one multi-row
/// `UPDATE … FROM (VALUES …) RETURNING` per [`SIGNIN_CHUNK`] rows: each row
/// only if it is `expected` or `leave` and fewer than `max_failed` wrong
/// codes were tried (the same guard as [`record`], so "once per member"
/// holds under concurrent writers). Returns the `(meeting_id, member_id)`
/// pairs that changed.
///
/// The VALUES list is padded to a power of two with rows that match
/// nothing, so a handful of statement texts serve every batch size and
/// stay in the driver's prepared-statement cache.
pub async fn record_online_many<C: ConnectionTrait>(
    c: &C,
    rows: &[OnlinePresence],
    max_failed: i32,
) -> Result<Vec<(i64, i64)>, StoreError> {
    use sea_orm::{Statement, TryGetable, Value};
    let backend = c.get_database_backend();
    let mut changed = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(SIGNIN_CHUNK) {
        let n = chunk.len().next_power_of_two();
        let mut values: Vec<Value> = Vec::with_capacity(n * 4 + 1);
        for i in 0..n {
            match chunk.get(i) {
                Some(r) => {
                    values.push(r.meeting_id.into());
                    values.push(r.member_id.into());
                    values.push(Some(r.at).into());
                    values.push(r.by.into());
                }
                None => {
                    // Matches no row: ids start at 1.
                    values.push(0i64.into());
                    values.push(0i64.into());
                    values.push(Option::<DateTime<Utc>>::None.into());
                    values.push(Option::<i64>::None.into());
                }
            }
        }
        values.push(max_failed.into());
        let sql = record_online_sql(backend, n);
        let stmt = Statement::from_sql_and_values(backend, sql, values);
        for r in c.query_all_raw(stmt).await? {
            let get = |i: usize| {
                <i64 as TryGetable>::try_get_by(&r, i)
                    .map_err(|e| StoreError::Corrupt(format!("{e:?}")))
            };
            changed.push((get(0)?, get(1)?));
        }
    }
    Ok(changed)
}

/// Rows per statement of [`record_online_many`] (4 parameters each).
pub const SIGNIN_CHUNK: usize = 256;

fn record_online_sql(backend: sea_orm::DbBackend, rows: usize) -> String {
    let pg = backend == sea_orm::DbBackend::Postgres;
    let mut n = 0;
    let mut p = |sql: &mut String| {
        n += 1;
        if pg {
            sql.push('$');
            sql.push_str(&n.to_string());
        } else {
            sql.push('?');
        }
    };
    // Both engines name the columns of a bare VALUES list column1, column2…
    // PostgreSQL needs the types of the first row's NULLs spelled out.
    let mut sql = String::with_capacity(400 + rows * 24);
    sql.push_str(
        "UPDATE meeting_attendance SET state = 'present', channel = 'online', \
         recorded_at = v.column3, recorded_by = v.column4, leave_reason = NULL, \
         leave_status = NULL, leave_decided_by = NULL FROM (VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        p(&mut sql);
        sql.push(',');
        p(&mut sql);
        sql.push(',');
        p(&mut sql);
        if pg && r == 0 {
            sql.push_str("::timestamptz");
        }
        sql.push(',');
        p(&mut sql);
        if pg && r == 0 {
            sql.push_str("::bigint");
        }
        sql.push(')');
    }
    sql.push_str(
        ") AS v WHERE meeting_attendance.meeting_id = v.column1 \
         AND meeting_attendance.member_id = v.column2 \
         AND meeting_attendance.state IN ('expected', 'leave') \
         AND meeting_attendance.failed_codes < ",
    );
    p(&mut sql);
    sql.push_str(" RETURNING meeting_attendance.meeting_id, meeting_attendance.member_id");
    sql
}

/// PostgreSQL: takes the transaction-scoped advisory lock of each member
/// about to be recorded present, in id order (so two writers never wait
/// for each other in a cycle), before the overlap check reads their
/// presence elsewhere (DOMAIN.md §5: no member present at two overlapping
/// meetings, even when two transactions record them at once). SQLite has
/// one writer at a time already; nothing to do there.
pub async fn lock_presence<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
) -> Result<(), StoreError> {
    use sea_orm::{Statement, Value};
    if c.get_database_backend() != sea_orm::DbBackend::Postgres || member_ids.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<i64> = member_ids
        .iter()
        .map(|&m| PRESENCE_LOCK | (m & 0xffff_ffff))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // The LIMIT keeps the planner from evaluating the lock calls before
    // the ORDER BY (the PostgreSQL manual's advisory-lock advice).
    let list = keys
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let sql = "SELECT count(pg_advisory_xact_lock(k)) FROM \
               (SELECT k FROM unnest(string_to_array($1, ',')::bigint[]) AS t(k) \
               ORDER BY k LIMIT $2) s";
    c.execute_raw(Statement::from_sql_and_values(
        sea_orm::DbBackend::Postgres,
        sql,
        [Value::from(list), Value::from(keys.len() as i64)],
    ))
    .await?;
    Ok(())
}

/// High half of the advisory-lock keys of [`lock_presence`] ("djpr"); the
/// low half is the member id (ids past 2³² share keys, which only makes
/// them wait for each other).
pub const PRESENCE_LOCK: i64 = 0x646a_7072_0000_0000;
