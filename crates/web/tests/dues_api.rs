//! The dues API through the router (in process): the branch secretary
//! declares a base, generates the month's sheet (twice, idempotent), records
//! a cash payment and reverses it; the member reads their own account; the
//! sibling branch's secretary gets 404 problem details; bad input names its
//! field; the committee's report comes as JSON and XLSX; remittances to
//! the higher level are recorded, listed and reversed within scope.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

mod common;

use common::{Env, env};

async fn actor(e: &Env, login: &str) -> dangjian_app::Actor {
    let u = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, login)
        .await
        .expect("db")
        .expect("user");
    e.app.actor_for(u.id, None).await.expect("actor")
}

#[tokio::test]
async fn dues_api_runs_a_month_and_scopes() {
    let e = env("dues").await;
    let tok = |l: &'static str| {
        let app = e.app.clone();
        async move { app.create_token(l, "test").await.expect("token") }
    };
    let (sec_a, sec_b, member_a) = (
        tok("secretary_a").await,
        tok("secretary_b").await,
        tok("member_a").await,
    );
    let me = actor(&e, "member_a").await;
    let mid = me.member_id.expect("member_a is a member");
    let branch = actor(&e, "secretary_a").await.grants[0].org_code.clone();

    let base = format!("/api/v1/dues/members/{mid}/base");
    let (s, b) = e
        .call(
            "POST",
            &base,
            &sec_a,
            Some(json!({"year": 2026, "category": "employed", "income": "8000"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // DOMAIN.md §7: 8000 yuan → 1.5% = 120.00 yuan.
    assert_eq!(b["fee_fen"], 12_000);
    let (s, p) = e
        .call(
            "POST",
            &base,
            &sec_a,
            Some(json!({"year": 2026, "income": "12.345"})),
        )
        .await;
    assert_eq!(
        (s.is_client_error(), p["field"].as_str()),
        (true, Some("income"))
    );
    let (s, p) = e
        .call(
            "POST",
            &base,
            &sec_a,
            Some(json!({"year": 2026, "category": "pirate"})),
        )
        .await;
    assert_eq!(
        (s.is_client_error(), p["field"].as_str()),
        (true, Some("category"))
    );

    let sheet = format!("/api/v1/dues/orgs/{branch}/sheets/2026-11");
    let (s, g) = e.call("POST", &sheet, &sec_a, None).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["charges_created"], 1);
    let (_, g) = e.call("POST", &sheet, &sec_a, None).await;
    assert_eq!(g["charges_created"], 0);
    let (s, _) = e
        .call(
            "POST",
            "/api/v1/dues/orgs/NOPE/sheets/2026-11",
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, p) = e
        .call(
            "POST",
            &format!("/api/v1/dues/orgs/{branch}/sheets/11-2026"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(
        (s.is_client_error(), p["field"].as_str()),
        (true, Some("month"))
    );

    let pay = format!("/api/v1/dues/members/{mid}/payments");
    let (s, p) = e
        .call(
            "POST",
            &pay,
            &sec_a,
            Some(json!({"method": "cash", "amount": "120", "reference": "收据No.8"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_i64().expect("id");
    let (s, p) = e
        .call(
            "POST",
            &pay,
            &sec_a,
            Some(json!({"method": "cheque", "amount": "1", "reference": "x"})),
        )
        .await;
    assert_eq!(
        (s.is_client_error(), p["field"].as_str()),
        (true, Some("method"))
    );

    // The member sees their own account.
    let (s, d) = e
        .call(
            "GET",
            &format!("/api/v1/dues/members/{mid}"),
            &member_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            d["status"]["due_fen"].as_i64(),
            d["status"]["balance_fen"].as_i64()
        ),
        (Some(12_000), Some(0))
    );

    // The sibling branch's secretary learns nothing.
    for (m, uri) in [
        ("GET", format!("/api/v1/dues/members/{mid}")),
        ("GET", sheet.clone()),
        ("POST", format!("/api/v1/dues/payments/{pid}/reverse")),
    ] {
        let body = (m == "POST").then(|| json!({"reason": "x"}));
        let (s, _) = e.call(m, &uri, &sec_b, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }

    let (s, c) = e
        .call(
            "POST",
            &format!("/api/v1/dues/payments/{pid}/reverse"),
            &sec_a,
            Some(json!({"reason": "金额录错"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["amount_fen"], -12_000);
    let (s, _) = e
        .call(
            "POST",
            &format!("/api/v1/dues/payments/{pid}/reverse"),
            &sec_a,
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, sh) = e.call("GET", &sheet, &sec_a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sh["due_fen"], 12_000);
    assert_eq!(sh["paid_fen"], 0);

    let (s, r) = e
        .call(
            "GET",
            &format!("/api/v1/dues/orgs/{branch}/report?from=2026-01&to=2026-11"),
            &sec_a,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["months"].as_array().map(Vec::len), Some(11));
    let req = Request::builder()
        .uri(format!(
            "/api/v1/dues/orgs/{branch}/report.xlsx?from=2026-01&to=2026-11"
        ))
        .header(header::AUTHORIZATION, format!("Bearer {sec_a}"))
        .body(Body::empty())
        .expect("request");
    let x = common::send_raw(&e.router, req).await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.content_type.unwrap_or_default().contains("spreadsheetml"));

    let (s, doc) = e.call("GET", "/api/v1/openapi.json", &sec_a, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/dues/members/{id}/payments"].is_object());
}

async fn page(
    e: &Env,
    method: &str,
    uri: &str,
    cookie: &str,
    form: Option<String>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, format!("dj_session={cookie}"));
    let body = match form {
        Some(f) => {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f)
        }
        None => Body::empty(),
    };
    let r = common::send_raw(&e.router, req.body(body).expect("request")).await;
    (r.status, r.location.unwrap_or(r.body))
}

/// A secretary runs a month in the pages: generate the sheet, enter the
/// paper list in one form; the member sees what they owe and paid.
#[tokio::test]
async fn dues_pages_run_a_month() {
    let e = env("duespg").await;
    let sec = actor(&e, "secretary_a").await;
    let me = actor(&e, "member_a").await;
    let mid = me.member_id.expect("member");
    let branch = sec.grants[0].org_code.clone();
    e.app
        .set_dues_base(
            &sec,
            mid,
            dangjian_app::dues::BaseInput {
                year: 2026,
                income: Some("3000".into()),
                ..Default::default()
            },
        )
        .await
        .expect("base");
    let (cookie, csrf) = e.app.open_session(&sec).await.expect("session");

    let (s, html) = page(
        &e,
        "GET",
        &format!("/orgs/{branch}/dues?month=2026-11"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("党费收缴") && html.contains("<svg"));
    let (s, to) = page(
        &e,
        "POST",
        &format!("/orgs/{branch}/dues/generate"),
        &cookie,
        Some(format!("csrf={csrf}&month=2026-11")),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.contains("done=1"), "{to}");
    // Wrong CSRF token: refused.
    let (s, _) = page(
        &e,
        "POST",
        &format!("/orgs/{branch}/dues/generate"),
        &cookie,
        Some("csrf=nope&month=2026-11".into()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let form = format!(
        "csrf={csrf}&month=2026-11&method=cash&paid_on=2026-11-28&amount_{mid}=15&ref_{mid}=R001"
    );
    let (s, to) = page(
        &e,
        "POST",
        &format!("/orgs/{branch}/dues/entry"),
        &cookie,
        Some(form),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.contains("done=1"), "{to}");
    let (s, html) = page(&e, "GET", &to, &cookie, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"sheet-paid\">15.00"), "{html}");

    let (mc, _) = e.app.open_session(&me).await.expect("session");
    let (s, html) = page(&e, "GET", "/dues?lang=en", &mc, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("R001") && html.contains("15.00"));
    // The member cannot open the branch sheet's entry form.
    let (s, html) = page(&e, "GET", &format!("/orgs/{branch}/dues"), &mc, None).await;
    assert!(s == StatusCode::NOT_FOUND || !html.contains("id=\"entry\""));
}

/// Remittance to the higher level through the API (DOMAIN.md §7): the
/// branch secretary records a transfer to the committee and reverses it;
/// the sibling branch's secretary neither sees nor touches it; bad input
/// names its field.
#[tokio::test]
async fn dues_remittance_api() {
    let e = env("dues-remit").await;
    let sec_a = e.token("secretary_a").await;
    let sec_b = e.token("secretary_b").await;
    let branch = actor(&e, "secretary_a").await.grants[0].org_code.clone();
    let month = dangjian_domain::dues_ledger::format_month(dangjian_domain::dues_ledger::month_of(
        e.app.today(),
    ));
    let url = format!("/api/v1/dues/orgs/{branch}/remittances");
    let (s, r) = e
        .call(
            "POST",
            &url,
            &sec_a,
            Some(json!({"month": month, "amount": "0.50", "reference": "转账R1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["amount_fen"], 50);
    assert!(
        r["to_org_code"]
            .as_str()
            .is_some_and(|p| branch.starts_with(p))
    );
    let rid = r["id"].as_i64().expect("id");

    let (s, p) = e
        .call(
            "POST",
            &url,
            &sec_a,
            Some(json!({"month": month, "amount": "-1", "reference": "x"})),
        )
        .await;
    assert_eq!(
        (s.is_client_error(), p["field"].as_str()),
        (true, Some("amount"))
    );
    let (s, _) = e
        .call("POST", &url, &sec_a, Some(json!({"month": month})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = e
        .call(
            "POST",
            &url,
            &sec_b,
            Some(json!({"month": month, "amount": "1", "reference": "x"})),
        )
        .await;
    assert!(matches!(s, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN));

    let list = format!("{url}?from={month}&to={month}");
    let (s, rep) = e.call("GET", &list, &sec_a, None).await;
    assert_eq!(s, StatusCode::OK, "{rep}");
    let row = rep["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["org_code"] == branch.as_str())
        .expect("the branch's row")
        .clone();
    assert_eq!(row["remitted_fen"], 50);
    assert_eq!(
        row["outstanding_fen"].as_i64(),
        row["to_remit_fen"].as_i64().map(|t| t - 50)
    );
    assert_eq!(row["remittances"][0]["reference"], "转账R1");
    let (s, _) = e.call("GET", &list, &sec_b, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let rev = format!("/api/v1/dues/remittances/{rid}/reverse");
    let (s, _) = e
        .call("POST", &rev, &sec_b, Some(json!({"reason": "错"})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, c) = e
        .call("POST", &rev, &sec_a, Some(json!({"reason": "金额录错"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(
        (c["amount_fen"].as_i64(), c["reverses_id"].as_i64()),
        (Some(-50), Some(rid))
    );
    let (s, _) = e
        .call("POST", &rev, &sec_a, Some(json!({"reason": "再次"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
}
