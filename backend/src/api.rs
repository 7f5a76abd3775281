//! Messages over plain HTTP, so the page can compare request/response and
//! polling traffic with a WebSocket on the same server:
//!
//! - `POST /api/echo`: the body comes back, one request per message.
//! - `POST /api/mailbox/<box>` stores a message; `GET /api/mailbox/<box>` takes
//!   everything stored (a JSON array of strings, `[]` when nothing came), which
//!   is what a polling client does on a timer.
//!
//! Every answer carries `x-request-header-bytes`, the size of the request head
//! as received, because a page cannot see the headers its browser adds.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use warp::filters::BoxedFilter;
use warp::{Filter, Rejection};

use crate::ws::HttpResponse;

/// Messages one mailbox may hold before it must be read.
const BOX_MESSAGES: usize = 1000;
/// Bytes one mailbox may hold before it must be read.
const BOX_BYTES: usize = 1 << 20;
/// Mailboxes that may exist at once.
const MAX_BOXES: usize = 1024;
/// A mailbox nobody touched for this long is removed.
const BOX_IDLE: Duration = Duration::from_secs(60);

/// The routes; bodies larger than `max_bytes` get 413, like messages over the
/// WebSocket size limit get 1009.
pub(crate) fn routes(max_bytes: u64) -> BoxedFilter<(HttpResponse,)> {
    let mailboxes = Arc::new(Mailboxes::default());
    let echo = warp::path!("api" / "echo")
        .and(warp::post())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(max_bytes))
        .and(warp::body::bytes())
        .map(echo);
    let store = {
        let mailboxes = Arc::clone(&mailboxes);
        warp::path!("api" / "mailbox" / String)
            .and(warp::post())
            .and(warp::body::content_length_limit(max_bytes))
            .and(warp::body::bytes())
            .map(move |id: String, body: Bytes| mailboxes.store(&id, &body, Instant::now()).into_response())
    };
    let take = warp::path!("api" / "mailbox" / String)
        .and(warp::get())
        .map(move |id: String| mailboxes.take(&id, Instant::now()).into_response());
    request_head_bytes()
        .and(echo.or(store).unify().or(take).unify())
        .map(|head_bytes: usize, mut response: HttpResponse| {
            response.headers_mut().insert("x-request-header-bytes", HeaderValue::from(head_bytes));
            response
        })
        .recover(|rejection: Rejection| async move { refusal(&rejection) })
        .unify()
        .boxed()
}

/// The size of the request line and headers as they came over the wire
/// (assuming the usual `name: value` spacing).
fn request_head_bytes() -> impl Filter<Extract = (usize,), Error = std::convert::Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .map(|method: Method, path: warp::path::FullPath, query: String, headers: HeaderMap| {
            head_size(method.as_str(), path.as_str(), &query, &headers)
        })
}

/// `METHOD target HTTP/1.1\r\n`, each `name: value\r\n`, and the blank line.
fn head_size(method: &str, path: &str, query: &str, headers: &HeaderMap) -> usize {
    let target = path.len() + if query.is_empty() { 0 } else { 1 + query.len() };
    let line = method.len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
    let fields: usize = headers.iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum();
    line + fields + 2
}

/// Why a mailbox request could not be served.
#[derive(Debug, PartialEq, Eq)]
enum MailboxError {
    BadName,
    NotText,
    Full,
    TooManyBoxes,
}

impl MailboxError {
    fn into_response(self) -> HttpResponse {
        let (status, message) = match self {
            MailboxError::BadName => (StatusCode::BAD_REQUEST, "a mailbox name is 1 to 64 of A-Z a-z 0-9 _ -"),
            MailboxError::NotText => (StatusCode::BAD_REQUEST, "a mailbox message must be UTF-8 text"),
            MailboxError::Full => {
                (StatusCode::TOO_MANY_REQUESTS, "the mailbox is full (1000 messages or 1 MiB): read it first")
            }
            MailboxError::TooManyBoxes => {
                (StatusCode::SERVICE_UNAVAILABLE, "too many mailboxes are in use; try again in a minute")
            }
        };
        plain(status, message)
    }
}

/// What one mailbox holds.
#[derive(Debug)]
struct Mailbox {
    messages: VecDeque<String>,
    bytes: usize,
    touched: Instant,
}

/// Every mailbox, bounded in number and size so that no client can make the
/// server hold much: a few hundred megabytes at the very worst, and boxes
/// nobody reads vanish after a minute.
#[derive(Debug, Default)]
struct Mailboxes {
    boxes: Mutex<HashMap<String, Mailbox>>,
}

impl Mailboxes {
    fn store(&self, id: &str, body: &[u8], now: Instant) -> Result<(), MailboxError> {
        check_name(id)?;
        let message = std::str::from_utf8(body).map_err(|_| MailboxError::NotText)?;
        let mut boxes = self.boxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !boxes.contains_key(id) {
            boxes.retain(|_, mailbox| now.saturating_duration_since(mailbox.touched) < BOX_IDLE);
            if boxes.len() >= MAX_BOXES {
                return Err(MailboxError::TooManyBoxes);
            }
        }
        let mailbox =
            boxes.entry(id.to_owned()).or_insert_with(|| Mailbox { messages: VecDeque::new(), bytes: 0, touched: now });
        if mailbox.messages.len() >= BOX_MESSAGES || mailbox.bytes + message.len() > BOX_BYTES {
            return Err(MailboxError::Full);
        }
        mailbox.bytes += message.len();
        mailbox.messages.push_back(message.to_owned());
        mailbox.touched = now;
        Ok(())
    }

    /// Everything the box holds, oldest first; an unknown box is an empty one.
    fn take(&self, id: &str, now: Instant) -> Result<Vec<String>, MailboxError> {
        check_name(id)?;
        let mut boxes = self.boxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(match boxes.get_mut(id) {
            Some(mailbox) => {
                mailbox.touched = now;
                mailbox.bytes = 0;
                std::mem::take(&mut mailbox.messages).into()
            }
            None => Vec::new(),
        })
    }
}

fn check_name(id: &str) -> Result<(), MailboxError> {
    let valid = (1..=64).contains(&id.len())
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid {
        Ok(())
    } else {
        Err(MailboxError::BadName)
    }
}

/// The answers to mailbox requests: 204 for a stored message, the JSON array
/// for a read, or the error.
trait IntoResponse {
    fn into_response(self) -> HttpResponse;
}

impl IntoResponse for Result<(), MailboxError> {
    fn into_response(self) -> HttpResponse {
        match self {
            Ok(()) => {
                let mut response = HttpResponse::new("".into());
                *response.status_mut() = StatusCode::NO_CONTENT;
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                crate::assets::security_headers(response.headers_mut());
                response
            }
            Err(error) => error.into_response(),
        }
    }
}

impl IntoResponse for Result<Vec<String>, MailboxError> {
    fn into_response(self) -> HttpResponse {
        match self {
            Ok(messages) => {
                let json = serde_json::Value::from(messages).to_string();
                let mut response = HttpResponse::new(json.into());
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                crate::assets::security_headers(headers);
                response
            }
            Err(error) => error.into_response(),
        }
    }
}

/// Sends the body back with the same content type.
fn echo(content_type: Option<String>, body: Bytes) -> HttpResponse {
    let mut response = HttpResponse::new(body.into());
    let content_type = content_type
        .and_then(|value| HeaderValue::from_str(&value).ok())
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::assets::security_headers(headers);
    response
}

/// Why a request to this route was refused, in one line.
fn refusal(rejection: &Rejection) -> Result<HttpResponse, Rejection> {
    let (status, message) = if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (StatusCode::PAYLOAD_TOO_LARGE, "the body is larger than --max-message-bytes")
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (StatusCode::LENGTH_REQUIRED, "send a Content-Length header")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "POST a message as the request body (or GET a mailbox to read it)")
    } else {
        return Err(warp::reject::not_found());
    };
    Ok(plain(status, message))
}

/// A one-line text answer.
fn plain(status: StatusCode, message: &str) -> HttpResponse {
    let mut response = HttpResponse::new(format!("{message}\n").into());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    crate::assets::security_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_hands_out_what_it_holds_once_in_order() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        assert_eq!(boxes.take("a", now), Ok(vec![]));
        boxes.store("a", b"one", now).unwrap();
        boxes.store("a", b"two", now).unwrap();
        boxes.store("b", b"other", now).unwrap();
        assert_eq!(boxes.take("a", now), Ok(vec!["one".to_string(), "two".to_string()]));
        assert_eq!(boxes.take("a", now), Ok(vec![]));
        assert_eq!(boxes.take("b", now), Ok(vec!["other".to_string()]));
    }

    #[test]
    fn names_text_and_sizes_are_bounded() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        assert_eq!(boxes.store("", b"x", now), Err(MailboxError::BadName));
        assert_eq!(boxes.store(&"x".repeat(65), b"x", now), Err(MailboxError::BadName));
        assert_eq!(boxes.take("a/b", now), Err(MailboxError::BadName));
        assert_eq!(boxes.store("a", &[0xff], now), Err(MailboxError::NotText));
        for _ in 0..BOX_MESSAGES {
            boxes.store("a", b"x", now).unwrap();
        }
        assert_eq!(boxes.store("a", b"x", now), Err(MailboxError::Full));
        boxes.take("a", now).unwrap();
        boxes.store("a", &vec![b'x'; BOX_BYTES], now).unwrap();
        assert_eq!(boxes.store("a", b"x", now), Err(MailboxError::Full));
    }

    #[test]
    fn idle_mailboxes_vanish_and_the_number_of_boxes_is_capped() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        for index in 0..MAX_BOXES {
            boxes.store(&format!("box{index}"), b"x", now).unwrap();
        }
        assert_eq!(boxes.store("one-more", b"x", now), Err(MailboxError::TooManyBoxes));
        // An existing box still takes messages.
        boxes.store("box0", b"y", now).unwrap();
        let later = now + BOX_IDLE + Duration::from_secs(1);
        boxes.store("one-more", b"x", later).unwrap();
        assert_eq!(boxes.boxes.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_request_head_size_counts_every_byte() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
        headers.insert("content-length", HeaderValue::from_static("5"));
        let head = "POST /api/echo?x=1 HTTP/1.1\r\nhost: 127.0.0.1:3000\r\ncontent-length: 5\r\n\r\n";
        assert_eq!(head_size("POST", "/api/echo", "x=1", &headers), head.len());
    }
}
