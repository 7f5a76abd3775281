//! "Compare with polling" in the browser: carries out the steps of a
//! [`Comparison`] (fetches, the poller's timer, the socket) and tells it what
//! came of each. The order of a run and its arithmetic are in
//! `model/comparison/`; this runner only touches the browser.
//!
//! A [`Run`] owns its timer, its socket listeners, a socket opened for it and
//! its [`Fetcher`]; [`Run::cancel`] stops it where it is.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Response, WebSocket};

use crate::browser::borrowed::sorted;
use crate::browser::clock::monotonic_ms;
use crate::browser::fetch::Fetcher;
use crate::browser::{describe_js_error as describe, with};
use crate::model::comparison::machine::{Comparison, Step};
use crate::model::comparison::plan::Plan;
use crate::model::comparison::results::Row;
use crate::model::comparison::wire;

/// Where a run sends.
pub struct Target {
    /// The page's origin, for `/api/…`.
    pub origin: String,
    /// The page's open socket on `/ws` or `/ws/lab`, if it has one.
    pub socket: Option<WebSocket>,
    /// Where to open a socket just for the run when it has none (the lab's,
    /// which reports what compressed messages take on the wire).
    pub socket_url: String,
    /// Told each text sent on the page's own socket, so its log pairs the echo.
    pub onsent: Rc<dyn Fn(String)>,
}

/// What the page shows of a run.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// One row per method finished.
    pub rows: Vec<Row>,
    /// What is happening, or how it ended.
    pub status: String,
    /// Whether the run goes on.
    pub running: bool,
}

/// A running comparison and everything it waits on.
pub struct Run {
    machine: RefCell<Comparison>,
    fetcher: Rc<Fetcher>,
    onprogress: Rc<dyn Fn(Progress)>,
    onsent: Rc<dyn Fn(String)>,
    /// The page's socket, or the run's own once it is opening.
    socket: RefCell<Option<WebSocket>>,
    /// Whether the socket was opened for the run (and is closed with it).
    own: bool,
    timer: RefCell<Option<Timeout>>,
    listeners: RefCell<Vec<EventListener>>,
    /// How many rows the page has been shown.
    shown: Cell<usize>,
    stopped: Cell<bool>,
}

/// Starts running `plan`; `onprogress` hears when each method begins and at the end.
pub fn start(plan: Plan, target: Target, onprogress: Rc<dyn Fn(Progress)>) -> Rc<Run> {
    let mailbox = format!("compare-{}", (js_sys::Math::random() * 1e15) as u64);
    let own = target.socket.is_none();
    let socket_url = own.then_some(target.socket_url);
    let run = Rc::new_cyclic(|this: &Weak<Run>| {
        let (done, failed) = (this.clone(), this.clone());
        Run {
            machine: RefCell::new(Comparison::new(plan, &target.origin, &mailbox, socket_url, sorted)),
            fetcher: Fetcher::new(
                Box::new(move |response, body| {
                    with(&done, |run| {
                        let (request_head, response_head) = heads(response);
                        let step =
                            run.machine.borrow_mut().on_response(monotonic_ms(), request_head, response_head, &body);
                        run.next(step);
                    })
                }),
                Rc::new(move |why| with(&failed, |run| run.finish(format!("Stopped: {why}")))),
            ),
            onprogress,
            onsent: target.onsent,
            socket: RefCell::new(target.socket),
            own,
            timer: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            shown: Cell::new(usize::MAX),
            stopped: Cell::new(false),
        }
    });
    let step = run.machine.borrow_mut().start(monotonic_ms());
    run.next(step);
    run
}

impl Run {
    /// Stops the run: its timer, listeners and socket go; a fetch still out is
    /// ignored when it comes back.
    pub fn cancel(&self) {
        self.stopped.set(true);
        self.release();
    }

    /// Does what the machine says next. (One function, not one per kind of
    /// news, so that its body is compiled once.)
    fn next(self: &Rc<Self>, step: Step) {
        if self.stopped.get() {
            return;
        }
        let (rows, method) = {
            let machine = self.machine.borrow();
            (machine.rows.clone(), machine.method())
        };
        if rows.len() != self.shown.get() && !matches!(step, Step::Done | Step::Failed(_)) {
            self.shown.set(rows.len());
            (self.onprogress)(Progress { rows, status: format!("Running: {}…", method.label()), running: true });
        }
        match step {
            Step::Fetch { url, body } => self.fetcher.fetch(&url, body.as_deref()),
            Step::Wait(ms) => {
                let this = Rc::downgrade(self);
                let timer = Timeout::new(ms, move || {
                    with(&this, |run| {
                        let step = run.machine.borrow_mut().on_timer(monotonic_ms());
                        run.next(step);
                    })
                });
                *self.timer.borrow_mut() = Some(timer);
            }
            Step::Open(url) => match WebSocket::new(&url) {
                Ok(socket) => {
                    let this = Rc::downgrade(self);
                    let open = EventListener::new(&socket, "open", move |_| {
                        with(&this, |run| {
                            let step = run.machine.borrow_mut().on_open(monotonic_ms());
                            run.next(step);
                        })
                    });
                    // The handshake report is the first message: listened for before `open`.
                    self.listen(&socket);
                    self.listeners.borrow_mut().push(open);
                    *self.socket.borrow_mut() = Some(socket);
                }
                Err(error) => self.finish(format!("Stopped: {}", describe(error))),
            },
            Step::Send(text) => {
                if self.listeners.borrow().is_empty() {
                    if let Some(socket) = self.socket.borrow().as_ref() {
                        self.listen(socket);
                    }
                }
                let sent = self.socket.borrow().as_ref().map(|socket| socket.send_with_str(&text));
                match sent {
                    Some(Ok(())) if !self.own => (self.onsent)(text),
                    Some(Ok(())) => {}
                    Some(Err(error)) => self.finish(format!("Stopped: {}", describe(error))),
                    None => self.finish("Stopped: no socket".to_owned()),
                }
            }
            Step::Listen => {}
            Step::Done => self.finish("Done.".to_owned()),
            Step::Failed(why) => self.finish(format!("Stopped: {why}")),
        }
    }

    /// Listens for echoes (and the handshake report) and for the socket closing.
    fn listen(self: &Rc<Self>, socket: &WebSocket) {
        let this = Rc::downgrade(self);
        let message = EventListener::new(socket, "message", move |event| {
            if let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|event| event.data().as_string()) {
                with(&this, |run| {
                    let step = run.machine.borrow_mut().on_message(monotonic_ms(), &text);
                    run.next(step);
                });
            }
        });
        let this = Rc::downgrade(self);
        let close = EventListener::new(socket, "close", move |_| {
            with(&this, |run| run.finish("Stopped: the socket closed".to_owned()))
        });
        self.listeners.borrow_mut().extend([message, close]);
    }

    /// Ends the run with `status`.
    fn finish(&self, status: String) {
        if self.stopped.replace(true) {
            return;
        }
        self.release();
        let rows = self.machine.borrow().rows.clone();
        (self.onprogress)(Progress { rows, status, running: false });
    }

    /// Drops the timer and listeners and closes a socket opened for the run.
    fn release(&self) {
        drop(self.timer.take());
        self.listeners.take();
        let socket = self.socket.take();
        if let Some(socket) = socket.filter(|_| self.own) {
            let _ = socket.close();
        }
    }
}

/// The sizes of an exchange's request head (as the server counted it, in
/// `x-request-header-bytes`) and response head (from the status line and the
/// headers `fetch` shows).
fn heads(response: &Response) -> (u64, u64) {
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
    (request_head, wire::head_bytes(&status, pairs.iter().map(|(name, value)| (name.as_str(), value.as_str()))))
}
