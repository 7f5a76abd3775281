//! A minimal WebDriver client for chromedriver (plain HTTP/1.1 on loopback,
//! one request per connection): the page measurements need five WebDriver
//! calls, not a browser library. Each session is a fresh headless Chromium
//! profile (cold cache) with the flags TOOLCHAIN.md lists for root.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a run leaves the page alone before collecting its timings.
const QUIET_BEFORE_COLLECTING: Duration = Duration::from_millis(1500);

/// chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    /// The Chromium binary each session starts.
    chromium: String,
    /// Sessions started, to name each one's fresh profile.
    sessions: std::cell::Cell<u32>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver (`$CHROMEDRIVER`, else /usr/bin/chromedriver) for
    /// Chromium (`$CHROMIUM`, else /usr/bin/chromium) on a free loopback port.
    pub fn start() -> Result<Driver, String> {
        let chromedriver = std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        if !Path::new(&chromium).is_file() {
            return Err(format!("no Chromium at {chromium} (`cargo xtask setup` installs Debian's chromium)"));
        }
        let port = free_port()?;
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                format!("cannot start {chromedriver:?}: {err} (`cargo xtask setup` installs chromium-driver)")
            })?;
        Ok(Driver { child, port, chromium, sessions: std::cell::Cell::new(0) })
    }

    /// Starts a fresh browser, has it run `at_start` at the start of every
    /// document it loads from then on, navigates to `url`, then runs `script`
    /// (an asynchronous WebDriver script: its last argument is the callback)
    /// with `args`, and returns what the script passed to the callback.
    pub fn run_once(&self, url: &str, at_start: &str, script: &str, args: Value) -> Result<Value, String> {
        let run = self.sessions.get();
        self.sessions.set(run + 1);
        let profile = std::env::temp_dir().join(format!("loadgen-chromium-{}-{run}", std::process::id()));
        let outcome = self.session(url, at_start, script, args, &profile);
        // A session that failed half-way can leave its browser running.
        kill_browsers_using(&profile);
        let _ = std::fs::remove_dir_all(&profile);
        outcome
    }

    fn session(&self, url: &str, at_start: &str, script: &str, args: Value, profile: &Path) -> Result<Value, String> {
        let chromium = &self.chromium;
        // The flags root needs for headless Chromium here (see TOOLCHAIN.md).
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                // Navigation returns at once: while waiting for `load`,
                // chromedriver would query the page, on its main thread,
                // in the middle of the flow being timed.
                "pageLoadStrategy": "none",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1200,900",
                        // Headless Chromium 156 builds its omnibox popup, a
                        // WebUI page in a renderer of its own, while the page
                        // loads: about 50 ms of CPU on a two-core machine in
                        // the very window being timed (seen in a trace), for
                        // a browser UI nobody sees. Both pages alike go without.
                        "--disable-features=PreloadTopChromeWebUI,WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }},
        });
        let session = self.request_with_retry("POST", "/session", Some(&capabilities))?;
        let id = session["sessionId"].as_str().ok_or("chromedriver returned no session id")?.to_owned();
        let outcome = self.drive(&id, url, at_start, script, args);
        let _ = self.request("DELETE", &format!("/session/{id}"), None);
        outcome
    }

    fn drive(&self, id: &str, url: &str, at_start: &str, script: &str, args: Value) -> Result<Value, String> {
        self.request("POST", &format!("/session/{id}/timeouts"), Some(&json!({ "script": 10_000 })))?;
        // chromedriver's own endpoint for the DevTools protocol: WebDriver
        // itself can only run scripts once a navigation has returned.
        let inject = json!({ "cmd": "Page.addScriptToEvaluateOnNewDocument", "params": { "source": at_start } });
        self.request("POST", &format!("/session/{id}/goog/cdp/execute"), Some(&inject))?;
        self.request("POST", &format!("/session/{id}/url"), Some(&json!({ "url": url })))?;
        // The script below makes chromedriver inject its helpers into the page,
        // which costs the page's main thread milliseconds; it waits until the
        // timed flow (well under this) has ended, and then for its outcome.
        std::thread::sleep(QUIET_BEFORE_COLLECTING);
        self.request("POST", &format!("/session/{id}/execute/async"), Some(&json!({ "script": script, "args": args })))
    }

    /// The first request waits for chromedriver to start listening.
    fn request_with_retry(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let started = Instant::now();
        loop {
            match self.request(method, path, body) {
                Err(err) if err.starts_with("connect") && started.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                outcome => return outcome,
            }
        }
    }

    /// One WebDriver call; returns its `value`, or the WebDriver error as text.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(|err| format!("connect to chromedriver: {err}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(60))).map_err(|err| err.to_string())?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .map_err(|err| err.to_string())?;
        // chromedriver may keep the connection open despite `Connection: close`,
        // so read until the response is complete rather than to the end.
        let mut response = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        while !response_complete(&response) {
            let read = stream.read(&mut chunk).map_err(|err| format!("read from chromedriver: {err}"))?;
            if read == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..read]);
        }
        let json = http_body(&response)?;
        let value: Value = serde_json::from_slice(&json).map_err(|err| format!("chromedriver sent no JSON: {err}"))?;
        let value = value.get("value").cloned().unwrap_or(Value::Null);
        match value.get("error") {
            Some(error) => Err(format!("{method} {path}: {error}: {}", value["message"])),
            None => Ok(value),
        }
    }
}

/// Whether `response` holds a whole HTTP/1.1 response (by Content-Length, or
/// the last chunk of a chunked body).
pub fn response_complete(response: &[u8]) -> bool {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body_len = response.len() - split - 4;
    if head.contains("transfer-encoding: chunked") {
        return response.ends_with(b"0\r\n\r\n");
    }
    let length =
        head.lines().find_map(|line| line.strip_prefix("content-length:")).and_then(|value| value.trim().parse().ok());
    match length {
        Some(length) => body_len >= length,
        None => false,
    }
}

/// The body of an HTTP/1.1 response read to the end (plain or chunked).
pub fn http_body(response: &[u8]) -> Result<Vec<u8>, String> {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of HTTP headers")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = &response[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("truncated chunk")?);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}

/// Kills the Chromium processes started with `--user-data-dir=PROFILE`: that
/// folder is unique to this process and run, so they are ours.
fn kill_browsers_using(profile: &Path) {
    let flag = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|name| name.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.split(|&b| b == 0).any(|arg| arg == flag.as_bytes()) {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// A port nothing listens on now (the listener is closed again at once).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    listener.local_addr().map(|addr| addr.port()).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(http_body(plain).unwrap(), b"{}");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(http_body(chunked).unwrap(), b"{\"a\":1}");
        assert!(http_body(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(response_complete(plain));
        assert!(!response_complete(&plain[..plain.len() - 1]));
        assert!(response_complete(chunked));
        assert!(!response_complete(&chunked[..chunked.len() - 3]));
    }
}
