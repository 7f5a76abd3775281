//! Time to first echo in headless Chromium: the app, and beside it in the same
//! run the plain reference page (`reference.rs`), alternating between the two.
//!
//! Each run is a fresh browser profile (cold cache). A script the browser runs
//! at the start of the page's document (injected through the DevTools
//! protocol before the navigation) does what a person would, as fast as the
//! page allows: wait for the Connect button, click it the moment it is in
//! the DOM, wait for the `open` entry and an enabled Send, type a message,
//! click Send, and wait for the echo (on both pages alike). On the app the
//! echo it waits for is the paired one (with its round trip), not the
//! handshake report the app asks for first. Driving the page from inside
//! means no WebDriver round trip stands between a step and the next, for
//! either page. Times are `performance.now()`, i.e. milliseconds since the
//! navigation started, taken by a MutationObserver as each step's result
//! enters the DOM; WebDriver leaves the page alone while it runs (navigation
//! returns at once) and collects the times after a quiet pause (`webdriver.rs`).
//! After its first echo the app also
//! sends a burst of [`BURST`] messages and reports how long its socket events
//! waited to be drawn, as the page measures that itself.

mod reference;
mod webdriver;

use serde::Deserialize;
use serde_json::json;

pub use reference::ReferencePage;
pub use webdriver::Driver;

/// Which page a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The web app, served by the backend.
    App,
    /// The plain reference page, served by the suite.
    Reference,
}

impl Page {
    fn script_arg(self) -> &'static str {
        match self {
            Page::App => "app",
            Page::Reference => "reference",
        }
    }
}

/// Milliseconds since navigation start at each step of one run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FirstEcho {
    /// The HTML's last byte arrived.
    pub response_end: f64,
    /// The `load` event finished (scripts and styles fetched).
    pub load: f64,
    /// The Connect button was rendered (or already there when the script ran).
    pub app_ready: f64,
    /// The `open` entry was shown.
    pub open: f64,
    /// The echoed message's entry was in the DOM.
    pub first_echo: f64,
    /// Every `performance.mark` the page made, in time order: the reference
    /// page marks each step; the app has none yet.
    #[serde(default)]
    pub marks: Vec<(String, f64)>,
    /// The app only, after its first echo and a burst of [`BURST`] more: the
    /// 95th percentile of how long its socket events waited to be drawn (ms
    /// from the event's arrival to the start of the frame that paints it), as
    /// the page measures it (`data-draw-p95` on its root element).
    #[serde(default)]
    pub draw_p95: Option<f64>,
    /// How many socket events that percentile covers (`data-draw-count`).
    #[serde(default)]
    pub draw_events: Option<u64>,
}

/// Echoes of the burst after the app's first echo, over which the time to
/// draw each socket event is measured.
pub const BURST: u32 = 200;

/// One animation frame at 60 Hz, the budget for drawing a socket event.
pub const FRAME_MS: f64 = 1000.0 / 60.0;

/// The script each document runs at its start; `PAGE` is replaced by
/// `"app"` or `"reference"`. Its outcome waits in `window.__firstEcho`.
const AT_START: &str = r#"
(() => {
const page = PAGE;
const button = (name) => Array.from(document.querySelectorAll('button')).find((b) => b.textContent.trim() === name);
const entries = (kind) => document.querySelectorAll(`[role=log] > li[data-kind="${kind}"]`).length;
// Mutation observers run right after the DOM changes, so a step is timed when
// its result is in the document, not at the next poll.
const waitFor = (check) => new Promise((resolve) => {
  const found = check();
  if (found) { resolve(found); return; }
  const observer = new MutationObserver(() => {
    const found = check();
    if (found) { observer.disconnect(); resolve(found); }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
});
window.__firstEcho = (async () => {
  const t = {};
  const connect = await waitFor(() => button('Connect'));
  t.app_ready = performance.now();
  connect.click();
  // Both pages alike: once `open` is drawn and Send is enabled, type a
  // message, let the page take it in, click Send, and wait for its echo.
  await waitFor(() => entries('open') > 0 && button('Send') && !button('Send').disabled);
  t.open = performance.now();
  const input = document.getElementById('message');
  input.value = 'hello';
  input.dispatchEvent(new InputEvent('input', { bubbles: true }));
  await new Promise((resolve) => setTimeout(resolve, 0));
  button('Send').click();
  if (page === 'app') {
    // The echo, not the handshake report the page asks for by default (a
    // message too, but marked as a server report rather than with a round trip).
    await waitFor(() => document.querySelector('[role=log] > li[data-kind="message"] .link[data-link="RTT"]'));
  } else {
    await waitFor(() => entries('message') > 0);
  }
  t.first_echo = performance.now();
  if (page === 'app') {
    // Then a burst of echoes, and how long the page took to draw each socket
    // event, as it measures that itself (untimed here). The burst's fields
    // are the app's: the page's first stage, which handled the first echo,
    // asks for the app once nothing is awaited.
    await waitFor(() => document.getElementById('burst-count'));
    for (const [id, value] of [['burst-count', 'BURST'], ['burst-size', '16']]) {
      const field = document.getElementById(id);
      field.value = value;
      field.dispatchEvent(new InputEvent('input', { bubbles: true }));
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    button('Burst').click();
    await waitFor(() => document.querySelector('.burst-status[data-finished=true]'));
    // The last echo is drawn by the next frame at the latest.
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    t.draw_p95 = Number(document.documentElement.dataset.drawP95);
    t.draw_events = Number(document.documentElement.dataset.drawCount);
  }
  return { ok: true, timings: t };
})().catch((error) => ({ ok: false, error: String(error) }));
})();
"#;

/// The script WebDriver runs once the page has loaded: it waits for the
/// outcome and adds the navigation's own times and the page's marks.
const COLLECT: &str = r#"
const done = arguments[arguments.length - 1];
if (!window.__firstEcho) {
  done({ ok: false, error: 'the start-of-document script did not run' });
} else {
  window.__firstEcho.then((outcome) => {
    if (outcome.ok) {
      const nav = performance.getEntriesByType('navigation')[0];
      outcome.timings.response_end = nav.responseEnd;
      outcome.timings.load = nav.loadEventEnd;
      outcome.timings.marks = performance.getEntriesByType('mark').map((mark) => [mark.name, mark.startTime]);
    }
    done(outcome);
  });
}
"#;

/// One cold load of `url` as `page`, timed.
pub fn measure_once(driver: &Driver, url: &str, page: Page) -> Result<FirstEcho, String> {
    let at_start =
        AT_START.replace("PAGE", &json!(page.script_arg()).to_string()).replace("'BURST'", &format!("'{BURST}'"));
    let answer = driver.run_once(url, &at_start, COLLECT, json!([]))?;
    if answer["ok"] != json!(true) {
        return Err(format!("the page script failed: {}", answer["error"]));
    }
    serde_json::from_value(answer["timings"].clone()).map_err(|err| format!("unexpected timings {answer}: {err}"))
}

/// Both pages' runs, in the order they ran.
#[derive(Debug, Default)]
pub struct SideBySide {
    /// The app's runs.
    pub app: Vec<FirstEcho>,
    /// The reference page's runs.
    pub reference: Vec<FirstEcho>,
}

/// Measures `runs` cold loads of each page, alternating which goes first in
/// each pair so slow drift on the machine weighs on both alike; `report` is
/// told of each run as it finishes.
pub fn measure_side_by_side(
    app_url: &str,
    reference_url: &str,
    runs: u32,
    mut report: impl FnMut(u32, Page, &FirstEcho),
) -> Result<SideBySide, String> {
    let driver = Driver::start()?;
    let mut results = SideBySide::default();
    for run in 0..runs {
        let order = if run % 2 == 0 { [Page::App, Page::Reference] } else { [Page::Reference, Page::App] };
        for page in order {
            let (url, into) = match page {
                Page::App => (app_url, &mut results.app),
                Page::Reference => (reference_url, &mut results.reference),
            };
            let timings = measure_once(&driver, url, page)?;
            report(run + 1, page, &timings);
            into.push(timings);
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_parse_with_and_without_marks() {
        let app = json!({ "response_end": 9.5, "load": 70.0, "app_ready": 120.0, "open": 150.0, "first_echo": 180.0 });
        let app: FirstEcho = serde_json::from_value(app).unwrap();
        assert!(app.marks.is_empty());
        assert_eq!((app.draw_p95, app.draw_events), (None, None));
        let drawn = json!({ "response_end": 1.0, "load": 2.0, "app_ready": 3.0, "open": 4.0, "first_echo": 5.0,
                            "draw_p95": 12.5, "draw_events": 203 });
        let drawn: FirstEcho = serde_json::from_value(drawn).unwrap();
        assert_eq!((drawn.draw_p95, drawn.draw_events), (Some(12.5), Some(203)));
        let reference = json!({
            "response_end": 5.0, "load": 8.0, "app_ready": 9.0, "open": 20.0, "first_echo": 22.0,
            "marks": [["click", 9.5], ["open", 19.0]],
        });
        let reference: FirstEcho = serde_json::from_value(reference).unwrap();
        assert_eq!(reference.marks, [("click".to_owned(), 9.5), ("open".to_owned(), 19.0)]);
    }
}
