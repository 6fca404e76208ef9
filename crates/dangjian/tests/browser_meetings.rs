//! Browser test of organizational life (issue 6): in headless Chromium the
//! branch secretary schedules a meeting on the branch calendar, the meeting
//! page shows the sign-in code and its QR code; the member opens the QR
//! link on a phone-sized window and signs in with one tap; the secretary's
//! page then counts one online sign-in and the member's own page lists it;
//! the secretary enters the paper list (a second member present, offline)
//! and uploads its photo; once the meeting is held the member downloads the
//! certificate and its public verification page says valid; minutes copied
//! into a second meeting are warned about and confirmed with a reason.
//! Needs `chromium` and `chromium-driver`; run with `--ignored` like
//! `tests/browser.rs`.

mod support;

use support::browser::{client, log_in, set_value, start_driver, text_of};

use std::time::{Duration, Instant};

use fantoccini::Locator;
use support::{Server, TempDir, demo, password};

#[tokio::test]
#[ignore = "needs Chromium; run by .ci/run with --ignored"]
async fn secretary_schedules_member_signs_in_by_qr_link() {
    let dir = TempDir::new("browser-meetings");
    let d = demo(dir.path(), 120);
    let server = Server::start(dir.path());
    let driver = start_driver();
    let branch = "GD-C01-X01-W01-B01";

    // The secretary schedules a theme day that started five minutes ago.
    let profile = TempDir::new("chrome-secretary");
    let c = client(driver.1, profile.path()).await;
    let calendar = format!("/orgs/{branch}/meetings");
    log_in(
        &c,
        &server.base,
        "secretary_a",
        &password(&d, "secretary_a"),
        &calendar,
    )
    .await;
    c.wait()
        .for_element(Locator::Id("schedule"))
        .await
        .expect("schedule form");
    let start = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+8"))
        - chrono::Duration::minutes(5);
    set_value(&c, "starts_at", &start.format("%Y-%m-%dT%H:%M").to_string()).await;
    set_value(&c, "title", "十一月主题党日").await;
    set_value(&c, "place", "村委会会议室").await;
    c.execute("document.querySelector('#schedule form').submit();", vec![])
        .await
        .expect("submit");
    let code = text_of(&c, Locator::Id("code-shown")).await;
    assert_eq!(code.trim().len(), 6, "code: {code}");
    c.find(Locator::Css("#qr svg")).await.expect("QR code");
    let meeting_url = c.current_url().await.expect("url");
    let shot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-meeting-secretary.png");
    std::fs::write(&shot, c.screenshot().await.expect("screenshot")).expect("write screenshot");

    // The member opens what the QR code holds and taps once.
    let profile_m = TempDir::new("chrome-member");
    let m = client(driver.1, profile_m.path()).await;
    let signin = format!("{}/signin?code={}", meeting_url.path(), code.trim());
    log_in(
        &m,
        &server.base,
        "member_a",
        &password(&d, "member_a"),
        &signin,
    )
    .await;
    m.wait()
        .for_element(Locator::Css("#signin button.primary"))
        .await
        .expect("one-tap button")
        .click()
        .await
        .expect("tap");
    let status = text_of(&m, Locator::Css("p.ok")).await;
    assert!(status.contains("签到成功"), "got: {status}");
    assert!(text_of(&m, Locator::Id("mine")).await.contains("线上签到"));
    m.goto(&format!("{}/me/meetings", server.base))
        .await
        .expect("open");
    assert!(
        text_of(&m, Locator::Css("main"))
            .await
            .contains("十一月主题党日")
    );
    m.close().await.expect("close member browser");

    // The secretary's page counts the online sign-in.
    c.goto(meeting_url.as_str()).await.expect("reload");
    let att = text_of(&c, Locator::Id("attendance")).await;
    assert!(att.contains("线上 1"), "got: {att}");
    paper_list_and_photo(&c, meeting_url.as_str()).await;
    certificate_steps(&c, driver.1, &server.base, &password(&d, "member_a")).await;
    duplicate_minutes_warned_and_confirmed(&c, &server.base, &calendar, meeting_url.as_str()).await;
    c.close().await.expect("close browser");
}

/// Waits until the browser is on a URL containing `part`.
async fn wait_for_url(c: &fantoccini::Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.current_url().await.expect("url").as_str().contains(part) {
        assert!(Instant::now() < deadline, "never reached a URL with {part}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The offline track (DOMAIN.md §5): the secretary enters the paper list
/// (one more member present, recorded with the offline channel) and uploads
/// the photo of the list, which the meeting page then lists.
async fn paper_list_and_photo(c: &fantoccini::Client, meeting: &str) {
    c.goto(&format!("{meeting}/attendance"))
        .await
        .expect("open paper list");
    c.wait()
        .for_element(Locator::Css("input[type=radio][value=present]"))
        .await
        .expect("a member not yet present")
        .click()
        .await
        .expect("tick present");
    c.execute(
        "document.querySelector('input[type=radio][value=present]').form.submit();",
        vec![],
    )
    .await
    .expect("record paper list");
    wait_for_url(c, "done=attendance").await;
    let att = text_of(c, Locator::Id("attendance")).await;
    assert!(
        att.contains("线上 1") && att.contains("线下 1"),
        "got: {att}"
    );

    // A PNG judged by its content (signature and header), not by its name.
    let dir = TempDir::new("paper-list-photo");
    let photo = std::path::Path::new(dir.path()).join("签到表.png");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    std::fs::write(&photo, png).expect("write photo");
    set_value(c, "purpose", "attendance_list").await;
    c.find(Locator::Id("file"))
        .await
        .expect("file input")
        .send_keys(photo.to_str().expect("utf-8 path"))
        .await
        .expect("choose file");
    c.execute("document.getElementById('file').form.submit();", vec![])
        .await
        .expect("upload");
    wait_for_url(c, "done=attachment").await;
    let listed = text_of(c, Locator::Id("attachments")).await;
    assert!(
        listed.contains("签到表.png") && listed.contains("纸质签到表照片"),
        "got: {listed}"
    );
}

/// Minutes copied into a second meeting (DOMAIN.md §5): the minutes editor
/// names the first meeting, and the secretary confirms with a reason.
async fn duplicate_minutes_warned_and_confirmed(
    c: &fantoccini::Client,
    base: &str,
    calendar: &str,
    first_meeting: &str,
) {
    const MINUTES: &str = "支部书记主持召开主题党日活动，全体党员重温入党誓词，集中学习了关于加强基层组织建设的文件精神；随后分组讨论本村冬季志愿服务安排，明确走访慰问困难党员的分工和时限，大家表示要在岗位上发挥先锋模范作用。";
    let save = |text: String| async move {
        set_value(c, "text", &text).await;
        c.execute("document.querySelector('#minutes form').submit();", vec![])
            .await
            .expect("save minutes");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !c
            .current_url()
            .await
            .expect("url")
            .as_str()
            .contains("done=minutes")
        {
            assert!(Instant::now() < deadline, "minutes not saved");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    c.goto(first_meeting).await.expect("open first meeting");
    c.wait()
        .for_element(Locator::Id("text"))
        .await
        .expect("minutes editor");
    save(MINUTES.to_string()).await;
    assert!(c.find(Locator::Id("minutes-duplicates")).await.is_err());

    // A second meeting whose minutes copy the first with one word changed.
    c.goto(&format!("{base}{calendar}"))
        .await
        .expect("calendar");
    c.wait()
        .for_element(Locator::Id("schedule"))
        .await
        .expect("schedule form");
    let start = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+8"))
        - chrono::Duration::minutes(3);
    set_value(c, "starts_at", &start.format("%Y-%m-%dT%H:%M").to_string()).await;
    set_value(c, "title", "十一月主题党日（补充）").await;
    set_value(c, "place", "党员活动室").await;
    c.execute("document.querySelector('#schedule form').submit();", vec![])
        .await
        .expect("submit");
    c.wait()
        .for_element(Locator::Id("code-shown"))
        .await
        .expect("second meeting");
    save(MINUTES.replace("冬季", "春季")).await;
    let warning = text_of(c, Locator::Id("minutes-duplicates")).await;
    assert!(warning.contains("十一月主题党日"), "got: {warning}");
    set_value(c, "dup-reason", "两次活动议程相同，记录按统一格式填写").await;
    c.execute(
        "document.querySelector('#minutes-duplicates form').submit();",
        vec![],
    )
    .await
    .expect("confirm");
    let confirmed = text_of(c, Locator::Id("minutes-confirmed")).await;
    assert!(confirmed.contains("统一格式"), "got: {confirmed}");
}

/// Issue 6 scope 5: the secretary marks the meeting held and sees one
/// certificate issued; the member downloads it from their own page (a PDF
/// with a UTF-8 file name) and opens its public verification page, which
/// says valid without a login.
async fn certificate_steps(
    c: &fantoccini::Client,
    driver_port: u16,
    base: &str,
    member_password: &str,
) {
    c.execute(
        "document.querySelector('#status-actions input[value=held]').form.submit();",
        vec![],
    )
    .await
    .expect("mark held");
    // One certificate per member present: online and on the paper list.
    let issued = text_of(c, Locator::Id("certificates-issued")).await;
    assert!(issued.contains('2'), "got: {issued}");

    let profile = TempDir::new("chrome-member-cert");
    let m = client(driver_port, profile.path()).await;
    log_in(&m, base, "member_a", member_password, "/me/meetings").await;
    let link = m
        .wait()
        .for_element(Locator::Css("#certificates a.certificate-pdf"))
        .await
        .expect("certificate link");
    let href = link
        .attr("href")
        .await
        .expect("href")
        .expect("link has an href");
    // Fetch it as the page would download it (same session cookie).
    let got = m
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(async r => {
               const b = new Uint8Array(await r.arrayBuffer());
               done([r.status, r.headers.get('content-type'),
                     r.headers.get('content-disposition'),
                     String.fromCharCode(...b.slice(0, 5)), b.length]);
             }).catch(e => done([0, String(e)]));",
            vec![serde_json::json!(href)],
        )
        .await
        .expect("download");
    assert_eq!(got[0], 200, "got: {got}");
    assert_eq!(got[1], "application/pdf", "got: {got}");
    assert!(
        got[2]
            .as_str()
            .is_some_and(|d| d.contains("filename*=UTF-8''")),
        "got: {got}"
    );
    assert_eq!(got[3], "%PDF-", "got: {got}");

    // The verification link (what the QR code on the PDF holds), signed out.
    let number = href
        .trim_start_matches("/certificates/")
        .trim_end_matches("/pdf")
        .to_string();
    m.close().await.expect("close member browser");
    let profile_p = TempDir::new("chrome-public");
    let p = client(driver_port, profile_p.path()).await;
    p.goto(&format!("{base}/verify/certificate/{number}"))
        .await
        .expect("open verification");
    let verdict = text_of(&p, Locator::Id("verdict")).await;
    assert!(verdict.contains("证明有效"), "got: {verdict}");
    let shot =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-certificate-verify.png");
    std::fs::write(&shot, p.screenshot().await.expect("screenshot")).expect("write screenshot");
    p.close().await.expect("close public browser");
}
