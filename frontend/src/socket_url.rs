//! The socket URL the page offers by default: the page's own host, path `/ws`.

/// The default WebSocket URL for a page loaded with `protocol` (`"http:"` or
/// `"https:"`, as `location.protocol` gives it) from `host` (with port).
/// Secure pages get `wss://`, because browsers block `ws://` from them.
pub fn default_socket_url(protocol: &str, host: &str) -> String {
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    let host = if host.is_empty() { "127.0.0.1:3000" } else { host };
    format!("{scheme}://{host}/ws")
}

#[cfg(test)]
mod tests {
    use super::default_socket_url;

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
