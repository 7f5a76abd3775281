//! The lab endpoint (`/ws/lab`): its URLs, and how the page tells its commands
//! from texts to echo.
//!
//! On a lab connection a text message starting with `/` is a command: the
//! server obeys it instead of echoing it. What the server says back is a
//! server report (`report.rs`), which the log reads out.

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
    let path = url.match_indices('/').nth(2).and_then(|(slash, _)| url.get(slash..)).unwrap_or_default();
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

/// Reads the Status field of "Refuse upgrade": an HTTP status from 200 to 499,
/// which the lab answers instead of `101` (it answers no 5xx, which would tell a
/// proxy that the server is failing).
pub fn refuse_status(field: &str) -> Result<u16, String> {
    match field.trim().parse::<u16>() {
        Ok(status @ 200..=499) => Ok(status),
        _ => Err("Status must be an HTTP status from 200 to 499".to_owned()),
    }
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
    fn a_refusal_needs_an_http_status() {
        assert_eq!(refuse_status(" 429 "), Ok(429));
        assert_eq!(refuse_status("200"), Ok(200));
        for field in ["199", "500", "503", "", "abc", "-1"] {
            assert_eq!(refuse_status(field), Err("Status must be an HTTP status from 200 to 499".into()), "{field}");
        }
    }

    #[test]
    fn commands_and_fragment_replies() {
        assert!(is_command("/drop"));
        assert!(!is_command(" /drop"));
        assert_eq!(fragment_reply("/fragment 3 hello world"), Some("hello world"));
        assert_eq!(fragment_reply("/fragment 3"), None);
        assert_eq!(fragment_reply("/delay 3 x"), None);
    }
}
