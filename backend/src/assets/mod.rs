//! The web app's files: the bundle built into the binary, or the `--dist`
//! folder on disk. Every file is served compressed when the client accepts it
//! (brotli, then gzip), with an `ETag` that answers revalidation with 304,
//! long-lived caching for trunk's hashed file names, and security headers.
//! Page paths get `index.html`; a missing bundle gets a page saying how to
//! build it.

mod compress;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::StatusCode;
use sha2::{Digest, Sha256};
use warp::filters::BoxedFilter;
use warp::path::FullPath;
use warp::Filter;

use crate::ws::HttpResponse;
use compress::Effort;

/// The command that builds the bundle, as the missing-bundle page and the start-up
/// log name it.
pub(crate) const BUILD_COMMAND: &str = "cargo xtask dist";

/// A file of the bundle built into the binary by `build.rs`.
struct EmbeddedFile {
    path: &'static str,
    identity: &'static [u8],
    gzip: Option<&'static [u8]>,
    brotli: Option<&'static [u8]>,
}

static EMBEDDED: &[EmbeddedFile] = include!(concat!(env!("OUT_DIR"), "/bundle.rs"));

/// One file, ready to serve in each encoding.
#[derive(Debug)]
pub(crate) struct Asset {
    content_type: &'static str,
    etag: HeaderValue,
    cache_control: &'static str,
    /// Set on HTML pages: a policy that allows exactly this page's inline loader.
    content_security_policy: Option<HeaderValue>,
    identity: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

impl Asset {
    fn new(path: &str, identity: Bytes, gzip: Option<Bytes>, brotli: Option<Bytes>) -> Asset {
        let extension = extension(path);
        let digest = Sha256::digest(&identity);
        let etag = format!("\"{}\"", hex(&digest[..12]));
        let content_security_policy = (extension == "html").then(|| content_security_policy(&identity));
        Asset {
            content_type: content_type(extension),
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header value"),
            cache_control: if is_hashed_name(path) { "public, max-age=31536000, immutable" } else { "no-cache" },
            content_security_policy,
            identity,
            gzip,
            brotli,
        }
    }

    /// Reads and compresses a file from disk (on a blocking thread).
    fn load(path: &str, file: &Path) -> std::io::Result<Asset> {
        let data = std::fs::read(file)?;
        let (gzip, brotli) = if compress::is_compressible(extension(path)) {
            (
                compress::gzip(&data, Effort::Fast).map(Bytes::from),
                compress::brotli(&data, Effort::Fast).map(Bytes::from),
            )
        } else {
            (None, None)
        };
        Ok(Asset::new(path, Bytes::from(data), gzip, brotli))
    }
}

/// A file read from disk, with the size and time it had then.
type Cached = (u64, SystemTime, Arc<Asset>);

/// Where the files come from.
pub(crate) enum Bundle {
    /// Built into the binary.
    Embedded(HashMap<&'static str, Arc<Asset>>),
    /// Read from a folder, reloaded when a file changes, so that rebuilding the
    /// bundle needs no restart.
    Disk { root: PathBuf, cache: Mutex<HashMap<String, Cached>> },
}

impl Bundle {
    /// `--dist` when given; otherwise the bundle built into the binary, or
    /// `./dist` when the binary has none.
    pub(crate) fn new(dist: Option<&Path>) -> Bundle {
        match dist {
            None if !EMBEDDED.is_empty() => Bundle::Embedded(
                EMBEDDED
                    .iter()
                    .map(|file| {
                        let bytes = |data: Option<&'static [u8]>| data.map(Bytes::from_static);
                        let asset = Asset::new(
                            file.path,
                            Bytes::from_static(file.identity),
                            bytes(file.gzip),
                            bytes(file.brotli),
                        );
                        (file.path, Arc::new(asset))
                    })
                    .collect(),
            ),
            dist => Bundle::Disk {
                root: dist.map_or_else(|| PathBuf::from("dist"), Path::to_path_buf),
                cache: Mutex::new(HashMap::new()),
            },
        }
    }

    /// Where the bundle comes from, for the start-up log.
    pub(crate) fn describe(&self) -> String {
        match self {
            Bundle::Embedded(files) => format!("the bundle built into this binary ({} files)", files.len()),
            Bundle::Disk { root, .. } => format!("the folder {}", root.display()),
        }
    }

    /// Whether there is an app to serve.
    pub(crate) fn is_built(&self) -> bool {
        match self {
            Bundle::Embedded(files) => files.contains_key("index.html"),
            Bundle::Disk { root, .. } => root.join("index.html").is_file(),
        }
    }

    async fn get(&self, path: &str) -> Option<Arc<Asset>> {
        match self {
            Bundle::Embedded(files) => files.get(path).cloned(),
            Bundle::Disk { root, cache } => {
                let file = root.join(path);
                let metadata = tokio::fs::metadata(&file).await.ok().filter(|metadata| metadata.is_file())?;
                let stamp = (metadata.len(), metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                if let Some((len, modified, asset)) = cache.lock().ok()?.get(path) {
                    if (*len, *modified) == stamp {
                        return Some(Arc::clone(asset));
                    }
                }
                let owned = path.to_owned();
                let asset = tokio::task::spawn_blocking(move || Asset::load(&owned, &file)).await.ok()?.ok()?;
                let asset = Arc::new(asset);
                cache.lock().ok()?.insert(path.to_owned(), (stamp.0, stamp.1, Arc::clone(&asset)));
                Some(asset)
            }
        }
    }

    async fn respond(&self, path: &str, request: &HeaderMap) -> HttpResponse {
        let Some(relative) = relative_path(path) else {
            return not_found();
        };
        let page = is_page_path(&relative);
        let asset = match self.get(&relative).await {
            Some(asset) => asset,
            None if page => match self.get("index.html").await {
                Some(asset) => asset,
                None => return missing_bundle_page(),
            },
            None => return not_found(),
        };
        serve(&asset, request)
    }
}

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
            async move { bundle.respond(path.as_str(), &headers).await }
        })
        .boxed()
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

/// Headers every response carries: no MIME sniffing, no referrer leaks, no framing.
pub(crate) fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The policy for a page: scripts only from this server plus the page's own
/// inline loader (by hash), WebAssembly compilation, and sockets. WebSockets may
/// go to any host (`ws:` and `wss:`) because pointing the page at another
/// server is what the URL box is for; every other fetch stays on this origin.
fn content_security_policy(page: &[u8]) -> HeaderValue {
    let hashes: String = inline_scripts(page)
        .map(|script| format!(" 'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script))))
        .collect();
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// The contents of every `<script>` without a `src` attribute.
fn inline_scripts(page: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = page;
    std::iter::from_fn(move || loop {
        let start = find(rest, b"<script")?;
        let tag_end = start + find(&rest[start..], b">")?;
        let tag = &rest[start..tag_end];
        let body_end = tag_end + 1 + find(&rest[tag_end + 1..], b"</script>")?;
        let body = &rest[tag_end + 1..body_end];
        rest = &rest[body_end..];
        if find(tag, b"src=").is_none() {
            return Some(body);
        }
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
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

/// trunk names assets `name-<hash>.ext` (and `name-<hash>_bg.wasm`): such a name
/// never changes content, so it may be cached for good.
fn is_hashed_name(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default().trim_end_matches("_bg");
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn extension(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default().rsplit_once('.').map_or("", |(_, extension)| extension)
}

fn content_type(extension: &str) -> &'static str {
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
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
    fn trunk_hashed_names_are_recognised() {
        assert!(is_hashed_name("frontend-ee21995270f2de0.js"));
        assert!(is_hashed_name("frontend-ee21995270f2de0_bg.wasm"));
        assert!(is_hashed_name("style-15998e3c99967fb7.css"));
        assert!(!is_hashed_name("index.html"));
        assert!(!is_hashed_name("my-app.js"));
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

    #[test]
    fn the_policy_allows_exactly_the_pages_inline_loader() {
        let page =
            b"<html><script type=\"module\">import init from '/a.js';</script><script src=\"/b.js\"></script></html>";
        let policy = content_security_policy(page);
        let policy = policy.to_str().unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"import init from '/a.js';"));
        assert!(policy.contains(&format!("'sha256-{expected}'")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'") && policy.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn compressed_variants_round_trip() {
        use std::io::Read;
        let text = "WebSocket echo ".repeat(100).into_bytes();
        let gzip = compress::gzip(&text, Effort::Fast).unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, text);
        let brotli = compress::brotli(&text, Effort::Fast).unwrap();
        let mut unbrotlied = Vec::new();
        brotli::Decompressor::new(&brotli[..], 4096).read_to_end(&mut unbrotlied).unwrap();
        assert_eq!(unbrotlied, text);
        assert!(compress::gzip(b"x", Effort::Fast).is_none(), "compressing one byte only makes it bigger");
    }
}
