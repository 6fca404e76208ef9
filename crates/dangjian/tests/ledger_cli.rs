//! `dangjian ledger verify` on the demo archive (issue 4, Done when): the
//! demo verifies and exits 0; a member row edited with the `sqlite3` shell,
//! behind the application's back, makes it exit non-zero naming that record.

mod support;

use std::process::Command;

use support::{TempDir, bin, demo};

fn verify(data: &str) -> (bool, serde_json::Value) {
    let out = bin()
        .args(["ledger", "verify", "--data", data, "--json"])
        .output()
        .expect("run ledger verify");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ledger verify prints JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

fn sqlite3(db: &str, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .args([db, sql])
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
fn demo_verifies_and_an_edit_with_the_sqlite3_shell_is_named() {
    let dir = TempDir::new("ledger-cli");
    demo(dir.path(), 60);
    let (ok, v) = verify(dir.path());
    assert!(ok, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["size"], 60);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir.0.join("ledger.key")).expect("ledger.key created");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let out = bin()
        .args(["ledger", "checkpoint", "--data", dir.path(), "--json"])
        .output()
        .expect("run ledger checkpoint");
    assert!(out.status.success());
    let cp: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let note = cp["checkpoint"].as_str().expect("checkpoint");
    assert!(note.starts_with("dangjian/GD\n60\n"), "{note}");
    let key = cp["key"].as_str().expect("key");
    let verifier = dangjian_ledger::Verifier::from_vkey(key).expect("vkey");
    dangjian_ledger::Checkpoint::open(note, &verifier).expect("signed by the served key");

    let db = dir.0.join("dangjian.db");
    let db = db.to_str().expect("utf-8 path");
    let id = sqlite3(db, "SELECT id FROM members ORDER BY id LIMIT 1 OFFSET 7;");
    sqlite3(
        db,
        &format!("UPDATE members SET name = '冒名顶替' WHERE id = {id};"),
    );
    let (ok, v) = verify(dir.path());
    assert!(!ok, "tampered archive must fail: {v}");
    assert_eq!(v["ok"], false);
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["record"], format!("members#{id}"));
    assert_eq!(problems[0]["leaf_index"], 7);

    // A deleted archive event is caught too.
    sqlite3(
        db,
        "DELETE FROM member_events WHERE id = (SELECT MAX(id) FROM member_events);",
    );
    let (ok, v) = verify(dir.path());
    assert!(!ok);
    assert!(
        v["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .any(|p| p["code"] == "record_deleted"),
        "{v}"
    );
}
