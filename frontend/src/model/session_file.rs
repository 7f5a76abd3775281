//! The format of an exported session: the whole log as a JSON file that Import
//! reads back for viewing.

use crate::model::log::{Entry, Link, Payload, Record};
use crate::util::codec;
use crate::util::json::{self, Value};

/// The `format` member that marks a file as one of ours.
pub const FORMAT: &str = "websocket-echo-session";
/// The version written; reading accepts this one.
pub const VERSION: u32 = 1;

/// The entries as an export file.
pub fn export<'a>(entries: impl Iterator<Item = &'a Entry>) -> String {
    let entries = entries.map(entry_value).collect();
    Value::Object(vec![
        ("format".into(), Value::string(FORMAT)),
        ("version".into(), Value::number(VERSION)),
        ("entries".into(), Value::Array(entries)),
    ])
    .to_pretty()
}

/// Reads an export file back into entries.
pub fn import(text: &str) -> Result<Vec<Entry>, String> {
    let value = json::parse(text).map_err(|error| format!("the file is not JSON: {error}"))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!("the file is not an exported session (its \"format\" is not \"{FORMAT}\")"));
    }
    if value.get("version").and_then(Value::as_f64) != Some(f64::from(VERSION)) {
        return Err(format!("the file's version is not {VERSION}"));
    }
    let entries = value.get("entries").and_then(Value::as_array).ok_or("the file has no \"entries\" array")?;
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| read_entry(entry).map_err(|why| format!("entry {index}: {why}")))
        .collect()
}

fn entry_value(entry: &Entry) -> Value {
    let mut members = vec![
        ("id".into(), Value::number(entry.id as i64)),
        ("time".into(), Value::string(&entry.time)),
        ("at_ms".into(), Value::millis(entry.at_ms)),
        ("kind".into(), Value::string(entry.record.kind().label())),
    ];
    match &entry.record {
        Record::Open { url, protocol, extensions } => {
            members.push(("url".into(), Value::string(url)));
            members.push(("protocol".into(), Value::string(protocol)));
            members.push(("extensions".into(), Value::string(extensions)));
        }
        Record::Message { payload, origin } => {
            members.push(("payload".into(), payload_value(payload)));
            members.push(("origin".into(), Value::string(origin)));
        }
        Record::Sent { payload } => members.push(("payload".into(), payload_value(payload))),
        Record::Close { code, reason, was_clean } => {
            members.push(("code".into(), Value::number(*code)));
            members.push(("reason".into(), Value::string(reason)));
            members.push(("wasClean".into(), Value::Bool(*was_clean)));
        }
        Record::Error => {}
    }
    let link = match entry.link {
        Link::None => None,
        Link::Pending => Some(("pending", None, None)),
        Link::Lost => Some(("lost", None, None)),
        Link::Report => Some(("report", None, None)),
        Link::Echoed { by, rtt_ms } => Some(("echoed", Some(by), Some(rtt_ms))),
        Link::EchoOf { sent, rtt_ms } => Some(("echo-of", Some(sent), Some(rtt_ms))),
    };
    if let Some((state, other, rtt_ms)) = link {
        let mut link = vec![("state".into(), Value::string(state))];
        link.extend(other.map(|id| ("entry".into(), Value::number(id as i64))));
        link.extend(rtt_ms.map(|rtt| ("rtt_ms".into(), Value::millis(rtt))));
        members.push(("link".into(), Value::Object(link)));
    }
    Value::Object(members)
}

fn payload_value(payload: &Payload) -> Value {
    match payload {
        Payload::Text(text) => {
            Value::Object(vec![("type".into(), Value::string("text")), ("data".into(), Value::string(text))])
        }
        Payload::Binary(bytes) => Value::Object(vec![
            ("type".into(), Value::string("binary")),
            ("base64".into(), Value::string(codec::encode_base64(bytes))),
        ]),
    }
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("no \"{key}\" text"))
}

fn number(value: &Value, key: &str) -> Result<f64, String> {
    value.get(key).and_then(Value::as_f64).ok_or_else(|| format!("no \"{key}\" number"))
}

fn read_payload(value: &Value) -> Result<Payload, String> {
    let payload = value.get("payload").ok_or("no \"payload\"")?;
    match payload.get("type").and_then(Value::as_str) {
        Some("text") => text(payload, "data").map(Payload::Text),
        Some("binary") => codec::decode_base64(&text(payload, "base64")?).map(Payload::Binary),
        _ => Err("the payload's \"type\" is neither \"text\" nor \"binary\"".to_owned()),
    }
}

fn read_entry(value: &Value) -> Result<Entry, String> {
    let kind = text(value, "kind")?;
    let record = match kind.as_str() {
        "open" => Record::Open {
            url: text(value, "url")?,
            protocol: text(value, "protocol")?,
            extensions: text(value, "extensions")?,
        },
        "message" => Record::Message { payload: read_payload(value)?, origin: text(value, "origin")? },
        "sent" => Record::Sent { payload: read_payload(value)? },
        "close" => Record::Close {
            code: number(value, "code")? as u16,
            reason: text(value, "reason")?,
            was_clean: value.get("wasClean").and_then(Value::as_bool).ok_or("no \"wasClean\" boolean")?,
        },
        "error" => Record::Error,
        other => return Err(format!("unknown kind \"{other}\"")),
    };
    let link = match value.get("link") {
        None => Link::None,
        Some(link) => match link.get("state").and_then(Value::as_str) {
            Some("pending") => Link::Pending,
            Some("lost") => Link::Lost,
            Some("report") => Link::Report,
            Some("echoed") => Link::Echoed { by: number(link, "entry")? as u64, rtt_ms: number(link, "rtt_ms")? },
            Some("echo-of") => Link::EchoOf { sent: number(link, "entry")? as u64, rtt_ms: number(link, "rtt_ms")? },
            _ => return Err("unknown link state".to_owned()),
        },
    };
    Ok(Entry {
        id: number(value, "id")? as u64,
        time: text(value, "time")?,
        at_ms: number(value, "at_ms")?,
        record,
        link,
        facts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, record: Record, link: Link) -> Entry {
        Entry { id, time: "12:00:00.000".into(), at_ms: id as f64 * 1.5, record, link, facts: None }
    }

    #[test]
    fn every_kind_survives_export_and_import() {
        let entries = vec![
            entry(1, Record::Open { url: "ws://h/ws".into(), protocol: "".into(), extensions: "x".into() }, Link::None),
            entry(
                2,
                Record::Sent { payload: Payload::Text("<b>\"hi\"</b>\n".into()) },
                Link::Echoed { by: 3, rtt_ms: 0.25 },
            ),
            entry(
                3,
                Record::Message { payload: Payload::Text("<b>\"hi\"</b>\n".into()), origin: "ws://h".into() },
                Link::EchoOf { sent: 2, rtt_ms: 0.25 },
            ),
            entry(4, Record::Sent { payload: Payload::Binary(vec![0, 255, 7]) }, Link::Lost),
            entry(5, Record::Sent { payload: Payload::Binary(vec![]) }, Link::Pending),
            entry(6, Record::Error, Link::None),
            entry(7, Record::Close { code: 1006, reason: "".into(), was_clean: false }, Link::None),
        ];
        let file = export(entries.iter());
        assert!(file.starts_with("{\n  \"format\": \"websocket-echo-session\""), "{file}");
        assert_eq!(import(&file), Ok(entries));
    }

    #[test]
    fn foreign_or_broken_files_are_refused_with_a_reason() {
        assert!(import("nope").unwrap_err().starts_with("the file is not JSON"));
        assert!(import("{}").unwrap_err().contains("not an exported session"));
        assert!(import(r#"{"format":"websocket-echo-session","version":2,"entries":[]}"#)
            .unwrap_err()
            .contains("version"));
        let bad_kind =
            r#"{"format":"websocket-echo-session","version":1,"entries":[{"id":1,"time":"t","at_ms":0,"kind":"odd"}]}"#;
        assert_eq!(import(bad_kind), Err("entry 0: unknown kind \"odd\"".into()));
        assert_eq!(import(r#"{"format":"websocket-echo-session","version":1,"entries":[]}"#), Ok(vec![]));
    }
}
