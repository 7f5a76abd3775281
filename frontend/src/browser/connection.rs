//! The WebSocket lifecycle: the browser's own `WebSocket` and its four listeners,
//! owned together.
//!
//! A [`Connection`] is created by Connect and dropped when its close event has
//! been logged, on a new Connect, or when the page unmounts. Dropping it detaches
//! the `open`, `message`, `close` and `error` listeners and closes the socket, so
//! reconnecting any number of times leaks neither listeners nor closures.

use std::rc::Rc;

use gloo::events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use crate::browser::describe_js_error;
use crate::model::log::{Facts, Payload, Record};
use crate::model::ready_state::ReadyState;
use crate::model::session::ConnectTarget;
use crate::model::settings::protocol_list;

/// Called with each event's record and what the socket said right after it
/// (`readyState` and the rest). Every listener holds a clone of this `Rc`, so
/// its strong count shows how many listeners are alive.
pub type OnRecord = Rc<dyn Fn(Record, Facts)>;

/// An open (or opening) WebSocket and the listeners that report its events.
pub struct Connection {
    socket: WebSocket,
    // Held only to be dropped with the connection, which detaches them.
    _listeners: [EventListener; 4],
}

impl Connection {
    /// Starts connecting to `url`. Fails, with the browser's explanation, when the
    /// browser refuses the URL before any network activity (a `SyntaxError`).
    pub fn open(url: &str, on_record: &OnRecord) -> Result<Connection, String> {
        Connection::open_with_protocols(url, &[], on_record)
    }

    /// Starts connecting where Connect goes: the URL shown (asking for the
    /// handshake report when "Show the handshake" is ticked), offering the
    /// protocols listed.
    pub fn to_target(target: &ConnectTarget, on_record: &OnRecord) -> Result<Connection, String> {
        Connection::open_with_protocols(&target.socket_url(), &protocol_list(&target.protocols), on_record)
    }

    /// Starts connecting to `url`, offering `protocols` (none when empty) in
    /// `Sec-WebSocket-Protocol`. The browser refuses malformed or repeated names.
    pub fn open_with_protocols(url: &str, protocols: &[String], on_record: &OnRecord) -> Result<Connection, String> {
        let socket = if protocols.is_empty() {
            WebSocket::new(url)
        } else {
            let list: js_sys::Array = protocols.iter().map(|name| JsValue::from_str(name)).collect();
            WebSocket::new_with_str_sequence(url, &list)
        }
        .map_err(describe_js_error)?;
        // ArrayBuffer data can be read synchronously; a Blob could not.
        socket.set_binary_type(BinaryType::Arraybuffer);
        Ok(Connection::adopt(socket, on_record))
    }

    /// Takes charge of a socket opened elsewhere (by the page's first stage):
    /// its events from now on go to `on_record`.
    pub fn adopt(socket: WebSocket, on_record: &OnRecord) -> Connection {
        let listen = |name: &'static str| {
            let socket_in_listener = socket.clone();
            let on_record = Rc::clone(on_record);
            EventListener::new(&socket, name, move |event| {
                let record = record_of(&socket_in_listener, event);
                on_record(record, facts(&socket_in_listener, event));
            })
        };
        let listeners = [listen("open"), listen("message"), listen("close"), listen("error")];
        Connection { socket, _listeners: listeners }
    }

    /// The browser's socket itself, for reading its properties.
    pub fn socket(&self) -> &WebSocket {
        &self.socket
    }

    /// The socket's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        ReadyState::from_number(self.socket.ready_state())
    }

    /// `WebSocket.bufferedAmount`: bytes queued by `send()` but not yet sent.
    pub fn buffered_amount(&self) -> u32 {
        self.socket.buffered_amount()
    }

    /// Sends a message; the browser refuses when the socket is not OPEN.
    pub fn send(&self, payload: &Payload) -> Result<(), String> {
        match payload {
            Payload::Text(text) => self.socket.send_with_str(text),
            Payload::Binary(bytes) => self.socket.send_with_u8_array(bytes),
        }
        .map_err(describe_js_error)
    }

    /// Starts the closing handshake with `code` and `reason`.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), String> {
        self.socket.close_with_code_and_reason(code, reason).map_err(describe_js_error)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The close event this causes is dispatched later, as a task; by then the
        // listeners, dropped right after this, are detached and see nothing.
        if ReadyState::from_number(self.socket.ready_state()).can_disconnect() {
            let _ = self.socket.close_with_code_and_reason(1000, "page closed the connection");
        }
    }
}

/// The record of one of the socket's events.
pub fn record_of(socket: &WebSocket, event: &Event) -> Record {
    match event.type_().as_str() {
        "open" => open_record(socket, event),
        "message" => message_record(socket, event),
        "close" => close_record(socket, event),
        _ => Record::Error,
    }
}

/// The properties the record leaves out, read while the event is dispatched.
fn facts(socket: &WebSocket, event: &Event) -> Facts {
    facts_then(socket, event, ReadyState::from_number(socket.ready_state()), socket.buffered_amount())
}

/// The properties the record leaves out, with the ready state and buffered
/// amount as they were when `event` was dispatched.
pub fn facts_then(socket: &WebSocket, event: &Event, ready_state: ReadyState, buffered_amount: u32) -> Facts {
    Facts {
        ready_state,
        buffered_amount,
        binary_type: match socket.binary_type() {
            BinaryType::Blob => "blob",
            _ => "arraybuffer",
        },
        last_event_id: event.dyn_ref::<MessageEvent>().map(MessageEvent::last_event_id),
    }
}

fn open_record(socket: &WebSocket, _: &Event) -> Record {
    Record::Open { url: socket.url(), protocol: socket.protocol(), extensions: socket.extensions() }
}

fn message_record(_: &WebSocket, event: &Event) -> Record {
    let Some(event) = event.dyn_ref::<MessageEvent>() else {
        return Record::Error;
    };
    let data = event.data();
    let payload = match data.as_string() {
        Some(text) => Payload::Text(text),
        None => Payload::Binary(js_sys::Uint8Array::new(&data).to_vec()),
    };
    Record::Message { payload, origin: event.origin() }
}

fn close_record(_: &WebSocket, event: &Event) -> Record {
    match event.dyn_ref::<CloseEvent>() {
        Some(event) => Record::Close { code: event.code(), reason: event.reason(), was_clean: event.was_clean() },
        None => Record::Error,
    }
}
