//! The HTTP answers every part of the server shares: the response type, the
//! safety headers every response carries, and one-line plain-text answers.
//! This module imports nothing else from the crate, so every other module may
//! use it without a circle.

use std::net::SocketAddr;

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::StatusCode;

/// Every response this server sends has warp's type, `/ws` included.
pub(crate) type HttpResponse = warp::reply::Response;

/// The client's address, which the server puts in every request's extensions
/// for the routes that need it (`warp::ext::optional::<Peer>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// Headers every response carries: no MIME sniffing, no referrer leaks, no framing.
pub(crate) fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A response with `body`, its content type, the safety headers and no caching.
pub(crate) fn text(status: StatusCode, body: impl Into<String>, content_type: &'static str) -> HttpResponse {
    let mut response = HttpResponse::new(body.into().into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(headers);
    response
}

/// A one-line plain-text answer: what went wrong, or what happened, in a sentence.
pub(crate) fn plain(status: StatusCode, message: &str) -> HttpResponse {
    text(status, format!("{message}\n"), "text/plain; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_answers_carry_the_safety_headers_and_one_line() {
        let response = plain(StatusCode::FORBIDDEN, "not from that origin");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    }
}
