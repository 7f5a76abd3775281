//! The Message box's draft: the modes it can be read in, and how it becomes
//! what is sent. (The box itself is `ui/components/composer.rs`.)

use crate::model::log::Payload;
use crate::util::{codec, json};

/// How the Message box is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sent as a text message, as typed.
    Text,
    /// Checked to be JSON, then sent as a text message, as typed.
    Json,
    /// Hex digits, sent as a binary message.
    Hex,
    /// Base64, sent as a binary message.
    Base64,
    /// A chosen file's bytes, sent as a binary message.
    File,
}

impl Mode {
    /// Every mode, in the order the page offers them.
    pub const ALL: [Mode; 5] = [Mode::Text, Mode::Json, Mode::Hex, Mode::Base64, Mode::File];

    /// The mode's name as shown and as stored.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Text => "Text",
            Mode::Json => "JSON",
            Mode::Hex => "Hex",
            Mode::Base64 => "Base64",
            Mode::File => "File",
        }
    }

    /// The mode called `label`, or text.
    pub fn from_label(label: &str) -> Mode {
        Mode::ALL.into_iter().find(|mode| mode.label() == label).unwrap_or(Mode::Text)
    }

    /// What Enter does in this mode, for the hint under the box.
    pub fn hint(self) -> &'static str {
        match self {
            Mode::Text => "Enter sends the text; Shift+Enter adds a line; ↑ and ↓ recall sent messages.",
            Mode::Json => "Enter checks the JSON and sends it as text; Format pretty-prints it.",
            Mode::Hex => "Enter sends the hex digits as binary (spaces, colons and 0x are ignored).",
            Mode::Base64 => "Enter sends the base64 as binary (standard or URL-safe alphabet).",
            Mode::File => "Choose a file; Enter or Send sends its bytes as one binary message.",
        }
    }
}

/// The payload for `draft` in `mode`, or why it cannot be sent. File mode takes
/// its bytes from `file`.
pub fn payload(mode: Mode, draft: &str, file: Option<&[u8]>) -> Result<Payload, String> {
    match mode {
        Mode::Text => Ok(Payload::Text(draft.to_owned())),
        Mode::Json => match json::parse(draft) {
            Ok(_) => Ok(Payload::Text(draft.to_owned())),
            Err(error) => Err(format!("not valid JSON: {error}")),
        },
        Mode::Hex => codec::parse_hex(draft).map(Payload::Binary).map_err(|error| format!("not valid hex: {error}")),
        Mode::Base64 => {
            codec::decode_base64(draft).map(Payload::Binary).map_err(|error| format!("not valid base64: {error}"))
        }
        Mode::File => file.map(|bytes| Payload::Binary(bytes.to_vec())).ok_or_else(|| "choose a file first".to_owned()),
    }
}

/// The draft pretty-printed, for the JSON mode's Format button.
pub fn format_json(draft: &str) -> Result<String, String> {
    json::parse(draft).map(|value| value.to_pretty()).map_err(|error| format!("not valid JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_reads_the_draft_its_way() {
        assert_eq!(payload(Mode::Text, "a\nb", None), Ok(Payload::Text("a\nb".into())));
        assert_eq!(payload(Mode::Json, " {\"a\": 1} ", None), Ok(Payload::Text(" {\"a\": 1} ".into())));
        assert_eq!(payload(Mode::Hex, "de ad", None), Ok(Payload::Binary(vec![0xde, 0xad])));
        assert_eq!(payload(Mode::Base64, "3q0=", None), Ok(Payload::Binary(vec![0xde, 0xad])));
        assert_eq!(payload(Mode::File, "ignored", Some(&[1, 2])), Ok(Payload::Binary(vec![1, 2])));
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(payload(Mode::Json, "[", None), Err("not valid JSON: unexpected end of input at byte 1".into()));
        assert!(payload(Mode::Hex, "xyz", None).unwrap_err().starts_with("not valid hex: 'x'"));
        assert!(payload(Mode::Base64, "@@", None).unwrap_err().starts_with("not valid base64"));
        assert_eq!(payload(Mode::File, "", None), Err("choose a file first".into()));
    }

    #[test]
    fn json_can_be_formatted_and_modes_have_labels() {
        assert_eq!(format_json("[1,2]"), Ok("[\n  1,\n  2\n]".into()));
        assert!(format_json("[1,").is_err());
        for mode in Mode::ALL {
            assert_eq!(Mode::from_label(mode.label()), mode);
        }
        assert_eq!(Mode::from_label("nonsense"), Mode::Text);
    }
}
