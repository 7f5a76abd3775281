//! The web app's files: the trunk-built bundle in the `--dist` folder, with
//! `index.html` for every page path and a page explaining how to build the bundle
//! when it is missing.

use std::path::{Path, PathBuf};

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use warp::filters::BoxedFilter;
use warp::path::FullPath;
use warp::{Filter, Rejection, Reply};

use crate::ws::HttpResponse;

/// The command that builds the bundle, as the missing-bundle page and the start-up
/// log name it.
pub(crate) const BUILD_COMMAND: &str = "cargo xtask dist";

/// Whether `dist` holds a built bundle.
pub(crate) fn bundle_is_built(dist: &Path) -> bool {
    dist.join("index.html").is_file()
}

/// Every route that is not `/ws`: files, the app's page, or the missing-bundle page.
pub(crate) fn routes(dist: PathBuf) -> BoxedFilter<(HttpResponse,)> {
    let files = warp::fs::dir(dist.clone()).map(Reply::into_response);
    let app_page = page_path().and(warp::fs::file(dist.join("index.html"))).map(Reply::into_response);
    // The bundle is looked for on every request, so building it while the server
    // runs needs no restart.
    let missing_bundle = page_path().map(missing_bundle_page);
    warp::get().and(files.or(app_page).unify().or(missing_bundle).unify()).boxed()
}

/// Matches paths that name a page of the app rather than a file: those whose last
/// segment has no extension. `/about` gets the app; `/missing.js` gets a 404.
fn page_path() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::path::full()
        .and_then(|path: FullPath| async move {
            let last = path.as_str().rsplit('/').next().unwrap_or_default();
            if last.contains('.') {
                Err(warp::reject::not_found())
            } else {
                Ok(())
            }
        })
        .untuple_one()
}

fn missing_bundle_page() -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>WebSocket echo: app not built</title></head>\n\
         <body><h1>The web app is not built yet</h1>\n\
         <p>This server found no <code>index.html</code> in its <code>--dist</code> folder. Build the app with</p>\n\
         <pre>{BUILD_COMMAND}</pre>\n\
         <p>from the repository, then reload this page (or start everything at once with <code>cargo xtask serve</code>).</p>\n\
         <p>The echo endpoint at <code>/ws</code> works already.</p></body></html>\n"
    );
    let mut response = HttpResponse::new(page.into());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
