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

/// A GET over loopback returning the status and the raw body.
fn get(base: &str, path: &str, bearer: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http response");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(
        !head.to_ascii_lowercase().contains("chunked"),
        "unexpected chunked body: {head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, raw[split + 4..].to_vec())
}

fn hashes(v: &serde_json::Value) -> Vec<dangjian_ledger::Hash> {
    v["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| {
            let s = h.as_str().expect("hex");
            let bytes: Vec<u8> = (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
                .collect();
            bytes.try_into().expect("32 bytes")
        })
        .collect()
}

#[test]
fn served_checkpoint_tiles_and_proofs_verify_independently() {
    use dangjian_ledger::tiles::decode_entry_bundle;
    use dangjian_ledger::{Checkpoint, Verifier, leaf_hash, verify_consistency, verify_inclusion};

    let dir = TempDir::new("ledger-http");
    demo(dir.path(), 40);
    let token = |login: &str| {
        let out = bin()
            .args([
                "token",
                "create",
                "--data",
                dir.path(),
                "--login",
                login,
                "--json",
            ])
            .output()
            .expect("token");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["token"].as_str().expect("token").to_string()
    };
    let auditor = token("auditor");
    let secretary = token("secretary_a");
    let server = support::Server::start(dir.path());
    let base = &server.base;

    let (st, key) = get(base, "/ledger/key", &auditor);
    assert_eq!(st, 200);
    let verifier = Verifier::from_vkey(String::from_utf8_lossy(&key).trim()).expect("vkey");
    let (st, note) = get(base, "/ledger/checkpoint", &auditor);
    assert_eq!(st, 200);
    let (cp, _, _) =
        Checkpoint::open(&String::from_utf8_lossy(&note), &verifier).expect("signed checkpoint");
    assert_eq!(cp.size(), 40);

    // Entry bundle and level-0 tile per tlog-tiles.
    let (st, bundle) = get(base, "/ledger/tile/entries/000.p/40", &auditor);
    assert_eq!(st, 200);
    let entries = decode_entry_bundle(&bundle).expect("bundle");
    assert_eq!(entries.len(), 40);
    let (st, tile) = get(base, "/ledger/tile/0/000.p/40", &auditor);
    assert_eq!(st, 200);
    assert_eq!(tile.len(), 40 * 32);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(&tile[i * 32..(i + 1) * 32], leaf_hash(e).as_slice());
    }

    for i in [0u64, 17, 39] {
        let (st, body) = get(
            base,
            &format!("/api/v1/ledger/proofs/inclusion?index={i}&size=40"),
            &auditor,
        );
        assert_eq!(st, 200);
        let proof = hashes(&serde_json::from_slice(&body).expect("json"));
        verify_inclusion(&leaf_hash(&entries[i as usize]), i, 40, &proof, cp.root())
            .expect("inclusion proof verifies");
        let (st, body) = get(base, &format!("/api/v1/ledger/entries/{i}"), &auditor);
        assert_eq!(st, 200);
        let e: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(e["event_type"], "member.registered");
        assert!(e["event"].is_object(), "the auditor sees the event: {e}");
    }
    // Consistency from a checkpoint over the first 13 leaves, rebuilt from the tile.
    let mut old = dangjian_ledger::MemoryStore::new();
    for e in &entries[..13] {
        old.push(leaf_hash(e));
    }
    use dangjian_ledger::HashStore;
    let old_root = old.root_at(13).expect("root");
    let (st, body) = get(
        base,
        "/api/v1/ledger/proofs/consistency?old=13&size=40",
        &auditor,
    );
    assert_eq!(st, 200);
    let proof = hashes(&serde_json::from_slice(&body).expect("json"));
    verify_consistency(13, 40, &old_root, cp.root(), &proof).expect("consistent");

    // Bad parameters: 400 naming the field; other roles: 403.
    let (st, body) = get(
        base,
        "/api/v1/ledger/proofs/inclusion?index=x&size=40",
        &auditor,
    );
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&body).contains("\"index\""));
    let (st, body) = get(
        base,
        "/api/v1/ledger/proofs/consistency?old=3&size=999",
        &auditor,
    );
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&body).contains("\"size\""));
    let (st, _) = get(base, "/ledger/checkpoint", &secretary);
    assert_eq!(st, 403);
    let (st, _) = get(base, "/ledger/tile/0/000", &auditor);
    assert_eq!(st, 404);
}
