//! The warnings and decisions API and the supervision pages through the
//! router (in process, `tower::ServiceExt::oneshot`): a decision recorded
//! over HTTP raises its warning; the branch's secretary acts on it, the
//! sibling branch's secretary gets 404 problem details; bad filters and
//! thresholds name their field; the dashboard, warning and register pages
//! render and their forms carry the CSRF token.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;

use common::env;

fn circulated() -> Value {
    json!({
        "kind": "major_project",
        "title": "村道硬化工程发包",
        "amount_fen": 8_000_000,
        "method": "circulation",
        "decided_on": "2026-11-20",
        "members_total": 5,
        "attendees": [1, 2, 3, 4, 5],
        "prior_research": true,
        "consultation": true,
        "legal_review": true,
        "statements": [
            {"member_id": 1, "position": "agree"},
            {"member_id": 2, "position": "同意"},
            {"member_id": 3, "position": "agree"},
            {"member_id": 4, "position": "agree"},
            {"member_id": 5, "position": "agree", "principal": true}
        ]
    })
}

#[tokio::test]
async fn warnings_api_acts_scopes_and_names_fields() {
    let e = env("warn").await;
    let (sec_a, sec_b, admin) = (
        e.token("secretary_a").await,
        e.token("secretary_b").await,
        e.token("admin").await,
    );
    let branch_a = e.org_of("secretary_a").await;
    let branch_b = e.org_of("secretary_b").await;

    let (s, rules) = e.call("GET", "/api/v1/warnings/rules", &sec_a, None).await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = rules["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(ids.contains(&"term_expiring") && ids.contains(&"decision_compliance"));

    // A decision taken by circulating papers: red, raised in the same request.
    let uri = format!("/api/v1/orgs/{branch_a}/decisions");
    let (s, d) = e.call("POST", &uri, &sec_a, Some(circulated())).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["decision"]["compliant"], false);
    assert_eq!(d["decision"]["findings"][0]["code"], "not_at_meeting");
    assert_eq!(d["warnings"][0]["level"], "red");
    let wid = d["warnings"][0]["id"].as_i64().expect("warning id");
    let did = d["decision"]["id"].as_i64().expect("decision id");
    let mut bad = circulated();
    bad["statements"][1]["position"] = json!("maybe");
    let (s, p) = e.call("POST", &uri, &sec_a, Some(bad)).await;
    assert_eq!(
        (s, p["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("statements[1].position")
        )
    );
    let (s, list) = e.call("GET", &uri, &sec_a, None).await;
    assert_eq!(
        (s, list["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    // The sibling branch's secretary learns nothing.
    for (m, path, body) in [
        ("GET", format!("/api/v1/warnings/{wid}"), None),
        ("POST", format!("/api/v1/warnings/{wid}/acknowledge"), None),
        (
            "POST",
            format!("/api/v1/warnings/{wid}/correct"),
            Some(json!({"evidence": "x"})),
        ),
        ("GET", format!("/api/v1/decisions/{did}"), None),
        ("GET", format!("/api/v1/warnings?org={branch_a}"), None),
        (
            "GET",
            format!("/api/v1/warnings/summary?org={branch_a}"),
            None,
        ),
    ] {
        let (s, p) = e.call(m, &path, &sec_b, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}: {p}");
        assert_eq!(p["status"], 404);
    }
    let (_, mine) = e
        .call("GET", "/api/v1/warnings?state=live&limit=500", &sec_b, None)
        .await;
    assert!(
        mine["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|w| w["org_code"] == branch_b.as_str())
    );

    // The branch's own secretary: acknowledge, correct with evidence, close.
    let (s, w) = e
        .call(
            "POST",
            &format!("/api/v1/warnings/{wid}/acknowledge"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(
        (s, w["warning"]["state"].as_str()),
        (StatusCode::OK, Some("acknowledged"))
    );
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/warnings/{wid}/correct"),
            &sec_a,
            Some(json!({"evidence": " "})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence"))
    );
    let (s, w) = e
        .call(
            "POST",
            &format!("/api/v1/warnings/{wid}/correct"),
            &sec_a,
            Some(json!({"evidence": "已召开支委会重新集体决策"})),
        )
        .await;
    assert_eq!(
        (s, w["allowed"].clone()),
        (StatusCode::OK, json!(["close", "reopen"]))
    );
    let (s, _) = e
        .call(
            "POST",
            &format!("/api/v1/warnings/{wid}/close"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/warnings/{wid}/close"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::CONFLICT, Some("action"))
    );
    let (_, w) = e
        .call("GET", &format!("/api/v1/warnings/{wid}"), &sec_a, None)
        .await;
    let kinds: Vec<&str> = w["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["raised", "acknowledged", "corrected", "closed"]);
    assert_eq!(w["rule"]["section"], "DOMAIN.md §8");

    // Filters: bad values are 400 naming the parameter; good ones filter.
    for (q, field) in [
        ("level=purple", "level"),
        ("rule=nope", "rule"),
        ("state=gone", "state"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
    ] {
        let (s, p) = e
            .call("GET", &format!("/api/v1/warnings?{q}"), &admin, None)
            .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{q}"
        );
    }
    let (s, red) = e
        .call(
            "GET",
            "/api/v1/warnings?org=GD&level=red&rule=decision_compliance&state=closed",
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(red["items"].as_array().map(Vec::len), Some(1));
    let (s, sum) = e
        .call("GET", "/api/v1/warnings/summary?org=GD", &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!sum["children"].as_array().expect("children").is_empty());
    let (s, _) = e
        .call("GET", "/api/v1/warnings/summary", &admin, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Thresholds: secretaries may not set them; bad fields are named.
    let th = format!("/api/v1/orgs/{branch_a}/thresholds");
    let good = json!({"term_expiring": {"blue_months_before": 9}});
    let (s, _) = e.call("PUT", &th, &sec_a, Some(good.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = e
        .call(
            "PUT",
            &th,
            &admin,
            Some(json!({"term_expiring": {"red_months_after": 0}})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("term_expiring.red_months_after")
        )
    );
    let (s, p) = e
        .call(
            "PUT",
            &th,
            &admin,
            Some(json!({"term_expiring": {"bleu": 1}})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("term_expiring.bleu"))
    );
    let (s, t) = e.call("PUT", &th, &admin, Some(good.clone())).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(
        (
            t["effective"]["term_expiring"]["blue_months_before"].as_i64(),
            t["own"].clone()
        ),
        (Some(9), good)
    );
    let (s, t) = e.call("GET", &th, &sec_a, None).await;
    assert_eq!(
        (s, t["large_sum_fen"].as_i64()),
        (StatusCode::OK, Some(100_000_000))
    );

    // An overdue re-election recorded late: the term warning is raised by the
    // write itself, and cleared by the next election.
    let cm = format!("/api/v1/orgs/{branch_a}/committee");
    let (s, _) = e
        .call(
            "PUT",
            &cm,
            &sec_a,
            Some(json!({"elected_on": "2020-11-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = e
        .call(
            "PUT",
            &cm,
            &admin,
            Some(json!({"elected_on": "2027-01-01"})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("committee_elected_on")
        )
    );
    let (s, _) = e
        .call(
            "PUT",
            &cm,
            &admin,
            Some(json!({"elected_on": "2020-11-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let term = format!("/api/v1/warnings?org={branch_a}&rule=term_expiring");
    let (_, t) = e.call("GET", &term, &sec_a, None).await;
    assert_eq!(t["items"][0]["state"], "open");
    assert_eq!(t["items"][0]["period_key"], "2025-11-01");
    let (s, _) = e
        .call(
            "PUT",
            &cm,
            &admin,
            Some(json!({"elected_on": "2026-11-20"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = e.call("GET", &term, &sec_a, None).await;
    assert_eq!(t["items"][0]["state"], "corrected");
    assert_eq!(t["items"][0]["cleared_by_data"], true);

    // Emergency report through the API.
    let mut em = circulated();
    em["emergency"] = json!(true);
    em["method"] = json!("meeting");
    em["amount_fen"] = json!(null);
    let (_, d) = e.call("POST", &uri, &sec_a, Some(em)).await;
    assert_eq!(d["warnings"][0]["rule"], "emergency_decision_unreported");
    let id = d["decision"]["id"].as_i64().expect("id");
    let (s, d) = e
        .call(
            "POST",
            &format!("/api/v1/decisions/{id}/report-emergency"),
            &sec_a,
            Some(json!({"reported_on": "2026-11-27"})),
        )
        .await;
    assert_eq!(
        (s, d["warnings"][0]["state"].as_str()),
        (StatusCode::OK, Some("corrected"))
    );

    let (_, doc) = e.call("GET", "/api/v1/openapi.json", &admin, None).await;
    for p in [
        "/api/v1/warnings",
        "/api/v1/warnings/{id}/correct",
        "/api/v1/orgs/{code}/thresholds",
        "/api/v1/decisions/{id}/report-emergency",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
}

#[tokio::test]
async fn supervision_pages_render_and_forms_work() {
    let e = env("warn").await;
    let staff = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, "county_staff")
        .await
        .expect("db")
        .expect("user");
    let actor = e.app.actor_for(staff.id, None).await.expect("actor");
    let county = actor.grants[0].org_code.clone();
    let (cookie, csrf) = e.app.open_session(&actor).await.expect("session");

    let (s, html) = e
        .page("GET", &format!("/supervision/{county}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("监督预警") && html.contains("<svg") && html.contains("id=\"trend\""));
    assert!(
        html.contains("id=\"org-status\""),
        "a county has sub-organizations"
    );
    let (s, en) = e
        .page(
            "GET",
            &format!("/supervision/{county}?lang=en"),
            &cookie,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(en.contains("Live warnings"));

    // Record a decision through the register form; it lands on its page.
    let form = format!(
        "csrf={csrf}&kind=major_policy&title=%E5%B9%B2%E9%83%A8%E5%9F%B9%E8%AE%AD%E8%AE%A1%E5%88%92&amount_yuan=&method=meeting&decided_on=2026-11-20&meeting=&members_total=5&attendees=1%2C2%2C3%2C4%2C5&recused=&statements=1%3A%E5%90%8C%E6%84%8F%2C2%3Aagree%2C3%3Aagree%2C4%3Aagree%2C5%3Aagree*&prior_research=1&legal_review=1&emergency_reported_on="
    );
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{county}/decisions"),
            &cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.starts_with("/decisions/"), "{to}");
    let (s, html) = e.page("GET", &to, &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("会前未充分征求意见"),
        "no consultation is a yellow finding"
    );
    let (s, html) = e
        .page("GET", &format!("/orgs/{county}/decisions"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("干部培训计划") && html.contains(&format!("value=\"{csrf}\"")));
    let bad = form.replace("decided_on=2026-11-20", "decided_on=someday");
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{county}/decisions"),
            &cookie,
            Some(&bad),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("decided_on"));
    let (s, _) = e
        .page(
            "POST",
            &format!("/orgs/{county}/decisions"),
            &cookie,
            Some(&form.replace(&csrf, "nope")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The warning page with its action forms; acting through the form.
    let w = e
        .app
        .list_warnings(
            &actor,
            &dangjian_app::warnings::WarningQuery {
                org: Some(county.clone()),
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let wid = w.items[0].id;
    let (s, html) = e
        .page("GET", &format!("/warnings/{wid}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("下一步怎么做") && html.contains("name=\"action\" value=\"correct\""));
    let (s, to) = e
        .page(
            "POST",
            &format!("/warnings/{wid}/act"),
            &cookie,
            Some(&format!("csrf={csrf}&action=acknowledge")),
        )
        .await;
    assert_eq!((s, to), (StatusCode::SEE_OTHER, format!("/warnings/{wid}")));
    let (_, html) = e
        .page("GET", &format!("/warnings/{wid}"), &cookie, None)
        .await;
    assert!(html.contains("签收"));
    let (s, html) = e.page("GET", "/warnings", &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("我的预警"));
    let (s, _) = e.page("GET", "/supervision/NOPE", &cookie, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
