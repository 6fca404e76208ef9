//! Demo seeding story (issue 2 §7) on the backend the environment selects:
//! `seed_demo` fills an empty database with a tree, members and six demo
//! users whose printed passwords sign in; a second run issues new passwords
//! (`seeded == false`) instead of seeding twice; a database holding other
//! organizations is refused.

mod common;

use std::collections::HashSet;

use common::*;
use dangjian_app::{App, AppError, FixedClock, Keyring};
use dangjian_domain::identity::Role;
use std::sync::Arc;

fn app_on(tdb: &TestDb) -> App {
    App::new(
        tdb.db.clone(),
        Keyring::generate().unwrap(),
        Arc::new(FixedClock::new(fixture_now())),
    )
}

#[tokio::test]
async fn seed_demo_then_reset_passwords() {
    let tdb = TestDb::new().await;
    let app = app_on(&tdb);

    let first = app.seed_demo(300, &|_| {}).await.unwrap();
    assert!(first.seeded);
    assert_eq!(first.root_org, "GD");
    assert_eq!(first.members, 300);
    assert!(first.organizations > 12, "{}", first.organizations);
    assert_eq!(first.users.len(), 6, "six demo users printed");
    let logins: HashSet<&str> = first.users.iter().map(|u| u.login.as_str()).collect();
    assert_eq!(
        logins,
        HashSet::from([
            "admin",
            "auditor",
            "county_staff",
            "secretary_a",
            "secretary_b",
            "member_a"
        ])
    );
    let roles: HashSet<Role> = first.users.iter().map(|u| u.role).collect();
    assert_eq!(roles.len(), 5, "every role is represented");

    // Every printed password signs in, and the admin sees the whole tree.
    for u in &first.users {
        let actor = app.authenticate(&u.login, &u.password, None).await.unwrap();
        assert_eq!(actor.grants[0].org_code, u.org, "{}", u.login);
    }
    let admin = app
        .authenticate("admin", &first.users[0].password, None)
        .await
        .unwrap();
    let detail = app.org_detail(&admin, "GD").await.unwrap();
    assert_eq!(detail.members_in_subtree, 300);

    // The member user sees their own record.
    let member_a = first.users.iter().find(|u| u.login == "member_a").unwrap();
    let m = app
        .authenticate("member_a", &member_a.password, None)
        .await
        .unwrap();
    let own = m.member_id.expect("member_a is linked to a member record");
    app.member_detail(&m, own).await.unwrap();

    // The demo's branches A and B are apart.
    let sec_a = first
        .users
        .iter()
        .find(|u| u.login == "secretary_a")
        .unwrap();
    let sec_b = first
        .users
        .iter()
        .find(|u| u.login == "secretary_b")
        .unwrap();
    assert_ne!(sec_a.org, sec_b.org);
    let sa = app
        .authenticate("secretary_a", &sec_a.password, None)
        .await
        .unwrap();
    let page = app.list_members(&sa, &sec_a.org, None, 500).await.unwrap();
    assert!(!page.items.is_empty());
    let r = app.list_members(&sa, &sec_b.org, None, 500).await;
    assert!(
        matches!(r, Err(AppError::NotFound(_) | AppError::Forbidden)),
        "{r:?}"
    );

    // A second run resets the passwords and seeds nothing.
    let second = app.seed_demo(300, &|_| {}).await.unwrap();
    assert!(!second.seeded);
    assert_eq!(second.members, 300);
    assert_eq!(second.organizations, first.organizations);
    assert_eq!(second.users.len(), 6);
    for u in &second.users {
        let old = first.users.iter().find(|o| o.login == u.login).unwrap();
        assert_ne!(u.password, old.password, "{} got a new password", u.login);
        app.authenticate(&u.login, &u.password, None).await.unwrap();
        let r = app.authenticate(&u.login, &old.password, None).await;
        assert!(matches!(r, Err(AppError::Unauthorized)), "{}", u.login);
    }
}

#[tokio::test]
async fn seed_demo_refuses_a_database_with_other_organizations() {
    // The fixture tree is not the demo's.
    let fx = Fixture::new().await;
    let r = fx.app.seed_demo(50, &|_| {}).await;
    match r {
        Err(AppError::Conflict(e)) => assert_eq!(e.code, "not_empty"),
        other => panic!("expected a conflict, got {:?}", other.map(|r| r.seeded)),
    }
}
