//! What each log entry means: which interface carried it, its real property
//! values as recorded, and where the standards describe it; and what each
//! handshake header is for. The prose and the references are a static file
//! (`frontend/explain.html`, copied into the bundle) that the page fetches when
//! the first explanation is expanded (`ui/hooks/texts.rs`), so they cost the
//! page's start-up bytes nothing. Here they are only read and filled in.

use crate::model::close_code;
use crate::model::log::{Entry, Link, Payload, Property, Record};
use crate::util::format::{escape_html, quoted};

/// An entry's explanation, without its prose: which text of
/// `frontend/explain.html` tells it, the values that text shows, and the
/// interface's properties as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The key of its text in the file.
    pub key: &'static str,
    /// The values its text shows, in order (`$2`, `$3`).
    pub values: Vec<String>,
    /// The interface's properties as recorded (name, value).
    pub properties: Vec<Property>,
}

/// Explains `entry`.
pub fn explain(entry: &Entry) -> Explanation {
    let record = &entry.record;
    let (key, values, mut properties): (_, Vec<String>, Vec<Property>) = match record {
        Record::Open { .. } => ("open", vec![], record.event_properties(quoted)),
        Record::Message { payload, origin } => (
            match (payload, entry.link == Link::Report) {
                (Payload::Text(_), false) => "message",
                (Payload::Text(_), true) => "message.report",
                (Payload::Binary(_), false) => "message.binary",
                (Payload::Binary(_), true) => "message.binary.report",
            },
            vec![],
            vec![
                ("MessageEvent.data", format!("{} · {} bytes", payload.type_label(), payload.size_bytes())),
                ("MessageEvent.origin", origin.clone()),
            ],
        ),
        Record::Sent { payload } => (
            "sent",
            vec![payload.type_label().to_owned()],
            vec![("send() argument", format!("{} · {} bytes", payload.type_label(), payload.size_bytes()))],
        ),
        Record::Close { code, was_clean, .. } => (
            if *was_clean { "close" } else { "close.unclean" },
            vec![code.to_string(), close_code::meaning(*code).to_owned()],
            record.event_properties(quoted),
        ),
        Record::Error => ("error", vec![], record.event_properties(quoted)),
    };
    if let Some(facts) = &entry.facts {
        properties
            .push(("WebSocket.readyState", format!("{} ({})", facts.ready_state.number(), facts.ready_state.name())));
        properties.push(("WebSocket.bufferedAmount", facts.buffered_amount.to_string()));
        properties.push(("WebSocket.binaryType", facts.binary_type.to_owned()));
        if let Some(id) = &facts.last_event_id {
            properties.push(("MessageEvent.lastEventId", quoted(id)));
        }
    }
    Explanation { key, values, properties }
}

/// `frontend/explain.html`: the explanations' prose and references, fetched on
/// first use so that its text is not part of the page's start-up bytes. Lines
/// are `KEY|HTML`.
#[derive(Debug, PartialEq)]
pub struct Texts(pub String);

impl Texts {
    /// The text under `key`; empty when the file lacks it, so a stale or
    /// damaged file shows less rather than breaking the page.
    pub fn get(&self, key: &str) -> &str {
        // `split`, not `lines`: its `\r` handling would add code to the wasm.
        self.0.split('\n').find_map(|line| line.strip_prefix(key)?.strip_prefix('|')).unwrap_or_default()
    }

    /// The explanation as HTML, its panel called `id`: the file's text with
    /// `$0` the id, `$1` the properties and `$2`, `$3` the values, each escaped.
    pub fn render(&self, explained: &Explanation, id: &str) -> String {
        let mut properties = String::new();
        for (name, value) in &explained.properties {
            properties += &format!(
                "<div class=property data-name=\"{name}\"><dt>{name}</dt><dd>{}</dd></div>",
                escape_html(value)
            );
        }
        let mut fills = vec![escape_html(id), properties];
        fills.extend(explained.values.iter().map(|value| escape_html(value)));
        let mut parts = self.get(explained.key).split('$');
        let mut html = parts.next().unwrap_or_default().to_owned();
        for part in parts {
            let index = part.bytes().next().map_or(usize::MAX, |digit| usize::from(digit.wrapping_sub(b'0')));
            html += fills.get(index).map_or("", String::as_str);
            html += part.get(1..).unwrap_or_default();
        }
        html
    }
}

/// What a handshake header is for, in a sentence of `texts`, by its lowercase name.
pub fn header_meaning<'a>(texts: &'a Texts, name: &str) -> &'a str {
    match texts.get(&format!("header.{name}")) {
        "" => texts.get("header.other"),
        meaning => meaning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::log::Facts;
    use crate::model::ready_state::ReadyState;

    fn entry(record: Record, link: Link, facts: Option<Facts>) -> Entry {
        Entry { id: 1, time: "t".into(), at_ms: 0.0, record, link, facts }
    }

    fn value<'a>(explanation: &'a Explanation, name: &str) -> Option<&'a str> {
        explanation.properties.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    fn texts() -> Texts {
        Texts(include_str!("../../explain.html").to_owned())
    }

    fn html(record: Record, link: Link) -> String {
        texts().render(&explain(&entry(record, link, Some(Facts::new(ReadyState::Open)))), "t-explain-1")
    }

    #[test]
    fn each_kind_names_its_interface_and_the_standards() {
        let open = Record::Open { url: "ws://h/ws".into(), protocol: String::new(), extensions: String::new() };
        let message = Record::Message { payload: Payload::Text("hi".into()), origin: "ws://h".into() };
        let binary = Record::Message { payload: Payload::Binary(vec![1]), origin: "ws://h".into() };
        let cases = [
            (open, "WebSocket"),
            (message, "MessageEvent"),
            (binary, "MessageEvent"),
            (Record::Sent { payload: Payload::Binary(vec![1]) }, "WebSocket"),
            (Record::Close { code: 1000, reason: "bye".into(), was_clean: true }, "CloseEvent"),
            (Record::Close { code: 1006, reason: String::new(), was_clean: false }, "CloseEvent"),
            (Record::Error, "Event"),
        ];
        for (record, interface) in cases {
            let html = html(record, Link::None);
            assert!(html.starts_with("<div class=explanation id=\"t-explain-1\""), "{html}");
            assert!(html.contains(&format!("<code class=interface>{interface}</code>")), "{html}");
            assert!(html.contains("<a href=\"https://"), "{html}");
            assert!(html.contains("<dt>WebSocket.readyState</dt><dd>1 (OPEN)</dd>"), "{html}");
            assert!(!html.contains('$'), "every place filled: {html}");
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
        let html = texts().render(&explanation, "x");
        assert!(html.contains("wasClean is true. Code 1000: Normal closure"), "{html}");
        assert!(html.contains("https://www.rfc-editor.org/rfc/rfc6455#section-7.1.5"));
        assert!(html.contains("https://websockets.spec.whatwg.org/#the-closeevent-interface"));
        let unclean = Record::Close { code: 1006, reason: String::new(), was_clean: false };
        assert!(html_of(unclean).contains("wasClean is false"));
    }

    fn html_of(record: Record) -> String {
        html(record, Link::None)
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
        assert!(!texts().render(&echo, "x").contains("report"));
        assert!(html(message, Link::Report).contains("not an echo"));
    }

    #[test]
    fn recorded_values_are_escaped_and_a_missing_text_shows_nothing() {
        let close = Record::Close { code: 4000, reason: "<b a=\"1\">&".into(), was_clean: true };
        let html = html_of(close);
        assert!(html.contains("<dd>&quot;&lt;b a=&quot;1&quot;&gt;&amp;&quot;</dd>"), "{html}");
        assert_eq!(Texts("other|x $9 $ $z".into()).render(&explain(&entry(Record::Error, Link::None, None)), "i"), "");
        // A `$` takes the character after it as a place, filled or not.
        let odd = Texts("error|a$9b$c$".into());
        assert_eq!(odd.render(&explain(&entry(Record::Error, Link::None, None)), "i"), "ab");
    }

    #[test]
    fn every_header_has_a_meaning() {
        let texts = texts();
        assert!(header_meaning(&texts, "sec-websocket-key").contains("random"));
        assert!(header_meaning(&texts, "cache-control").contains("caches"));
        assert!(header_meaning(&texts, "x-anything").contains("does not use"));
    }
}
