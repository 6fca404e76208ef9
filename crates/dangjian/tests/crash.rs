//! Crash safety (issue 5, item 7): the server is killed with SIGKILL in the
//! middle of a roster import and during concurrent writes, then restarted on
//! the same data directory. No partial import is visible, every write that
//! was acknowledged is there, and the archive ledger verifies.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Server, TempDir, demo, http_send, ledger_verify, token};

fn org_of(d: &serde_json::Value, login: &str) -> String {
    d["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["login"] == login)
        .and_then(|u| u["org"].as_str())
        .expect("demo user's organization")
        .to_string()
}

fn wal_len(data: &str) -> u64 {
    std::fs::metadata(Path::new(data).join("dangjian.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0)
}

fn kill(mut server: Server) {
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
}

#[test]
fn sigkill_during_a_roster_import_leaves_all_or_nothing() {
    let dir = TempDir::new("crash-import");
    let data = dir.path().to_string();
    let d = demo(&data, 40);
    let branch = org_of(&d, "secretary_a");
    let tok = token(&data, "secretary_a");
    let today = chrono::Utc::now().date_naive();
    let mut killed_mid_write = 0;
    for (round, rows) in [(0u64, 4000usize), (1, 8000), (2, 8000)] {
        let (ok, before) = ledger_verify(&data);
        assert!(ok);
        let csv = dangjian_app::demo::roster_csv(rows, 9_000 + round, today);
        let server = Server::start(&data);
        let base = server.base.clone();
        let path = format!("/api/v1/orgs/{branch}/roster");
        let t = tok.clone();
        let answered = Arc::new(AtomicBool::new(false));
        let flag = answered.clone();
        let req = std::thread::spawn(move || {
            let r = http_send(&base, "POST", &path, Some(&t), "text/csv", csv.as_bytes());
            if matches!(r, Some((201, _))) {
                flag.store(true, Ordering::SeqCst);
            }
            r
        });
        // Kill once the import's write transaction has put a few hundred KB
        // into the WAL: the rows are being written, not yet committed.
        let wal0 = wal_len(&data);
        let start = Instant::now();
        while wal_len(&data) < wal0 + 256 * 1024
            && !req.is_finished()
            && start.elapsed() < Duration::from_secs(120)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        let mid = !req.is_finished();
        kill(server);
        let reply = req.join().expect("request thread");
        let acknowledged = answered.load(Ordering::SeqCst);
        if mid && !acknowledged {
            killed_mid_write += 1;
        }

        let (ok, after) = ledger_verify(&data);
        assert!(ok, "round {round}: the ledger must verify after SIGKILL");
        if acknowledged {
            assert_eq!(
                after,
                before + rows as u64,
                "round {round}: acknowledged import lost"
            );
        } else {
            assert!(
                after == before || after == before + rows as u64,
                "round {round}: partial import visible: {before} → {after} ({reply:?})"
            );
        }
        // The restarted server answers and the data directory is usable.
        let server = Server::start(&data);
        let list = http_send(
            &server.base,
            "GET",
            &format!("/api/v1/orgs/{branch}/members"),
            Some(&tok),
            "application/json",
            b"",
        );
        assert_eq!(list.map(|r| r.0), Some(200));
        kill(server);
    }
    assert!(
        killed_mid_write > 0,
        "no round killed the server while the import was writing"
    );
}

#[test]
fn sigkill_during_concurrent_writes_loses_nothing_acknowledged() {
    let dir = TempDir::new("crash-writes");
    let data = dir.path().to_string();
    let d = demo(&data, 40);
    let branch = org_of(&d, "secretary_a");
    let tok = token(&data, "secretary_a");
    let today = chrono::Utc::now().date_naive();
    // Applicants with valid ID numbers and application dates from the demo
    // generator's roster (columns: name, ID number, …, stage, applied on, …).
    let csv = dangjian_app::demo::roster_csv(3000, 77, today);
    let people: Vec<serde_json::Value> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c.get(6) == Some(&"入党申请人")).then(|| {
                serde_json::json!({
                    "name": c[0], "id_number": c[1], "stage": "applicant", "applied_on": c[7]
                })
            })
        })
        .collect();
    assert!(people.len() > 100, "{} applicants", people.len());
    let people = Arc::new(people);

    let (ok, before) = ledger_verify(&data);
    assert!(ok);
    let server = Server::start(&data);
    let acked: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (base, tok, branch) = (server.base.clone(), tok.clone(), branch.clone());
            let (people, acked, stop) = (people.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = w;
                while !stop.load(Ordering::SeqCst) && i < people.len() {
                    let body = people[i].to_string();
                    let path = format!("/api/v1/orgs/{branch}/members");
                    if let Some((201, reply)) = http_send(
                        &base,
                        "POST",
                        &path,
                        Some(&tok),
                        "application/json",
                        body.as_bytes(),
                    ) {
                        let v: serde_json::Value =
                            serde_json::from_str(&reply).expect("created member JSON");
                        let id = v["id"].as_i64().expect("member id");
                        acked
                            .lock()
                            .expect("lock")
                            .push((id, people[i]["name"].as_str().unwrap_or("").into()));
                    }
                    i += 4;
                }
            })
        })
        .collect();
    // Let the writers get going, then pull the plug.
    let start = Instant::now();
    while acked.lock().expect("lock").len() < 20 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150));
    kill(server);
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().expect("worker");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 20,
        "only {} writes acknowledged",
        acked.len()
    );

    let (ok, after) = ledger_verify(&data);
    assert!(ok, "the ledger must verify after SIGKILL");
    // Each registration is one leaf; the unacknowledged in-flight ones may
    // or may not have committed.
    assert!(
        after >= before + acked.len() as u64,
        "{before} + {} > {after}",
        acked.len()
    );
    assert!(
        after <= before + acked.len() as u64 + 4,
        "{before} + {} + 4 < {after}",
        acked.len()
    );
    let server = Server::start(&data);
    for (id, name) in &acked {
        let r = http_send(
            &server.base,
            "GET",
            &format!("/api/v1/members/{id}"),
            Some(&tok),
            "application/json",
            b"",
        )
        .expect("reply");
        assert_eq!(r.0, 200, "acknowledged member {id} lost: {}", r.1);
        assert!(r.1.contains(name.as_str()), "member {id}: {}", r.1);
    }
    kill(server);
}
