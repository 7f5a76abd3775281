//! What the page remembers across reloads (in `localStorage`): the settings and
//! the history of sent messages, as one JSON document.

use crate::model::draft::Mode;
use crate::util::json::{self, Value};

/// The `localStorage` key.
pub const STORAGE_KEY: &str = "websocket-echo.settings.v1";

/// The `localStorage` key of the note the page's first stage reads
/// ([`crate::model::session::Session::first_stage_note`]); `boot/src/text.rs`
/// names the same key.
pub const FIRST_STAGE_KEY: &str = "websocket-echo.first-stage.v1";

/// The page's settings, as the fields show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Protocols to offer, comma-separated.
    pub protocols: String,
    /// The Close code field.
    pub close_code: String,
    /// The Close reason field.
    pub close_reason: String,
    /// The composer's mode.
    pub mode: Mode,
    /// The "Reconnect automatically" checkbox.
    pub auto_reconnect: bool,
    /// The "Show the handshake" checkbox: connect with the `inspect` query key.
    pub inspect: bool,
    /// The Burst "Count" field.
    pub burst_count: String,
    /// The Burst "Size" field (bytes per message).
    pub burst_size: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            protocols: String::new(),
            close_code: "1000".into(),
            close_reason: String::new(),
            mode: Mode::Text,
            auto_reconnect: false,
            inspect: true,
            burst_count: "100".into(),
            burst_size: "64".into(),
        }
    }
}

/// Everything stored: the URL, the settings and the history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The URL box, if it was changed from the default.
    pub url: Option<String>,
    /// The settings.
    pub settings: Settings,
    /// Sent messages, oldest first.
    pub history: Vec<String>,
}

impl Stored {
    /// The stored document.
    pub fn to_json(&self) -> String {
        let settings = &self.settings;
        let mut members = Vec::new();
        if let Some(url) = &self.url {
            members.push(("url".into(), Value::string(url)));
        }
        members.extend([
            ("protocols".into(), Value::string(&settings.protocols)),
            ("closeCode".into(), Value::string(&settings.close_code)),
            ("closeReason".into(), Value::string(&settings.close_reason)),
            ("mode".into(), Value::string(settings.mode.label())),
            ("autoReconnect".into(), Value::Bool(settings.auto_reconnect)),
            ("inspect".into(), Value::Bool(settings.inspect)),
            ("burstCount".into(), Value::string(&settings.burst_count)),
            ("burstSize".into(), Value::string(&settings.burst_size)),
            ("history".into(), Value::Array(self.history.iter().map(Value::string).collect())),
        ]);
        Value::Object(members).to_compact()
    }

    /// Reads a stored document; whatever is missing or unreadable takes its
    /// default, so an old or damaged entry never stops the page.
    pub fn from_json(text: &str) -> Stored {
        let value = json::parse(text).unwrap_or(Value::Null);
        let defaults = Settings::default();
        let text_or =
            |key: &str, default: String| value.get(key).and_then(Value::as_str).map(str::to_owned).unwrap_or(default);
        Stored {
            url: value.get("url").and_then(Value::as_str).map(str::to_owned),
            settings: Settings {
                protocols: text_or("protocols", defaults.protocols),
                close_code: text_or("closeCode", defaults.close_code),
                close_reason: text_or("closeReason", defaults.close_reason),
                mode: value.get("mode").and_then(Value::as_str).map(Mode::from_label).unwrap_or(defaults.mode),
                auto_reconnect: value.get("autoReconnect").and_then(Value::as_bool).unwrap_or(defaults.auto_reconnect),
                inspect: value.get("inspect").and_then(Value::as_bool).unwrap_or(defaults.inspect),
                burst_count: text_or("burstCount", defaults.burst_count),
                burst_size: text_or("burstSize", defaults.burst_size),
            },
            history: value
                .get("history")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    }
}

/// The protocols field as the list `new WebSocket(url, protocols)` takes.
pub fn protocol_list(field: &str) -> Vec<String> {
    field.split([',', ' ']).map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_history_round_trip() {
        let stored = Stored {
            url: Some("ws://example.test/ws".into()),
            settings: Settings {
                protocols: "chat, v2".into(),
                close_code: "4001".into(),
                close_reason: "bye \"now\"".into(),
                mode: Mode::Hex,
                auto_reconnect: true,
                inspect: false,
                burst_count: "10".into(),
                burst_size: "1".into(),
            },
            history: vec!["one".into(), "two\nlines".into()],
        };
        assert_eq!(Stored::from_json(&stored.to_json()), stored);
    }

    #[test]
    fn missing_or_damaged_storage_gives_defaults() {
        let defaults = Stored { url: None, settings: Settings::default(), history: vec![] };
        assert_eq!(Stored::from_json(""), defaults);
        assert_eq!(Stored::from_json("{\"mode\": 5, \"history\": [1, \"a\"]}").history, ["a"]);
    }

    #[test]
    fn protocols_split_on_commas_and_spaces() {
        assert_eq!(protocol_list(" chat, v2  mqtt ,"), ["chat", "v2", "mqtt"]);
        assert!(protocol_list("  ").is_empty());
    }
}
