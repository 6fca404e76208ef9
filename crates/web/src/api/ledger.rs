//! The archive ledger over HTTP (issue 4): the signed checkpoint, the
//! verifier key and tlog-tiles resources under `/ledger/`, so standard
//! transparency-log tools can audit it, and RFC 9162 proofs and entries as
//! JSON under `/api/v1/ledger/`. Readable with an auditor's or
//! administrator's credentials.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use dangjian_app::Actor;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::orgs::query;
use crate::auth::ApiActor;
use crate::error::{ApiError, ApiResult, Problem};

/// A proof: hashes in RFC 9162 order, lowercase hex.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProofOut {
    pub proof: Vec<String>,
}

/// A leaf of the log and, for a reader who may see the member, its event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryOut {
    pub index: u64,
    /// The canonical leaf bytes, base64.
    pub leaf: String,
    pub event_type: String,
    pub at_unix_ms: i64,
    #[schema(value_type = Option<Object>)]
    pub event: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InclusionQuery {
    /// Leaf index, below `size`.
    pub index: Option<String>,
    /// Tree size, at most the log's size.
    pub size: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    /// Size of the older tree.
    pub old: Option<String>,
    /// Size of the newer tree.
    pub size: Option<String>,
}

fn number(field: &str, v: Option<&str>) -> ApiResult<u64> {
    let v = v.ok_or_else(|| {
        ApiError::bad_request(
            field,
            &format!("缺少参数 {field}"),
            &format!("{field} is required"),
        )
    })?;
    v.parse::<u64>().map_err(|_| {
        ApiError::bad_request(
            field,
            &format!("{field} 必须是非负整数"),
            &format!("{field} must be a non-negative integer"),
        )
    })
}

/// The caller, or — when the ledger is public — an anonymous reader.
fn reader(st: &AppState, actor: Result<ApiActor, ApiError>) -> ApiResult<Actor> {
    match actor {
        Ok(ApiActor(a)) => Ok(a),
        Err(_) if st.app.config.ledger_public => Ok(dangjian_app::ledger::public_reader()),
        Err(e) => Err(e),
    }
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
}

/// The latest signed checkpoint (C2SP tlog-checkpoint signed note); signs
/// one first when the log has grown.
#[utoipa::path(get, path = "/ledger/checkpoint", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn checkpoint(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
) -> ApiResult<impl IntoResponse> {
    let a = reader(&st, actor)?;
    Ok(text(st.app.ledger_latest_checkpoint(&a).await?))
}

/// The log's verifier key (C2SP vkey).
#[utoipa::path(get, path = "/ledger/key", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn key(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
) -> ApiResult<impl IntoResponse> {
    let a = reader(&st, actor)?;
    Ok(text(st.app.ledger_key(&a).await? + "\n"))
}

/// A tlog-tiles resource: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[utoipa::path(get, path = "/ledger/tile/{path}", params(("path" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn tile(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
    Path(path): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let a = reader(&st, actor)?;
    let bytes = st.app.ledger_tile(&a, &format!("tile/{path}")).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    ))
}

/// RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(get, path = "/api/v1/ledger/proofs/inclusion", params(InclusionQuery), security(("bearer" = [])),
    responses((status = 200, body = ProofOut), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn inclusion(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> ApiResult<Json<ProofOut>> {
    let a = reader(&st, actor)?;
    let q = query(q)?;
    let index = number("index", q.index.as_deref())?;
    let size = number("size", q.size.as_deref())?;
    let proof = st.app.ledger_inclusion_proof(&a, index, size).await?;
    Ok(Json(ProofOut {
        proof: proof.iter().map(|h| hex(h)).collect(),
    }))
}

/// RFC 9162 consistency proof between the trees of `old` and `size` leaves.
#[utoipa::path(get, path = "/api/v1/ledger/proofs/consistency", params(ConsistencyQuery), security(("bearer" = [])),
    responses((status = 200, body = ProofOut), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn consistency(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> ApiResult<Json<ProofOut>> {
    let a = reader(&st, actor)?;
    let q = query(q)?;
    let old = number("old", q.old.as_deref())?;
    let size = number("size", q.size.as_deref())?;
    let proof = st.app.ledger_consistency_proof(&a, old, size).await?;
    Ok(Json(ProofOut {
        proof: proof.iter().map(|h| hex(h)).collect(),
    }))
}

/// Leaf `index` (base64) and, to a reader who may see the member, its event.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{index}", params(("index" = u64, Path)), security(("bearer" = [])),
    responses((status = 200, body = LedgerEntryOut), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn entry(
    State(st): State<AppState>,
    actor: Result<ApiActor, ApiError>,
    Path(index): Path<String>,
) -> ApiResult<Json<LedgerEntryOut>> {
    let a = reader(&st, actor)?;
    let index = number("index", Some(&index))?;
    let e = st.app.ledger_entry(&a, index).await?;
    Ok(Json(LedgerEntryOut {
        index: e.index,
        leaf: e.leaf,
        event_type: e.event_type,
        at_unix_ms: e.at_unix_ms,
        event: e
            .event
            .map(|ev| serde_json::to_value(ev).unwrap_or_default()),
    }))
}

/// One archive event of a member and the state of its leaf.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberLedgerEventOut {
    pub record_id: i64,
    pub kind: String,
    pub leaf_index: Option<u64>,
    /// verified, pending, mismatch, unlogged or not_included.
    pub status: String,
}

/// Whether a member's archive history verifies against the latest checkpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberLedgerOut {
    pub verified: bool,
    pub checkpoint_size: u64,
    pub row_matches: bool,
    pub events: Vec<MemberLedgerEventOut>,
}

/// Whether member `id`'s archive history verifies against the latest signed
/// checkpoint (each event re-derived, each leaf's inclusion proof checked).
#[utoipa::path(get, path = "/api/v1/members/{id}/ledger", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemberLedgerOut), (status = 404, body = Problem)))]
pub async fn member_status(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
    Path(id): Path<i64>,
) -> ApiResult<Json<MemberLedgerOut>> {
    let s = st.app.ledger_member_status(&a, id).await?;
    Ok(Json(MemberLedgerOut {
        verified: s.verified,
        checkpoint_size: s.checkpoint_size,
        row_matches: s.row_matches,
        events: s
            .events
            .into_iter()
            .map(|e| MemberLedgerEventOut {
                record_id: e.record_id,
                kind: e.kind,
                leaf_index: e.leaf_index,
                status: e.status.to_string(),
            })
            .collect(),
    }))
}
