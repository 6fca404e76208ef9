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
    app.config.ledger_key_file = Some(dir.join("ledger.key"));
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
    county.config.parent_url = Some(format!("{city_url}/witness"));
    county.config.parent_vkey = Some(city.witness_vkey().await.unwrap());
    city.config.parent_url = Some(format!("{province_url}/witness"));
    city.config.parent_vkey = Some(province.witness_vkey().await.unwrap());

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
    fork.config.ledger_key_file = county.config.ledger_key_file.clone();
    fork.config.parent_url = county.config.parent_url.clone();
    fork.config.parent_vkey = county.config.parent_vkey.clone();
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
