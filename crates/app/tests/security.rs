//! Security stories (issue 5, items 2 and 3) on the backend the environment
//! selects: the audit log's hash chain catches a row edited or deleted with
//! raw SQL; auditors see the audit log of their subtree only; repeated
//! failed sign-ins lock the account and the address with a growing delay on
//! the test clock; the password policy holds on user creation and password
//! change; a password change and an administrator end sessions.

mod common;

use chrono::Duration;
use common::*;
use dangjian_app::{AppError, Clock};
use dangjian_domain::identity::Role;
use sea_orm::ConnectionTrait;

async fn sql(fx: &Fixture, stmt: &str) {
    fx.app
        .db
        .conn
        .execute_unprepared(stmt)
        .await
        .expect("raw SQL");
}

#[tokio::test]
async fn audit_chain_detects_an_edited_and_a_deleted_row() {
    let fx = Fixture::new().await;
    for (login, role) in [
        ("sec_a", Role::Secretary),
        ("aud_a", Role::Auditor),
        ("staff_a", Role::CommitteeStaff),
    ] {
        fx.app
            .add_user(&fx.sys, login, "用户", role, BRANCH_A, None)
            .await
            .expect("user");
    }
    let _ = fx
        .app
        .authenticate("sec_a", "wrong-password-1", Some("10.1.2.3".into()))
        .await;
    let ok = fx.app.audit_verify().await.expect("verify");
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    assert!(ok.rows >= 4, "{ok:?}");
    assert!(ok.head.is_some());

    // Edit one row's action behind the application's back.
    let rows = fx.audit_rows("user.create").await;
    let victim = rows[1].id;
    sql(
        &fx,
        &format!("UPDATE audit_log SET action = 'user.nothing' WHERE id = {victim}"),
    )
    .await;
    let r = fx.app.audit_verify().await.expect("verify");
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains(&format!("row id {victim} ")) && p.contains("altered")),
        "{:?}",
        r.problems
    );
    // Put it back: the chain is whole again.
    sql(
        &fx,
        &format!("UPDATE audit_log SET action = 'user.create' WHERE id = {victim}"),
    )
    .await;
    assert!(
        fx.app
            .audit_verify()
            .await
            .expect("verify")
            .problems
            .is_empty()
    );

    // Delete one row: the gap is reported.
    sql(&fx, &format!("DELETE FROM audit_log WHERE id = {victim}")).await;
    let r = fx.app.audit_verify().await.expect("verify");
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );

    // A row inserted around the chain is reported too.
    sql(
        &fx,
        "INSERT INTO audit_log (at, action, target_kind, detail) \
         VALUES ('2026-11-28 02:00:00+00:00', 'forged', 'user', '{}')",
    )
    .await;
    let r = fx.app.audit_verify().await.expect("verify");
    assert!(
        r.problems.iter().any(|p| p.contains("outside the chain")),
        "{:?}",
        r.problems
    );
}

#[tokio::test]
async fn auditors_see_the_audit_log_of_their_subtree_only() {
    let fx = Fixture::new().await;
    fx.app
        .add_user(&fx.sys, "sec_a", "甲", Role::Secretary, BRANCH_A, None)
        .await
        .expect("user");
    let sec_b = fx
        .app
        .add_user(&fx.sys, "sec_b", "乙", Role::Secretary, BRANCH_B, None)
        .await
        .expect("user");
    let aud = fx
        .app
        .add_user(&fx.sys, "aud_b", "审计", Role::Auditor, BRANCH_B, None)
        .await
        .expect("auditor");
    let auditor = fx
        .app
        .authenticate("aud_b", &aud.password, Some("10.0.0.7".into()))
        .await
        .expect("sign in");
    let page = fx
        .app
        .audit_entries(&auditor, BRANCH_B, None, 100)
        .await
        .expect("entries");
    let logins: Vec<_> = page
        .items
        .iter()
        .filter_map(|v| v.detail["login"].as_str())
        .collect();
    assert!(
        logins.contains(&"sec_b") && logins.contains(&"aud_b"),
        "{logins:?}"
    );
    assert!(!logins.contains(&"sec_a"), "{logins:?}");
    // The sign-in is there with its address.
    assert!(
        page.items
            .iter()
            .any(|v| v.action == "login.success" && v.remote_addr.as_deref() == Some("10.0.0.7"))
    );
    // Branch A is outside this auditor's reach.
    let r = fx.app.audit_entries(&auditor, BRANCH_A, None, 100).await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    // A secretary is no auditor, even of their own branch.
    let sec = fx
        .app
        .authenticate("sec_b", &sec_b.password, None)
        .await
        .expect("secretary");
    let r = fx.app.audit_entries(&sec, BRANCH_B, None, 100).await;
    assert!(matches!(r, Err(AppError::Forbidden)), "{r:?}");
    // The export is CSV and is itself audited.
    let csv = fx.app.audit_export(&auditor, BRANCH_B).await.expect("csv");
    assert!(csv.starts_with("id,seq,at,user_id,login,action"));
    assert!(csv.contains("login.success"));
    assert_eq!(fx.audit_rows("audit.export").await.len(), 1);
}

#[tokio::test]
async fn failed_sign_ins_lock_the_account_then_the_address_with_backoff() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(&fx.sys, "zhao", "赵", Role::CommitteeStaff, COUNTY, None)
        .await
        .expect("user");
    let addr = || Some("10.9.9.9".to_string());
    for i in 0..4 {
        let r = fx
            .app
            .authenticate("zhao", "wrong-password-1", addr())
            .await;
        assert!(
            matches!(r, Err(AppError::Unauthorized)),
            "failure {i}: {r:?}"
        );
    }
    // The fifth failure locks the account for 30 s ...
    let r = fx
        .app
        .authenticate("zhao", "wrong-password-1", addr())
        .await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");
    // ... during which even the right password is not checked.
    let r = fx.app.authenticate("zhao", &nu.password, addr()).await;
    assert!(matches!(r, Err(AppError::Throttled(30))), "{r:?}");
    fx.clock.advance(Duration::seconds(29));
    let r = fx.app.authenticate("zhao", &nu.password, None).await;
    assert!(matches!(r, Err(AppError::Throttled(1))), "{r:?}");
    // After the lock, a sixth failure locks for twice as long.
    fx.clock.advance(Duration::seconds(2));
    let _ = fx
        .app
        .authenticate("zhao", "wrong-password-1", addr())
        .await;
    let r = fx.app.authenticate("zhao", &nu.password, addr()).await;
    assert!(matches!(r, Err(AppError::Throttled(60))), "{r:?}");
    fx.clock.advance(Duration::seconds(61));
    // The right password then signs in and clears the account's count.
    fx.app
        .authenticate("zhao", &nu.password, addr())
        .await
        .expect("sign in after the lock");
    for _ in 0..4 {
        let _ = fx.app.authenticate("zhao", "wrong-password-1", None).await;
    }
    fx.app
        .authenticate("zhao", &nu.password, None)
        .await
        .expect("four failures do not lock");
    assert!(!fx.audit_rows("login.locked").await.is_empty());

    // One address trying many logins is locked after 20 failures in all.
    let spray = || Some("10.7.7.7".to_string());
    for i in 0..20 {
        let r = fx
            .app
            .authenticate(&format!("user{i}"), "wrong-password-1", spray())
            .await;
        assert!(matches!(r, Err(AppError::Unauthorized)), "{i}: {r:?}");
    }
    let r = fx.app.authenticate("zhao", &nu.password, spray()).await;
    assert!(matches!(r, Err(AppError::Throttled(_))), "{r:?}");
    // Another address is not affected.
    fx.app
        .authenticate("zhao", &nu.password, Some("10.8.8.8".into()))
        .await
        .expect("other address");
}

#[tokio::test]
async fn password_policy_on_creation_and_change_and_sessions_end() {
    let fx = Fixture::new().await;
    for (pw, code) in [
        ("short", "too_short"),
        ("alllowercaseletters", "one_class"),
        ("Xwang.li2026", "contains_login"),
    ] {
        let r = fx
            .app
            .add_user_with_password(
                &fx.sys,
                "wang.li",
                "王",
                Role::Member,
                BRANCH_A,
                None,
                Some(pw),
            )
            .await;
        match r {
            Err(AppError::Validation(v)) => assert_eq!(v.0[0].code, code, "{pw}"),
            other => panic!("{pw}: {other:?}"),
        }
    }
    fx.app
        .add_user_with_password(
            &fx.sys,
            "wang.li",
            "王",
            Role::Member,
            BRANCH_A,
            None,
            Some("Zhibu-2026-ok"),
        )
        .await
        .expect("a good password");
    let me = fx
        .app
        .authenticate("wang.li", "Zhibu-2026-ok", None)
        .await
        .expect("sign in");
    let (keep, _) = fx.app.open_session(&me).await.expect("session");
    let (other, _) = fx.app.open_session(&me).await.expect("session");

    let r = fx
        .app
        .change_password(&me, "wrong-current-1", "Another-2026", Some(&keep))
        .await;
    assert!(matches!(r, Err(AppError::Validation(_))), "{r:?}");
    let r = fx
        .app
        .change_password(&me, "Zhibu-2026-ok", "aaaaaaaaaaaa", Some(&keep))
        .await;
    assert!(matches!(r, Err(AppError::Validation(_))), "{r:?}");
    fx.app
        .change_password(&me, "Zhibu-2026-ok", "Another-2026", Some(&keep))
        .await
        .expect("change");
    // The session that changed it lives on; every other one ended.
    fx.app.session_actor(&keep, None).await.expect("kept");
    let r = fx.app.session_actor(&other, None).await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");
    fx.app
        .authenticate("wang.li", "Another-2026", None)
        .await
        .expect("new password");

    // An administrator of the branch ends them all; a secretary may not.
    let sec = fx
        .app
        .add_user(&fx.sys, "sec_a", "甲", Role::Secretary, BRANCH_A, None)
        .await
        .expect("sec");
    let sec = fx
        .app
        .authenticate("sec_a", &sec.password, None)
        .await
        .expect("sec");
    let r = fx.app.revoke_user_sessions(&sec, "wang.li").await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
    assert_eq!(
        fx.app
            .revoke_user_sessions(&fx.sys, "wang.li")
            .await
            .expect("revoke"),
        1
    );
    let r = fx.app.session_actor(&keep, None).await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");
    assert_eq!(fx.audit_rows("user.sessions_revoke").await.len(), 1);
    // Signing out is audited; a second sign-out of the same session is not.
    let (s, _) = fx.app.open_session(&me).await.expect("session");
    fx.app.close_session(&s).await.expect("logout");
    fx.app.close_session(&s).await.expect("again");
    assert_eq!(fx.audit_rows("logout").await.len(), 1);
    assert!(
        fx.app
            .audit_verify()
            .await
            .expect("verify")
            .problems
            .is_empty()
    );
}

#[tokio::test]
async fn totp_enrolls_confirms_and_is_then_required_once_per_code() {
    let fx = Fixture::new().await;
    let nu = fx
        .app
        .add_user(
            &fx.sys,
            "staff1",
            "干事",
            Role::CommitteeStaff,
            COUNTY,
            None,
        )
        .await
        .expect("user");
    let mut strict = fx.app.clone();
    strict.config_mut().require_totp_for_staff = true;
    // Required for staff by configuration: no sign-in before enrollment.
    let r = strict.authenticate("staff1", &nu.password, None).await;
    match r {
        Err(AppError::Validation(v)) => assert_eq!(v.0[0].code, "totp_enrollment_required"),
        other => panic!("{other:?}"),
    }
    let me = fx
        .app
        .authenticate("staff1", &nu.password, None)
        .await
        .expect("password only while not required");
    let e = fx.app.totp_enroll(&me).await.expect("enroll");
    assert!(e.uri.starts_with("otpauth://totp/dangjian:staff1?secret="));
    let now = || fx.clock.now().timestamp() as u64;
    let code = |at: u64| dangjian_app::totp::code_at(&e.secret, at).expect("code");
    // Not confirmed yet: the password alone still signs in.
    fx.app
        .authenticate("staff1", &nu.password, None)
        .await
        .expect("unconfirmed");
    let r = fx.app.totp_confirm(&me, "000000").await;
    assert!(
        matches!(r, Err(AppError::Validation(_))) || code(now()) == "000000",
        "{r:?}"
    );
    fx.app
        .totp_confirm(&me, &code(now()))
        .await
        .expect("confirm");

    // Now a code is required ...
    let r = fx.app.authenticate("staff1", &nu.password, None).await;
    match r {
        Err(AppError::Validation(v)) => assert_eq!(v.0[0].code, "totp_required"),
        other => panic!("{other:?}"),
    }
    // ... the one used to confirm is spent ...
    let r = fx
        .app
        .authenticate_with_code("staff1", &nu.password, Some(&code(now())), None)
        .await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "{r:?}");
    // ... the next step's code works once.
    fx.clock.advance(Duration::seconds(30));
    strict
        .authenticate_with_code("staff1", &nu.password, Some(&code(now())), None)
        .await
        .expect("code of the next step");
    let r = fx
        .app
        .authenticate_with_code("staff1", &nu.password, Some(&code(now())), None)
        .await;
    assert!(matches!(r, Err(AppError::Unauthorized)), "replayed: {r:?}");
    // The secret is stored encrypted, never in clear.
    let u = dangjian_store::repo::identity::user_by_login(&fx.app.db.conn, "staff1")
        .await
        .expect("db")
        .expect("user");
    let enc = u.totp_secret_enc.expect("secret stored");
    assert!(!String::from_utf8_lossy(&enc).contains(&e.secret));
    assert!(u.totp_enabled);
    assert_eq!(fx.audit_rows("user.totp_confirm").await.len(), 1);
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let fx = Fixture::new().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = fx.app.clone();
        tasks.push(tokio::spawn(async move {
            app.record_audit(dangjian_store::repo::audit::Entry {
                user_id: None,
                action: "test.concurrent".into(),
                target_kind: "test".into(),
                target_id: Some(i),
                org_id: None,
                remote_addr: None,
                detail: serde_json::json!({"i": i}),
            })
            .await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("append");
    }
    let r = fx.app.audit_verify().await.expect("verify");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(fx.audit_rows("test.concurrent").await.len(), 24);
}
