//! The page's first stage (the `boot` crate) in real Chromium: it connects and
//! echoes before the app exists, and the app then takes over the same socket
//! with everything it logged.
//!
//! The release bundle's loader starts the app as soon as the first stage asks
//! for it (100 ms after nobody waits on the socket), faster than WebDriver can
//! act. So these tests serve a copy of the bundle whose loader waits for the
//! test instead (`window.testStartApp()`), which makes every step certain.

use std::path::Path;

use e2e::{Backend, Browser};
use fantoccini::Locator;

/// What the release loader does once the page has parsed (see Trunk.toml).
const LOADER_START: &str =
    "if (window.echoWantsApp || typeof wasm_bindgen === 'undefined') start(); else window.echoStartApp = start;";

/// A copy of the release bundle in `dir` whose app starts only when the test
/// calls `window.testStartApp()`.
fn held_bundle(dir: &Path) {
    let dist = std::env::var_os("E2E_DIST").expect("E2E_DIST (cargo xtask test sets it)");
    for entry in std::fs::read_dir(&dist).expect("read the bundle") {
        let path = entry.expect("a bundle file").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("a file name"))).expect("copy the bundle");
    }
    let page = std::fs::read_to_string(dir.join("index.html")).expect("read index.html");
    assert_eq!(page.matches(LOADER_START).count(), 1, "the loader changed; update this test: {page}");
    std::fs::write(dir.join("index.html"), page.replace(LOADER_START, "window.testStartApp = start;"))
        .expect("write index.html");
}

async fn start_held(extra_args: &[&str]) -> (tempfile::TempDir, Backend) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    held_bundle(dir.path());
    let mut args = vec!["--dist".to_owned(), dir.path().display().to_string()];
    args.extend(extra_args.iter().map(|arg| arg.to_string()));
    let backend = Backend::spawn(&Backend::binary(), &args, None).await;
    (dir, backend)
}

/// The first stage's rows: (kind, summary, badge).
async fn stage_rows(browser: &Browser) -> Vec<(String, String, Option<String>)> {
    let rows = browser
        .eval(
            "return Array.from(document.querySelectorAll('#boot-log > li')).map(li => [li.dataset.kind, \
             li.querySelector('.summary').textContent, li.querySelector('.link')?.textContent ?? null]);",
        )
        .await;
    serde_json::from_value(rows).expect("rows")
}

async fn wait_for_stage_row(browser: &Browser, kind: &str, count: usize) -> Vec<(String, String, Option<String>)> {
    browser
        .wait_until(&format!("document.querySelectorAll('#boot-log > li[data-kind={kind}]').length >= {count}"))
        .await;
    stage_rows(browser).await
}

async fn connections_accepted(backend: &Backend) -> u64 {
    let metrics = reqwest_metrics(backend).await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("websocket_connections_total "))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no websocket_connections_total in {metrics}"))
}

async fn reqwest_metrics(backend: &Backend) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = backend.url().trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect for /metrics");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("ask");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read /metrics");
    response
}

#[tokio::test]
async fn the_first_stage_echoes_before_the_app_and_the_app_takes_over_its_socket() {
    let (_dir, backend) = start_held(&[]).await;
    let browser = Browser::start().await;
    browser.client.goto(&backend.url()).await.expect("load the page");

    // The first stage alone: Connect, the handshake report, an echo with its round trip.
    browser
        .wait_until("document.getElementById('boot-connect') && !document.getElementById('boot-connect').disabled")
        .await;
    assert!(browser.eval("return !!document.querySelector('[role=tablist]');").await == false, "the app started early");
    // The stylesheet applies (in the release bundle it is inline, allowed by the policy's hash).
    let width = browser.eval("return getComputedStyle(document.querySelector('main.app')).maxWidth;").await;
    assert_ne!(width, "none", "the page is unstyled");
    browser.client.find(Locator::Id("boot-connect")).await.unwrap().click().await.unwrap();
    let rows = wait_for_stage_row(&browser, "open", 1).await;
    assert!(rows[0].1.starts_with("connected to ws://") && rows[0].1.ends_with("/ws?inspect"), "{rows:?}");
    browser.wait_until("!document.getElementById('boot-send').disabled").await;
    browser.client.find(Locator::Id("message")).await.unwrap().send_keys("hello").await.unwrap();
    browser.client.find(Locator::Id("boot-send")).await.unwrap().click().await.unwrap();
    browser.wait_until("document.querySelector('#boot-log > li[data-kind=message] .link[data-link=RTT]')").await;
    let rows = stage_rows(&browser).await;
    let kinds: Vec<&str> = rows.iter().map(|(kind, ..)| kind.as_str()).collect();
    assert_eq!(kinds, ["open", "message", "sent", "message"], "{rows:?}");
    assert_eq!(rows[1].2.as_deref(), Some("server report"), "{rows:?}");
    assert_eq!(rows[3].1, "hello", "{rows:?}");
    // One font face for everything the first stage draws: each face is loaded
    // in the first frame, which falls between Connect and `open`.
    let faces = browser
        .eval(
            "const faces = new Set([...document.querySelectorAll('main.boot, main.boot *')].map((element) => { \
               const style = getComputedStyle(element); \
               return `${style.fontFamily} ${style.fontWeight} ${style.fontStyle}`; })); \
             return [...faces];",
        )
        .await;
    assert_eq!(faces.as_array().map(Vec::len), Some(1), "{faces}");
    // Something typed but not sent carries over too.
    browser.client.find(Locator::Id("message")).await.unwrap().send_keys("draft").await.unwrap();

    // The app takes over: the same entries, paired, on the same socket.
    browser.eval("window.testStartApp(); return true;").await;
    browser.wait_for_app().await;
    assert_eq!(browser.eval("return document.getElementById('boot-log') === null;").await, true);
    let log = browser.log().await;
    let kinds: Vec<&str> = log.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(kinds, ["open", "message", "sent", "message"], "{log:#?}");
    assert_eq!(log[1].link.as_deref(), Some("server report"));
    assert!(log[2].link.as_deref().is_some_and(|link| link.starts_with("echoed · ")), "{log:#?}");
    assert!(log[3].link.as_deref().is_some_and(|link| link.starts_with("RTT ")), "{log:#?}");
    assert_eq!(browser.ready_state().await, "OPEN (1)");
    assert_eq!(browser.value("Message").await, "draft");
    browser.type_into("Message", "again").await;
    browser.button("Send").await.click().await.unwrap();
    let log = browser.wait_for_entry("message", 4).await;
    assert_eq!(log.last().map(|entry| entry.summary.as_str()), Some("again"), "{log:#?}");
    assert!(log.last().and_then(|entry| entry.link.as_deref()).is_some_and(|link| link.starts_with("RTT ")));
    assert_eq!(log.iter().filter(|entry| entry.kind == "open").count(), 1, "{log:#?}");
    assert_eq!(connections_accepted(&backend).await, 1, "the app used the first stage's socket");
    // ↑ recalls what the first stage sent.
    browser.type_into("Message", "").await;
    browser.field("Message").await.send_keys("\u{E013}").await.unwrap();
    assert_eq!(browser.value("Message").await, "again");
    browser.field("Message").await.send_keys("\u{E013}").await.unwrap();
    assert_eq!(browser.value("Message").await, "hello");
    browser.close().await;
}

#[tokio::test]
async fn the_first_stage_connects_where_the_apps_connect_went_last_time() {
    let (_dir, backend) = start_held(&["--subprotocol", "chat"]).await;
    let browser = Browser::start().await;
    browser.client.goto(&backend.url()).await.expect("load the page");
    // The app's settings: offer `chat`, no handshake report.
    browser.eval("window.testStartApp(); return true;").await;
    browser.wait_for_app().await;
    browser.type_into("Protocols", "chat, v2").await;
    browser.set_checked("Show the handshake", false).await;

    // The next load's first stage connects there.
    browser.client.refresh().await.expect("reload");
    browser
        .wait_until("document.getElementById('boot-connect') && !document.getElementById('boot-connect').disabled")
        .await;
    browser.client.find(Locator::Id("boot-connect")).await.unwrap().click().await.unwrap();
    let rows = wait_for_stage_row(&browser, "open", 1).await;
    assert!(rows[0].1.ends_with("/ws"), "no report asked for: {rows:?}");
    assert_eq!(browser.eval("return window.echoFirstStage.socket.protocol;").await, "chat");
    browser.eval("window.testStartApp(); return true;").await;
    browser.wait_for_app().await;
    browser.wait_until("document.querySelector('[data-negotiated] .protocol')?.textContent === '\"chat\"'").await;
    let log = browser.log().await;
    assert_eq!(log.iter().map(|entry| entry.kind.as_str()).collect::<Vec<_>>(), ["open"], "{log:#?}");
    browser.close().await;
}
