//! Participation and near-duplicate minutes through the router (DOMAIN.md
//! §5, §6): saving minutes answers the duplicate check, naming the other
//! meeting to a secretary who may see it and only "another organization's"
//! to the sibling branch; confirming needs a reason; the minutes editor
//! shows the warning and the confirm form; the participation API and pages
//! (table and SVG chart) answer their own branch and refuse the others.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod common;

use common::env;

const MINUTES: &str = "2026年11月下旬，支部在党员活动室召开支部党员大会，应到党员全部到会。会议由支部书记主持，首先集中学习了上级关于加强基层组织建设的文件精神，书记结合本村实际作了辅导；随后讨论了年度民主评议党员工作安排，与会党员逐一发言；最后研究了冬季志愿服务和困难党员走访慰问事项，明确了分工和时限。";

async fn held_meeting(e: &common::Env, token: &str, org: &str, starts: &str, ends: &str) -> i64 {
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{org}/meetings"),
            token,
            Some(json!({
                "kind": "branch_assembly",
                "title": format!("支部党员大会 {starts}"),
                "place": "党员活动室",
                "starts_at": starts,
                "ends_at": ends,
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v[0]["id"].as_i64().expect("id");
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{id}/status"),
            token,
            Some(json!({"status": "held"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn save(e: &common::Env, token: &str, id: i64, text: &str) -> Value {
    let (s, v) = e
        .call(
            "PUT",
            &format!("/api/v1/meetings/{id}/minutes"),
            token,
            Some(json!({"text": text, "dated_on": "2026-11-28"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn duplicate_minutes_are_flagged_named_or_not_and_confirmed() {
    let e = env("minutes-dup").await;
    let a = e.org_of("secretary_a").await;
    let b = e.org_of("secretary_b").await;
    let sec = e.token("secretary_a").await;
    let sec_b = e.token("secretary_b").await;

    let m1 = held_meeting(&e, &sec, &a, "2026-11-26T01:00:00Z", "2026-11-26T02:00:00Z").await;
    let m2 = held_meeting(&e, &sec, &a, "2026-11-27T01:00:00Z", "2026-11-27T02:00:00Z").await;
    let v = save(&e, &sec, m1, MINUTES).await;
    assert_eq!(v["id"], m1, "the meeting's fields stay at the top level");
    assert_eq!(v["duplicate_check"]["checked"], true);
    assert_eq!(v["duplicate_check"]["duplicates"], json!([]));

    // The same text with one word changed: named, with the other meeting.
    let copy = MINUTES.replace("冬季", "春季");
    let v = save(&e, &sec, m2, &copy).await;
    let d = &v["duplicate_check"]["duplicates"];
    assert_eq!(d.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(d[0]["visible"], true);
    assert_eq!(d[0]["meeting_id"], m1);
    assert!(
        d[0]["message_zh"]
            .as_str()
            .is_some_and(|m| m.contains("支部党员大会 2026-11-26")),
        "{d}"
    );

    // The sibling branch copies it too: told "another organization's", nothing more.
    let mb = held_meeting(
        &e,
        &sec_b,
        &b,
        "2026-11-27T06:00:00Z",
        "2026-11-27T07:00:00Z",
    )
    .await;
    let v = save(&e, &sec_b, mb, MINUTES).await;
    let d = v["duplicate_check"]["duplicates"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(d.len(), 2, "{v}");
    for x in &d {
        assert_eq!(x["visible"], false);
        assert!(x["meeting_id"].is_null() && x["title"].is_null() && x["org_name"].is_null());
        assert!(
            x["message_zh"]
                .as_str()
                .is_some_and(|m| m.contains("另一组织"))
        );
    }
    // Nor can B read A's check.
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/meetings/{m2}/minutes/duplicates"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Confirming needs a reason (422 naming it), then it is stored.
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{m2}/minutes/confirm"),
            &sec,
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "reason");
    let (s, v) = e
        .call(
            "POST",
            &format!("/api/v1/meetings/{m2}/minutes/confirm"),
            &sec,
            Some(json!({"reason": "两次会议议题相同，按统一模板记录"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed_reason"], "两次会议议题相同，按统一模板记录");

    // The minutes editor: B's page shows the warning and the confirm form;
    // confirming from the page redirects back with a notice.
    let (cookie, csrf) = e.session("secretary_b").await;
    let (s, html) = e
        .page("GET", &format!("/meetings/{mb}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"minutes-duplicates\""), "{html}");
    assert!(html.contains("另一组织"));
    assert!(html.contains(&format!("action=\"/meetings/{mb}/minutes/confirm\"")));
    let (s, to) = e
        .page(
            "POST",
            &format!("/meetings/{mb}/minutes/confirm"),
            &cookie,
            Some(&format!("csrf={csrf}&reason=%E5%B1%9E%E5%AE%9E")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, html) = e
        .page("GET", &format!("/meetings/{mb}"), &cookie, None)
        .await;
    assert!(html.contains("id=\"minutes-confirmed\""));
}

#[tokio::test]
async fn participation_api_and_pages() {
    let e = env("participation").await;
    let a = e.org_of("secretary_a").await;
    let b = e.org_of("secretary_b").await;
    let sec = e.token("secretary_a").await;
    let member = e.token("member_a").await;
    held_meeting(&e, &sec, &a, "2026-11-26T01:00:00Z", "2026-11-26T02:00:00Z").await;
    held_meeting(&e, &sec, &a, "2026-11-27T01:00:00Z", "2026-11-27T02:00:00Z").await;

    let (s, v) = e
        .call("GET", "/api/v1/me/participation?year=2026", &member, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["total"]["expected"].as_u64().expect("n") >= 2, "{v}");
    assert!(v["total"]["absent"].as_u64().expect("n") >= 2, "{v}");
    assert_eq!(v["threshold_count"], 3);
    assert_eq!(v["threshold_points"], 5);
    let me = v["member_id"].as_i64().expect("id");

    let (s, v) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{a}/participation?year=2026"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["member_id"] == me))
    );
    let (s, v) = e
        .call(
            "GET",
            &format!("/api/v1/members/{me}/participation"),
            &sec,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The sibling branch's secretary sees neither; a bad year names its field.
    let sec_b = e.token("secretary_b").await;
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/members/{me}/participation"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{a}/participation"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, p) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{b}/participation?year=99999"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "year");

    // Pages: the branch table with its chart, the member's own report.
    let (cookie, _) = e.session("secretary_a").await;
    let (s, html) = e
        .page(
            "GET",
            &format!("/orgs/{a}/participation?year=2026"),
            &cookie,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"participation\"") && html.contains("<svg"),
        "{html}"
    );
    assert!(html.contains("扣减年度评议 5 分"));
    let (cookie, _) = e.session("member_a").await;
    let (s, html) = e.page("GET", "/me/meetings", &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"participation\""), "{html}");
    assert!(html.contains("<svg"));
}
