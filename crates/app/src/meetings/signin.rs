//! Group commit of online sign-ins (issue 6: thousands of members signing
//! in to one meeting within minutes). A sign-in that passed the checks made
//! before any write (the caller, the meeting, the code, the window) joins a
//! queue; one writer task at a time takes up to [`BATCH_MAX`] of them and
//! records them in one write transaction — the meeting rows re-read under
//! the write lock, the overlap check for every member at once (DOMAIN.md
//! §5), the guarded `UPDATE` of each attendance row (on SQLite's direct
//! connection one short update per item, through the pool the rows read
//! first and one multi-row `UPDATE … RETURNING`) — and
//! answers each caller only after that transaction committed, so a `201`
//! is as durable as before. Each sign-in gets its own answer: a refusal
//! (already signed in, outside the window, not expected, present at an
//! overlapping meeting, cancelled) concerns that member only.
//!
//! The items of a batch are decided in queue order as if they ran one
//! after the other ([`decide`]): an earlier item of the same batch counts
//! as recorded for the later ones (the same member twice, or at two
//! overlapping meetings). On PostgreSQL, where writers are not serialized,
//! the batch first takes each member's advisory lock
//! (`repo::lock_presence`), the same the paper list takes, so two
//! transactions cannot both pass the overlap check for one member.
//!
//! The writer is a task spawned by the sign-in that finds none running; it
//! exits when the queue is empty. It is not the request's own future, so a
//! client that hangs up cancels nothing. If a batch's transaction fails as
//! a whole, its items are retried one by one so one bad item cannot fail
//! the others.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use dangjian_domain::FieldError;
use dangjian_domain::ValidationErrors;
use dangjian_domain::meetings::{self as dm, MeetingStatus, OtherMeeting};
use dangjian_store::entities::{meeting, meeting_attendance, org};
use dangjian_store::repo::meetings::{self as repo, OnlinePresence};
use dangjian_store::repo::orgs as orepo;
use tokio::sync::oneshot;

use super::{MAX_FAILED_CODES, local_text, locked, window_of};
use crate::{App, AppError};

/// Sign-ins recorded per transaction at most.
pub const BATCH_MAX: usize = 256;

/// A sign-in that passed the checks made before writing.
pub(crate) struct Pending {
    /// The acting user's audit id (who recorded the presence).
    pub by: Option<i64>,
    pub meeting_id: i64,
    pub member_id: i64,
    pub now: DateTime<Utc>,
}

/// What the writer answers: when the presence was recorded, or why not.
type Outcome = Result<DateTime<Utc>, AppError>;
type Job = (Pending, oneshot::Sender<Outcome>);

/// The sign-ins waiting for the writer, and whether a writer runs.
#[derive(Default)]
pub(crate) struct Queue {
    inner: Mutex<QueueInner>,
}

#[derive(Default)]
struct QueueInner {
    jobs: VecDeque<Job>,
    writing: bool,
    /// Items of the batch being written.
    in_batch: usize,
    batches: u64,
    direct: u64,
    items: u64,
}

/// Counters of the group commit (for the benchmark, tests and operators).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SignInStats {
    /// Batches taken by the writer (one transaction each, unless a batch
    /// failed as a whole and its items were retried alone).
    pub batches: u64,
    /// Of those, the batches written over the direct SQLite connection
    /// (`store::direct`); the others went through the pool (PostgreSQL,
    /// a batch with a held meeting, a retry).
    pub direct: u64,
    /// Sign-ins those batches answered (recorded or refused).
    pub items: u64,
    /// Sign-ins waiting for the next batch.
    pub waiting: usize,
    /// Sign-ins in the batch being written.
    pub writing: usize,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a job; true when no writer runs and the caller must start one.
    fn push(&self, job: Job) -> bool {
        let mut q = self.lock();
        q.jobs.push_back(job);
        !std::mem::replace(&mut q.writing, true)
    }

    /// The next batch, or `None` — and the writer stops — when empty.
    fn take(&self) -> Option<Vec<Job>> {
        let mut q = self.lock();
        if q.jobs.is_empty() {
            q.writing = false;
            return None;
        }
        let n = q.jobs.len().min(BATCH_MAX);
        q.in_batch = n;
        q.batches += 1;
        Some(q.jobs.drain(..n).collect())
    }

    /// The batch taken last is answered (`direct`: over the direct
    /// connection).
    fn answered(&self, direct: bool) {
        let mut q = self.lock();
        q.direct += u64::from(direct);
        q.items += q.in_batch as u64;
        q.in_batch = 0;
    }

    fn stats(&self) -> SignInStats {
        let q = self.lock();
        SignInStats {
            batches: q.batches,
            direct: q.direct,
            items: q.items,
            waiting: q.jobs.len(),
            writing: q.in_batch,
        }
    }

    /// The writer ended without emptying the queue (its task was dropped
    /// or panicked): the waiting callers get an error, the next sign-in
    /// starts a new writer.
    fn abandon(&self) {
        let mut q = self.lock();
        q.jobs.clear();
        q.in_batch = 0;
        q.writing = false;
    }
}

/// Resets the queue if the writer's task ends early.
struct WriterGuard<'a>(&'a Queue, bool);

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.abandon();
        }
    }
}

/// An attendance row as the batch sees it (re-read, then updated by the
/// batch's own earlier items).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowState {
    pub state: String,
    pub failed_codes: i32,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl From<&meeting_attendance::Model> for RowState {
    fn from(r: &meeting_attendance::Model) -> Self {
        Self {
            state: r.state.clone(),
            failed_codes: r.failed_codes,
            recorded_at: r.recorded_at,
        }
    }
}

/// Why a row does not take an online sign-in (DOMAIN.md §5: once per
/// member, only those expected, locked after wrong codes); `None` when it
/// does.
pub(crate) fn row_refusal(row: Option<&RowState>) -> Option<AppError> {
    match row {
        Some(r)
            if (r.state == "expected" || r.state == "leave")
                && r.failed_codes < MAX_FAILED_CODES =>
        {
            None
        }
        Some(r) if r.state != "present" => Some(locked()),
        Some(r) => {
            let at = r.recorded_at.map(local_text).unwrap_or_default();
            Some(AppError::Conflict(FieldError::new(
                "member_id",
                "already_present",
                format!("已于 {at} 签到"),
                format!("Already signed in at {at}"),
            )))
        }
        None => Some(AppError::Conflict(FieldError::new(
            "member_id",
            "not_expected",
            "您不在本次会议的应到名单上，请联系支部书记",
            "You are not on this meeting's attendance list; ask the secretary",
        ))),
    }
}

/// What one item of a batch asks: member, meeting, instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    pub meeting_id: i64,
    pub member_id: i64,
    pub now: DateTime<Utc>,
}

/// Decides the items of a batch in order, as if each ran alone after the
/// ones before it: the meeting (as re-read in the transaction) must exist
/// and not be cancelled, the instant lie in its sign-in window, the member
/// be present at no overlapping meeting — stored (`elsewhere`, by member,
/// by start) or accepted earlier in this batch — and their row take the
/// sign-in ([`row_refusal`]). Pure; `rows` and `elsewhere` are updated
/// with each accepted item.
pub(crate) fn decide(
    asks: &[Ask],
    meetings: &HashMap<i64, meeting::Model>,
    rows: &mut HashMap<(i64, i64), RowState>,
    elsewhere: &mut HashMap<i64, Vec<OtherMeeting>>,
) -> Vec<Option<AppError>> {
    let taken = decide_with(asks, meetings, elsewhere, |_, a| {
        let key = (a.meeting_id, a.member_id);
        if let Some(e) = row_refusal(rows.get(&key)) {
            return Ok::<_, std::convert::Infallible>(Some(e));
        }
        if let Some(r) = rows.get_mut(&key) {
            r.state = "present".into();
            r.recorded_at = Some(a.now);
        }
        Ok(None)
    });
    match taken {
        Ok(d) => d,
        Err(never) => match never {},
    }
}

/// The order and rules of [`decide`], with the row's part left to `take`:
/// called, in order, for each item that passed the meeting, window and
/// overlap checks, it records the item's presence (the item's index and
/// ask) or answers why its row refuses it ([`row_refusal`]). So the direct
/// SQLite batch can run each guarded `UPDATE` as its own decision instead
/// of reading every row first. An error of `take` stops the batch.
pub(crate) fn decide_with<E>(
    asks: &[Ask],
    meetings: &HashMap<i64, meeting::Model>,
    elsewhere: &mut HashMap<i64, Vec<OtherMeeting>>,
    mut take: impl FnMut(usize, &Ask) -> Result<Option<AppError>, E>,
) -> Result<Vec<Option<AppError>>, E> {
    let mut out = Vec::with_capacity(asks.len());
    for (i, a) in asks.iter().enumerate() {
        let Some(m) = meetings.get(&a.meeting_id) else {
            out.push(Some(AppError::NotFound("meeting")));
            continue;
        };
        if m.status == MeetingStatus::Cancelled.as_str() {
            out.push(Some(AppError::Conflict(FieldError::new(
                "status",
                "cancelled",
                "会议已取消",
                "The meeting was cancelled",
            ))));
            continue;
        }
        let w = window_of(m);
        if let Some(e) = dm::signin_time_error(&w, a.now, &local_text) {
            out.push(Some(AppError::Validation(ValidationErrors(vec![e]))));
            continue;
        }
        let others: Vec<OtherMeeting> = elsewhere
            .get(&a.member_id)
            .map(|v| v.iter().filter(|o| o.id != m.id).cloned().collect())
            .unwrap_or_default();
        if let Some(e) = dm::overlap_error(&w, &others, &local_text) {
            out.push(Some(AppError::Conflict(e)));
            continue;
        }
        if let Some(e) = take(i, a)? {
            out.push(Some(e));
            continue;
        }
        let list = elsewhere.entry(a.member_id).or_default();
        list.push(OtherMeeting {
            id: m.id,
            title: m.title.clone(),
            window: w,
        });
        list.sort_by_key(|o| o.window.starts_at);
        out.push(None);
    }
    Ok(out)
}

impl App {
    /// Queues a checked sign-in for the writer and waits until its batch
    /// committed; returns when the presence was recorded.
    pub(crate) async fn commit_sign_in(&self, p: Pending) -> Outcome {
        let (tx, rx) = oneshot::channel();
        if self.signins.push((p, tx)) {
            let app = self.clone();
            tokio::spawn(async move { app.write_sign_ins().await });
        }
        rx.await
            .map_err(|_| AppError::Internal("the sign-in writer stopped".into()))?
    }

    /// The writer: batches until the queue is empty.
    async fn write_sign_ins(&self) {
        let mut guard = WriterGuard(&self.signins, false);
        loop {
            // Let the requests that are ready run first: under load they
            // join this batch, so there are fewer, larger transactions —
            // and fewer commits, each of which also empties the page cache
            // of every reading connection (4 sign-ins per transaction
            // became 24 in the bench). When idle it costs one yield.
            // (Yielding again while the queue kept growing doubled the
            // batches and gained nothing more.)
            tokio::task::yield_now().await;
            let Some(batch) = self.signins.take() else {
                break;
            };
            let (pending, replies): (Vec<Pending>, Vec<oneshot::Sender<Outcome>>) =
                batch.into_iter().unzip();
            let mut direct = false;
            let outcomes = match self.sign_in_batch_any(&pending).await {
                Ok((o, d)) => {
                    direct = d;
                    o
                }
                Err(e) if pending.len() == 1 => vec![Err(e)],
                Err(e) => {
                    tracing::warn!(error = %e, items = pending.len(), "sign-in batch failed; retrying its items one by one");
                    let mut v = Vec::with_capacity(pending.len());
                    for p in &pending {
                        v.push(match self.sign_in_batch(std::slice::from_ref(p)).await {
                            Ok(mut o) => o.pop().unwrap_or_else(|| {
                                Err(AppError::Internal("no outcome for a sign-in".into()))
                            }),
                            Err(e) => Err(e),
                        });
                    }
                    v
                }
            };
            self.signins.answered(direct);
            for (reply, o) in replies.into_iter().zip(outcomes) {
                // A caller that hung up no longer waits; its sign-in stands.
                let _ = reply.send(o);
            }
        }
        guard.1 = true;
    }

    /// Counters of the sign-in group commit.
    pub fn sign_in_stats(&self) -> SignInStats {
        self.signins.stats()
    }

    /// Records `pending` in one write transaction: on a SQLite file over
    /// the direct writer connection ([`Self::sign_in_batch_direct`]) unless
    /// a meeting of the batch is already held, otherwise through the pool
    /// ([`Self::sign_in_batch`]). True with the outcomes when direct.
    async fn sign_in_batch_any(
        &self,
        pending: &[Pending],
    ) -> Result<(Vec<Outcome>, bool), AppError> {
        if let Some(out) = self.sign_in_batch_direct(pending).await? {
            return Ok((out, true));
        }
        Ok((self.sign_in_batch(pending).await?, false))
    }

    /// SQLite: the whole batch on the direct writer connection
    /// ([`batch_direct`]). When SQLite's write lock is free at once (no
    /// other process writes; this process's writers take turns behind the
    /// write gate) it runs right here on the writer task: a batch is a few
    /// hundred microseconds of CPU and no `fsync` (WAL with
    /// `synchronous = NORMAL`), and a hand-off to a blocking thread and back
    /// cost each sign-in about 5 µs of CPU (BENCHMARKS.md). Otherwise it
    /// waits for the lock in `spawn_blocking`, off the runtime's threads.
    /// Through the pool each of the batch's statements was two hand-offs.
    /// `None` when there is no direct
    /// connection (PostgreSQL) or a meeting of the batch is already marked
    /// held: a late sign-in there also gets its certificate and counts for
    /// participation, which [`Self::sign_in_batch`] writes.
    async fn sign_in_batch_direct(
        &self,
        pending: &[Pending],
    ) -> Result<Option<Vec<Outcome>>, AppError> {
        let Some(direct) = self.db.direct.clone() else {
            return Ok(None);
        };
        let asks = asks_of(pending);
        let by: Vec<Option<i64>> = pending.iter().map(|p| p.by).collect();
        // The same gate as every other write of this process, so the pool's
        // writers and this one take turns instead of meeting SQLite's busy
        // handler.
        let _writer = self.write_gate.lock().await;
        if let Some(decided) = direct.try_write(|c| batch_direct(c, &asks, &by))? {
            return Ok(decided);
        }
        let decided =
            tokio::task::spawn_blocking(move || direct.write(|c| batch_direct(c, &asks, &by)))
                .await
                .map_err(|e| AppError::Internal(format!("the sign-in writer failed: {e}")))??;
        Ok(decided)
    }

    /// Records `pending` in one write transaction; one outcome per item.
    async fn sign_in_batch(&self, pending: &[Pending]) -> Result<Vec<Outcome>, AppError> {
        let (_writer, tx) = self.begin_write().await?;
        let asks = asks_of(pending);
        let (members, meeting_ids) = ids_of(&asks);
        repo::lock_presence(&tx, &members).await?;
        let meetings: HashMap<i64, meeting::Model> = repo::by_ids(&tx, &meeting_ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut rows: HashMap<(i64, i64), RowState> =
            repo::attendance_of(&tx, &meeting_ids, &members)
                .await?
                .iter()
                .map(|r| ((r.meeting_id, r.member_id), RowState::from(r)))
                .collect();
        let mut elsewhere = match span_of(&meetings) {
            Some((from, to)) => elsewhere_of(repo::present_in_span(&tx, &members, from, to).await?),
            None => HashMap::new(),
        };
        let decided = decide(&asks, &meetings, &mut rows, &mut elsewhere);
        let by: Vec<Option<i64>> = pending.iter().map(|p| p.by).collect();
        let accepted = accepted_of(&asks, &by, &decided);
        let changed: std::collections::HashSet<(i64, i64)> =
            repo::record_online_many(&tx, &accepted, MAX_FAILED_CODES)
                .await?
                .into_iter()
                .collect();
        let mut out = Vec::with_capacity(pending.len());
        let mut orgs: HashMap<i64, org::Model> = HashMap::new();
        for (p, d) in pending.iter().zip(decided) {
            if let Some(e) = d {
                out.push(Err(e));
                continue;
            }
            if !changed.contains(&(p.meeting_id, p.member_id)) {
                // Changed since it was read (PostgreSQL: a writer that does
                // not take the presence lock, e.g. a wrong code counted).
                let row = repo::attendance_row(&tx, p.meeting_id, p.member_id).await?;
                out.push(Err(row_refusal(row.as_ref().map(RowState::from).as_ref())
                    .unwrap_or_else(|| {
                        AppError::Internal("sign-in row changed concurrently".into())
                    })));
                continue;
            }
            // A sign-in to a meeting already marked held gets its
            // certificate and counts for participation now (the closing
            // write did both for those present then).
            if let Some(m) = meetings
                .get(&p.meeting_id)
                .filter(|m| m.status == MeetingStatus::Held.as_str())
            {
                let o = match orgs.entry(m.org_id) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(
                        orepo::get(&tx, m.org_id)
                            .await?
                            .ok_or(AppError::NotFound("meeting"))?,
                    ),
                };
                self.issue_certificates_in(&tx, p.by, m, o, Some(p.member_id), p.now)
                    .await?;
                crate::participation::evaluate_after_presence(
                    &tx,
                    p.member_id,
                    self.today(),
                    p.now,
                )
                .await?;
            }
            out.push(Ok(p.now));
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// The whole batch in the writer's transaction (SQLite, direct
/// connection): the meetings and the members' presence elsewhere read
/// under the write lock, then [`decide_with`] in queue order, where each
/// item's guarded `UPDATE` is its row's decision (its row is read only when
/// the update refuses it, to say why). `None` when a meeting of the batch
/// is already held.
fn batch_direct(
    c: &dangjian_store::rusqlite::Connection,
    asks: &[Ask],
    by: &[Option<i64>],
) -> Result<Option<Vec<Outcome>>, dangjian_store::StoreError> {
    let (members, meeting_ids) = ids_of(asks);
    let meetings: HashMap<i64, meeting::Model> = repo::direct::by_ids(c, &meeting_ids)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    if meetings
        .values()
        .any(|m| m.status == MeetingStatus::Held.as_str())
    {
        return Ok(None);
    }
    let mut elsewhere = match span_of(&meetings) {
        Some((from, to)) => elsewhere_of(repo::direct::present_in_span(c, &members, from, to)?),
        None => HashMap::new(),
    };
    // Under SQLite's write lock each guarded update is the row's decision:
    // it changes the row, or the row (read only then) says why not.
    let decided = decide_with(asks, &meetings, &mut elsewhere, |i, a| {
        let presence = OnlinePresence {
            meeting_id: a.meeting_id,
            member_id: a.member_id,
            at: a.now,
            by: by.get(i).copied().flatten(),
        };
        if repo::direct::record_online(c, &presence, MAX_FAILED_CODES)? {
            return Ok::<_, dangjian_store::StoreError>(None);
        }
        let row = repo::direct::attendance_of(c, &[(a.meeting_id, a.member_id)])?;
        Ok(Some(
            row_refusal(row.first().map(RowState::from).as_ref()).unwrap_or_else(|| {
                AppError::Internal("sign-in row changed within its transaction".into())
            }),
        ))
    })?;
    Ok(Some(
        asks.iter()
            .zip(decided)
            .map(|(a, d)| match d {
                Some(e) => Err(e),
                None => Ok(a.now),
            })
            .collect::<Vec<Outcome>>(),
    ))
}

/// What each item of a batch asks.
fn asks_of(pending: &[Pending]) -> Vec<Ask> {
    pending
        .iter()
        .map(|p| Ask {
            meeting_id: p.meeting_id,
            member_id: p.member_id,
            now: p.now,
        })
        .collect()
}

/// The presences to write: the items `decide` accepted, each recorded by
/// its `by` (the acting user's audit id).
fn accepted_of(
    asks: &[Ask],
    by: &[Option<i64>],
    decided: &[Option<AppError>],
) -> Vec<OnlinePresence> {
    asks.iter()
        .zip(by)
        .zip(decided)
        .filter(|(_, d)| d.is_none())
        .map(|((a, by), _)| OnlinePresence {
            meeting_id: a.meeting_id,
            member_id: a.member_id,
            at: a.now,
            by: *by,
        })
        .collect()
}

/// The distinct members and meetings of a batch, each in id order.
fn ids_of(asks: &[Ask]) -> (Vec<i64>, Vec<i64>) {
    let (mut members, mut meetings): (Vec<i64>, Vec<i64>) =
        asks.iter().map(|a| (a.member_id, a.meeting_id)).unzip();
    for v in [&mut members, &mut meetings] {
        v.sort_unstable();
        v.dedup();
    }
    (members, meetings)
}

/// The union of the meetings' windows: the span in which presence
/// elsewhere can overlap one of them.
fn span_of(meetings: &HashMap<i64, meeting::Model>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    meetings.values().fold(None, |acc, m| {
        Some(match acc {
            None => (m.starts_at, m.ends_at),
            Some((s, e)) => (s.min(m.starts_at), e.max(m.ends_at)),
        })
    })
}

/// Presence elsewhere by member, each list by start.
fn elsewhere_of(pairs: Vec<(i64, meeting::Model)>) -> HashMap<i64, Vec<OtherMeeting>> {
    let mut elsewhere: HashMap<i64, Vec<OtherMeeting>> = HashMap::new();
    for (member, m) in pairs {
        elsewhere.entry(member).or_default().push(OtherMeeting {
            id: m.id,
            title: m.title.clone(),
            window: window_of(&m),
        });
    }
    for v in elsewhere.values_mut() {
        v.sort_by_key(|o| o.window.starts_at);
    }
    elsewhere
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Actor;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0)
            .single()
            .expect("instant")
    }

    fn meeting(id: i64, title: &str, start_min: i64, status: MeetingStatus) -> meeting::Model {
        meeting::Model {
            id,
            org_id: 1,
            kind: "branch_assembly".into(),
            title: title.into(),
            agenda: String::new(),
            place: None,
            online_link: None,
            lecturer: None,
            by_secretary: false,
            starts_at: t0() + Duration::minutes(start_min),
            ends_at: t0() + Duration::minutes(start_min + 90),
            status: status.as_str().into(),
            signin_code: "123456".into(),
            series_id: None,
            minutes: None,
            minutes_on: None,
            created_by: None,
            created_at: t0(),
            updated_at: t0(),
        }
    }

    fn row(state: &str, failed: i32) -> RowState {
        RowState {
            state: state.into(),
            failed_codes: failed,
            recorded_at: (state == "present").then(t0),
        }
    }

    fn ask(meeting_id: i64, member_id: i64) -> Ask {
        Ask {
            meeting_id,
            member_id,
            now: t0(),
        }
    }

    fn code(d: &Option<AppError>) -> &'static str {
        match d {
            None => "accepted",
            Some(AppError::Conflict(e)) => e.code,
            Some(AppError::Validation(v)) => v.0[0].code,
            Some(AppError::NotFound(_)) => "not_found",
            Some(_) => "other",
        }
    }

    /// Two meetings that overlap (1, 2), one later (3), one cancelled (4),
    /// one in two days (5).
    fn meetings() -> HashMap<i64, meeting::Model> {
        [
            meeting(1, "支部党员大会", -10, MeetingStatus::Scheduled),
            meeting(2, "专题党课", 30, MeetingStatus::Scheduled),
            meeting(3, "主题党日", 100, MeetingStatus::Held),
            meeting(4, "已取消的会", 0, MeetingStatus::Cancelled),
            meeting(5, "后天的会", 2 * 24 * 60, MeetingStatus::Scheduled),
        ]
        .into_iter()
        .map(|m| (m.id, m))
        .collect()
    }

    #[test]
    fn items_of_a_batch_count_for_the_later_ones() {
        let ms = meetings();
        let mut rows: HashMap<(i64, i64), RowState> = [
            ((1, 7), row("expected", 0)),
            ((2, 7), row("expected", 0)),
            ((3, 7), row("leave", 0)),
        ]
        .into_iter()
        .collect();
        let mut elsewhere = HashMap::new();
        // The same member twice at meeting 1, then at the overlapping
        // meeting 2, then (an hour later, once its sign-in opened) at
        // meeting 3 which overlaps neither.
        let later = Ask {
            now: t0() + Duration::minutes(75),
            ..ask(3, 7)
        };
        let asks = [ask(1, 7), ask(1, 7), ask(2, 7), later];
        let d = decide(&asks, &ms, &mut rows, &mut elsewhere);
        let codes: Vec<&str> = d.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                "accepted",
                "already_present",
                "overlapping_meeting",
                "accepted"
            ]
        );
        // The overlap names the meeting accepted earlier in the batch.
        match &d[2] {
            Some(AppError::Conflict(e)) => assert!(e.message_zh.contains("支部党员大会")),
            other => panic!("{other:?}"),
        }
        assert_eq!(rows[&(1, 7)].state, "present");
        assert_eq!(rows[&(3, 7)].state, "present");
        assert_eq!(rows[&(2, 7)].state, "expected");
    }

    #[test]
    fn each_item_is_refused_on_its_own() {
        let ms = meetings();
        let mut rows: HashMap<(i64, i64), RowState> = [
            ((1, 1), row("present", 0)),
            ((1, 2), row("expected", MAX_FAILED_CODES)),
            ((2, 4), row("expected", 0)),
            ((1, 5), row("expected", 0)),
            ((4, 6), row("expected", 0)),
            ((5, 8), row("expected", 0)),
            ((1, 9), row("expected", 0)),
        ]
        .into_iter()
        .collect();
        // Member 4 is present (stored) at meeting 1, which overlaps 2.
        let mut elsewhere: HashMap<i64, Vec<OtherMeeting>> = HashMap::new();
        elsewhere.entry(4).or_default().push(OtherMeeting {
            id: 1,
            title: "支部党员大会".into(),
            window: window_of(&ms[&1]),
        });
        let asks = [
            ask(1, 1),
            ask(1, 2),
            ask(1, 3),
            ask(2, 4),
            ask(1, 5),
            ask(4, 6),
            ask(99, 7),
            ask(5, 8),
            ask(1, 9),
        ];
        let d = decide(&asks, &ms, &mut rows, &mut elsewhere);
        let codes: Vec<&str> = d.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                "already_present",
                "too_many_attempts",
                "not_expected",
                "overlapping_meeting",
                "accepted",
                "cancelled",
                "not_found",
                "outside_window",
                "accepted",
            ]
        );
    }

    #[test]
    fn a_refused_item_does_not_block_the_member_elsewhere() {
        let ms = meetings();
        // Locked at meeting 1: refused there, so meeting 2 (overlapping)
        // is free for the member.
        let mut rows: HashMap<(i64, i64), RowState> = [
            ((1, 7), row("expected", MAX_FAILED_CODES)),
            ((2, 7), row("expected", 0)),
        ]
        .into_iter()
        .collect();
        let mut elsewhere = HashMap::new();
        let d = decide(&[ask(1, 7), ask(2, 7)], &ms, &mut rows, &mut elsewhere);
        let codes: Vec<&str> = d.iter().map(code).collect();
        assert_eq!(codes, ["too_many_attempts", "accepted"]);
    }

    #[test]
    fn the_queue_hands_out_batches_and_stops_when_empty() {
        let q = Queue::default();
        let mut rxs = Vec::new();
        let job = |rxs: &mut Vec<_>| {
            let (tx, rx) = oneshot::channel();
            rxs.push(rx);
            (
                Pending {
                    by: Actor::system(1, "/1/").audit_id(),
                    meeting_id: 1,
                    member_id: 1,
                    now: t0(),
                },
                tx,
            )
        };
        assert!(q.push(job(&mut rxs)), "the first job starts a writer");
        for _ in 0..BATCH_MAX + 9 {
            assert!(!q.push(job(&mut rxs)), "one writer at a time");
        }
        assert_eq!(q.take().map(|b| b.len()), Some(BATCH_MAX));
        assert_eq!(q.take().map(|b| b.len()), Some(10));
        assert!(q.take().is_none());
        assert!(
            q.push(job(&mut rxs)),
            "the writer stopped: a new one starts"
        );
        q.abandon();
        assert!(q.push(job(&mut rxs)));
    }
}
