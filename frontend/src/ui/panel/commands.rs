//! What the panel's controls do beyond dispatching an action: open and close
//! the socket, send, start a burst and keep it sending, export and import.
//! Every check of what was typed is the model's (`close_code`, `draft`, `lab`,
//! `session::burst`, `session_file`), so native tests cover it; this module
//! only carries the outcome out.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use yew::prelude::*;

use crate::browser::clock::{self, monotonic_ms};
use crate::browser::connection::{Connection, OnRecord};
use crate::browser::files;
use crate::model::close_code::validate_close;
use crate::model::log::{Log, Payload, Record};
use crate::model::ready_state::ReadyState;
use crate::model::session::{burst, Action, ConnectTarget, Session};
use crate::model::{draft, lab, session_file};
use crate::ui::hooks::batcher::Batcher;

/// What a control asks of the panel, beyond dispatching an action.
pub enum Msg {
    /// Opens a socket to the URL shown (Connect, or a retry when it is due).
    Connect,
    /// Closes the socket with the close code and reason shown, or cancels a retry.
    Disconnect,
    /// Sends the draft.
    Send,
    /// Sends a lab command text.
    Command(String),
    /// Logs a text the lab or the comparison sent, so the reducer pairs its echo.
    Sent(String),
    /// Reconnects to the lab asking it to refuse the upgrade with this status.
    Refuse(String),
    /// Pretty-prints the JSON draft.
    Format,
    /// Starts a burst with the count and size shown.
    Burst,
}

/// A file chosen in File mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenFile {
    /// Its name.
    pub name: String,
    /// Its bytes, shared so that each render does not copy them.
    pub bytes: Rc<Vec<u8>>,
}

/// What [`handle`] works on.
pub struct Context {
    /// The session as of the render that made the callback.
    pub session: UseReducerHandle<Session>,
    /// The panel's connection slot.
    pub connection: Rc<RefCell<Option<Connection>>>,
    /// Applies actions in the order things happened.
    pub batcher: Rc<Batcher>,
    /// Where Connect goes, as of the latest render: a retry timer armed
    /// earlier must use the URL and protocols shown now, not those of its own
    /// render.
    pub target: Rc<RefCell<ConnectTarget>>,
    /// The file chosen in File mode.
    pub file: UseStateHandle<Option<ChosenFile>>,
    /// The socket URL for the page's own host.
    pub default_url: Rc<String>,
}

/// Does what a control asks.
pub fn handle(context: &Context, msg: Msg) {
    let Context { session, connection, batcher, target, file, default_url } = context;
    let fail = |message: String| batcher.now(Action::Failed(message));
    match msg {
        Msg::Connect => connect(context),
        Msg::Disconnect => {
            let (code, reason) = match validate_close(&session.settings.close_code, &session.settings.close_reason) {
                Ok(valid) => valid,
                Err(message) => return fail(format!("Not closed: {message}")),
            };
            match connection.borrow().as_ref() {
                Some(open) if open.ready_state().can_disconnect() => match open.close(code, &reason) {
                    Ok(()) => batcher.now(Action::Disconnecting(open.ready_state(), monotonic_ms())),
                    Err(message) => fail(format!("Could not close: {message}")),
                },
                // No socket to close: Disconnect cancels a scheduled retry.
                _ => batcher.now(Action::Disconnecting(session.ready_state, monotonic_ms())),
            }
        }
        Msg::Send => {
            let bytes = file.as_ref().map(|file| file.bytes.as_slice());
            let result = draft::payload(session.settings.mode, &session.draft, bytes).and_then(|payload| {
                match connection.borrow().as_ref() {
                    Some(open) if open.ready_state() == ReadyState::Open => open.send(&payload).map(|()| payload),
                    _ => Err("the socket is not open".to_owned()),
                }
            });
            match result {
                Ok(payload) => {
                    let (time, at_ms) = clock::now();
                    batcher.now(Action::Sent { record: Record::Sent { payload }, time, at_ms });
                }
                Err(message) => fail(format!("Not sent: {message}")),
            }
        }
        Msg::Command(text) => {
            let sent = match connection.borrow().as_ref() {
                Some(open) if open.ready_state() == ReadyState::Open => open.send(&Payload::Text(text.clone())),
                _ => Err("the socket is not open".to_owned()),
            };
            match sent {
                Ok(()) => handle(context, Msg::Sent(text)),
                Err(message) => fail(format!("Not sent: {message}")),
            }
        }
        Msg::Sent(text) => {
            let (time, at_ms) = clock::now();
            batcher.now(Action::PageSent { text, time, at_ms });
        }
        Msg::Refuse(status) => match lab::refuse_status(&status) {
            Ok(status) => {
                let url = lab::refuse_url(default_url, status);
                target.borrow_mut().url = url.clone();
                batcher.now(Action::EditUrl(url));
                handle(context, Msg::Connect);
            }
            Err(message) => fail(format!("Not connected: {message}")),
        },
        Msg::Format => match draft::format_json(&session.draft) {
            Ok(pretty) => batcher.now(Action::EditDraft(pretty)),
            Err(message) => fail(format!("Not formatted: {message}")),
        },
        Msg::Burst => match burst::parse_request(&session.settings.burst_count, &session.settings.burst_size) {
            Ok((count, size)) => batcher.now(Action::BurstStarted { count, size, at_ms: monotonic_ms() }),
            Err(message) => fail(format!("Not sent: {message}")),
        },
    }
}

/// Where a connection's events go: through the batcher, stamped with their time.
pub fn on_record(batcher: &Rc<Batcher>) -> OnRecord {
    let batcher = Rc::clone(batcher);
    Rc::new(move |record, facts| {
        let (time, at_ms) = clock::now();
        batcher.later(Action::Record { record, time, at_ms, facts })
    })
}

/// Replaces the connection with a new one to the target shown.
fn connect(context: &Context) {
    let Context { connection, batcher, target, .. } = context;
    let target = target.borrow().clone();
    let on_record = on_record(batcher);
    let mut slot = connection.borrow_mut();
    drop(slot.take());
    match Connection::to_target(&target, &on_record) {
        Ok(opened) => {
            batcher.now(Action::Connecting(opened.ready_state(), monotonic_ms()));
            *slot = Some(opened);
        }
        Err(message) => batcher.now(Action::Failed(format!("Could not connect: {message}"))),
    }
}

/// Downloads `log` (the log shown) as a session file.
pub fn export(batcher: &Batcher, log: &Log) {
    let file = session_file::export(log.iter().map(|entry| &**entry));
    if let Err(message) = files::download("websocket-session.json", &file, "application/json") {
        batcher.now(Action::Failed(format!("Not exported: {message}")));
    }
}

/// Opens the session file `name` holding `text` for viewing.
pub fn import(batcher: &Batcher, name: String, text: &str) {
    match session_file::import(text) {
        Ok(entries) => batcher.now(Action::Import { name, entries }),
        Err(message) => batcher.now(Action::Failed(format!("Not imported: {message}"))),
    }
}

/// One tick of a burst: sends up to [`burst::PER_TICK`] messages while the
/// browser's queue is below [`burst::HIGH_WATER`].
pub fn burst_tick(
    connection: &RefCell<Option<Connection>>,
    batcher: &Batcher,
    payload: &Payload,
    remaining: &Cell<usize>,
) {
    if remaining.get() == 0 {
        return;
    }
    let slot = connection.borrow();
    let Some(open) = slot.as_ref().filter(|open| open.ready_state() == ReadyState::Open) else {
        remaining.set(0);
        batcher.now(Action::BurstStopped("the socket is not open".to_owned()));
        return;
    };
    // The batch is stamped with the time its first message was sent, so round
    // trips are never under-reported.
    let (time, at_ms) = clock::now();
    let mut sent = 0;
    let mut stopped = None;
    while sent < remaining.get().min(burst::PER_TICK) && open.buffered_amount() <= burst::HIGH_WATER {
        if let Err(message) = open.send(payload) {
            stopped = Some(message);
            break;
        }
        sent += 1;
    }
    remaining.set(remaining.get() - sent);
    if sent > 0 {
        batcher.later(Action::BurstSent { payload: payload.clone(), count: sent, time, at_ms });
    }
    if let Some(message) = stopped {
        remaining.set(0);
        batcher.now(Action::BurstStopped(message));
    }
}
