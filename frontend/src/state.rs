//! The page's state and every way it can change, as a pure reducer.

use std::rc::Rc;

use yew::Reducible;

use crate::backoff::{Backoff, Jitter};
use crate::chunked::Chunked;
use crate::compose::Mode;
use crate::event_log::{Entry, Facts, Link, Log, Payload, Record};
use crate::filter::Filter;
use crate::history::History;
use crate::lab;
use crate::ready_state::ReadyState;
use crate::report::{self, Handshake};
use crate::settings::{Settings, Stored};
use crate::stats::Traffic;
use crate::timeline::Timeline;

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
    /// `WebSocket.protocol` and `WebSocket.extensions` of the open connection.
    pub negotiated: Option<(String, String)>,
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
    /// Sends on the current connection (entry id, time sent), oldest first.
    in_flight: Chunked<(u64, f64)>,
    /// How many of `in_flight` have been echoed.
    answered: usize,
    /// Whether the open connection is to the lab, where a text starting with `/`
    /// is a command and gets no echo.
    lab: bool,
    /// Texts that lab `/fragment` commands will make the server send, oldest first.
    replies: Vec<String>,
    next_id: u64,
    jitter: Jitter,
    backoff: Backoff,
}

/// Automatic reconnection's state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reconnect {
    /// Retries since the last successful open.
    pub attempt: u32,
    /// The retry that is scheduled, if any.
    pub due: Option<Due>,
    /// Whether the last close was asked for with Disconnect (never retried).
    pub deliberate: bool,
    serials: u64,
}

/// A scheduled retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    /// Distinguishes retries, so each one gets its own timer.
    pub serial: u64,
    /// Which retry this is, from 1.
    pub attempt: u32,
    /// How long to wait, in ms.
    pub delay_ms: f64,
}

/// A burst of messages and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Distinguishes bursts, so each one gets its own timer.
    pub serial: u64,
    /// Messages to send.
    pub count: usize,
    /// Bytes per message.
    pub size: usize,
    /// Messages sent so far.
    pub sent: usize,
    /// Echoes received so far.
    pub echoed: usize,
    /// When it started (`performance.now()`).
    pub started_ms: f64,
    /// When the last echo came.
    pub finished_ms: Option<f64>,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// The round-trip times of its echoes, ms.
    pub rtts: Chunked<f64>,
    first_id: Option<u64>,
}

impl Burst {
    /// Whether messages remain to be sent.
    pub fn sending(&self) -> bool {
        self.stopped.is_none() && self.sent < self.count
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
            reconnect: Reconnect::default(),
            burst: None,
            viewing: None,
            handshake: None,
            timeline: Timeline::default(),
            in_flight: Chunked::default(),
            answered: 0,
            lab: false,
            replies: Vec::new(),
            next_id: 1,
            jitter: Jitter::new(seed),
            backoff: Backoff::default(),
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

    /// Whether the open connection is to the lab, which takes commands.
    pub fn on_lab(&self) -> bool {
        self.lab && self.ready_state == ReadyState::Open
    }

    /// Sends waiting for their echo on the current connection.
    pub fn pending(&self) -> usize {
        self.in_flight.len() - self.answered
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
                self.reconnect.due = None;
                self.reconnect.deliberate = false;
                self.in_flight.clear();
                self.answered = 0;
                self.lab = false;
                self.replies.clear();
                self.negotiated = None;
                self.ready_state = ready_state;
            }
            Action::Disconnecting(ready_state, at_ms) => {
                self.reconnect.deliberate = true;
                self.reconnect.due = None;
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
                let id = self.next_id;
                for _ in 0..count {
                    self.log_sent(Record::Sent { payload: payload.clone() }, time.clone(), at_ms);
                }
                if let Some(burst) = &mut self.burst {
                    burst.first_id.get_or_insert(id);
                    burst.sent += count;
                }
            }
            Action::BurstStarted { count, size, at_ms } => {
                let serial = self.burst.as_ref().map_or(1, |burst| burst.serial + 1);
                self.burst = Some(Burst {
                    serial,
                    count,
                    size,
                    sent: 0,
                    echoed: 0,
                    started_ms: at_ms,
                    finished_ms: None,
                    stopped: None,
                    rtts: Chunked::default(),
                    first_id: None,
                });
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
                    self.reconnect.due = None;
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
                self.reconnect.attempt = 0;
                self.lab = lab::is_lab_url(url);
                self.negotiated = Some((protocol.clone(), extensions.clone()));
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
                self.mark_lost();
                self.replies.clear();
                if self.settings.auto_reconnect && !self.reconnect.deliberate {
                    let delay_ms = self.backoff.delay_ms(self.reconnect.attempt, self.jitter.next_unit());
                    self.reconnect.attempt += 1;
                    self.reconnect.serials += 1;
                    self.reconnect.due =
                        Some(Due { serial: self.reconnect.serials, attempt: self.reconnect.attempt, delay_ms });
                }
                if let Some(burst) = self.burst.as_mut().filter(|burst| burst.finished_ms.is_none()) {
                    burst.stopped.get_or_insert_with(|| "the connection closed".to_owned());
                }
            }
            Record::Sent { .. } | Record::Error => {}
        }
        self.push(record, time, at_ms, link, Some(facts));
    }

    /// Whether a received text is the message a lab `/fragment` command asked
    /// for. A fragment's text that equals the next echo due is taken as that
    /// echo, since the two cannot be told apart.
    fn is_fragment_reply(&mut self, text: &str) -> bool {
        if self.replies.first().map(String::as_str) != Some(text) {
            return false;
        }
        let next_echo = self.in_flight.get(self.answered).and_then(|&(id, _)| self.entry(id));
        if next_echo
            .is_some_and(|entry| matches!(&entry.record, Record::Sent { payload: Payload::Text(sent) } if sent == text))
        {
            return false;
        }
        self.replies.remove(0);
        true
    }

    /// The k-th message received answers the k-th sent on this connection.
    fn pair_echo(&mut self, at_ms: f64) -> Link {
        let Some(&(sent_id, sent_ms)) = self.in_flight.get(self.answered) else {
            return Link::None;
        };
        self.answered += 1;
        let rtt_ms = (at_ms - sent_ms).max(0.0);
        let echo_id = self.next_id;
        if let Some(sent) = self.entry_mut(sent_id) {
            sent.link = Link::Echoed { by: echo_id, rtt_ms };
        }
        self.rtts.push(rtt_ms);
        if let Some(burst) = &mut self.burst {
            if burst.first_id.is_some_and(|first| sent_id >= first) {
                burst.echoed += 1;
                burst.rtts.push(rtt_ms);
                if burst.echoed == burst.count {
                    burst.finished_ms = Some(at_ms);
                }
            }
        }
        Link::EchoOf { sent: sent_id, rtt_ms }
    }

    /// Sends still waiting when the connection closes will never be echoed.
    fn mark_lost(&mut self) {
        let lost: Vec<u64> = self.in_flight.iter_from(self.answered).map(|&(id, _)| id).collect();
        for id in lost {
            if let Some(entry) = self.entry_mut(id) {
                entry.link = Link::Lost;
            }
        }
        self.in_flight.clear();
        self.answered = 0;
    }

    fn log_sent(&mut self, record: Record, time: String, at_ms: f64) {
        if let Record::Sent { payload } = &record {
            self.traffic.sent_messages += 1;
            self.traffic.sent_bytes += payload.size_bytes() as u64;
            // The lab obeys a command instead of echoing it.
            if let Payload::Text(text) = payload {
                if self.lab && lab::is_command(text) {
                    self.replies.extend(lab::fragment_reply(text).map(str::to_owned));
                    return self.push(record, time, at_ms, Link::None, None);
                }
            }
        }
        self.in_flight.push((self.next_id, at_ms));
        self.push(record, time, at_ms, Link::Pending, None);
    }

    /// The live log's entry with `id`.
    fn entry(&self, id: u64) -> Option<&Entry> {
        let first = self.log.get(0)?.id;
        self.log.get(usize::try_from(id.checked_sub(first)?).ok()?).filter(|entry| entry.id == id).map(|entry| &**entry)
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

    fn run(actions: Vec<Action>) -> Session {
        let mut session = Session::new("ws://h/ws".into(), 1);
        for action in actions {
            session.apply(action);
        }
        session
    }

    fn at(record: Record, at_ms: f64, ready_state: ReadyState) -> Action {
        Action::Record { record, time: "00:00:00.000".into(), at_ms, facts: Facts::new(ready_state) }
    }

    fn open() -> Action {
        at(
            Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() },
            0.0,
            ReadyState::Open,
        )
    }

    fn echo(text: &str, at_ms: f64) -> Action {
        at(Record::Message { payload: Payload::Text(text.into()), origin: "ws://h".into() }, at_ms, ReadyState::Open)
    }

    fn sent(text: &str, at_ms: f64) -> Action {
        Action::Sent { record: Record::Sent { payload: Payload::Text(text.into()) }, time: "t".into(), at_ms }
    }

    fn close(code: u16) -> Action {
        at(Record::Close { code, reason: String::new(), was_clean: code != 1006 }, 0.0, ReadyState::Closed)
    }

    fn links(session: &Session) -> Vec<Link> {
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
    fn the_kth_echo_answers_the_kth_send_with_its_round_trip() {
        let session =
            run(vec![open(), sent("a", 10.0), sent("bb", 11.0), echo("a", 12.5), sent("ccc", 13.0), echo("bb", 14.0)]);
        assert_eq!(
            links(&session),
            [
                Link::None,
                Link::Echoed { by: 4, rtt_ms: 2.5 },
                Link::Echoed { by: 6, rtt_ms: 3.0 },
                Link::EchoOf { sent: 2, rtt_ms: 2.5 },
                Link::Pending,
                Link::EchoOf { sent: 3, rtt_ms: 3.0 },
            ]
        );
        assert_eq!(session.pending(), 1);
        assert_eq!(session.rtts.iter().copied().collect::<Vec<_>>(), [2.5, 3.0]);
        assert_eq!(session.traffic.received_messages, 2);
        assert_eq!(session.traffic.received_bytes, 3);
    }

    #[test]
    fn sends_cut_off_by_a_close_are_lost_and_a_new_connection_starts_afresh() {
        let session = run(vec![
            open(),
            sent("a", 1.0),
            sent("b", 2.0),
            echo("a", 3.0),
            close(1006),
            Action::Connecting(ReadyState::Connecting, 0.0),
            open(),
            echo("unexpected", 9.0),
        ]);
        let links = links(&session);
        assert_eq!(links[2], Link::Lost);
        assert_eq!(links[6], Link::None, "nothing was sent on the new connection");
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn pairing_survives_a_clear() {
        let session = run(vec![open(), sent("a", 1.0), Action::Clear, echo("a", 2.0)]);
        assert_eq!(links(&session), [Link::EchoOf { sent: 2, rtt_ms: 1.0 }]);
        assert_eq!(session.rtts.len(), 1);
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
    fn reconnects_are_scheduled_only_when_enabled_and_not_deliberate() {
        let without = run(vec![open(), close(1006)]);
        assert_eq!(without.reconnect.due, None, "off by default");

        let mut session = run(vec![Action::Set(Setting::AutoReconnect(true)), open(), close(1006)]);
        let first = session.reconnect.due.expect("a retry is due");
        assert_eq!(first.attempt, 1);
        assert!((250.0..=500.0).contains(&first.delay_ms), "{first:?}");
        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        assert_eq!(session.reconnect.due, None);
        session.apply(close(1006));
        let second = session.reconnect.due.unwrap();
        assert_eq!(second.attempt, 2);
        assert!((500.0..=1000.0).contains(&second.delay_ms), "{second:?}");
        assert_ne!(first.serial, second.serial);

        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        session.apply(open());
        assert_eq!(session.reconnect.attempt, 0, "an open resets the count");
        session.apply(Action::Disconnecting(ReadyState::Closing, 0.0));
        session.apply(close(1000));
        assert_eq!(session.reconnect.due, None, "Disconnect never reconnects");

        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        session.apply(close(1006));
        assert!(session.reconnect.due.is_some());
        session.apply(Action::Set(Setting::AutoReconnect(false)));
        assert_eq!(session.reconnect.due, None, "unticking cancels the retry");
    }

    #[test]
    fn a_burst_counts_its_sends_and_echoes_and_finishes_on_the_last_echo() {
        let burst_sent =
            |at_ms| Action::BurstSent { payload: Payload::Text("x".into()), count: 1, time: "t".into(), at_ms };
        let mut session = run(vec![
            open(),
            sent("before", 0.0),
            Action::BurstStarted { count: 2, size: 1, at_ms: 1.0 },
            burst_sent(1.0),
            burst_sent(1.5),
            echo("before", 2.0),
        ]);
        let burst = session.burst.clone().unwrap();
        assert_eq!((burst.sent, burst.echoed, burst.sending()), (2, 0, false));
        assert_eq!(session.draft, "", "a burst leaves the draft alone");
        session.apply(echo("x", 3.0));
        session.apply(echo("x", 4.0));
        let burst = session.burst.clone().unwrap();
        assert_eq!((burst.echoed, burst.finished_ms), (2, Some(4.0)));
        assert_eq!(
            burst.rtts.iter().copied().collect::<Vec<_>>(),
            [2.0, 2.5],
            "the earlier send's echo is not the burst's"
        );
    }

    #[test]
    fn a_batch_is_the_same_as_its_actions_one_by_one() {
        let actions = vec![open(), sent("a", 1.0), echo("a", 2.0), close(1000)];
        let batched = run(vec![Action::Batch(actions.clone())]);
        assert_eq!(batched, run(actions));
    }

    #[test]
    fn a_close_stops_a_running_burst() {
        let session = run(vec![open(), Action::BurstStarted { count: 5, size: 1, at_ms: 0.0 }, close(1006)]);
        assert_eq!(session.burst.unwrap().stopped.as_deref(), Some("the connection closed"));
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

    fn open_lab() -> Action {
        at(
            Record::Open { url: "ws://h/ws/lab".into(), protocol: String::new(), extensions: String::new() },
            0.0,
            ReadyState::Open,
        )
    }

    fn command(text: &str, at_ms: f64) -> Action {
        Action::PageSent { text: text.into(), time: "t".into(), at_ms }
    }

    #[test]
    fn lab_commands_expect_no_echo_and_reports_answer_no_send() {
        let session = run(vec![
            open_lab(),
            command("/delay 100", 1.0),
            echo(r#"{"server":"delay","ms":100}"#, 2.0),
            sent("a", 3.0),
            Action::EditDraft("draft".into()),
            command("/ping", 4.0),
            echo(r#"{"server":"pong","ms":0.5}"#, 5.0),
            echo("a", 103.0),
        ]);
        assert_eq!(
            links(&session),
            [
                Link::None,
                Link::None,
                Link::Report,
                Link::Echoed { by: 7, rtt_ms: 100.0 },
                Link::None,
                Link::Report,
                Link::EchoOf { sent: 4, rtt_ms: 100.0 },
            ]
        );
        assert_eq!(session.pending(), 0);
        assert_eq!(session.draft, "draft", "a command leaves the draft alone");
        assert_eq!(session.traffic.sent_messages, 3);
    }

    #[test]
    fn a_lab_fragment_reply_is_not_an_echo() {
        let session = run(vec![
            open_lab(),
            sent("slow", 1.0),
            command("/fragment 2 hello", 2.0),
            // The reply and the report come at once, before the delayed echo.
            echo("hello", 3.0),
            echo(r#"{"server":"fragmented","frames":2,"bytes":5}"#, 3.5),
            echo("slow", 9.0),
        ]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 6, rtt_ms: 8.0 });
        assert_eq!(links(&session)[3], Link::None);
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn a_fragment_text_equal_to_the_next_echo_is_taken_as_that_echo() {
        let session = run(vec![
            open_lab(),
            sent("x y", 1.0),
            command("/fragment 2 x y", 2.0),
            echo("x y", 3.0),
            echo("x y", 4.0),
        ]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 4, rtt_ms: 2.0 });
        assert_eq!(links(&session)[4], Link::None);
        assert_eq!(session.pending(), 0);
    }

    #[test]
    fn slash_texts_are_echoed_off_the_lab() {
        let session = run(vec![open(), command("/drop", 1.0), echo("/drop", 2.0)]);
        assert_eq!(links(&session)[1], Link::Echoed { by: 3, rtt_ms: 1.0 });
        let session =
            run(vec![open_lab(), Action::Connecting(ReadyState::Connecting, 0.0), open(), command("/x", 1.0)]);
        assert_eq!(session.pending(), 1, "a new connection to /ws is no lab");
    }

    #[test]
    fn a_dropped_lab_connection_loses_its_sends_and_forgets_its_replies() {
        let mut session = run(vec![open_lab(), sent("a", 1.0), command("/fragment 2 ab", 1.5), command("/drop", 2.0)]);
        session.apply(close(1006));
        assert_eq!(links(&session)[1], Link::Lost);
        assert_eq!(links(&session)[3], Link::None);
        assert!(session.replies.is_empty());
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
