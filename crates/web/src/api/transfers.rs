//! Transfer endpoints (组织关系转接, DOMAIN.md §12): the transfer process
//! definition, a branch's letters sent and received, a member's letters, issue a letter for a member, one letter, confirm arrival,
//! cancel or return, download the signed letter of a transfer to another
//! server, import such a letter (answering with a signed receipt), and
//! accept the receipt that comes back.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use dangjian_app::AppError;
use dangjian_app::transfers::{BranchLetters, IssueInput, LetterStep, LetterView, PROCESS_KEY};
use dangjian_workflow::Override;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::admissions::{OverrideIo, ProcessOut, process_out};
use crate::api::orgs::body;
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// An introduction letter.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterOut {
    pub id: i64,
    pub number: String,
    /// The issuing server's log origin ("" for this server).
    pub origin: String,
    /// local, outgoing or incoming
    pub kind: String,
    /// issued, arrived or cancelled
    pub status: String,
    pub status_label: String,
    pub member_id: i64,
    pub member_name: String,
    pub member_stage: String,
    pub from_org_code: String,
    pub from_org_name: String,
    pub to_org_code: String,
    pub to_org_name: String,
    /// The receiving server of a letter to another server.
    pub to_origin: Option<String>,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub arrived_on: Option<NaiveDate>,
    pub cancel_reason: Option<String>,
    /// Open and past its validity.
    pub expired: bool,
    pub has_document: bool,
    pub may_confirm: bool,
    pub may_cancel: bool,
    /// The process the letter runs on (`transfer`) and its version.
    pub process: String,
    pub process_version: u32,
    /// The letter's timeline, oldest first.
    pub history: Vec<LetterStepOut>,
}

/// One entry of a letter's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterStepOut {
    pub seq: u32,
    /// issue, confirm, cancel or return
    pub action: String,
    pub label: String,
    pub label_en: String,
    /// Login of the user who recorded it (none for a signed letter of
    /// another server, or a record from before the engine).
    pub who: Option<String>,
    /// sender:secretary, receiver:secretary, sender:signed_letter,
    /// receiver:signed_receipt, migrated, ...
    pub role: String,
    /// When it was recorded.
    pub when: DateTime<Utc>,
    /// The day it records (issued on, arrived on).
    pub on: Option<NaiveDate>,
    /// The reason of a cancellation or return.
    pub reason: Option<String>,
    /// Warnings passed with a reason (an arrival after the validity).
    pub overrides: Vec<OverrideIo>,
}

impl From<&LetterStep> for LetterStepOut {
    fn from(e: &LetterStep) -> Self {
        Self {
            seq: e.seq,
            action: e.action.clone(),
            label: e.label_zh.clone(),
            label_en: e.label_en.clone(),
            who: e.who.clone(),
            role: e.role.clone(),
            when: e.at,
            on: e.on,
            reason: e.reason.clone(),
            overrides: e
                .overrides
                .iter()
                .map(|o| OverrideIo {
                    code: o.code.clone(),
                    reason: o.reason.clone(),
                })
                .collect(),
        }
    }
}

impl From<&LetterView> for LetterOut {
    fn from(l: &LetterView) -> Self {
        Self {
            id: l.id,
            number: l.number.clone(),
            origin: l.origin.clone(),
            kind: l.kind.as_str().into(),
            status: l.status.as_str().into(),
            status_label: l.status.label_zh().into(),
            member_id: l.member_id,
            member_name: l.member_name.clone(),
            member_stage: l.member_stage.as_str().into(),
            from_org_code: l.from_org_code.clone(),
            from_org_name: l.from_org_name.clone(),
            to_org_code: l.to_org_code.clone(),
            to_org_name: l.to_org_name.clone(),
            to_origin: l.to_origin.clone(),
            issued_on: l.issued_on,
            valid_until: l.valid_until,
            arrived_on: l.arrived_on,
            cancel_reason: l.cancel_reason.clone(),
            expired: l.expired,
            has_document: l.has_document,
            may_confirm: l.may_confirm,
            may_cancel: l.may_cancel,
            process: l.process.clone(),
            process_version: l.process_version,
            history: l.history.iter().map(LetterStepOut::from).collect(),
        }
    }
}

/// A branch's letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct BranchLettersOut {
    pub org: String,
    pub sent: Vec<LetterOut>,
    pub received: Vec<LetterOut>,
    /// Validity of new letters in this subtree, in months.
    pub validity_months: u32,
}

impl From<&BranchLetters> for BranchLettersOut {
    fn from(b: &BranchLetters) -> Self {
        Self {
            org: b.org.code.clone(),
            sent: b.sent.iter().map(LetterOut::from).collect(),
            received: b.received.iter().map(LetterOut::from).collect(),
            validity_months: b.validity_months,
        }
    }
}

/// A new letter for a member.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueIn {
    /// Code of the receiving branch.
    pub to_org: String,
    /// The receiving server's log origin (`dangjian/<root code>`) when the
    /// branch is on another server.
    pub to_origin: Option<String>,
    /// Name of the branch on the other server, as printed on the letter.
    pub to_org_name: Option<String>,
    /// Default today.
    pub issued_on: Option<NaiveDate>,
    /// Default: the subtree's setting (3 months).
    pub validity_months: Option<u32>,
}

/// The day of arrival (default today), and the reason an arrival after
/// the letter's validity is confirmed anyway.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TransferConfirmIn {
    pub arrived_on: Option<NaiveDate>,
    /// `[{"code": "letter_expired", "reason": "…"}]` for an arrival after
    /// the validity (DOMAIN.md §12: a warning, not a block).
    #[serde(default)]
    pub overrides: Vec<OverrideIo>,
}

/// Why a letter is cancelled or returned.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonIn {
    pub reason: String,
}

/// A signed letter from another server.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportIn {
    /// The signed note as downloaded from the issuing server.
    pub letter: String,
}

/// The outcome of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferImportOut {
    pub letter: LetterOut,
    pub member_id: i64,
    /// The signed receipt to send back to the issuing server.
    pub receipt: String,
}

/// A signed receipt from the receiving server.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReceiptIn {
    pub receipt: String,
}

fn parse_id(id: &str) -> ApiResult<i64> {
    id.parse()
        .map_err(|_| ApiError(AppError::NotFound("transfer letter")))
}

/// The transfer process of DOMAIN.md §12 as data — the latest version, the
/// one new letters start on: issue, confirmation of arrival, the exits
/// cancel (sending branch) and return (receiving branch) with their
/// reasons, and the validity as the deadline of the arrival.
#[utoipa::path(get, path = "/api/v1/transfers/process", security(("bearer" = [])),
    responses((status = 200, body = ProcessOut), (status = 401, body = Problem)))]
pub async fn process(
    State(st): State<AppState>,
    ApiActor(_a): ApiActor,
) -> ApiResult<Json<ProcessOut>> {
    let def = st.app.latest_definition(PROCESS_KEY)?;
    Ok(Json(process_out(def)))
}

/// The letters a branch sent and received.
#[utoipa::path(get, path = "/api/v1/orgs/{code}/transfers", params(("code" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BranchLettersOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(code): Path<String>,
) -> ApiResult<Json<BranchLettersOut>> {
    let b = st.app.branch_letters(&a, &code).await?;
    Ok(Json(BranchLettersOut::from(&b)))
}

/// The letters of one member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberLettersOut {
    pub member_id: i64,
    /// Oldest first.
    pub items: Vec<LetterOut>,
}

/// The introduction letters of one member, sent from or received into any
/// branch (DOMAIN.md §12). Scoped like the member: the member themselves,
/// or whoever may list the members of the member's present organization.
#[utoipa::path(get, path = "/api/v1/members/{id}/transfers", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemberLettersOut), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn of_member(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<MemberLettersOut>> {
    let member_id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    let letters = st.app.member_letters(&a, member_id).await?;
    Ok(Json(MemberLettersOut {
        member_id,
        items: letters.iter().map(LetterOut::from).collect(),
    }))
}

/// Issues an introduction letter for a member (the sending branch's
/// secretary, or committee staff above it).
#[utoipa::path(post, path = "/api/v1/members/{id}/transfers", params(("id" = i64, Path)), request_body = IssueIn, security(("bearer" = [])),
    responses((status = 201, body = LetterOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn issue(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<IssueIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<LetterOut>)> {
    let member_id: i64 = id
        .parse()
        .map_err(|_| ApiError(AppError::NotFound("member")))?;
    let b = body(b)?;
    let l = st
        .app
        .issue_letter(
            &a,
            IssueInput {
                member_id,
                to_org_code: b.to_org,
                to_origin: b.to_origin,
                to_org_name: b.to_org_name,
                issued_on: b.issued_on,
                validity_months: b.validity_months,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(LetterOut::from(&l))))
}

/// One letter (either branch may see it).
#[utoipa::path(get, path = "/api/v1/transfers/{id}", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = LetterOut), (status = 404, body = Problem)))]
pub async fn detail(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> ApiResult<Json<LetterOut>> {
    let l = st.app.letter_detail(&a, parse_id(&id)?).await?;
    Ok(Json(LetterOut::from(&l)))
}

/// The receiving branch confirms the member's arrival; the member moves.
/// An arrival after the letter's validity answers 422 with field
/// `overrides` and code `letter_expired`, and passes when repeated with
/// `overrides: [{"code": "letter_expired", "reason": …}]`.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/confirm", params(("id" = i64, Path)), request_body = TransferConfirmIn, security(("bearer" = [])),
    responses((status = 200, body = LetterOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<TransferConfirmIn>, JsonRejection>,
) -> ApiResult<Json<LetterOut>> {
    let b = body(b)?;
    let l = st
        .app
        .confirm_arrival(
            &a,
            parse_id(&id)?,
            b.arrived_on,
            b.overrides
                .into_iter()
                .map(|o| Override {
                    code: o.code,
                    reason: o.reason,
                })
                .collect(),
        )
        .await?;
    Ok(Json(LetterOut::from(&l)))
}

/// Cancels (sending branch) or returns (receiving branch) an open letter.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/cancel", params(("id" = i64, Path)), request_body = ReasonIn, security(("bearer" = [])),
    responses((status = 200, body = LetterOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
    b: Result<Json<ReasonIn>, JsonRejection>,
) -> ApiResult<Json<LetterOut>> {
    let b = body(b)?;
    let l = st.app.cancel_letter(&a, parse_id(&id)?, &b.reason).await?;
    Ok(Json(LetterOut::from(&l)))
}

/// The signed letter of a transfer to another server (a C2SP signed note),
/// for the sending branch; the read is audited.
#[utoipa::path(get, path = "/api/v1/transfers/{id}/letter", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn letter(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let text = st.app.export_letter(&a, id).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"transfer-letter-{id}.txt\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// Imports a signed letter from another server into the branch it names:
/// the signature must verify with a trusted key; a letter imported before
/// answers 409 and nothing is imported again.
#[utoipa::path(post, path = "/api/v1/transfers/import", request_body = ImportIn, security(("bearer" = [])),
    responses((status = 201, body = TransferImportOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn import(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    b: Result<Json<ImportIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<TransferImportOut>)> {
    let b = body(b)?;
    let r = st.app.import_letter(&a, &b.letter).await?;
    Ok((
        StatusCode::CREATED,
        Json(TransferImportOut {
            letter: LetterOut::from(&r.letter),
            member_id: r.member_id,
            receipt: r.receipt,
        }),
    ))
}

/// Accepts the receiving server's signed receipt: the member is marked
/// transferred out and the letter arrived.
#[utoipa::path(post, path = "/api/v1/transfers/receipts", request_body = ReceiptIn, security(("bearer" = [])),
    responses((status = 200, body = LetterOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn receipt(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    b: Result<Json<ReceiptIn>, JsonRejection>,
) -> ApiResult<Json<LetterOut>> {
    let b = body(b)?;
    let l = st.app.accept_receipt(&a, &b.receipt).await?;
    Ok(Json(LetterOut::from(&l)))
}
