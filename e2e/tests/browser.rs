//! The app end to end: the real backend binary serving the release bundle, used
//! through headless Chromium the way a person would.

use e2e::{closed_port, Backend, Browser};
use fantoccini::Locator;

const ENTER: &str = "\u{E007}";

/// Opens the app and waits until it has rendered.
async fn open_app(backend: &Backend) -> Browser {
    let browser = Browser::open_app(backend).await;
    // The pure echo: no handshake report (learn.rs covers that default).
    browser.set_checked("Show the handshake", false).await;
    browser
}

fn is_clock_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 12
        && [2, 5].iter().all(|&i| bytes[i] == b':')
        && bytes[8] == b'.'
        && bytes.iter().enumerate().all(|(i, b)| [2, 5, 8].contains(&i) || b.is_ascii_digit())
}

#[tokio::test]
async fn connect_send_markup_see_it_literally_and_disconnect_cleanly() {
    let backend = Backend::start(&[]).await;
    let browser = open_app(&backend).await;

    let url = browser.field("URL").await.prop("value").await.unwrap();
    assert_eq!(url.as_deref(), Some(format!("ws://{}/ws", backend.addr).as_str()));
    assert_eq!(browser.ready_state().await, "CLOSED (3)");
    let send = browser.button("Send").await;
    assert!(send.attr("disabled").await.unwrap().is_some(), "Send is enabled before connecting");
    let hint = browser.client.find(Locator::Id("send-hint")).await.unwrap().text().await.unwrap();
    assert!(hint.contains("Send is disabled") && hint.contains("CLOSED"), "{hint}");

    // What is typed while Send is disabled stays in the box.
    browser.type_into("Message", "typed early").await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
    assert_eq!(browser.field("Message").await.prop("value").await.unwrap().as_deref(), Some("typed early"));

    browser.button("Connect").await.click().await.unwrap();
    let log = browser.wait_for_entry("open", 0).await;
    assert_eq!(log[0].detail("WebSocket.url"), format!("ws://{}/ws", backend.addr));
    assert_eq!(browser.ready_state().await, "OPEN (1)");

    let markup = r#"<b>bold</b> <img src=x onerror="window.__injected = true">"#;
    browser.type_into("Message", markup).await;
    browser.field("Message").await.send_keys(ENTER).await.unwrap();
    let log = browser.wait_for_entry("message", 1).await;
    let kinds: Vec<_> = log.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["open", "sent", "message"]);
    assert_eq!(log[1].detail("data"), markup);
    assert_eq!(log[2].detail("MessageEvent.data"), markup);
    assert_eq!(log[2].detail("type"), "text");
    assert_eq!(log[2].detail("size"), format!("{} bytes", markup.len()));
    assert!(log.iter().all(|entry| is_clock_time(&entry.time)), "{log:#?}");
    assert!(log[2].markup.contains("&lt;b&gt;bold&lt;/b&gt;"), "{}", log[2].markup);
    let injected = browser
        .client
        .execute(
            "return [document.querySelectorAll('[role=log] b, [role=log] img').length, window.__injected === true]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, serde_json::json!([0, false]), "markup in a message was interpreted");
    assert_eq!(browser.field("Message").await.prop("value").await.unwrap().as_deref(), Some(""));

    // `E2E_SCREENSHOT=docs/screenshot.png` refreshes the README's picture.
    if let Some(path) = std::env::var_os("E2E_SCREENSHOT") {
        // Tall enough to show the statistics and the log's first entries.
        browser.client.set_window_size(1200, 1250).await.unwrap();
        std::fs::write(path, browser.client.screenshot().await.unwrap()).expect("write the screenshot");
    }

    browser.button("Disconnect").await.click().await.unwrap();
    let log = browser.wait_for_entry("close", 3).await;
    let close = log.last().unwrap();
    assert_eq!(close.detail("CloseEvent.code"), "1000");
    assert_eq!(close.detail("CloseEvent.wasClean"), "true");
    assert!(close.detail("meaning").starts_with("Normal closure"));
    assert_eq!(browser.ready_state().await, "CLOSED (3)");

    browser.button("Clear").await.click().await.unwrap();
    assert!(browser.log().await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn a_closed_port_gives_an_error_entry_then_close_1006() {
    let backend = Backend::start(&[]).await;
    let browser = open_app(&backend).await;

    browser.type_into("URL", &format!("ws://127.0.0.1:{}/ws", closed_port())).await;
    browser.button("Connect").await.click().await.unwrap();
    let log = browser.wait_for_entry("close", 0).await;
    let kinds: Vec<_> = log.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["error", "close"]);
    let why = log[0].detail("why no detail");
    assert!(why.contains("no detail") && why.contains("close event follows"), "{why}");
    assert_eq!(log[1].detail("CloseEvent.code"), "1006");
    assert_eq!(log[1].detail("CloseEvent.wasClean"), "false");
    assert_eq!(browser.ready_state().await, "CLOSED (3)");
    browser.close().await;
}

#[tokio::test]
async fn stopping_the_server_shows_close_1001_going_away() {
    let mut backend = Backend::start(&[]).await;
    let browser = open_app(&backend).await;

    browser.button("Connect").await.click().await.unwrap();
    browser.wait_for_entry("open", 0).await;
    backend.terminate().await;
    let log = browser.wait_for_entry("close", 1).await;
    let close = log.last().unwrap();
    assert_eq!(close.detail("CloseEvent.code"), "1001");
    assert_eq!(close.detail("CloseEvent.reason"), "server shutting down");
    assert_eq!(close.detail("CloseEvent.wasClean"), "true");
    assert!(close.detail("meaning").starts_with("Going away"));
    assert!(backend.wait().await.success(), "the backend should exit 0 after a graceful shutdown");
    browser.close().await;
}
