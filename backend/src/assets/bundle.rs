//! The web app's files: the bundle built into the binary by `build.rs`, or the
//! `--dist` folder on disk, each file ready to serve in every encoding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};

use super::compress::{self, Effort};
use super::csp::content_security_policy;

/// A file of the bundle built into the binary by `build.rs`.
struct EmbeddedFile {
    path: &'static str,
    pub(super) identity: &'static [u8],
    pub(super) gzip: Option<&'static [u8]>,
    pub(super) brotli: Option<&'static [u8]>,
}

static EMBEDDED: &[EmbeddedFile] = include!(concat!(env!("OUT_DIR"), "/bundle.rs"));

/// One file, ready to serve in each encoding.
#[derive(Debug)]
pub(crate) struct Asset {
    pub(super) content_type: &'static str,
    pub(super) etag: HeaderValue,
    pub(super) cache_control: &'static str,
    /// Set on HTML pages: a policy that allows exactly this page's inline loader.
    pub(super) content_security_policy: Option<HeaderValue>,
    pub(super) identity: Bytes,
    pub(super) gzip: Option<Bytes>,
    pub(super) brotli: Option<Bytes>,
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

    pub(super) async fn get(&self, path: &str) -> Option<Arc<Asset>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_hashed_name("frontend-ee21995270f2de0.js"));
        assert!(is_hashed_name("frontend-ee21995270f2de0_bg.wasm"));
        assert!(is_hashed_name("style-15998e3c99967fb7.css"));
        assert!(!is_hashed_name("index.html"));
        assert!(!is_hashed_name("my-app.js"));
    }
}
