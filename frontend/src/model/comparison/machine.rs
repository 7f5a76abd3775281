//! "Compare with polling" as a pure state machine: it says what the browser
//! should do next ([`Step`]) and is told what came of it, so the whole order of
//! a run (three methods, each message after the last came back, the poller's
//! schedule, the timeouts) is tested natively. The browser's runner
//! (`browser/comparison_runner.rs`) carries the steps out.
//!
//! A socket opened for the run is on `/ws/lab` and asks for its sizes reports
//! (`/sizes on`), so that when the socket compresses (permessage-deflate) the
//! row counts the bytes the frames really took, as the server measured them,
//! with the uncompressed figure in the note. The page's own socket is used
//! only when it does not compress, and its frames are counted.

use crate::model::comparison::plan::{self, Method, Plan};
use crate::model::comparison::results::{Row, Tally};
use crate::model::comparison::wire::{self, Sizes};
use crate::model::stats::Sort;
use crate::util::json::{self, Value};

/// The methods, in the order they run.
const METHODS: [Method; 3] = [Method::Http, Method::Polling, Method::WebSocket];
/// How long one message may take before the run gives up, ms.
pub const MESSAGE_TIMEOUT_MS: f64 = 10_000.0;

/// What the browser should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `fetch(url)`: a POST of `body`, or a GET without one. Answer with
    /// [`Comparison::on_response`].
    Fetch {
        /// Where.
        url: String,
        /// The POST body.
        body: Option<String>,
    },
    /// Wait this many ms, then call [`Comparison::on_timer`].
    Wait(u32),
    /// Open a socket for the run; answer with [`Comparison::on_open`].
    Open(String),
    /// Send this text on the socket; its echo goes to [`Comparison::on_message`].
    Send(String),
    /// Nothing until a message arrives.
    Listen,
    /// The run is over: the rows are complete.
    Done,
    /// The run stopped, for this reason.
    Failed(String),
}

/// One run of the comparison.
#[derive(Debug)]
pub struct Comparison {
    plan: Plan,
    echo_url: String,
    mailbox_url: String,
    /// Where to open a socket; `None` when the page's own socket is used.
    socket_url: Option<String>,
    /// Which of [`METHODS`] is running.
    method: usize,
    /// Which message, and its text.
    index: usize,
    text: String,
    started_ms: f64,
    /// Polling: whether the message is in the mailbox, and the next poll's time.
    posted: bool,
    next_poll_ms: f64,
    socket_open: bool,
    handshake: Option<u64>,
    /// The lab has said it reports sizes on the run's own socket; then each
    /// message is done when its sizes report arrives, after the echo (`echoed`).
    sizes_on: bool,
    echoed: bool,
    /// Bytes on the wire as the lab's reports gave them, and whether any
    /// message went compressed.
    wire: u64,
    compressed: bool,
    tally: Tally,
    sort: Sort,
    /// One row per method finished.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// A run of `plan` against `origin`, polling the mailbox `mailbox`, over the
    /// page's socket or (with `socket_url`, the lab's) one opened for the run;
    /// `sort` sorts the latencies for each row's median.
    pub fn new(plan: Plan, origin: &str, mailbox: &str, socket_url: Option<String>, sort: Sort) -> Comparison {
        Comparison {
            plan,
            echo_url: format!("{origin}/api/echo"),
            mailbox_url: format!("{origin}/api/mailbox/{mailbox}"),
            socket_url,
            method: 0,
            index: 0,
            text: String::new(),
            started_ms: 0.0,
            posted: false,
            next_poll_ms: 0.0,
            socket_open: false,
            handshake: None,
            sizes_on: false,
            echoed: false,
            wire: 0,
            compressed: false,
            tally: Tally::default(),
            sort,
            rows: Vec::new(),
        }
    }

    /// The method running now (the last one once done).
    pub fn method(&self) -> Method {
        METHODS[self.method.min(METHODS.len() - 1)]
    }

    /// The first step, at `now_ms`.
    pub fn start(&mut self, now_ms: f64) -> Step {
        self.message(now_ms)
    }

    /// A fetch answered: the sizes of the request and response heads and the
    /// response's body.
    pub fn on_response(&mut self, now_ms: f64, request_head: u64, response_head: u64, body: &str) -> Step {
        let sent = match self.method() {
            Method::Polling if self.posted => 0,
            _ => self.text.len(),
        };
        self.tally.exchange(request_head, sent, response_head, body.len());
        match self.method() {
            Method::Polling if !self.posted => {
                self.posted = true;
                self.next_poll(now_ms)
            }
            Method::Polling if !mailbox_holds(body, &self.text) => {
                if now_ms - self.started_ms > MESSAGE_TIMEOUT_MS {
                    return Step::Failed(format!("message {} was not polled within 10 s", self.index));
                }
                self.next_poll(now_ms)
            }
            _ => self.answered(now_ms),
        }
    }

    /// The timer of a [`Step::Wait`] fired: time to poll.
    pub fn on_timer(&mut self, now_ms: f64) -> Step {
        // The poller keeps its own schedule; a tick missed while a request was
        // out is skipped, not made up.
        self.next_poll_ms = (self.next_poll_ms + f64::from(self.plan.interval_ms)).max(now_ms);
        Step::Fetch { url: self.mailbox_url.clone(), body: None }
    }

    /// The run's own socket opened.
    pub fn on_open(&mut self, now_ms: f64) -> Step {
        self.socket_open = true;
        self.message(now_ms)
    }

    /// A message arrived on the socket: the handshake report, the echo awaited
    /// (the next step, or its sizes report first on the lab), a sizes report,
    /// or something else (nothing to do).
    pub fn on_message(&mut self, now_ms: f64, text: &str) -> Step {
        if let Some(bytes) = wire::handshake_bytes(text) {
            self.handshake = Some(bytes);
            return Step::Listen;
        }
        if self.method() != Method::WebSocket {
            return Step::Listen;
        }
        if text == self.text && !self.echoed {
            self.tally.bytes += wire::websocket_echo_bytes(text.len());
            self.tally.latencies.push(now_ms - self.started_ms);
            if !self.sizes_on {
                return self.next(now_ms);
            }
            self.echoed = true;
            return Step::Listen;
        }
        match wire::sizes(text) {
            // Only now is the first message sent, so that no latency includes the command.
            Some(Sizes::Switched(true)) => {
                self.sizes_on = true;
                self.message(now_ms)
            }
            Some(Sizes::Echo { wire, compressed }) if self.echoed => {
                self.echoed = false;
                self.wire += wire;
                self.compressed |= compressed;
                self.next(now_ms)
            }
            _ => Step::Listen,
        }
    }

    /// The current message came back: count it and go on.
    fn answered(&mut self, now_ms: f64) -> Step {
        self.tally.latencies.push(now_ms - self.started_ms);
        self.next(now_ms)
    }

    /// The next message, method, or the end.
    fn next(&mut self, now_ms: f64) -> Step {
        self.index += 1;
        if self.index == self.plan.count {
            let note = self.note();
            self.rows.push(Row::new(self.method(), &std::mem::take(&mut self.tally), note, self.sort));
            self.method += 1;
            self.index = 0;
            if self.method == METHODS.len() {
                return Step::Done;
            }
            self.next_poll_ms = now_ms + f64::from(self.plan.interval_ms);
        }
        self.message(now_ms)
    }

    /// Sends the current message by the current method.
    fn message(&mut self, now_ms: f64) -> Step {
        self.text = plan::message(self.index, self.plan.size);
        self.started_ms = now_ms;
        self.posted = false;
        match self.method() {
            Method::Http => Step::Fetch { url: self.echo_url.clone(), body: Some(self.text.clone()) },
            Method::Polling => Step::Fetch { url: self.mailbox_url.clone(), body: Some(self.text.clone()) },
            Method::WebSocket => match &self.socket_url {
                Some(url) if !self.socket_open => Step::Open(url.clone()),
                Some(_) if !self.sizes_on => Step::Send("/sizes on".to_owned()),
                _ => Step::Send(self.text.clone()),
            },
        }
    }

    fn next_poll(&self, now_ms: f64) -> Step {
        Step::Wait((self.next_poll_ms - now_ms).max(0.0) as u32)
    }

    /// What the WebSocket row's bytes include; its bytes are the measured
    /// ones when the messages went compressed.
    fn note(&mut self) -> String {
        let (handshake, mut note) = match (self.method(), &self.socket_url, self.handshake) {
            (Method::WebSocket, None, _) => (0, "the page's socket, already open: no handshake counted".to_owned()),
            (Method::WebSocket, Some(_), Some(handshake)) => {
                (handshake, format!("a socket opened for the run: its {handshake}-byte handshake included"))
            }
            (Method::WebSocket, Some(_), None) => (0, "a socket opened for the run: no handshake report".to_owned()),
            _ => return String::new(),
        };
        let uncompressed = self.tally.bytes + handshake;
        self.tally.bytes = uncompressed;
        if self.compressed {
            self.tally.bytes = self.wire + handshake;
            note += &format!("; compressed (permessage-deflate): {uncompressed} uncompressed");
        }
        note
    }
}

/// Whether a mailbox's answer (a JSON array of strings) holds `text`.
fn mailbox_holds(body: &str, text: &str) -> bool {
    let items = json::parse(body).ok();
    items.as_ref().and_then(Value::as_array).unwrap_or_default().iter().any(|item| item.as_str() == Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::sorted;

    fn plan(count: usize) -> Plan {
        Plan { count, size: 4, interval_ms: 100 }
    }

    fn post(url: &str, body: &str) -> Step {
        Step::Fetch { url: url.into(), body: Some(body.into()) }
    }

    /// Runs the HTTP and polling parts of a one-message run: the step that
    /// begins the WebSocket part.
    fn to_websocket(run: &mut Comparison) -> Step {
        run.start(0.0);
        run.on_response(1.0, 1, 1, "0:xx");
        run.on_response(2.0, 1, 1, "");
        run.on_timer(100.0);
        run.on_response(101.0, 1, 1, r#"["0:xx"]"#)
    }

    const REPORT: &str = r#"{"server":"handshake","request":{"line":"GET / HTTP/1.1","headers":[]},
            "response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[]}}"#;
    const HANDSHAKE_BYTES: u64 = (14 + 4) + (32 + 4);

    const ECHO: &str = "http://h/api/echo";
    const MAILBOX: &str = "http://h/api/mailbox/m";

    #[test]
    fn a_run_goes_through_the_three_methods_in_order() {
        let mut run = Comparison::new(plan(2), "http://h", "m", None, sorted);
        // HTTP: one request per message, the latency its round trip.
        assert_eq!(run.start(0.0), post(ECHO, "0:xx"));
        assert_eq!(run.on_response(3.0, 100, 80, "0:xx"), post(ECHO, "1:xx"));
        assert_eq!(run.on_response(7.0, 100, 80, "1:xx"), post(MAILBOX, "0:xx"));
        assert_eq!(run.rows[0].requests, 2);
        assert_eq!(run.rows[0].bytes, 2 * (100 + 4 + 80 + 4));
        assert_eq!((run.rows[0].median_ms, run.rows[0].max_ms), (3.0, 4.0));
        // Polling: the POST, then polls on the schedule until one returns it.
        assert_eq!(run.on_response(8.0, 100, 60, ""), Step::Wait(99));
        assert_eq!(run.on_timer(107.0), Step::Fetch { url: MAILBOX.into(), body: None });
        assert_eq!(run.on_response(109.0, 90, 70, "[]"), Step::Wait(98));
        assert_eq!(run.on_timer(207.0), Step::Fetch { url: MAILBOX.into(), body: None });
        assert_eq!(run.on_response(209.0, 90, 70, r#"["0:xx"]"#), post(MAILBOX, "1:xx"));
        assert_eq!(run.on_response(210.0, 100, 60, ""), Step::Wait(97), "the poller's schedule goes on");
        assert_eq!(run.on_timer(307.0), Step::Fetch { url: MAILBOX.into(), body: None });
        // The page's socket is already open: no Open step.
        assert_eq!(run.on_response(309.0, 90, 70, r#"["1:xx"]"#), Step::Send("0:xx".into()));
        let polling = &run.rows[1];
        assert_eq!(polling.requests, 5, "two POSTs and three polls, the empty one included");
        assert_eq!((polling.median_ms, polling.max_ms), (100.0, 202.0));
        assert_eq!(run.on_message(309.5, "other"), Step::Listen, "not the echo awaited");
        assert_eq!(run.on_message(310.0, "0:xx"), Step::Send("1:xx".into()));
        assert_eq!(run.on_message(311.0, "1:xx"), Step::Done);
        let websocket = &run.rows[2];
        assert_eq!((websocket.requests, websocket.bytes), (0, 2 * (6 + 4 + 2 + 4)));
        assert!(websocket.note.contains("no handshake counted"));
    }

    #[test]
    fn a_socket_opened_for_the_run_counts_its_handshake_and_the_frames_the_lab_measured() {
        const LAB: &str = "ws://h/ws/lab?inspect";
        let mut run = Comparison::new(plan(1), "http://h", "m", Some(LAB.into()), sorted);
        assert_eq!(to_websocket(&mut run), Step::Open(LAB.into()));
        // Sizes are asked for first, and the message waits for the answer.
        assert_eq!(run.on_open(150.0), Step::Send("/sizes on".into()));
        assert_eq!(run.on_message(150.5, REPORT), Step::Listen);
        assert_eq!(run.on_message(151.0, r#"{"server":"sizes","on":true}"#), Step::Send("0:xx".into()));
        // The message is done when its sizes report follows its echo.
        assert_eq!(run.on_message(152.0, "0:xx"), Step::Listen);
        let plain = r#"{"server":"sizes","bytes":4,"wire_in":10,"wire_out":6,"compressed":false}"#;
        assert_eq!(run.on_message(152.1, plain), Step::Done);
        let websocket = &run.rows[2];
        assert_eq!(websocket.median_ms, 1.0, "neither the opening nor the command is part of the latency");
        assert_eq!(websocket.bytes, 16 + HANDSHAKE_BYTES, "uncompressed: the frames as counted");
        assert_eq!(websocket.note, "a socket opened for the run: its 54-byte handshake included");
    }

    #[test]
    fn a_message_never_polled_stops_the_run() {
        let mut run = Comparison::new(plan(1), "http://h", "m", None, sorted);
        run.start(0.0);
        run.on_response(1.0, 1, 1, "0:xx");
        run.on_response(2.0, 1, 1, "");
        run.on_timer(100.0);
        assert_eq!(run.on_response(101.0, 1, 1, "[]"), Step::Wait(100));
        run.on_timer(10_100.0);
        let step = run.on_response(10_101.0, 1, 1, "not json");
        assert_eq!(step, Step::Failed("message 0 was not polled within 10 s".into()));
    }

    #[test]
    fn on_the_lab_a_compressed_run_counts_the_bytes_the_server_measured() {
        let mut run = Comparison::new(plan(2), "http://h", "m", Some("ws://h/ws/lab?inspect".into()), sorted);
        run.start(0.0);
        run.on_response(1.0, 1, 1, "0:xx");
        run.on_response(2.0, 1, 1, "1:xx");
        run.on_response(3.0, 1, 1, "");
        run.on_timer(103.0);
        run.on_response(104.0, 1, 1, r#"["0:xx"]"#);
        run.on_response(105.0, 1, 1, "");
        run.on_timer(203.0);
        assert_eq!(run.on_response(204.0, 1, 1, r#"["1:xx"]"#), Step::Open("ws://h/ws/lab?inspect".into()));
        assert_eq!(run.on_open(250.0), Step::Send("/sizes on".into()));
        assert_eq!(run.on_message(250.5, REPORT), Step::Listen);
        assert_eq!(run.on_message(251.0, r#"{"server":"sizes","on":true}"#), Step::Send("0:xx".into()));
        assert_eq!(run.on_message(252.0, "0:xx"), Step::Listen);
        let sizes = |wire_in: u64, wire_out: u64| {
            format!(r#"{{"server":"sizes","bytes":4,"wire_in":{wire_in},"wire_out":{wire_out},"compressed":true}}"#)
        };
        assert_eq!(run.on_message(252.5, &sizes(12, 8)), Step::Send("1:xx".into()));
        assert_eq!(run.on_message(256.5, "1:xx"), Step::Listen);
        assert_eq!(run.on_message(256.1, &sizes(11, 7)), Step::Done);
        let websocket = &run.rows[2];
        assert_eq!((websocket.median_ms, websocket.max_ms), (1.0, 4.0), "{websocket:?}");
        assert_eq!(websocket.bytes, 38 + HANDSHAKE_BYTES);
        let uncompressed = 2 * 16 + HANDSHAKE_BYTES;
        assert!(
            websocket.note.ends_with(&format!("(permessage-deflate): {uncompressed} uncompressed")),
            "{}",
            websocket.note
        );
    }
}
