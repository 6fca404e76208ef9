//! Browser test: headless Debian Chromium driven through chromedriver logs in
//! as a branch secretary, opens the organization tree, the branch and a
//! member, switches to English, is refused a member of another branch, and
//! opens its branch's supervision dashboard.
//! Needs `chromium` and `chromium-driver`; `.ci/run` installs them and runs
//! this with `--ignored`.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use support::{Server, TempDir, demo, password};

struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    )
    .arg(format!("--port={port}"))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start chromedriver (apt-get install chromium-driver)");
    // Poll until the driver accepts connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver(child, port)
}

async fn client(port: u16, profile: &str) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--window-size=412,915", format!("--user-data-dir={profile}")]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to chromedriver")
}

#[tokio::test]
#[ignore = "needs Chromium; run by .ci/run with --ignored"]
async fn secretary_logs_in_and_browses() {
    let dir = TempDir::new("browser");
    let d = demo(dir.path(), 120);
    let server = Server::start(dir.path());
    let driver = start_driver();
    let profile = TempDir::new("chrome-profile");
    let c = client(driver.1, profile.path()).await;

    // Unauthenticated: sent to the login page.
    c.goto(&format!("{}/", server.base)).await.expect("open");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/login")
    );
    c.find(Locator::Id("login"))
        .await
        .expect("login field")
        .send_keys("secretary_a")
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("password field")
        .send_keys(&password(&d, "secretary_a"))
        .await
        .expect("type");
    c.find(Locator::Css("button.primary"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");

    // The tree shows the secretary's branch.
    let tree = c
        .wait()
        .for_element(Locator::Id("org-tree"))
        .await
        .expect("tree");
    let text = tree.text().await.expect("text");
    assert!(text.contains("党支部"), "tree: {text}");
    click_centered(&c, Locator::Css("#org-tree a")).await;

    // The branch page lists members with masked ID numbers.
    let table = c
        .wait()
        .for_element(Locator::Id("members"))
        .await
        .expect("members table");
    let rows = table
        .find_all(Locator::Css("tbody tr"))
        .await
        .expect("rows");
    assert!(!rows.is_empty());
    let masked = table.text().await.expect("text");
    assert!(masked.contains("*************"), "IDs masked in lists");
    click_centered(&c, Locator::Css("#members tbody a")).await;

    // The member page: the secretary of the branch sees the full ID number.
    c.wait()
        .for_element(Locator::Id("member-name"))
        .await
        .expect("member page");
    let body = c
        .find(Locator::Css("dl.facts"))
        .await
        .expect("facts")
        .text()
        .await
        .expect("text");
    assert!(
        body.lines().any(|l| l.len() >= 18
            && !l.contains('*')
            && l.chars().filter(|c| c.is_ascii_digit()).count() >= 17),
        "clear ID for own branch: {body}"
    );
    let screenshot = c.screenshot().await.expect("screenshot");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-member.png");
    std::fs::write(&shot, screenshot).expect("write screenshot");

    // English by a switch.
    let here = c.current_url().await.expect("url");
    c.find(Locator::LinkText("English"))
        .await
        .expect("lang switch")
        .click()
        .await
        .expect("click");
    c.wait().for_url(&here).await.expect("back on the page");
    assert!(
        c.find(Locator::Css("dl.facts"))
            .await
            .expect("facts")
            .text()
            .await
            .expect("text")
            .contains("Date of birth")
    );

    // A member of branch B is not found for the secretary of branch A.
    let other = branch_b_member(&server, dir.path());
    c.goto(&format!("{}/members/{other}", server.base))
        .await
        .expect("open");
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .expect("h1")
        .text()
        .await
        .expect("text");
    assert!(h1.contains("Not found"), "got: {h1}");

    // The supervision dashboard of the secretary's own branch (issue 3).
    c.goto(&format!("{}/supervision/GD-C01-X01-W01-B01", server.base))
        .await
        .expect("open");
    let title = c
        .wait()
        .for_element(Locator::Id("supervision-title"))
        .await
        .expect("dashboard");
    assert!(!title.text().await.expect("text").is_empty());
    c.find(Locator::Id("by-level"))
        .await
        .expect("warnings by colour");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-supervision.png");
    std::fs::write(&shot, c.screenshot().await.expect("screenshot")).expect("write screenshot");

    c.close().await.expect("close browser");
}

/// Id of the first member of branch B, read through the API as secretary B.
fn branch_b_member(server: &Server, data: &str) -> i64 {
    let out = support::bin()
        .args([
            "token",
            "create",
            "--data",
            data,
            "--login",
            "secretary_b",
            "--json",
        ])
        .output()
        .expect("token");
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let token = t["token"].as_str().expect("token");
    let body = support::http_get(
        &server.base,
        "/api/v1/orgs/GD-C01-X01-W01-B02/members?limit=1",
        Some(token),
    );
    let v: serde_json::Value = serde_json::from_str(&body).expect("json body");
    v["items"][0]["id"].as_i64().expect("a member of branch B")
}

/// Scrolls an element to the middle of the screen (clear of the fixed bottom
/// bar, as a person would) and clicks it.
async fn click_centered(c: &fantoccini::Client, l: Locator<'_>) {
    let e = c.find(l).await.expect("element");
    let arg = serde_json::to_value(&e).expect("element as json");
    c.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await
        .expect("scroll");
    e.click().await.expect("click");
}
