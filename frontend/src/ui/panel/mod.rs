//! One connection's panel: wires its reducer, its connection, the batcher and
//! its timers to the parts it draws. The page shows one panel per tab (see
//! `app.rs`); what its controls do beyond dispatching an action is in
//! `commands.rs`.

mod commands;

use std::cell::Cell;
use std::rc::Rc;

use gloo::timers::callback::{Interval, Timeout};
use yew::prelude::*;

use crate::browser::borrowed::sorted;
use crate::browser::connection::Connection;
use crate::browser::{clock, draw_delays, first_stage, location, storage};
use crate::model::draft::Mode;
use crate::model::filter::Filter;
use crate::model::lab;
use crate::model::log::{Log, Payload};
use crate::model::ready_state::ReadyState;
use crate::model::session::{Action, Session, Setting};
use crate::model::settings::{Stored, FIRST_STAGE_KEY, STORAGE_KEY};
use crate::model::stats::summarize;
use crate::model::tabs::{TabAction, Tabs};
use crate::ui::components::burst_panel::{use_burst_panel, BurstPanelProps};
use crate::ui::components::composer::{use_composer, ComposerProps};
use crate::ui::components::connect_bar::{use_connect_bar, ConnectBarProps};
use crate::ui::components::handshake_inspector::HandshakeInspector;
use crate::ui::components::lab_panel::{use_lab_panel, LabPanelProps};
use crate::ui::components::log_view::LogView;
use crate::ui::components::stats_bar::{stats_bar, StatsBarProps};
use crate::ui::components::timeline_view::timeline_view;
use crate::ui::hooks::batcher::{use_batcher, Batcher};
use crate::ui::hooks::connection::use_connection;
use crate::ui::hooks::ids::use_ids;
use crate::ui::panel::commands::{burst_tick, ChosenFile, Context, Msg};

/// Props of [`ConnectionPanel`].
#[derive(Properties, PartialEq)]
pub struct ConnectionPanelProps {
    /// The tab's id.
    pub tab: u32,
    /// The tab list, told this connection's ready state. (The dispatcher, not
    /// a callback made on each of the app's renders: it stays equal, so the
    /// app drawing its tabs again does not draw every panel again.)
    pub tabs: UseReducerDispatcher<Tabs>,
}

/// Everything about one connection: its socket, log, composer and statistics.
#[function_component]
pub fn ConnectionPanel(props: &ConnectionPanelProps) -> Html {
    let default_url = use_memo((), |()| location::page_socket_url());
    let session = {
        let default_url = (*default_url).clone();
        use_reducer(move || {
            let stored = Stored::from_json(&storage::load(STORAGE_KEY));
            Session::restored(default_url, stored, clock::random_seed())
        })
    };
    let connection = use_connection();
    let ids = use_ids();
    let batcher = use_batcher(session.dispatcher());
    // The first tab takes over from the page's first stage, if it ran: its
    // steps become this session's, its socket this tab's connection.
    {
        let (connection, batcher) = (Rc::clone(&connection), Rc::clone(&batcher));
        use_memo((), move |()| {
            if let Some(taken) = first_stage::take_over(&commands::on_record(&batcher)) {
                draw_delays::add(taken.delays.into_iter());
                batcher.now(Action::Batch(taken.actions));
                *connection.borrow_mut() = taken.connection;
            }
        });
    }
    let file = use_state(|| None::<ChosenFile>);
    let refresh = use_force_update();
    let target = use_mut_ref(|| session.connect_target());
    *target.borrow_mut() = session.connect_target();

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

    // Settings and history survive reloads, and the first stage of the next
    // load connects where Connect goes now.
    {
        let stored = session.stored(&default_url);
        use_effect_with(stored, |stored| storage::save(STORAGE_KEY, &stored.to_json()));
        use_effect_with(session.first_stage_note(), |note| storage::save(FIRST_STAGE_KEY, note));
    }

    // Every control that does more than dispatch an action goes through this
    // one callback and `commands::handle`'s match: a closure per control would
    // cost the page its own copy of yew's callback plumbing each.
    let on: Callback<Msg> = {
        let context = Context {
            session: session.clone(),
            connection: Rc::clone(&connection),
            batcher: Rc::clone(&batcher),
            target: Rc::clone(&target),
            file: file.clone(),
            default_url: Rc::clone(&default_url),
        };
        Callback::from(move |msg| commands::handle(&context, msg))
    };
    let to = |make: fn() -> Msg| on.reform(move |()| make());
    let with_text = |make: fn(String) -> Msg| on.reform(make);
    // Every action a user causes goes through the batcher, which first applies
    // the socket events queued before it.
    let act = |make: fn(String) -> Action| {
        let batcher = Rc::clone(&batcher);
        Callback::from(move |value: String| batcher.now(make(value)))
    };
    let apply = |make: fn() -> Action| {
        let batcher = Rc::clone(&batcher);
        Callback::from(move |()| batcher.now(make()))
    };
    let onsetting = {
        let batcher = Rc::clone(&batcher);
        Callback::from(move |setting| batcher.now(Action::Set(setting)))
    };
    let onmode = onsetting.reform(Setting::Mode);
    let onfile = {
        let file = file.clone();
        Callback::from(move |(name, bytes): (String, Vec<u8>)| {
            file.set(Some(ChosenFile { name, bytes: Rc::new(bytes) }))
        })
    };
    // The log's callbacks are made once, so that it is drawn again only when
    // what it shows changes (not on every tick of the panel).
    let log_callbacks = {
        let batcher = Rc::clone(&batcher);
        use_memo((), move |()| LogCallbacks::new(batcher))
    };

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

    {
        let (tabs, tab) = (props.tabs.clone(), props.tab);
        use_effect_with(session.ready_state, move |state| tabs.dispatch(TabAction::State(tab, *state)));
    }

    let buffered = connection.borrow().as_ref().map(Connection::buffered_amount);
    // Summaries of many samples are worth computing once per change, not per render.
    let rtt = {
        let rtts = session.rtts.clone();
        *use_memo((session.clears, rtts.len()), move |_| summarize(&rtts.iter().copied().collect::<Vec<_>>(), sorted))
    };
    let imported = session.viewing.as_ref().map(|imported| imported.name.clone());
    let file_info = file.as_ref().map(|file| (file.name.clone(), file.bytes.len()));
    let mode: Mode = session.settings.mode;

    let connect_bar = use_connect_bar(ConnectBarProps {
        url: session.url.clone(),
        settings: session.settings.clone(),
        ready_state: session.ready_state,
        negotiated: session.negotiated.clone(),
        due: session.reconnect.due,
        onurl: act(Action::EditUrl),
        onsetting: onsetting.clone(),
        onconnect: to(|| Msg::Connect),
        ondisconnect: to(|| Msg::Disconnect),
    });
    let composer = use_composer(ComposerProps {
        draft: session.draft.clone(),
        mode,
        ready_state: session.ready_state,
        file: file_info,
        ondraft: act(Action::EditDraft),
        onmode,
        onsend: to(|| Msg::Send),
        onolder: apply(|| Action::HistoryOlder),
        onnewer: apply(|| Action::HistoryNewer),
        onformat: to(|| Msg::Format),
        onfile,
    });
    let lab_panel = use_lab_panel(LabPanelProps {
        lab: session.on_lab(),
        onurl: act(Action::EditUrl),
        oncommand: with_text(Msg::Command),
        onrefuse: with_text(Msg::Refuse),
        socket: current_socket,
        socket_url: (*default_url).clone().into(),
        onsent: with_text(Msg::Sent),
        onerror: log_callbacks.onerror.clone(),
    });
    let burst_panel = use_burst_panel(BurstPanelProps {
        count: session.settings.burst_count.clone(),
        size: session.settings.burst_size.clone(),
        open: session.ready_state == ReadyState::Open,
        burst: session.burst.clone(),
        onsetting,
        onburst: to(|| Msg::Burst),
    });

    let LogCallbacks { onfilter, onclear, onexport, onimport, onlive, onerror } = &*log_callbacks;
    html! {
        <>
            { connect_bar }
            if let Some(notice) = &session.notice {
                <p class="notice" role="alert">{ notice }</p>
            }
            <HandshakeInspector report={session.handshake.clone()} inspect={session.settings.inspect}
                                ready_state={session.ready_state} />
            { timeline_view(&session.timeline, &ids) }
            { stats_bar(&StatsBarProps { traffic: session.traffic, rtt, pending: session.pending(), buffered }) }
            { composer }
            <LogView log={session.shown_log().clone()} filter={session.filter.clone()} {imported}
                     onfilter={onfilter.clone()} onclear={onclear.clone()} onexport={onexport.clone()}
                     onimport={onimport.clone()} onlive={onlive.clone()} onerror={onerror.clone()} />
            { burst_panel }
            { lab_panel }
        </>
    }
}

/// The log's callbacks. They need nothing of a render, only the batcher, so
/// they are made once.
struct LogCallbacks {
    onfilter: Callback<Filter>,
    onclear: Callback<()>,
    onexport: Callback<Log>,
    onimport: Callback<(String, String)>,
    onlive: Callback<()>,
    /// Also the lab's: why something could not be done.
    onerror: Callback<String>,
}

impl LogCallbacks {
    fn new(batcher: Rc<Batcher>) -> LogCallbacks {
        let act = {
            let batcher = Rc::clone(&batcher);
            Callback::from(move |action| batcher.now(action))
        };
        let onexport = {
            let batcher = Rc::clone(&batcher);
            Callback::from(move |log: Log| commands::export(&batcher, &log))
        };
        let apply = |make: fn() -> Action| act.reform(move |()| make());
        LogCallbacks {
            onfilter: act.reform(Action::Filter),
            onclear: apply(|| Action::Clear),
            onexport,
            onimport: Callback::from(move |(name, text): (String, String)| commands::import(&batcher, name, &text)),
            onlive: apply(|| Action::CloseImport),
            onerror: act.reform(Action::Failed),
        }
    }
}
