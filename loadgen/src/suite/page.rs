//! The page scenario: the gzipped size of what the web app loads at start,
//! and its first echo in headless Chromium beside the plain reference page,
//! both against the same backend in the same run.

use std::path::Path;

use super::servers::{Launcher, Peer};
use super::stats::median_by;
use crate::page::{self, FirstEcho, Page, ReferencePage, SideBySide};

/// The web app's files and their sizes.
#[derive(Debug)]
pub struct PageSize {
    /// (file name, raw bytes, gzipped bytes), sorted by name.
    pub files: Vec<(String, u64, u64)>,
    /// What loads at start, gzipped, added up: the HTML, the CSS and the
    /// first stage's JS and wasm.
    pub at_start: u64,
    /// The app's JS and wasm, gzipped, added up: fetched once the first stage
    /// asks for the app (when nobody is waiting on its socket).
    pub app: u64,
}

/// Whether `name` is the app's module (trunk names it `frontend-<hash>`),
/// which the page fetches when its first stage asks, not at start.
pub fn is_app_module(name: &str) -> bool {
    name.starts_with("frontend-")
}

/// Gzips the page's files in `dist` (`index.html` and every JS, wasm and CSS
/// file; not `lab.html` or `explain.html`, fetched when first opened) at level
/// 6, gzip's default and a common server setting, and adds up the sizes of
/// what loads at start and of the app's module, fetched later.
pub fn page_size(dist: &Path) -> Result<PageSize, String> {
    let entries = std::fs::read_dir(dist).map_err(|err| format!("cannot read {}: {err}", dist.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|err| err.to_string())?.path();
        let counts = matches!(path.extension().and_then(|ext| ext.to_str()), Some("js" | "wasm" | "css"))
            || path.file_name().is_some_and(|name| name == "index.html");
        if !counts || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        files.push((name, bytes.len() as u64, gzip_len(&bytes)));
    }
    if files.is_empty() {
        return Err(format!("no HTML, JS, wasm or CSS in {}", dist.display()));
    }
    files.sort();
    let sum =
        |app: bool| files.iter().filter(|(name, ..)| is_app_module(name) == app).map(|(_, _, gzipped)| gzipped).sum();
    Ok(PageSize { at_start: sum(false), app: sum(true), files })
}

/// Bytes of `data` after gzip at level 6.
pub fn gzip_len(data: &[u8]) -> u64 {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(data).expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail").len() as u64
}

/// Times the first echo of the app (served by the backend from dist/) and of
/// the reference page (served here, connecting to the same backend), `runs`
/// cold loads each, alternating; `None` (with the reason printed) when it
/// cannot be measured here.
pub fn first_echo(launcher: &Launcher, runs: u32) -> Option<SideBySide> {
    let mut server = match launcher.start(Peer::Rust, None) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("suite: first echo not measured: {err}");
            return None;
        }
    };
    let reference = match ReferencePage::serve(&server.ws_url()) {
        Ok(reference) => reference,
        Err(err) => {
            eprintln!("suite: first echo not measured: {err}");
            return None;
        }
    };
    let app_url = format!("http://{}/", server.addr);
    println!(
        "  chromedriver + headless Chromium: the app at {app_url} and the reference page at {} ({runs} cold loads each, alternating)",
        reference.url()
    );
    let outcome = page::measure_side_by_side(&app_url, &reference.url(), runs.max(1), |run, page, timings| {
        println!("  run {run} {:<9} {}", label(page), milestones(timings));
    });
    server.stop();
    match outcome {
        Ok(side_by_side) => Some(side_by_side),
        Err(err) => {
            eprintln!("suite: first echo not measured: {err}");
            None
        }
    }
}

fn label(page: Page) -> &'static str {
    match page {
        Page::App => "app",
        Page::Reference => "reference",
    }
}

/// One run's milestones on one line: the steps both pages share, then the
/// page's own performance marks.
pub fn milestones(timings: &FirstEcho) -> String {
    let mut line = format!(
        "HTML {:.0} ms, load {:.0} ms, Connect rendered {:.0} ms, open shown {:.0} ms, echo shown {:.0} ms",
        timings.response_end, timings.load, timings.app_ready, timings.open, timings.first_echo
    );
    if let (Some(p95), Some(events)) = (timings.draw_p95, timings.draw_events) {
        line.push_str(&format!("; then a burst: event drawn p95 {p95:.1} ms ({events} events)"));
    }
    if !timings.marks.is_empty() {
        let marks: Vec<String> = timings.marks.iter().map(|(name, at)| format!("{name} {at:.0}")).collect();
        line.push_str(&format!(" [marks: {}]", marks.join(", ")));
    }
    line
}

/// Median milestones over runs, for the summary under the table.
pub fn median_milestones(runs: &[FirstEcho]) -> String {
    let median = |value: fn(&FirstEcho) -> f64| median_by(runs, value);
    let mut line = format!(
        "HTML {:.0} ms, load {:.0} ms, Connect rendered {:.0} ms, open shown {:.0} ms, echo shown {:.0} ms",
        median(|t| t.response_end),
        median(|t| t.load),
        median(|t| t.app_ready),
        median(|t| t.open),
        median(|t| t.first_echo)
    );
    if runs.iter().any(|t| t.draw_p95.is_some()) {
        line.push_str(&format!("; event drawn p95 {:.1} ms", median_draw_p95(runs)));
    }
    // Marks by name, in the order the first run made them.
    if let Some(first) = runs.first() {
        let marks: Vec<String> = first
            .marks
            .iter()
            .map(|(name, _)| {
                let at = median_by(runs, |t| {
                    t.marks.iter().find(|(other, _)| other == name).map_or(f64::NAN, |(_, at)| *at)
                });
                format!("{name} {at:.0}")
            })
            .collect();
        if !marks.is_empty() {
            line.push_str(&format!(" [marks: {}]", marks.join(", ")));
        }
    }
    line
}

/// The median over runs of the page's own 95th percentile of the time from a
/// socket event's arrival to the frame that draws it; NaN when no run has one.
pub fn median_draw_p95(runs: &[FirstEcho]) -> f64 {
    let measured: Vec<FirstEcho> = runs.iter().filter(|t| t.draw_p95.is_some()).cloned().collect();
    median_by(&measured, |t| t.draw_p95.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_shrinks_repetitive_data() {
        let data = vec![b'a'; 100_000];
        let len = gzip_len(&data);
        assert!(len > 18 && len < 1_000, "{len}");
    }

    #[test]
    fn milestones_read_in_order() {
        let run = |echo: f64| FirstEcho {
            response_end: 5.0,
            load: 10.0,
            app_ready: 11.0,
            open: 20.0,
            first_echo: echo,
            marks: vec![("click".into(), 12.0), ("open".into(), echo - 3.0)],
            draw_p95: None,
            draw_events: None,
        };
        let line = median_milestones(&[run(30.0), run(40.0), run(50.0)]);
        assert!(line.ends_with("echo shown 40 ms [marks: click 12, open 37]"), "{line}");
    }

    #[test]
    fn draw_delays_are_the_median_of_the_runs_that_measured_them() {
        let run = |p95: Option<f64>| FirstEcho {
            response_end: 1.0,
            load: 2.0,
            app_ready: 3.0,
            open: 4.0,
            first_echo: 5.0,
            marks: Vec::new(),
            draw_p95: p95,
            draw_events: p95.map(|_| 203),
        };
        assert_eq!(median_draw_p95(&[run(Some(9.0)), run(None), run(Some(20.0)), run(Some(12.0))]), 12.0);
        assert!(median_draw_p95(&[run(None)]).is_nan());
        assert!(milestones(&run(Some(9.0))).contains("event drawn p95 9.0 ms (203 events)"));
    }
}
