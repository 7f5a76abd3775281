//! How long socket events wait to be drawn: from each event's arrival
//! (stamped in its listener) to the start of the frame that paints it. The
//! latest delays' 95th percentile and their count are published on the page's
//! root element (`data-draw-p95`, `data-draw-count`) for the benchmark to read.
//! The app's batcher reports here, and so do the delays the page's first
//! stage (boot/) measured before the app took over.

use std::cell::RefCell;

use crate::browser::borrowed::sorted;
use crate::model::stats::{percentile, Recent};
use crate::util::format::fixed;

thread_local! {
    /// Every tab's event-to-draw delays, for the whole page.
    static DRAW_DELAYS: RefCell<Recent> = RefCell::default();
}

/// Adds the delays of events that arrived at `arrivals` (`performance.now()`)
/// and are drawn in the frame starting at `now`, and publishes the page's figures.
pub fn record(now: f64, arrivals: &[f64]) {
    add(arrivals.iter().map(|arrived| now - arrived));
}

/// Adds delays measured elsewhere (ms), and publishes the page's figures.
pub fn add(delays: impl ExactSizeIterator<Item = f64>) {
    if delays.len() == 0 {
        return;
    }
    let measured = delays;
    let (p95, count) = DRAW_DELAYS.with(|delays| {
        let mut delays = delays.borrow_mut();
        for delay in measured {
            delays.push(delay);
        }
        (percentile(&sorted(delays.samples()), 95.0).unwrap_or_default(), delays.count())
    });
    if let Some(root) = gloo::utils::document().document_element() {
        let _ = root.set_attribute("data-draw-p95", &fixed(p95, 1));
        let _ = root.set_attribute("data-draw-count", &count.to_string());
    }
}
