//! `dangjian backup` / `dangjian restore` (issue 5, item 6): an online
//! snapshot taken while the server runs restores into a fresh directory
//! with the same members and a verifying ledger; a damaged, foreign or
//! wrongly unlocked file, or a non-empty target, is refused with a message
//! and leaves nothing behind.

mod support;

use support::{Server, TempDir, bin, demo, ledger_verify};

const PASS: &str = "一二三四五六七八九十 passphrase";

fn run(args: &[&str], pass: &str) -> std::process::Output {
    bin()
        .args(args)
        .env("DANGJIAN_BACKUP_PASSPHRASE", pass)
        .output()
        .expect("run")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn online_backup_restores_and_bad_files_are_refused() {
    let dir = TempDir::new("backup");
    let src = format!("{}/src", dir.path());
    demo(&src, 80);
    let (ok, size) = ledger_verify(&src);
    assert!(ok && size >= 80);
    // The certificate signing key travels with the backup (a base64 seed,
    // as the server writes it on the first certificate).
    let cert_key = "N2VlZGVlZGVlZGVlZGVlZGVlZGVlZGVlZGVlZGVlZGU=\n";
    std::fs::write(format!("{src}/certificate.key"), cert_key).expect("certificate key");

    // Online: the server holds the database open while the snapshot is taken.
    let server = Server::start(&src);
    let file = format!("{}/b.age", dir.path());
    let o = run(&["backup", "--data", &src, "--out", &file, "--json"], PASS);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    drop(server);
    assert_eq!(b["ledger_size"].as_u64(), Some(size));
    let members = b["members"].as_i64().expect("members");
    assert!(members >= 80);
    // Nothing readable in the file: no plaintext SQLite header or key file.
    let bytes = std::fs::read(&file).expect("read backup");
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
    // An existing file is never overwritten.
    let o = run(&["backup", "--data", &src, "--out", &file], PASS);
    assert!(!o.status.success());

    let dst = format!("{}/dst", dir.path());
    let o = run(
        &["restore", "--data", &dst, "--from", &file, "--json"],
        PASS,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(r["members"].as_i64(), Some(members));
    assert_eq!(ledger_verify(&dst), (true, size));
    assert_eq!(
        std::fs::read_to_string(format!("{dst}/certificate.key")).expect("restored key"),
        cert_key
    );

    // Damaged in the middle: the authenticated payload fails.
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    let bad_file = format!("{}/bad.age", dir.path());
    std::fs::write(&bad_file, &bad).expect("write");
    let none = format!("{}/none", dir.path());
    let o = run(&["restore", "--data", &none, "--from", &bad_file], PASS);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    assert!(!std::path::Path::new(&none).exists());
    // Truncated.
    std::fs::write(&bad_file, &bytes[..bytes.len() - 100]).expect("write");
    let o = run(&["restore", "--data", &none, "--from", &bad_file], PASS);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("damaged or truncated"),
        "{}",
        stderr(&o)
    );
    assert!(!std::path::Path::new(&none).exists());
    // Foreign: not an age file at all.
    std::fs::write(&bad_file, b"PK\x03\x04 not a backup").expect("write");
    let o = run(&["restore", "--data", &none, "--from", &bad_file], PASS);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a dangjian backup"),
        "{}",
        stderr(&o)
    );
    // The wrong passphrase.
    let o = run(
        &["restore", "--data", &none, "--from", &file],
        "another long passphrase",
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
    assert!(!std::path::Path::new(&none).exists());
    // A directory in use is never overwritten.
    let o = run(&["restore", "--data", &src, "--from", &file], PASS);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not empty"), "{}", stderr(&o));
    assert_eq!(ledger_verify(&src), (true, size));
    // A short passphrase is refused before anything is written.
    let o = run(
        &[
            "backup",
            "--data",
            &src,
            "--out",
            &format!("{}/c.age", dir.path()),
        ],
        "short",
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("12"), "{}", stderr(&o));
    // No scratch directories are left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
