//! Harness for the end-to-end tests: starts the real backend binary on a free
//! loopback port, serving the release bundle, and a headless Chromium driven
//! through chromedriver.
//!
//! `cargo xtask test` builds both and passes their paths:
//! `E2E_BACKEND_BIN` (the backend binary), `E2E_DIST` (the trunk release
//! bundle) and `CHROMEDRIVER` (defaults to `/usr/bin/chromedriver`).

#![forbid(unsafe_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const HOW_TO_RUN: &str = "run the end-to-end tests with `cargo xtask test`, which builds what they need";

fn required_env(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) => PathBuf::from(value),
        None => panic!("{name} is not set: {HOW_TO_RUN}"),
    }
}

/// The backend binary, running as a child process.
pub struct Backend {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every line the backend has written to standard output so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Backend {
    /// Starts the backend on a free port with the release bundle and `extra_args`.
    pub async fn start(extra_args: &[&str]) -> Backend {
        let dist = required_env("E2E_DIST");
        assert!(dist.join("index.html").is_file(), "no bundle in {}: {HOW_TO_RUN}", dist.display());
        let mut args = vec!["--dist".to_owned(), dist.display().to_string()];
        args.extend(extra_args.iter().map(|arg| arg.to_string()));
        Backend::spawn(&Backend::binary(), &args, None).await
    }

    /// The backend binary under test.
    pub fn binary() -> PathBuf {
        required_env("E2E_BACKEND_BIN")
    }

    /// Starts `binary` on a free port with `args`, in `dir` if given.
    pub async fn spawn(binary: &std::path::Path, args: &[String], dir: Option<&std::path::Path>) -> Backend {
        let mut command = Command::new(binary);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = lines.next_line().await.expect("read the backend's log") {
                if let Some(addr) = listening_address(&line) {
                    return addr;
                }
            }
            panic!("the backend exited before listening");
        })
        .await
        .expect("the backend listens within 10 s");
        // Keep reading the log, so the backend never blocks on a full pipe and
        // tests can look at what it wrote.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut log) = sink.lock() {
                    log.push(line);
                }
            }
        });
        Backend { child, addr, log }
    }

    /// The lines the backend has logged so far (after its listening line).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Sends SIGTERM, as a service manager stopping the server would.
    pub async fn terminate(&mut self) {
        let pid = self.child.id().expect("the backend is running");
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits (at most 10 s) for the backend to exit.
    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("the backend exits within 10 s")
            .expect("wait for the backend")
    }
}

/// Finds the address in the backend's `listening on http://HOST:PORT` log line.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    rest.split(|c: char| c.is_whitespace() || c == ')').next()?.parse().ok()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// Headless Chromium under chromedriver; both end when this is closed or dropped.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile.
    pub async fn start() -> Browser {
        let chromedriver = std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "/usr/bin/chromedriver".into());
        let port = closed_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {chromedriver:?}: {err} ({HOW_TO_RUN})"));
        let profile = tempfile::tempdir().expect("a temporary profile folder");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1200,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(err) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("no WebDriver session from chromedriver: {err}"),
            }
        };
        Browser { client, _driver: driver, _profile: profile }
    }

    /// Ends the WebDriver session (closing Chromium) and chromedriver.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// The form control (input, textarea or select) labelled `label`, found
    /// through its `<label for>`.
    pub async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!(
            "//*[self::input or self::textarea or self::select][@id=//label[normalize-space()='{label}']/@for]\
             [not(ancestor::*[@hidden])]"
        );
        self.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|err| panic!("no field labelled {label}: {err}"))
    }

    /// The button named `name`, in the connection tab that is shown.
    pub async fn button(&self, name: &str) -> fantoccini::elements::Element {
        let xpath = format!("//button[normalize-space()='{name}'][not(ancestor::*[@hidden])]");
        self.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|err| panic!("no button {name}: {err}"))
    }

    /// Replaces the contents of the text box labelled `label` by typing `text`.
    ///
    /// Select-all and Backspace, rather than WebDriver's clear, so that the page
    /// sees an `input` event for the emptying too: a clear it never heard of is
    /// undone by its next render of the controlled field.
    pub async fn type_into(&self, label: &str, text: &str) {
        const CONTROL: &str = "\u{E009}";
        const RELEASE: &str = "\u{E000}";
        const BACKSPACE: &str = "\u{E003}";
        let field = self.field(label).await;
        field.send_keys(&format!("{CONTROL}a{RELEASE}{BACKSPACE}{text}")).await.expect("type into the field");
    }

    /// The connection tab whose name starts with `name` (its label also shows the state).
    pub async fn tab(&self, name: &str) -> fantoccini::elements::Element {
        let xpath = format!("//*[@role='tab'][starts-with(normalize-space(), '{name} ')]");
        self.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|err| panic!("no tab {name}: {err}"))
    }

    /// The event log of the connection tab that is shown, as it is rendered,
    /// with every row expanded first (each row is one line until it is, as a
    /// person would click it to read the properties).
    pub async fn log(&self) -> Vec<LogEntry> {
        let script = r#"
            const done = arguments[arguments.length - 1];
            const rows = '[role=tabpanel]:not([hidden]) [role=log] > li';
            const collapsed = () => document.querySelectorAll(`${rows} > .entry-line[aria-expanded=false]`);
            // Rows that arrive while expanding are expanded too; the page draws
            // what a click asked for before the next task.
            const expand = (rounds) => {
                const found = collapsed();
                if (found.length === 0 || rounds === 0) { done(read()); return; }
                found.forEach(line => line.click());
                setTimeout(() => expand(rounds - 1), 0);
            };
            const read = () => Array.from(document.querySelectorAll(rows)).map(li => ({
                id: Number(li.dataset.id),
                link: li.querySelector('.link') ? li.querySelector('.link').textContent : null,
                kind: li.querySelector('.kind').textContent,
                time: li.querySelector('.time').textContent,
                summary: li.querySelector('.summary').textContent,
                details: Array.from(li.querySelectorAll('.detail')).map(d =>
                    [d.querySelector('dt').textContent, d.querySelector('dd').textContent]),
                markup: li.innerHTML,
            }));
            expand(5);"#;
        let value = self.client.execute_async(script, vec![]).await.expect("read the log");
        serde_json::from_value(value).expect("log entries")
    }

    /// Waits (at most 10 s) until the log holds an entry of `kind` after the
    /// first `skip` entries, and returns the whole log.
    pub async fn wait_for_entry(&self, kind: &str, skip: usize) -> Vec<LogEntry> {
        let started = Instant::now();
        loop {
            let log = self.log().await;
            if log.iter().skip(skip).any(|entry| entry.kind == kind) {
                return log;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no {kind} entry within 10 s; log: {log:#?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Loads the app from `backend` and waits until it has rendered.
    pub async fn open_app(backend: &Backend) -> Browser {
        let browser = Browser::start().await;
        browser.client.goto(&backend.url()).await.expect("load the page");
        browser.wait_for_app().await;
        browser
    }

    /// Waits until the app has rendered (after a load or reload): its tab
    /// list, which the page's first stage does not draw.
    pub async fn wait_for_app(&self) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("[role=tablist]"))
            .await
            .expect("the app renders");
    }

    /// Runs `script` (a function body that returns a value) in the page.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|err| {
            panic!(
                "script failed: {err}
{script}"
            )
        })
    }

    /// Waits (at most 10 s) until `condition` (a JavaScript expression) is true.
    pub async fn wait_until(&self, condition: &str) {
        let script = format!("return !!({condition});");
        let started = Instant::now();
        while self.eval(&script).await != serde_json::Value::Bool(true) {
            assert!(started.elapsed() < Duration::from_secs(10), "not true within 10 s: {condition}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The text of the first element matching `css`, or `None` when there is none.
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => Some(element.text().await.expect("the element's text")),
            Err(_) => None,
        }
    }

    /// The notice shown after a refused Connect, Send or Disconnect, if any.
    pub async fn notice(&self) -> Option<String> {
        self.text("[role=alert]").await
    }

    /// The value shown in the statistics bar for `name` (e.g. `sent`, `p50`).
    pub async fn stat(&self, name: &str) -> String {
        self.text(&format!("[data-stat='{name}'] dd")).await.unwrap_or_else(|| panic!("no statistic {name}"))
    }

    /// The value of the control labelled `label`.
    pub async fn value(&self, label: &str) -> String {
        self.field(label).await.prop("value").await.expect("read the value").unwrap_or_default()
    }

    /// Chooses `option` in the drop-down labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let select = self.field(label).await;
        select.select_by_value(option).await.unwrap_or_else(|err| panic!("cannot choose {option} in {label}: {err}"));
    }

    /// Ticks or unticks the checkbox labelled `label`.
    pub async fn set_checked(&self, label: &str, checked: bool) {
        let checkbox = self.field(label).await;
        if checkbox.prop("checked").await.expect("read checked").as_deref() != Some(&checked.to_string()) {
            checkbox.click().await.expect("click the checkbox");
        }
    }

    /// The ready state as shown: its name and number, e.g. `OPEN (1)`.
    pub async fn ready_state(&self) -> String {
        let shown = "[role=tabpanel]:not([hidden]) output[data-ready-state]";
        let element = self.client.find(Locator::Css(shown)).await.expect("the ready state");
        element.text().await.expect("its text")
    }
}

/// One rendered log entry.
#[derive(Debug, Clone, Deserialize)]
pub struct LogEntry {
    /// The entry's number, `#id`.
    pub id: u64,
    /// The pairing badge (`pending`, `echoed · 0.42 ms`, `lost`, `RTT 0.42 ms`), if any.
    pub link: Option<String>,
    /// `open`, `message`, `sent`, `close` or `error`.
    pub kind: String,
    /// `HH:MM:SS.mmm`.
    pub time: String,
    /// The row's preview of the data (or what the event says).
    pub summary: String,
    /// (property, value) pairs as displayed once the row is expanded.
    pub details: Vec<(String, String)>,
    /// The entry's inner HTML, to check that nothing was interpreted as markup.
    pub markup: String,
}

impl LogEntry {
    /// The displayed value of a detail, e.g. `CloseEvent.code`.
    pub fn detail(&self, name: &str) -> &str {
        self.details
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("no {name} in {self:#?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::listening_address;

    #[test]
    fn finds_the_port_in_the_startup_line() {
        let line =
            "INFO backend::server: listening on http://127.0.0.1:41234 (WebSocket echo at ws://127.0.0.1:41234/ws)";
        assert_eq!(listening_address(line), Some("127.0.0.1:41234".parse().unwrap()));
        assert_eq!(listening_address("INFO connection opened"), None);
    }
}
