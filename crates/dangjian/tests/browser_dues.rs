//! Browser test of a secretary's dues month (issue 7, DOMAIN.md §7): in
//! headless Chromium a member declares their own annual base; the branch
//! secretary declares another member's, generates the month's sheet, enters
//! both payments at once from a paper list, corrects one by a reversing
//! entry, reads the balances on the sheet and records the month's
//! remittance to the higher level; the member then sees what they owe and
//! paid. Needs `chromium` and `chromium-driver`; run with `--ignored` like
//! `tests/browser.rs`.

mod support;

use support::browser::{client, log_in, set_value, start_driver, text_of};

use fantoccini::Locator;
use support::{Server, TempDir, demo, password};

async fn set_named(c: &fantoccini::Client, name: &str, value: &str) {
    c.execute(
        "document.getElementsByName(arguments[0])[0].value = arguments[1];",
        vec![serde_json::json!(name), serde_json::json!(value)],
    )
    .await
    .expect("set value");
}

async fn submit(c: &fantoccini::Client, form: &str) {
    c.execute(
        "document.getElementById(arguments[0]).submit();",
        vec![serde_json::json!(form)],
    )
    .await
    .expect("submit");
}

/// The monthly fee (fen) of the newest base on a member's dues page.
async fn fee_on_page(c: &fantoccini::Client) -> i64 {
    let t = text_of(c, Locator::Css("#dues-bases tbody tr td:last-child")).await;
    let (y, f) = t.trim().split_once('.').expect("yuan.fen");
    y.parse::<i64>().expect("yuan") * 100 + f.parse::<i64>().expect("fen")
}

fn fen_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `[href, text]` of the member links of the month's sheet.
async fn sheet_links(c: &fantoccini::Client) -> Vec<(String, String)> {
    c.wait()
        .for_element(Locator::Id("dues-sheet"))
        .await
        .expect("sheet");
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('#dues-sheet tbody a'))\
               .map(a => [a.getAttribute('href'), a.textContent.trim()]);",
            vec![],
        )
        .await
        .expect("links");
    serde_json::from_value(v).expect("pairs")
}

#[tokio::test]
#[ignore = "needs Chromium; run by .ci/run with --ignored"]
async fn secretary_runs_a_dues_month() {
    let dir = TempDir::new("browser-dues");
    let d = demo(dir.path(), 120);
    let server = Server::start(dir.path());
    let driver = start_driver();
    let branch = "GD-C01-X01-W01-B01";
    let month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+8"))
        .format("%Y-%m")
        .to_string();

    // The member declares their own base: 4000 yuan → 1% = 40.00 a month.
    let profile_m = TempDir::new("chrome-dues-member");
    let m = client(driver.1, profile_m.path()).await;
    log_in(
        &m,
        &server.base,
        "member_a",
        &password(&d, "member_a"),
        "/dues",
    )
    .await;
    let me = text_of(&m, Locator::Css("#dues-title small")).await;
    set_value(&m, "base-income", "4000").await;
    submit(&m, "base-form").await;
    let fee1 = fee_on_page(&m).await;
    assert!(
        ["40.00", "20.00", "0.20"].contains(&fen_text(fee1).as_str()),
        "fee {fee1} for 4000 yuan (employed 1%, retired 0.5%, fixed 0.20)"
    );

    // The secretary opens the branch's dues page and finds the member.
    let profile = TempDir::new("chrome-dues-secretary");
    let c = client(driver.1, profile.path()).await;
    let page = format!("/orgs/{branch}/dues");
    log_in(
        &c,
        &server.base,
        "secretary_a",
        &password(&d, "secretary_a"),
        &page,
    )
    .await;
    let links = sheet_links(&c).await;
    let mine = links
        .iter()
        .find(|(_, name)| *name == me.trim())
        .unwrap_or_else(|| panic!("{me} on the sheet: {links:?}"))
        .0
        .clone();
    let other = links
        .iter()
        .find(|(href, _)| *href != mine)
        .expect("a second member")
        .0
        .clone();
    let id_of = |href: &str| {
        href.trim_start_matches("/members/")
            .trim_end_matches("/dues")
            .to_string()
    };
    let (id1, id2) = (id_of(&mine), id_of(&other));

    // The secretary enters the other member's base: 2500 → 0.5% = 12.50.
    c.goto(&format!("{}{other}", server.base))
        .await
        .expect("open");
    c.wait()
        .for_element(Locator::Id("base-form"))
        .await
        .expect("base form");
    set_value(&c, "base-income", "2500").await;
    submit(&c, "base-form").await;
    // The demo's members are of every category; the calculator decides.
    let fee2 = fee_on_page(&c).await;
    assert!(
        ["12.50", "0.20"].contains(&fen_text(fee2).as_str()),
        "fee {fee2} for 2500 yuan"
    );

    // Generate the month's sheet: two members have a base.
    c.goto(&format!("{}{page}?month={month}", server.base))
        .await
        .expect("open");
    let button = c
        .wait()
        .for_element(Locator::Id("generate"))
        .await
        .expect("generate button");
    // Clear of the phone-sized window's bottom bar.
    c.execute(
        "document.getElementById('generate').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await
    .expect("scroll");
    button.click().await.expect("click");
    let notice = text_of(&c, Locator::Id("dues-notice")).await;
    assert!(notice.ends_with('2'), "notice: {notice}");
    assert_eq!(
        text_of(&c, Locator::Id("sheet-due")).await,
        fen_text(fee1 + fee2)
    );

    // Quick entry from the paper list: both paid in cash with receipts.
    set_named(&c, &format!("amount_{id1}"), &fen_text(fee1)).await;
    set_named(&c, &format!("ref_{id1}"), "收据0001").await;
    set_named(&c, &format!("amount_{id2}"), &fen_text(fee2)).await;
    set_named(&c, &format!("ref_{id2}"), "收据0002").await;
    submit(&c, "entry").await;
    let notice = text_of(&c, Locator::Id("dues-notice")).await;
    assert!(notice.ends_with('2'), "notice: {notice}");
    assert_eq!(
        text_of(&c, Locator::Id("sheet-paid")).await,
        fen_text(fee1 + fee2)
    );

    // Receipt 0002 was written down wrong: a reversing entry, never an edit.
    c.goto(&format!("{}{other}", server.base))
        .await
        .expect("open");
    let form_id: String = serde_json::from_value(
        c.execute(
            "const f = document.querySelector('form[id^=reverse-]'); \
             f.querySelector('[name=reason]').value = '收据号录错'; return f.id;",
            vec![],
        )
        .await
        .expect("reverse form"),
    )
    .expect("form id");
    submit(&c, &form_id).await;
    let balance = text_of(&c, Locator::Id("dues-balance")).await;
    assert!(balance.starts_with(&fen_text(fee2)), "balance: {balance}");
    let payments = text_of(&c, Locator::Id("dues-payments")).await;
    assert!(
        payments.contains("冲销更正") && payments.contains("已冲销"),
        "payments: {payments}"
    );

    // The sheet shows what is still owed; then the month is remitted upward.
    c.goto(&format!("{}{page}?month={month}", server.base))
        .await
        .expect("open");
    assert_eq!(text_of(&c, Locator::Id("sheet-paid")).await, fen_text(fee1));
    let owed = text_of(
        &c,
        Locator::Css(&format!("#dues-sheet tr:has(a[href='{other}'])")),
    )
    .await;
    assert!(owed.contains(&fen_text(fee2)), "sheet row: {owed}");
    set_value(&c, "remit-amount", &fen_text(fee1)).await;
    set_value(&c, "remit-ref", "转账20261130").await;
    submit(&c, "remit-form").await;
    let row = text_of(&c, Locator::Id(&format!("remit-{branch}"))).await;
    assert!(row.contains("转账20261130"), "remittance: {row}");
    let outstanding = text_of(
        &c,
        Locator::Css(&format!("#remit-{branch} .remit-outstanding")),
    )
    .await;
    assert_eq!(outstanding, "0.00");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-dues-secretary.png");
    std::fs::write(&shot, c.screenshot().await.expect("screenshot")).expect("write screenshot");
    c.close().await.expect("close browser");

    // The member sees their month paid.
    m.goto(&format!("{}/dues", server.base))
        .await
        .expect("open");
    let balance = text_of(&m, Locator::Id("dues-balance")).await;
    assert!(balance.starts_with("0.00"), "balance: {balance}");
    assert!(
        text_of(&m, Locator::Id("dues-payments"))
            .await
            .contains("收据0001")
    );
    m.close().await.expect("close member browser");
}
