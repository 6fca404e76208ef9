//! The meetings API and pages through the router (in process): the
//! secretary schedules over HTTP, the member signs in with the code (201,
//! then 409), the sibling branch's secretary gets 404 problem details, bad
//! input names its field; the calendar, meeting (with the QR code for the
//! secretary, the one-tap sign-in for the member), paper-list and own
//! attendance pages render, and the page sign-in works with the CSRF token.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;

use common::env;

fn assembly(starts: &str, ends: &str) -> Value {
    json!({
        "kind": "支部党员大会",
        "title": "第四季度支部党员大会",
        "agenda": "传达学习上级精神",
        "place": "村委会会议室",
        "starts_at": starts,
        "ends_at": ends,
    })
}

#[tokio::test]
async fn schedule_sign_in_and_scoping_over_http() {
    let e = env("meetings-api").await;
    let branch_a = e.org_of("secretary_a").await;
    let sec = e.token("secretary_a").await;
    let member = e.token("member_a").await;
    let sec_b = e.token("secretary_b").await;

    // Clock: 2026-11-28T02:00Z. The meeting started 10 minutes ago.
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(assembly("2026-11-28T01:50:00Z", "2026-11-28T03:50:00Z")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v[0]["id"].as_i64().expect("id");
    assert_eq!(v[0]["kind"], "branch_assembly");

    let (s, d) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &sec, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let code = d["signin_code"].as_str().expect("code").to_string();
    assert!(d["counts"]["expected"].as_u64().expect("n") >= 3);
    assert_eq!(
        d["signin_path"],
        format!("/meetings/{id}/signin?code={code}")
    );

    // The member sees no code; signs in once.
    let (_, dm) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &member, None)
        .await;
    assert!(dm["signin_code"].is_null());
    assert_eq!(dm["attendance"].as_array().map(Vec::len), Some(0));
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/signin"),
            &member,
            Some(json!({"code": "12"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "code");
    let (s, r) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/signin"),
            &member,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["channel"], "online");
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/signin"),
            &member,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(p["errors"][0]["code"], "already_present");

    // The sibling branch sees nothing.
    let (s, _) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &sec_b, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bad input names its field; malformed JSON and month are 400.
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(assembly("2026-12-01T02:00:00Z", "2026-12-01T01:00:00Z")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "ends_at");
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(json!({"kind": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/meetings?month=2026-13"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Held; minutes before the meeting are refused naming the date.
    let (s, m) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/status"),
            &sec,
            Some(json!({"status": "held"})),
        )
        .await;
    assert_eq!((s, m["status"].as_str()), (StatusCode::OK, Some("held")));
    let (s, p) = e
        .call(
            "PUT",
            &format!("/api/v1/meetings/{id}/minutes"),
            &sec,
            Some(json!({"text": "记录", "dated_on": "2026-11-27"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["field"], "dated_on");

    // Calendar, compliance and own record.
    let (s, list) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/meetings?month=2026-11"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (s, c) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/meetings/compliance?year=2026"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let rows = c[0]["rows"].as_array().expect("rows");
    let a = rows
        .iter()
        .find(|r| r["requirement"] == "branch_assembly")
        .expect("assembly");
    assert_eq!(
        (a["held"].as_u64(), a["due"].as_u64(), a["missing"].as_u64()),
        (Some(1), Some(4), Some(3))
    );
    let (s, mine) = e.call("GET", "/api/v1/me/attendance", &member, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(mine[0]["state"], "present");

    // The OpenAPI document names the routes.
    let (_, doc) = e.call("GET", "/api/v1/openapi.json", &sec, None).await;
    assert!(doc["paths"]["/api/v1/meetings/{id}/signin"].is_object());
}

#[tokio::test]
async fn pages_secretary_qr_member_one_tap_paper_list() {
    let e = env("meetings-pages").await;
    let branch_a = e.org_of("secretary_a").await;
    let sec = e.token("secretary_a").await;
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(assembly("2026-11-28T01:50:00Z", "2026-11-28T03:50:00Z")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v[0]["id"].as_i64().expect("id");

    let (sc, scsrf) = e.session("secretary_a").await;
    let (s, html) = e
        .page(
            "GET",
            &format!("/orgs/{branch_a}/meetings?month=2026-11"),
            &sc,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("第四季度支部党员大会") && html.contains("id=\"compliance\""));
    assert!(html.contains("id=\"schedule\""));
    let (s, html) = e.page("GET", &format!("/meetings/{id}"), &sc, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg"), "QR code shown");
    assert!(html.contains(&format!(
        "http://dj.example:8080/meetings/{id}/signin?code="
    )));
    let (s, html) = e
        .page("GET", &format!("/meetings/{id}?lang=en"), &sc, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Sign-in code"));

    // The member opens the QR link: one tap signs in.
    let (_, d) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &sec, None)
        .await;
    let code = d["signin_code"].as_str().expect("code").to_string();
    let (mc, mcsrf) = e.session("member_a").await;
    let (s, html) = e
        .page(
            "GET",
            &format!("/meetings/{id}/signin?code={code}"),
            &mc,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("name=\"code\" value=\"{code}\"")),
        "prefilled"
    );
    assert!(
        !html.contains("id=\"signin-code\""),
        "no code screen for members"
    );
    let (s, _) = e
        .page(
            "POST",
            &format!("/meetings/{id}/signin"),
            &mc,
            Some(&format!("csrf=wrong&code={code}")),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, loc) = e
        .page(
            "POST",
            &format!("/meetings/{id}/signin"),
            &mc,
            Some(&format!("csrf={mcsrf}&code={code}")),
        )
        .await;
    assert_eq!(
        (s, loc.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/meetings/{id}?done=signin").as_str()
        )
    );
    let (s, html) = e.page("GET", "/me/meetings", &mc, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("第四季度支部党员大会"));

    // Paper list: the secretary records another member present.
    let (s, html) = e
        .page("GET", &format!("/meetings/{id}/attendance"), &sc, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let other = d["attendance"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["member_id"].as_i64().expect("id"))
        .find(|m| html.contains(&format!("name=\"s_{m}\"")))
        .expect("an unrecorded member");
    let (s, loc) = e
        .page(
            "POST",
            &format!("/meetings/{id}/attendance"),
            &sc,
            Some(&format!("csrf={scsrf}&s_{other}=present")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let (_, d) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &sec, None)
        .await;
    assert_eq!(d["counts"]["online"], 1);
    assert_eq!(d["counts"]["offline"], 1);
    // The schedule form: a committee meeting with two ticked attendees.
    let (_, html) = e
        .page("GET", &format!("/orgs/{branch_a}/meetings"), &sc, None)
        .await;
    assert!(html.contains("name=\"attendee\""), "roster picker");
    let form = format!(
        "csrf={scsrf}&kind=committee_meeting&title=%E6%94%AF%E5%A7%94%E4%BC%9A&starts_at=2026-12-01T10%3A00&minutes_long=90&place=%E5%85%9A%E5%91%98%E6%B4%BB%E5%8A%A8%E5%AE%A4&repeat=&repeat_count=1&attendee={m1}&attendee={other}",
        m1 = d["attendance"][0]["member_id"]
    );
    let (s, loc) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/meetings"),
            &sc,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let new_id: i64 = loc
        .trim_start_matches("/meetings/")
        .parse()
        .expect("meeting id");
    let (_, nd) = e
        .call("GET", &format!("/api/v1/meetings/{new_id}"), &sec, None)
        .await;
    assert_eq!(nd["counts"]["expected"], 2);
    assert_eq!(nd["meeting"]["kind"], "committee_meeting");
    // Without attendees the form answers 422 naming what is missing.
    let bad = form
        .split("&attendee=")
        .next()
        .unwrap_or_default()
        .to_string();
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/meetings"),
            &sc,
            Some(&bad),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("支部委员会会议请选择参会的支委"));

    // A member cannot open the paper list.
    let (s, _) = e
        .page("GET", &format!("/meetings/{id}/attendance"), &mc, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// GET without credentials (the public verification).
async fn public_get(e: &common::Env, uri: &str) -> common::Sent {
    let req = axum::http::Request::builder()
        .uri(uri)
        .body(axum::body::Body::empty())
        .expect("request");
    common::send_raw(&e.router, req).await
}

// Issue 6 scope 5: the member's certificate over the API (PDF with its
// UTF-8 file name), another branch gets 404, and the public verification
// (JSON and page) says valid without a login.
#[tokio::test]
async fn certificates_download_and_public_verification() {
    let e = env("certificates-api").await;
    let branch_a = e.org_of("secretary_a").await;
    let sec = e.token("secretary_a").await;
    let member = e.token("member_a").await;
    let sec_b = e.token("secretary_b").await;
    let (_, v) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(assembly("2026-11-28T01:50:00Z", "2026-11-28T03:50:00Z")),
        )
        .await;
    let id = v[0]["id"].as_i64().expect("id");
    let (_, d) = e
        .call("GET", &format!("/api/v1/meetings/{id}"), &sec, None)
        .await;
    let code = d["signin_code"].as_str().expect("code").to_string();
    let (s, _) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/signin"),
            &member,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, none) = e
        .call("GET", "/api/v1/me/certificates", &member, None)
        .await;
    assert_eq!(none.as_array().map(Vec::len), Some(0));
    let (s, _) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/status"),
            &sec,
            Some(json!({"status": "held"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, certs) = e
        .call("GET", "/api/v1/me/certificates", &member, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(certs.as_array().map(Vec::len), Some(1), "{certs}");
    let number = certs[0]["number"].as_str().expect("number").to_string();
    assert_eq!(certs[0]["title"], "第四季度支部党员大会");

    let req = axum::http::Request::builder()
        .uri(format!("/api/v1/certificates/{number}/pdf"))
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {member}"),
        )
        .body(axum::body::Body::empty())
        .expect("request");
    use tower::ServiceExt;
    let res = e.router.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disp = res.headers()["content-disposition"]
        .to_str()
        .expect("ascii");
    assert!(
        disp.starts_with("attachment; filename=\"certificate-")
            && disp.contains("filename*=UTF-8''%E7%BB%84%E7%BB%87"),
        "{disp}"
    );
    use http_body_util::BodyExt;
    let pdf = res.into_body().collect().await.expect("body").to_bytes();
    assert!(pdf.starts_with(b"%PDF-"));

    let (s, p) = e
        .call(
            "GET",
            &format!("/api/v1/certificates/{number}/pdf"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{p}");

    let r = public_get(&e, &format!("/api/v1/verify/certificate/{number}")).await;
    assert_eq!(r.status, StatusCode::OK);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        (v["status"].as_str(), v["valid"].as_bool()),
        (Some("valid"), Some(true))
    );
    assert_eq!(v["title"], "第四季度支部党员大会");
    assert!(v["member"].as_str().is_some_and(|m| !m.is_empty()));
    let r = public_get(&e, "/api/v1/verify/certificate/0000-0000-0000-0000").await;
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        (v["status"].as_str(), v["valid"].as_bool()),
        (Some("unknown"), Some(false))
    );
    assert!(v["member"].is_null());

    let page = public_get(&e, &format!("/verify/certificate/{number}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("证明有效"), "{}", page.body);
    let page = public_get(&e, "/verify/certificate/nope").await;
    assert!(page.body.contains("无效"), "{}", page.body);

    // The member's own page lists it with a download link; the secretary's
    // meeting page counts it.
    let (cookie, _) = e.session("member_a").await;
    let (s, html) = e.page("GET", "/me/meetings", &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("/certificates/{number}/pdf")),
        "{html}"
    );
    let (s, _) = e
        .page("GET", &format!("/certificates/{number}/pdf"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (cookie, _) = e.session("secretary_a").await;
    let (_, html) = e
        .page("GET", &format!("/meetings/{id}"), &cookie, None)
        .await;
    assert!(html.contains("id=\"certificates-issued\""), "{html}");
}
