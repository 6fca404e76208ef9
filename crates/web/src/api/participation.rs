//! Participation and near-duplicate minutes (the meetings context, DOMAIN.md
//! §5, §6): a member's attendance rate by type, runs of unexcused absences
//! and the evaluation points they cost, a branch's table of its members;
//! the duplicate check of a meeting's minutes and the branch's confirmation.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::meetings::local_month;
use dangjian_app::minutes::MinutesCheck;
use dangjian_app::participation::{BranchParticipation, MemberParticipation};
use dangjian_domain::participation::Rate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::meetings::{YearQuery, parse_id};
use crate::api::orgs::{body, query};
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// Counts of one meeting type (or all) in the year.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateOut {
    /// A meeting type code, or "all".
    pub kind: String,
    pub kind_label: String,
    /// Held meetings the member was expected at.
    pub expected: u32,
    pub present: u32,
    /// On approved leave.
    pub excused: u32,
    /// Neither present nor on approved leave.
    pub absent: u32,
    /// present / expected in per cent; absent when nothing was expected.
    pub rate_percent: Option<u32>,
}

fn rate(kind: &str, label: &str, r: &Rate) -> RateOut {
    RateOut {
        kind: kind.into(),
        kind_label: label.into(),
        expected: r.expected,
        present: r.present,
        excused: r.excused,
        absent: r.absent,
        rate_percent: r.percent(),
    }
}

/// A run of unexcused absences that reached the threshold.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub count: u32,
}

/// One member's participation in a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipationOut {
    pub member_id: i64,
    pub name: String,
    pub org_code: String,
    pub year: i32,
    pub by_kind: Vec<RateOut>,
    pub total: RateOut,
    pub longest_run: u32,
    pub counted_runs: Vec<RunOut>,
    /// Points off the annual evaluation.
    pub deduction_points: u32,
    /// The rule in force: `threshold_count` absences in a row cost
    /// `threshold_points` (DOMAIN.md §5, configurable per subtree).
    pub threshold_count: u32,
    pub threshold_points: u32,
}

impl From<&MemberParticipation> for ParticipationOut {
    fn from(p: &MemberParticipation) -> Self {
        let r = &p.report;
        Self {
            member_id: p.member_id,
            name: p.name.clone(),
            org_code: p.org.code.clone(),
            year: r.year,
            by_kind: r
                .by_kind
                .iter()
                .map(|k| rate(k.kind.as_str(), k.kind.label_zh(), &k.rate))
                .collect(),
            total: rate("all", "合计", &r.total),
            longest_run: r.longest_run,
            counted_runs: r
                .counted_runs
                .iter()
                .map(|x| RunOut {
                    from: x.from,
                    to: x.to,
                    count: x.count,
                })
                .collect(),
            deduction_points: r.deduction_points,
            threshold_count: r.threshold_count,
            threshold_points: r.threshold_points,
        }
    }
}

/// A branch's members' participation in a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct BranchParticipationOut {
    pub org_code: String,
    pub org_name: String,
    pub year: i32,
    /// Most points deducted first.
    pub members: Vec<ParticipationOut>,
}

impl From<&BranchParticipation> for BranchParticipationOut {
    fn from(b: &BranchParticipation) -> Self {
        Self {
            org_code: b.org.code.clone(),
            org_name: b.org.name.clone(),
            year: b.year,
            members: b.members.iter().map(ParticipationOut::from).collect(),
        }
    }
}

fn year_of(st: &AppState, q: Result<Query<YearQuery>, QueryRejection>) -> ApiResult<i32> {
    let q = query(q)?;
    Ok(q.year.unwrap_or_else(|| local_month(st.app.clock.now()).0))
}

/// Participation of every active member of the organization.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/participation", params(("code" = String, Path), YearQuery), security(("bearer" = [])),
    responses((status = 200, body = BranchParticipationOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn branch(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> ApiResult<Json<BranchParticipationOut>> {
    let year = year_of(&st, q)?;
    let v = st.app.branch_participation(&a, &code, year).await?;
    Ok(Json((&v).into()))
}

/// One member's participation (the member, or those who list the members).
#[utoipa::path(get, path = "/api/v1/members/{id}/participation", params(("id" = i64, Path), YearQuery), security(("bearer" = [])),
    responses((status = 200, body = ParticipationOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn member(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> ApiResult<Json<ParticipationOut>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    let year = year_of(&st, q)?;
    let v = st.app.member_participation(&a, id, year).await?;
    Ok(Json((&v).into()))
}

/// The acting member's own participation.
#[utoipa::path(get, path = "/api/v1/me/participation", params(YearQuery), security(("bearer" = [])),
    responses((status = 200, body = ParticipationOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn mine(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    q: Result<Query<YearQuery>, QueryRejection>,
) -> ApiResult<Json<ParticipationOut>> {
    let year = year_of(&st, q)?;
    let v = st.app.my_participation(&a, year).await?;
    Ok(Json((&v).into()))
}

/// A stored meeting with nearly identical minutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateOut {
    pub similarity_percent: u32,
    /// False: another organization's minutes, which the caller may not see;
    /// the fields below are then absent.
    pub visible: bool,
    pub meeting_id: Option<i64>,
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub org_name: Option<String>,
    /// What the page shows.
    pub message_zh: String,
    pub message_en: String,
}

/// The duplicate check of a meeting's minutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinutesCheckOut {
    pub meeting_id: i64,
    /// False when there are no minutes or they are too short to compare.
    pub checked: bool,
    pub duplicates: Vec<DuplicateOut>,
    pub confirmed_reason: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<&MinutesCheck> for MinutesCheckOut {
    fn from(c: &MinutesCheck) -> Self {
        Self {
            meeting_id: c.meeting_id,
            checked: c.checked,
            duplicates: c
                .duplicates
                .iter()
                .map(|d| {
                    let (zh, en) = if d.visible {
                        let day = d
                            .starts_at
                            .map(|t| dangjian_app::clock::to_local(t).date_naive().to_string())
                            .unwrap_or_default();
                        let org = d.org_name.clone().unwrap_or_default();
                        let title = d.title.clone().unwrap_or_default();
                        (
                            format!(
                                "会议记录与{org}“{title}”（{day}）的记录高度相似（约{}%）",
                                d.similarity_percent
                            ),
                            format!(
                                "The minutes are nearly identical (about {}%) to those of “{title}” ({org}, {day})",
                                d.similarity_percent
                            ),
                        )
                    } else {
                        (
                            format!(
                                "会议记录与另一组织的会议记录高度相似（约{}%）",
                                d.similarity_percent
                            ),
                            format!(
                                "The minutes are nearly identical (about {}%) to another organization's",
                                d.similarity_percent
                            ),
                        )
                    };
                    DuplicateOut {
                        similarity_percent: d.similarity_percent,
                        visible: d.visible,
                        meeting_id: d.meeting_id,
                        title: d.title.clone(),
                        starts_at: d.starts_at,
                        org_name: d.org_name.clone(),
                        message_zh: zh,
                        message_en: en,
                    }
                })
                .collect(),
            confirmed_reason: c.confirmation.as_ref().map(|x| x.reason.clone()),
            confirmed_at: c.confirmation.as_ref().map(|x| x.at),
        }
    }
}

/// The duplicate check of the meeting's stored minutes.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/minutes/duplicates", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MinutesCheckOut), (status = 404, body = Problem)))]
pub async fn duplicates(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<MinutesCheckOut>> {
    let v = st.app.minutes_check(&a, parse_id(&id)?).await?;
    Ok(Json((&v).into()))
}

/// The branch's confirmation that flagged minutes are genuine.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipationConfirmIn {
    pub reason: String,
}

/// Confirms, with a reason, that minutes flagged as nearly identical to
/// another meeting's are genuine; stored and audited.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/minutes/confirm", params(("id" = i64, Path)), request_body = ParticipationConfirmIn, security(("bearer" = [])),
    responses((status = 200, body = MinutesCheckOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<ParticipationConfirmIn>, JsonRejection>,
) -> ApiResult<Json<MinutesCheckOut>> {
    let id = parse_id(&id)?;
    let b = body(b)?;
    let v = st.app.confirm_minutes(&a, id, &b.reason).await?;
    Ok(Json((&v).into()))
}
