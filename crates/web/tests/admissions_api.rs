//! The admissions API through the router (in process): a secretary starts
//! an admission for a new person and acts on its steps; a fixed rule
//! answers 422 problem details naming the field and citing DOMAIN.md §4; a
//! warning passes with an override and its reason; the sibling branch's
//! secretary gets 404; committee staff see the pipeline; the OpenAPI
//! document lists the endpoints; the pages render.

use axum::http::StatusCode;
use dangjian_domain::resident_id::compute_check_char;
use serde_json::{Value, json};

mod common;

use common::env;

fn person(applied_on: &str) -> Value {
    let first17 = "44010519950612457";
    json!({"person": {
        "name": "陈晓东",
        "id_number": format!("{first17}{}", compute_check_char(first17)),
        "ethnicity": "汉族",
        "phone": "13912345678",
        "applied_on": applied_on,
    }})
}

#[tokio::test]
async fn admissions_api_runs_steps_blocks_overrides_and_scopes() {
    let e = env("adm").await;
    let (sec_a, sec_b, staff) = (
        e.token("secretary_a").await,
        e.token("secretary_b").await,
        e.token("county_staff").await,
    );
    let branch_a = e.org_of("secretary_a").await;

    let (s, p) = e
        .call("GET", "/api/v1/admissions/process", &sec_a, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["steps"].as_array().map(Vec::len), Some(25));
    assert_eq!(p["steps"][8]["key"], "introducers");

    let uri = format!("/api/v1/orgs/{branch_a}/admissions");
    let (s, p) = e.call("POST", &uri, &sec_a, Some(json!({}))).await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("member_id"))
    );
    // Applied on 2026-10-20; the talk was due within a month.
    let (s, d) = e
        .call("POST", &uri, &sec_a, Some(person("2026-10-20")))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["admission"]["id"].as_i64().expect("id");
    assert_eq!(d["admission"]["next_step"]["key"], "talk");
    assert_eq!(d["admission"]["timers"][0]["state"], "overdue");
    assert_eq!(d["history"][0]["form"]["applied_on"], "2026-10-20");
    let (s, p) = e
        .call("POST", &uri, &sec_a, Some(person("2026-10-20")))
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::CONFLICT, Some("id_number"))
    );

    let step = |k: &str| format!("/api/v1/admissions/{id}/steps/{k}");
    let (s, p) = e
        .call(
            "POST",
            &step("approval"),
            &sec_a,
            Some(json!({"form": {"approved_on": "2026-11-01"}})),
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("step_out_of_order"))
    );
    let talk = json!({"form": {"talked_on": "2026-11-25"}});
    let (s, p) = e
        .call("POST", &step("talk"), &sec_a, Some(talk.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(
        (p["field"].as_str(), p["errors"][0]["code"].as_str()),
        (Some("overrides"), Some("talk_late"))
    );
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("DOMAIN.md §4 step 2")),
        "{p}"
    );
    let mut with_reason = talk.clone();
    with_reason["overrides"] = json!([{"code": "talk_late", "reason": "申请人住院治疗"}]);
    let (s, d) = e
        .call("POST", &step("talk"), &sec_a, Some(with_reason))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["history"][1]["overrides"][0]["reason"], "申请人住院治疗");

    // Bad forms name their field; a future date is refused citing §4.
    let (s, p) = e
        .call(
            "POST",
            &step("activist"),
            &sec_a,
            Some(json!({"form": {"decided_on": 5}})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("form.decided_on"))
    );
    let (s, p) = e
        .call(
            "POST",
            &step("activist"),
            &sec_a,
            Some(json!({"form": {"decided_on": "2026-12-01"}})),
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("date_in_future"))
    );
    let (s, p) = e
        .call("POST", &step("activist"), &sec_a, Some(json!("nonsense")))
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body"))
    );
    let (s, d) = e
        .call(
            "POST",
            &step("activist"),
            &sec_a,
            Some(json!({"form": {"decided_on": "2026-11-27"}})),
        )
        .await;
    assert_eq!(
        (s, d["admission"]["stage"].as_str()),
        (StatusCode::OK, Some("activist"))
    );
    // The higher committee's step is not the secretary's.
    let filing = json!({"form": {"filed_on": "2026-11-28"}});
    let (s, _) = e
        .call(
            "POST",
            &step("activist_filing"),
            &sec_a,
            Some(filing.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, d) = e
        .call("POST", &step("activist_filing"), &staff, Some(filing))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");

    // The sibling branch's secretary learns nothing.
    for (m, path, body) in [
        ("GET", format!("/api/v1/admissions/{id}"), None),
        ("POST", step("contacts"), Some(json!({"form": {}}))),
        ("GET", uri.clone(), None),
        ("POST", uri.clone(), Some(json!({"member_id": 1}))),
        (
            "POST",
            format!("/api/v1/admissions/{id}/cancel"),
            Some(json!({"reason": "本人撤回"})),
        ),
    ] {
        let (s, p) = e.call(m, &path, &sec_b, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}: {p}");
    }
    let (s, _) = e
        .call("GET", "/api/v1/admissions/notanumber", &sec_a, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Committee staff above see the pipeline and the timeline.
    let (s, l) = e.call("GET", &uri, &staff, None).await;
    assert_eq!(
        (s, l["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(l["items"][0]["next_step"]["key"], "contacts");
    let (s, d) = e
        .call("GET", &format!("/api/v1/admissions/{id}"), &staff, None)
        .await;
    assert_eq!(
        (s, d["history"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(4))
    );
    let mid = d["admission"]["member_id"].as_i64().expect("member id");
    let (s, l) = e
        .call(
            "GET",
            &format!("/api/v1/members/{mid}/admissions"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(
        (s, l["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    let (s, doc) = e.call("GET", "/api/v1/openapi.json", &sec_a, None).await;
    assert_eq!(s, StatusCode::OK);
    for p in [
        "/api/v1/admissions/process",
        "/api/v1/orgs/{code}/admissions",
        "/api/v1/admissions/{id}",
        "/api/v1/admissions/{id}/steps/{step}",
        "/api/v1/members/{id}/admissions",
        "/api/v1/admissions/{id}/cancel",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }

    // The applicant withdraws: the reason is kept, the pipeline empties.
    let cancel = format!("/api/v1/admissions/{id}/cancel");
    let (s, p) = e
        .call("POST", &cancel, &sec_a, Some(json!({"reason": ""})))
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let (s, d) = e
        .call(
            "POST",
            &cancel,
            &sec_a,
            Some(json!({"reason": "本人撤回入党申请"})),
        )
        .await;
    assert_eq!(
        (s, d["admission"]["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    assert_eq!(d["history"][4]["form"]["reason"], "本人撤回入党申请");
    let (_, l) = e.call("GET", &uri, &sec_a, None).await;
    assert_eq!(l["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn admission_pages_show_the_pipeline_and_record_steps() {
    let e = env("admpages").await;
    let branch_a = e.org_of("secretary_a").await;
    let (cookie, csrf) = e.session("secretary_a").await;
    let (s, html) = e
        .page("GET", &format!("/orgs/{branch_a}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("/orgs/{branch_a}/admissions")),
        "nav link"
    );

    // Start from the page: a new person applying on 2026-10-20.
    let first17 = "44010519950612457";
    let id_number = format!("{first17}{}", compute_check_char(first17));
    let form = format!(
        "csrf={csrf}&member_id=&name=%E9%99%88%E6%99%93%E4%B8%9C&id_number={id_number}&ethnicity=%E6%B1%89%E6%97%8F&phone=&applied_on=2026-10-20"
    );
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/admissions"),
            &cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.starts_with("/admissions/"), "{to}");
    let (s, html) = e
        .page(
            "GET",
            &format!("/orgs/{branch_a}/admissions"),
            &cookie,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("陈晓东") && html.contains("第2步：派人谈话") && html.contains("已逾期"),
        "{html}"
    );

    // The talk is late: refused with the rule, then recorded with a reason.
    let (s, html) = e.page("GET", &to, &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("form-talk") && html.contains("一个月内派人谈话"));
    let talk = format!("csrf={csrf}&talked_on=2026-11-25&talker=");
    let (s, html) = e
        .page("POST", &format!("{to}/steps/talk"), &cookie, Some(&talk))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("DOMAIN.md §4 step 2"), "{html}");
    let with_reason =
        format!("{talk}&override_reason=%E7%94%B3%E8%AF%B7%E4%BA%BA%E4%BD%8F%E9%99%A2");
    let (s, back) = e
        .page(
            "POST",
            &format!("{to}/steps/talk"),
            &cookie,
            Some(&with_reason),
        )
        .await;
    assert_eq!((s, back.as_str()), (StatusCode::SEE_OTHER, to.as_str()));
    let (_, html) = e.page("GET", &to, &cookie, None).await;
    assert!(
        html.contains("申请人住院") && html.contains("form-activist"),
        "{html}"
    );
    // A forged form is refused.
    let (s, _) = e
        .page(
            "POST",
            &format!("{to}/steps/activist"),
            &cookie,
            Some("csrf=nope&decided_on=2026-11-27"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // From the member's record to their timeline.
    let token = e.token("secretary_a").await;
    let (_, d) = e.call("GET", &format!("/api/v1{to}"), &token, None).await;
    let member_id = d["admission"]["member_id"].as_i64().expect("member id");
    let (_, html) = e
        .page("GET", &format!("/members/{member_id}"), &cookie, None)
        .await;
    assert!(html.contains(&format!("/members/{member_id}/admission")));
    let (s, back) = e
        .page(
            "GET",
            &format!("/members/{member_id}/admission"),
            &cookie,
            None,
        )
        .await;
    assert_eq!((s, back.as_str()), (StatusCode::SEE_OTHER, to.as_str()));

    // The sibling branch's secretary sees nothing.
    let (cookie_b, _) = e.session("secretary_b").await;
    let (s, _) = e.page("GET", &to, &cookie_b, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .page(
            "GET",
            &format!("/orgs/{branch_a}/admissions"),
            &cookie_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

// Issue 8 scope 3, fill once: the forms of an admission over the API and
// the page — PDFs generated from the record, 404 for the sibling branch.
#[tokio::test]
async fn admission_forms_are_generated_pdfs() {
    let e = env("adm-forms").await;
    let (sec_a, sec_b) = (e.token("secretary_a").await, e.token("secretary_b").await);
    let branch_a = e.org_of("secretary_a").await;
    let (s, d) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/admissions"),
            &sec_a,
            Some(person("2026-11-20")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["admission"]["id"].as_i64().expect("id");
    let (s, forms) = e
        .call(
            "GET",
            &format!("/api/v1/admissions/{id}/forms"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let forms = forms.as_array().expect("list").clone();
    assert!(forms.len() >= 7);
    assert_eq!(forms[0]["key"], "application_record");
    assert_eq!(forms[0]["recorded"], 1);

    let req = axum::http::Request::builder()
        .uri(format!("/api/v1/admissions/{id}/forms/application_record"))
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {sec_a}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let r = common::send_raw(&e.router, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type.as_deref(), Some("application/pdf"));
    assert!(r.body.starts_with("%PDF-"));

    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/admissions/{id}/forms/application_record"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/admissions/{id}/forms/nope"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The candidate timeline links every form; the page route serves it.
    let (cookie, _) = e.session("secretary_a").await;
    let (s, html) = e
        .page("GET", &format!("/admissions/{id}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("/admissions/{id}/forms/political_review")),
        "{html}"
    );
    let (s, _) = e
        .page(
            "GET",
            &format!("/admissions/{id}/forms/application_record"),
            &cookie,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// Issue 8: the scans of an admission's materials over HTTP — multipart
/// upload naming the kind (a wrong kind or a non-image is 422 naming the
/// field), listed with their SHA-256, downloaded whole with the detected
/// type; another branch's secretary gets 404 for list, upload and download;
/// the materials page renders with its upload form.
#[tokio::test]
async fn admission_materials_upload_list_download_and_scope() {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    fn multipart(kind: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(
            format!("--XB\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n")
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
    let e = env("adm-materials").await;
    let (sec_a, sec_b) = (e.token("secretary_a").await, e.token("secretary_b").await);
    let branch_a = e.org_of("secretary_a").await;
    let (s, d) = e
        .call(
            "POST",
            &format!("/api/v1/orgs/{branch_a}/admissions"),
            &sec_a,
            Some(person("2026-11-20")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["admission"]["id"].as_i64().expect("id");
    let upload = |token: String, body: Vec<u8>| {
        let router = e.router.clone();
        async move {
            let req = axum::http::Request::builder()
                .method("POST")
                .uri(format!("/api/v1/admissions/{id}/attachments"))
                .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
                .header(
                    axum::http::header::CONTENT_TYPE,
                    "multipart/form-data; boundary=XB",
                )
                .body(axum::body::Body::from(body))
                .expect("request");
            let r = common::send_raw(&router, req).await;
            (
                r.status,
                serde_json::from_str::<Value>(&r.body).unwrap_or_default(),
            )
        }
    };
    let (s, a) = upload(
        sec_a.clone(),
        multipart("volunteer_form", "入党志愿书.png", PNG),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["kind"]["code"], "volunteer_form");
    assert_eq!(a["content_type"], "image/png");
    let (s, p) = upload(sec_a.clone(), multipart("diary", "x.png", PNG)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["field"], "kind", "{p}");
    let (s, p) = upload(
        sec_a.clone(),
        multipart("other", "x.gif", b"GIF89a\x01\0\x01\0"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["field"], "file", "{p}");
    let (s, _) = upload(sec_b.clone(), multipart("other", "x.png", PNG)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, list) = e
        .call(
            "GET",
            &format!("/api/v1/admissions/{id}/attachments"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let href = list[0]["href"].as_str().expect("href").to_string();
    let get = |token: &str, uri: &str| {
        axum::http::Request::builder()
            .uri(uri)
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("request")
    };
    let r = common::send_raw(&e.router, get(&sec_a, &href)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type.as_deref(), Some("image/png"));
    let r = common::send_raw(&e.router, get(&sec_b, &href)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let (s, _) = e
        .call(
            "GET",
            &format!("/api/v1/admissions/{id}/attachments"),
            &sec_b,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (cookie, _) = e.session("secretary_a").await;
    let (s, html) = e
        .page("GET", &format!("/admissions/{id}/materials"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("入党志愿书.png") && html.contains("name=\"kind\""),
        "{html}"
    );
}
