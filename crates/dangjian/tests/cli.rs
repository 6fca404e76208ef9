//! The command line: the automation contract of DESIGN.md (`demo --json`,
//! `token create --json`, `fee --json`), errors with non-zero exits, and an
//! all-or-nothing roster import from the CLI.

mod support;

use support::{TempDir, bin, demo};

#[test]
fn every_subcommand_has_help() {
    for sub in [
        &["serve"][..],
        &["demo"],
        &["migrate"],
        &["import"],
        &["export"],
        &["user", "add"],
        &["token", "create"],
        &["user", "list"],
        &["user", "disable"],
        &["user", "enable"],
        &["user", "reset-password"],
        &["user", "revoke-tokens"],
        &["ledger", "push"],
        &["witness", "add-log"],
        &["witness", "inspect"],
        &["fee"],
        &["backup"],
        &["restore"],
        &["transfer", "export"],
        &["transfer", "import"],
        &["transfer", "receipt"],
    ] {
        let out = bin().args(sub).arg("--help").output().expect("run");
        assert!(out.status.success(), "{sub:?} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{sub:?}"
        );
    }
}

#[test]
fn demo_prints_the_contract_and_token_works() {
    let dir = TempDir::new("cli-demo");
    let d = demo(dir.path(), 120);
    assert_eq!(d["root_org"], "GD");
    let users = d["users"].as_array().expect("users");
    assert_eq!(users.len(), 6);
    for u in users {
        for k in ["login", "password", "role", "org"] {
            assert!(u[k].is_string(), "{k} missing in {u}");
        }
    }
    let out = bin()
        .args([
            "token",
            "create",
            "--data",
            dir.path(),
            "--login",
            "secretary_a",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(t["token"].as_str().is_some_and(|s| s.starts_with("dj_")));
    // A second demo run keeps the data and hands out new passwords.
    let again = demo(dir.path(), 120);
    assert_eq!(again["seeded"], false);
    assert_ne!(
        support::password(&again, "admin"),
        support::password(&d, "admin")
    );
}

#[test]
fn fee_json_and_bad_input() {
    let out = bin()
        .args([
            "fee",
            "--category",
            "employed",
            "--income",
            "5000.01",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // 5000.01 yuan × 1.5% = 75.00015 yuan → 7500 fen (DOMAIN.md §7).
    assert_eq!(v["fee_fen"], 7500);
    assert!(v["rate"].is_string() && v["rule"].is_string());
    for bad in [
        &["--category", "employed", "--income", "-1"][..],
        &["--category", "employed", "--income", "1.234"],
        &["--category", "pirate", "--income", "100"],
        &["--category", "employed", "--income", "abc"],
    ] {
        let out = bin().arg("fee").args(bad).output().expect("run");
        assert!(!out.status.success(), "{bad:?} should fail");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
}

#[test]
fn import_is_all_or_nothing() {
    let dir = TempDir::new("cli-import");
    demo(dir.path(), 60);
    let bad = dir.0.join("bad.csv");
    std::fs::write(&bad, "姓名,身份证号,党员阶段,申请入党日期\n张三,11010519491231002X,入党申请人,2020-01-01\n,110105194912310021,入党申请人,2020-01-01\n").expect("write");
    let out = bin()
        .args([
            "import",
            "--data",
            dir.path(),
            "--org",
            "GD-C01-X01-W01-B01",
            "--json",
            bad.to_str().expect("path"),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["imported"], 0);
    let errors = r["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["row"] == 3 && e["field"] == "name"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["row"] == 3 && e["field"] == "id_number"),
        "{errors:?}"
    );
    let good = dir.0.join("good.csv");
    std::fs::write(
        &good,
        "姓名,身份证号,党员阶段,申请入党日期\n张三,11010519491231002X,入党申请人,2020-01-01\n",
    )
    .expect("write");
    let out = bin()
        .args([
            "import",
            "--data",
            dir.path(),
            "--org",
            "GD-C01-X01-W01-B01",
            good.to_str().expect("path"),
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_list_disable_enable() {
    let dir = TempDir::new("cli-users");
    demo(dir.path(), 120);
    let list = || {
        let out = bin()
            .args(["user", "list", "--data", dir.path(), "--json"])
            .output()
            .expect("run");
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let member = |v: &serde_json::Value| {
        v.as_array()
            .expect("array")
            .iter()
            .find(|u| u["login"] == "member_a")
            .cloned()
            .expect("member_a listed")
    };
    assert_eq!(member(&list())["disabled"], false);
    let out = bin()
        .args([
            "user",
            "disable",
            "--login",
            "member_a",
            "--data",
            dir.path(),
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(member(&list())["disabled"], true);
    let out = bin()
        .args([
            "user",
            "enable",
            "--login",
            "member_a",
            "--data",
            dir.path(),
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(member(&list())["disabled"], false);
    // A reset gives a new one-time password that signs in through the API.
    let out = bin()
        .args([
            "user",
            "reset-password",
            "--login",
            "member_a",
            "--data",
            dir.path(),
            "--json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let pw = v["password"].as_str().expect("password");
    assert!(pw.len() >= 10);
    // An unknown login is an error with a non-zero exit.
    let out = bin()
        .args(["user", "disable", "--login", "nobody", "--data", dir.path()])
        .output()
        .expect("run");
    assert!(!out.status.success());
}

/// A deployment set up with the national suite (SM4-GCM, HMAC-SM3) works
/// end to end and keeps that suite; asking for the other one later is
/// refused with a message (issue 5, item 5).
#[test]
fn national_crypto_suite_deployment() {
    let dir = TempDir::new("cli-sm");
    let out = bin()
        .args(["demo", "--data", dir.path(), "--members", "60", "--json"])
        .env("DANGJIAN_CRYPTO_SUITE", "national")
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = std::fs::read_to_string(dir.0.join("keys.json")).expect("keys");
    assert!(
        keys.contains("\"national\"") && keys.contains("sm4-gcm"),
        "{keys}"
    );
    let (ok, size) = support::ledger_verify(dir.path());
    assert!(ok && size >= 60);
    let out = bin()
        .args(["ledger", "verify", "--data", dir.path()])
        .env("DANGJIAN_CRYPTO_SUITE", "international")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("national suite"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["ledger", "verify", "--data", dir.path()])
        .env("DANGJIAN_CRYPTO_SUITE", "rot13")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("crypto_suite"));
}

#[test]
fn transfer_import_refuses_what_is_not_a_signed_letter() {
    let dir = TempDir::new("cli-transfer");
    demo(dir.path(), 60);
    let bad = dir.0.join("letter.txt");
    std::fs::write(&bad, "dangjian-transfer-letter/v1\n{}\n").expect("write");
    let receipt = dir.0.join("receipt.txt");
    let out = bin()
        .args([
            "transfer",
            "import",
            "--data",
            dir.path(),
            "--receipt-out",
            receipt.to_str().expect("path"),
            bad.to_str().expect("path"),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("letter"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!receipt.exists(), "no receipt for a refused letter");
    // An unknown letter id is an error too.
    let out = bin()
        .args([
            "transfer",
            "export",
            "--data",
            dir.path(),
            "--id",
            "999",
            "--out",
            dir.0.join("x.txt").to_str().expect("path"),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
}

/// `DANGJIAN_TEST_TODAY` (tests and demos only): every command logs a
/// warning, the server's "today" is that day (an application dated the day
/// after is in the future), and a value that is not a date is refused.
#[test]
fn test_today_fixes_the_clock_and_warns() {
    let dir = TempDir::new("cli-today");
    let env = [("DANGJIAN_TEST_TODAY", "2024-01-10")];
    support::demo_with(dir.path(), 60, &env);
    let out = bin()
        .args([
            "token",
            "create",
            "--data",
            dir.path(),
            "--login",
            "secretary_a",
            "--json",
        ])
        .envs(env)
        .output()
        .expect("run");
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("DANGJIAN_TEST_TODAY") && log.contains("2024-01-10"),
        "{log}"
    );
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let token = t["token"].as_str().expect("token");
    let server = support::Server::start_with(dir.path(), &env);
    let start = |day: &str| {
        support::http_send(
            &server.base,
            "POST",
            "/api/v1/orgs/GD-C01-X01-W01-B01/admissions",
            Some(token),
            "application/json",
            serde_json::json!({"person": {
                "name": "测试申请人", "id_number": "110105199003070025",
                "ethnicity": "汉族", "applied_on": day,
            }})
            .to_string()
            .as_bytes(),
        )
        .expect("answer")
    };
    let (status, body) = start("2024-01-11");
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("date_in_future") && body.contains("2024-01-10"),
        "{body}"
    );
    let (status, body) = start("2024-01-10");
    assert_eq!(status, 201, "{body}");
    drop(server);

    let out = bin()
        .args(["user", "list", "--data", dir.path()])
        .env("DANGJIAN_TEST_TODAY", "2024-13-01")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DANGJIAN_TEST_TODAY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The working-day calendar of the settings file (DOMAIN.md §4: the public
/// notice counts working days): dates are read, and a wrong one is refused
/// naming its key, before anything is opened.
#[test]
fn the_holiday_calendar_is_read_and_a_bad_date_refused() {
    let dir = TempDir::new("cli-calendar");
    demo(dir.path(), 60);
    let cfg = dir.0.join("dangjian.toml");
    std::fs::write(
        &cfg,
        "holidays = [\"2026-10-01\", \"2026-10-02\"]\nextra_workdays = [\"2026-09-27\"]\n",
    )
    .expect("write settings");
    let out = bin()
        .args(["ledger", "verify", "--data", dir.path()])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&cfg, "holidays = [\"2026-10-32\"]\n").expect("write settings");
    let out = bin()
        .args(["ledger", "verify", "--data", dir.path()])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holidays") && err.contains("2026-10-32"),
        "{err}"
    );
}

/// `user revoke-tokens` beside a running server: the server refuses the
/// user's tokens within its 5-second caller cache (SECURITY.md), polled
/// here rather than waited for; another user's token still works.
#[test]
fn revoke_tokens_beside_a_running_server() {
    let dir = TempDir::new("cli-revoke-tokens");
    demo(dir.path(), 60);
    let member = support::token(dir.path(), "member_a");
    let secretary = support::token(dir.path(), "secretary_a");
    let server = support::Server::start(dir.path());
    let me = |token: &str| {
        support::http_send(
            &server.base,
            "GET",
            "/api/v1/me",
            Some(token),
            "application/json",
            b"",
        )
        .map(|(status, _)| status)
    };
    assert_eq!(me(&member), Some(200));
    let out = bin()
        .args([
            "user",
            "revoke-tokens",
            "--login",
            "member_a",
            "--data",
            dir.path(),
            "--json",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["revoked"], 1);
    let started = std::time::Instant::now();
    while me(&member) != Some(401) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the revoked token still works after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(me(&secretary), Some(200));
    // An unknown login is an error with a non-zero exit.
    let out = bin()
        .args([
            "user",
            "revoke-tokens",
            "--login",
            "nobody",
            "--data",
            dir.path(),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
}
