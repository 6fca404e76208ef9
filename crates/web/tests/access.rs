//! Scoping through HTTP: a user of branch A gets 404 for every member of
//! branch B through the API and the pages; problem details for bad input;
//! CSRF on cookie-authenticated writes; the OpenAPI document is served.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dangjian_app::{Actor, App};

mod common;

use common::{Env, env};

async fn actor_of(app: &App, login: &str) -> Actor {
    let u = dangjian_store::repo::identity::user_by_login(&app.db.conn, login)
        .await
        .expect("db")
        .expect("user");
    app.actor_for(u.id, None).await.expect("actor")
}

async fn token(app: &App, login: &str) -> String {
    app.create_token(login, "test").await.expect("token")
}

async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, String, Option<String>) {
    let r = common::send_raw(router, req).await;
    (r.status, r.body, r.content_type)
}

fn get(path: &str, bearer: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .body(Body::empty())
        .expect("request")
}

async fn members_of(env: &Env, bearer: &str, org: &str) -> Vec<i64> {
    let (s, body, _) = send(
        &env.router,
        get(&format!("/api/v1/orgs/{org}/members?limit=500"), bearer),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .collect()
}

const A: &str = "GD-C01-X01-W01-B01";
const B: &str = "GD-C01-X01-W01-B02";

#[tokio::test]
async fn branch_a_cannot_see_branch_b_through_api_or_pages() {
    let env = env("access").await;
    let ta = token(&env.app, "secretary_a").await;
    let tb = token(&env.app, "secretary_b").await;
    let b_members = members_of(&env, &tb, B).await;
    assert!(!b_members.is_empty());
    let a_members = members_of(&env, &ta, A).await;
    assert!(!a_members.is_empty());

    // API: B's list and every B member are invisible to A.
    let (s, body, ct) = send(&env.router, get(&format!("/api/v1/orgs/{B}/members"), &ta)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let (s, _, _) = send(
        &env.router,
        get(&format!("/api/v1/orgs/{B}/roster.csv"), &ta),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for id in &b_members {
        let (s, body, _) = send(&env.router, get(&format!("/api/v1/members/{id}"), &ta)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "member {id}: {body}");
    }
    // A sees its own members in full.
    let (s, body, _) = send(
        &env.router,
        get(&format!("/api/v1/members/{}", a_members[0]), &ta),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["sensitive_visible"], true);
    assert!(!v["id_number"].as_str().expect("id").contains('*'));

    // Pages: same answer through a browser session.
    let actor = actor_of(&env.app, "secretary_a").await;
    let (secret, _) = env.app.open_session(&actor).await.expect("session");
    for id in &b_members {
        let req = Request::get(format!("/members/{id}"))
            .header(header::COOKIE, format!("dj_session={secret}"))
            .body(Body::empty())
            .expect("req");
        let (s, body, _) = send(&env.router, req).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "page of member {id}");
        assert!(!body.contains("mono\">1"), "no ID digits leak");
    }
    let req = Request::get(format!("/orgs/{B}"))
        .header(header::COOKIE, format!("dj_session={secret}"))
        .body(Body::empty())
        .expect("req");
    assert_eq!(send(&env.router, req).await.0, StatusCode::NOT_FOUND);
    let req = Request::get(format!("/members/{}", a_members[0]))
        .header(header::COOKIE, format!("dj_session={secret}"))
        .body(Body::empty())
        .expect("req");
    assert_eq!(send(&env.router, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn auditor_sees_masked_member_only_and_member_sees_self() {
    let env = env("access").await;
    let t = token(&env.app, "auditor").await;
    let ids = members_of(&env, &t, A).await;
    let (s, body, _) = send(&env.router, get(&format!("/api/v1/members/{}", ids[0]), &t)).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["sensitive_visible"], false);
    assert!(v["id_number"].as_str().expect("id").contains('*'));

    let tm = token(&env.app, "member_a").await;
    let me: serde_json::Value =
        serde_json::from_str(&send(&env.router, get("/api/v1/me", &tm)).await.1).expect("json");
    let own = me["member_id"].as_i64().expect("member id");
    assert_eq!(
        send(&env.router, get(&format!("/api/v1/members/{own}"), &tm))
            .await
            .0,
        StatusCode::OK
    );
    let other = ids.iter().find(|i| **i != own).expect("another member");
    assert_eq!(
        send(&env.router, get(&format!("/api/v1/members/{other}"), &tm))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&env.router, get(&format!("/api/v1/orgs/{A}/members"), &tm))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn bad_input_gets_problem_details_and_csrf_is_enforced() {
    let env = env("access").await;
    let t = token(&env.app, "secretary_a").await;
    // Invalid member: every error names its field.
    let body = serde_json::json!({"name": "", "id_number": "110105194912310021", "stage": "applicant", "applied_on": "2020-01-01"});
    let req = Request::post(format!("/api/v1/orgs/{A}/members"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let (s, body, ct) = send(&env.router, req).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let p: serde_json::Value = serde_json::from_str(&body).expect("json");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"id_number"),
        "{fields:?}"
    );
    // Malformed JSON: 400 naming the body.
    let req = Request::post(format!("/api/v1/orgs/{A}/members"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{"))
        .expect("req");
    let (s, body, _) = send(&env.router, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // Bad cursor and bad limit: 400.
    assert_eq!(
        send(
            &env.router,
            get(&format!("/api/v1/orgs/{A}/members?cursor=zz"), &t)
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(
            &env.router,
            get(&format!("/api/v1/orgs/{A}/members?limit=-3"), &t)
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    // No credentials: 401; a wrong token: 401.
    let (s, _, _) = send(
        &env.router,
        Request::get("/api/v1/me").body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&env.router, get("/api/v1/me", "dj_nope")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Cookie-authenticated write without the CSRF header is refused.
    let actor = actor_of(&env.app, "secretary_a").await;
    let (secret, csrf) = env.app.open_session(&actor).await.expect("session");
    let req = Request::post("/api/v1/members/search")
        .header(header::COOKIE, format!("dj_session={secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"id_number":"11010519491231002X"}"#))
        .expect("req");
    assert_eq!(
        send(&env.router, req).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let req = Request::post("/api/v1/members/search")
        .header(header::COOKIE, format!("dj_session={secret}"))
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"id_number":"11010519491231002X"}"#))
        .expect("req");
    assert_eq!(send(&env.router, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn health_metrics_and_openapi() {
    let env = env("access").await;
    for p in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/login",
        "/assets/app.css",
    ] {
        let (s, _, _) = send(
            &env.router,
            Request::get(p).body(Body::empty()).expect("req"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{p}");
    }
    let (_, body, _) = send(
        &env.router,
        Request::get("/api/v1/openapi.json")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/members/{id}"].is_object());
}

#[tokio::test]
async fn fee_calculator_is_exact_and_rejects_bad_input() {
    let env = env("access").await;
    let fee = |q: &str| {
        Request::get(format!("/api/v1/fees/calculate?{q}"))
            .body(Body::empty())
            .expect("req")
    };
    // DOMAIN.md §7: the rate applies to the whole base; 3000 is in the 0.5 % bracket.
    for (q, fen) in [
        ("category=employed&income=3000", 1500),
        ("category=employed&income=3000.01", 3000),
        ("category=retired&income=5000.01", 5000),
        ("category=%E5%9C%A8%E8%81%8C&income=10000", 15000),
    ] {
        let (s, body, _) = send(&env.router, fee(q)).await;
        assert_eq!(s, StatusCode::OK, "{q}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["fee_fen"], fen, "{q}");
        assert!(v["rule"].is_string() && v["rate"].is_string());
    }
    for (q, field) in [
        ("category=employed&income=-1", "income"),
        ("category=employed&income=1.234", "income"),
        ("category=employed&income=abc", "income"),
        ("category=pirate&income=1", "category"),
    ] {
        let (s, body, ct) = send(&env.router, fee(q)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        let p: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(p["field"], field, "{q}");
    }
}
