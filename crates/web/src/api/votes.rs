//! Vote and meeting-record endpoints (DOMAIN.md §2, §4, §5): a branch's
//! committee seats, the votes of a branch assembly (admission and
//! conversion votes that move the admission; committee elections by secret
//! ballot), and meeting attachments (multipart upload, list, download).

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::attachments::AttachmentView;
use dangjian_app::votes::{
    AssemblyVoteInput, AssemblyVoteView, ElectionInput, ElectionView, MeetingVotes, SeatInput,
    SeatView,
};
use dangjian_domain::meetings::AttachmentPurpose;
use dangjian_domain::votes::{Ballot, Choice, CommitteeRole, VoterChoice};
use dangjian_workflow::Override;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::admissions::AdmissionDetailOut;
use crate::api::orgs::body;
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// Multipart overhead allowed above the largest attachment.
pub const MULTIPART_SLACK: usize = 64 * 1024;

/// The upload routes, with a body limit that follows the configured largest
/// attachment (a larger body is answered 413).
pub fn upload_routes(max_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/meetings/{id}/attachments",
            get(attachments).post(upload),
        )
        .layer(DefaultBodyLimit::max(
            max_bytes.saturating_add(MULTIPART_SLACK),
        ))
}

/// A seat on a committee.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SeatOut {
    pub member_id: i64,
    pub name: String,
    /// secretary, deputy or member
    pub role: String,
    pub role_label: String,
    pub from_on: NaiveDate,
    pub until_on: Option<NaiveDate>,
    pub election_id: Option<i64>,
}

impl From<&SeatView> for SeatOut {
    fn from(s: &SeatView) -> Self {
        Self {
            member_id: s.member_id,
            name: s.name.clone(),
            role: s.role.as_str().into(),
            role_label: s.role.label_zh().into(),
            from_on: s.from_on,
            until_on: s.until_on,
            election_id: s.election_id,
        }
    }
}

/// One seat to record.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SeatIn {
    pub member_id: i64,
    /// secretary, deputy or member
    pub role: String,
}

/// A committee as elected (换届): its seats and the day of the election.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommitteeSeatsIn {
    pub elected_on: NaiveDate,
    /// The term chosen at the election in years (DOMAIN.md §2); absent: the
    /// longest the organization may have.
    #[serde(default)]
    pub term_years: Option<u32>,
    pub seats: Vec<SeatIn>,
}

fn bad_enum(field: &str, v: &str) -> ApiError {
    ApiError(AppError::field(
        field,
        "invalid_value",
        format!("未知的取值：{v}"),
        format!("unknown value: {v}"),
    ))
}

/// The committee in office of an organization.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/committee/seats", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<SeatOut>), (status = 404, body = Problem)))]
pub async fn seats(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<SeatOut>>> {
    let v = st.app.committee(&a, &code).await?;
    Ok(Json(v.iter().map(SeatOut::from).collect()))
}

/// Records the committee elected on a day: the seats in office end, the new
/// ones start, and the committee term starts.
#[utoipa::path(put, path = "/api/v1/orgs/{code}/committee/seats", params(("code" = String, Path)), request_body = CommitteeSeatsIn, security(("bearer" = [])),
    responses((status = 200, body = Vec<SeatOut>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_seats(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
    b: Result<Json<CommitteeSeatsIn>, JsonRejection>,
) -> ApiResult<Json<Vec<SeatOut>>> {
    let b = body(b)?;
    let seats = b
        .seats
        .iter()
        .map(|s| {
            Ok(SeatInput {
                member_id: s.member_id,
                role: CommitteeRole::parse(&s.role)
                    .ok_or_else(|| bad_enum("seats.role", &s.role))?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let v = st
        .app
        .record_committee(&a, &code, b.elected_on, b.term_years, seats)
        .await?;
    Ok(Json(v.iter().map(SeatOut::from).collect()))
}

/// One voter's choice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChoiceIn {
    pub member_id: i64,
    /// yes, no or abstain
    pub choice: String,
}

/// A warning of the admission step accepted with a reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OverrideIn {
    pub code: String,
    pub reason: String,
}

/// An assembly vote on an admission or a conversion.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssemblyVoteIn {
    pub admission_id: i64,
    /// The choice of each full member present.
    #[serde(default)]
    pub ballots: Vec<ChoiceIn>,
    /// Written opinions of absent full members.
    #[serde(default)]
    pub written: Vec<ChoiceIn>,
    #[serde(default)]
    pub overrides: Vec<OverrideIn>,
}

/// One recorded choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct BallotOut {
    pub member_id: i64,
    pub name: String,
    pub choice: String,
    pub written: bool,
}

/// A recorded assembly vote.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssemblyVoteOut {
    pub id: i64,
    pub meeting_id: i64,
    pub admission_id: i64,
    /// assembly (step 15) or conversion_vote (step 23)
    pub step: String,
    pub eligible: i64,
    pub present: i64,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    pub written_yes: i64,
    pub written_no: i64,
    pub written_abstain: i64,
    /// passed, quorum_not_met or majority_not_reached
    pub outcome: String,
    pub ballots: Vec<BallotOut>,
    pub created_at: DateTime<Utc>,
}

impl From<&AssemblyVoteView> for AssemblyVoteOut {
    fn from(v: &AssemblyVoteView) -> Self {
        let c = &v.counts;
        Self {
            id: v.id,
            meeting_id: v.meeting_id,
            admission_id: v.admission_id,
            step: v.step.clone(),
            eligible: c.eligible,
            present: c.present,
            yes: c.yes,
            no: c.no,
            abstain: c.abstain,
            written_yes: c.written_yes,
            written_no: c.written_no,
            written_abstain: c.written_abstain,
            outcome: v.outcome.clone(),
            ballots: v
                .ballots
                .iter()
                .map(|b| BallotOut {
                    member_id: b.member_id,
                    name: b.name.clone(),
                    choice: b.choice.as_str().into(),
                    written: b.written,
                })
                .collect(),
            created_at: v.created_at,
        }
    }
}

/// A recorded vote and the admission it moved, when it passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssemblyVoteResultOut {
    pub vote: AssemblyVoteOut,
    pub admission: Option<AdmissionDetailOut>,
}

fn choices(field: &str, v: &[ChoiceIn]) -> ApiResult<Vec<VoterChoice>> {
    v.iter()
        .map(|c| {
            Ok(VoterChoice {
                member_id: c.member_id,
                choice: Choice::parse(&c.choice).ok_or_else(|| bad_enum(field, &c.choice))?,
            })
        })
        .collect()
}

/// Records an admission or conversion vote at a branch assembly (DOMAIN.md
/// §4): only full members vote; the counts are tallied from each choice;
/// a passed vote takes the admission's assembly step.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/assembly-votes", params(("id" = i64, Path)), request_body = AssemblyVoteIn, security(("bearer" = [])),
    responses((status = 201, body = AssemblyVoteResultOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assembly_vote(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    b: Result<Json<AssemblyVoteIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AssemblyVoteResultOut>)> {
    let b = body(b)?;
    let input = AssemblyVoteInput {
        admission_id: b.admission_id,
        ballots: choices("ballots", &b.ballots)?,
        written: choices("written", &b.written)?,
        overrides: b
            .overrides
            .into_iter()
            .map(|o| Override {
                code: o.code,
                reason: o.reason,
            })
            .collect(),
    };
    let r = st.app.record_assembly_vote(&a, id, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(AssemblyVoteResultOut {
            vote: AssemblyVoteOut::from(&r.vote),
            admission: r.admission.as_ref().map(AdmissionDetailOut::from),
        }),
    ))
}

/// One ballot paper as the tellers read it (no voter).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BallotIn {
    /// Candidates marked YES.
    #[serde(default)]
    pub yes: Vec<i64>,
    #[serde(default)]
    pub spoiled: bool,
}

/// A round of a committee election to count.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ElectionIn {
    pub seats: u32,
    /// Ballot papers handed out.
    pub issued: u32,
    pub candidates: Vec<i64>,
    #[serde(default)]
    pub ballots: Vec<BallotIn>,
}

/// A candidate's count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub member_id: i64,
    pub name: String,
    pub votes: u32,
    pub elected: bool,
    /// Tied for the last seats: goes to another round.
    pub tied: bool,
}

/// A counted election round.
#[derive(Debug, Serialize, ToSchema)]
pub struct ElectionOut {
    pub id: i64,
    pub meeting_id: i64,
    pub seats: u32,
    pub entitled: u32,
    pub present: u32,
    pub issued: u32,
    pub returned: u32,
    pub invalid: u32,
    /// elected, rerun or void
    pub outcome: String,
    pub outcome_label: String,
    pub unfilled: u32,
    pub candidates: Vec<CandidateOut>,
    pub created_at: DateTime<Utc>,
}

impl From<&ElectionView> for ElectionOut {
    fn from(e: &ElectionView) -> Self {
        Self {
            id: e.id,
            meeting_id: e.meeting_id,
            seats: e.seats,
            entitled: e.entitled,
            present: e.present,
            issued: e.issued,
            returned: e.returned,
            invalid: e.invalid,
            outcome: e.outcome.as_str().into(),
            outcome_label: e.outcome.label_zh().into(),
            unfilled: e.unfilled,
            candidates: e
                .candidates
                .iter()
                .map(|c| CandidateOut {
                    member_id: c.member_id,
                    name: c.name.clone(),
                    votes: c.votes,
                    elected: c.elected,
                    tied: c.tied,
                })
                .collect(),
            created_at: e.created_at,
        }
    }
}

/// Counts a round of a branch committee election by secret ballot
/// (DOMAIN.md §4 elections); when every seat is filled the elected become
/// the committee.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/elections", params(("id" = i64, Path)), request_body = ElectionIn, security(("bearer" = [])),
    responses((status = 201, body = ElectionOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn election(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    b: Result<Json<ElectionIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<ElectionOut>)> {
    let b = body(b)?;
    let input = ElectionInput {
        seats: b.seats,
        issued: b.issued,
        candidates: b.candidates,
        ballots: b
            .ballots
            .into_iter()
            .map(|x| Ballot {
                yes: x.yes,
                spoiled: x.spoiled,
            })
            .collect(),
    };
    let e = st.app.record_election(&a, id, input).await?;
    Ok((StatusCode::CREATED, Json(ElectionOut::from(&e))))
}

/// The votes of a meeting and the branch's committee in office.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingVotesOut {
    pub assembly_votes: Vec<AssemblyVoteOut>,
    pub elections: Vec<ElectionOut>,
    pub committee: Vec<SeatOut>,
    pub can_record: bool,
}

impl From<&MeetingVotes> for MeetingVotesOut {
    fn from(v: &MeetingVotes) -> Self {
        Self {
            assembly_votes: v.assembly_votes.iter().map(AssemblyVoteOut::from).collect(),
            elections: v.elections.iter().map(ElectionOut::from).collect(),
            committee: v.committee.iter().map(SeatOut::from).collect(),
            can_record: v.can_record,
        }
    }
}

/// The votes held at a meeting: results view.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/votes", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MeetingVotesOut), (status = 404, body = Problem)))]
pub async fn votes(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<MeetingVotesOut>> {
    Ok(Json(MeetingVotesOut::from(
        &st.app.meeting_votes(&a, id).await?,
    )))
}

/// An attachment, without its bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: i64,
    pub meeting_id: i64,
    /// minutes or attendance_list
    pub purpose: String,
    pub filename: String,
    /// image/jpeg, image/png or application/pdf (detected from the content)
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Where to download it.
    pub href: String,
}

impl From<&AttachmentView> for AttachmentOut {
    fn from(a: &AttachmentView) -> Self {
        Self {
            id: a.id,
            meeting_id: a.meeting_id,
            purpose: a.purpose.as_str().into(),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            sha256: a.sha256.clone(),
            created_at: a.created_at,
            href: format!("/api/v1/meetings/{}/attachments/{}", a.meeting_id, a.id),
        }
    }
}

/// A meeting's attachments.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<AttachmentOut>), (status = 404, body = Problem)))]
pub async fn attachments(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<AttachmentOut>>> {
    let v = st.app.meeting_attachments(&a, id).await?;
    Ok(Json(v.iter().map(AttachmentOut::from).collect()))
}

/// What a multipart upload carried: purpose, file name and bytes.
pub async fn read_upload(
    mp: &mut Multipart,
) -> Result<(Option<String>, Option<String>, Option<(String, Vec<u8>)>), AppError> {
    read_upload_with(mp, "purpose").await
}

/// What a multipart upload carried: the text field `named` (a purpose or a
/// kind), the CSRF token, and the file's name and bytes.
pub async fn read_upload_with(
    mp: &mut Multipart,
    named: &str,
) -> Result<(Option<String>, Option<String>, Option<(String, Vec<u8>)>), AppError> {
    let (mut purpose, mut csrf, mut file) = (None, None, None);
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(upload_error(e.status())),
        };
        match field.name() {
            Some(n) if n == named => purpose = field.text().await.ok(),
            Some("csrf") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(e) => return Err(upload_error(e.status())),
                }
            }
            _ => {}
        }
    }
    Ok((purpose, csrf, file))
}

fn upload_error(status: StatusCode) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::field(
            "file",
            "payload_too_large",
            "文件过大",
            "the file is too large",
        )
    } else {
        AppError::field(
            "file",
            "bad_request",
            "上传内容无效",
            "the upload is malformed",
        )
    }
}

/// The purpose named by a form field (default: minutes).
pub fn purpose_of(p: Option<&str>) -> Result<AttachmentPurpose, AppError> {
    match p.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(AttachmentPurpose::Minutes),
        Some(s) => AttachmentPurpose::parse(s).ok_or_else(|| {
            AppError::field(
                "purpose",
                "invalid_value",
                "用途为 minutes 或 attendance_list",
                "purpose is minutes or attendance_list",
            )
        }),
    }
}

/// Uploads an attachment (multipart: `file`, optional `purpose` minutes or
/// attendance_list). JPEG, PNG or PDF by content; larger than the limit: 413.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/attachments", params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "file, purpose"),
    responses((status = 201, body = AttachmentOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> ApiResult<(StatusCode, Json<AttachmentOut>)> {
    let (purpose, _, file) = read_upload(&mut mp).await?;
    let purpose = purpose_of(purpose.as_deref())?;
    let Some((name, bytes)) = file else {
        return Err(ApiError(AppError::field(
            "file",
            "required",
            "请选择文件",
            "choose a file",
        )));
    };
    let v = st
        .app
        .upload_attachment(&a, id, purpose, &name, bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(AttachmentOut::from(&v))))
}

/// The bytes of an attachment, as a download with its detected type.
pub fn download_response(v: &AttachmentView, bytes: Vec<u8>) -> Response {
    file_response(&v.filename, &v.content_type, bytes)
}

/// A stored file as a download: its detected type, `nosniff`, and the file
/// name in ASCII and in UTF-8 (RFC 6266).
pub fn file_response(filename: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Downloads an attachment; audited.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/attachments/{attachment_id}", params(("id" = i64, Path), ("attachment_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "the file"), (status = 404, body = Problem)))]
pub async fn download(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let (v, bytes) = st.app.download_attachment(&a, id, attachment_id).await?;
    Ok(download_response(&v, bytes))
}
