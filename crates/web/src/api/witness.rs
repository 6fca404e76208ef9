//! The witness side of federation over HTTP (issue 4 §5): the C2SP
//! tlog-witness `add-checkpoint` endpoint children push to, the witness's
//! verifier key, and the list of witnessed child logs for auditors.
//!
//! `add-checkpoint` needs no credentials: a request counts only if the
//! checkpoint is signed by a child key an administrator registered. Its
//! answers are the protocol's, in plain text: 200 with the cosignature line,
//! 400, 403, 404, 409 with the size last cosigned (`text/x.tlog.size`), 422.
//! `digests` takes a child's signed list of keyed ID-number digests and
//! answers which are also active elsewhere (issue 4 §6).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dangjian_app::federation::{WitnessError, WitnessedLog};
use dangjian_ledger::witness::Refusal;
use serde::Serialize;

use crate::AppState;
use crate::auth::ApiActor;
use crate::error::{ApiResult, Problem};

/// A witnessed child log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WitnessedLogOut {
    pub origin: String,
    pub vkey: String,
    /// Size of the last checkpoint cosigned (0: none yet).
    pub size: u64,
    /// That checkpoint with this server's cosignature.
    pub checkpoint: Option<String>,
    /// How many checkpoints were cosigned.
    pub cosigned: usize,
}

impl From<WitnessedLog> for WitnessedLogOut {
    fn from(l: WitnessedLog) -> Self {
        Self {
            origin: l.origin,
            vkey: l.vkey,
            size: l.size,
            checkpoint: l.checkpoint,
            cosigned: l.cosigned,
        }
    }
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// C2SP tlog-witness add-checkpoint: `old <size>`, proof lines, an empty
/// line, the signed checkpoint.
#[utoipa::path(post, path = "/witness/add-checkpoint",
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, content_type = "text/plain", body = String), (status = 400, content_type = "text/plain", body = String),
        (status = 403, content_type = "text/plain", body = String), (status = 404, content_type = "text/plain", body = String),
        (status = 409, content_type = "text/x.tlog.size", body = String), (status = 422, content_type = "text/plain", body = String)))]
pub async fn add_checkpoint(State(st): State<AppState>, body: String) -> Response {
    match st.app.witness_add_checkpoint(&body).await {
        Ok(line) => plain(StatusCode::OK, "text/plain; charset=utf-8", line),
        Err(WitnessError::Refused(Refusal::Conflict { latest })) => plain(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{latest}\n"),
        ),
        Err(WitnessError::Refused(r)) => plain(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "text/plain; charset=utf-8",
            format!("{r}\n"),
        ),
        Err(WitnessError::App(e)) => crate::error::ApiError::from(e).into_response(),
    }
}

/// The digests of a child's list that are also active under another origin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DuplicatesOut {
    pub duplicates: Vec<String>,
}

/// A child's signed list of keyed digests of its active members' ID
/// numbers; answers which are also active elsewhere.
#[utoipa::path(post, path = "/witness/digests",
    request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = DuplicatesOut), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn digests(State(st): State<AppState>, body: String) -> ApiResult<Json<DuplicatesOut>> {
    Ok(Json(DuplicatesOut {
        duplicates: st.app.witness_digests(&body).await?,
    }))
}

/// The witness's cosigner verifier key (a child's `parent_vkey`).
#[utoipa::path(get, path = "/witness/key",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn key(State(st): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        st.app.witness_vkey().await? + "\n",
    ))
}

/// The child logs this server witnesses, with the last checkpoint cosigned
/// for each (auditors and administrators).
#[utoipa::path(get, path = "/api/v1/witness/logs", security(("bearer" = [])),
    responses((status = 200, body = Vec<WitnessedLogOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn logs(
    State(st): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<WitnessedLogOut>>> {
    Ok(Json(
        st.app
            .witness_logs(&a)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}
