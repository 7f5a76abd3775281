//! `POST /api/echo`: the echo over plain HTTP, one request per message, so the
//! page can compare polling-style traffic with a WebSocket on the same server.

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use warp::filters::BoxedFilter;
use warp::{Filter, Rejection};

use crate::ws::HttpResponse;

/// The route; bodies larger than `max_bytes` get 413, like messages over the
/// WebSocket size limit get 1009.
pub(crate) fn routes(max_bytes: u64) -> BoxedFilter<(HttpResponse,)> {
    warp::path!("api" / "echo")
        .and(warp::post())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(max_bytes))
        .and(warp::body::bytes())
        .map(echo)
        .recover(|rejection: Rejection| async move { refusal(&rejection) })
        .unify()
        .boxed()
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
        (StatusCode::METHOD_NOT_ALLOWED, "POST the message to echo as the request body")
    } else {
        return Err(warp::reject::not_found());
    };
    let mut response = HttpResponse::new(format!("{message}\n").into());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    crate::assets::security_headers(response.headers_mut());
    Ok(response)
}
