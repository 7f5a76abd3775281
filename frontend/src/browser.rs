//! The few browser services the page uses besides the socket: clocks, storage,
//! the clipboard and file downloads. Each is a small function over web-sys so
//! that the rest of the app stays plain Rust.

use wasm_bindgen::{JsCast, JsValue};

use crate::event_log::clock_time;
use crate::settings::{Stored, STORAGE_KEY};

/// The local wall-clock time to the millisecond, and the monotonic
/// `performance.now()` that round trips are measured with.
pub fn now() -> (String, f64) {
    let date = js_sys::Date::new_0();
    (clock_time(date.get_time(), date.get_timezone_offset()), monotonic_ms())
}

/// `performance.now()`, in milliseconds.
pub fn monotonic_ms() -> f64 {
    gloo::utils::window().performance().map_or_else(js_sys::Date::now, |performance| performance.now())
}

/// A seed for the back-off's jitter.
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

fn storage() -> Option<web_sys::Storage> {
    gloo::utils::window().local_storage().ok().flatten()
}

/// What was stored by an earlier visit; defaults when storage is empty, blocked
/// or damaged.
pub fn load_stored() -> Stored {
    let text = storage().and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten()).unwrap_or_default();
    Stored::from_json(&text)
}

/// Stores the settings and history; a full or blocked storage is ignored, as
/// the page works the same without it.
pub fn save_stored(stored: &Stored) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(STORAGE_KEY, &stored.to_json());
    }
}

/// Puts `text` on the clipboard. The promise's outcome is not awaited: the
/// browser may still refuse (no permission, no focus), and nothing depends on it.
pub fn copy_text(text: &str) -> Result<(), String> {
    // `navigator.clipboard` exists only in secure contexts (https, localhost);
    // calling through a missing one would throw inside the wasm.
    let navigator = gloo::utils::window().navigator();
    let clipboard = js_sys::Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .ok()
        .filter(|clipboard| !clipboard.is_undefined() && !clipboard.is_null())
        .ok_or("the clipboard is only available to https pages (and localhost)")?;
    let _ = wasm_bindgen::JsCast::unchecked_into::<web_sys::Clipboard>(clipboard).write_text(text);
    Ok(())
}

/// Offers `text` as a file download called `name`.
pub fn download(name: &str, text: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(describe_js_error)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe_js_error)?;
    let document = gloo::utils::document();
    let anchor: web_sys::HtmlAnchorElement =
        wasm_bindgen::JsCast::unchecked_into(document.create_element("a").map_err(describe_js_error)?);
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The click has started the download, which keeps its own reference.
    web_sys::Url::revoke_object_url(&url).map_err(describe_js_error)
}

/// The browser's words for an exception, e.g. `SyntaxError: The URL's scheme must be …`.
/// (Not `{:?}`: JsValue's Debug pulls in the glue's whole value printer.)
pub fn describe_js_error(error: JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", error.name(), error.message()),
        None => error.as_string().unwrap_or_else(|| "the browser refused without saying why".to_owned()),
    }
}
