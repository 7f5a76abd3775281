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
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use warp::filters::BoxedFilter;
use warp::{Filter, Rejection};

use crate::http::{self, security_headers, HttpResponse, Peer};

/// Messages one mailbox may hold before it must be read.
const BOX_MESSAGES: usize = 1000;
/// The largest reply one mailbox may make: its messages as a JSON array, each
/// counted as escaped (a control character takes up to six bytes there).
const BOX_BYTES: usize = 1 << 20;
/// Mailboxes that may exist at once.
const MAX_BOXES: usize = 1024;
/// What all mailboxes together may hold: their replies' sizes plus the
/// bookkeeping below. Past it (or past `MAX_BOXES`), storing evicts a box of
/// whichever client holds most.
const TOTAL_BYTES: usize = 64 << 20;
/// Memory each stored message takes besides its text: its `String` and its
/// slot in the queue, with the allocator's rounding.
const MESSAGE_OVERHEAD: usize = 48;
/// Memory each mailbox takes besides its messages: its name, its entry in the
/// table and its queue.
const BOX_OVERHEAD: usize = 256;
/// A mailbox nobody wrote to or took from for this long is removed (an empty
/// poll does not count, so reading alone keeps no box alive).
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
    let client = || {
        warp::ext::optional::<Peer>().map(|addr: Option<Peer>| {
            Client::of(addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |Peer(addr)| addr.ip()))
        })
    };
    let store = {
        let mailboxes = Arc::clone(&mailboxes);
        warp::path!("api" / "mailbox" / String)
            .and(warp::post())
            .and(client())
            .and(warp::body::content_length_limit(max_bytes))
            .and(warp::body::bytes())
            .map(move |id: String, client: Client, body: Bytes| {
                mailboxes.store(&id, &body, client, Instant::now()).into_response()
            })
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
    TooLarge,
    Full,
}

impl MailboxError {
    fn into_response(self) -> HttpResponse {
        let (status, message) = match self {
            MailboxError::BadName => (StatusCode::BAD_REQUEST, "a mailbox name is 1 to 64 of A-Z a-z 0-9 _ -"),
            MailboxError::NotText => (StatusCode::BAD_REQUEST, "a mailbox message must be UTF-8 text"),
            MailboxError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "the message takes more than a mailbox holds (1 MiB as JSON)")
            }
            MailboxError::Full => {
                (StatusCode::TOO_MANY_REQUESTS, "the mailbox is full (1000 messages or 1 MiB as JSON): read it first")
            }
        };
        http::plain(status, message)
    }
}

/// Whose a mailbox is, for sharing the table fairly: an IPv4 address, or an
/// IPv6 /64 (one subscriber's usual allocation, which one client can fill
/// with addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Client(u128);

impl Client {
    fn of(ip: IpAddr) -> Client {
        let v6 = match ip {
            IpAddr::V4(v4) => return Client(u128::from(v4.to_ipv6_mapped())),
            IpAddr::V6(v6) => v6,
        };
        match v6.to_ipv4_mapped() {
            Some(v4) => Client::of(IpAddr::V4(v4)),
            None => Client(u128::from(v6) & !u128::from(u64::MAX)),
        }
    }
}

/// What one mailbox holds.
#[derive(Debug)]
struct Mailbox {
    owner: Client,
    messages: VecDeque<String>,
    /// The size of the reply a read would make now (an upper bound: each
    /// message counts a comma).
    reply_bytes: usize,
    touched: Instant,
}

impl Mailbox {
    fn is_idle(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.touched) >= BOX_IDLE
    }

    /// What the box counts against [`TOTAL_BYTES`].
    fn weight(&self) -> usize {
        self.reply_bytes + self.messages.len() * MESSAGE_OVERHEAD + BOX_OVERHEAD
    }
}

/// The size of `[]`, an empty box's reply.
const EMPTY_REPLY: usize = 2;

/// Every mailbox, bounded in number, per box and in total, and shared fairly:
/// when a new message does not fit, the boxes of whichever client holds most
/// go first, longest idle first, so one client can never keep the others out.
#[derive(Debug, Default)]
struct Mailboxes {
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    boxes: HashMap<String, Mailbox>,
    /// The summed weight of each client's boxes.
    held: HashMap<Client, usize>,
    /// The summed weight of every box.
    total: usize,
}

impl Mailboxes {
    fn store(&self, id: &str, body: &[u8], client: Client, now: Instant) -> Result<(), MailboxError> {
        check_name(id)?;
        let message = std::str::from_utf8(body).map_err(|_| MailboxError::NotText)?;
        // Quotes and a comma around the escaped text. Checked before anything
        // is allocated for the message.
        let cost = json_escaped_len(message) + 3;
        if EMPTY_REPLY + cost > BOX_BYTES {
            return Err(MailboxError::TooLarge);
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.boxes.get(id).is_some_and(|mailbox| mailbox.is_idle(now)) {
            table.remove(id);
        }
        match table.boxes.get(id) {
            Some(mailbox) if mailbox.messages.len() >= BOX_MESSAGES || mailbox.reply_bytes + cost > BOX_BYTES => {
                return Err(MailboxError::Full);
            }
            Some(_) => {}
            None => {
                if table.boxes.len() >= MAX_BOXES {
                    table.remove_idle(now);
                }
                while table.boxes.len() >= MAX_BOXES && table.evict(id) {}
                let mailbox =
                    Mailbox { owner: client, messages: VecDeque::new(), reply_bytes: EMPTY_REPLY, touched: now };
                table.add(id.to_owned(), mailbox);
            }
        }
        if table.total + cost + MESSAGE_OVERHEAD > TOTAL_BYTES {
            table.remove_idle(now);
        }
        while table.total + cost + MESSAGE_OVERHEAD > TOTAL_BYTES && table.evict(id) {}
        table.change(id, |mailbox| {
            mailbox.messages.push_back(message.to_owned());
            mailbox.reply_bytes += cost;
            mailbox.touched = now;
        });
        Ok(())
    }

    /// Everything the box holds, oldest first; an unknown box is an empty one.
    fn take(&self, id: &str, now: Instant) -> Result<Vec<String>, MailboxError> {
        check_name(id)?;
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.boxes.get(id).is_some_and(|mailbox| mailbox.is_idle(now)) {
            table.remove(id);
        }
        let mut messages = VecDeque::new();
        table.change(id, |mailbox| {
            if !mailbox.messages.is_empty() {
                messages = std::mem::take(&mut mailbox.messages);
                mailbox.reply_bytes = EMPTY_REPLY;
                mailbox.touched = now;
            }
        });
        Ok(messages.into())
    }
}

impl Table {
    fn add(&mut self, id: String, mailbox: Mailbox) {
        let weight = mailbox.weight();
        *self.held.entry(mailbox.owner).or_default() += weight;
        self.total += weight;
        self.boxes.insert(id, mailbox);
    }

    fn remove(&mut self, id: &str) {
        let Some(mailbox) = self.boxes.remove(id) else {
            return;
        };
        let weight = mailbox.weight();
        self.total -= weight;
        if let Some(held) = self.held.get_mut(&mailbox.owner) {
            *held -= weight;
            if *held == 0 {
                self.held.remove(&mailbox.owner);
            }
        }
    }

    /// Applies `change` to a box, keeping the weights right.
    fn change(&mut self, id: &str, change: impl FnOnce(&mut Mailbox)) {
        let Some(mailbox) = self.boxes.get_mut(id) else {
            return;
        };
        let before = mailbox.weight();
        change(mailbox);
        let after = mailbox.weight();
        let held = self.held.entry(mailbox.owner).or_default();
        *held = *held - before + after;
        self.total = self.total - before + after;
    }

    fn remove_idle(&mut self, now: Instant) {
        let idle: Vec<String> =
            self.boxes.iter().filter(|(_, mailbox)| mailbox.is_idle(now)).map(|(id, _)| id.clone()).collect();
        for id in idle {
            self.remove(&id);
        }
    }

    /// Removes one box other than `keep`: the longest idle of the client that
    /// holds most. False when there is none to remove.
    fn evict(&mut self, keep: &str) -> bool {
        let victim = self
            .boxes
            .iter()
            .filter(|(id, _)| id.as_str() != keep)
            .max_by_key(|(_, mailbox)| {
                let held = self.held.get(&mailbox.owner).copied().unwrap_or_default();
                (held, std::cmp::Reverse(mailbox.touched))
            })
            .map(|(id, _)| id.clone());
        match victim {
            Some(id) => {
                self.remove(&id);
                true
            }
            None => false,
        }
    }
}

/// How many bytes `text` takes inside a JSON string as `serde_json` writes it:
/// quote and backslash escaped with a backslash, control characters as `\n`,
/// `\t` and the like or as `\u00XX`.
fn json_escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum()
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
                security_headers(response.headers_mut());
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
                security_headers(headers);
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
    security_headers(headers);
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
    Ok(http::plain(status, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Client = Client(1);
    const B: Client = Client(2);

    /// The reply a read of `id` makes now, as the route would send it.
    fn reply(boxes: &Mailboxes, id: &str, now: Instant) -> String {
        serde_json::Value::from(boxes.take(id, now).unwrap()).to_string()
    }

    fn count(boxes: &Mailboxes) -> usize {
        boxes.table.lock().unwrap().boxes.len()
    }

    #[test]
    fn a_mailbox_hands_out_what_it_holds_once_in_order() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        assert_eq!(boxes.take("a", now), Ok(vec![]));
        boxes.store("a", b"one", A, now).unwrap();
        boxes.store("a", b"two", B, now).unwrap();
        boxes.store("b", b"other", A, now).unwrap();
        assert_eq!(boxes.take("a", now), Ok(vec!["one".to_string(), "two".to_string()]));
        assert_eq!(boxes.take("a", now), Ok(vec![]));
        assert_eq!(boxes.take("b", now), Ok(vec!["other".to_string()]));
    }

    #[test]
    fn names_text_and_sizes_are_bounded() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        assert_eq!(boxes.store("", b"x", A, now), Err(MailboxError::BadName));
        assert_eq!(boxes.store(&"x".repeat(65), b"x", A, now), Err(MailboxError::BadName));
        assert_eq!(boxes.take("a/b", now), Err(MailboxError::BadName));
        assert_eq!(boxes.store("a", &[0xff], A, now), Err(MailboxError::NotText));
        for _ in 0..BOX_MESSAGES {
            boxes.store("a", b"x", A, now).unwrap();
        }
        assert_eq!(boxes.store("a", b"x", A, now), Err(MailboxError::Full));
        boxes.take("a", now).unwrap();
        // `["…"]`: the largest message a box takes fills its reply exactly.
        let largest = vec![b'x'; BOX_BYTES - 5];
        assert_eq!(boxes.store("a", &[&largest[..], b"x"].concat(), A, now), Err(MailboxError::TooLarge));
        boxes.store("a", &largest, A, now).unwrap();
        assert_eq!(boxes.store("a", b"x", A, now), Err(MailboxError::Full));
        // One byte under the bound, which counts a comma after every message.
        assert_eq!(reply(&boxes, "a", now).len(), BOX_BYTES - 1);
    }

    #[test]
    fn escaped_control_characters_count_against_the_box() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        // Each 0x01 becomes \u0001 in the reply: six bytes for one stored.
        let control = vec![0x01; BOX_BYTES / 6];
        assert_eq!(boxes.store("a", &control, A, now), Err(MailboxError::TooLarge));
        let chunk = vec![0x01; 10_000];
        let mut stored = 0;
        while boxes.store("a", &chunk, A, now).is_ok() {
            stored += 1;
        }
        assert_eq!(stored, BOX_BYTES / (6 * chunk.len() + 3));
        let json = reply(&boxes, "a", now);
        assert!(json.len() <= BOX_BYTES, "a reply of {} bytes", json.len());
        assert!(json.len() > BOX_BYTES - 6 * chunk.len() - 3, "the bound is not far off: {}", json.len());
    }

    #[test]
    fn the_escaped_length_is_what_serde_json_writes() {
        let mut samples: Vec<String> = (0u8..=127).map(|byte| char::from(byte).to_string()).collect();
        samples.extend(
            ["", "plain", "tab\there \"quoted\" \\ back", "échø ☃ 😀", "\u{7f}\u{85}\u{2028}"].map(String::from),
        );
        for text in samples {
            let written = serde_json::Value::from(text.as_str()).to_string().len() - 2;
            assert_eq!(json_escaped_len(&text), written, "{text:?}");
        }
    }

    #[test]
    fn reading_alone_keeps_no_box_alive() {
        let boxes = Mailboxes::default();
        let start = Instant::now();
        boxes.store("a", b"x", A, start).unwrap();
        // A read that takes something counts as use...
        let later = start + BOX_IDLE / 2;
        assert_eq!(boxes.take("a", later), Ok(vec!["x".to_string()]));
        boxes.store("a", b"y", A, later).unwrap();
        // ...empty polls do not: the message waits, then the box goes.
        let mut now = later;
        for _ in 0..10 {
            now += BOX_IDLE / 10;
            let _ = boxes.take("b", now);
        }
        assert_eq!(boxes.take("a", now + Duration::from_millis(1)), Ok(vec![]));
        assert_eq!(count(&boxes), 0);
    }

    #[test]
    fn a_client_holding_every_box_cannot_keep_another_out() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        for index in 0..MAX_BOXES {
            boxes.store(&format!("squat{index}"), b"x", A, now + Duration::from_millis(index as u64)).unwrap();
        }
        // The squatter keeps reading and writing every box...
        let later = now + Duration::from_secs(10);
        for index in 0..MAX_BOXES {
            boxes.take(&format!("squat{index}"), later).unwrap();
            boxes.store(&format!("squat{index}"), b"x", A, later + Duration::from_millis(index as u64)).unwrap();
        }
        // ...and another client still gets boxes: the squatter's longest idle go.
        let after = later + Duration::from_secs(1);
        boxes.store("mine", b"hello", B, after).unwrap();
        boxes.store("mine-too", b"hello", B, after).unwrap();
        assert_eq!(count(&boxes), MAX_BOXES);
        assert_eq!(boxes.take("squat0", after), Ok(vec![]), "the longest idle box was evicted");
        assert_eq!(boxes.take("squat2", after), Ok(vec!["x".to_string()]));
        // New boxes of the squatter evict its own, not the other client's.
        for index in 0..10 {
            boxes.store(&format!("more{index}"), b"x", A, after).unwrap();
        }
        assert_eq!(boxes.take("mine", after), Ok(vec!["hello".to_string()]));
        assert_eq!(boxes.take("mine-too", after), Ok(vec!["hello".to_string()]));
    }

    #[test]
    fn all_boxes_together_stay_within_the_total_and_the_heaviest_client_gives_way() {
        let boxes = Mailboxes::default();
        let now = Instant::now();
        let big = vec![b'x'; BOX_BYTES - 5];
        let mut index = 0;
        // Twice the total from one client: the table evicts rather than grows.
        while index * BOX_BYTES < 2 * TOTAL_BYTES {
            boxes.store(&format!("big{index}"), &big, A, now + Duration::from_millis(index as u64)).unwrap();
            index += 1;
            let total = boxes.table.lock().unwrap().total;
            assert!(total <= TOTAL_BYTES, "{total} after {index} boxes");
        }
        boxes.store("small", b"still room", B, now + Duration::from_secs(1)).unwrap();
        boxes.store(&format!("big{index}"), &big, A, now + Duration::from_secs(2)).unwrap();
        assert_eq!(boxes.take("small", now + Duration::from_secs(3)), Ok(vec!["still room".to_string()]));
        let table = boxes.table.lock().unwrap();
        let summed: usize = table.boxes.values().map(Mailbox::weight).sum();
        assert_eq!(summed, table.total, "the running total matches the boxes");
        assert_eq!(table.held.values().sum::<usize>(), table.total);
    }

    #[test]
    fn clients_are_addresses_or_ipv6_slash_64s() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(Client::of(ip("192.0.2.1")), Client::of(ip("::ffff:192.0.2.1")));
        assert_ne!(Client::of(ip("192.0.2.1")), Client::of(ip("192.0.2.2")));
        assert_eq!(Client::of(ip("2001:db8:1:2::1")), Client::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(Client::of(ip("2001:db8:1:2::1")), Client::of(ip("2001:db8:1:3::1")));
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
