//! One connection's panel: wires its state reducer, its connection and the
//! components together. The page shows one panel per tab (see `app.rs`).

use std::cell::Cell;
use std::rc::Rc;

use gloo::timers::callback::{Interval, Timeout};
use yew::prelude::*;

use crate::batch::{use_batcher, Batcher};
use crate::browser::{self, monotonic_ms};
use crate::close_code::validate_close;
use crate::components::burst_panel::{use_burst_panel, BurstPanelProps};
use crate::components::composer::{use_composer, ComposerProps};
use crate::components::connect_bar::{use_connect_bar, ConnectBarProps};
use crate::components::lab_panel::{use_lab_panel, LabPanelProps};
use crate::components::learn::{HandshakeInspector, TimelineView};
use crate::components::log_view::LogView;
use crate::components::stats_bar::{stats_bar, StatsBarProps};
use crate::compose::{self, Mode};
use crate::connection::{use_connection, Connection, OnRecord};
use crate::event_log::{Payload, Record};
use crate::lab;
use crate::ready_state::ReadyState;
use crate::session_file;
use crate::settings::protocol_list;
use crate::socket_url::{default_socket_url, with_inspect};
use crate::state::{Action, Session, Setting};
use crate::stats::summarize;

/// A burst pauses while more than this many bytes wait in `bufferedAmount`, so
/// the browser's queue (and the page's memory) stays bounded.
const BURST_HIGH_WATER: u32 = 1 << 20;
/// Sends per tick of a burst, so each tick is short and the page stays responsive.
const BURST_PER_TICK: usize = 200;
/// The largest burst: 100,000 messages give 200,000 log entries.
const BURST_MAX_COUNT: usize = 100_000;
/// The largest burst message, below the server's default 1 MiB limit.
const BURST_MAX_SIZE: usize = 1 << 20;

/// Props of [`ConnectionPanel`].
#[derive(Properties, PartialEq)]
pub struct ConnectionPanelProps {
    /// The tab's id.
    pub tab: u32,
    /// Tells the tab list this connection's ready state.
    pub onstate: Callback<(u32, ReadyState)>,
}

/// Everything about one connection: its socket, log, composer and statistics.
#[function_component]
pub fn ConnectionPanel(props: &ConnectionPanelProps) -> Html {
    let default_url = use_memo((), |()| page_socket_url());
    let session = {
        let default_url = (*default_url).clone();
        use_reducer(move || Session::restored(default_url, browser::load_stored(), browser::random_seed()))
    };
    let connection = use_connection();
    let batcher = use_batcher(session.dispatcher());
    // The chosen file in File mode: its name and bytes.
    let file = use_state(|| None::<(String, Rc<Vec<u8>>)>);
    let refresh = use_force_update();
    // Where Connect goes, as of the latest render: a retry timer armed earlier
    // must use the URL and protocols shown now, not those of its own render.
    let target = use_mut_ref(|| (String::new(), String::new(), true));
    *target.borrow_mut() = (session.url.clone(), session.settings.protocols.clone(), session.settings.inspect);

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

    // Settings and history survive reloads.
    {
        let stored = session.stored(&default_url);
        use_effect_with(stored, browser::save_stored);
    }

    // Every control that does more than dispatch an action goes through this
    // one callback and `handle`'s match: a closure per control would cost the
    // page its own copy of yew's callback plumbing each.
    let on: Callback<Msg> = {
        let context = Context {
            session: session.clone(),
            connection: Rc::clone(&connection),
            batcher: Rc::clone(&batcher),
            target: Rc::clone(&target),
            file: file.clone(),
            default_url: Rc::clone(&default_url),
        };
        Callback::from(move |msg| handle(&context, msg))
    };
    let to = |make: fn() -> Msg| on.reform(move |()| make());
    let with_text = |make: fn(String) -> Msg| on.reform(make);

    // A scheduled retry reconnects when its time comes; the timer belongs to
    // this effect, so a newer retry, a Connect, a Disconnect or unmounting
    // cancels it.
    {
        let on = on.clone();
        use_effect_with(session.reconnect.due, move |due| {
            let timer = due.map(|due| Timeout::new(due.delay_ms.round() as u32, move || on.emit(Msg::Connect)));
            move || drop(timer)
        });
    }

    // bufferedAmount changes without events; sample it while a socket is open.
    {
        let refresh = refresh.clone();
        use_effect_with(session.ready_state == ReadyState::Open, move |open| {
            let ticker = open.then(|| Interval::new(500, move || refresh.force_update()));
            move || drop(ticker)
        });
    }

    // The comparison uses this tab's socket when it is open on the echo.
    let current_socket = {
        let connection = Rc::clone(&connection);
        Callback::from(move |()| {
            let slot = connection.borrow();
            let open = slot.as_ref().filter(|open| open.ready_state() == ReadyState::Open)?;
            lab::is_echo_url(&open.socket().url()).then(|| open.socket().clone())
        })
    };

    // A running burst sends from a ticker owned by this effect: a batch per
    // tick while the browser's queue is short, so input and rendering go on in
    // between. It is dropped when every message is sent or the burst stops.
    {
        let (connection, batcher) = (Rc::clone(&connection), Rc::clone(&batcher));
        let running = session
            .burst
            .as_ref()
            .filter(|burst| burst.sending())
            .map(|burst| (burst.serial, burst.count - burst.sent, burst.size));
        use_effect_with(running.map(|(serial, _, size)| (serial, size)), move |key| {
            let ticker = key.zip(running).map(|((_, size), (_, remaining, _))| {
                let remaining = Cell::new(remaining);
                let payload = Payload::Text("x".repeat(size));
                Interval::new(0, move || burst_tick(&connection, &batcher, &payload, &remaining))
            });
            move || drop(ticker)
        });
    }

    let dispatch = |make: fn(String) -> Action| {
        let session = session.clone();
        Callback::from(move |value: String| session.dispatch(make(value)))
    };
    let action = |make: fn() -> Action| {
        let session = session.clone();
        Callback::from(move |()| session.dispatch(make()))
    };
    let onsetting = {
        let session = session.clone();
        Callback::from(move |setting| session.dispatch(Action::Set(setting)))
    };
    let onmode = onsetting.reform(Setting::Mode);
    let onfilter = {
        let session = session.clone();
        Callback::from(move |filter| session.dispatch(Action::Filter(filter)))
    };
    let onfile = {
        let file = file.clone();
        Callback::from(move |(name, bytes): (String, Vec<u8>)| file.set(Some((name, Rc::new(bytes)))))
    };

    // Made once: the log's rows compare it to decide whether to draw again.
    let onerror = {
        let dispatcher = session.dispatcher();
        (*use_memo((), move |()| Callback::from(move |message| dispatcher.dispatch(Action::Failed(message))))).clone()
    };
    let buffered = connection.borrow().as_ref().map(Connection::buffered_amount);
    // Summaries of many samples are worth computing once per change, not per render.
    let rtt = {
        let rtts = session.rtts.clone();
        *use_memo((session.clears, rtts.len()), move |_| summarize(&rtts.iter().copied().collect::<Vec<_>>()))
    };
    let (log, imported) = match &session.viewing {
        Some(imported) => (imported.log.clone(), Some(imported.name.clone())),
        None => (session.log.clone(), None),
    };
    let file_info = file.as_ref().map(|(name, bytes)| (name.clone(), bytes.len()));
    let mode: Mode = session.settings.mode;

    {
        let (onstate, tab) = (props.onstate.clone(), props.tab);
        use_effect_with(session.ready_state, move |state| onstate.emit((tab, *state)));
    }

    let connect_bar = use_connect_bar(ConnectBarProps {
        url: session.url.clone(),
        settings: session.settings.clone(),
        ready_state: session.ready_state,
        negotiated: session.negotiated.clone(),
        due: session.reconnect.due,
        onurl: dispatch(Action::EditUrl),
        onsetting: onsetting.clone(),
        onconnect: to(|| Msg::Connect),
        ondisconnect: to(|| Msg::Disconnect),
    });
    let composer = use_composer(ComposerProps {
        draft: session.draft.clone(),
        mode,
        ready_state: session.ready_state,
        file: file_info,
        ondraft: dispatch(Action::EditDraft),
        onmode,
        onsend: to(|| Msg::Send),
        onolder: action(|| Action::HistoryOlder),
        onnewer: action(|| Action::HistoryNewer),
        onformat: to(|| Msg::Format),
        onfile,
    });
    let lab_panel = use_lab_panel(LabPanelProps {
        lab: session.on_lab(),
        onurl: dispatch(Action::EditUrl),
        oncommand: with_text(Msg::Command),
        onrefuse: with_text(Msg::Refuse),
        socket: current_socket,
        socket_url: (*default_url).clone().into(),
        onsent: with_text(Msg::Sent),
        onerror: onerror.clone(),
    });
    let burst_panel = use_burst_panel(BurstPanelProps {
        count: session.settings.burst_count.clone(),
        size: session.settings.burst_size.clone(),
        open: session.ready_state == ReadyState::Open,
        burst: session.burst.clone(),
        onsetting: onsetting.clone(),
        onburst: to(|| Msg::Burst),
    });

    html! {
        <>
            { connect_bar }
            if let Some(notice) = &session.notice {
                <p class="notice" role="alert">{ notice }</p>
            }
            <HandshakeInspector report={session.handshake.clone()} inspect={session.settings.inspect}
                                ready_state={session.ready_state} />
            <TimelineView timeline={session.timeline.clone()} />
            { stats_bar(&StatsBarProps { traffic: session.traffic, rtt, pending: session.pending(), buffered }) }
            { composer }
            <LogView {log} filter={session.filter.clone()} {imported} {onfilter} onclear={action(|| Action::Clear)}
                     onexport={to(|| Msg::Export)} onimport={on.reform(|(name, text)| Msg::Import(name, text))} onlive={action(|| Action::CloseImport)}
                     onerror={onerror.clone()} />
            { burst_panel }
            { lab_panel }
        </>
    }
}

/// What a control asks of the panel, beyond dispatching an action.
enum Msg {
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
    /// Downloads the log shown.
    Export,
    /// Opens a session file: its name and text.
    Import(String, String),
}

/// What [`handle`] works on.
struct Context {
    session: UseReducerHandle<Session>,
    connection: Rc<std::cell::RefCell<Option<Connection>>>,
    batcher: Rc<Batcher>,
    /// Where Connect goes, as of the latest render: URL, protocols and whether to inspect.
    target: Rc<std::cell::RefCell<(String, String, bool)>>,
    file: UseStateHandle<Option<(String, Rc<Vec<u8>>)>>,
    default_url: Rc<String>,
}

/// Does what a control asks.
fn handle(context: &Context, msg: Msg) {
    let Context { session, connection, batcher, target, file, default_url } = context;
    let fail = |message: String| session.dispatch(Action::Failed(message));
    match msg {
        Msg::Connect => {
            let on_record: OnRecord = {
                let batcher = Rc::clone(batcher);
                Rc::new(move |record, facts| {
                    let (time, at_ms) = browser::now();
                    batcher.later(Action::Record { record, time, at_ms, facts })
                })
            };
            let mut slot = connection.borrow_mut();
            drop(slot.take());
            let (url, protocols, inspect) = target.borrow().clone();
            let url = if inspect { with_inspect(&url) } else { url };
            match Connection::open_with_protocols(&url, &protocol_list(&protocols), &on_record) {
                Ok(opened) => {
                    batcher.now(Action::Connecting(opened.ready_state(), monotonic_ms()));
                    *slot = Some(opened);
                }
                Err(message) => fail(format!("Could not connect: {message}")),
            }
        }
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
            let bytes = file.as_ref().map(|(_, bytes)| bytes.as_slice());
            let result = compose::payload(session.settings.mode, &session.draft, bytes).and_then(|payload| {
                match connection.borrow().as_ref() {
                    Some(open) if open.ready_state() == ReadyState::Open => open.send(&payload).map(|()| payload),
                    _ => Err("the socket is not open".to_owned()),
                }
            });
            match result {
                Ok(payload) => {
                    let (time, at_ms) = browser::now();
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
            let (time, at_ms) = browser::now();
            batcher.now(Action::PageSent { text, time, at_ms });
        }
        Msg::Refuse(status) => match status.trim().parse::<u16>() {
            Ok(status @ 200..=599) => {
                let url = lab::refuse_url(default_url, status);
                target.borrow_mut().0 = url.clone();
                session.dispatch(Action::EditUrl(url));
                handle(context, Msg::Connect);
            }
            _ => fail("Not connected: Status must be an HTTP status from 200 to 599".into()),
        },
        Msg::Format => match compose::format_json(&session.draft) {
            Ok(pretty) => session.dispatch(Action::EditDraft(pretty)),
            Err(message) => fail(format!("Not formatted: {message}")),
        },
        Msg::Burst => {
            let settings = &session.settings;
            let count = settings.burst_count.trim().parse::<usize>().ok().filter(|n| (1..=BURST_MAX_COUNT).contains(n));
            let size = settings.burst_size.trim().parse::<usize>().ok().filter(|n| *n <= BURST_MAX_SIZE);
            match (count, size) {
                (None, _) => fail(format!("Not sent: Count must be a whole number from 1 to {BURST_MAX_COUNT}")),
                (_, None) => fail(format!("Not sent: Size must be a whole number of bytes from 0 to {BURST_MAX_SIZE}")),
                (Some(count), Some(size)) => {
                    session.dispatch(Action::BurstStarted { count, size, at_ms: monotonic_ms() })
                }
            }
        }
        Msg::Export => {
            let log = session.viewing.as_ref().map_or(&session.log, |imported| &imported.log);
            let file = session_file::export(log.iter().map(|entry| &**entry));
            if let Err(message) = browser::download("websocket-session.json", &file, "application/json") {
                fail(format!("Not exported: {message}"));
            }
        }
        Msg::Import(name, text) => match session_file::import(&text) {
            Ok(entries) => session.dispatch(Action::Import { name, entries }),
            Err(message) => fail(format!("Not imported: {message}")),
        },
    }
}

/// One tick of a burst: sends up to [`BURST_PER_TICK`] messages while the
/// browser's queue is below [`BURST_HIGH_WATER`].
fn burst_tick(
    connection: &std::cell::RefCell<Option<Connection>>,
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
    let (time, at_ms) = browser::now();
    let mut sent = 0;
    let mut stopped = None;
    while sent < remaining.get().min(BURST_PER_TICK) && open.buffered_amount() <= BURST_HIGH_WATER {
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

/// The socket URL for the page's own host and scheme.
fn page_socket_url() -> String {
    let location = gloo::utils::window().location();
    let protocol = location.protocol().unwrap_or_default();
    let host = location.host().unwrap_or_default();
    default_socket_url(&protocol, &host)
}
