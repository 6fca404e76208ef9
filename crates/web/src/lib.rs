//! The web layer: one axum router serving the `/api/v1` JSON API (OpenAPI
//! generated from the code), the server-rendered pages, health and metrics.
//! Only this crate knows HTTP and JSON shapes; handlers stay thin and call
//! `dangjian-app`.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod i18n;
pub mod metrics;
pub mod pages;
pub mod ratelimit;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use dangjian_app::App;
use tower_http::set_header::SetResponseHeaderLayer;

/// Shared state of every handler: one `Arc`, so the clone that each
/// stateful middleware and extractor makes per request is one atomic
/// increment instead of one per field of [`Shared`] and of `App` (about
/// 3 % of a request's CPU in the sign-in profile). Fields read through
/// `Deref`; settings change before serving with [`AppState::settings_mut`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
#[derive(Clone)]
pub struct Shared {
    pub app: App,
    pub metrics: Arc<metrics::Metrics>,
    /// Whether cookies get the `Secure` attribute (set behind TLS).
    pub secure_cookies: bool,
    /// Per-address limits of the sign-in and public endpoints.
    pub limits: Arc<ratelimit::RateLimits>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (empty: the
    /// connection's peer is the client).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self(Arc::new(Shared {
            app,
            metrics: Arc::new(metrics::Metrics::default()),
            secure_cookies: false,
            limits: Arc::new(ratelimit::RateLimits::default()),
            trusted_proxies: Arc::new(Vec::new()),
        }))
    }

    /// The settings, for changing them before serving (copied first if a
    /// clone of this state shares them, so that clone keeps its own).
    pub fn settings_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
               frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
    let router = Router::new()
        .merge(api::routes())
        .merge(api::votes::upload_routes(
            state.app.config.attachment_max_bytes,
        ))
        .merge(api::admissions::upload_routes(
            state.app.config.attachment_max_bytes,
        ))
        .merge(pages::votes::upload_routes(
            state.app.config.attachment_max_bytes,
        ))
        .merge(pages::admission_materials::upload_routes(
            state.app.config.attachment_max_bytes,
        ))
        .merge(pages::routes())
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(
            error::plain_rejections_as_problems,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            64 * 1024 * 1024,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::resolve_client,
        ));
    // HSTS only where the server itself speaks TLS (issue 5, item 3).
    let router = if state.secure_cookies {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
    } else {
        router
    };
    router.with_state(state)
}
