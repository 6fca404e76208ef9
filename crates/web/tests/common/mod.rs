//! Shared set-up of the web tests: a fresh database (SQLite in a temp dir, or
//! a new PostgreSQL database when `DANGJIAN_TEST_DATABASE_URL` is set), the
//! demo data seeded at a fixed time, and the router over it.

#![allow(dead_code)]

use std::sync::Arc;

use dangjian_app::{App, Db, FixedClock, Keyring};

pub struct Env {
    pub app: App,
    pub router: axum::Router,
    pub _dir: std::path::PathBuf,
}

/// The demo (120 members, swept once) behind a router; `tag` keeps temp dirs apart.
pub async fn env(tag: &str) -> Env {
    let (app, dir) = bare_app(tag).await;
    app.seed_demo(120, &|_| {}).await.expect("demo");
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    Env {
        app,
        router,
        _dir: dir,
    }
}

/// An app over a fresh, migrated, empty database at the fixed test time, and
/// its temp dir.
pub async fn bare_app(tag: &str) -> (App, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "dj-web-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = match std::env::var("DANGJIAN_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => fresh_pg(u.trim(), tag).await,
        _ => format!("sqlite://{}?mode=rwc", dir.join("t.db").display()),
    };
    let db = Db::connect(&url).await.expect("db");
    db.migrate().await.expect("migrate");
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T02:00:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let app = App::new(
        db,
        Keyring::generate().expect("keys"),
        Arc::new(FixedClock::new(at)),
    );
    app.start_workflows().await.expect("start workflows");
    (app, dir)
}

/// A fresh database on the PostgreSQL server of `url`.
async fn fresh_pg(url: &str, tag: &str) -> String {
    use dangjian_store::sea_orm::ConnectionTrait;
    let name = format!(
        "djweb_{}_{}_{}",
        tag.replace('-', "_"),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let admin = Db::connect(url).await.expect("pg");
    admin
        .conn
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create db");
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => url.to_string(),
    }
}

impl Env {
    /// A fresh API token of `login`.
    pub async fn token(&self, login: &str) -> String {
        self.app.create_token(login, "test").await.expect("token")
    }

    /// One API request with a bearer token and an optional JSON body;
    /// 4xx answers must be problem details. The status and the JSON.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (axum::http::StatusCode, serde_json::Value) {
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(b) => {
                req = req.header(axum::http::header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(b.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let r = send_raw(&self.router, req.body(body).expect("request")).await;
        if r.status.is_client_error() {
            assert_eq!(
                r.content_type.as_deref(),
                Some("application/problem+json"),
                "{uri}"
            );
        }
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A page request with a session cookie (and a form body); answers the
    /// status and the redirect target or the body.
    pub async fn page(
        &self,
        method: &str,
        uri: &str,
        cookie: &str,
        form: Option<&str>,
    ) -> (axum::http::StatusCode, String) {
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(axum::http::header::COOKIE, format!("dj_session={cookie}"))
            // Pages that print absolute links (the sign-in QR code) use it.
            .header(axum::http::header::HOST, "dj.example:8080");
        let body = match form {
            Some(f) => {
                req = req.header(
                    axum::http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                );
                axum::body::Body::from(f.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let r = send_raw(&self.router, req.body(body).expect("request")).await;
        (r.status, r.location.unwrap_or(r.body))
    }

    /// A web session of `login`: (cookie secret, CSRF token).
    pub async fn session(&self, login: &str) -> (String, String) {
        let u = dangjian_store::repo::identity::user_by_login(&self.app.db.conn, login)
            .await
            .expect("db")
            .expect("user");
        let actor = self.app.actor_for(u.id, None).await.expect("actor");
        self.app.open_session(&actor).await.expect("session")
    }

    /// The code of the organization of `login`'s first grant.
    pub async fn org_of(&self, login: &str) -> String {
        let u = dangjian_store::repo::identity::user_by_login(&self.app.db.conn, login)
            .await
            .expect("db")
            .expect("user");
        let a = self.app.actor_for(u.id, None).await.expect("actor");
        a.grants[0].org_code.clone()
    }
}

/// What one in-process request answered.
pub struct Sent {
    pub status: axum::http::StatusCode,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

/// Sends one request through the router (no network) and reads the answer.
pub async fn send_raw(router: &axum::Router, req: axum::http::Request<axum::body::Body>) -> Sent {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = router.clone().oneshot(req).await.expect("response");
    let header = |name| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (status, content_type, location) = (
        res.status(),
        header(axum::http::header::CONTENT_TYPE),
        header(axum::http::header::LOCATION),
    );
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Sent {
        status,
        content_type,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}
