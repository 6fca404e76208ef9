//! Federation across levels on loopback (issue 4 §5, §7): a county server
//! pushes its checkpoints to its city's witness and the city to its
//! province's, each over real HTTP; every cosignature verifies with the
//! witness's key; a forked county (same key, other history) is refused at
//! both sizes, smaller and larger, and the witness's record is unchanged;
//! malformed requests and unknown logs get the protocol's statuses.

use dangjian_app::orgs::NewOrgInput;
use dangjian_app::roster::RosterFormat;
use dangjian_app::{Actor, App};
use dangjian_domain::orgs::{OrgKind, OrgSetting};
use dangjian_ledger::{Checkpoint, Note, Verifier};

mod common;

/// Serves the app's router on an ephemeral loopback port; the base URL.
async fn serve(app: &App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = dangjian_web::router(dangjian_web::AppState::new(app.clone()));
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    format!("http://{addr}")
}

/// A server whose tree is `root` (its log origin is `dangjian/<root>`) with
/// one branch, its signing key in `dir/ledger.key`.
async fn server(tag: &str, root: &str, kind: OrgKind) -> (App, Actor, String) {
    let (mut app, dir) = common::bare_app(tag).await;
    app.config_mut().ledger_key_file = Some(dir.join("ledger.key"));
    let sys = Actor::system(0, "/");
    let mut parent = None;
    let mut code = root.to_string();
    for (k, suffix) in [
        (kind, ""),
        (OrgKind::Committee, "-W01"),
        (OrgKind::Branch, "-B01"),
    ] {
        code = format!("{root}{suffix}");
        app.create_org(
            &sys,
            NewOrgInput {
                code: code.clone(),
                name: format!("测试组织{code}"),
                kind: k,
                setting: OrgSetting::Other,
                parent_code: parent.clone(),
                has_committee: false,
                committee_elected_on: None,
            },
        )
        .await
        .expect("org");
        parent = Some(code.clone());
    }
    (app, sys, code)
}

/// The English reason of a refused push.
fn reason(e: dangjian_app::AppError) -> String {
    match e {
        dangjian_app::AppError::Validation(v) => v.0.iter().map(|f| f.message_en.clone()).collect(),
        other => other.to_string(),
    }
}

async fn import(app: &App, sys: &Actor, branch: &str, n: usize, seed: u64) {
    let csv = dangjian_app::demo::roster_csv(n, seed, app.today());
    let r = app
        .import_roster(sys, branch, RosterFormat::Csv, csv.as_bytes(), &|_| {})
        .await
        .expect("import");
    assert_eq!(r.imported, n, "{:?}", r.errors);
}

#[tokio::test]
async fn county_city_province_cosign_and_a_fork_is_refused() {
    let (province, psys, _) = server("fed-province", "GD", OrgKind::Province).await;
    let (mut city, csys, city_branch) = server("fed-city", "GD-C01", OrgKind::City).await;
    let (mut county, ksys, county_branch) =
        server("fed-county", "GD-C01-X01", OrgKind::County).await;
    let province_url = serve(&province).await;
    let city_url = serve(&city).await;

    // Each parent registers its child's log key; each child its parent's
    // witness key and URL.
    let origin = city
        .witness_add_log(&csys, &county.ledger_vkey().await.unwrap())
        .await
        .unwrap();
    assert_eq!(origin, "dangjian/GD-C01-X01");
    province
        .witness_add_log(&psys, &city.ledger_vkey().await.unwrap())
        .await
        .unwrap();
    county.config_mut().parent_url = Some(format!("{city_url}/witness"));
    county.config_mut().parent_vkey = Some(city.witness_vkey().await.unwrap());
    city.config_mut().parent_url = Some(format!("{province_url}/witness"));
    city.config_mut().parent_vkey = Some(province.witness_vkey().await.unwrap());

    // The county grows twice; each push is cosigned from the last size.
    import(&county, &ksys, &county_branch, 10, 1).await;
    let first = county.federation_push().await.expect("first push");
    assert_eq!((first.old_size, first.size), (0, 10));
    import(&county, &ksys, &county_branch, 5, 2).await;
    let second = county.federation_push().await.expect("second push");
    assert_eq!((second.old_size, second.size), (10, 15));
    // The cosigned checkpoint verifies with the county's key and the
    // city's witness key, and names the county's tree.
    let note = Note::parse(&second.cosigned_checkpoint).unwrap();
    let log_key = Verifier::from_vkey(&county.ledger_vkey().await.unwrap()).unwrap();
    let witness_key = Verifier::from_vkey(&city.witness_vkey().await.unwrap()).unwrap();
    assert!(note.verify(&log_key).is_ok());
    assert!(note.verify(&witness_key).unwrap().timestamp.is_some());
    let cp = Checkpoint::parse(note.text()).unwrap();
    assert_eq!((cp.origin(), cp.size()), ("dangjian/GD-C01-X01", 15));
    // Pushing again with nothing new is a harmless retry.
    let again = county.federation_push().await.expect("retry");
    assert_eq!((again.old_size, again.size), (15, 15));

    // The next hop works the same way.
    import(&city, &csys, &city_branch, 3, 3).await;
    let up = city.federation_push().await.expect("city push");
    assert_eq!(up.size, 3);
    let seen = province.witness_logs(&psys).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].origin.as_str(), seen[0].size),
        ("dangjian/GD-C01", 3)
    );

    // A fork: the county's key and origin over a different history.
    let (mut fork, fsys, fork_branch) = server("fed-fork", "GD-C01-X01", OrgKind::County).await;
    fork.config_mut().ledger_key_file = county.config.ledger_key_file.clone();
    fork.config_mut().parent_url = county.config.parent_url.clone();
    fork.config_mut().parent_vkey = county.config.parent_vkey.clone();
    assert_eq!(
        fork.ledger_vkey().await.unwrap(),
        county.ledger_vkey().await.unwrap()
    );
    import(&fork, &fsys, &fork_branch, 8, 9).await;
    let e = reason(fork.federation_push().await.expect_err("a shorter fork"));
    assert!(e.contains("rolled back"), "{e}");
    import(&fork, &fsys, &fork_branch, 12, 10).await;
    let e = reason(fork.federation_push().await.expect_err("a longer fork"));
    assert!(e.contains("422"), "{e}");
    let logs = city.witness_logs(&csys).await.unwrap();
    assert_eq!(
        (logs[0].size, logs[0].cosigned),
        (15, 2),
        "the witness still holds the county's real history"
    );
    // The real county carries on.
    import(&county, &ksys, &county_branch, 1, 11).await;
    assert_eq!(county.federation_push().await.unwrap().size, 16);

    // Cross-level inspection: the city checks a county leaf against the
    // root it cosigned; the fork's leaf at the same index is not in it.
    county.config_mut().ledger_public = true;
    fork.config_mut().ledger_public = true;
    let county_url = serve(&county).await;
    let fork_url = serve(&fork).await;
    let seen = city
        .witness_inspect(&csys, "dangjian/GD-C01-X01", &county_url, "-", 12)
        .await
        .expect("inspect");
    assert!(seen.included && seen.size == 16, "{seen:?}");
    assert_eq!(seen.event_type, "member.registered");
    let forged = city
        .witness_inspect(&csys, "dangjian/GD-C01-X01", &fork_url, "-", 12)
        .await
        .expect("inspect the fork");
    assert!(!forged.included);
    let beyond = city
        .witness_inspect(&csys, "dangjian/GD-C01-X01", &county_url, "-", 16)
        .await;
    assert!(beyond.is_err(), "only what was cosigned can be inspected");

    // Protocol statuses over HTTP.
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(format!("{city_url}/witness/add-checkpoint"))
            .body(body)
            .send()
    };
    let r = post("hello".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let stranger = province.ledger_checkpoint().await.unwrap();
    let r = post(format!("old 0\n\n{stranger}")).await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        404,
        "the province is not the city's child"
    );
    let current = county.ledger_checkpoint().await.unwrap();
    let r = post(format!("old 3\n\n{current}")).await.unwrap();
    assert_eq!(r.status().as_u16(), 409);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/x.tlog.size")
    );
    assert_eq!(r.text().await.unwrap(), "16\n");
    let key = client
        .get(format!("{city_url}/witness/key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(key.trim(), city.witness_vkey().await.unwrap());
}

/// Active members of `app` with an open duplicate-registration warning.
async fn duplicate_warnings(app: &App) -> usize {
    use dangjian_store::sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .conn
        .query_one_raw(Statement::from_string(
            app.db.conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM warnings WHERE rule = 'duplicate_registration' AND state = 'open'",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() as usize
}

#[tokio::test]
async fn one_person_on_two_servers_is_found_without_the_number() {
    const KEY: &str = "6a1f0e9c3b5d7a2e4f6081c2d3e4f5a60718293a4b5c6d7e8f90a1b2c3d4e5f6";
    let (mut city, csys, city_branch) = server("dup-city", "GD-C01", OrgKind::City).await;
    city.config_mut().federation_key = Some(KEY.into());
    let city_url = serve(&city).await;
    let mut counties = Vec::new();
    for (tag, code) in [("dup-a", "GD-C01-X01"), ("dup-b", "GD-C01-X02")] {
        let (mut app, sys, branch) = server(tag, code, OrgKind::County).await;
        city.witness_add_log(&csys, &app.ledger_vkey().await.unwrap())
            .await
            .unwrap();
        app.config_mut().parent_url = Some(format!("{city_url}/witness"));
        app.config_mut().parent_vkey = Some(city.witness_vkey().await.unwrap());
        app.config_mut().federation_key = Some(KEY.into());
        counties.push((app, sys, branch));
    }
    let (a, asys, abranch) = &counties[0];
    let (b, bsys, bbranch) = &counties[1];
    // The same generator and seed give the same people: B registers three
    // of A's ten, the city one of them.
    import(a, asys, abranch, 10, 5).await;
    import(b, bsys, bbranch, 3, 5).await;
    import(&city, &csys, &city_branch, 1, 5).await;

    let r = a.federation_sync_digests().await.expect("a syncs");
    assert_eq!((r.sent, r.duplicates.len()), (10, 0), "nobody else yet");
    let r = b.federation_sync_digests().await.expect("b syncs");
    assert_eq!((r.sent, r.duplicates.len()), (3, 3));
    assert_eq!(duplicate_warnings(b).await, 3);
    let r = a.federation_sync_digests().await.expect("a again");
    assert_eq!(r.duplicates.len(), 3, "both sides are told");
    assert_eq!(duplicate_warnings(a).await, 3);
    // The city's own member is compared too.
    let own = city.federation_refresh_own().await.expect("city refresh");
    assert_eq!((own.sent, own.duplicates.len()), (1, 1));
    assert_eq!(duplicate_warnings(&city).await, 1);
    // The city holds digests only: no stored value is an ID number.
    use dangjian_store::sea_orm::{ConnectionTrait, Statement};
    let rows = city
        .db
        .conn
        .query_all_raw(Statement::from_string(
            city.db.conn.get_database_backend(),
            "SELECT digest FROM federation_digests",
        ))
        .await
        .unwrap();
    let csv = dangjian_app::demo::roster_csv(10, 5, a.today());
    for r in rows {
        let d: String = r.try_get("", "digest").unwrap();
        assert_eq!(d.len(), 64);
        for line in csv.lines().skip(1) {
            assert!(
                line.split(',')
                    .all(|cell| cell.is_empty() || !d.contains(cell) || cell.len() < 6)
            );
        }
    }

    // Syncing again is idempotent (no second warning).
    b.federation_sync_digests().await.unwrap();
    assert_eq!(duplicate_warnings(b).await, 3);

    // A list not signed by a registered log, or an old one replayed, is refused.
    let client = reqwest::Client::new();
    let forged = "dangjian-digests/v1\nGD-C01-X02\n1\n\n— nobody AAAAAAAA\n".to_string();
    let r = client
        .post(format!("{city_url}/witness/digests"))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let mut old = dangjian_ledger::Note::new(format!(
        "dangjian-digests/v1\n{}\n1\n",
        b.ledger_origin().await.unwrap()
    ))
    .unwrap();
    old.sign(&b.ledger_signer().await.unwrap()).unwrap();
    let r = client
        .post(format!("{city_url}/witness/digests"))
        .body(old.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409, "an older list replayed");
    assert_eq!(duplicate_warnings(a).await, 3, "and it changed nothing");
    let r = a.federation_sync_digests().await.unwrap();
    assert_eq!(r.duplicates.len(), 3);
}
