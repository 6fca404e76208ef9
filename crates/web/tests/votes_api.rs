//! Votes and attachments through the router (in process): a branch
//! assembly's attachments are uploaded as multipart — JPEG/PNG/PDF by
//! content (a GIF is 422 naming `file`), a body over the configured limit
//! is 413 problem details — listed with their SHA-256 and downloaded with
//! their detected type; the sibling branch gets 404; the votes results and
//! the committee seats answer, an election that breaks §4 names its field,
//! and the votes page renders for the secretary.

use axum::http::StatusCode;
use serde_json::json;

mod common;

use common::{env, send_raw};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

fn multipart(purpose: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!("--XB\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n")
            .as_bytes(),
    );
    b.extend_from_slice(
        format!(
            "--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(b"\r\n--XB--\r\n");
    b
}

async fn upload(
    e: &common::Env,
    token: &str,
    id: i64,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value, Option<String>) {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/meetings/{id}/attachments"))
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            axum::http::header::CONTENT_TYPE,
            "multipart/form-data; boundary=XB",
        )
        .body(axum::body::Body::from(body))
        .expect("request");
    let r = send_raw(&e.router, req).await;
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or_default(),
        r.content_type,
    )
}

#[tokio::test]
async fn attachments_votes_and_pages_over_http() {
    let e = env("votes-api").await;
    let branch_a = e.org_of("secretary_a").await;
    let sec = e.token("secretary_a").await;
    let sec_b = e.token("secretary_b").await;
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/meetings"),
            &sec,
            Some(json!({
                "kind": "branch_assembly",
                "title": "支部党员大会",
                "place": "村委会会议室",
                "starts_at": "2026-11-28T01:50:00Z",
                "ends_at": "2026-11-28T03:50:00Z",
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v[0]["id"].as_i64().expect("id");

    let (s, a, _) = upload(
        &e,
        &sec,
        id,
        multipart("attendance_list", "签到表.png", PNG),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(a["purpose"], "attendance_list");
    assert_eq!(a["sha256"].as_str().map(str::len), Some(64));

    // A GIF named .pdf: refused by its content.
    let (s, p, ct) = upload(
        &e,
        &sec,
        id,
        multipart("minutes", "记录.pdf", b"GIF89a\x01\0\x01\0"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "file");
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    // Over the configured limit (10 MiB by default): 413 problem details.
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(e.app.config.attachment_max_bytes + 200 * 1024, b' ');
    let (s, p, ct) = upload(&e, &sec, id, multipart("minutes", "big.pdf", &big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{p}");
    assert_eq!(p["status"], 413);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    // Just over the limit inside the multipart slack: the app says 413 too.
    big.truncate(e.app.config.attachment_max_bytes + 1);
    let (s, _, _) = upload(&e, &sec, id, multipart("minutes", "big.pdf", &big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    let (s, list) = e
        .call(
            "GET",
            &format!("/api/v1/meetings/{id}/attachments"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let href = list[0]["href"].as_str().expect("href").to_string();
    let req = axum::http::Request::builder()
        .uri(&href)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {sec}"))
        .body(axum::body::Body::empty())
        .expect("req");
    let r = send_raw(&e.router, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type.as_deref(), Some("image/png"));
    let (s, _) = e.call("GET", &href, &sec_b, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = upload(&e, &sec_b, id, multipart("minutes", "a.png", PNG)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Votes: results, an election that is not competitive names its field.
    let (s, v) = e
        .call("GET", &format!("/api/v1/meetings/{id}/votes"), &sec, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["can_record"], true);
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/elections"),
            &sec,
            Some(json!({"seats": 3, "issued": 0, "candidates": [], "ballots": []})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|x| x["code"] == "not_competitive"),
        "{p}"
    );
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/assembly-votes"),
            &sec,
            Some(json!({"admission_id": 999_999, "ballots": []})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "admission_id");
    let (s, seats) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/committee/seats"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{seats}");

    // Pages: the meeting page lists the attachment and links the votes page.
    let (cookie, _) = e.session("secretary_a").await;
    let (s, html) = e
        .page("GET", &format!("/meetings/{id}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("签到表.png") && html.contains(&format!("/meetings/{id}/votes")));
    let (s, html) = e
        .page("GET", &format!("/meetings/{id}/votes"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("/votes/election") && html.contains("/votes/assembly"));

    // County staff record the committee's seats from the org manage page;
    // the seats answer on the API and show on the manage page.
    let o = dangjian_store::repo::orgs::by_code(&e.app.db.conn, &branch_a)
        .await
        .expect("db")
        .expect("org");
    let full = dangjian_store::repo::meetings::roster_ids(&e.app.db.conn, o.id, false, &["full"])
        .await
        .expect("roster");
    assert!(full.len() >= 3);
    let (staff_cookie, staff_csrf) = e.session("county_staff").await;
    let lines = format!("{} 书记\n{} 副书记\n{} member", full[0], full[1], full[2]);
    let form = format!(
        "csrf={staff_csrf}&elected_on=2026-11-01&seats={}",
        lines.replace(' ', "+").replace('\n', "%0A")
    );
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/committee"),
            &staff_cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (s, seats) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch_a}/committee/seats"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(seats.as_array().map(Vec::len), Some(3), "{seats}");
    assert_eq!(seats[0]["role"], "secretary");
    assert_eq!(seats[0]["from_on"], "2026-11-01");
    let (s, html) = e
        .page(
            "GET",
            &format!("/orgs/{branch_a}/manage"),
            &staff_cookie,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("seats-now"));
    // A line that is not a seat names the field.
    let (s, _) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/committee"),
            &staff_cookie,
            Some(&format!(
                "csrf={staff_csrf}&elected_on=2026-11-01&seats=abc"
            )),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
