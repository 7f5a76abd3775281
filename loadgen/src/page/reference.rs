//! The plain reference page: a few lines of HTML and JavaScript with the
//! app's first-echo flow and nothing else (Connect rendered, click,
//! `new WebSocket`, `open` drawn, a message typed and Send clicked, echo
//! drawn), served by the suite itself on
//! a loopback port. Measured beside the app in the same run, it says what the
//! browser, the machine and the server cost on their own, so the app's first
//! echo can be read as a ratio that other load on the machine disturbs less.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The page, with `WS_URL` replaced by the socket's URL as a JSON string.
/// The script draws the Connect button itself, as the app does, so the
/// button is never in the DOM before it works. Each step leaves a
/// performance mark, so the milestones can be read back, and each event
/// becomes a log row, so the same DOM wait as for the app times it.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>WebSocket echo (reference)</title></head>
<body>
<ul role="log" id="log"></ul>
<script>
const log = document.getElementById('log');
const row = (kind, text) => {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  li.textContent = text;
  log.append(li);
};
let socket;
const connect = document.createElement('button');
connect.textContent = 'Connect';
const message = document.createElement('input');
message.id = 'message';
const send = document.createElement('button');
send.textContent = 'Send';
send.disabled = true;
connect.addEventListener('click', () => {
  performance.mark('click');
  socket = new WebSocket(WS_URL);
  performance.mark('socket-created');
  socket.addEventListener('open', () => {
    performance.mark('open');
    row('open', 'open');
    send.disabled = false;
  });
  socket.addEventListener('message', (event) => {
    performance.mark('message');
    row('message', event.data);
    performance.mark('echo-drawn');
  });
});
send.addEventListener('click', () => {
  socket.send(message.value);
  performance.mark('sent');
});
log.before(connect, message, send);
performance.mark('connect-rendered');
</script>
</body>
</html>
"#;

/// The reference page's HTML for the socket at `ws_url`.
pub fn html(ws_url: &str) -> String {
    PAGE.replace("WS_URL", &serde_json::Value::from(ws_url).to_string())
}

/// A one-page HTTP server on a loopback port, stopped when dropped.
pub struct ReferencePage {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReferencePage {
    /// Serves the page for `ws_url` at `/` on a free loopback port.
    pub fn serve(ws_url: &str) -> Result<ReferencePage, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|err| format!("cannot serve the reference page: {err}"))?;
        let addr = listener.local_addr().map_err(|err| err.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let body: Arc<str> = html(ws_url).into();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                // A thread per connection: Chromium may open a connection it
                // sends nothing on yet (a preconnect), which must not hold up
                // the one that asks for the page.
                if let Ok(stream) = stream {
                    let body = Arc::clone(&body);
                    std::thread::spawn(move || answer(stream, &body));
                }
            }
        });
        Ok(ReferencePage { addr, stop, thread: Some(thread) })
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for ReferencePage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head and answers it: the page at `/`, 404 elsewhere
/// (the browser also asks for `/favicon.ico`).
fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let path = String::from_utf8_lossy(&head).split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (status, content_type, body) = match path.as_str() {
        "/" => ("200 OK", "text/html; charset=utf-8", body),
        _ => ("404 Not Found", "text/plain; charset=utf-8", "not found\n"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_connects_to_the_url_given() {
        let page = html("ws://127.0.0.1:4321/ws");
        assert!(page.contains(r#"new WebSocket("ws://127.0.0.1:4321/ws")"#), "{page}");
        assert!(!page.contains("WS_URL"));
    }

    #[test]
    fn serves_the_page_and_nothing_else() {
        let page = ReferencePage::serve("ws://127.0.0.1:1/ws").unwrap();
        let get = |path: &str| {
            let mut stream = TcpStream::connect(page.addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        };
        let root = get("/");
        assert!(root.starts_with("HTTP/1.1 200 OK\r\n") && root.contains("new WebSocket"), "{root}");
        assert!(get("/favicon.ico").starts_with("HTTP/1.1 404"));
        drop(page);
    }
}
