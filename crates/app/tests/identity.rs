//! Accounts stories (issue 2 §5) on the backend the environment selects:
//! `add_user` hands out a one-time password that signs in; a wrong password is
//! refused and audited as `login.failure`; web sessions open, resolve to the
//! user's grants, expire and close; API tokens are created, resolve and are
//! stored only as hashes.

mod common;

use chrono::Duration;
use common::*;
use dangjian_app::AppError;
use dangjian_app::identity::{secret_hash, split_token};
use dangjian_domain::identity::Role;
use dangjian_store::entities::{api_token, session, user};
use sea_orm::EntityTrait;

#[tokio::test]
async fn a_one_time_password_signs_in_with_the_granted_role() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(
            &fx.sys,
            "li.secretary",
            "李书记",
            Role::Secretary,
            BRANCH_A,
            None,
        )
        .await
        .unwrap();
    assert_eq!(nu.login, "li.secretary");
    assert!(nu.password.chars().count() >= 12, "{}", nu.password);
    assert!(nu.password.chars().all(|c| c.is_ascii_alphanumeric()));

    let actor = fx
        .app
        .authenticate("li.secretary", &nu.password, Some("10.0.0.7".into()))
        .await
        .unwrap();
    assert_eq!(actor.user_id, nu.user_id);
    assert_eq!(actor.display_name, "李书记");
    assert_eq!(actor.grants.len(), 1);
    let g = &actor.grants[0];
    assert_eq!(g.role, Role::Secretary);
    assert_eq!(g.org_code, BRANCH_A);
    assert_eq!(g.org_name, BRANCH_A_NAME);
    assert_eq!(g.org_path, fx.branch_a.path);
    assert!(actor.can_manage_members(&fx.branch_a.path));
    assert!(!actor.can_manage_members(&fx.branch_b.path));

    let ok = fx.audit_rows("login.success").await;
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].user_id, Some(nu.user_id));
    assert_eq!(ok[0].remote_addr.as_deref(), Some("10.0.0.7"));
    let created = fx.audit_rows("user.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].target_id, Some(nu.user_id));

    // The password is stored as an argon2id hash only.
    let row = user::Entity::find_by_id(nu.user_id)
        .one(&fx.app.db.conn)
        .await
        .unwrap()
        .unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert!(!row.password_hash.contains(&nu.password));

    // Two users never get the same password.
    let other = fx
        .app
        .add_user(
            &fx.sys,
            "wang.secretary",
            "王书记",
            Role::Secretary,
            BRANCH_B,
            None,
        )
        .await
        .unwrap();
    assert_ne!(other.password, nu.password);
}

#[tokio::test]
async fn wrong_password_is_unauthorized_and_audited() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(
            &fx.sys,
            "zhao",
            "赵干事",
            Role::CommitteeStaff,
            COUNTY,
            None,
        )
        .await
        .unwrap();
    let r = fx
        .app
        .authenticate("zhao", "wrong-password-123", Some("10.0.0.9".into()))
        .await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");
    let r = fx
        .app
        .authenticate("nobody", &nu.password, Some("10.0.0.9".into()))
        .await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");

    let failures = fx.audit_rows("login.failure").await;
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].user_id, Some(nu.user_id));
    assert_eq!(failures[0].detail["login"], "zhao");
    assert_eq!(failures[0].remote_addr.as_deref(), Some("10.0.0.9"));
    assert_eq!(failures[0].at, fixture_now());
    assert_eq!(failures[1].user_id, None, "unknown login has no user");
    // Neither the wrong nor the right password is written anywhere.
    for f in &failures {
        let text = f.detail.to_string();
        assert!(!text.contains("wrong-password-123"));
        assert!(!text.contains(&nu.password));
    }
    assert!(fx.audit_rows("login.success").await.is_empty());
}

#[tokio::test]
async fn add_user_checks_rights_login_and_uniqueness() {
    let fx = Fixture::new().await;
    // Only administrators of the organization's subtree create users.
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    let r = fx
        .app
        .add_user(&sec, "new.user", "新用户", Role::Member, BRANCH_A, None)
        .await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    let county_admin = fx.user(Role::Admin, COUNTY).await;
    let r = fx
        .app
        .add_user(
            &county_admin,
            "prov.user",
            "省用户",
            Role::Auditor,
            PROVINCE,
            None,
        )
        .await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    fx.app
        .add_user(
            &county_admin,
            "new.user",
            "新用户",
            Role::Member,
            BRANCH_A,
            None,
        )
        .await
        .unwrap();

    let r = fx
        .app
        .add_user(&fx.sys, "new.user", "重名", Role::Member, BRANCH_B, None)
        .await;
    match r {
        Err(AppError::Conflict(e)) => assert_eq!(e.field, "login"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    for bad in ["ab", "has space", "中文名", &"x".repeat(65)] {
        let r = fx
            .app
            .add_user(&fx.sys, bad, "坏名", Role::Member, BRANCH_B, None)
            .await;
        assert_eq!(fields_of(r), ["login"], "{bad:?}");
    }
    let r = fx
        .app
        .add_user(&fx.sys, "orphan", "无组织", Role::Member, "NO-SUCH", None)
        .await;
    assert_eq!(fields_of(r), ["org"]);
}

#[tokio::test]
async fn sessions_open_resolve_expire_and_close() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(&fx.sys, "auditor1", "审计员", Role::Auditor, PROVINCE, None)
        .await
        .unwrap();
    let actor = fx
        .app
        .authenticate("auditor1", &nu.password, None)
        .await
        .unwrap();

    let (secret, csrf) = fx.app.open_session(&actor).await.unwrap();
    assert!(secret.len() >= 32 && csrf.len() >= 16);
    let (again, csrf_again) = fx.app.session_actor(&secret, None).await.unwrap();
    assert_eq!(again.user_id, actor.user_id);
    assert_eq!(again.grants.len(), 1);
    assert_eq!(again.grants[0].role, Role::Auditor);
    assert_eq!(csrf_again, csrf);

    // Only the hash of the secret is stored.
    let rows = session::Entity::find().all(&fx.app.db.conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id_hash, secret_hash(&secret));
    assert_ne!(rows[0].id_hash, secret);

    // Unknown secrets are refused.
    let r = fx.app.session_actor("0000", None).await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");

    // A session expires after the configured hours.
    let (short, _) = fx.app.open_session(&actor).await.unwrap();
    fx.clock
        .advance(Duration::hours(fx.app.config.session_hours) - Duration::seconds(1));
    fx.app.session_actor(&short, None).await.unwrap();
    fx.clock.advance(Duration::seconds(1));
    let r = fx.app.session_actor(&short, None).await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "expired: {r:?}");
    fx.clock.set(fixture_now());

    // Closing ends it.
    fx.app.close_session(&secret).await.unwrap();
    let r = fx.app.session_actor(&secret, None).await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "closed: {r:?}");
}

#[tokio::test]
async fn api_tokens_resolve_to_their_user_and_are_stored_hashed() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(
            &fx.sys,
            "bot",
            "接口用户",
            Role::CommitteeStaff,
            COMMITTEE,
            None,
        )
        .await
        .unwrap();
    let token = fx.app.create_token("bot", "nightly sync").await.unwrap();
    assert!(token.starts_with("dj_"), "{token}");
    let second = fx.app.create_token("bot", "second").await.unwrap();
    assert_ne!(token, second);

    let actor = fx
        .app
        .token_actor(&token, Some("192.0.2.1".into()))
        .await
        .unwrap();
    assert_eq!(actor.user_id, nu.user_id);
    assert_eq!(actor.remote_addr.as_deref(), Some("192.0.2.1"));
    assert_eq!(actor.grants[0].org_code, COMMITTEE);
    assert_eq!(
        fx.app.token_actor(&second, None).await.unwrap().user_id,
        nu.user_id
    );

    // The text is `dj_{id}_{secret}`; the id finds the row, the secret
    // must match its hash. Another token's id with this secret, this id
    // with another secret or a changed digit are all refused.
    let (id, secret) = split_token(&token).expect("dj_{id}_{secret}");
    let (second_id, second_secret) = split_token(&second).expect("split");
    assert_eq!(secret.len(), 64);
    assert_ne!(id, second_id);
    let flipped = format!(
        "dj_{id}_{}{}",
        if secret.starts_with('0') { '1' } else { '0' },
        &secret[1..]
    );
    for bogus in [
        "dj_0000".to_string(),
        String::new(),
        token[..token.len() - 1].to_string(),
        format!("dj_{second_id}_{secret}"),
        format!("dj_{id}_{second_secret}"),
        flipped,
        format!("dj_{}_{secret}", id + 1000),
        format!("dj_-{id}_{secret}"),
        format!("dj_{id}_{}", secret.to_uppercase()),
    ] {
        let r = fx.app.token_actor(&bogus, None).await;
        assert!(matches!(r, Err(AppError::Unauthorized)), "{bogus:?}: {r:?}");
    }
    // A token of the older form (no id in its text; its whole text hashed)
    // still works, looked up by that hash.
    let older = format!("dj_{}", "ab".repeat(32));
    assert_eq!(split_token(&older), None);
    dangjian_store::repo::identity::insert_token(
        &fx.app.db.conn,
        &secret_hash(&older),
        nu.user_id,
        "older",
        fx.app.clock.now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        fx.app.token_actor(&older, None).await.unwrap().user_id,
        nu.user_id
    );
    assert!(matches!(
        fx.app
            .token_actor(&format!("dj_{id}_{}", "ab".repeat(32)), None)
            .await,
        Err(AppError::Unauthorized)
    ));
    let r = fx.app.create_token("nobody", "x").await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");

    let rows = api_token::Entity::find()
        .all(&fx.app.db.conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|t| t.token_hash != token && t.token_hash != second && t.token_hash != secret)
    );
    // Only the secret's SHA-256 is stored, on the row the text names.
    assert!(
        rows.iter()
            .any(|t| t.id == id && t.token_hash == secret_hash(secret))
    );
    let audit = fx.audit_rows("token.create").await;
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|a| !a.detail.to_string().contains(&token)));
}

#[tokio::test]
async fn administrators_list_disable_and_enable_their_users() {
    let fx = Fixture::new().await;
    let county_admin = fx.user(Role::Admin, COUNTY).await;
    let prov_auditor = fx.user(Role::Auditor, PROVINCE).await;
    let nu = fx
        .app
        .add_user(
            &county_admin,
            "li.ming",
            "李明",
            Role::Member,
            BRANCH_A,
            None,
        )
        .await
        .unwrap();
    // The county's administrator lists users of the county, not the
    // province's auditor.
    let users = fx.app.list_users(&county_admin).await.unwrap();
    let logins: Vec<&str> = users.iter().map(|u| u.login.as_str()).collect();
    assert!(logins.contains(&"li.ming"), "{logins:?}");
    assert!(!logins.contains(&prov_auditor.login.as_str()), "{logins:?}");
    let li = users.iter().find(|u| u.login == "li.ming").unwrap();
    assert_eq!(li.roles, vec![format!("member@{BRANCH_A}")]);
    assert!(!li.disabled);

    // Signed in with a session and a token; disabling ends all of it.
    let actor = fx
        .app
        .authenticate("li.ming", &nu.password, None)
        .await
        .unwrap();
    let (session, _) = fx.app.open_session(&actor).await.unwrap();
    let token = fx.app.create_token("li.ming", "phone").await.unwrap();
    let ended = fx
        .app
        .set_user_disabled(&county_admin, "li.ming", true)
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(
        fx.app
            .authenticate("li.ming", &nu.password, None)
            .await
            .is_err()
    );
    assert!(fx.app.session_actor(&session, None).await.is_err());
    assert!(fx.app.token_actor(&token, None).await.is_err());
    let users = fx.app.list_users(&county_admin).await.unwrap();
    assert!(users.iter().any(|u| u.login == "li.ming" && u.disabled));

    // Only an administrator over all the user's roles may do it; nobody
    // disables themselves.
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    assert!(matches!(
        fx.app.set_user_disabled(&sec, "li.ming", false).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .set_user_disabled(&county_admin, &prov_auditor.login, true)
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        fx.app
            .set_user_disabled(&county_admin, &county_admin.login, true)
            .await,
        Err(AppError::Validation(_))
    ));

    // Enabled again, the password works.
    fx.app
        .set_user_disabled(&county_admin, "li.ming", false)
        .await
        .unwrap();
    assert!(
        fx.app
            .authenticate("li.ming", &nu.password, None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_administrator_resets_a_password_and_ends_the_sessions() {
    let fx = Fixture::new().await;
    let county_admin = fx.user(Role::Admin, COUNTY).await;
    let nu = fx
        .app
        .add_user(
            &county_admin,
            "wang.fang",
            "王芳",
            Role::Secretary,
            BRANCH_B,
            None,
        )
        .await
        .unwrap();
    let actor = fx
        .app
        .authenticate("wang.fang", &nu.password, None)
        .await
        .unwrap();
    let (session, _) = fx.app.open_session(&actor).await.unwrap();
    let pw = fx
        .app
        .reset_password(&county_admin, "wang.fang", None)
        .await
        .unwrap();
    assert_ne!(pw, nu.password);
    assert!(
        fx.app
            .authenticate("wang.fang", &nu.password, None)
            .await
            .is_err()
    );
    assert!(fx.app.authenticate("wang.fang", &pw, None).await.is_ok());
    assert!(fx.app.session_actor(&session, None).await.is_err());
    // A chosen password must pass the password policy.
    assert!(matches!(
        fx.app
            .reset_password(&county_admin, "wang.fang", Some("short"))
            .await,
        Err(AppError::Validation(_))
    ));
    // A branch secretary may not reset anyone.
    let sec = fx.user(Role::Secretary, BRANCH_A).await;
    assert!(matches!(
        fx.app.reset_password(&sec, "wang.fang", None).await,
        Err(AppError::NotFound(_))
    ));
}
