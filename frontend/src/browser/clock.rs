//! The page's clocks: wall-clock time for the log, `performance.now()` for
//! round trips, and a random seed.

use crate::util::format::clock_time;

/// The local wall-clock time to the millisecond, and the monotonic
/// `performance.now()` that round trips are measured with.
pub fn now() -> (String, f64) {
    let date = js_sys::Date::new_0();
    (clock_time(date.get_time(), date.get_timezone_offset()), monotonic_ms())
}

/// The local wall-clock time to the millisecond of `epoch_ms` (a `Date.now()`).
pub fn at(epoch_ms: f64) -> String {
    let date = js_sys::Date::new(&epoch_ms.into());
    clock_time(epoch_ms, date.get_timezone_offset())
}

/// `performance.now()`, in milliseconds.
pub fn monotonic_ms() -> f64 {
    gloo::utils::window().performance().map_or_else(js_sys::Date::now, |performance| performance.now())
}

/// A seed for the back-off's jitter, or anything else that needs to differ
/// between pages.
pub fn random_seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}
