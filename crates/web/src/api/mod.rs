//! The JSON API under `/api/v1`, health probes and metrics. The OpenAPI 3.1
//! document is generated from these handlers and served at
//! `/api/v1/openapi.json`.

pub mod admissions;
pub mod auth;
pub mod certificates;
pub mod decisions;
pub mod dues;
pub mod dues_remit;
pub mod fees;
pub mod ledger;
pub mod meetings;
pub mod members;
pub mod orgs;
pub mod participation;
pub mod security;
pub mod transfers;
pub mod types;
pub mod votes;
pub mod warnings;
pub mod witness;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;
use types::HealthOut;

#[derive(OpenApi)]
#[openapi(
    info(title = "dangjian API", description = "智慧党建平台 JSON API. Errors are RFC 9457 problem details.", version = "1"),
    paths(
        healthz, readyz,
        auth::login, auth::logout, auth::me,
        orgs::roots, orgs::create, orgs::detail, orgs::rename, orgs::move_org, orgs::dissolve, orgs::subtree, orgs::history, orgs::committee,
        fees::calculate,
        members::list, members::register, members::detail, members::search, members::import, members::export,
        warnings::list, warnings::rules, warnings::summary, warnings::detail, warnings::acknowledge, warnings::correct, warnings::close, warnings::reopen, warnings::thresholds, warnings::set_thresholds,
        decisions::create, decisions::list, decisions::detail, decisions::report,
        admissions::process, admissions::start, admissions::pipeline, admissions::detail, admissions::act, admissions::cancel, admissions::of_member, admissions::forms, admissions::form_pdf, admissions::attachments, admissions::upload_attachment, admissions::download_attachment,
        certificates::mine, certificates::pdf, certificates::revoke, certificates::verify,
        meetings::create, meetings::list, meetings::compliance, meetings::detail, meetings::sign_in, meetings::status, meetings::minutes, meetings::offline, meetings::leave, meetings::decide_leave, meetings::mine,
        participation::branch, participation::member, participation::mine, participation::duplicates, participation::confirm,
        votes::seats, votes::set_seats, votes::assembly_vote, votes::election, votes::votes, votes::attachments, votes::upload, votes::download,
        dues::set_base, dues::member, dues::statement, dues::pay, dues::reverse, dues::generate, dues::sheet, dues::report, dues::report_xlsx,
        dues_remit::list, dues_remit::record, dues_remit::reverse,
        ledger::checkpoint, ledger::key, ledger::tile, ledger::inclusion, ledger::consistency, ledger::entry, ledger::member_status,
        witness::add_checkpoint, witness::digests, witness::key, witness::logs,
        transfers::process, transfers::list, transfers::of_member, transfers::issue, transfers::detail, transfers::confirm, transfers::cancel, transfers::letter, transfers::import, transfers::receipt,
        security::audit_list, security::audit_csv, security::change_password, security::revoke_sessions, security::totp_enroll, security::totp_confirm,
    ),
    components(schemas(crate::error::Problem, crate::error::ProblemField)),
    modifiers(&BearerAuth, &ProblemResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every error is an RFC 9457 problem (`application/problem+json`): the
/// error responses a handler documents get that media type, and each
/// operation gets a `default` problem response for the statuses any route
/// may answer (400 unreadable input, 401, 403, 404, 413, 415, 429).
/// Schemathesis checks the served responses against this (`.ci/run`).
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        const PROBLEM: &str = "application/problem+json";
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                for (status, resp) in op.responses.responses.iter_mut() {
                    let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                    let RefOr::T(r) = resp else { continue };
                    if !is_error {
                        continue;
                    }
                    // A documented problem is served as problem+json; a
                    // report body (e.g. the roster's row errors) keeps its
                    // JSON and the problem is documented beside it.
                    let is_problem = r.content.get("application/json").is_some_and(|c| {
                        matches!(&c.schema, Some(RefOr::Ref(x)) if x.ref_location.ends_with("/Problem"))
                    });
                    if is_problem {
                        r.content.shift_remove("application/json");
                    }
                    r.content.entry(PROBLEM.into()).or_insert_with(problem);
                }
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description("问题详情 / problem details (RFC 9457)")
                                .content(PROBLEM, problem())
                                .build(),
                        )
                    });
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/orgs", get(orgs::roots).post(orgs::create))
        .route("/api/v1/orgs/{code}", get(orgs::detail).patch(orgs::rename))
        .route("/api/v1/orgs/{code}/move", post(orgs::move_org))
        .route("/api/v1/orgs/{code}/dissolve", post(orgs::dissolve))
        .route("/api/v1/orgs/{code}/subtree", get(orgs::subtree))
        .route("/api/v1/orgs/{code}/history", get(orgs::history))
        .route(
            "/api/v1/orgs/{code}/committee",
            axum::routing::put(orgs::committee),
        )
        .route(
            "/api/v1/orgs/{code}/members",
            get(members::list).post(members::register),
        )
        .route("/api/v1/orgs/{code}/roster", post(members::import))
        .route("/api/v1/orgs/{code}/roster.{ext}", get(members::export))
        .route("/api/v1/members/search", post(members::search))
        .route("/api/v1/fees/calculate", get(fees::calculate))
        .route("/api/v1/members/{id}", get(members::detail))
        .route("/api/v1/warnings", get(warnings::list))
        .route("/api/v1/warnings/rules", get(warnings::rules))
        .route("/api/v1/warnings/summary", get(warnings::summary))
        .route("/api/v1/warnings/{id}", get(warnings::detail))
        .route(
            "/api/v1/warnings/{id}/acknowledge",
            post(warnings::acknowledge),
        )
        .route("/api/v1/warnings/{id}/correct", post(warnings::correct))
        .route("/api/v1/warnings/{id}/close", post(warnings::close))
        .route("/api/v1/warnings/{id}/reopen", post(warnings::reopen))
        .route(
            "/api/v1/orgs/{code}/thresholds",
            get(warnings::thresholds).put(warnings::set_thresholds),
        )
        .route(
            "/api/v1/orgs/{code}/decisions",
            get(decisions::list).post(decisions::create),
        )
        .route("/api/v1/decisions/{id}", get(decisions::detail))
        .route(
            "/api/v1/decisions/{id}/report-emergency",
            post(decisions::report),
        )
        .route("/api/v1/admissions/process", get(admissions::process))
        .route(
            "/api/v1/orgs/{code}/admissions",
            get(admissions::pipeline).post(admissions::start),
        )
        .route("/api/v1/admissions/{id}", get(admissions::detail))
        .route("/api/v1/admissions/{id}/cancel", post(admissions::cancel))
        .route("/api/v1/admissions/{id}/forms", get(admissions::forms))
        .route(
            "/api/v1/admissions/{id}/forms/{form}",
            get(admissions::form_pdf),
        )
        .route(
            "/api/v1/admissions/{id}/steps/{step}",
            post(admissions::act),
        )
        .route(
            "/api/v1/members/{id}/admissions",
            get(admissions::of_member),
        )
        .route(
            "/api/v1/orgs/{code}/meetings",
            get(meetings::list).post(meetings::create),
        )
        .route(
            "/api/v1/orgs/{code}/meetings/compliance",
            get(meetings::compliance),
        )
        .route("/api/v1/meetings/{id}", get(meetings::detail))
        .route("/api/v1/meetings/{id}/signin", post(meetings::sign_in))
        .route("/api/v1/meetings/{id}/status", post(meetings::status))
        .route(
            "/api/v1/meetings/{id}/minutes",
            axum::routing::put(meetings::minutes),
        )
        .route("/api/v1/meetings/{id}/attendance", post(meetings::offline))
        .route("/api/v1/meetings/{id}/leave", post(meetings::leave))
        .route(
            "/api/v1/meetings/{id}/leave/{member_id}",
            post(meetings::decide_leave),
        )
        .route("/api/v1/me/attendance", get(meetings::mine))
        .route(
            "/api/v1/admissions/{id}/attachments/{attachment_id}",
            get(admissions::download_attachment),
        )
        .route("/api/v1/me/participation", get(participation::mine))
        .route(
            "/api/v1/orgs/{code}/participation",
            get(participation::branch),
        )
        .route(
            "/api/v1/members/{id}/participation",
            get(participation::member),
        )
        .route(
            "/api/v1/meetings/{id}/minutes/duplicates",
            get(participation::duplicates),
        )
        .route(
            "/api/v1/meetings/{id}/minutes/confirm",
            post(participation::confirm),
        )
        .route("/api/v1/me/certificates", get(certificates::mine))
        .route("/api/v1/certificates/{number}/pdf", get(certificates::pdf))
        .route(
            "/api/v1/certificates/{number}/revoke",
            post(certificates::revoke),
        )
        .route(
            "/api/v1/verify/certificate/{number}",
            get(certificates::verify),
        )
        .route(
            "/api/v1/orgs/{code}/committee/seats",
            get(votes::seats).put(votes::set_seats),
        )
        .route(
            "/api/v1/meetings/{id}/assembly-votes",
            post(votes::assembly_vote),
        )
        .route("/api/v1/meetings/{id}/elections", post(votes::election))
        .route("/api/v1/meetings/{id}/votes", get(votes::votes))
        .route(
            "/api/v1/meetings/{id}/attachments/{attachment_id}",
            get(votes::download),
        )
        .route("/api/v1/dues/members/{id}", get(dues::member))
        .route("/api/v1/dues/members/{id}/base", post(dues::set_base))
        .route("/api/v1/dues/members/{id}/statement", get(dues::statement))
        .route("/api/v1/dues/members/{id}/payments", post(dues::pay))
        .route("/api/v1/dues/payments/{id}/reverse", post(dues::reverse))
        .route(
            "/api/v1/dues/orgs/{code}/sheets/{month}",
            get(dues::sheet).post(dues::generate),
        )
        .route(
            "/api/v1/dues/orgs/{code}/remittances",
            get(dues_remit::list).post(dues_remit::record),
        )
        .route(
            "/api/v1/dues/remittances/{id}/reverse",
            post(dues_remit::reverse),
        )
        .route("/api/v1/dues/orgs/{code}/report", get(dues::report))
        .route(
            "/api/v1/dues/orgs/{code}/report.xlsx",
            get(dues::report_xlsx),
        )
        .route("/ledger/checkpoint", get(ledger::checkpoint))
        .route("/ledger/key", get(ledger::key))
        .route("/ledger/tile/{*path}", get(ledger::tile))
        .route("/api/v1/ledger/proofs/inclusion", get(ledger::inclusion))
        .route(
            "/api/v1/ledger/proofs/consistency",
            get(ledger::consistency),
        )
        .route("/api/v1/ledger/entries/{index}", get(ledger::entry))
        .route("/api/v1/members/{id}/ledger", get(ledger::member_status))
        .route("/witness/add-checkpoint", post(witness::add_checkpoint))
        .route("/witness/digests", post(witness::digests))
        .route("/witness/key", get(witness::key))
        .route("/api/v1/witness/logs", get(witness::logs))
        .route("/api/v1/orgs/{code}/transfers", get(transfers::list))
        .route(
            "/api/v1/members/{id}/transfers",
            get(transfers::of_member).post(transfers::issue),
        )
        .route("/api/v1/transfers/process", get(transfers::process))
        .route("/api/v1/transfers/import", post(transfers::import))
        .route("/api/v1/transfers/receipts", post(transfers::receipt))
        .route("/api/v1/transfers/{id}", get(transfers::detail))
        .route("/api/v1/transfers/{id}/confirm", post(transfers::confirm))
        .route("/api/v1/transfers/{id}/cancel", post(transfers::cancel))
        .route("/api/v1/transfers/{id}/letter", get(transfers::letter))
        .route("/api/v1/orgs/{code}/audit", get(security::audit_list))
        .route("/api/v1/orgs/{code}/audit.csv", get(security::audit_csv))
        .route("/api/v1/me/password", post(security::change_password))
        .route("/api/v1/me/totp", post(security::totp_enroll))
        .route("/api/v1/me/totp/confirm", post(security::totp_confirm))
        .route(
            "/api/v1/users/{login}/sessions/revoke",
            post(security::revoke_sessions),
        )
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = HealthOut)))]
pub async fn healthz() -> Json<HealthOut> {
    Json(HealthOut {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
pub async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    if st.app.db.ping().await {
        (
            StatusCode::OK,
            Json(HealthOut {
                status: "ready".into(),
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthOut {
                status: "database unavailable".into(),
            }),
        )
    }
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    Json(doc)
}
