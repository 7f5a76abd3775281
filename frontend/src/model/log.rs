//! The event log's data: what each entry records and how it reads, as plain
//! values with no browser types, so native tests cover all of it.

use std::fmt::Write as _;
use std::rc::Rc;

use boot::text::one_line;

use crate::model::ready_state::ReadyState;
use crate::model::{close_code, report};
use crate::util::chunked::Chunked;
use crate::util::codec;
use crate::util::format::{format_ms, quoted_if_empty};

/// A message's data, as `MessageEvent.data` carries it or as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A text message (a JavaScript string).
    Text(String),
    /// A binary message (an `ArrayBuffer`, since the app sets `binaryType`).
    Binary(Vec<u8>),
}

impl Payload {
    /// The size on the wire: UTF-8 bytes for text, bytes for binary.
    pub fn size_bytes(&self) -> usize {
        match self {
            Payload::Text(text) => text.len(),
            Payload::Binary(bytes) => bytes.len(),
        }
    }

    /// `text` or `binary`, as the log labels the type.
    pub fn type_label(&self) -> &'static str {
        match self {
            Payload::Text(_) => "text",
            Payload::Binary(_) => "binary",
        }
    }

    /// What the log shows of the data: text as it is, binary as a hex preview.
    pub fn preview(&self) -> String {
        match self {
            Payload::Text(text) => text.clone(),
            Payload::Binary(bytes) => codec::hex_preview(bytes, 32),
        }
    }
}

/// One thing that happened on the socket, with the values its interface carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The `open` event: the handshake succeeded.
    Open {
        /// `WebSocket.url`.
        url: String,
        /// `WebSocket.protocol`, the negotiated subprotocol (often empty).
        protocol: String,
        /// `WebSocket.extensions`, the negotiated extensions (often empty).
        extensions: String,
    },
    /// A `message` event.
    Message {
        /// `MessageEvent.data`.
        payload: Payload,
        /// `MessageEvent.origin`: the origin of the socket's URL.
        origin: String,
    },
    /// A message this page sent with `WebSocket.send()`.
    Sent {
        /// What was sent.
        payload: Payload,
    },
    /// A `close` event.
    Close {
        /// `CloseEvent.code`.
        code: u16,
        /// `CloseEvent.reason`.
        reason: String,
        /// `CloseEvent.wasClean`: whether the closing handshake completed.
        was_clean: bool,
    },
    /// An `error` event, which by design carries no detail.
    Error,
}

/// The kind of an entry, in the words the log uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `open` event.
    Open,
    /// A `message` event.
    Message,
    /// A message this page sent.
    Sent,
    /// The `close` event.
    Close,
    /// The `error` event.
    Error,
}

impl Kind {
    /// Every kind, in the order the filters list them.
    pub const ALL: [Kind; 5] = [Kind::Open, Kind::Message, Kind::Sent, Kind::Close, Kind::Error];

    /// The word shown for this kind.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Open => "open",
            Kind::Message => "message",
            Kind::Sent => "sent",
            Kind::Close => "close",
            Kind::Error => "error",
        }
    }
}

/// What the log says about every `error` event: browsers deliberately hide the
/// cause, so the entry says where to look instead.
pub const ERROR_EXPLANATION: &str = "The browser gives no detail about WebSocket errors (on purpose, so \
     pages cannot probe the network). A close event follows with code 1006; the browser's console may \
     say more.";

impl Record {
    /// This record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Open { .. } => Kind::Open,
            Record::Message { .. } => Kind::Message,
            Record::Sent { .. } => Kind::Sent,
            Record::Close { .. } => Kind::Close,
            Record::Error => Kind::Error,
        }
    }

    /// The one line a row shows beside the kind: a message's data (a server
    /// report as what it says), or what the event says.
    pub fn summary(&self) -> String {
        match self {
            Record::Open { url, .. } => format!("connected to {url}"),
            Record::Message { payload: Payload::Text(text), .. } => {
                report::describe_report(text).unwrap_or_else(|| one_line(text))
            }
            Record::Sent { payload: Payload::Text(text) } => one_line(text),
            Record::Message { payload: Payload::Binary(bytes), .. }
            | Record::Sent { payload: Payload::Binary(bytes) } => codec::hex_preview(bytes, PREVIEW_CHARS / 3),
            Record::Close { code, reason, was_clean } => {
                let clean = if *was_clean { "clean" } else { "not clean" };
                match reason.is_empty() {
                    true => format!("code {code} ({clean})"),
                    false => format!("code {code} ({clean}) · {reason}"),
                }
            }
            Record::Error => "error event (no detail available)".to_owned(),
        }
    }

    /// What a message or send carried.
    pub fn payload(&self) -> Option<&Payload> {
        match self {
            Record::Message { payload, .. } | Record::Sent { payload } => Some(payload),
            _ => None,
        }
    }

    /// The properties of the interface that carried an `open`, `close` or
    /// `error` event, named as on that interface, with each string value shown
    /// by `string` (the log and the explanation show strings differently).
    /// Messages have none here: each view shows their data its own way.
    pub fn event_properties(&self, string: fn(&str) -> String) -> Vec<Property> {
        match self {
            Record::Open { url, protocol, extensions } => vec![
                ("WebSocket.url", url.clone()),
                ("WebSocket.protocol", string(protocol)),
                ("WebSocket.extensions", string(extensions)),
            ],
            Record::Close { code, reason, was_clean } => vec![
                ("CloseEvent.code", code.to_string()),
                ("CloseEvent.reason", string(reason)),
                ("CloseEvent.wasClean", was_clean.to_string()),
            ],
            Record::Error => vec![("Event.type", "error".to_owned())],
            Record::Message { .. } | Record::Sent { .. } => Vec::new(),
        }
    }

    /// The entry's details as (property, value) pairs, named as on the browser's
    /// interfaces so they can be looked up.
    pub fn details(&self) -> Vec<Property> {
        match self {
            Record::Message { payload, origin } => vec![
                ("MessageEvent.data", payload.preview()),
                ("type", payload.type_label().to_owned()),
                ("size", format!("{} bytes", payload.size_bytes())),
                ("MessageEvent.origin", origin.clone()),
            ],
            Record::Sent { payload } => vec![
                ("data", payload.preview()),
                ("type", payload.type_label().to_owned()),
                ("size", format!("{} bytes", payload.size_bytes())),
            ],
            Record::Open { .. } | Record::Close { .. } | Record::Error => {
                let mut details = self.event_properties(quoted_if_empty);
                match self {
                    Record::Close { code, .. } => details.push(("meaning", close_code::meaning(*code).to_owned())),
                    Record::Error => details.push(("why no detail", ERROR_EXPLANATION.to_owned())),
                    _ => {}
                }
                details
            }
        }
    }
}

/// A property's name and its value as shown.
pub type Property = (&'static str, String);

/// What the socket and the event said when the event fired, beyond the record
/// itself, for the entry's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `WebSocket.readyState` right after the event.
    pub ready_state: ReadyState,
    /// `WebSocket.bufferedAmount` then.
    pub buffered_amount: u32,
    /// `WebSocket.binaryType` (the page sets `arraybuffer`).
    pub binary_type: &'static str,
    /// `MessageEvent.lastEventId` (message events only; always empty for WebSockets).
    pub last_event_id: Option<String>,
}

impl Facts {
    /// Facts with only the ready state known, as tests and imports make them.
    pub fn new(ready_state: ReadyState) -> Facts {
        Facts { ready_state, buffered_amount: 0, binary_type: "arraybuffer", last_event_id: None }
    }
}

/// How a sent message and its echo are paired. On one connection the k-th
/// message received answers the k-th message sent, because the echo server
/// answers in order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// Not a message, or a message that answers nothing sent on this connection.
    None,
    /// Sent, its echo not yet received.
    Pending,
    /// Sent and echoed by entry `by` after `rtt_ms`.
    Echoed {
        /// The echo's entry id.
        by: u64,
        /// Round-trip time in milliseconds.
        rtt_ms: f64,
    },
    /// Sent, but the connection closed before its echo came.
    Lost,
    /// A report the server sent of its own accord: not an echo, so it answers
    /// nothing sent.
    Report,
    /// The echo of entry `sent`, `rtt_ms` after it was sent.
    EchoOf {
        /// The sent entry's id.
        sent: u64,
        /// Round-trip time in milliseconds.
        rtt_ms: f64,
    },
}

impl Link {
    /// The short word shown beside the summary, if any.
    pub fn badge(&self) -> Option<String> {
        match self {
            Link::None => None,
            Link::Pending => Some("pending".to_owned()),
            Link::Echoed { rtt_ms, .. } => Some(format!("echoed · {}", format_ms(*rtt_ms))),
            Link::Lost => Some("lost".to_owned()),
            Link::Report => Some("server report".to_owned()),
            Link::EchoOf { rtt_ms, .. } => Some(format!("RTT {}", format_ms(*rtt_ms))),
        }
    }

    /// The detail line explaining the pairing, if any.
    pub fn detail(&self) -> Option<Property> {
        match self {
            Link::None => None,
            Link::Pending => Some(("echo", "pending: not echoed yet".to_owned())),
            Link::Echoed { by, rtt_ms } => Some(("echo", format!("entry #{by}, round trip {}", format_ms(*rtt_ms)))),
            Link::Lost => Some(("echo", "lost: the connection closed before the echo came".to_owned())),
            Link::Report => {
                Some(("server report", "sent by the server itself: not an echo of anything sent".to_owned()))
            }
            Link::EchoOf { sent, rtt_ms } => {
                Some(("echo of", format!("entry #{sent}, round trip {}", format_ms(*rtt_ms))))
            }
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Unique within the log, in order of arrival.
    pub id: u64,
    /// Local wall-clock time, `HH:MM:SS.mmm`.
    pub time: String,
    /// A monotonic time in milliseconds (`performance.now()`), for round trips.
    pub at_ms: f64,
    /// What happened.
    pub record: Record,
    /// Its pairing with a sent message or echo.
    pub link: Link,
    /// What the socket said at the time (events only; not kept in exported files).
    pub facts: Option<Facts>,
}

/// How many characters of a message a row shows: a text on one line, its
/// line breaks shown as `↵`, at most this many characters, then `…`
/// (`boot::text::one_line`, which the page's first stage draws with too).
/// Binary data shows as hex.
pub const PREVIEW_CHARS: usize = boot::text::PREVIEW_CHARS;

/// The event log: entries shared, so that clones of the log and props of the
/// rows that draw them copy pointers, not messages.
pub type Log = Chunked<Rc<Entry>>;

/// How many bytes of a binary message the hex dump shows.
pub const HEX_DUMP_LIMIT: usize = 4096;

impl Entry {
    /// Every detail shown, the pairing and (for binary) the hex dump included.
    pub fn details(&self) -> Vec<Property> {
        let mut details = self.record.details();
        if let Some(link) = self.link.detail() {
            details.push(link);
        }
        if let Record::Message { payload: Payload::Binary(bytes), .. }
        | Record::Sent { payload: Payload::Binary(bytes) } = &self.record
        {
            details.push(("hex dump", codec::hex_dump(bytes, HEX_DUMP_LIMIT)));
        }
        details
    }

    /// The entry as plain text, for the clipboard.
    pub fn to_text(&self) -> String {
        let mut text = format!("#{} {} {} {}", self.id, self.time, self.record.kind().label(), self.record.summary());
        for (name, value) in self.details() {
            let _ = write!(text, "\n{name}: {value}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_report_bytes_not_characters() {
        assert_eq!(Payload::Text("héllo ✓".into()).size_bytes(), 10);
        assert_eq!(Payload::Binary(vec![0; 5]).size_bytes(), 5);
        assert_eq!(Payload::Text(String::new()).size_bytes(), 0);
    }

    #[test]
    fn text_is_shown_literally() {
        let markup = "<b>bold</b><img src=x onerror=alert(1)>";
        assert_eq!(Payload::Text(markup.into()).preview(), markup);
    }

    #[test]
    fn binary_is_shown_as_a_hex_preview() {
        assert_eq!(Payload::Binary(vec![0x00, 0x0f, 0xff]).preview(), "00 0f ff");
    }

    #[test]
    fn each_record_has_its_kind_in_words() {
        let text = || Payload::Text("hi".into());
        let cases = [
            (Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() }, "open"),
            (Record::Message { payload: text(), origin: "ws://h".into() }, "message"),
            (Record::Sent { payload: text() }, "sent"),
            (Record::Close { code: 1000, reason: String::new(), was_clean: true }, "close"),
            (Record::Error, "error"),
        ];
        for (record, label) in cases {
            assert_eq!(record.kind().label(), label);
        }
    }

    #[test]
    fn close_entries_show_code_reason_clean_and_meaning() {
        let record = Record::Close { code: 4001, reason: "bye".into(), was_clean: true };
        assert_eq!(record.summary(), "code 4001 (clean) · bye", "the reason too, on the one line");
        let details = record.details();
        assert!(details.contains(&("CloseEvent.code", "4001".into())));
        assert!(details.contains(&("CloseEvent.reason", "bye".into())));
        assert!(details.contains(&("CloseEvent.wasClean", "true".into())));
        assert!(details.iter().any(|(name, value)| *name == "meaning" && value.starts_with("Private use")));
        let unclean = Record::Close { code: 1006, reason: String::new(), was_clean: false };
        assert_eq!(unclean.summary(), "code 1006 (not clean)");
        assert!(unclean.details().contains(&("CloseEvent.reason", "\"\"".into())));
    }

    #[test]
    fn message_entries_show_type_and_size() {
        let record = Record::Message { payload: Payload::Binary(vec![0xde, 0xad]), origin: "ws://h".into() };
        assert_eq!(record.summary(), "de ad");
        assert!(record.details().contains(&("MessageEvent.data", "de ad".into())));
    }

    #[test]
    fn lab_reports_read_as_words() {
        let report =
            Record::Message { payload: Payload::Text(r#"{"server":"delay","ms":5}"#.into()), origin: "o".into() };
        assert_eq!(report.summary(), "server delay · ms 5");
        let echo = Record::Message { payload: Payload::Text(r#"{"server":1}"#.into()), origin: "o".into() };
        assert_eq!(echo.summary(), r#"{"server":1}"#, "an echo reads as its data");
    }

    #[test]
    fn each_row_is_one_line_with_a_preview_of_the_data() {
        let text = |text: &str| Payload::Text(text.into());
        let check = |record: Record, summary: &str| assert_eq!(record.summary(), summary);
        check(
            Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() },
            "connected to ws://h/ws",
        );
        check(Record::Sent { payload: text("<b>hi</b>") }, "<b>hi</b>");
        check(Record::Message { payload: text("line one\nline\ttwo"), origin: "o".into() }, "line one↵line two");
        check(Record::Message { payload: Payload::Binary(vec![0xde, 0xad]), origin: "o".into() }, "de ad");
        check(Record::Close { code: 4001, reason: "bye".into(), was_clean: true }, "code 4001 (clean) · bye");
        check(Record::Error, "error event (no detail available)");
    }

    #[test]
    fn a_long_message_is_cut_on_its_row_but_kept_whole() {
        let long = "é".repeat(PREVIEW_CHARS + 1);
        let record = Record::Sent { payload: Payload::Text(long.clone()) };
        assert_eq!(record.summary(), format!("{}…", "é".repeat(PREVIEW_CHARS)));
        assert_eq!(record.payload().map(Payload::size_bytes), Some(long.len()));
        assert!(record.details().contains(&("data", long)));
        let exact = Record::Sent { payload: Payload::Text("x".repeat(PREVIEW_CHARS)) };
        assert_eq!(exact.summary(), "x".repeat(PREVIEW_CHARS), "nothing cut, no ellipsis");
        let binary = Record::Sent { payload: Payload::Binary(vec![0; 100]) }.summary();
        assert!(binary.ends_with(" …") && binary.len() < 150, "{binary}");
    }

    #[test]
    fn error_entries_explain_the_missing_detail() {
        let details = Record::Error.details();
        let text: String = details.iter().map(|(_, value)| value.as_str()).collect();
        assert!(text.contains("no detail"));
        assert!(text.contains("close event follows"));
    }
}
