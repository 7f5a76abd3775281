//! The browser, through web-sys and gloo, kept thin: each module wraps one
//! service (clocks, storage, the clipboard, downloads, fetch, the page's
//! location, what the browser computes for the model) or owns one
//! long-lived browser object with its listeners (a [`connection::Connection`],
//! a [`comparison_runner::Run`]). It may use `util` and `model`, never `ui`
//! or Yew: what a module tells its owner goes through plain callbacks.

pub mod borrowed;
pub mod clipboard;
pub mod clock;
pub mod comparison_runner;
pub mod connection;
pub mod draw_delays;
pub mod fetch;
pub mod files;
pub mod first_stage;
pub mod location;
pub mod storage;

use std::rc::{Rc, Weak};

use wasm_bindgen::{JsCast, JsValue};

/// The browser's words for an exception, e.g. `SyntaxError: The URL's scheme must be …`.
/// (Not `{:?}`: JsValue's Debug pulls in the glue's whole value printer.)
pub fn describe_js_error(error: JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", error.name(), error.message()),
        None => error.as_string().unwrap_or_else(|| "the browser refused without saying why".to_owned()),
    }
}

/// Runs `action` on the object behind `this` if it still exists: listeners
/// and timers hold their owner weakly, so that they never keep it alive.
fn with<T>(this: &Weak<T>, action: impl FnOnce(&Rc<T>)) {
    if let Some(this) = this.upgrade() {
        action(&this);
    }
}
