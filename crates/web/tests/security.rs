//! Security through HTTP (issue 5): sign-ins are audited with the caller's
//! address and locked out after repeated failures (429 with Retry-After);
//! the sign-in endpoint is rate limited per address; auditors read and
//! export the audit log of their subtree; a password change and an
//! administrator end sessions; TOTP is enrolled through the API and then
//! asked for by the API and the sign-in page; the security headers forbid
//! inline scripts and framing.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};

mod common;

fn from(addr: &str, mut req: Request<Body>) -> Request<Body> {
    let a: SocketAddr = format!("{addr}:40000").parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(a));
    req
}

fn api_login(login: &str, password: &str) -> Request<Body> {
    Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            serde_json::json!({"login": login, "password": password}).to_string(),
        ))
        .expect("req")
}

async fn send_full(
    router: &axum::Router,
    req: Request<Body>,
) -> axum::http::Response<axum::body::Body> {
    use tower::ServiceExt;
    router.clone().oneshot(req).await.expect("response")
}

#[tokio::test]
async fn lockout_and_rate_limit_answer_429_with_retry_after() {
    let env = common::env("security").await;
    let demo = env.app.seed_demo(120, &|_| {}).await.expect("passwords");
    let pw = |login: &str| {
        demo.users
            .iter()
            .find(|u| u.login == login)
            .expect("user")
            .password
            .clone()
    };
    // A sign-in from an address is audited with it.
    let r = common::send_raw(
        &env.router,
        from("192.0.2.10", api_login("secretary_a", &pw("secretary_a"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = dangjian_store::repo::audit::page(&env.app.db.conn, None, 10_000)
        .await
        .expect("audit");
    let ok = rows
        .iter()
        .rev()
        .find(|r| r.action == "login.success")
        .expect("login.success");
    assert_eq!(ok.remote_addr.as_deref(), Some("192.0.2.10"));
    assert!(ok.org_id.is_some(), "attributed to the user's organization");

    // Five wrong passwords lock the account: the right one gets 429 too.
    for _ in 0..5 {
        let r = common::send_raw(
            &env.router,
            from("192.0.2.11", api_login("county_staff", "wrong-password-1")),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let res = send_full(
        &env.router,
        from("192.0.2.12", api_login("county_staff", &pw("county_staff"))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(
        res.headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("30")
    );
    // The sign-in page says so as well.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "login=county_staff&password={}",
            pw("county_staff")
        )))
        .expect("req");
    let r = common::send_raw(&env.router, from("192.0.2.13", req)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("秒后再试"), "{}", r.body);

    // One address may try 10 sign-ins at once, then waits (different
    // logins, so no account lock interferes).
    let mut statuses = Vec::new();
    for i in 0..11 {
        let r = common::send_raw(
            &env.router,
            from(
                "198.51.100.7",
                api_login(&format!("nobody{i}"), "wrong-password-1"),
            ),
        )
        .await;
        statuses.push(r.status);
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held back.
    let r = common::send_raw(
        &env.router,
        from("198.51.100.8", api_login("member_a", &pw("member_a"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn auditors_export_the_audit_log_and_sessions_can_be_ended() {
    let env = common::env("security").await;
    let app = &env.app;
    let county = "GD-C01-X01";
    let token = app.create_token("auditor", "t").await.expect("token");
    let get = |path: String, bearer: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .body(Body::empty())
            .expect("req")
    };
    // Reading a member's sensitive fields is audited and shows up for the
    // auditor of the subtree.
    let sec = app.create_token("secretary_a", "t").await.expect("token");
    let list = common::send_raw(
        &env.router,
        get(format!("/api/v1/orgs/{county}-W01-B01/members"), &sec),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&list.body).expect("json");
    let id = v["items"][0]["id"].as_i64().expect("id");
    let r = common::send_raw(&env.router, get(format!("/api/v1/members/{id}"), &sec)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = common::send_raw(
        &env.router,
        get(format!("/api/v1/orgs/{county}/audit"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let read = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "member.read_sensitive")
        .expect("the read is in the log");
    assert_eq!(read["target_id"], id);
    assert_eq!(read["login"], "secretary_a");
    assert_eq!(read["hash"].as_str().map(str::len), Some(64));
    let r = common::send_raw(
        &env.router,
        get(format!("/api/v1/orgs/{county}/audit.csv"), &token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type.as_deref(), Some("text/csv; charset=utf-8"));
    assert!(r.body.contains("member.read_sensitive"));
    assert!(
        app.audit_verify()
            .await
            .expect("verify")
            .problems
            .is_empty()
    );
    // The same entries on the auditor's page.
    let au = dangjian_store::repo::identity::user_by_login(&app.db.conn, "auditor")
        .await
        .expect("db")
        .expect("auditor");
    let au = app.actor_for(au.id, None).await.expect("actor");
    let (au_secret, _) = app.open_session(&au).await.expect("session");
    let r = common::send_raw(
        &env.router,
        Request::get(format!("/orgs/{county}/audit"))
            .header(header::COOKIE, format!("dj_session={au_secret}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("member.read_sensitive") && r.body.contains("secretary_a"));

    // A password change through the API checks the policy ...
    let u = dangjian_store::repo::identity::user_by_login(&app.db.conn, "member_a")
        .await
        .expect("db")
        .expect("user");
    let actor = app.actor_for(u.id, None).await.expect("actor");
    let (secret, csrf) = app.open_session(&actor).await.expect("session");
    let demo = app.seed_demo(120, &|_| {}).await.expect("passwords");
    let old = demo
        .users
        .iter()
        .find(|u| u.login == "member_a")
        .expect("member_a")
        .password
        .clone();
    let change = |new: &str| {
        Request::post("/api/v1/me/password")
            .header(header::COOKIE, format!("dj_session={secret}"))
            .header("x-csrf-token", csrf.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({"current_password": old, "new_password": new}).to_string(),
            ))
            .expect("req")
    };
    let r = common::send_raw(&env.router, change("member_a-2026")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let p: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(p["field"], "password");
    let r = common::send_raw(&env.router, change("Dangyuan-2026")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    // ... and an administrator ends the member's sessions.
    let admin = app.create_token("admin", "t").await.expect("token");
    let r = common::send_raw(
        &env.router,
        Request::post("/api/v1/users/member_a/sessions/revoke")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = common::send_raw(
        &env.router,
        Request::get("/api/v1/me")
            .header(header::COOKIE, format!("dj_session={secret}"))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn security_headers_forbid_inline_script_and_framing() {
    let env = common::env("security").await;
    for path in ["/login", "/api/v1/openapi.json", "/healthz"] {
        let res = send_full(
            &env.router,
            Request::get(path).body(Body::empty()).expect("req"),
        )
        .await;
        let h = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("x-content-type-options"), "nosniff");
        // Plain HTTP in tests: no HSTS.
        assert_eq!(h("strict-transport-security"), "");
    }
    // Behind TLS the server sends HSTS.
    let mut st = dangjian_web::AppState::new(env.app.clone());
    st.settings_mut().secure_cookies = true;
    let res = send_full(
        &dangjian_web::router(st),
        Request::get("/login").body(Body::empty()).expect("req"),
    )
    .await;
    assert!(
        res.headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

#[tokio::test]
async fn totp_through_the_api_and_the_sign_in_page() {
    let env = common::env("security").await;
    let demo = env.app.seed_demo(120, &|_| {}).await.expect("passwords");
    let pw = demo
        .users
        .iter()
        .find(|u| u.login == "secretary_b")
        .expect("user")
        .password
        .clone();
    let token = env
        .app
        .create_token("secretary_b", "t")
        .await
        .expect("token");
    let post = |path: &str, body: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("req")
    };
    let r = common::send_raw(&env.router, post("/api/v1/me/totp", "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let secret = v["secret"].as_str().expect("secret").to_string();
    let now = env.app.clock.now().timestamp() as u64;
    let code = |t: u64| dangjian_app::totp::code_at(&secret, t).expect("code");
    let r = common::send_raw(
        &env.router,
        post(
            "/api/v1/me/totp/confirm",
            &serde_json::json!({"code": code(now)}).to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    // Password alone: 422 naming the missing code.
    let r = common::send_raw(&env.router, api_login("secretary_b", &pw)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let p: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(p["field"], "totp");
    // A wrong code: 401.
    let login_with = |c: &str| {
        Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({"login": "secretary_b", "password": pw, "totp": c}).to_string(),
            ))
            .expect("req")
    };
    let wrong = if code(now + 30) == "123456" {
        "654321"
    } else {
        "123456"
    };
    let r = common::send_raw(&env.router, login_with(wrong)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The sign-in page takes the code from its form.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "login=secretary_b&password={pw}&totp={}",
            code(now + 30)
        )))
        .expect("req");
    let r = common::send_raw(&env.router, req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Whatever refuses an API request — our handlers or axum's extractors — the
/// answer is a problem document (issue 5, item 8: Schemathesis checks the
/// served media types against the OpenAPI document).
#[tokio::test]
async fn extractor_rejections_on_the_api_are_problem_details() {
    let e = common::env("plain-rejections").await;
    let t = e.token("admin").await;
    // A path segment that is no i64, an unparsable JSON body, a wrong media type.
    let (s, p) = e
        .call(
            "GET",
            "/api/v1/members/9223372036854775808/ledger",
            &t,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(p["status"], 400);
    assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    let req = Request::post("/api/v1/orgs")
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("not json"))
        .expect("req");
    let r = common::send_raw(&e.router, req).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
    // Pages are not API routes: their refusals stay as they are.
    let r = common::send_raw(
        &e.router,
        Request::get("/members/not-a-number")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_ne!(r.content_type.as_deref(), Some("application/problem+json"));
}

/// Behind a trusted reverse proxy every client arrives from the proxy's
/// address; the client address then comes from `X-Forwarded-For`, for the
/// rate limit and the audit log alike — and from anyone else the header is
/// ignored, so a client cannot pick its own address.
#[tokio::test]
async fn behind_a_trusted_proxy_limits_and_audit_follow_the_forwarded_client() {
    let env = common::env("proxy").await;
    let mut state = dangjian_web::AppState::new(env.app.clone());
    state.settings_mut().trusted_proxies =
        std::sync::Arc::new(vec!["10.0.0.0/8".parse().expect("net")]);
    let router = dangjian_web::router(state);
    let via = |proxy: &str, client: &str, login: &str| {
        let mut req = api_login(login, "wrong-password-1");
        req.headers_mut()
            .insert("x-forwarded-for", client.parse().expect("header"));
        from(proxy, req)
    };
    // Ten failures for one forwarded client, through the proxy: the 11th is
    // held back, another client behind the same proxy is not.
    for i in 0..10 {
        let r = common::send_raw(&router, via("10.0.0.2", "203.0.113.5", &format!("x{i}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = common::send_raw(&router, via("10.0.0.2", "203.0.113.5", "x10")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = common::send_raw(&router, via("10.0.0.2", "203.0.113.6", "y0")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The audit log names the client, not the proxy.
    let rows = dangjian_store::repo::audit::page(&env.app.db.conn, None, 10_000)
        .await
        .expect("audit");
    let last = rows
        .iter()
        .rev()
        .find(|r| r.action == "login.failure")
        .expect("login.failure");
    assert_eq!(last.remote_addr.as_deref(), Some("203.0.113.6"));
    // Not from the proxy: the header is the caller's own claim and ignored.
    let r = common::send_raw(&router, via("198.51.100.9", "203.0.113.77", "z0")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let rows = dangjian_store::repo::audit::page(&env.app.db.conn, None, 10_000)
        .await
        .expect("audit");
    let last = rows
        .iter()
        .rev()
        .find(|r| r.action == "login.failure")
        .expect("login.failure");
    assert_eq!(last.remote_addr.as_deref(), Some("198.51.100.9"));
}
