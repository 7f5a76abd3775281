//! The lab endpoint (`/ws/lab`): its URLs, how the page tells its commands from
//! texts to echo, and how its reports read in the log.
//!
//! On a lab connection a text message starting with `/` is a command: the
//! server obeys it instead of echoing it. What the server says back is a
//! server report (`report.rs`).

use crate::json::Value;
use crate::report;

/// The path of the lab endpoint.
pub const LAB_PATH: &str = "/ws/lab";

/// Whether `url` (a `ws://` or `wss://` URL) points at the lab endpoint, with or
/// without a query (`?status=503` refuses the upgrade, `?inspect` asks for the
/// handshake report).
pub fn is_lab_url(url: &str) -> bool {
    path_of(url).ends_with(LAB_PATH)
}

/// Whether `url` points at this server's echo: `/ws` or `/ws/lab`.
pub fn is_echo_url(url: &str) -> bool {
    let path = path_of(url);
    path.ends_with("/ws") || path.ends_with(LAB_PATH)
}

/// The path of a URL, without query or fragment.
fn path_of(url: &str) -> &str {
    // In `ws://host/path?query` the path starts at the third slash.
    let path = url.match_indices('/').nth(2).map_or("", |(slash, _)| &url[slash..]);
    path.split(['?', '#']).next().unwrap_or_default()
}

/// The lab URL beside the default socket URL (`ws://host/ws` → `ws://host/ws/lab`).
pub fn lab_url(socket_url: &str) -> String {
    let base = socket_url.split(['?', '#']).next().unwrap_or_default();
    let base = base.strip_suffix("/lab").unwrap_or(base);
    format!("{}/lab", base.trim_end_matches('/'))
}

/// The lab URL whose upgrade the server refuses with `status`.
pub fn refuse_url(socket_url: &str, status: u16) -> String {
    format!("{}?status={status}", lab_url(socket_url))
}

/// Whether a text sent on a lab connection is a command (which the server does
/// not echo).
pub fn is_command(text: &str) -> bool {
    text.starts_with('/')
}

/// The text a `/fragment <n> <text>` command makes the server send back (as one
/// message in several frames), if `command` is one.
pub fn fragment_reply(command: &str) -> Option<&str> {
    let rest = command.strip_prefix("/fragment ")?;
    let (_, text) = rest.split_once(' ')?;
    Some(text)
}

/// A server report as one line for the log, e.g. `server pong · ms 0.412` or
/// `server fragmented · frames 3 · bytes 11`: its kind, then each member. Read
/// generically, so a report of a kind the page does not know still reads, and
/// a malformed one shows what it holds. The handshake report is left to the
/// handshake inspector (`None`), as are texts that are not reports.
pub fn describe_report(text: &str) -> Option<String> {
    let members = report::report_members(text)?;
    let kind = members.first()?.1.as_str().filter(|kind| *kind != "handshake")?;
    let mut line = format!("server {kind}");
    for (key, value) in &members[1..] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_urls_are_recognised_and_made() {
        assert!(is_lab_url("ws://h:3000/ws/lab"));
        assert!(is_lab_url("wss://h/ws/lab?status=503"));
        assert!(is_lab_url("ws://h/ws/lab#x"));
        assert!(!is_lab_url("ws://h/ws"));
        assert!(!is_lab_url("ws://h/ws/labs"));
        assert!(!is_lab_url("ws://h/ws?x=/ws/lab"));
        assert!(!is_lab_url("not a url"));
        assert!(is_echo_url("ws://h/ws?inspect") && is_echo_url("ws://h/ws/lab") && !is_echo_url("ws://h/other"));
        assert_eq!(lab_url("ws://h:3000/ws"), "ws://h:3000/ws/lab");
        assert_eq!(lab_url("wss://h/ws/lab?status=500"), "wss://h/ws/lab");
        assert_eq!(refuse_url("ws://h/ws", 503), "ws://h/ws/lab?status=503");
    }

    #[test]
    fn commands_and_fragment_replies() {
        assert!(is_command("/drop"));
        assert!(!is_command(" /drop"));
        assert_eq!(fragment_reply("/fragment 3 hello world"), Some("hello world"));
        assert_eq!(fragment_reply("/fragment 3"), None);
        assert_eq!(fragment_reply("/delay 3 x"), None);
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
        check(r#"{"server":"handshake","request":{}}"#, None);
        check(r#"{"server":5}"#, None);
        check("plain", None);
    }
}
