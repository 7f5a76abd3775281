//! The first stage in the browser: its elements, the first socket, and the
//! hand-over to the app.
//!
//! The hand-over object, `window.echoFirstStage`, is the contract with the
//! app (`frontend/src/browser/first_stage.rs` reads it):
//! - `socket`: the `WebSocket`, once Connect was pressed;
//! - `log`: every step, oldest first, each an array: `["connecting",
//!   readyState, at]`, `["event", event, readyState, bufferedAmount, at, wall]`,
//!   `["sent", text, at, wall]` or `["failed", message]`, where `at` is
//!   `performance.now()` and `wall` is `Date.now()`;
//! - `delays`: how long each socket event waited for the frame that drew it (ms);
//! - `release()`: stops the stage (its listeners, timers and elements) and
//!   leaves the Message box's text in `draft`. The app calls it and attaches
//!   its own listeners in the same task, so no event falls between the two.
//!
//! The app's loader (`Trunk.toml`) starts the app when the stage calls
//! `window.echoStartApp()`, or at once if the stage set `window.echoWantsApp`
//! before the loader ran (or never started).

use std::cell::RefCell;
use std::collections::VecDeque;

use gloo_events::EventListener;
use gloo_render::{request_animation_frame, AnimationFrame};
use gloo_timers::callback::Timeout;
use js_sys::{Array, Date, Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Element, Event, HtmlTextAreaElement, KeyboardEvent, MessageEvent, WebSocket};

use crate::text::{self, Row, Target};

/// How long nobody must be waiting on the socket (nothing opening or closing,
/// no echo due) before the stage asks for the app: long enough that an echo
/// asked for right after `open` is not held back by the app's start, far
/// shorter than a person takes to read the first rows.
pub const QUIET_MS: u32 = 100;

/// Past this many entries the stage asks for the app at once: a busy socket
/// deserves the app's batching and its log tools.
const MOST_ENTRIES: u64 = 40;

thread_local! {
    /// The running stage; `None` before it starts and once released.
    static STAGE: RefCell<Option<Stage>> = const { RefCell::new(None) };
    /// `release()`, kept until it has run.
    static RELEASE: RefCell<Option<Closure<dyn FnMut()>>> = const { RefCell::new(None) };
}

struct Stage {
    target: Target,
    handover: Object,
    log: Array,
    delays: Array,
    root: Element,
    connect: Element,
    send: Element,
    message: HtmlTextAreaElement,
    notice: Element,
    rows: Element,
    socket: Option<WebSocket>,
    /// The socket's four listeners; dropping them detaches them.
    socket_listeners: Vec<EventListener>,
    /// Connect's, Send's and the Message box's; held only to be dropped with the stage.
    _page_listeners: Vec<EventListener>,
    /// Asks for the app when it fires; dropped whenever someone starts waiting.
    quiet: Option<Timeout>,
    /// The frame that draws the events drawn since the last one.
    frame: Option<AnimationFrame>,
    /// When each of those events arrived.
    arrivals: Vec<f64>,
    next_id: u64,
    /// Sends waiting for their echo: their entry's number and when they left.
    pending: VecDeque<(u64, f64)>,
    app_asked: bool,
}

/// Draws the stage and waits for Connect; asks for the app at once when the
/// page has nowhere to draw it.
pub fn start() {
    let window = gloo_utils::window();
    let document = gloo_utils::document();
    let (Some(body), Ok(root)) = (document.body(), document.create_element("main")) else {
        return ask_for_app();
    };
    let location = window.location();
    let note =
        window.local_storage().ok().flatten().and_then(|storage| storage.get_item(text::NOTE_KEY).ok().flatten());
    let target = note.as_deref().and_then(text::parse_note).unwrap_or_else(|| {
        text::default_target(&location.protocol().unwrap_or_default(), &location.host().unwrap_or_default())
    });
    root.set_class_name("app boot");
    root.set_inner_html(&markup(&target.url));
    if body.append_child(&root).is_err() {
        return ask_for_app();
    }
    let find = |id: &str| document.get_element_by_id(id);
    let (Some(connect), Some(send), Some(message), Some(notice), Some(rows)) =
        (find("boot-connect"), find("boot-send"), find("message"), find("boot-notice"), find("boot-log"))
    else {
        root.remove();
        return ask_for_app();
    };
    let (handover, log, delays) = (Object::new(), Array::new(), Array::new());
    set(&handover, "log", &log);
    set(&handover, "delays", &delays);
    let release = Closure::<dyn FnMut()>::new(release);
    set(&handover, "release", release.as_ref());
    RELEASE.with(|slot| *slot.borrow_mut() = Some(release));
    set(&window, "echoFirstStage", &handover);
    let listen = |target: &Element, name: &'static str, act: fn(&mut Stage, &Event)| {
        EventListener::new(target, name, move |event| {
            with_stage(|stage| act(stage, event));
        })
    };
    let page_listeners = vec![
        listen(&connect, "click", |stage, _| stage.connect()),
        listen(&send, "click", |stage, _| stage.send()),
        listen(&message, "keydown", |stage, event| {
            let enter = event
                .dyn_ref::<KeyboardEvent>()
                .is_some_and(|key| key.key() == "Enter" && !key.shift_key() && !key.is_composing());
            if enter {
                event.prevent_default();
                stage.send();
            }
        }),
    ];
    let mut stage = Stage {
        target,
        handover,
        log,
        delays,
        root,
        connect,
        send,
        message: message.unchecked_into(),
        notice,
        rows,
        socket: None,
        socket_listeners: Vec::new(),
        _page_listeners: page_listeners,
        quiet: None,
        frame: None,
        arrivals: Vec::new(),
        next_id: 1,
        pending: VecDeque::new(),
        app_asked: false,
    };
    stage.settle();
    STAGE.with(|slot| *slot.borrow_mut() = Some(stage));
}

/// The stage's elements, with the app's classes so that it looks like the top
/// of the app it turns into.
fn markup(url: &str) -> String {
    let mut markup = String::from(
        "<header><h1>WebSocket echo</h1></header><div class=connect-bar><div class=row>\
         <label for=boot-url>URL</label><input id=boot-url type=url readonly value=\"",
    );
    markup += &text::escape_html(url);
    markup += "\"><button type=button id=boot-connect>Connect</button></div></div>\
               <p class=notice role=alert id=boot-notice hidden></p><div class=composer><div class=row>\
               <label for=message>Message</label><textarea id=message rows=2 autocomplete=off spellcheck=false>\
               </textarea><button type=button id=boot-send disabled>Send</button></div></div>\
               <section class=log-panel><ol class=log role=log aria-label=\"Event log\" id=boot-log></ol></section>";
    markup
}

impl Stage {
    fn connect(&mut self) {
        if self.socket.as_ref().is_some_and(|socket| socket.ready_state() != WebSocket::CLOSED) {
            return;
        }
        let protocols: Array = self.target.protocols.iter().map(|name| JsValue::from_str(name)).collect();
        let socket = match WebSocket::new_with_str_sequence(&self.target.url, &protocols) {
            Ok(socket) => socket,
            Err(error) => {
                let mut message = String::from("Could not connect: ");
                message += &describe(&error);
                self.log.push(&Array::of2(&"failed".into(), &JsValue::from_str(&message)));
                self.notice.set_text_content(Some(&message));
                let _ = self.notice.remove_attribute("hidden");
                return self.settle();
            }
        };
        // ArrayBuffer data can be read synchronously (the app sets the same).
        socket.set_binary_type(BinaryType::Arraybuffer);
        self.log.push(&Array::of3(&"connecting".into(), &socket.ready_state().into(), &now().into()));
        self.socket_listeners = ["open", "message", "close", "error"]
            .into_iter()
            .map(|name| {
                EventListener::new(&socket, name, |event| {
                    with_stage(|stage| stage.on_event(event));
                })
            })
            .collect();
        set(&self.handover, "socket", &socket);
        self.socket = Some(socket);
        self.settle();
    }

    fn send(&mut self) {
        let Some(socket) = self.socket.as_ref().filter(|socket| socket.ready_state() == WebSocket::OPEN) else {
            return;
        };
        if !self.target.text_mode {
            return;
        }
        let data = self.message.value();
        if socket.send_with_str(&data).is_err() {
            return;
        }
        let (at, wall) = (now(), Date::now());
        self.log.push(&Array::of4(&"sent".into(), &JsValue::from_str(&data), &at.into(), &wall.into()));
        self.message.set_value("");
        let id = self.add_row("sent", Some(data.len()), &text::one_line(&data), Some("pending"));
        self.pending.push_back((id, at));
        self.settle();
    }

    fn on_event(&mut self, event: &Event) {
        let Some(socket) = self.socket.clone() else {
            return;
        };
        let (at, wall) = (now(), Date::now());
        let entry: Array = [
            JsValue::from_str("event"),
            event.into(),
            socket.ready_state().into(),
            socket.buffered_amount().into(),
            at.into(),
            wall.into(),
        ]
        .into_iter()
        .collect();
        self.log.push(&entry);
        let kind = event.type_();
        let (size, summary, badge) = if let Some(message) = event.dyn_ref::<MessageEvent>() {
            let data = message.data();
            let (size, summary, report) = match data.as_string() {
                Some(data) => (data.len(), text::one_line(&data), text::is_report(&data)),
                None => {
                    let size = data.dyn_ref::<js_sys::ArrayBuffer>().map_or(0, |buffer| buffer.byte_length());
                    (size as usize, String::from("binary data"), false)
                }
            };
            let badge = if report {
                Some(String::from("server report"))
            } else {
                self.pending.pop_front().map(|(_, sent)| {
                    let mut badge = String::from("RTT ");
                    badge += &milliseconds(at - sent);
                    badge
                })
            };
            (Some(size), summary, badge)
        } else if let Some(close) = event.dyn_ref::<CloseEvent>() {
            self.pending.clear();
            let mut summary = String::from("code ");
            summary += &text::digits(close.code().into(), 1);
            summary += if close.was_clean() { " (clean)" } else { " (not clean)" };
            if !close.reason().is_empty() {
                summary += " · ";
                summary += &close.reason();
            }
            (None, summary, None)
        } else if kind == "open" {
            let mut summary = String::from("connected to ");
            summary += &socket.url();
            (None, summary, None)
        } else {
            (None, String::from("error event (no detail available)"), None)
        };
        let kind = match kind.as_str() {
            "open" => "open",
            "message" => "message",
            "close" => "close",
            _ => "error",
        };
        self.add_row(kind, size, &summary, badge.as_deref());
        self.arrivals.push(at);
        if self.frame.is_none() {
            self.frame = Some(request_animation_frame(|_| {
                with_stage(Stage::on_frame);
            }));
        }
        self.settle();
    }

    /// At the start of the frame that paints the events drawn since the last.
    fn on_frame(&mut self) {
        self.frame = None;
        self.measure_arrivals();
    }

    fn measure_arrivals(&mut self) {
        let drawn = now();
        for arrived in self.arrivals.drain(..) {
            self.delays.push(&(drawn - arrived).into());
        }
    }

    /// Appends a row and returns its number.
    fn add_row(&mut self, kind: &'static str, size: Option<usize>, summary: &str, badge: Option<&str>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let date = Date::new_0();
        let of_day =
            ((date.get_hours() * 60 + date.get_minutes()) * 60 + date.get_seconds()) * 1000 + date.get_milliseconds();
        let time = text::clock_time(of_day.into());
        let row = Row { id, time: &time, kind, size, summary, badge };
        let _ = self.rows.insert_adjacent_html("beforeend", &row.markup());
        id
    }

    /// Updates Connect and Send, and asks for the app once nobody has waited
    /// on the socket for [`QUIET_MS`] (or at once, past [`MOST_ENTRIES`]).
    fn settle(&mut self) {
        let state = self.socket.as_ref().map_or(WebSocket::CLOSED, WebSocket::ready_state);
        enable(&self.connect, state == WebSocket::CLOSED);
        enable(&self.send, state == WebSocket::OPEN && self.target.text_mode);
        let awaiting = state == WebSocket::CONNECTING || state == WebSocket::CLOSING || !self.pending.is_empty();
        if self.app_asked {
            return;
        }
        // Timers, not calls: the loader may start the app, and the app release
        // the stage, before such a call would return.
        if self.next_id > MOST_ENTRIES {
            self.app_asked = true;
            self.quiet = Some(Timeout::new(0, ask_for_app));
        } else if awaiting {
            self.quiet = None;
        } else if self.quiet.is_none() {
            self.quiet = Some(Timeout::new(QUIET_MS, on_quiet));
        }
    }
}

/// The quiet timer fired: the stage asks for the app, once.
fn on_quiet() {
    let asked = with_stage(|stage| {
        // Dropping the timer whose callback this is: wasm-bindgen frees a
        // closure only after the call running it returns.
        stage.quiet = None;
        !std::mem::replace(&mut stage.app_asked, true)
    });
    if asked == Some(true) {
        ask_for_app();
    }
}

/// Runs `act` on the stage while it runs; `None` once it is released.
fn with_stage<T>(act: impl FnOnce(&mut Stage) -> T) -> Option<T> {
    STAGE.with(|slot| slot.borrow_mut().as_mut().map(act))
}

/// Tells the app's loader to start the app.
fn ask_for_app() {
    let window = gloo_utils::window();
    set(&window, "echoWantsApp", &JsValue::TRUE);
    if let Some(start) =
        Reflect::get(&window, &"echoStartApp".into()).ok().and_then(|start| start.dyn_into::<Function>().ok())
    {
        let _ = start.call0(&JsValue::NULL);
    }
}

/// `release()`: the app takes over.
fn release() {
    if let Some(mut stage) = STAGE.with(|slot| slot.borrow_mut().take()) {
        // What was drawn but not yet painted is measured now: the app's first
        // frame paints over it.
        stage.measure_arrivals();
        set(&stage.handover, "draft", &stage.message.value().into());
        stage.root.remove();
        // Dropping the stage detaches its listeners and cancels its timers.
        drop(stage);
    }
    // wasm-bindgen frees a closure only after the call running it returns.
    RELEASE.with(|slot| drop(slot.borrow_mut().take()));
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn enable(button: &Element, on: bool) {
    let _ = button.toggle_attribute_with_force("disabled", !on);
}

fn now() -> f64 {
    gloo_utils::window().performance().map_or_else(Date::now, |performance| performance.now())
}

/// A round trip as the app shows it: 2 decimals under 10 ms, 1 under a second.
fn milliseconds(ms: f64) -> String {
    let decimals = if ms < 10.0 {
        2
    } else if ms < 1000.0 {
        1
    } else {
        0
    };
    let mut shown = js_sys::Number::from(ms.max(0.0)).to_fixed(decimals).map(String::from).unwrap_or_default();
    shown += " ms";
    shown
}

/// The browser's words for an exception.
fn describe(error: &JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => {
            let mut text = String::from(error.name());
            text += ": ";
            text += &String::from(error.message());
            text
        }
        None => String::from("the browser refused without saying why"),
    }
}
