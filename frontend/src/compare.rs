//! "Compare with polling" in the browser: the same messages over HTTP
//! requests, over periodic polling and over a WebSocket, one way after the
//! other, each message's latency measured and every request and byte counted
//! (the arithmetic is in `wire.rs`).
//!
//! A run is one task. Its [`Run`] owns whatever the task waits on (one timer,
//! the socket's listeners, a socket opened for the run); [`Run::cancel`] drops
//! them and rejects the promise the task is awaiting, so the task ends at once.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{MessageEvent, RequestInit, Response, WebSocket};
use yew::Callback;

use crate::browser::describe_js_error as describe;
use crate::browser::monotonic_ms;
use crate::json;
use crate::wire::{self, Method, Plan, Row, Tally};

/// How long one message may take before the run gives up.
const MESSAGE_TIMEOUT_MS: u32 = 10_000;

/// Where a run sends.
pub struct Target {
    /// The page's origin, for `/api/…`.
    pub origin: String,
    /// The page's open socket on `/ws` or `/ws/lab`, if it has one.
    pub socket: Option<WebSocket>,
    /// Where to open a socket just for the run when it has none.
    pub socket_url: String,
    /// Told each text sent on the page's own socket, so its log pairs the echo.
    pub onsent: Callback<String>,
}

/// What the page shows of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Progress {
    /// One row per method finished.
    pub rows: Vec<Row>,
    /// What is happening, or how it ended.
    pub status: String,
    /// Whether the run goes on.
    pub running: bool,
}

/// A running comparison and everything its task is waiting on.
#[derive(Default)]
pub struct Run {
    cancelled: Cell<bool>,
    /// Settle the promise the task awaits.
    resolve: RefCell<Option<Function>>,
    reject: RefCell<Option<Function>>,
    timer: RefCell<Option<Timeout>>,
    listeners: RefCell<Vec<EventListener>>,
    /// A socket opened for the run.
    socket: RefCell<Option<WebSocket>>,
    /// The text whose echo the task waits for.
    expected: RefCell<String>,
    /// The opening handshake's bytes, from the server's report.
    handshake: Cell<Option<u64>>,
}

/// Starts running `plan`; `onprogress` hears after each method and at the end.
pub fn start(plan: Plan, target: Target, onprogress: Callback<Progress>) -> Rc<Run> {
    let run = Rc::new(Run::default());
    let task = Rc::clone(&run);
    spawn_local(async move {
        let mut rows = Vec::new();
        let result = task.all(plan, &target, &mut rows, &onprogress).await;
        task.release();
        if !task.cancelled.get() {
            let status = match result {
                Ok(()) => "Done.".to_owned(),
                Err(why) => format!("Stopped: {why}"),
            };
            onprogress.emit(Progress { rows, status, running: false });
        }
    });
    run
}

impl Run {
    /// Stops the run: its timer, listeners and socket go, and its task ends.
    pub fn cancel(&self) {
        self.cancelled.set(true);
        self.release();
        self.fail("cancelled");
    }

    /// Each method in turn: every message waits for the one before it to
    /// come back, so each latency is one message's alone.
    async fn all(
        self: &Rc<Self>,
        plan: Plan,
        target: &Target,
        rows: &mut Vec<Row>,
        onprogress: &Callback<Progress>,
    ) -> Result<(), String> {
        let echo = format!("{}/api/echo", target.origin);
        let mailbox = format!("{}/api/mailbox/compare-{}", target.origin, (js_sys::Math::random() * 1e15) as u64);
        let interval = f64::from(plan.interval_ms);
        for method in [Method::Http, Method::Polling, Method::WebSocket] {
            let status = format!("Running: {}…", method.label());
            onprogress.emit(Progress { rows: rows.clone(), status, running: true });
            // The page's own socket, or one opened for the run.
            let socket = match (method, &target.socket) {
                (Method::WebSocket, Some(socket)) => {
                    self.listen(socket);
                    Some(socket.clone())
                }
                (Method::WebSocket, None) => Some(self.open(&target.socket_url).await?),
                _ => None,
            };
            let mut tally = Tally::default();
            let mut next_poll = monotonic_ms() + interval;
            for index in 0..plan.count {
                let text = wire::message(index, plan.size);
                let started = monotonic_ms();
                match (method, &socket) {
                    (Method::Http, _) => drop(self.fetch(&echo, Some(&text), &mut tally).await?),
                    (Method::Polling, _) => {
                        self.fetch(&mailbox, Some(&text), &mut tally).await?;
                        // The poller keeps its own schedule; a tick missed while
                        // a request was out is skipped, not made up.
                        while !self.poll(&mailbox, &text, &mut tally, &mut next_poll, interval).await? {
                            if monotonic_ms() - started > f64::from(MESSAGE_TIMEOUT_MS) {
                                return Err(format!("message {index} was not polled within 10 s"));
                            }
                        }
                    }
                    (_, socket) => {
                        let socket = socket.as_ref().ok_or("no socket")?;
                        *self.expected.borrow_mut() = text.clone();
                        let echoed = self.pending();
                        self.deadline("no echo within 10 s");
                        socket.send_with_str(&text).map_err(describe)?;
                        if target.socket.is_some() {
                            target.onsent.emit(text.clone());
                        }
                        echoed.await.map_err(reason)?;
                        tally.bytes += wire::websocket_echo_bytes(text.len());
                    }
                }
                tally.latencies.push(monotonic_ms() - started);
            }
            let note = match (method, &target.socket, self.handshake.get()) {
                (Method::WebSocket, Some(_), _) => "the page's socket, already open: no handshake counted".to_owned(),
                (Method::WebSocket, None, Some(handshake)) => {
                    tally.bytes += handshake;
                    format!("a socket opened for the run: its {handshake}-byte handshake included")
                }
                (Method::WebSocket, None, None) => "a socket opened for the run: no handshake report".to_owned(),
                _ => String::new(),
            };
            rows.push(Row::new(method, &tally, note));
        }
        Ok(())
    }

    /// Waits for the next poll and makes it; whether it returned `text`.
    async fn poll(
        self: &Rc<Self>,
        mailbox: &str,
        text: &str,
        tally: &mut Tally,
        next_poll: &mut f64,
        interval: f64,
    ) -> Result<bool, String> {
        self.sleep((*next_poll - monotonic_ms()).max(0.0) as u32).await?;
        *next_poll = (*next_poll + interval).max(monotonic_ms());
        let body = self.fetch(mailbox, None, tally).await?;
        let items = json::parse(&body).ok();
        Ok(items
            .as_ref()
            .and_then(json::Value::as_array)
            .unwrap_or_default()
            .iter()
            .any(|item| item.as_str() == Some(text)))
    }

    /// Opens a socket for the run, with the handshake report asked for.
    async fn open(self: &Rc<Self>, url: &str) -> Result<WebSocket, String> {
        let socket = WebSocket::new(url).map_err(describe)?;
        *self.socket.borrow_mut() = Some(socket.clone());
        let opened = self.pending();
        let weak = Rc::downgrade(self);
        self.listeners
            .borrow_mut()
            .push(EventListener::new(&socket, "open", move |_| with(&weak, |run| run.wake(&JsValue::UNDEFINED))));
        // The report is the first message, so it is listened for before `open`.
        self.listen(&socket);
        self.deadline("the socket did not open within 10 s");
        opened.await.map_err(reason)?;
        Ok(socket)
    }

    /// Listens for echoes (and the handshake report) and for the socket closing.
    fn listen(self: &Rc<Self>, socket: &WebSocket) {
        let weak = Rc::downgrade(self);
        let message = EventListener::new(socket, "message", move |event| {
            let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|event| event.data().as_string()) else {
                return;
            };
            with(&weak, |run| {
                if let Some(bytes) = wire::handshake_bytes(&text) {
                    run.handshake.set(Some(bytes));
                } else if *run.expected.borrow() == text {
                    run.wake(&JsValue::UNDEFINED);
                }
            });
        });
        let weak = Rc::downgrade(self);
        let close = EventListener::new(socket, "close", move |_| with(&weak, |run| run.fail("the socket closed")));
        self.listeners.borrow_mut().extend([message, close]);
    }

    /// A `fetch` of `url` (POST with `body`, else GET) counted in `tally`; the
    /// response's text, or why there is none.
    async fn fetch(&self, url: &str, body: Option<&str>, tally: &mut Tally) -> Result<String, String> {
        let init = RequestInit::new();
        if let Some(body) = body {
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
        }
        let response: Response = JsFuture::from(gloo::utils::window().fetch_with_str_and_init(url, &init))
            .await
            .map_err(describe)?
            .unchecked_into();
        let text =
            JsFuture::from(response.text().map_err(describe)?).await.map_err(describe)?.as_string().unwrap_or_default();
        if self.cancelled.get() {
            return Err("cancelled".to_owned());
        }
        if !response.ok() {
            return Err(format!("{url} answered {} {}", response.status(), response.status_text()));
        }
        let headers = response.headers();
        let request_head =
            headers.get("x-request-header-bytes").ok().flatten().and_then(|bytes| bytes.parse().ok()).unwrap_or(0);
        // `Array.from(headers)` lists them as [name, value] pairs.
        let pairs: Vec<(String, String)> = js_sys::Array::from(&headers)
            .iter()
            .map(|pair| {
                let pair: js_sys::Array = pair.unchecked_into();
                (pair.get(0).as_string().unwrap_or_default(), pair.get(1).as_string().unwrap_or_default())
            })
            .collect();
        let status = wire::status_line(response.status(), &response.status_text());
        let response_head =
            wire::head_bytes(&status, pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        tally.exchange(request_head, body.map_or(0, str::len), response_head, text.len());
        Ok(text)
    }

    /// Waits `ms` on a timer this run owns.
    async fn sleep(self: &Rc<Self>, ms: u32) -> Result<(), String> {
        let done = self.pending();
        let weak = Rc::downgrade(self);
        *self.timer.borrow_mut() = Some(Timeout::new(ms, move || with(&weak, |run| run.wake(&JsValue::UNDEFINED))));
        done.await.map(drop).map_err(reason)
    }

    /// Fails the current wait with `why` unless it ends first.
    fn deadline(self: &Rc<Self>, why: &'static str) {
        let weak = Rc::downgrade(self);
        *self.timer.borrow_mut() = Some(Timeout::new(MESSAGE_TIMEOUT_MS, move || with(&weak, |run| run.fail(why))));
    }

    /// A promise for the task to await, settled by [`Run::wake`] or [`Run::fail`].
    fn pending(&self) -> JsFuture {
        let promise = Promise::new(&mut |resolve, reject| {
            *self.resolve.borrow_mut() = Some(resolve);
            *self.reject.borrow_mut() = Some(reject);
        });
        JsFuture::from(promise)
    }

    fn wake(&self, value: &JsValue) {
        self.reject.take();
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call1(&JsValue::UNDEFINED, value);
        }
    }

    fn fail(&self, why: &str) {
        self.resolve.take();
        if let Some(reject) = self.reject.take() {
            let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str(why));
        }
    }

    /// Drops the timer and listeners and closes a socket opened for the run.
    fn release(&self) {
        drop(self.timer.take());
        self.listeners.take();
        if let Some(socket) = self.socket.take() {
            let _ = socket.close();
        }
    }
}

/// The text at `url` (a GET), or why there is none.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    let response: Response =
        JsFuture::from(gloo::utils::window().fetch_with_str(url)).await.map_err(describe)?.unchecked_into();
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(describe)?).await.map_err(describe)?;
    Ok(text.as_string().unwrap_or_default())
}

/// Runs `action` on the run if it still exists.
fn with(run: &Weak<Run>, action: impl FnOnce(&Run)) {
    if let Some(run) = run.upgrade() {
        action(&run);
    }
}

/// A rejected wait's reason, as [`Run::fail`] gave it.
fn reason(value: JsValue) -> String {
    value.as_string().unwrap_or_else(|| describe(value))
}
