//! `dangjian audit …` (issue 5, item 2): the demo's audit log verifies; a row
//! edited or deleted with the `sqlite3` shell makes `audit verify` exit
//! non-zero naming it; `audit export` writes CSV; `user add
//! --password-stdin` enforces the password policy.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{TempDir, bin, demo};

fn verify(data: &str) -> (bool, serde_json::Value) {
    let out = bin()
        .args(["audit", "verify", "--data", data, "--json"])
        .output()
        .expect("run audit verify");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "audit verify prints JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 shell is installed");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn audit_verify_names_an_edited_and_a_deleted_row_and_export_writes_csv() {
    let dir = TempDir::new("audit-cli");
    demo(dir.path(), 30);
    let (ok, v) = verify(dir.path());
    assert!(ok, "{v}");
    assert!(v["rows"].as_u64().unwrap_or(0) > 10, "{v}");

    let out_csv = dir.0.join("audit.csv");
    let out = bin()
        .args(["audit", "export", "--data", dir.path(), "--out"])
        .arg(&out_csv)
        .output()
        .expect("run audit export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&out_csv).expect("csv written");
    assert!(csv.starts_with("id,seq,at,user_id,login,action"));
    assert!(csv.contains("user.create"));

    let db = dir.0.join("dangjian.db");
    let id = sqlite3(&db, "SELECT id FROM audit_log WHERE seq = 5;");
    sqlite3(
        &db,
        &format!("UPDATE audit_log SET remote_addr = '6.6.6.6' WHERE id = {id};"),
    );
    let (ok, v) = verify(dir.path());
    assert!(!ok, "an edited row fails verification");
    let problems = v["problems"].to_string();
    assert!(problems.contains(&format!("row id {id} ")), "{problems}");
    sqlite3(
        &db,
        &format!("UPDATE audit_log SET remote_addr = NULL WHERE id = {id};"),
    );
    assert!(verify(dir.path()).0, "restored");
    sqlite3(&db, "DELETE FROM audit_log WHERE seq = 9;");
    let (ok, v) = verify(dir.path());
    assert!(!ok);
    assert!(v["problems"].to_string().contains("missing"), "{v}");
}

#[test]
fn user_add_with_a_chosen_password_follows_the_policy() {
    let dir = TempDir::new("audit-cli-user");
    demo(dir.path(), 30);
    let add = |login: &str, pw: &str| {
        let mut child = bin()
            .args([
                "user",
                "add",
                "--data",
                dir.path(),
                "--login",
                login,
                "--name",
                "测试",
                "--role",
                "member",
                "--org",
                "GD",
                "--password-stdin",
                "--json",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{pw}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = add("zhang.san", "zhangsan");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    let out = add("zhang.san", "zhang.san-2026");
    assert!(!out.status.success(), "contains the login");
    let out = add("zhang.san", "Dangjian-2026");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
