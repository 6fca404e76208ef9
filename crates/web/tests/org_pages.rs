//! The organization management page through the router (in process): county
//! staff set up a branch under a grassroots committee, rename it, record its
//! committee election, move it, and dissolve it, each landing in the
//! organization's history; refusals (a kind the parent may not contain, a
//! taken code, a dissolve not confirmed or of an organization with members)
//! come back on the page naming the field; a branch secretary, who manages
//! members but not organizations, gets 404 and no link; a wrong CSRF token is
//! refused.

use axum::http::StatusCode;

mod common;

use common::env;

#[tokio::test]
async fn county_staff_manage_organizations_through_the_page() {
    let e = env("orgmanage").await;
    let staff = e.org_of("county_staff").await;
    let branch_a = e.org_of("secretary_a").await;
    // The grassroots committee above branch A.
    let committee = branch_a
        .rsplit_once('-')
        .map(|(c, _)| c.to_string())
        .expect("branch code has a parent part");
    let u = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, "county_staff")
        .await
        .expect("db")
        .expect("user");
    let actor = e.app.actor_for(u.id, None).await.expect("actor");
    let (cookie, csrf) = e.app.open_session(&actor).await.expect("session");

    // The organization page links to management; the page offers the kinds
    // a grassroots committee may contain (DOMAIN.md §2) and not a county.
    let (s, html) = e
        .page("GET", &format!("/orgs/{committee}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("/orgs/{committee}/manage")),
        "{html}"
    );
    let (s, html) = e
        .page("GET", &format!("/orgs/{committee}/manage"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("value=\"branch\"") && html.contains("value=\"general_branch\""));
    assert!(!html.contains("value=\"county\""));

    // Set up a branch: lands on its page.
    let new = format!("{committee}-B99");
    let form = format!(
        "csrf={csrf}&kind=branch&name=%E7%AC%AC%E4%B9%9D%E5%8D%81%E4%B9%9D%E6%94%AF%E9%83%A8&code={new}&setting=village&committee_elected_on="
    );
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{committee}/children"),
            &cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert_eq!(to, format!("/orgs/{new}"));

    // The same code again is refused on the page, naming the field, and the
    // typed name is kept.
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{committee}/children"),
            &cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"errors-child\"") && html.contains("code："),
        "{html}"
    );
    assert!(html.contains("第九十九支部"));
    // A county cannot sit under a grassroots committee.
    let bad = form
        .replace("kind=branch", "kind=county")
        .replace("B99", "B98");
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{committee}/children"),
            &cookie,
            Some(&bad),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("kind：") && html.contains("§2"), "{html}");

    // Rename, record a committee election, then see both in the history.
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{new}/rename"),
            &cookie,
            Some(&format!(
                "csrf={csrf}&name=%E6%96%B0%E6%9D%91%E6%94%AF%E9%83%A8"
            )),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{new}/committee"),
            &cookie,
            Some(&format!("csrf={csrf}&elected_on=2026-07-01")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (s, html) = e
        .page("GET", &format!("/orgs/{new}/manage"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("新村支部") && html.contains("2026-07-01"));
    for what in ["设立", "更名", "换届选举"] {
        assert!(html.contains(&format!("<td>{what}</td>")), "{what}: {html}");
    }
    // An election date in the future names its field.
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{new}/committee"),
            &cookie,
            Some(&format!("csrf={csrf}&elected_on=2099-01-01")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("committee_elected_on："), "{html}");

    // A branch cannot move under a branch; the county may hold a branch
    // directly (DOMAIN.md §2).
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{new}/move"),
            &cookie,
            Some(&format!("csrf={csrf}&parent_code={branch_a}")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("parent_code："), "{html}");
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{new}/move"),
            &cookie,
            Some(&format!("csrf={csrf}&parent_code={staff}")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, html) = e.page("GET", &format!("/orgs/{new}"), &cookie, None).await;
    assert!(html.contains(&format!("href=\"/orgs/{staff}\"")), "{html}");

    // Dissolving needs the code typed; a branch with members is refused.
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{new}/dissolve"),
            &cookie,
            Some(&format!("csrf={csrf}&confirm=nope")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("confirm："));
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/dissolve"),
            &cookie,
            Some(&format!("csrf={csrf}&confirm={branch_a}")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("在册人员"), "{html}");
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{new}/dissolve"),
            &cookie,
            Some(&format!("csrf={csrf}&confirm={new}")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, html) = e.page("GET", &format!("/orgs/{new}"), &cookie, None).await;
    assert!(html.contains("已撤销"));

    // A wrong CSRF token changes nothing.
    let (s, _) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/rename"),
            &cookie,
            Some("csrf=forged&name=%E6%94%B9%E5%90%8D"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_branch_secretary_cannot_manage_organizations() {
    let e = env("orgmanage-sec").await;
    let branch_a = e.org_of("secretary_a").await;
    let u = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, "secretary_a")
        .await
        .expect("db")
        .expect("user");
    let actor = e.app.actor_for(u.id, None).await.expect("actor");
    let (cookie, csrf) = e.app.open_session(&actor).await.expect("session");
    let (s, html) = e
        .page("GET", &format!("/orgs/{branch_a}"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("/manage\""), "no link for a secretary");
    let (s, _) = e
        .page("GET", &format!("/orgs/{branch_a}/manage"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = e
        .page(
            "POST",
            &format!("/orgs/{branch_a}/rename"),
            &cookie,
            Some(&format!("csrf={csrf}&name=%E6%94%B9%E5%90%8D")),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let d = e
        .app
        .org_detail(&actor, &branch_a)
        .await
        .expect("branch still visible");
    assert_ne!(d.org.name, "改名", "the name is unchanged");
}

/// DOMAIN.md §2: a grassroots committee's term is 3–5 years; the election
/// form and the API record the term chosen, and refuse one outside the
/// range naming `committee_term_years`.
#[tokio::test]
async fn committee_election_records_the_term_chosen() {
    let e = env("orgterm").await;
    let county = e.org_of("county_staff").await;
    let u = dangjian_store::repo::identity::user_by_login(&e.app.db.conn, "county_staff")
        .await
        .expect("db")
        .expect("user");
    let actor = e.app.actor_for(u.id, None).await.expect("actor");
    let (cookie, csrf) = e.app.open_session(&actor).await.expect("session");
    let new = format!("{county}-W77");
    let form = format!(
        "csrf={csrf}&kind=committee&name=%E6%9F%90%E5%85%AC%E5%8F%B8%E5%85%9A%E5%A7%94&code={new}&setting=enterprise&committee_elected_on="
    );
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{county}/children"),
            &cookie,
            Some(&form),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (s, html) = e
        .page("GET", &format!("/orgs/{new}/manage"), &cookie, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"term_years\""), "{html}");
    let (s, to) = e
        .page(
            "POST",
            &format!("/orgs/{new}/committee"),
            &cookie,
            Some(&format!("csrf={csrf}&elected_on=2026-07-01&term_years=4")),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, html) = e
        .page("GET", &format!("/orgs/{new}/manage"), &cookie, None)
        .await;
    assert!(html.contains("value=\"4\" selected"), "{html}");
    let (s, html) = e
        .page(
            "POST",
            &format!("/orgs/{new}/committee"),
            &cookie,
            Some(&format!("csrf={csrf}&elected_on=2026-07-01&term_years=9")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("committee_term_years："), "{html}");

    let token = e.token("county_staff").await;
    let uri = format!("/api/v1/orgs/{new}/committee");
    let (s, b) = e
        .call(
            "PUT",
            &uri,
            &token,
            Some(serde_json::json!({"elected_on": "2026-07-01", "term_years": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["committee_term_years"], 3);
    let (s, b) = e
        .call(
            "PUT",
            &uri,
            &token,
            Some(serde_json::json!({"elected_on": "2026-07-01", "term_years": 2})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b.to_string().contains("committee_term_years"), "{b}");
}
