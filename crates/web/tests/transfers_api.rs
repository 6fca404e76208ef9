//! Transfers through the API (DOMAIN.md §12): between two separately run
//! servers (two apps with their own databases and keys, each behind its
//! own router, served on loopback) a signed letter moves a probationary member with their
//! history; a tampered letter, a letter from an untrusted server and a
//! replayed letter are refused and nothing is duplicated; the receipt marks
//! the member transferred out at the sender. Within one server, a branch
//! of another subtree can neither see nor act on a letter. Each letter is a
//! run of the `transfer` process: its JSON carries the process, version
//! and history, the letter page shows the timeline, and an arrival after
//! the validity needs a reason.

use dangjian_app::orgs::NewOrgInput;
use dangjian_app::{Actor, App};
use dangjian_domain::identity::Role;
use dangjian_domain::members::{MemberDraft, Stage, StageDates};
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use dangjian_domain::resident_id::compute_check_char;
use serde_json::json;

mod common;

/// A server whose tree is `root` (its origin is `dangjian/<root>`) with a
/// committee and one branch `<root>-B01`; its branch secretary's token.
async fn server(tag: &str, root: &str) -> (common::Env, Actor, String) {
    let (mut app, dir) = common::bare_app(tag).await;
    app.config_mut().ledger_key_file = Some(dir.join("ledger.key"));
    let sys = Actor::system(0, "/");
    let mut parent = None;
    for (k, code) in [
        (OrgKind::County, root.to_string()),
        (OrgKind::Committee, format!("{root}-W01")),
        (OrgKind::Branch, format!("{root}-B01")),
    ] {
        app.create_org(
            &sys,
            NewOrgInput {
                code: code.clone(),
                name: format!("测试组织{code}"),
                kind: k,
                setting: OrgSetting::Village,
                parent_code: parent.clone(),
                has_committee: false,
                committee_elected_on: None,
            },
        )
        .await
        .expect("org");
        parent = Some(code);
    }
    let login = format!("sec_{}", root.to_lowercase());
    app.add_user(
        &sys,
        &login,
        &login,
        Role::Secretary,
        &format!("{root}-B01"),
        None,
    )
    .await
    .expect("secretary");
    let token = app.create_token(&login, "test").await.expect("token");
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    (
        common::Env {
            app,
            router,
            _dir: dir,
        },
        sys,
        token,
    )
}

fn person() -> MemberDraft {
    let first17 = "44010519950315123";
    MemberDraft {
        name: "李转接".into(),
        id_number: format!("{first17}{}", compute_check_char(first17)),
        ethnicity: "汉族".into(),
        phone: Some("13800138000".into()),
        education: None,
        dues_category: dangjian_domain::dues::DuesCategory::Employed,
        stage: Stage::Probationary,
        stage_dates: StageDates {
            applied_on: Some("2024-01-10".parse().unwrap()),
            activist_on: Some("2024-03-01".parse().unwrap()),
            development_target_on: Some("2025-04-01".parse().unwrap()),
            probationary_on: Some("2026-06-01".parse().unwrap()),
            full_on: None,
        },
        mobile: false,
    }
}

/// Serves the app's router on an ephemeral loopback port; the base URL.
async fn serve(app: &App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    format!("http://{addr}")
}

/// One request over real HTTP: the status and the body text.
async fn http(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

async fn vkey(app: &App) -> String {
    app.ledger_vkey().await.expect("vkey")
}

#[tokio::test]
async fn a_signed_letter_moves_a_member_between_two_servers() {
    let (mut gd, gd_sys, gd_sec) = server("tr-gd", "GD").await;
    let (mut hn, hn_sys, hn_sec) = server("tr-hn", "HN").await;
    let (stranger, _, stranger_sec) = server("tr-hn2", "HN").await;
    // Each server trusts the other's log key, exchanged out of band.
    gd.app.config_mut().transfer_trusted_keys = vec![vkey(&hn.app).await];
    hn.app.config_mut().transfer_trusted_keys = vec![vkey(&gd.app).await];
    for e in [&mut gd, &mut hn] {
        e.router = dangjian_web::router(dangjian_web::AppState::new(e.app.clone()));
    }

    let m = gd
        .app
        .register_member(&gd_sys, "GD-B01", person())
        .await
        .expect("register");
    let before = gd.app.member_detail(&gd_sys, m.id).await.expect("detail");

    // The sending secretary issues a letter to the other server's branch.
    let (s, l) = gd
        .call(
            "POST",
            &format!("/api/v1/members/{}/transfers", m.id),
            &gd_sec,
            Some(json!({"to_org": "HN-B01", "to_origin": "dangjian/HN", "to_org_name": "湖南某村党支部"})),
        )
        .await;
    assert_eq!(s, 201, "{l}");
    assert_eq!(l["kind"], "outgoing");
    assert_eq!(l["has_document"], true);
    let id = l["id"].as_i64().unwrap();
    // The letter travels over real HTTP between the two servers' listeners.
    let (gd_url, hn_url) = (serve(&gd.app).await, serve(&hn.app).await);
    let (s, letter) = http(
        reqwest::Method::GET,
        format!("{gd_url}/api/v1/transfers/{id}/letter"),
        &gd_sec,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(letter.starts_with("dangjian-transfer-letter/v1\n"));
    assert!(
        letter.contains("— dangjian/GD "),
        "signed by the sender's log key"
    );

    // Tampered: the probation date moved a year back.
    let tampered = letter.replace("2026-06-01", "2025-06-01");
    assert_ne!(tampered, letter);
    let (s, p) = hn
        .call(
            "POST",
            "/api/v1/transfers/import",
            &hn_sec,
            Some(json!({"letter": tampered})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), p["errors"][0]["code"].as_str()),
        (422, Some("bad_signature")),
        "{p}"
    );
    // A server that does not trust the sender refuses it.
    let (s, p) = stranger
        .call(
            "POST",
            "/api/v1/transfers/import",
            &stranger_sec,
            Some(json!({"letter": letter})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), p["errors"][0]["code"].as_str()),
        (422, Some("untrusted_origin")),
        "{p}"
    );
    // Garbage is a 422 naming the letter, never a 500.
    let (s, p) = hn
        .call(
            "POST",
            "/api/v1/transfers/import",
            &hn_sec,
            Some(json!({"letter": "hello"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), p["field"].as_str()),
        (422, Some("letter")),
        "{p}"
    );

    // The receiver imports it: the member arrives with stage, probation
    // dates, archive id and history.
    let (s, r) = http(
        reqwest::Method::POST,
        format!("{hn_url}/api/v1/transfers/import"),
        &hn_sec,
        Some(json!({"letter": letter})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let r: serde_json::Value = serde_json::from_str(&r).expect("json");
    let new_id = r["member_id"].as_i64().unwrap();
    // The imported letter has its run here: issued by the other server's
    // signature, confirmed by this branch.
    let steps = |l: &serde_json::Value| -> Vec<(String, String)> {
        l["history"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                        (s("action"), s("role"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(r["letter"]["process"], "transfer", "{r}");
    assert_eq!(
        steps(&r["letter"]),
        vec![
            pair("issue", "sender:signed_letter"),
            pair("confirm", "receiver:secretary")
        ]
    );
    let got = hn.app.member_detail(&hn_sys, new_id).await.expect("detail");
    assert_eq!(got.org.code, "HN-B01");
    assert_eq!(got.summary.stage, Stage::Probationary);
    assert_eq!(got.stage_dates, before.stage_dates);
    assert_eq!(got.id_number, before.id_number);
    let kinds: Vec<&str> = got.events.iter().map(|e| e.kind.as_str()).collect();
    let carried: Vec<&str> = before.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds[..carried.len()], carried[..]);
    assert_eq!(kinds.last(), Some(&"transferred_in"));
    assert_eq!(got.events[0].at, before.events[0].at);
    let uid = |app: &App, id: i64| {
        let app = app.clone();
        async move {
            dangjian_store::repo::members::get(&app.db.conn, id)
                .await
                .unwrap()
                .unwrap()
                .uid
        }
    };
    assert_eq!(uid(&hn.app, new_id).await, uid(&gd.app, m.id).await);

    // Replayed: 409, nothing duplicated.
    let (s, p) = hn
        .call(
            "POST",
            "/api/v1/transfers/import",
            &hn_sec,
            Some(json!({"letter": letter})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), p["errors"][0]["code"].as_str()),
        (409, Some("letter_replayed")),
        "{p}"
    );
    let (_, list) = hn
        .call("GET", "/api/v1/orgs/HN-B01/members", &hn_sec, None)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    let (_, letters) = hn
        .call("GET", "/api/v1/orgs/HN-B01/transfers", &hn_sec, None)
        .await;
    assert_eq!(letters["received"].as_array().map(Vec::len), Some(1));
    assert_eq!(letters["received"][0]["kind"], "incoming");

    // Until the receipt comes back the sender still holds the member.
    let m_now = gd.app.member_detail(&gd_sys, m.id).await.expect("detail");
    assert_eq!(m_now.summary.status.as_str(), "active");
    let receipt = r["receipt"].as_str().unwrap().to_string();
    // A receipt altered in transit is refused.
    let forged = receipt.replace("HN-B01", "HN-B02");
    let (s, _) = gd
        .call(
            "POST",
            "/api/v1/transfers/receipts",
            &gd_sec,
            Some(json!({"receipt": forged})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, done) = http(
        reqwest::Method::POST,
        format!("{gd_url}/api/v1/transfers/receipts"),
        &gd_sec,
        Some(json!({"receipt": receipt})),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    let done: serde_json::Value = serde_json::from_str(&done).expect("json");
    assert_eq!(done["status"], "arrived");
    // At the sender the receipt confirmed the run.
    assert_eq!(
        steps(&done),
        vec![
            pair("issue", "sender:secretary"),
            pair("confirm", "receiver:signed_receipt")
        ]
    );
    let out = gd.app.member_detail(&gd_sys, m.id).await.expect("detail");
    assert_eq!(out.summary.status.as_str(), "transferred_out");
    assert_eq!(
        out.events.last().map(|e| e.kind.as_str()),
        Some("transferred_out")
    );
    let (s, _) = gd
        .call(
            "POST",
            "/api/v1/transfers/receipts",
            &gd_sec,
            Some(json!({"receipt": receipt})),
        )
        .await;
    assert_eq!(s, 409);

    // Both archives still verify.
    for app in [&gd.app, &hn.app] {
        let rep = app.ledger_verify().await.expect("verify");
        assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    }
}

#[tokio::test]
async fn a_letter_is_invisible_to_another_subtree() {
    let e = common::env("tr-authz").await;
    let sec_a = e.token("secretary_a").await;
    let branch = e.org_of("secretary_a").await;
    let target = e.org_of("secretary_b").await;
    let (_, list) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch}/members"),
            &sec_a,
            None,
        )
        .await;
    let member = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["stage"] == "full"))
        .and_then(|m| m["id"].as_i64())
        .expect("a full member");
    let sys = Actor::system(0, "/");
    let tree = e.app.org_subtree(&sys, "GD", 10).await.expect("subtree");
    let (s, l) = e
        .call(
            "POST",
            &format!("/api/v1/members/{member}/transfers"),
            &sec_a,
            Some(json!({"to_org": target})),
        )
        .await;
    assert_eq!(s, 201, "{l}");
    let id = l["id"].as_i64().unwrap();
    // A secretary of a third branch: nothing to see, nothing to do.
    let third = tree
        .iter()
        .find(|o| o.kind.as_str() == "branch" && o.code != branch && o.code != target)
        .expect("a third branch")
        .code
        .clone();
    e.app
        .add_user(
            &sys,
            "sec_third",
            "sec_third",
            Role::Secretary,
            &third,
            None,
        )
        .await
        .expect("user");
    let t3 = e.token("sec_third").await;
    for (m, uri, body) in [
        ("GET", format!("/api/v1/transfers/{id}"), None),
        ("GET", format!("/api/v1/transfers/{id}/letter"), None),
        (
            "POST",
            format!("/api/v1/transfers/{id}/confirm"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/api/v1/transfers/{id}/cancel"),
            Some(json!({"reason": "越权撤销"})),
        ),
        ("GET", format!("/api/v1/orgs/{branch}/transfers"), None),
    ] {
        let (s, _) = e.call(m, &uri, &t3, body).await;
        assert_eq!(s, 404, "{m} {uri}");
    }
    // The receiving secretary confirms through the API.
    let tt = e.token("secretary_b").await;
    let (s, l) = e
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/confirm"),
            &tt,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), l["status"].as_str()),
        (200, Some("arrived")),
        "{l}"
    );
}

#[tokio::test]
async fn the_pages_issue_confirm_and_hide_letters_from_other_subtrees() {
    let e = common::env("tr-pages").await;
    let a = e.org_of("secretary_a").await;
    let b = e.org_of("secretary_b").await;
    let (ca, csrf_a) = e.session("secretary_a").await;
    let (cb, csrf_b) = e.session("secretary_b").await;
    let (s, page) = e
        .page("GET", &format!("/orgs/{a}/transfers"), &ca, None)
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("开具组织关系介绍信"), "zh-CN first");
    let member = page
        .split("<option value=\"")
        .nth(2)
        .and_then(|s| s.split('"').next())
        .expect("a member to choose")
        .to_string();
    // Refused input comes back on the page naming the problem.
    let (s, page) = e
        .page(
            "POST",
            &format!("/orgs/{a}/transfers"),
            &ca,
            Some(&format!("csrf={csrf_a}&member_id={member}&to_org={a}")),
        )
        .await;
    assert_eq!(s, 422);
    assert!(page.contains("接收支部与转出支部相同"), "{page}");
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{a}/transfers"),
            &ca,
            Some(&format!(
                "csrf={csrf_a}&member_id={member}&to_org={b}&validity_months=3"
            )),
        )
        .await;
    assert_eq!(
        (s.as_u16(), to.as_str()),
        (303, format!("/orgs/{a}/transfers").as_str())
    );
    let (_, page_b) = e
        .page("GET", &format!("/orgs/{b}/transfers"), &cb, None)
        .await;
    assert!(
        page_b.contains("确认报到"),
        "the receiving branch can confirm"
    );
    let id = page_b
        .split("/transfers/")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .filter(|s| !s.is_empty())
        .expect("letter id")
        .to_string();

    // A secretary of a third branch sees neither page nor letter.
    let sys = Actor::system(0, "/");
    let tree = e.app.org_subtree(&sys, "GD", 10).await.expect("subtree");
    let third = tree
        .iter()
        .find(|o| o.kind.as_str() == "branch" && o.code != a && o.code != b)
        .expect("a third branch")
        .code
        .clone();
    e.app
        .add_user(
            &sys,
            "sec_third_p",
            "sec_third_p",
            Role::Secretary,
            &third,
            None,
        )
        .await
        .expect("user");
    let (c3, csrf3) = e.session("sec_third_p").await;
    let (s, _) = e
        .page("GET", &format!("/orgs/{a}/transfers"), &c3, None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = e
        .page(
            "POST",
            &format!("/transfers/{id}/confirm"),
            &c3,
            Some(&format!("csrf={csrf3}&org={third}")),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = e
        .page(
            "POST",
            &format!("/transfers/{id}/cancel"),
            &c3,
            Some(&format!("csrf={csrf3}&reason=越权撤销")),
        )
        .await;
    assert_eq!(s, 404);

    // The receiving secretary confirms; the member now belongs to B.
    let (s, to) = e
        .page(
            "POST",
            &format!("/transfers/{id}/confirm"),
            &cb,
            Some(&format!(
                "csrf={csrf_b}&org={b}&arrived_on={}",
                e.app.today()
            )),
        )
        .await;
    assert_eq!(
        (s.as_u16(), to.as_str()),
        (303, format!("/orgs/{b}/transfers").as_str())
    );
    let d = e
        .app
        .member_detail(&sys, member.parse().unwrap())
        .await
        .expect("detail");
    assert_eq!(d.org.code, b);
    let (_, page_a) = e
        .page("GET", &format!("/orgs/{a}/transfers"), &ca, None)
        .await;
    assert!(page_a.contains("已报到"), "the sender sees the arrival");
}

/// A member's letters (`GET /api/v1/members/{id}/transfers` and the
/// "组织关系转接" section of the member page) are scoped like the member:
/// the member themselves and the branch that holds them now; before the
/// arrival the receiving branch sees nothing, after it the sending branch
/// sees nothing, a third branch never.
#[tokio::test]
async fn a_members_letters_are_scoped_like_the_member() {
    let e = common::env("tr-member").await;
    let a = e.org_of("secretary_a").await;
    let b = e.org_of("secretary_b").await;
    let (sec_a, sec_b, me) = (
        e.token("secretary_a").await,
        e.token("secretary_b").await,
        e.token("member_a").await,
    );
    let u = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, "member_a")
        .await
        .expect("db")
        .expect("user");
    let member = e
        .app
        .actor_for(u.id, None)
        .await
        .expect("actor")
        .member_id
        .expect("member_a is a member");
    let uri = format!("/api/v1/members/{member}/transfers");
    let (s, l) = e.call("GET", &uri, &sec_a, None).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["member_id"], member);
    assert_eq!(l["items"].as_array().map(Vec::len), Some(0), "{l}");

    let (s, issued) = e
        .call("POST", &uri, &sec_a, Some(json!({"to_org": b})))
        .await;
    assert_eq!(s, 201, "{issued}");
    let id = issued["id"].as_i64().expect("letter id");
    let number = issued["number"].as_str().expect("number").to_string();
    for token in [&sec_a, &me] {
        let (s, l) = e.call("GET", &uri, token, None).await;
        assert_eq!(s, 200, "{l}");
        let items = l["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{l}");
        assert_eq!(
            (
                items[0]["id"].as_i64(),
                items[0]["status"].as_str(),
                items[0]["from_org_code"].as_str(),
                items[0]["to_org_code"].as_str(),
            ),
            (Some(id), Some("issued"), Some(a.as_str()), Some(b.as_str()))
        );
    }
    // Not yet arrived: the member is not the receiving branch's.
    let (s, _) = e.call("GET", &uri, &sec_b, None).await;
    assert_eq!(s, 404);
    let (s, _) = e
        .call("GET", "/api/v1/members/999999999/transfers", &sec_a, None)
        .await;
    assert_eq!(s, 404);
    let (s, _) = e
        .call("GET", "/api/v1/members/x/transfers", &sec_a, None)
        .await;
    assert_eq!(s, 404);

    // The member page lists the letter with its status and links.
    let (ca, _) = e.session("secretary_a").await;
    let (s, page) = e
        .page("GET", &format!("/members/{member}"), &ca, None)
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"member-transfers\""), "{page}");
    assert!(page.contains("组织关系转接"), "{page}");
    assert!(page.contains(&number), "{page}");
    assert!(page.contains("已开具待报到"), "{page}");
    assert!(
        page.contains(&format!("/orgs/{a}/transfers#letter-{id}"))
            && page.contains(&format!("/orgs/{b}/transfers#letter-{id}")),
        "{page}"
    );

    // Arrived: now the receiving branch's member, and no longer the sender's.
    let (s, l) = e
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/confirm"),
            &sec_b,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    let (s, l) = e.call("GET", &uri, &sec_b, None).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["items"][0]["status"], "arrived", "{l}");
    assert!(l["items"][0]["arrived_on"].is_string(), "{l}");
    let (s, _) = e.call("GET", &uri, &sec_a, None).await;
    assert_eq!(s, 404);
    let (s, l) = e.call("GET", &uri, &me, None).await;
    assert_eq!(s, 200, "the member sees their own: {l}");
    let (cb, _) = e.session("secretary_b").await;
    let (s, page) = e
        .page("GET", &format!("/members/{member}"), &cb, None)
        .await;
    assert_eq!(s, 200);
    assert!(page.contains(&number), "{page}");

    // Unauthenticated.
    let r = common::send_raw(
        &e.router,
        axum::http::Request::builder()
            .uri(&uri)
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_letter_runs_on_the_transfer_process_with_its_timeline() {
    let e = common::env("tr-process").await;
    let sec_a = e.token("secretary_a").await;
    let sec_b = e.token("secretary_b").await;
    let branch = e.org_of("secretary_a").await;
    let target = e.org_of("secretary_b").await;

    // Both definitions are served as data, with their digests.
    let (s, p) = e
        .call("GET", "/api/v1/transfers/process", &sec_a, None)
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (p["key"].as_str(), p["version"].as_u64()),
        (Some("transfer"), Some(1))
    );
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["key"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(keys(&p["steps"]), vec!["issue", "confirm"]);
    assert_eq!(keys(&p["exits"]), vec!["cancel", "return"]);
    assert_eq!(p["exits"][1]["roles"][0], "receiver:secretary");
    assert_eq!(p["exits"][0]["fields"][0]["key"], "reason");
    assert_eq!(p["exits"][0]["fields"][0]["required"], true);
    assert_eq!(p["deadlines"][0]["key"], "letter_valid");
    assert_eq!(p["digest"].as_str().map(str::len), Some(64));
    let (s, a) = e
        .call("GET", "/api/v1/admissions/process", &sec_a, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(a["steps"].as_array().map(Vec::len), Some(25));
    assert_ne!(a["digest"], p["digest"]);

    // A letter issued two months ago for one month: past its validity.
    let (_, list) = e
        .call(
            "GET",
            &format!("/api/v1/orgs/{branch}/members"),
            &sec_a,
            None,
        )
        .await;
    let member = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["stage"] == "full"))
        .and_then(|m| m["id"].as_i64())
        .expect("a full member");
    let issued = e.app.today() - chrono::Days::new(61);
    let (s, l) = e
        .call(
            "POST",
            &format!("/api/v1/members/{member}/transfers"),
            &sec_a,
            Some(json!({"to_org": target, "issued_on": issued, "validity_months": 1})),
        )
        .await;
    assert_eq!(s, 201, "{l}");
    assert_eq!(
        (l["process"].as_str(), l["process_version"].as_u64()),
        (Some("transfer"), Some(1))
    );
    assert_eq!(l["history"].as_array().map(Vec::len), Some(1), "{l}");
    assert_eq!(l["history"][0]["action"], "issue");
    assert_eq!(l["history"][0]["role"], "sender:secretary");
    assert_eq!(l["history"][0]["who"], "secretary_a");
    assert!(l["history"][0]["when"].is_string(), "{l}");
    assert_eq!(l["history"][0]["on"], json!(issued));
    assert_eq!(l["expired"], true);
    let id = l["id"].as_i64().expect("id");

    // Confirming it needs the reason for the late arrival.
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/confirm"),
            &sec_b,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (
            s.as_u16(),
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (422, Some("overrides"), Some("letter_expired")),
        "{p}"
    );
    // The return needs its reason too.
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/cancel"),
            &sec_b,
            Some(json!({"reason": ""})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), p["errors"][0]["field"].as_str()),
        (422, Some("reason")),
        "{p}"
    );
    let (s, done) = e
        .call(
            "POST",
            &format!("/api/v1/transfers/{id}/confirm"),
            &sec_b,
            Some(
                json!({"overrides": [{"code": "letter_expired", "reason": "本人住院，延期报到"}]}),
            ),
        )
        .await;
    assert_eq!(
        (s.as_u16(), done["status"].as_str()),
        (200, Some("arrived")),
        "{done}"
    );
    let h = &done["history"];
    assert_eq!(h.as_array().map(Vec::len), Some(2), "{done}");
    assert_eq!(h[1]["action"], "confirm");
    assert_eq!(h[1]["role"], "receiver:secretary");
    assert_eq!(h[1]["who"], "secretary_b");
    assert_eq!(h[1]["overrides"][0]["code"], "letter_expired");
    assert_eq!(h[1]["overrides"][0]["reason"], "本人住院，延期报到");
    let (s, again) = e
        .call("GET", &format!("/api/v1/transfers/{id}"), &sec_a, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(again["history"], done["history"]);

    // The letter page shows the timeline, zh-CN first, English on request.
    let (cb, _) = e.session("secretary_b").await;
    let (s, page) = e.page("GET", &format!("/transfers/{id}"), &cb, None).await;
    assert_eq!(s, 200, "{page}");
    for text in [
        "办理记录",
        "开具组织关系介绍信",
        "接收支部确认报到",
        "本人住院，延期报到",
        "接收方 · 支部书记",
        "secretary_a",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    let (s, page) = e
        .page("GET", &format!("/transfers/{id}?lang=en"), &cb, None)
        .await;
    assert_eq!(s, 200);
    for text in [
        "Timeline",
        "Introduction letter issued",
        "Arrival confirmed",
        "Receiving side · branch secretary",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    // Another subtree's secretary does not see the page.
    let sys = Actor::system(0, "/");
    let tree = e.app.org_subtree(&sys, "GD", 10).await.expect("subtree");
    let third = tree
        .iter()
        .find(|o| o.kind.as_str() == "branch" && o.code != branch && o.code != target)
        .expect("a third branch")
        .code
        .clone();
    e.app
        .add_user(
            &sys,
            "sec_third_t",
            "sec_third_t",
            Role::Secretary,
            &third,
            None,
        )
        .await
        .expect("user");
    let (c3, _) = e.session("sec_third_t").await;
    let (s, _) = e.page("GET", &format!("/transfers/{id}"), &c3, None).await;
    assert_eq!(s, 404);
}
