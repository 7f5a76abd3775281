//! Checking an upgrade request (RFC 6455 section 4.2.1) before any upgrade
//! happens, and the HTTP answers for requests that are refused.

use base64::Engine as _;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use sha1::{Digest, Sha1};

use crate::http::{self, HttpResponse};
use crate::refusal::Refused;

/// Why an upgrade request was refused, as the HTTP answer to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    /// The label for logs and metrics.
    pub(crate) reason: Refused,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, reason: Refused, message: impl Into<String>) -> Refusal {
        Refusal { status, reason, message: message.into() }
    }

    /// The one-line plain-text answer, with the safety headers every response carries.
    pub(crate) fn into_response(self) -> HttpResponse {
        let upgrade_required = self.status == StatusCode::UPGRADE_REQUIRED;
        let mut response = http::plain(self.status, &self.message);
        let headers = response.headers_mut();
        if upgrade_required {
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

/// Checks an upgrade request and returns the `Sec-WebSocket-Accept` value to
/// answer with. `allowed_origins` empty means every origin is allowed.
pub(crate) fn check_handshake(
    method: &Method,
    headers: &HeaderMap,
    allowed_origins: &[String],
) -> Result<HeaderValue, Refusal> {
    if method != Method::GET {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Refused::Method,
            "a WebSocket upgrade must be a GET request",
        ));
    }
    let is_upgrade = header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket");
    if !is_upgrade {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            Refused::NotWebsocket,
            "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
        ));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            Refused::NotWebsocket,
            "unsupported Sec-WebSocket-Version: this server speaks version 13",
        ));
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).map(HeaderValue::as_bytes).unwrap_or_default();
    if !is_valid_key(key) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            Refused::BadRequest,
            "missing or malformed Sec-WebSocket-Key: it must be 16 bytes in base64",
        ));
    }
    check_origin(headers, allowed_origins)?;
    // The accept key is base64, which is always a valid header value.
    HeaderValue::from_str(&accept_key(key)).map_err(|_| {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, Refused::BadRequest, "could not encode Sec-WebSocket-Accept")
    })
}

/// The subprotocol to name in `Sec-WebSocket-Protocol`: the first the client
/// offers that is in `listed`, or with `any` (the lab) simply the client's
/// first offer. `None` selects none, which leaves the header out.
pub(crate) fn select_subprotocol(headers: &HeaderMap, listed: &[String], any: bool) -> Option<HeaderValue> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|offered| is_token(offered))
        .find(|offered| any || listed.iter().any(|name| name == offered))
        .and_then(|chosen| HeaderValue::from_str(chosen).ok())
}

/// An HTTP token (RFC 9110 section 5.6.2), which is what a subprotocol name is.
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// `Sec-WebSocket-Accept`: base64(SHA-1(key + the RFC's GUID)), which proves the
/// server read the key (RFC 6455 section 4.2.2).
pub(crate) fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// Browsers always send `Origin`; other clients usually do not, and a missing
/// `Origin` is accepted because it cannot come from a page another site controls.
fn check_origin(headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), Refusal> {
    if allowed_origins.is_empty() {
        return Ok(());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    if allowed_origins.iter().any(|allowed| same_origin(allowed, origin)) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            Refused::Origin,
            format!("origin {origin:?} is not allowed to open this WebSocket"),
        ))
    }
}

/// Scheme and host compare without regard to case; a trailing slash is ignored.
fn same_origin(allowed: &str, origin: &str) -> bool {
    allowed.trim_end_matches('/').eq_ignore_ascii_case(origin.trim_end_matches('/'))
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// A key is the base64 encoding of 16 bytes: 22 base64 characters and `==`.
fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22].iter().all(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    /// GOOD with `name` replaced by `value` (or removed when `value` is empty).
    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = GOOD.iter().copied().filter(|(n, _)| *n != name).collect();
        if !value.is_empty() {
            pairs.push((name, value));
        }
        pairs
    }

    fn check(
        method: Method,
        pairs: &[(&'static str, &'static str)],
        allowed: &[&str],
    ) -> Result<HeaderValue, StatusCode> {
        let headers: HeaderMap = pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect();
        let allowed: Vec<String> = allowed.iter().map(|origin| origin.to_string()).collect();
        check_handshake(&method, &headers, &allowed).map_err(|refusal| refusal.status)
    }

    #[test]
    fn accepts_the_rfc_example_and_derives_its_accept_key() {
        assert_eq!(check(Method::GET, GOOD, &[]).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refuses_what_is_not_an_upgrade() {
        let cases = [
            (Method::POST, with("", ""), StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, vec![], StatusCode::UPGRADE_REQUIRED),
            (Method::GET, with("upgrade", "h2c"), StatusCode::UPGRADE_REQUIRED),
            (Method::GET, with("connection", "close"), StatusCode::UPGRADE_REQUIRED),
            (Method::GET, with("sec-websocket-version", "8"), StatusCode::UPGRADE_REQUIRED),
            (Method::GET, with("sec-websocket-key", ""), StatusCode::BAD_REQUEST),
            (Method::GET, with("sec-websocket-key", "short=="), StatusCode::BAD_REQUEST),
        ];
        for (method, pairs, status) in cases {
            assert_eq!(check(method, &pairs, &[]), Err(status), "{pairs:?}");
        }
    }

    #[test]
    fn the_first_offered_subprotocol_that_is_listed_is_selected() {
        let offers = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(value));
            }
            headers
        };
        let listed = ["chat.v2".to_owned(), "chat.v1".to_owned()];
        let select = |values: &[&'static str], any| select_subprotocol(&offers(values), &listed, any);
        assert_eq!(select(&["chat.v1, chat.v2"], false).unwrap(), "chat.v1");
        assert_eq!(select(&["other", "chat.v2"], false).unwrap(), "chat.v2");
        assert_eq!(select(&["other"], false), None);
        assert_eq!(select(&["CHAT.V1"], false), None, "names are case-sensitive");
        assert_eq!(select(&[], true), None);
        assert_eq!(select(&["bad name, mqtt"], true).unwrap(), "mqtt", "what is not a token is skipped");
        assert_eq!(select(&["other, chat.v1"], true).unwrap(), "other");
    }

    #[test]
    fn the_origin_policy_applies_only_when_origins_are_listed() {
        let from = |origin| {
            let mut pairs = GOOD.to_vec();
            pairs.push(("origin", origin));
            pairs
        };
        let allowed = ["https://echo.example.com", "http://127.0.0.1:3000"];
        assert!(check(Method::GET, &from("https://evil.example"), &[]).is_ok());
        assert!(check(Method::GET, &from("https://ECHO.example.com"), &allowed).is_ok());
        assert!(check(Method::GET, &from("http://127.0.0.1:3000"), &allowed).is_ok());
        assert_eq!(check(Method::GET, &from("https://evil.example"), &allowed), Err(StatusCode::FORBIDDEN));
        assert_eq!(check(Method::GET, &from("null"), &allowed), Err(StatusCode::FORBIDDEN));
        // Non-browser clients send no Origin and are accepted.
        assert!(check(Method::GET, GOOD, &allowed).is_ok());
    }
}
