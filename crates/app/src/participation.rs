//! Participation in organizational life (the meetings context, DOMAIN.md §5,
//! §6): a member's attendance rate by type and year, runs of unexcused
//! absences and the evaluation points they cost (thresholds per subtree
//! through the warning engine's audited overrides), a branch's table of
//! its members, and the member warnings `consecutive_absences` and
//! `six_month_no_life` — evaluated when attendance is recorded or a meeting
//! closes, and by [`App::sweep_participation`].
//!
//! Access: a member reads their own; those who may list a branch's members
//! read its table and each member's report. Anything else is `NotFound`.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use dangjian_domain::meetings::{AttendanceState, LeaveStatus, MeetingKind};
use dangjian_domain::participation::{
    self as dp, Expected, PARTICIPATION_RULES, Participation, outcome,
};
use dangjian_domain::warnings::{SubjectKind, WarningState};
use dangjian_store::entities::org;
use dangjian_store::repo::meetings as mrepo;
use dangjian_store::repo::orgs as orepo;
use dangjian_store::repo::participation as repo;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::clock::to_local;
use crate::meetings::{SWEEP_PAGE, YEAR_MAX, YEAR_MIN, local_midnight};
use crate::orgs::OrgView;
use crate::warnings::{
    EngineCounts, Overrides, SweepReport, load_overrides, reconcile_subjects, settings_for,
};
use crate::{Actor, App, AppError};

/// How far back the warnings look for a member's last organizational life.
pub const LOOKBACK_MONTHS: u32 = 24;

/// One member's participation in a year.
#[derive(Debug, Clone, Serialize)]
pub struct MemberParticipation {
    pub member_id: i64,
    pub name: String,
    pub org: OrgView,
    pub report: Participation,
}

/// A branch's members' participation in a year.
#[derive(Debug, Clone, Serialize)]
pub struct BranchParticipation {
    pub org: OrgView,
    pub year: i32,
    pub members: Vec<MemberParticipation>,
}

fn year_bounds(year: i32) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let ok = (YEAR_MIN..=YEAR_MAX).contains(&year);
    match (
        ok,
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 1, 1),
    ) {
        (true, Some(a), Some(b)) => Ok((local_midnight(a), local_midnight(b))),
        _ => Err(AppError::field(
            "year",
            "invalid_year",
            "年份无效",
            "year is not valid",
        )),
    }
}

/// The held meetings each member was expected at, from the stored rows.
async fn expected_of<C: ConnectionTrait>(
    c: &C,
    member_ids: &[i64],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<i64, Vec<Expected>>, AppError> {
    let mut out: HashMap<i64, Vec<Expected>> = HashMap::new();
    for (a, m) in repo::held_rows(c, member_ids, from, to).await? {
        let Some(kind) = MeetingKind::parse(&m.kind) else {
            continue;
        };
        let state = AttendanceState::parse(&a.state).unwrap_or(AttendanceState::Expected);
        let leave = a.leave_status.as_deref().and_then(LeaveStatus::parse);
        out.entry(a.member_id).or_default().push(Expected {
            meeting_id: m.id,
            kind,
            starts_at: m.starts_at,
            day: to_local(m.starts_at).date_naive(),
            outcome: outcome(state, leave),
        });
    }
    Ok(out)
}

/// `consecutive_absences` and `six_month_no_life` for `members` (id,
/// organization) on `today`, reconciled with their stored warnings in `c`.
pub(crate) async fn evaluate_participation<C: ConnectionTrait>(
    c: &C,
    members: &[(i64, i64)],
    overrides: &Overrides,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    if members.is_empty() {
        return Ok(EngineCounts::default());
    }
    let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
    let org_of: HashMap<i64, i64> = members.iter().copied().collect();
    let mut org_ids: Vec<i64> = members.iter().map(|m| m.1).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let paths: HashMap<i64, String> = orepo::by_ids(c, &org_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.path))
        .collect();
    let from = today
        .checked_sub_months(Months::new(LOOKBACK_MONTHS))
        .unwrap_or(today);
    let to = local_midnight(today + chrono::Duration::days(1));
    let rows = expected_of(c, &ids, local_midnight(from), to).await?;
    let mut findings = Vec::new();
    for (id, org_id) in members {
        let Some(ms) = rows.get(id) else { continue };
        let t = paths
            .get(org_id)
            .map(|p| settings_for(p, overrides).thresholds)
            .unwrap_or_default();
        findings.extend(dp::absence_findings(*id, ms, &t.consecutive_absences));
        findings.extend(dp::no_life_findings(*id, ms, &t.six_month_rule, today));
    }
    reconcile_subjects(
        c,
        SubjectKind::Member,
        &ids,
        PARTICIPATION_RULES,
        &findings,
        &|id| org_of.get(&id).copied(),
        today,
        now,
    )
    .await
}

/// After a member's online sign-in (DOMAIN.md §5–§6). A presence can only
/// end a run of unexcused absences or a stretch without organizational
/// life, never start one, so the member's participation rules are evaluated
/// only when one of their warnings is live: one indexed read for everyone
/// else, which keeps the sign-in surge cheap.
pub(crate) async fn evaluate_after_presence<C: ConnectionTrait>(
    c: &C,
    member_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    let codes: Vec<&str> = PARTICIPATION_RULES.iter().map(|r| r.as_str()).collect();
    let live = dangjian_store::repo::warnings::of_subjects(
        c,
        SubjectKind::Member.as_str(),
        member_id,
        member_id,
        &codes,
    )
    .await?
    .iter()
    .any(|w| {
        matches!(
            WarningState::parse(&w.state),
            Some(WarningState::Open | WarningState::Acknowledged)
        )
    });
    if !live {
        return Ok(EngineCounts::default());
    }
    let members = repo::member_orgs(c, &[member_id]).await?;
    let all = load_overrides(c, None).await?;
    evaluate_participation(c, &members, &all, today, now).await
}

/// [`evaluate_participation`] for the expected members of one meeting.
pub(crate) async fn evaluate_meeting_members<C: ConnectionTrait>(
    c: &C,
    meeting_id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<EngineCounts, AppError> {
    let ids: Vec<i64> = mrepo::attendance(c, meeting_id)
        .await?
        .iter()
        .map(|a| a.member_id)
        .collect();
    let members = repo::member_orgs(c, &ids).await?;
    // Overrides are few (one row per configured subtree): read them all.
    let all = load_overrides(c, None).await?;
    evaluate_participation(c, &members, &all, today, now).await
}

impl App {
    async fn participation_of(
        &self,
        members: &[(i64, i64)],
        orgs: &[org::Model],
        year: i32,
    ) -> Result<Vec<MemberParticipation>, AppError> {
        let (from, to) = year_bounds(year)?;
        let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
        let rows = expected_of(&self.db.conn, &ids, from, to).await?;
        let names: HashMap<i64, String> = mrepo::member_names(&self.db.conn, &ids)
            .await?
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(members.len());
        for (id, org_id) in members {
            let Some(o) = orgs.iter().find(|o| o.id == *org_id) else {
                continue;
            };
            let t = self.rule_settings(&self.db.conn, o).await?.thresholds;
            let empty = Vec::new();
            let ms = rows.get(id).unwrap_or(&empty);
            out.push(MemberParticipation {
                member_id: *id,
                name: names.get(id).cloned().unwrap_or_default(),
                org: OrgView::from_model(o),
                report: dp::participation(year, ms, &t.consecutive_absences),
            });
        }
        Ok(out)
    }

    /// The acting member's own participation in `year`.
    pub async fn my_participation(
        &self,
        actor: &Actor,
        year: i32,
    ) -> Result<MemberParticipation, AppError> {
        let Some(me) = actor.member_id else {
            return Err(AppError::NotFound("member"));
        };
        self.member_participation_unchecked(me, year).await
    }

    async fn member_participation_unchecked(
        &self,
        id: i64,
        year: i32,
    ) -> Result<MemberParticipation, AppError> {
        let m = dangjian_store::repo::members::get(&self.db.conn, id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        self.participation_of(&[(m.id, o.id)], std::slice::from_ref(&o), year)
            .await?
            .pop()
            .ok_or(AppError::NotFound("member"))
    }

    /// One member's participation in `year`: the member, or those who may
    /// list the members of the member's organization.
    pub async fn member_participation(
        &self,
        actor: &Actor,
        member_id: i64,
        year: i32,
    ) -> Result<MemberParticipation, AppError> {
        if actor.member_id == Some(member_id) {
            return self.member_participation_unchecked(member_id, year).await;
        }
        let m = dangjian_store::repo::members::get(&self.db.conn, member_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let o = orepo::get(&self.db.conn, m.org_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        if !actor.can_list_members(&o.path) {
            return Err(AppError::NotFound("member"));
        }
        self.member_participation_unchecked(member_id, year).await
    }

    /// The participation of every active member of the organization `code`
    /// in `year`, for those who may list its members.
    pub async fn branch_participation(
        &self,
        actor: &Actor,
        code: &str,
        year: i32,
    ) -> Result<BranchParticipation, AppError> {
        let o = orepo::by_code(&self.db.conn, code)
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        if !actor.can_list_members(&o.path) {
            return Err(if actor.attends(&o.path) {
                AppError::Forbidden
            } else {
                AppError::NotFound("organization")
            });
        }
        year_bounds(year)?;
        let members = repo::active_members_of(&self.db.conn, &[o.id]).await?;
        let mut rows = self
            .participation_of(&members, std::slice::from_ref(&o), year)
            .await?;
        rows.sort_by(|a, b| {
            b.report
                .deduction_points
                .cmp(&a.report.deduction_points)
                .then(a.member_id.cmp(&b.member_id))
        });
        Ok(BranchParticipation {
            org: OrgView::from_model(&o),
            year,
            members: rows,
        })
    }

    /// The scheduled sweep of `consecutive_absences` and `six_month_no_life`
    /// (DOMAIN.md §5, §6) over every active member, [`SWEEP_PAGE`] at a time,
    /// each page in one transaction. Time alone moves `six_month_no_life`, so
    /// `serve` runs it daily with the other sweeps.
    pub async fn sweep_participation(&self, now: DateTime<Utc>) -> Result<SweepReport, AppError> {
        let today = to_local(now).date_naive();
        let overrides = load_overrides(&self.db.conn, None).await?;
        let mut report = SweepReport {
            today,
            subjects: 0,
            pages: 0,
            changes: EngineCounts::default(),
        };
        let mut after = 0;
        loop {
            let rows = repo::active_member_page(&self.db.conn, after, SWEEP_PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let (_writer, tx) = self.begin_write().await?;
            let n = evaluate_participation(&tx, &rows, &overrides, today, now).await?;
            tx.commit().await?;
            report.subjects += rows.len() as u64;
            report.pages += 1;
            report.changes += n;
        }
        Ok(report)
    }
}

/// The current local year of `t`.
pub fn local_year(t: DateTime<Utc>) -> i32 {
    to_local(t).year()
}
