//! What each log entry means: which interface carried it, its real property
//! values as recorded, and where the standards describe it.

use crate::close_code;
use crate::event_log::{Entry, Link, Payload, Record};

const RFC: &str = "https://www.rfc-editor.org/rfc/rfc6455#section-";
const WHATWG: &str = "https://websockets.spec.whatwg.org/#";

/// A property's name and its value as recorded.
type Property = (String, String);
/// A reference's label and its section number (RFC) or anchor (WHATWG).
type Reference = (&'static str, &'static str);

/// An entry's explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The interface whose object the page saw: `WebSocket`, `MessageEvent`,
    /// `CloseEvent` or `Event`.
    pub interface: &'static str,
    /// What happened, in a few sentences.
    pub what: String,
    /// The interface's properties as recorded (name, value).
    pub properties: Vec<(String, String)>,
    /// Where to read more: (label, URL).
    pub references: Vec<(&'static str, String)>,
}

/// Explains `entry`.
pub fn explain(entry: &Entry) -> Explanation {
    let (interface, what, mut properties, references): (_, String, Vec<Property>, Vec<Reference>) = match &entry.record
    {
        Record::Open { url, protocol, extensions } => (
            "WebSocket",
            "The opening handshake succeeded: the server answered 101 Switching Protocols with the right \
                 Sec-WebSocket-Accept, so readyState became OPEN and the open event fired on the WebSocket."
                .to_owned(),
            vec![
                prop("WebSocket.url", url),
                prop("WebSocket.protocol", &quoted(protocol)),
                prop("WebSocket.extensions", &quoted(extensions)),
            ],
            vec![
                ("RFC 6455 §4.1 Client requirements (the handshake)", "4.1"),
                ("RFC 6455 §4.2 Server-side requirements", "4.2"),
                ("WHATWG: feedback from the protocol", "feedback-from-the-protocol"),
            ],
        ),
        Record::Message { payload, origin } => {
            let kind = match payload {
                Payload::Text(_) => "a text frame (opcode 0x1, UTF-8), so data is a string",
                Payload::Binary(_) => "a binary frame (opcode 0x2), so data is an ArrayBuffer (binaryType)",
            };
            let whose = if entry.link == Link::Report {
                " The server sent it of its own accord (a report), so it is not an echo."
            } else {
                ""
            };
            (
                "MessageEvent",
                format!(
                    "A whole message arrived in {kind}. The browser joined its frames and checked them before \
                         firing message.{whose}"
                ),
                vec![
                    prop("MessageEvent.data", &format!("{} · {} bytes", payload.type_label(), payload.size_bytes())),
                    prop("MessageEvent.origin", origin),
                ],
                vec![
                    ("RFC 6455 §5.2 Base framing protocol", "5.2"),
                    ("RFC 6455 §5.6 Data frames", "5.6"),
                    ("WHATWG: feedback from the protocol", "feedback-from-the-protocol"),
                ],
            )
        }
        Record::Sent { payload } => (
            "WebSocket",
            format!(
                "Not an event: the page called WebSocket.send() with {} data. The browser put it in one frame, \
                     masked as every client frame must be, and queued it (bufferedAmount counts it until sent).",
                payload.type_label()
            ),
            vec![prop("send() argument", &format!("{} · {} bytes", payload.type_label(), payload.size_bytes()))],
            vec![
                ("RFC 6455 §5.2 Base framing protocol", "5.2"),
                ("RFC 6455 §5.3 Client-to-server masking", "5.3"),
                ("WHATWG: the send() method", "dom-websocket-send"),
            ],
        ),
        Record::Close { code, reason, was_clean } => {
            let how = if *was_clean {
                "Both sides exchanged close frames and the TCP connection ended, so wasClean is true."
            } else {
                "The connection ended without a completed closing handshake, so wasClean is false."
            };
            (
                "CloseEvent",
                format!(
                    "The connection is closed (readyState CLOSED). {how} Code {code}: {}",
                    close_code::meaning(*code)
                ),
                vec![
                    prop("CloseEvent.code", &code.to_string()),
                    prop("CloseEvent.reason", &quoted(reason)),
                    prop("CloseEvent.wasClean", &was_clean.to_string()),
                ],
                vec![
                    ("RFC 6455 §5.5.1 Close", "5.5.1"),
                    ("RFC 6455 §7.1.5 The WebSocket Connection Close Code", "7.1.5"),
                    ("RFC 6455 §7.4.1 Defined status codes", "7.4.1"),
                    ("WHATWG: the CloseEvent interface", "the-closeevent-interface"),
                ],
            )
        }
        Record::Error => (
            "Event",
            "A plain Event named error: the connection failed (refused handshake, network error or protocol \
                 violation). Browsers give pages no detail on purpose; a close event with code 1006 follows."
                .to_owned(),
            vec![prop("Event.type", "error")],
            vec![
                ("RFC 6455 §7.1.7 Fail the WebSocket Connection", "7.1.7"),
                ("WHATWG: feedback from the protocol", "feedback-from-the-protocol"),
            ],
        ),
    };
    if let Some(facts) = &entry.facts {
        properties.push(prop(
            "WebSocket.readyState",
            &format!("{} ({})", facts.ready_state.number(), facts.ready_state.name()),
        ));
        properties.push(prop("WebSocket.bufferedAmount", &facts.buffered_amount.to_string()));
        properties.push(prop("WebSocket.binaryType", facts.binary_type));
        if let Some(id) = &facts.last_event_id {
            properties.push(prop("MessageEvent.lastEventId", &quoted(id)));
        }
    }
    let references = references
        .into_iter()
        .map(|(label, anchor)| {
            let base = if label.starts_with("RFC") { RFC } else { WHATWG };
            (label, format!("{base}{anchor}"))
        })
        .collect();
    Explanation { interface, what, properties, references }
}

fn prop(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn quoted(value: &str) -> String {
    format!("\"{value}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_log::Facts;
    use crate::ready_state::ReadyState;

    fn entry(record: Record, link: Link, facts: Option<Facts>) -> Entry {
        Entry { id: 1, time: "t".into(), at_ms: 0.0, record, link, facts }
    }

    fn value<'a>(explanation: &'a Explanation, name: &str) -> Option<&'a str> {
        explanation.properties.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    #[test]
    fn each_kind_names_its_interface() {
        let open = Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() };
        let message = Record::Message { payload: Payload::Text("hi".into()), origin: "ws://h".into() };
        let cases = [
            (open, "WebSocket"),
            (message, "MessageEvent"),
            (Record::Sent { payload: Payload::Binary(vec![1]) }, "WebSocket"),
            (Record::Close { code: 1000, reason: "bye".into(), was_clean: true }, "CloseEvent"),
            (Record::Error, "Event"),
        ];
        for (record, interface) in cases {
            let explanation = explain(&entry(record, Link::None, None));
            assert_eq!(explanation.interface, interface);
            assert!(!explanation.references.is_empty());
        }
    }

    #[test]
    fn a_close_shows_its_real_values_and_the_close_sections() {
        let close = Record::Close { code: 1000, reason: String::new(), was_clean: true };
        let explanation = explain(&entry(close, Link::None, Some(Facts::new(ReadyState::Closed))));
        assert_eq!(value(&explanation, "CloseEvent.code"), Some("1000"));
        assert_eq!(value(&explanation, "CloseEvent.reason"), Some("\"\""));
        assert_eq!(value(&explanation, "CloseEvent.wasClean"), Some("true"));
        assert_eq!(value(&explanation, "WebSocket.readyState"), Some("3 (CLOSED)"));
        assert!(explanation.what.contains("wasClean is true"));
        let urls: Vec<&str> = explanation.references.iter().map(|(_, url)| url.as_str()).collect();
        assert!(urls.contains(&"https://www.rfc-editor.org/rfc/rfc6455#section-7.1.5"));
        assert!(urls.contains(&"https://websockets.spec.whatwg.org/#the-closeevent-interface"));
    }

    #[test]
    fn a_message_shows_its_data_and_event_facts_and_says_when_it_is_a_report() {
        let message = Record::Message { payload: Payload::Text("{}".into()), origin: "ws://h".into() };
        let facts = Facts { last_event_id: Some(String::new()), buffered_amount: 7, ..Facts::new(ReadyState::Open) };
        let echo = explain(&entry(message.clone(), Link::None, Some(facts)));
        assert_eq!(value(&echo, "MessageEvent.data"), Some("text · 2 bytes"));
        assert_eq!(value(&echo, "MessageEvent.origin"), Some("ws://h"));
        assert_eq!(value(&echo, "MessageEvent.lastEventId"), Some("\"\""));
        assert_eq!(value(&echo, "WebSocket.bufferedAmount"), Some("7"));
        assert!(!echo.what.contains("report"));
        assert!(explain(&entry(message, Link::Report, None)).what.contains("not an echo"));
    }
}
