//! One connection's page and every way it can change, as a pure reducer:
//! [`Session::apply`] takes an [`Action`] and changes nothing else. Echo
//! pairing, reconnect scheduling and bursts each keep their own state in a
//! module of their own; this one logs, counts and dispatches to them.

pub mod burst;
pub mod pairing;
pub mod reconnect;

use std::rc::Rc;

use yew::Reducible;

use crate::model::draft::Mode;
use crate::model::filter::Filter;
use crate::model::history::History;
use crate::model::log::{Entry, Facts, Link, Log, Payload, Record};
use crate::model::ready_state::ReadyState;
use crate::model::report::{self, Handshake};
use crate::model::session::burst::Burst;
use crate::model::session::pairing::Pairing;
use crate::model::session::reconnect::Reconnect;
use crate::model::settings::{protocol_list, Settings, Stored};
use crate::model::socket_url::with_inspect;
use crate::model::stats::Traffic;
use crate::model::timeline::Timeline;
use crate::util::chunked::Chunked;

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The URL in the URL box.
    pub url: String,
    /// What is typed in the Message box.
    pub draft: String,
    /// The socket's `readyState`, or CLOSED when there is no socket.
    pub ready_state: ReadyState,
    /// The event log, oldest first.
    pub log: Log,
    /// Why the last Connect, Send or Disconnect failed before any event could
    /// tell, if it did.
    pub notice: Option<String>,
    /// How many close events have been logged: a connection's last event.
    pub closes: u64,
    /// How many times Clear was pressed, so views computed from the log know
    /// that a log of the same length is a different one.
    pub clears: u64,
    /// What the open connection negotiated.
    pub negotiated: Option<Negotiated>,
    /// The fields that are remembered across reloads.
    pub settings: Settings,
    /// Sent messages for ↑ and ↓.
    pub history: History,
    /// Messages and bytes each way, since the page loaded or the last Clear.
    pub traffic: Traffic,
    /// Every echo's round-trip time in ms, since the page loaded or the last Clear.
    pub rtts: Chunked<f64>,
    /// What the log shows.
    pub filter: Filter,
    /// Automatic reconnection.
    pub reconnect: Reconnect,
    /// The last burst, running or finished.
    pub burst: Option<Burst>,
    /// An imported session being viewed instead of the live log.
    pub viewing: Option<Imported>,
    /// The current connection's handshake report, read (or why it could not be).
    pub handshake: Option<Rc<Result<Handshake, String>>>,
    /// The current connection's ready states with their times.
    pub timeline: Timeline,
    /// Which sends on the current connection still wait for their echo.
    pairing: Pairing,
    next_id: u64,
}

/// `WebSocket.protocol` and `WebSocket.extensions` once the socket is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol the server selected (often empty).
    pub protocol: String,
    /// The extensions the server accepted (often empty).
    pub extensions: String,
}

/// Where Connect goes: the fields as the page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// The URL box.
    pub url: String,
    /// The protocols to offer, comma-separated, as typed.
    pub protocols: String,
    /// Whether to ask the server for its handshake report.
    pub inspect: bool,
}

impl ConnectTarget {
    /// The URL the socket opens: the URL box, with the `inspect` query key
    /// when the handshake report is asked for.
    pub fn socket_url(&self) -> String {
        if self.inspect {
            with_inspect(&self.url)
        } else {
            self.url.clone()
        }
    }
}

/// A session read from an exported file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The file's name.
    pub name: String,
    /// Its entries.
    pub log: Log,
}

/// One of the remembered fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// The protocols to offer.
    Protocols(String),
    /// The Close code field.
    CloseCode(String),
    /// The Close reason field.
    CloseReason(String),
    /// The composer's mode.
    Mode(Mode),
    /// "Reconnect automatically".
    AutoReconnect(bool),
    /// "Show the handshake" (asks the server for its handshake report).
    Inspect(bool),
    /// Burst "Count".
    BurstCount(String),
    /// Burst "Size".
    BurstSize(String),
}

/// A change to the page's state. (Cloning is for tests only: an action is
/// made, applied once and dropped, and a derived `Clone` costs page bytes.)
#[cfg_attr(test, derive(Debug, Clone, PartialEq))]
pub enum Action {
    /// The URL box was edited.
    EditUrl(String),
    /// The Message box was edited.
    EditDraft(String),
    /// A remembered field was changed.
    Set(Setting),
    /// Something happened on the socket at `time` (`at_ms` on the monotonic
    /// clock); `facts` says what the socket said then, its ready state included.
    Record { record: Record, time: String, at_ms: f64, facts: Facts },
    /// Connect was pressed, or a retry came due, at the monotonic time given:
    /// a new socket is opening.
    Connecting(ReadyState, f64),
    /// Disconnect was pressed and the closing handshake began, at the monotonic
    /// time given.
    Disconnecting(ReadyState, f64),
    /// The draft was sent: it is logged, remembered, and the box is emptied.
    Sent { record: Record, time: String, at_ms: f64 },
    /// The page sent a text of its own (a lab command, a comparison's message);
    /// the draft and history stay as they are.
    PageSent { text: String, time: String, at_ms: f64 },
    /// `count` copies of a burst's message were sent, one after another, at
    /// about `time`. One action per batch keeps a burst to one render per batch.
    BurstSent { payload: Payload, count: usize, time: String, at_ms: f64 },
    /// A burst of `count` messages of `size` bytes begins.
    BurstStarted { count: usize, size: usize, at_ms: f64 },
    /// The burst could not go on.
    BurstStopped(String),
    /// Connect, Send or Disconnect failed before reaching the network, with the
    /// browser's (or the page's) words.
    Failed(String),
    /// ↑ in the Message box.
    HistoryOlder,
    /// ↓ in the Message box.
    HistoryNewer,
    /// The log's filter changed.
    Filter(Filter),
    /// The Clear button: empties the log and the statistics.
    Clear,
    /// A saved session was read from a file.
    Import { name: String, entries: Vec<Entry> },
    /// Back from the imported session to the live log.
    CloseImport,
    /// Several actions applied in order, with one render.
    Batch(Vec<Action>),
}

impl Session {
    /// A fresh page whose URL box holds `url`, with `seed` for the back-off's jitter.
    pub fn new(url: String, seed: u64) -> Session {
        Session {
            url,
            draft: String::new(),
            ready_state: ReadyState::Closed,
            log: Chunked::default(),
            notice: None,
            closes: 0,
            clears: 0,
            negotiated: None,
            settings: Settings::default(),
            history: History::default(),
            traffic: Traffic::default(),
            rtts: Chunked::default(),
            filter: Filter::default(),
            reconnect: Reconnect::new(seed),
            burst: None,
            viewing: None,
            handshake: None,
            timeline: Timeline::default(),
            pairing: Pairing::default(),
            next_id: 1,
        }
    }

    /// A page restored from storage, its URL box holding the stored URL or `default_url`.
    pub fn restored(default_url: String, stored: Stored, seed: u64) -> Session {
        let mut session = Session::new(stored.url.unwrap_or(default_url), seed);
        session.settings = stored.settings;
        session.history = History::from_items(stored.history);
        session
    }

    /// What is kept across reloads; the URL only when it differs from `default_url`.
    pub fn stored(&self, default_url: &str) -> Stored {
        Stored {
            url: (self.url != default_url).then(|| self.url.clone()),
            settings: self.settings.clone(),
            history: self.history.items().to_vec(),
        }
    }

    /// Where Connect goes now.
    pub fn connect_target(&self) -> ConnectTarget {
        ConnectTarget {
            url: self.url.clone(),
            protocols: self.settings.protocols.clone(),
            inspect: self.settings.inspect,
        }
    }

    /// What the page's first stage (the `boot` crate) needs to connect where
    /// Connect goes and to know whether it may send the Message box's text as
    /// it is: the socket URL, the protocols separated by commas and the
    /// composer's mode, one per line. Stored under [`FIRST_STAGE_KEY`].
    pub fn first_stage_note(&self) -> String {
        let target = self.connect_target();
        let protocols = protocol_list(&target.protocols).join(",");
        [target.socket_url(), protocols, self.settings.mode.label().to_owned()].join("\n")
    }

    /// Whether the open connection is to the lab, which takes commands.
    pub fn on_lab(&self) -> bool {
        self.pairing.on_lab() && self.ready_state == ReadyState::Open
    }

    /// Sends waiting for their echo on the current connection.
    pub fn pending(&self) -> usize {
        self.pairing.pending()
    }

    /// The log shown: the imported one while viewing it, else the live one.
    pub fn shown_log(&self) -> &Log {
        self.viewing.as_ref().map_or(&self.log, |imported| &imported.log)
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::EditUrl(url) => self.url = url,
            Action::EditDraft(draft) => self.draft = draft,
            Action::Set(setting) => self.set(setting),
            Action::Record { record, time, at_ms, facts } => {
                let ready_state = facts.ready_state;
                self.record(record, time, at_ms, facts);
                self.ready_state = ready_state;
                self.timeline.observe(ready_state, at_ms);
            }
            Action::Connecting(ready_state, at_ms) => {
                self.handshake = None;
                self.timeline = Timeline::start(ready_state, at_ms);
                self.notice = None;
                self.reconnect.connecting();
                self.pairing.start();
                self.negotiated = None;
                self.ready_state = ready_state;
            }
            Action::Disconnecting(ready_state, at_ms) => {
                self.reconnect.disconnecting();
                self.notice = None;
                self.ready_state = ready_state;
                self.timeline.observe(ready_state, at_ms);
            }
            Action::Sent { record, time, at_ms } => {
                self.history.push(&self.draft);
                self.log_sent(record, time, at_ms);
                self.draft.clear();
                self.notice = None;
            }
            Action::PageSent { text, time, at_ms } => {
                self.log_sent(Record::Sent { payload: Payload::Text(text) }, time, at_ms);
            }
            Action::BurstSent { payload, count, time, at_ms } => {
                let first_id = self.next_id;
                for _ in 0..count {
                    self.log_sent(Record::Sent { payload: payload.clone() }, time.clone(), at_ms);
                }
                if let Some(burst) = &mut self.burst {
                    burst.sent(first_id, count);
                }
            }
            Action::BurstStarted { count, size, at_ms } => {
                let serial = self.burst.as_ref().map_or(1, |burst| burst.serial + 1);
                self.burst = Some(Burst::new(serial, count, size, at_ms));
            }
            Action::BurstStopped(why) => {
                if let Some(burst) = &mut self.burst {
                    burst.stopped = Some(why);
                }
            }
            Action::Failed(message) => self.notice = Some(message),
            Action::HistoryOlder => {
                if let Some(older) = self.history.older(&self.draft) {
                    self.draft = older;
                }
            }
            Action::HistoryNewer => {
                if let Some(newer) = self.history.newer() {
                    self.draft = newer;
                }
            }
            Action::Filter(filter) => self.filter = filter,
            Action::Clear => {
                self.clears += 1;
                self.log.clear();
                self.traffic = Traffic::default();
                self.rtts.clear();
                self.burst = None;
            }
            Action::Import { name, entries } => {
                self.viewing = Some(Imported { name, log: entries.into_iter().map(Rc::new).collect() });
            }
            Action::CloseImport => self.viewing = None,
            Action::Batch(actions) => {
                for action in actions {
                    self.apply(action);
                }
            }
        }
    }

    fn set(&mut self, setting: Setting) {
        let settings = &mut self.settings;
        match setting {
            Setting::Protocols(value) => settings.protocols = value,
            Setting::CloseCode(value) => settings.close_code = value,
            Setting::CloseReason(value) => settings.close_reason = value,
            Setting::Mode(mode) => settings.mode = mode,
            Setting::AutoReconnect(on) => {
                settings.auto_reconnect = on;
                if !on {
                    self.reconnect.cancel();
                }
            }
            Setting::Inspect(on) => settings.inspect = on,
            Setting::BurstCount(value) => settings.burst_count = value,
            Setting::BurstSize(value) => settings.burst_size = value,
        }
    }

    fn record(&mut self, record: Record, time: String, at_ms: f64, facts: Facts) {
        let mut link = Link::None;
        match &record {
            Record::Open { url, protocol, extensions } => {
                self.reconnect.opened();
                self.pairing.opened(url);
                self.negotiated = Some(Negotiated { protocol: protocol.clone(), extensions: extensions.clone() });
            }
            Record::Message { payload, .. } => {
                self.traffic.received_messages += 1;
                self.traffic.received_bytes += payload.size_bytes() as u64;
                // A server report answers nothing sent: pairing it would make
                // every later echo answer the wrong message.
                link = match payload {
                    Payload::Text(text) => match report::report_kind(text) {
                        Some(kind) => {
                            if kind == "handshake" {
                                self.handshake = Some(Rc::new(report::parse_handshake(text)));
                            }
                            Link::Report
                        }
                        // What a lab `/fragment` asked for answers no send either.
                        None if self.is_fragment_reply(text) => Link::None,
                        None => self.pair_echo(at_ms),
                    },
                    Payload::Binary(_) => self.pair_echo(at_ms),
                };
            }
            Record::Close { .. } => {
                self.closes += 1;
                self.negotiated = None;
                for id in self.pairing.close() {
                    if let Some(entry) = self.entry_mut(id) {
                        entry.link = Link::Lost;
                    }
                }
                self.reconnect.closed(self.settings.auto_reconnect);
                if let Some(burst) = &mut self.burst {
                    burst.closed();
                }
            }
            Record::Sent { .. } | Record::Error => {}
        }
        self.push(record, time, at_ms, link, Some(facts));
    }

    /// Whether a received text is the message a lab `/fragment` command asked for.
    fn is_fragment_reply(&mut self, text: &str) -> bool {
        let log = &self.log;
        self.pairing.take_fragment_reply(text, |id| {
            matches!(entry(log, id).map(|entry| &entry.record), Some(Record::Sent { payload: Payload::Text(sent) }) if sent == text)
        })
    }

    /// Pairs a received message with the send it answers, if any, and counts
    /// its round trip.
    fn pair_echo(&mut self, at_ms: f64) -> Link {
        let Some((sent_id, sent_ms)) = self.pairing.answer() else {
            return Link::None;
        };
        let rtt_ms = (at_ms - sent_ms).max(0.0);
        let echo_id = self.next_id;
        if let Some(sent) = self.entry_mut(sent_id) {
            sent.link = Link::Echoed { by: echo_id, rtt_ms };
        }
        self.rtts.push(rtt_ms);
        if let Some(burst) = &mut self.burst {
            burst.echoed(sent_id, rtt_ms, at_ms);
        }
        Link::EchoOf { sent: sent_id, rtt_ms }
    }

    fn log_sent(&mut self, record: Record, time: String, at_ms: f64) {
        let link = match &record {
            Record::Sent { payload } => {
                self.traffic.sent_messages += 1;
                self.traffic.sent_bytes += payload.size_bytes() as u64;
                self.pairing.sent(self.next_id, at_ms, payload)
            }
            _ => Link::None,
        };
        self.push(record, time, at_ms, link, None);
    }

    /// The live log's entry with `id` (ids increase along the log).
    fn entry_mut(&mut self, id: u64) -> Option<&mut Entry> {
        let first = self.log.get(0)?.id;
        let index = usize::try_from(id.checked_sub(first)?).ok()?;
        // Ids are consecutive within the log: a Clear empties it entirely.
        self.log.get_mut(index).filter(|entry| entry.id == id).map(Rc::make_mut)
    }

    fn push(&mut self, record: Record, time: String, at_ms: f64, link: Link, facts: Option<Facts>) {
        self.log.push(Rc::new(Entry { id: self.next_id, time, at_ms, record, link, facts }));
        self.next_id += 1;
    }
}

/// The entry of `log` with `id`.
fn entry(log: &Log, id: u64) -> Option<&Entry> {
    let first = log.get(0)?.id;
    log.get(usize::try_from(id.checked_sub(first)?).ok()?).filter(|entry| entry.id == id).map(|entry| &**entry)
}

impl Reducible for Session {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut session = Rc::unwrap_or_clone(self);
        session.apply(action);
        Rc::new(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn run(actions: Vec<Action>) -> Session {
        let mut session = Session::new("ws://h/ws".into(), 1);
        for action in actions {
            session.apply(action);
        }
        session
    }

    pub(super) fn at(record: Record, at_ms: f64, ready_state: ReadyState) -> Action {
        Action::Record { record, time: "00:00:00.000".into(), at_ms, facts: Facts::new(ready_state) }
    }

    pub(super) fn open() -> Action {
        at(
            Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() },
            0.0,
            ReadyState::Open,
        )
    }

    pub(super) fn echo(text: &str, at_ms: f64) -> Action {
        at(Record::Message { payload: Payload::Text(text.into()), origin: "ws://h".into() }, at_ms, ReadyState::Open)
    }

    pub(super) fn sent(text: &str, at_ms: f64) -> Action {
        Action::Sent { record: Record::Sent { payload: Payload::Text(text.into()) }, time: "t".into(), at_ms }
    }

    pub(super) fn close(code: u16) -> Action {
        at(Record::Close { code, reason: String::new(), was_clean: code != 1006 }, 0.0, ReadyState::Closed)
    }

    pub(super) fn links(session: &Session) -> Vec<Link> {
        session.log.iter().map(|entry| entry.link).collect()
    }

    #[test]
    fn events_are_logged_in_order_with_increasing_ids() {
        let session = run(vec![Action::Connecting(ReadyState::Connecting, 0.0), open(), echo("hi", 1.0), close(1000)]);
        let kinds: Vec<_> = session.log.iter().map(|entry| entry.record.kind().label()).collect();
        assert_eq!(kinds, ["open", "message", "close"]);
        let ids: Vec<_> = session.log.iter().map(|entry| entry.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(session.ready_state, ReadyState::Closed);
        assert_eq!(session.closes, 1);
    }

    #[test]
    fn an_error_event_is_not_the_end_of_a_connection() {
        // The error event already reports CLOSED; the close event comes after it.
        let session = run(vec![at(Record::Error, 0.0, ReadyState::Closed)]);
        assert_eq!(session.closes, 0);
    }

    #[test]
    fn sending_logs_remembers_and_empties_the_box() {
        let session = run(vec![Action::EditDraft("hello".into()), sent("hello", 0.0)]);
        assert_eq!(session.draft, "");
        assert_eq!(session.log.get(0).unwrap().record.kind().label(), "sent");
        assert_eq!(session.history.items(), ["hello"]);
        assert_eq!(session.traffic.sent_messages, 1);
        assert_eq!(session.traffic.sent_bytes, 5);
    }

    #[test]
    fn a_failure_keeps_the_draft_and_shows_a_notice() {
        let session = run(vec![Action::EditDraft("keep me".into()), Action::Failed("not open".into())]);
        assert_eq!(session.draft, "keep me");
        assert_eq!(session.notice.as_deref(), Some("not open"));
    }

    #[test]
    fn clear_empties_the_log_and_stats_but_ids_keep_growing() {
        let session = run(vec![
            open(),
            sent("a", 1.0),
            echo("a", 2.0),
            Action::Clear,
            at(Record::Error, 0.0, ReadyState::Closed),
        ]);
        assert_eq!(session.log.len(), 1);
        assert_eq!(session.log.get(0).unwrap().id, 4);
        assert_eq!(session.traffic, Traffic::default());
        assert!(session.rtts.is_empty());
    }

    #[test]
    fn connecting_again_clears_the_last_notice() {
        let session = run(vec![Action::Failed("bad URL".into()), Action::Connecting(ReadyState::Connecting, 0.0)]);
        assert_eq!(session.notice, None);
    }

    #[test]
    fn history_is_browsed_with_up_and_down() {
        let session = run(vec![
            Action::EditDraft("one".into()),
            sent("one", 0.0),
            Action::EditDraft("draft".into()),
            Action::HistoryOlder,
        ]);
        assert_eq!(session.draft, "one");
        let mut session = session;
        session.apply(Action::HistoryNewer);
        assert_eq!(session.draft, "draft");
    }

    #[test]
    fn a_batch_is_the_same_as_its_actions_one_by_one() {
        let actions = vec![open(), sent("a", 1.0), echo("a", 2.0), close(1000)];
        let batched = run(vec![Action::Batch(actions.clone())]);
        assert_eq!(batched, run(actions));
    }

    #[test]
    fn settings_and_history_are_stored_and_restored() {
        let mut session =
            run(vec![Action::Set(Setting::Mode(Mode::Json)), Action::EditDraft("{}".into()), sent("{}", 0.0)]);
        session.apply(Action::EditUrl("ws://other/ws".into()));
        let stored = session.stored("ws://h/ws");
        assert_eq!(stored.url.as_deref(), Some("ws://other/ws"));
        let restored = Session::restored("ws://h/ws".into(), stored, 1);
        assert_eq!(restored.settings.mode, Mode::Json);
        assert_eq!(restored.history.items(), ["{}"]);
        assert_eq!(restored.url, "ws://other/ws");
        assert_eq!(Session::new("ws://h/ws".into(), 1).stored("ws://h/ws").url, None);
    }

    #[test]
    fn an_imported_session_is_viewed_beside_the_live_log() {
        let entry = Entry { id: 9, time: "t".into(), at_ms: 0.0, record: Record::Error, link: Link::None, facts: None };
        let mut session = run(vec![open(), Action::Import { name: "s.json".into(), entries: vec![entry] }]);
        assert_eq!(session.viewing.as_ref().unwrap().log.len(), 1);
        assert_eq!(session.log.len(), 1, "the live log keeps going");
        session.apply(Action::CloseImport);
        assert_eq!(session.viewing, None);
    }

    const HANDSHAKE: &str = r#"{"server":"handshake","request":{"line":"GET /ws?inspect HTTP/1.1","headers":[["sec-websocket-key","dGhlIHNhbXBsZSBub25jZQ=="]]},"response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[["sec-websocket-accept","s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]]}}"#;

    #[test]
    fn server_reports_are_logged_but_are_not_echoes() {
        let session = run(vec![
            Action::Connecting(ReadyState::Connecting, 0.0),
            open(),
            echo(HANDSHAKE, 1.0),
            sent("a", 10.0),
            echo(r#"{"server":"delay","ms":500}"#, 11.0),
            echo("a", 12.0),
            sent("{\"server\":1}", 13.0),
        ]);
        let kinds: Vec<_> = session.log.iter().map(|entry| entry.record.kind().label()).collect();
        assert_eq!(kinds, ["open", "message", "sent", "message", "message", "sent"]);
        assert_eq!(
            links(&session),
            [
                Link::None,
                Link::Report,
                Link::Echoed { by: 5, rtt_ms: 2.0 },
                Link::Report,
                Link::EchoOf { sent: 3, rtt_ms: 2.0 },
                Link::Pending,
            ]
        );
        assert_eq!(session.pending(), 1);
        assert_eq!(session.traffic.received_messages, 3, "reports are still messages received");
        let handshake = session.handshake.as_deref().unwrap().as_ref().unwrap();
        assert_eq!(handshake.request.line, "GET /ws?inspect HTTP/1.1");
    }

    #[test]
    fn an_echo_that_looks_like_a_report_only_counts_when_its_first_key_is_server() {
        let text = r#"{"client":1,"server":"handshake"}"#;
        let session = run(vec![open(), sent(text, 1.0), echo(text, 2.0)]);
        assert_eq!(links(&session)[2], Link::EchoOf { sent: 2, rtt_ms: 1.0 });
        assert_eq!(session.handshake, None);
    }

    #[test]
    fn a_malformed_handshake_report_is_kept_as_an_error_and_a_new_connection_forgets_it() {
        let mut session = run(vec![open(), echo(r#"{"server":"handshake","request":{}}"#, 1.0)]);
        let error = session.handshake.as_deref().unwrap().as_ref().unwrap_err();
        assert!(error.contains("\"request\" has no \"line\""), "{error}");
        assert_eq!(links(&session)[1], Link::Report);
        session.apply(Action::Connecting(ReadyState::Connecting, 5.0));
        assert_eq!(session.handshake, None);
    }

    #[test]
    fn the_timeline_follows_the_ready_state_from_connect() {
        let session = run(vec![
            Action::Connecting(ReadyState::Connecting, 100.0),
            at(
                Record::Open { url: "u".into(), protocol: String::new(), extensions: String::new() },
                112.0,
                ReadyState::Open,
            ),
            echo("x", 130.0),
            Action::Disconnecting(ReadyState::Closing, 150.0),
            at(Record::Close { code: 1000, reason: String::new(), was_clean: true }, 153.0, ReadyState::Closed),
        ]);
        use ReadyState::*;
        assert_eq!(session.timeline.steps(), [(Connecting, 0.0), (Open, 12.0), (Closing, 50.0), (Closed, 53.0)]);
        let facts = session.log.get(0).unwrap().facts.clone().unwrap();
        assert_eq!(facts.ready_state, Open);
    }
}
