//! Serving the bundle over HTTP: `index.html` for page paths, the best encoding
//! the client accepts, `ETag`s answered with 304, caching by file name, the
//! Content-Security-Policy and the safety headers, and a page that says how
//! to build the app when there is none.

use std::path::{Component, Path};
use std::sync::Arc;

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::StatusCode;
use warp::filters::BoxedFilter;
use warp::path::FullPath;
use warp::Filter;

use super::bundle::{Asset, Bundle};
use super::BUILD_COMMAND;
use crate::http::{security_headers, HttpResponse};

/// Every route that is not `/ws`: the app's files and pages.
pub(crate) fn routes(bundle: Arc<Bundle>) -> BoxedFilter<(HttpResponse,)> {
    // HEAD gets the same headers; hyper leaves the body out.
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .then(move |path: FullPath, headers: HeaderMap| {
            let bundle = Arc::clone(&bundle);
            async move { respond(&bundle, path.as_str(), &headers).await }
        })
        .boxed()
}

/// The answer for `path`: its file, `index.html` for a page path, a 404, or
/// the page that says how to build the bundle.
async fn respond(bundle: &Bundle, path: &str, request: &HeaderMap) -> HttpResponse {
    let Some(relative) = relative_path(path) else {
        return not_found();
    };
    let page = is_page_path(&relative);
    let asset = match bundle.get(&relative).await {
        Some(asset) => asset,
        None if page => match bundle.get("index.html").await {
            Some(asset) => asset,
            None => return missing_bundle_page(),
        },
        None => return not_found(),
    };
    serve(&asset, request)
}

/// The answer for one asset: 304 when the client's copy is current, otherwise
/// the best encoding the client accepts.
fn serve(asset: &Asset, request: &HeaderMap) -> HttpResponse {
    let not_modified = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == asset.etag.to_str().unwrap_or_default()
        });
    let accepted = |name| accepts_encoding(request, name);
    let (body, encoding) = match (&asset.brotli, &asset.gzip) {
        (Some(brotli), _) if accepted("br") => (brotli.clone(), Some("br")),
        (_, Some(gzip)) if accepted("gzip") => (gzip.clone(), Some("gzip")),
        _ => (asset.identity.clone(), None),
    };
    let mut response = if not_modified { HttpResponse::new("".into()) } else { HttpResponse::new(body.into()) };
    if not_modified {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(asset.cache_control));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let (Some(encoding), false) = (encoding, not_modified) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if let Some(policy) = &asset.content_security_policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    }
    security_headers(headers);
    response
}

/// Whether the request's `Accept-Encoding` accepts `name` (with a q above 0).
fn accepts_encoding(request: &HeaderMap, name: &str) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|part| part.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            coding.eq_ignore_ascii_case(name) && quality > 0.0
        })
}

/// The request path as a bundle-relative path, or `None` for anything that
/// could leave the bundle.
fn relative_path(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    let relative =
        if trimmed.is_empty() || trimmed.ends_with('/') { format!("{trimmed}index.html") } else { trimmed.to_owned() };
    let safe = Path::new(&relative).components().all(|component| matches!(component, Component::Normal(_)))
        && !relative.contains('\\');
    safe.then_some(relative)
}

/// Paths that name a page of the app rather than a file: those whose last
/// segment has no extension. `/about` gets the app; `/missing.js` gets a 404.
fn is_page_path(relative: &str) -> bool {
    !relative.rsplit('/').next().unwrap_or_default().contains('.') || relative == "index.html"
}

fn not_found() -> HttpResponse {
    let mut response = HttpResponse::new("not found\n".into());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    security_headers(response.headers_mut());
    response
}

fn missing_bundle_page() -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>WebSocket echo: app not built</title></head>\n\
         <body><h1>The web app is not built yet</h1>\n\
         <p>This server has no bundle built in and found no <code>index.html</code> in its <code>--dist</code> \
         folder. Build the app with</p>\n<pre>{BUILD_COMMAND}</pre>\n\
         <p>from the repository, then reload this page (or start everything at once with <code>cargo xtask serve</code>).</p>\n\
         <p>The echo endpoint at <code>/ws</code> works already.</p></body></html>\n"
    );
    let mut response = HttpResponse::new(page.into());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    security_headers(headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_bundle() {
        assert_eq!(relative_path("/").as_deref(), Some("index.html"));
        assert_eq!(relative_path("/app.js").as_deref(), Some("app.js"));
        assert_eq!(relative_path("/a/b.css").as_deref(), Some("a/b.css"));
        assert_eq!(relative_path("/../etc/passwd"), None);
        assert_eq!(relative_path("/a/../../b"), None);
        assert_eq!(relative_path("/a\\b"), None);
    }

    #[test]
    fn encodings_respect_quality_values() {
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            headers
        };
        assert!(accepts_encoding(&headers("gzip, deflate, br"), "br"));
        assert!(!accepts_encoding(&headers("gzip, br;q=0"), "br"));
        assert!(accepts_encoding(&headers("gzip, br;q=0"), "gzip"));
        assert!(!accepts_encoding(&HeaderMap::new(), "gzip"));
    }
}
