//! What a handshake negotiates, end to end: Chromium, through the page, agrees
//! to permessage-deflate with the real backend and echoes through it (the
//! inspector explains the agreement, and the lab's sizes report shows a
//! compressible message taking fewer bytes on the wire than its length), and a
//! subprotocol offered in Protocols is selected on `/ws/lab`, and on `/ws` when
//! the server lists it (`--subprotocol`).

use e2e::{Backend, Browser, LogEntry};
use fantoccini::Locator;

const ENTER: &str = "\u{E007}";

/// The shown tab's part matching `css`.
fn shown(css: &str) -> String {
    format!("[role=tabpanel]:not([hidden]) {css}")
}

async fn connect(browser: &Browser) -> LogEntry {
    let before = browser.log().await.len();
    browser.button("Connect").await.click().await.unwrap();
    let log = browser.wait_for_entry("open", before).await;
    log.into_iter().skip(before).find(|entry| entry.kind == "open").unwrap()
}

async fn send(browser: &Browser, text: &str) {
    browser.type_into("Message", text).await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
}

/// Opens the Handshake section once the report is in, and waits for its prose.
async fn open_inspector(browser: &Browser) {
    browser.wait_until(&format!("document.querySelector('{}')", shown(".verdict"))).await;
    browser.client.find(Locator::Css(&shown(".inspector summary"))).await.unwrap().click().await.unwrap();
    browser.wait_until(&format!("document.querySelector('{}')", shown(".http-head .meaning"))).await;
}

/// One header of the inspector's request or response: its value and its explanation.
async fn header(browser: &Browser, side: &str, name: &str) -> Option<(String, String)> {
    let row = shown(&format!(".http-head[data-side={side}] .header[data-name='{name}']"));
    let script = format!(
        "const row = document.querySelector(\"{row}\"); \
         return row && [row.querySelector('dd code').textContent, row.querySelector('.meaning').textContent];"
    );
    serde_json::from_value(browser.eval(&script).await).unwrap()
}

/// What the inspector says after one side's headers about those that are missing.
async fn missing(browser: &Browser, side: &str) -> String {
    let css = shown(&format!(".http-head[data-side={side}] .negotiated"));
    let script = format!("return Array.from(document.querySelectorAll(\"{css}\")).map(p => p.textContent).join(' ');");
    browser.eval(&script).await.as_str().unwrap().to_owned()
}

/// Waits until a log entry's summary starts with `prefix`; returns that entry.
async fn wait_for_summary(browser: &Browser, prefix: &str) -> LogEntry {
    let summaries = shown("[role=log] > li .summary");
    let quoted = serde_json::to_string(prefix).unwrap();
    browser
        .wait_until(&format!(
            "Array.from(document.querySelectorAll('{summaries}')).some(s => s.textContent.startsWith({quoted}))"
        ))
        .await;
    browser.log().await.into_iter().find(|entry| entry.summary.starts_with(prefix)).unwrap()
}

#[tokio::test]
async fn chromium_agrees_to_permessage_deflate_the_inspector_explains_it_and_echoes_travel_compressed() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;

    // What was agreed is on the socket itself.
    let open = connect(&browser).await;
    let extensions = open.detail("WebSocket.extensions");
    assert_eq!(extensions, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    let negotiated = browser.text(&shown("[data-negotiated]")).await.unwrap();
    assert!(negotiated.contains(extensions), "{negotiated}");

    // The inspector explains the offer and the agreement, parameter by parameter.
    open_inspector(&browser).await;
    let (offer, meaning) = header(&browser, "request", "sec-websocket-extensions").await.unwrap();
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    assert!(meaning.contains("permessage-deflate Compression of each message's payload with DEFLATE"), "{meaning}");
    if offer.contains("client_max_window_bits") {
        assert!(meaning.contains("client_max_window_bits Without a value"), "{meaning}");
    }
    let (agreed, meaning) = header(&browser, "response", "sec-websocket-extensions").await.unwrap();
    assert_eq!(agreed, extensions);
    assert!(meaning.contains("permessage-deflate Agreed: compression is on"), "{meaning}");
    assert!(meaning.contains("RSV1") && meaning.contains("00 00 FF FF"), "what it means on the wire: {meaning}");
    assert!(meaning.contains("server_no_context_takeover The server compresses each message on its own"), "{meaning}");
    assert!(meaning.contains("client_no_context_takeover The browser must compress each message"), "{meaning}");
    // No protocol was offered, so none was selected, and the inspector says so.
    assert!(missing(&browser, "request").await.contains("no subprotocol offered"));
    let response = missing(&browser, "response").await;
    assert!(response.contains("no subprotocol was selected"), "{response}");
    assert!(!response.contains("Extensions"), "compression was agreed: {response}");

    // An echo through the compressed connection comes back whole and paired.
    let text = "compress me ".repeat(25);
    send(&browser, &text).await;
    browser
        .wait_until(&format!(
            "document.querySelector('{}')?.textContent.startsWith('RTT')",
            shown("[role=log] > li:last-child .link")
        ))
        .await;
    let echo = browser.log().await.pop().unwrap();
    assert_eq!(echo.detail("MessageEvent.data"), text);

    // The lab's sizes report shows what the same message took on the wire.
    browser.button("Disconnect").await.click().await.unwrap();
    browser.wait_for_entry("close", 0).await;
    let summary = browser.client.find(Locator::XPath("//summary[normalize-space()='Lab and polling']")).await.unwrap();
    summary.click().await.unwrap();
    browser.wait_until("document.querySelector('[data-lab=use]')").await;
    browser.button("Use the lab endpoint").await.click().await.unwrap();
    let open = connect(&browser).await;
    assert!(open.detail("WebSocket.extensions").starts_with("permessage-deflate"), "{open:#?}");
    browser.button("Sizes on").await.click().await.unwrap();
    wait_for_summary(&browser, "server sizes · on true").await;
    send(&browser, &text).await;
    let report = wait_for_summary(&browser, "server sizes · bytes 300").await;
    assert_eq!(report.link.as_deref(), Some("server report"), "a report is no echo");
    let sizes: serde_json::Value = serde_json::from_str(report.detail("MessageEvent.data")).unwrap();
    assert_eq!(sizes["compressed"], true, "{sizes}");
    let (wire_in, wire_out) = (sizes["wire_in"].as_u64().unwrap(), sizes["wire_out"].as_u64().unwrap());
    assert!(wire_out < 300 && wire_in < 300, "a repetitive text takes fewer bytes than its length: {sizes}");
    let log = browser.log().await;
    let echo = log.iter().rev().find(|entry| entry.kind == "message" && entry.detail("MessageEvent.data") == text);
    let echo = echo.unwrap_or_else(|| panic!("no echo in {log:#?}"));
    assert!(echo.link.as_deref().unwrap().starts_with("RTT "), "the echo is paired, not the report: {echo:#?}");
    assert_eq!(browser.stat("pending").await, "0");
    browser.close().await;
}

#[tokio::test]
async fn an_offered_subprotocol_is_selected_on_the_lab_and_on_ws_when_the_server_lists_it() {
    let backend = Backend::start(&["--subprotocol", "v2"]).await;
    let browser = Browser::open_app(&backend).await;
    browser.type_into("Protocols", "chat, v2").await;

    // /ws selects the first offered that it lists: v2.
    let open = connect(&browser).await;
    assert_eq!(open.detail("WebSocket.protocol"), "v2");
    open_inspector(&browser).await;
    let (offered, _) = header(&browser, "request", "sec-websocket-protocol").await.unwrap();
    assert_eq!(offered, "chat, v2");
    let (selected, meaning) = header(&browser, "response", "sec-websocket-protocol").await.unwrap();
    assert_eq!(selected, "v2");
    assert!(meaning.contains("the first offered that it lists"), "{meaning}");
    assert!(!missing(&browser, "response").await.contains("subprotocol"));
    browser.button("Disconnect").await.click().await.unwrap();
    browser.wait_for_entry("close", 0).await;

    // /ws/lab selects the first offered, whatever it is: chat.
    let url = browser.value("URL").await.replace("/ws", "/ws/lab");
    browser.type_into("URL", &url).await;
    let open = connect(&browser).await;
    assert_eq!(open.detail("WebSocket.protocol"), "chat");
    browser
        .wait_until(&format!(
            "document.querySelector(\"{}\")?.textContent === 'chat'",
            shown(".http-head[data-side=response] .header[data-name='sec-websocket-protocol'] dd code")
        ))
        .await;
    browser.close().await;
}
