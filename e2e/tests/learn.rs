//! Learning by seeing, end to end: the handshake inspector, server reports
//! that are not echoes, entry explanations and the ready-state timeline,
//! driven through headless Chromium against the real backend.

use e2e::{Backend, Browser};
use fantoccini::Locator;

const ENTER: &str = "\u{E007}";

/// The shown tab's part matching `css`.
fn shown(css: &str) -> String {
    format!("[role=tabpanel]:not([hidden]) {css}")
}

async fn connect(browser: &Browser) {
    let before = browser.log().await.len();
    browser.button("Connect").await.click().await.unwrap();
    browser.wait_for_entry("open", before).await;
}

/// The handshake section's headers of one side, as (name, value) pairs.
async fn headers(browser: &Browser, side: &str) -> Vec<(String, String)> {
    let script = format!(
        "return Array.from(document.querySelectorAll(\"{}\")).map(d => \
            [d.dataset.name, d.querySelector('dd code').textContent]);",
        shown(&format!(".http-head[data-side={side}] .header"))
    );
    serde_json::from_value(browser.eval(&script).await).unwrap()
}

#[tokio::test]
async fn the_inspector_shows_and_verifies_the_handshake_and_echoes_still_pair() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    let checkbox = browser.field("Show the handshake").await;
    assert_eq!(checkbox.prop("checked").await.unwrap().as_deref(), Some("true"), "on by default");
    connect(&browser).await;

    // The report arrives as the first message, logged as a server report.
    browser.wait_until(&format!("document.querySelector('{}')", shown(".verdict"))).await;
    // Closed at first: the summary says what was asked and answered and whether
    // the accept value checks out; opening it shows every header, explained.
    let summary = browser.text(&shown(".inspector summary")).await.unwrap();
    assert!(summary.starts_with("GET /ws?inspect HTTP/1.1 → HTTP/1.1 101 Switching Protocols"), "{summary}");
    assert!(browser.client.find(Locator::Css(&shown(".http-head"))).await.is_err(), "drawn before it was opened");
    browser.client.find(Locator::Css(&shown(".inspector summary"))).await.unwrap().click().await.unwrap();
    browser.wait_until(&format!("document.querySelector('{}')", shown(".http-head .meaning"))).await;
    let request_line = browser.text(&shown(".http-head[data-side=request] .http-line")).await.unwrap();
    assert!(request_line.starts_with("GET /ws?inspect HTTP/1.1"), "{request_line}");
    let request = headers(&browser, "request").await;
    let key = request.iter().find(|(name, _)| name == "sec-websocket-key").map(|(_, key)| key.clone());
    let key = key.unwrap_or_else(|| panic!("no key in {request:?}"));
    assert_eq!(key.len(), 24, "16 random bytes in base64: {key}");
    let response_line = browser.text(&shown(".http-head[data-side=response] .http-line")).await.unwrap();
    assert_eq!(response_line, "HTTP/1.1 101 Switching Protocols");
    let response = headers(&browser, "response").await;
    assert!(response.iter().any(|(name, _)| name == "sec-websocket-accept"), "{response:?}");
    let verdict = browser.client.find(Locator::Css(&shown(".verdict"))).await.unwrap();
    assert_eq!(verdict.attr("data-verified").await.unwrap().as_deref(), Some("true"));
    assert!(verdict.text().await.unwrap().starts_with("verified"));
    let steps = browser.text(&shown(".steps")).await.unwrap();
    assert!(steps.contains(&format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), "{steps}");
    // `E2E_SCREENSHOT_INSPECTOR=docs/inspector.png` refreshes the README's picture of it.
    if let Some(path) = std::env::var_os("E2E_SCREENSHOT_INSPECTOR") {
        browser.client.set_window_size(1200, 1400).await.unwrap();
        browser.eval(&format!("document.querySelector('{}').scrollIntoView(); return 0;", shown(".inspector"))).await;
        std::fs::write(path, browser.client.screenshot().await.unwrap()).expect("write the screenshot");
    }

    let log = browser.wait_for_entry("message", 0).await;
    let report = log.iter().find(|entry| entry.kind == "message").unwrap();
    assert_eq!(report.link.as_deref(), Some("server report"));

    // An echo after the report still answers its own send.
    browser.type_into("Message", "after the report").await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
    browser
        .wait_until(&format!(
            "document.querySelectorAll('{}').length >= 2",
            shown("[role=log] > li[data-kind=message]")
        ))
        .await;
    let log = browser.log().await;
    let sent = log.iter().find(|entry| entry.kind == "sent").unwrap();
    let echo = log.iter().filter(|entry| entry.kind == "message").nth(1).unwrap();
    assert!(echo.link.as_deref().unwrap().starts_with("RTT "), "{echo:#?}");
    assert_eq!(
        echo.detail("echo of"),
        format!("entry #{}, round trip {}", sent.id, &echo.link.as_deref().unwrap()[4..])
    );
    assert_eq!(echo.detail("MessageEvent.data"), "after the report");
    browser.close().await;
}

#[tokio::test]
async fn explanations_show_real_values_and_the_timeline_has_times() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    connect(&browser).await;
    browser.button("Disconnect").await.click().await.unwrap();
    let log = browser.wait_for_entry("close", 0).await;
    let close = log.iter().find(|entry| entry.kind == "close").unwrap();

    // The disclosure is a real button: keyboard-reachable, with aria-expanded.
    let toggle = browser
        .client
        .find(Locator::Css(&shown(&format!("li[data-id='{}'] .explain-toggle", close.id))))
        .await
        .unwrap();
    assert_eq!(toggle.attr("aria-expanded").await.unwrap().as_deref(), Some("false"));
    toggle.send_keys(ENTER).await.unwrap();
    let panel = shown(&format!("li[data-id='{}'] .explanation", close.id));
    browser.wait_until(&format!("document.querySelector(\"{panel}\")")).await;
    assert_eq!(toggle.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
    let interface = browser.text(&format!("{panel} .interface")).await.unwrap();
    assert_eq!(interface, "CloseEvent");
    let script = format!(
        "return Object.fromEntries(Array.from(document.querySelectorAll(\"{panel} .property\")).map(p => \
            [p.dataset.name, p.querySelector('dd').textContent]));"
    );
    let values = browser.eval(&script).await;
    assert_eq!(values["CloseEvent.code"], "1000", "{values}");
    assert_eq!(values["CloseEvent.wasClean"], "true", "{values}");
    assert_eq!(values["WebSocket.readyState"], "3 (CLOSED)", "{values}");
    let links =
        browser.eval(&format!("return Array.from(document.querySelectorAll(\"{panel} a\")).map(a => a.href);")).await;
    assert!(links.to_string().contains("rfc6455#section-7.1.5"), "{links}");

    // The timeline lists each state with its time after Connect.
    let steps = browser
        .eval(&format!(
            "return Array.from(document.querySelectorAll(\"{}\")).map(li => li.textContent);",
            shown(".timeline-steps li")
        ))
        .await;
    let steps: Vec<String> = serde_json::from_value(steps).unwrap();
    let names: Vec<&str> = steps.iter().map(|step| step.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["CONNECTING", "OPEN", "CLOSING", "CLOSED"], "{steps:?}");
    assert!(steps.iter().all(|step| step.contains(" at ") && step.ends_with(" ms")), "{steps:?}");
    assert_eq!(steps[0], "CONNECTING at 0.00 ms");
    browser.close().await;
}

#[tokio::test]
async fn without_show_the_handshake_the_socket_is_a_pure_echo() {
    let backend = Backend::start(&[]).await;
    let browser = Browser::open_app(&backend).await;
    browser.set_checked("Show the handshake", false).await;
    connect(&browser).await;
    let log = browser.log().await;
    let open = log.iter().find(|entry| entry.kind == "open").unwrap();
    assert!(!open.detail("WebSocket.url").contains("inspect"), "{open:#?}");

    browser.type_into("Message", "plain").await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
    let log = browser.wait_for_entry("message", 0).await;
    let messages: Vec<_> = log.iter().filter(|entry| entry.kind == "message").collect();
    assert_eq!(messages.len(), 1, "{log:#?}");
    assert_eq!(messages[0].detail("MessageEvent.data"), "plain");
    assert!(messages[0].link.as_deref().unwrap().starts_with("RTT "));
    let hint = browser.text(&shown(".inspector .hint")).await.unwrap();
    assert!(hint.contains("Tick Show the handshake"), "{hint}");
    browser.close().await;
}
