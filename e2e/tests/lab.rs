//! The lab end to end: each button of the lab makes the browser show what it
//! promises, and "Compare with polling" runs the same messages three ways, in
//! headless Chromium against the real backend.

use e2e::{Backend, Browser, LogEntry};
use fantoccini::Locator;

const ENTER: &str = "\u{E007}";

/// Opens "Lab and polling", whose controls are fetched on the first opening.
async fn open_section(browser: &Browser) {
    let summary = browser.client.find(Locator::XPath("//summary[normalize-space()='Lab and polling']")).await.unwrap();
    summary.click().await.unwrap();
    browser.wait_until("document.querySelector('[data-lab=use]')").await;
}

/// Puts the lab's URL in the URL box and connects.
async fn open_lab(browser: &Browser) {
    open_section(browser).await;
    browser.button("Use the lab endpoint").await.click().await.unwrap();
    assert!(browser.value("URL").await.ends_with("/ws/lab"));
    connect(browser).await;
}

async fn connect(browser: &Browser) {
    let before = browser.log().await.len();
    browser.button("Connect").await.click().await.unwrap();
    browser.wait_for_entry("open", before).await;
}

async fn press(browser: &Browser, name: &str) {
    browser.button(name).await.click().await.unwrap_or_else(|err| panic!("cannot press {name}: {err}"));
}

/// Waits until a message entry's summary starts with `prefix`; returns the log.
async fn wait_for_summary(browser: &Browser, prefix: &str) -> Vec<LogEntry> {
    let shown = "[role=tabpanel]:not([hidden]) [role=log] > li .summary";
    let prefix = serde_json::to_string(prefix).unwrap();
    browser
        .wait_until(&format!(
            "Array.from(document.querySelectorAll('{shown}')).some(s => s.textContent.startsWith({prefix}))"
        ))
        .await;
    browser.log().await
}

/// Delays later echoes by `ms` (waiting for the server's report), then sends `text`.
async fn delay_then_send(browser: &Browser, ms: u32, text: &str) {
    browser.type_into("Delay (ms)", &ms.to_string()).await;
    press(browser, "Delay echoes").await;
    wait_for_summary(browser, &format!("server delay · ms {ms}")).await;
    browser.type_into("Message", text).await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
}

/// The log without the handshake report, which the page asks for on every
/// connection (the inspector's part, not the lab's).
fn lab_log(log: Vec<LogEntry>) -> Vec<LogEntry> {
    let handshake = |entry: &LogEntry| {
        entry.kind == "message" && entry.detail("MessageEvent.data").starts_with(r#"{"server":"handshake""#)
    };
    log.into_iter().filter(|entry| !handshake(entry)).collect()
}

fn kinds(log: &[LogEntry]) -> Vec<&str> {
    log.iter().map(|entry| entry.kind.as_str()).collect()
}

/// `… round trip 312.4 ms` → 312.4.
fn round_trip_ms(detail: &str) -> f64 {
    let ms = detail.rsplit("round trip ").next().unwrap().trim_end_matches(" ms");
    ms.parse().unwrap_or_else(|_| panic!("no round trip in {detail}"))
}

#[tokio::test]
async fn close_sends_the_code_and_reason_and_the_close_is_clean() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_lab(&browser).await;
    browser.type_into("Code", "4001").await;
    browser.type_into("Reason", "lab says bye").await;
    press(&browser, "Close").await;
    let log = lab_log(browser.wait_for_entry("close", 0).await);
    assert_eq!(kinds(&log), ["open", "sent", "close"], "{log:#?}");
    assert_eq!(log[1].detail("data"), "/close 4001 lab says bye");
    assert_eq!(log[1].link, None, "a command expects no echo");
    let close = &log[2];
    assert_eq!(close.detail("CloseEvent.code"), "4001");
    assert_eq!(close.detail("CloseEvent.reason"), "lab says bye");
    assert_eq!(close.detail("CloseEvent.wasClean"), "true");
    browser.close().await;
}

#[tokio::test]
async fn drop_ends_tcp_and_the_browser_reports_1006_unclean() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_lab(&browser).await;
    // An echo held back by the delay is still due when TCP ends.
    delay_then_send(&browser, 5000, "left waiting").await;
    press(&browser, "Drop connection").await;
    let log = lab_log(browser.wait_for_entry("close", 0).await);
    // Observed in Chromium 156: no error event, only the close.
    assert_eq!(kinds(&log), ["open", "sent", "message", "sent", "sent", "close"], "{log:#?}");
    assert_eq!(log[3].link.as_deref(), Some("lost"), "{log:#?}");
    let close = &log[5];
    assert_eq!(close.detail("CloseEvent.code"), "1006");
    assert_eq!(close.detail("CloseEvent.wasClean"), "false");
    browser.close().await;
}

#[tokio::test]
async fn delayed_echoes_come_back_at_least_the_delay_later() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_lab(&browser).await;
    delay_then_send(&browser, 300, "slow").await;
    let shown = "[role=tabpanel]:not([hidden]) [role=log] > li";
    browser
        .wait_until(&format!("document.querySelector('{shown}:last-child .link')?.textContent.startsWith('RTT')"))
        .await;
    let log = browser.log().await;
    let echo = log.last().unwrap();
    assert_eq!(echo.detail("MessageEvent.data"), "slow");
    let rtt = round_trip_ms(echo.detail("echo of"));
    assert!(rtt >= 300.0, "RTT {rtt} ms under the 300 ms delay");
    assert_eq!(browser.stat("pending").await, "0", "the command and the report are no echo");
    browser.close().await;
}

#[tokio::test]
async fn a_server_ping_is_answered_by_the_browser_and_reported() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_lab(&browser).await;
    press(&browser, "Server ping").await;
    let log = lab_log(wait_for_summary(&browser, "server pong · ms ").await);
    assert_eq!(kinds(&log), ["open", "sent", "message"], "no event for the ping or the pong itself");
    assert!(log[2].detail("MessageEvent.data").starts_with(r#"{"server":"pong","ms":"#));
    browser.close().await;
}

#[tokio::test]
async fn a_fragmented_message_is_one_message_event() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_lab(&browser).await;
    browser.type_into("Frames", "3").await;
    browser.type_into("Text", "one whole text").await;
    press(&browser, "Fragmented message").await;
    let log = lab_log(wait_for_summary(&browser, "server fragmented · frames 3 · bytes 14").await);
    let messages: Vec<&LogEntry> = log.iter().filter(|entry| entry.kind == "message").collect();
    assert_eq!(messages.len(), 2, "the text and the report: {log:#?}");
    assert_eq!(messages[0].detail("MessageEvent.data"), "one whole text");
    assert_eq!(messages[0].link, None, "the reassembled text is no echo");
    assert_eq!(browser.stat("pending").await, "0");
    browser.close().await;
}

#[tokio::test]
async fn a_refused_upgrade_is_an_error_then_close_1006() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    open_section(&browser).await;
    browser.type_into("Status", "403").await;
    press(&browser, "Refuse upgrade").await;
    let log = browser.wait_for_entry("close", 0).await;
    assert!(browser.value("URL").await.ends_with("/ws/lab?status=403"));
    assert_eq!(kinds(&log), ["error", "close"], "{log:#?}");
    assert_eq!(log[1].detail("CloseEvent.code"), "1006");
    assert_eq!(log[1].detail("CloseEvent.wasClean"), "false");
    browser.close().await;
}

/// The results table: (method, cells) per row.
async fn results(browser: &Browser) -> Vec<(String, Vec<String>)> {
    let script = r#"
        return Array.from(document.querySelectorAll('[role=tabpanel]:not([hidden]) .compare-result tbody tr'))
            .map(tr => [tr.querySelector('th').textContent,
                        Array.from(tr.querySelectorAll('td')).map(td => td.textContent)]);"#;
    serde_json::from_value(browser.eval(script).await).unwrap()
}

/// Runs a comparison of 5 messages of 32 bytes, polling every 50 ms.
async fn compare(browser: &Browser) -> Vec<(String, Vec<String>)> {
    open_section(browser).await;
    browser.type_into("Messages", "5").await;
    browser.type_into("Message size", "32").await;
    browser.type_into("Poll every (ms)", "50").await;
    press(browser, "Compare with polling").await;
    browser.wait_until("document.querySelector('.compare-status').textContent === 'Done.'").await;
    let rows = results(browser).await;
    let methods: Vec<&str> = rows.iter().map(|(method, _)| method.as_str()).collect();
    assert_eq!(methods, ["HTTP request/response", "Periodic polling", "WebSocket"]);
    for (method, cells) in &rows {
        assert_eq!(cells[0], "5", "{method}: every message made the round trip");
        assert!(cells[1].ends_with(" ms") && cells[2].ends_with(" ms"), "{method}: {cells:?}");
    }
    let requests = |row: usize| rows[row].1[3].parse::<u64>().unwrap();
    assert_eq!(requests(0), 5, "one request per message");
    assert!(requests(1) >= 10, "a POST and at least one GET per message: {rows:?}");
    assert_eq!(requests(2), 0, "no request beyond the handshake");
    rows
}

fn bytes(cells: &[String]) -> u64 {
    cells[4].split(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn compare_with_polling_opens_a_socket_for_the_run_and_counts_its_handshake_and_compressed_frames() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    // The tab's socket compresses, so the run opens one of its own on the lab,
    // which measures what compressed frames take.
    connect(&browser).await;
    let rows = compare(&browser).await;
    let websocket = &rows[2].1;
    assert!(websocket[4].contains("handshake included"), "{websocket:?}");
    let uncompressed: u64 = websocket[4]
        .split("(permessage-deflate): ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no uncompressed figure: {websocket:?}"));
    // Five echoes of 32 bytes: (6 + 32) + (2 + 32) bytes each uncompressed, plus the handshake.
    let handshake = uncompressed - 5 * 72;
    assert!((150..1000).contains(&handshake), "handshake of {handshake} bytes");
    assert!(bytes(websocket) < uncompressed, "compressed frames take fewer bytes: {websocket:?}");
    assert!(bytes(websocket) > handshake + 5 * 2 * 6, "every frame has a header: {websocket:?}");
    // Every HTTP exchange carries two heads of well over 72 bytes.
    assert!(bytes(&rows[0].1) > 5 * 200, "{rows:?}");
    assert!(bytes(&rows[1].1) > bytes(&rows[0].1), "{rows:?}");
    let log = browser.log().await;
    assert!(log.iter().all(|entry| entry.kind != "sent"), "the run's own socket is not the tab's: {log:#?}");
    browser.close().await;
}

#[tokio::test]
async fn compare_with_polling_uses_the_open_socket_when_it_does_not_compress_and_its_log_pairs_the_echoes() {
    let backend = Backend::start(&["--deflate", "off"]).await;
    let browser = Browser::open_app(&backend).await;
    connect(&browser).await;
    let rows = compare(&browser).await;
    let websocket = &rows[2].1;
    assert_eq!(bytes(websocket), 5 * 72, "{websocket:?}");
    assert!(websocket[4].contains("no handshake counted"), "{websocket:?}");
    // The run ends on the last echo; the log applies events once per frame, so
    // it may show that echo a frame later.
    let started = std::time::Instant::now();
    let log = loop {
        let log = browser.log().await;
        let sent: Vec<_> = log.iter().filter(|entry| entry.kind == "sent").collect();
        if sent.len() == 5 && sent.iter().all(|entry| entry.link.as_deref().is_some_and(|l| l.starts_with("echoed"))) {
            break log;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "sends not all echoed in the log: {log:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(log.iter().filter(|entry| entry.kind == "sent").count(), 5);
    assert_eq!(browser.stat("pending").await, "0");
    browser.close().await;
}
