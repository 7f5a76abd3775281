//! What the first stage reads and writes as text: where Connect goes, and the
//! log's rows. Pure, so native tests cover it. Written without `format!` and
//! without Rust's number formatting, which would cost this small module more
//! than everything else in it.

/// The `localStorage` key under which the app leaves where its Connect goes
/// (see the app's `Session::first_stage_note`), so that the first stage
/// connects where the app would.
pub const NOTE_KEY: &str = "websocket-echo.first-stage.v1";

/// Where Connect goes, and whether Send may send the box's text as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The socket URL, the `inspect` query key included when it is asked for.
    pub url: String,
    /// The protocols to offer.
    pub protocols: Vec<String>,
    /// Whether the composer is in Text mode; in any other mode the first
    /// stage leaves sending to the app, which checks and encodes the draft.
    pub text_mode: bool,
}

/// Reads the app's note: the URL, the protocols separated by commas and the
/// composer's mode, one per line. `None` when there is no URL.
pub fn parse_note(note: &str) -> Option<Target> {
    let mut lines = note.split('\n');
    let url = lines.next().filter(|url| !url.is_empty())?.to_owned();
    let protocols = lines.next().unwrap_or_default().split(',').filter(|name| !name.is_empty()).map(str::to_owned);
    Some(Target { url, protocols: protocols.collect(), text_mode: lines.next().is_none_or(|mode| mode == "Text") })
}

/// Where the app's Connect goes with its settings untouched, for a page
/// loaded with `protocol` (`http:` or `https:`) from `host`: the page's own
/// host at `/ws`, asking for the handshake report, no protocols, Text mode.
pub fn default_target(protocol: &str, host: &str) -> Target {
    let mut url = String::from(if protocol == "https:" { "wss://" } else { "ws://" });
    url.push_str(if host.is_empty() { "127.0.0.1:3000" } else { host });
    url.push_str("/ws?inspect");
    Target { url, protocols: Vec::new(), text_mode: true }
}

/// How many characters of a message a row shows (the app's rows too).
pub const PREVIEW_CHARS: usize = 120;

/// `text` on one line: line breaks as `↵`, other control characters as
/// spaces, at most [`PREVIEW_CHARS`] characters and then `…`.
pub fn one_line(text: &str) -> String {
    let mut line: String = text
        .chars()
        .take(PREVIEW_CHARS)
        .map(|c| match c {
            '\n' => '↵',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if text.chars().nth(PREVIEW_CHARS).is_some() {
        line.push('…');
    }
    line
}

/// Whether a received text is a report this server sends of its own accord
/// (a JSON object whose first member is `"server"`), not an echo.
pub fn is_report(text: &str) -> bool {
    text.trim_start().strip_prefix('{').is_some_and(|rest| rest.trim_start().starts_with("\"server\""))
}

/// `text` safe inside HTML text and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for char in text.chars() {
        match char {
            '&' => escaped += "&amp;",
            '<' => escaped += "&lt;",
            '>' => escaped += "&gt;",
            '"' => escaped += "&quot;",
            _ => escaped.push(char),
        }
    }
    escaped
}

/// `value` in decimal, at least `width` digits.
pub fn digits(value: u64, width: usize) -> String {
    let mut reversed = Vec::new();
    let mut rest = value;
    loop {
        reversed.push(b'0' + (rest % 10) as u8);
        rest /= 10;
        if rest == 0 && reversed.len() >= width {
            break;
        }
    }
    reversed.iter().rev().map(|&digit| digit as char).collect()
}

/// `HH:MM:SS.mmm` for `ms` milliseconds since local midnight.
pub fn clock_time(ms: u64) -> String {
    let ms = ms % (24 * 3_600_000);
    let mut time = digits(ms / 3_600_000, 2);
    time.push(':');
    time += &digits(ms / 60_000 % 60, 2);
    time.push(':');
    time += &digits(ms / 1000 % 60, 2);
    time.push('.');
    time += &digits(ms % 1000, 3);
    time
}

/// One row of the log, as the app draws it: number, time, kind, direction,
/// size, the data's preview (escaped here) and its pairing badge.
pub struct Row<'a> {
    /// The entry's number.
    pub id: u64,
    /// `HH:MM:SS.mmm`.
    pub time: &'a str,
    /// `open`, `message`, `sent`, `close` or `error`.
    pub kind: &'static str,
    /// The size in bytes of a message's data.
    pub size: Option<usize>,
    /// What the row says, unescaped.
    pub summary: &'a str,
    /// The pairing badge, e.g. `RTT 1.25 ms` or `server report`.
    pub badge: Option<&'a str>,
}

impl Row<'_> {
    /// The row's `<li>`.
    pub fn markup(&self) -> String {
        let mut markup = String::from("<li class=entry data-kind=");
        markup += self.kind;
        markup += " data-id=";
        markup += &digits(self.id, 1);
        markup += "><button type=button class=entry-line aria-expanded=false><span class=id>#";
        markup += &digits(self.id, 1);
        markup += "</span><time class=time>";
        markup += self.time;
        markup += "</time><span class=kind>";
        markup += self.kind;
        markup += "</span><span class=dir>";
        markup += if self.kind == "sent" { "out" } else { "in" };
        markup += "</span><span class=size>";
        if let Some(size) = self.size {
            markup += &digits(size as u64, 1);
            markup += " B";
        }
        markup += "</span><span class=summary>";
        markup += &escape_html(self.summary);
        markup += "</span>";
        if let Some(badge) = self.badge {
            markup += "<span class=link data-link=";
            markup += badge.split(' ').next().unwrap_or_default();
            markup += ">";
            markup += badge;
            markup += "</span>";
        }
        markup + "</button></li>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_gives_the_url_the_protocols_and_the_mode() {
        let target = parse_note("wss://example.test/ws?inspect\nchat,v2\nText").unwrap();
        assert_eq!(target.url, "wss://example.test/ws?inspect");
        assert_eq!(target.protocols, ["chat", "v2"]);
        assert!(target.text_mode);
        let target = parse_note("ws://h/ws\n\nJSON").unwrap();
        assert!(target.protocols.is_empty());
        assert!(!target.text_mode);
        assert_eq!(parse_note(""), None);
        assert_eq!(parse_note("\nchat\nText"), None);
    }

    #[test]
    fn the_default_target_is_the_pages_own_host_with_the_report() {
        assert_eq!(default_target("http:", "127.0.0.1:3000").url, "ws://127.0.0.1:3000/ws?inspect");
        assert_eq!(default_target("https:", "echo.example").url, "wss://echo.example/ws?inspect");
        assert_eq!(default_target("file:", "").url, "ws://127.0.0.1:3000/ws?inspect");
        assert!(default_target("http:", "h").text_mode);
    }

    #[test]
    fn reports_are_told_from_echoes() {
        assert!(is_report("{\"server\":\"websocket-echo\",\"report\":\"handshake\"}"));
        assert!(is_report("  { \"server\": 1 }"));
        assert!(!is_report("{\"type\":\"chat\",\"server\":1}"));
        assert!(!is_report("hello"));
    }

    #[test]
    fn numbers_and_times_are_padded() {
        assert_eq!(digits(0, 1), "0");
        assert_eq!(digits(7, 3), "007");
        assert_eq!(digits(123_456, 2), "123456");
        assert_eq!(clock_time(((13 * 60 + 5) * 60 + 9) * 1000 + 42), "13:05:09.042");
        assert_eq!(clock_time(24 * 3_600_000 + 1), "00:00:00.001");
    }

    #[test]
    fn previews_are_one_line_and_short() {
        assert_eq!(one_line("a\nb\tc"), "a↵b c");
        let long = "x".repeat(130);
        assert_eq!(one_line(&long).chars().count(), 121);
        assert!(one_line(&long).ends_with('…'));
    }

    #[test]
    fn rows_are_escaped_and_carry_their_badge() {
        let row = Row {
            id: 3,
            time: "10:00:00.000",
            kind: "message",
            size: Some(5),
            summary: "<b>",
            badge: Some("RTT 1.25 ms"),
        };
        let markup = row.markup();
        assert!(markup.starts_with("<li class=entry data-kind=message data-id=3>"), "{markup}");
        assert!(markup.contains("<span class=summary>&lt;b&gt;</span>"), "{markup}");
        assert!(markup.contains("<span class=size>5 B</span>"), "{markup}");
        assert!(markup.contains("<span class=link data-link=RTT>RTT 1.25 ms</span>"), "{markup}");
        let sent = Row { id: 2, time: "", kind: "sent", size: None, summary: "", badge: None }.markup();
        assert!(sent.contains("<span class=dir>out</span>") && !sent.contains("class=link"), "{sent}");
    }
}
