//! The socket URL the page offers by default: the page's own host, path `/ws`.

/// The default WebSocket URL for a page loaded with `protocol` (`"http:"` or
/// `"https:"`, as `location.protocol` gives it) from `host` (with port).
/// Secure pages get `wss://`, because browsers block `ws://` from them.
pub fn default_socket_url(protocol: &str, host: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    let host = if host.is_empty() { "127.0.0.1:3000" } else { host };
    format!("{scheme}://{host}/ws")
}

/// `url` with the query key `inspect` added (kept as it is when already there),
/// which asks this server for its handshake report. Other servers ignore it.
pub fn with_inspect(url: &str) -> String {
    let (base, fragment) = url.split_once('#').map_or((url, None), |(base, fragment)| (base, Some(fragment)));
    let query = base.split_once('?').map(|(_, query)| query);
    let present = query.is_some_and(|query| query.split('&').any(|pair| pair.split('=').next() == Some("inspect")));
    let mut out = base.to_owned();
    if !present {
        out.push_str(match query {
            None => "?inspect",
            Some("") => "inspect",
            Some(_) => "&inspect",
        });
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{default_socket_url, with_inspect};

    #[test]
    fn adds_the_inspect_key_once() {
        let cases = [
            ("ws://h/ws", "ws://h/ws?inspect"),
            ("ws://h/ws?", "ws://h/ws?inspect"),
            ("ws://h/ws?a=1", "ws://h/ws?a=1&inspect"),
            ("ws://h/ws?inspect=yes", "ws://h/ws?inspect=yes"),
            ("ws://h/ws?a&inspect", "ws://h/ws?a&inspect"),
            ("ws://h/ws?inspector", "ws://h/ws?inspector&inspect"),
            ("ws://h/ws#x", "ws://h/ws?inspect#x"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_inspect(url), expected, "{url}");
        }
    }

    #[test]
    fn follows_the_page() {
        let cases = [
            ("http:", "127.0.0.1:3000", "ws://127.0.0.1:3000/ws"),
            ("https:", "echo.example.com", "wss://echo.example.com/ws"),
            ("http:", "localhost:8080", "ws://localhost:8080/ws"),
            ("http:", "[::1]:3000", "ws://[::1]:3000/ws"),
            // A page opened from a file has no host; the backend's default address is
            // the best guess.
            ("file:", "", "ws://127.0.0.1:3000/ws"),
        ];
        for (protocol, host, expected) in cases {
            assert_eq!(default_socket_url(protocol, host), expected);
        }
    }
}
