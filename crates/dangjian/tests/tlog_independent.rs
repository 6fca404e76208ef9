//! The served archive log checked by an independent verifier (issue 4):
//! `tools/tlog_verify.py`, written in Python from RFC 9162 and the C2SP
//! specifications, checks the signed checkpoint, every tile and entry
//! bundle, the root and the served proofs of a demo server's log. Ignored by
//! default (needs python3 with `cryptography`, and the sqlite3 shell to
//! tamper with a leaf); `.ci/run` runs it.

mod support;

use std::process::Command;

use support::{Server, TempDir, demo};

#[test]
#[ignore = "needs python3 and its cryptography package; run by .ci/run with --ignored"]
fn an_independent_verifier_accepts_the_served_log() {
    let dir = TempDir::new("tlog-independent");
    demo(dir.path(), 600);
    std::fs::write(
        std::path::Path::new(dir.path()).join("dangjian.toml"),
        "ledger_public = true\n",
    )
    .expect("settings");
    let server = Server::start(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/tlog_verify.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&server.base)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: dangjian/"), "{stdout}");

    // Edit one stored leaf behind the application's back: the verifier
    // finds that its entry no longer hashes to the tile.
    drop(server);
    let db = std::path::Path::new(dir.path()).join("dangjian.db");
    let edit = Command::new("sqlite3")
        .arg(&db)
        .arg("UPDATE ledger_leaves SET leaf = X'00' || substr(leaf, 2) WHERE leaf_index = 300")
        .status()
        .expect("run sqlite3");
    assert!(edit.success());
    let server = Server::start(dir.path());
    let bad = Command::new("python3")
        .arg(script)
        .arg(&server.base)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success(), "{stdout}");
    assert!(stdout.contains("leaf 300 does not hash"), "{stdout}");
}
