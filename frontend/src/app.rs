//! The page: wires the state reducer, the connection and the components together.

use std::rc::Rc;

use yew::prelude::*;

use crate::components::composer::Composer;
use crate::components::connect_bar::ConnectBar;
use crate::components::log_view::LogView;
use crate::connection::{use_connection, Connection, OnRecord};
use crate::event_log::{clock_time, Payload, Record};
use crate::ready_state::ReadyState;
use crate::socket_url::default_socket_url;
use crate::state::{Action, Session};

/// The whole app.
#[function_component]
pub fn App() -> Html {
    let session = use_reducer(|| Session::new(page_socket_url()));
    let connection = use_connection();

    // The close event is a connection's last; once it is logged, dropping the
    // connection detaches its listeners. This runs after the event's handler has
    // returned, and leaves alone a new connection made in the meantime. (The
    // error event cannot be the trigger: it already reports CLOSED, but the close
    // event still follows.)
    {
        let connection = Rc::clone(&connection);
        use_effect_with(session.closes, move |_| {
            let mut slot = connection.borrow_mut();
            if slot.as_ref().is_some_and(|open| open.ready_state() == ReadyState::Closed) {
                drop(slot.take());
            }
        });
    }

    let on_record: OnRecord = {
        let dispatcher = session.dispatcher();
        Rc::new(move |record, ready_state| dispatcher.dispatch(Action::Record { record, time: now(), ready_state }))
    };

    let onconnect = {
        let (session, connection) = (session.clone(), Rc::clone(&connection));
        Callback::from(move |()| {
            let mut slot = connection.borrow_mut();
            drop(slot.take());
            match Connection::open(&session.url, &on_record) {
                Ok(opened) => {
                    session.dispatch(Action::ReadyState(opened.ready_state()));
                    *slot = Some(opened);
                }
                Err(message) => session.dispatch(Action::Failed(format!("Could not connect: {message}"))),
            }
        })
    };

    let ondisconnect = {
        let (session, connection) = (session.clone(), Rc::clone(&connection));
        Callback::from(move |()| {
            if let Some(open) = connection.borrow().as_ref() {
                match open.close(1000, "") {
                    Ok(()) => session.dispatch(Action::ReadyState(open.ready_state())),
                    Err(message) => session.dispatch(Action::Failed(format!("Could not close: {message}"))),
                }
            }
        })
    };

    let onsend = {
        let (session, connection) = (session.clone(), Rc::clone(&connection));
        Callback::from(move |()| {
            let payload = Payload::Text(session.draft.clone());
            let result = match connection.borrow().as_ref() {
                Some(open) if open.ready_state() == ReadyState::Open => open.send(&payload),
                _ => Err("the socket is not open".to_owned()),
            };
            match result {
                Ok(()) => session.dispatch(Action::Sent { record: Record::Sent { payload }, time: now() }),
                Err(message) => session.dispatch(Action::Failed(format!("Not sent: {message}"))),
            }
        })
    };

    let onurl = {
        let session = session.clone();
        Callback::from(move |url| session.dispatch(Action::EditUrl(url)))
    };
    let ondraft = {
        let session = session.clone();
        Callback::from(move |draft| session.dispatch(Action::EditDraft(draft)))
    };
    let onclear = {
        let session = session.clone();
        Callback::from(move |()| session.dispatch(Action::Clear))
    };

    html! {
        <main class="app">
            <header>
                <h1>{ "WebSocket echo" }</h1>
                <p class="tagline">
                    { "One persistent connection, events instead of polling: every " }
                    <code>{ "open" }</code>{ ", " }<code>{ "message" }</code>{ ", " }
                    <code>{ "close" }</code>{ " and " }<code>{ "error" }</code>
                    { " event of the browser's own WebSocket, as it happens." }
                </p>
            </header>
            <ConnectBar url={session.url.clone()} ready_state={session.ready_state} {onurl} {onconnect} {ondisconnect} />
            if let Some(notice) = &session.notice {
                <p class="notice" role="alert">{ notice }</p>
            }
            <Composer draft={session.draft.clone()} ready_state={session.ready_state} {ondraft} {onsend} />
            <LogView entries={session.entries.clone()} {onclear} />
        </main>
    }
}

/// The socket URL for the page's own host and scheme.
fn page_socket_url() -> String {
    let location = gloo::utils::window().location();
    let protocol = location.protocol().unwrap_or_default();
    let host = location.host().unwrap_or_default();
    default_socket_url(&protocol, &host)
}

/// The local wall-clock time, to the millisecond.
fn now() -> String {
    let date = js_sys::Date::new_0();
    clock_time(date.get_time(), date.get_timezone_offset())
}
