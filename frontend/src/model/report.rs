//! Server reports: TEXT messages the server sends of its own accord (not
//! echoes), each one JSON object whose first key is `"server"`. The handshake
//! report carries the upgrade request the server received and the `101` it
//! answered; this module reads it and recomputes `Sec-WebSocket-Accept`.

use crate::util::json::{self, Value};
use crate::util::{codec, sha1};

/// The GUID that RFC 6455 (section 1.3) appends to the client's key.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The report's kind (the `"server"` member: `handshake`, `delay`, …) when
/// `text` is a server report, `None` for anything else (an echo).
pub fn report_kind(text: &str) -> Option<String> {
    let members = report_members(text)?;
    Some(members.first()?.1.as_str().unwrap_or_default().to_owned())
}

/// The members of a server report in order, `"server"` first; `None` when
/// `text` is not one.
pub fn report_members(text: &str) -> Option<Vec<(String, Value)>> {
    // Most messages are not JSON objects; only those are parsed.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    match json::parse(text).ok()? {
        Value::Object(members) if members.first().is_some_and(|(key, _)| key == "server") => Some(members),
        _ => None,
    }
}

/// A server report as one line for the log, e.g. `server pong · ms 0.412` or
/// `server fragmented · frames 3 · bytes 11`: its kind, then each member. Read
/// generically, so a report of a kind the page does not know still reads, and
/// a malformed one shows what it holds (the lab's report of an echo's sizes
/// reads `server sizes · bytes 1024 · wire_in 347 · wire_out 341 · compressed
/// true`). The handshake report is left to the handshake inspector (`None`),
/// as are texts that are not reports.
pub fn describe_report(text: &str) -> Option<String> {
    let members = report_members(text)?;
    let kind = members.first()?.1.as_str().filter(|kind| *kind != "handshake")?;
    let mut line = format!("server {kind}");
    for (key, value) in members.iter().skip(1) {
        line.push_str(" · ");
        line.push_str(key);
        line.push(' ');
        match value {
            Value::Number(text) | Value::String(text) => line.push_str(text),
            Value::Array(items) => {
                let items: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                line.push_str(&items.join(", "));
            }
            other => line.push_str(&other.to_compact()),
        }
    }
    Some(line)
}

/// The size the server states for a header whose value it hides
/// (`[hidden: 11 bytes; …]`), as digits; `None` for a value it shows.
pub fn hidden_size(value: &str) -> Option<&str> {
    value.strip_prefix("[hidden: ")?.split(' ').next()
}

/// One side of the handshake: the request or status line, and the headers in
/// order (names lowercase, as the server read or wrote them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHead {
    /// `GET /ws?inspect HTTP/1.1` or `HTTP/1.1 101 Switching Protocols`.
    pub line: String,
    /// (name, value) pairs.
    pub headers: Vec<(String, String)>,
}

impl HttpHead {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// The handshake report: what the server received and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The upgrade request.
    pub request: HttpHead,
    /// The `101 Switching Protocols` response.
    pub response: HttpHead,
}

/// Reads a handshake report. Anything missing or of the wrong type is an error
/// in words, which the inspector shows instead of the report.
pub fn parse_handshake(text: &str) -> Result<Handshake, String> {
    let value = json::parse(text).map_err(|error| format!("the report is not JSON: {error}"))?;
    if value.get("server").and_then(Value::as_str) != Some("handshake") {
        return Err("not a handshake report".to_owned());
    }
    Ok(Handshake { request: head(&value, "request")?, response: head(&value, "response")? })
}

fn head(report: &Value, side: &str) -> Result<HttpHead, String> {
    let part = report.get(side).ok_or_else(|| format!("the report has no \"{side}\""))?;
    let line = part.get("line").and_then(Value::as_str).ok_or_else(|| format!("\"{side}\" has no \"line\" string"))?;
    let list =
        part.get("headers").and_then(Value::as_array).ok_or_else(|| format!("\"{side}\" has no \"headers\" array"))?;
    let mut headers = Vec::with_capacity(list.len());
    for pair in list {
        match pair.as_array() {
            Some([name, value]) => match (name.as_str(), value.as_str()) {
                (Some(name), Some(value)) => headers.push((name.to_owned(), value.to_owned())),
                _ => return Err(format!("a header in \"{side}\" is not two strings")),
            },
            _ => return Err(format!("a header in \"{side}\" is not a [name, value] pair")),
        }
    }
    Ok(HttpHead { line: line.to_owned(), headers })
}

/// `Sec-WebSocket-Accept` recomputed from the key, step by step (RFC 6455, 4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptCheck {
    /// `Sec-WebSocket-Key` as the server received it.
    pub key: String,
    /// The key followed by the GUID.
    pub concatenated: String,
    /// SHA-1 of that, in hex.
    pub sha1_hex: String,
    /// The digest in base64: what `Sec-WebSocket-Accept` must be.
    pub expected: String,
    /// What the server sent, if it sent one.
    pub received: Option<String>,
}

impl AcceptCheck {
    /// Recomputes the accept value for `handshake`; `None` without a key.
    pub fn of(handshake: &Handshake) -> Option<AcceptCheck> {
        let key = handshake.request.header("sec-websocket-key")?.trim().to_owned();
        let concatenated = format!("{key}{WEBSOCKET_GUID}");
        let digest = sha1::digest(concatenated.as_bytes());
        Some(AcceptCheck {
            key,
            sha1_hex: sha1::hex(&digest),
            expected: codec::encode_base64(&digest),
            concatenated,
            received: handshake.response.header("sec-websocket-accept").map(|value| value.trim().to_owned()),
        })
    }

    /// Whether the server's value is the one recomputed here.
    pub fn verified(&self) -> bool {
        self.received.as_deref() == Some(self.expected.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = r#"{"server":"handshake",
        "request":{"line":"GET /ws?inspect HTTP/1.1","headers":[["host","127.0.0.1:3000"],["connection","Upgrade"],
            ["sec-websocket-key","dGhlIHNhbXBsZSBub25jZQ=="],["sec-websocket-version","13"]]},
        "response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[["upgrade","websocket"],
            ["connection","Upgrade"],["sec-websocket-accept","s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]]}}"#;

    #[test]
    fn reports_are_objects_whose_first_key_is_server() {
        assert_eq!(report_kind(REPORT).as_deref(), Some("handshake"));
        assert_eq!(report_kind(r#" {"server":"delay","ms":500}"#).as_deref(), Some("delay"));
        assert_eq!(report_kind(r#"{"server":1}"#).as_deref(), Some(""));
        for echo in ["hello", r#"{"client":"x","server":"delay"}"#, r#"["server"]"#, r#"{"server":"x""#, "{}", ""] {
            assert_eq!(report_kind(echo), None, "{echo}");
        }
    }

    #[test]
    fn reads_the_handshake_and_verifies_the_rfc_example() {
        let handshake = parse_handshake(REPORT).unwrap();
        assert_eq!(handshake.request.line, "GET /ws?inspect HTTP/1.1");
        assert_eq!(handshake.request.headers.len(), 4);
        assert_eq!(handshake.response.header("Upgrade"), Some("websocket"));
        // RFC 6455, section 1.3's worked example.
        let check = AcceptCheck::of(&handshake).unwrap();
        assert_eq!(check.concatenated, "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        assert_eq!(check.sha1_hex, "b37a4f2cc0624f1690f64606cf385945b2bec4ea");
        assert_eq!(check.expected, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(check.verified());
    }

    #[test]
    fn a_wrong_or_missing_accept_is_not_verified() {
        let wrong = parse_handshake(&REPORT.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAA")).unwrap();
        assert!(!AcceptCheck::of(&wrong).unwrap().verified());
        let missing =
            parse_handshake(&REPORT.replace(r#",["sec-websocket-accept","s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]"#, ""))
                .unwrap();
        let check = AcceptCheck::of(&missing).unwrap();
        assert_eq!((check.received.as_deref(), check.verified()), (None, false));
        let keyless = parse_handshake(&REPORT.replace("sec-websocket-key", "x-key")).unwrap();
        assert_eq!(AcceptCheck::of(&keyless), None);
    }

    #[test]
    fn hidden_values_give_their_size() {
        let hidden = "[hidden: 11 bytes; the server never shows this header's value, because …]";
        assert_eq!(hidden_size(hidden), Some("11"));
        assert_eq!(hidden_size("session=abc"), None);
    }

    #[test]
    fn malformed_reports_are_errors_in_words() {
        let cases = [
            ("not json", "not JSON"),
            (r#"{"server":"delay","ms":1}"#, "not a handshake report"),
            (r#"{"server":"handshake","response":{}}"#, "no \"request\""),
            (r#"{"server":"handshake","request":{"headers":[]}}"#, "\"request\" has no \"line\""),
            (r#"{"server":"handshake","request":{"line":"GET"}}"#, "no \"headers\" array"),
            (r#"{"server":"handshake","request":{"line":"GET","headers":[["a"]]}}"#, "not a [name, value] pair"),
            (r#"{"server":"handshake","request":{"line":"GET","headers":[["a",1]]}}"#, "not two strings"),
        ];
        for (text, expected) in cases {
            let error = parse_handshake(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn reports_read_as_words() {
        let check = |text: &str, expected: Option<&str>| assert_eq!(describe_report(text).as_deref(), expected);
        check(r#"{"server":"pong","ms":0.412}"#, Some("server pong · ms 0.412"));
        check(r#"{"server":"delay","ms":500}"#, Some("server delay · ms 500"));
        check(r#"{"server":"fragmented","frames":3,"bytes":11}"#, Some("server fragmented · frames 3 · bytes 11"));
        check(
            r#"{"server":"error","message":"unknown command /x; try /help"}"#,
            Some("server error · message unknown command /x; try /help"),
        );
        check(r#"{"server":"help","commands":["/drop","/help"]}"#, Some("server help · commands /drop, /help"));
        check(r#"{"server":"new","flag":true}"#, Some("server new · flag true"));
        check(
            r#"{"server":"sizes","bytes":1024,"wire_in":347,"wire_out":341,"compressed":true}"#,
            Some("server sizes · bytes 1024 · wire_in 347 · wire_out 341 · compressed true"),
        );
        check(r#"{"server":"sizes","on":true}"#, Some("server sizes · on true"));
        check(r#"{"server":"handshake","request":{}}"#, None);
        check(r#"{"server":5}"#, None);
        check("plain", None);
    }
}
