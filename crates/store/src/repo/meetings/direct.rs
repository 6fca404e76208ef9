//! The sign-in batch's statements on a direct SQLite connection (see
//! [`crate::direct`]): the same reads and the same guarded update as
//! [`super::by_ids`], [`super::attendance_of`], [`super::present_in_span`]
//! and [`super::record_online_many`], each a short prepared statement run
//! inside the caller's `Direct::write` transaction, so a batch of sign-ins
//! costs one thread hand-off instead of two per statement.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::OnlinePresence;
use crate::StoreError;
use crate::direct::{Day, Time};
use crate::entities::{meeting, meeting_attendance as att};

/// A meeting by id, every column in the entity's order ([`meeting_of`]).
const MEETING_BY_ID: &str = "SELECT id, org_id, kind, title, agenda, place, online_link, \
     lecturer, by_secretary, starts_at, ends_at, status, signin_code, series_id, minutes, \
     minutes_on, created_by, created_at, updated_at FROM meetings WHERE id = ?";

fn meeting_of(r: &Row<'_>) -> rusqlite::Result<meeting::Model> {
    Ok(meeting::Model {
        id: r.get(0)?,
        org_id: r.get(1)?,
        kind: r.get(2)?,
        title: r.get(3)?,
        agenda: r.get(4)?,
        place: r.get(5)?,
        online_link: r.get(6)?,
        lecturer: r.get(7)?,
        by_secretary: r.get(8)?,
        starts_at: r.get::<_, Time>(9)?.0,
        ends_at: r.get::<_, Time>(10)?.0,
        status: r.get(11)?,
        signin_code: r.get(12)?,
        series_id: r.get(13)?,
        minutes: r.get(14)?,
        minutes_on: r.get::<_, Option<Day>>(15)?.map(|d| d.0),
        created_by: r.get(16)?,
        created_at: r.get::<_, Time>(17)?.0,
        updated_at: r.get::<_, Time>(18)?.0,
    })
}

/// Meetings by id (those that exist), one indexed read each.
pub fn by_ids(c: &Connection, ids: &[i64]) -> Result<Vec<meeting::Model>, StoreError> {
    let mut st = c.prepare_cached(MEETING_BY_ID)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut rows = st.query_map([id], meeting_of)?;
        if let Some(m) = rows.next() {
            out.push(m?);
        }
    }
    Ok(out)
}

/// The attendance row of each `(meeting_id, member_id)` pair that has one.
pub fn attendance_of(c: &Connection, pairs: &[(i64, i64)]) -> Result<Vec<att::Model>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, meeting_id, member_id, state, channel, recorded_at, recorded_by, \
         leave_reason, leave_status, leave_decided_by, failed_codes \
         FROM meeting_attendance WHERE meeting_id = ? AND member_id = ?",
    )?;
    let mut out = Vec::with_capacity(pairs.len());
    for (meeting_id, member_id) in pairs {
        let mut rows = st.query_map(params![meeting_id, member_id], |r| {
            Ok(att::Model {
                id: r.get(0)?,
                meeting_id: r.get(1)?,
                member_id: r.get(2)?,
                state: r.get(3)?,
                channel: r.get(4)?,
                recorded_at: r.get::<_, Option<Time>>(5)?.map(|t| t.0),
                recorded_by: r.get(6)?,
                leave_reason: r.get(7)?,
                leave_status: r.get(8)?,
                leave_decided_by: r.get(9)?,
                failed_codes: r.get(10)?,
            })
        })?;
        if let Some(a) = rows.next() {
            out.push(a?);
        }
    }
    Ok(out)
}

/// `(member_id, meeting)` for each of `member_ids` recorded present at a
/// meeting, not cancelled, overlapping `[from, to)` — as
/// [`super::present_in_span`], by the member's index.
pub fn present_in_span(
    c: &Connection,
    member_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, meeting::Model)>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT a.meeting_id FROM meeting_attendance a JOIN meetings m ON m.id = a.meeting_id \
         WHERE a.member_id = ? AND a.state = 'present' AND m.status <> 'cancelled' \
         AND m.starts_at < ? AND m.ends_at > ?",
    )?;
    // Formatted once for every member's query.
    let (from, to) = (crate::direct::time_text(from), crate::direct::time_text(to));
    let mut pairs = Vec::new();
    for member in member_ids {
        let rows = st.query_map(params![member, &to, &from], |r| r.get::<_, i64>(0))?;
        for m in rows {
            pairs.push((*member, m?));
        }
    }
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let meetings = by_ids(c, &super::meeting_ids_of(&pairs))?;
    Ok(super::with_meetings(pairs, meetings))
}

/// Records one online sign-in with the guarded update of
/// [`super::record_online_many`] (only an `expected` or `leave` row with
/// fewer than `max_failed` wrong codes); true when the row changed.
pub fn record_online(
    c: &Connection,
    row: &OnlinePresence,
    max_failed: i32,
) -> Result<bool, StoreError> {
    let mut st = c.prepare_cached(
        "UPDATE meeting_attendance SET state = 'present', channel = 'online', \
         recorded_at = ?, recorded_by = ?, leave_reason = NULL, leave_status = NULL, \
         leave_decided_by = NULL \
         WHERE meeting_id = ? AND member_id = ? AND state IN ('expected', 'leave') \
         AND failed_codes < ?",
    )?;
    let n = st.execute(params![
        Time(row.at),
        row.by,
        row.meeting_id,
        row.member_id,
        max_failed
    ])?;
    Ok(n == 1)
}
