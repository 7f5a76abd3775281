//! The suite's results as one Markdown table: each row a figure of the
//! backend beside the same figure of one peer, their ratio, the budget and
//! the verdict (rows without a budget are information).

use super::page::{is_app_module, median_draw_p95, median_milestones, PageSize};
use super::rounds::Rounds;
use super::scenarios::{COMPRESSED_SIZE, CONNECTIONS, IN_FLIGHT, OVERLOAD_SIZE, SIZE};
use super::servers::Peer;
use super::stats::median_by;
use crate::page::SideBySide;
use crate::report::{format_count, format_micros, Report};

/// Everything the suite measured.
#[derive(Debug, Default)]
pub struct Results {
    /// Peers beside `websocket` in the standard scenarios, shown as information.
    pub other_peers: Vec<Peer>,
    /// Closed-loop throughput.
    pub throughput: Rounds,
    /// The fixed rate asked for.
    pub rate: f64,
    /// Latency at that rate.
    pub fixed_rate: Rounds,
    /// Handshakes per second.
    pub handshakes: Rounds,
    /// The handshake scenario's workers.
    pub handshake_concurrency: u64,
    /// How the server's CPU was capped in the handshake scenario, if it was.
    pub handshake_cap: Option<String>,
    /// Idle memory.
    pub idle: Rounds,
    /// The overload scenario per connection count.
    pub overload: Vec<(u64, Rounds)>,
    /// How the server's CPU was capped in the overload scenario.
    pub cap: Option<String>,
    /// Compressed echo.
    pub compressed: Rounds,
    /// Idle memory with compression negotiated.
    pub compressed_idle: Rounds,
    /// The page's size.
    pub page: Option<PageSize>,
    /// Whether the page scenario ran (to say "not measured" only then).
    pub page_wanted: bool,
    /// The first echo of the app and of the reference page.
    pub first_echo: Option<SideBySide>,
}

/// One line of the table.
struct Row {
    what: String,
    rust: String,
    peer: String,
    other: String,
    ratio: String,
    budget: String,
    verdict: String,
}

/// A verdict: whether the budget was met, or why it could not be judged.
fn verdict(rust: f64, other: f64, pass: bool) -> String {
    if rust.is_nan() || other.is_nan() {
        "NOT MEASURED".into()
    } else if pass {
        "PASS".into()
    } else {
        "FAIL".into()
    }
}

fn ratio(rust: f64, other: f64) -> String {
    if rust.is_nan() || other.is_nan() || other == 0.0 {
        "-".into()
    } else {
        format!("{:.2}x", rust / other)
    }
}

fn count(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else {
        format_count(value)
    }
}

fn micros(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else {
        format_micros(value)
    }
}

fn kib(value: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else {
        format!("{value:.2}")
    }
}

/// A row comparing the backend with `peer`; `budget` is `None` for information.
fn compare(
    what: impl Into<String>,
    rust: f64,
    peer: Peer,
    other: f64,
    show: fn(f64) -> String,
    budget: Option<(&str, bool)>,
) -> Row {
    let (budget, verdict) = match budget {
        Some((budget, pass)) => (budget.to_owned(), verdict(rust, other, pass)),
        None => ("(information)".to_owned(), String::new()),
    };
    Row {
        what: what.into(),
        rust: show(rust),
        peer: peer.name().into(),
        other: show(other),
        ratio: ratio(rust, other),
        budget,
        verdict,
    }
}

fn messages_per_s(report: &Report) -> f64 {
    match report {
        Report::Throughput { messages_per_s, .. } | Report::Compressed { messages_per_s, .. } => *messages_per_s,
        _ => f64::NAN,
    }
}

/// Picks one figure out of a latency summary.
type Quantile = fn(&crate::report::Latency) -> f64;

fn latency(report: &Report, quantile: Quantile) -> f64 {
    match report {
        Report::Throughput { latency, .. } | Report::FixedRate { latency, .. } | Report::Compressed { latency, .. } => {
            quantile(latency)
        }
        _ => f64::NAN,
    }
}

fn kib_per_connection(report: &Report) -> f64 {
    match report {
        Report::Idle { kib_per_connection, .. } => *kib_per_connection,
        _ => f64::NAN,
    }
}

/// The permessage-deflate agreement of a peer's first measurement, if any.
fn negotiated(rounds: &Rounds, peer: Peer) -> Option<String> {
    rounds.of(peer).iter().find_map(|measured| match &measured.report {
        Report::Compressed { negotiated, .. } | Report::Idle { negotiated, .. } => negotiated.clone(),
        _ => None,
    })
}

impl Results {
    /// The table, with notes under it.
    pub fn table(&self) -> String {
        let mut rows = Vec::new();
        self.throughput_rows(&mut rows);
        self.fixed_rate_rows(&mut rows);
        self.handshake_rows(&mut rows);
        self.idle_rows(&mut rows);
        self.overload_rows(&mut rows);
        self.compressed_rows(&mut rows);
        self.page_rows(&mut rows);

        let mut out = String::from(
            "| scenario | backend (Rust) | compared with | its figure | Rust / it | budget | verdict |\n\
             | --- | ---: | --- | ---: | ---: | --- | --- |\n",
        );
        for row in rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                row.what, row.rust, row.peer, row.other, row.ratio, row.budget, row.verdict
            ));
        }
        out.push_str("\nFigures are medians of the rounds; each round ran every server.");
        if let Some(page) = &self.page {
            out.push_str("\n\nPage files (raw -> gzip -6 bytes):\n");
            for (name, raw, gzipped) in &page.files {
                out.push_str(&format!(
                    "  {name}: {} -> {}\n",
                    format_count(*raw as f64),
                    format_count(*gzipped as f64)
                ));
            }
        }
        if let Some(runs) = &self.first_echo {
            out.push_str("\nFirst echo, medians (ms since navigation start):\n");
            out.push_str(&format!("  app:       {}\n", median_milestones(&runs.app)));
            out.push_str(&format!("  reference: {}\n", median_milestones(&runs.reference)));
        }
        out
    }

    fn throughput_rows(&self, rows: &mut Vec<Row>) {
        if !self.throughput.has(Peer::Rust) {
            return;
        }
        let what = format!("echo throughput, {CONNECTIONS} conn x {IN_FLIGHT} in flight x {SIZE} B (msg/s)");
        let rust = self.throughput.median(Peer::Rust, messages_per_s);
        let node = self.throughput.median(Peer::Websocket, messages_per_s);
        rows.push(compare(&what, rust, Peer::Websocket, node, count, Some((">= 6x Node", rust / node >= 6.0))));
        for &peer in &self.other_peers {
            rows.push(compare(&what, rust, peer, self.throughput.median(peer, messages_per_s), count, None));
        }
        let rust = self.throughput.per_cpu_second(Peer::Rust, messages_per_s);
        for peer in std::iter::once(Peer::Websocket).chain(self.other_peers.iter().copied()) {
            let other = self.throughput.per_cpu_second(peer, messages_per_s);
            rows.push(compare("same, echoes per CPU-second of the server", rust, peer, other, count, None));
        }
    }

    fn fixed_rate_rows(&self, rows: &mut Vec<Row>) {
        if !self.fixed_rate.has(Peer::Rust) {
            return;
        }
        let p99 = |report: &Report| latency(report, |latency| latency.p99_us);
        let what = format!("p99 latency at {} msg/s (half websocket's capacity)", format_count(self.rate));
        let rust = self.fixed_rate.median(Peer::Rust, p99);
        let node = self.fixed_rate.median(Peer::Websocket, p99);
        rows.push(compare(&what, rust, Peer::Websocket, node, micros, Some(("< Node", rust < node))));
        for &peer in &self.other_peers {
            rows.push(compare(&what, rust, peer, self.fixed_rate.median(peer, p99), micros, None));
        }
        let quantiles: [(&str, Quantile); 2] =
            [("p50", |latency| latency.p50_us), ("p99.9", |latency| latency.p999_us)];
        for (label, quantile) in quantiles {
            let value = |report: &Report| latency(report, quantile);
            rows.push(compare(
                format!("{label} latency at the same rate"),
                self.fixed_rate.median(Peer::Rust, value),
                Peer::Websocket,
                self.fixed_rate.median(Peer::Websocket, value),
                micros,
                None,
            ));
        }
    }

    fn handshake_rows(&self, rows: &mut Vec<Row>) {
        if !self.handshakes.has(Peer::Rust) {
            return;
        }
        let per_s = |report: &Report| match report {
            Report::Handshakes { per_s, .. } => *per_s,
            _ => f64::NAN,
        };
        let at = self.handshake_cap.as_deref().map_or_else(String::new, |cap| format!(", server at {cap}"));
        let what = format!("handshakes, open + clean close, {} workers{at} (/s)", self.handshake_concurrency);
        let rust = self.handshakes.median(Peer::Rust, per_s);
        let node = self.handshakes.median(Peer::Websocket, per_s);
        rows.push(compare(&what, rust, Peer::Websocket, node, count, Some((">= 3x Node", rust / node >= 3.0))));
        for &peer in &self.other_peers {
            rows.push(compare(&what, rust, peer, self.handshakes.median(peer, per_s), count, None));
        }
        let rust = self.handshakes.per_cpu_second(Peer::Rust, per_s);
        for peer in std::iter::once(Peer::Websocket).chain(self.other_peers.iter().copied()) {
            let other = self.handshakes.per_cpu_second(peer, per_s);
            rows.push(compare("same, handshakes per CPU-second of the server", rust, peer, other, count, None));
        }
        // Which side set the pace: a server well below 100 % beside a
        // generator near it was measured by the generator's limit.
        let cpu = |peer: Peer| {
            let (server, generator) = self.handshakes.cpu(peer);
            format!("server {server:.0} %, generator {generator:.0} %")
        };
        rows.push(Row {
            what: "same, CPU use (% of one core)".into(),
            rust: cpu(Peer::Rust),
            peer: Peer::Websocket.name().into(),
            other: cpu(Peer::Websocket),
            ratio: "-".into(),
            budget: "(information)".into(),
            verdict: String::new(),
        });
    }

    fn idle_rows(&self, rows: &mut Vec<Row>) {
        if !self.idle.has(Peer::Rust) {
            return;
        }
        let connections = self.idle.of(Peer::Rust).first().map_or(0, |measured| match measured.report {
            Report::Idle { connections, .. } => connections,
            _ => 0,
        });
        let what = format!("memory per idle connection, {connections} open (KiB RSS)");
        let rust = self.idle.median(Peer::Rust, kib_per_connection);
        let node = self.idle.median(Peer::Websocket, kib_per_connection);
        rows.push(compare(
            &what,
            rust,
            Peer::Websocket,
            node,
            kib,
            Some(("<= 4 KB (3.91 KiB)", rust * 1024.0 <= 4_000.0)),
        ));
        for &peer in &self.other_peers {
            rows.push(compare(&what, rust, peer, self.idle.median(peer, kib_per_connection), kib, None));
        }
    }

    fn overload_rows(&self, rows: &mut Vec<Row>) {
        let cap = self.cap.as_deref().unwrap_or("capped");
        for (connections, rounds) in &self.overload {
            if !rounds.has(Peer::Rust) {
                continue;
            }
            let p50 = |report: &Report| latency(report, |latency| latency.p50_us);
            let p99 = |report: &Report| latency(report, |latency| latency.p99_us);
            let max = |report: &Report| latency(report, |latency| latency.max_us);
            let head = format!(
                "overload, {} conn x 1 in flight x {OVERLOAD_SIZE} B, server at {cap}",
                format_count(*connections as f64)
            );
            for peer in std::iter::once(Peer::Websocket).chain(self.other_peers.iter().copied()) {
                let (rust, other) = (rounds.median(Peer::Rust, messages_per_s), rounds.median(peer, messages_per_s));
                rows.push(compare(format!("{head}: echoes/s"), rust, peer, other, count, None));
            }
            let (rust, node) = (rounds.median(Peer::Rust, p50), rounds.median(Peer::Websocket, p50));
            rows.push(compare("same, p50 round trip", rust, Peer::Websocket, node, micros, None));
            let (rust_p99, node_p99) = (rounds.median(Peer::Rust, p99), rounds.median(Peer::Websocket, p99));
            rows.push(compare(
                "same, p99 round trip",
                rust_p99,
                Peer::Websocket,
                node_p99,
                micros,
                Some(("<= Node's p99", rust_p99 <= node_p99)),
            ));
            for &peer in &self.other_peers {
                rows.push(compare("same, p99 round trip", rust_p99, peer, rounds.median(peer, p99), micros, None));
            }
            let (rust_tail, node_tail) = (rust_p99 / rust, node_p99 / node);
            rows.push(Row {
                what: "same, p99 / p50".into(),
                rust: format!("{rust_tail:.1}x"),
                peer: Peer::Websocket.name().into(),
                other: format!("{node_tail:.1}x"),
                ratio: "-".into(),
                budget: "<= 10x (the backend's own)".into(),
                verdict: verdict(rust_tail, 0.0, rust_tail <= 10.0),
            });
            let (rust, node) = (rounds.median(Peer::Rust, max), rounds.median(Peer::Websocket, max));
            rows.push(compare("same, slowest round trip", rust, Peer::Websocket, node, micros, None));
            let spread = |peer: Peer| {
                let (min, p50, max) = (
                    rounds.median(peer, |report| spread_of(report, |spread| spread.min)),
                    rounds.median(peer, |report| spread_of(report, |spread| spread.p50)),
                    rounds.median(peer, |report| spread_of(report, |spread| spread.max)),
                );
                format!("{} / {} / {}", count(min), count(p50), count(max))
            };
            rows.push(Row {
                what: "same, echoes per connection in the window, min / median / max".into(),
                rust: spread(Peer::Rust),
                peer: Peer::Websocket.name().into(),
                other: spread(Peer::Websocket),
                ratio: "-".into(),
                budget: "(information)".into(),
                verdict: String::new(),
            });
        }
    }

    fn compressed_rows(&self, rows: &mut Vec<Row>) {
        if self.compressed.has(Peer::Rust) {
            let rust_agreed = negotiated(&self.compressed, Peer::Rust);
            let ws_agreed = negotiated(&self.compressed, Peer::WsDeflate);
            let what = format!(
                "compressed echo, {CONNECTIONS} conn x {IN_FLIGHT} in flight x {COMPRESSED_SIZE} B JSON-like, permessage-deflate \
                 (no context takeover), echoes per CPU-second of the server"
            );
            let rust = self.compressed.per_cpu_second(Peer::Rust, messages_per_s);
            let ws = self.compressed.per_cpu_second(Peer::WsDeflate, messages_per_s);
            let mut row =
                compare(&what, rust, Peer::WsDeflate, ws, count, Some((">= 2x ws, both compressed", rust / ws >= 2.0)));
            if rust_agreed.is_none() {
                row.rust = format!("not negotiated ({} uncompressed)", count(rust));
                row.ratio = "-".into();
                row.verdict = "NOT NEGOTIATED".into();
            } else if ws_agreed.is_none() && self.compressed.has(Peer::WsDeflate) {
                row.verdict = "NOT NEGOTIATED (ws)".into();
            }
            rows.push(row);
            let (rust, ws) = (
                self.compressed.median(Peer::Rust, messages_per_s),
                self.compressed.median(Peer::WsDeflate, messages_per_s),
            );
            rows.push(compare("same, echoes/s (wall clock)", rust, Peer::WsDeflate, ws, count, None));
            let wire = |peer: Peer| {
                let sent = self.compressed.median(peer, |report| match report {
                    Report::Compressed { sent_payload_bytes, .. } => *sent_payload_bytes,
                    _ => f64::NAN,
                });
                let echoed = self.compressed.median(peer, |report| match report {
                    Report::Compressed { echo_payload_bytes, .. } => *echo_payload_bytes,
                    _ => f64::NAN,
                });
                let (compressed, mismatched) =
                    self.compressed.of(peer).iter().fold((0, 0), |(c, m), measured| match measured.report {
                        Report::Compressed { compressed_echoes, mismatched, .. } => {
                            (c + compressed_echoes, m + mismatched)
                        }
                        _ => (c, m),
                    });
                format!("{sent:.0} / {echoed:.0} B; {compressed} echoes with RSV1, {mismatched} wrong")
            };
            rows.push(Row {
                what: "same, payload bytes per message sent / echoed; echoes compressed, echoes wrong".into(),
                rust: wire(Peer::Rust),
                peer: Peer::WsDeflate.name().into(),
                other: wire(Peer::WsDeflate),
                ratio: "-".into(),
                budget: "(information)".into(),
                verdict: String::new(),
            });
        }
        if self.compressed_idle.has(Peer::Rust) {
            let connections = self.compressed_idle.of(Peer::Rust).first().map_or(0, |measured| match measured.report {
                Report::Idle { connections, .. } => connections,
                _ => 0,
            });
            let what =
                format!("memory per idle connection with permessage-deflate negotiated, {connections} open (KiB RSS)");
            let rust = self.compressed_idle.median(Peer::Rust, kib_per_connection);
            let ws = self.compressed_idle.median(Peer::WsDeflate, kib_per_connection);
            let mut row =
                compare(&what, rust, Peer::WsDeflate, ws, kib, Some(("<= 4 KB (3.91 KiB)", rust * 1024.0 <= 4_000.0)));
            if negotiated(&self.compressed_idle, Peer::Rust).is_none() {
                row.rust = format!("not negotiated ({} without)", kib(rust));
                row.verdict = "NOT NEGOTIATED".into();
            }
            rows.push(row);
        }
    }

    fn page_rows(&self, rows: &mut Vec<Row>) {
        if let Some(page) = &self.page {
            let at_start = page.files.iter().filter(|(name, ..)| !is_app_module(name)).count();
            rows.push(Row {
                what: format!("page at start: the HTML, the CSS and the first stage, gzip -6 ({at_start} files)"),
                rust: format!("{} bytes", format_count(page.at_start as f64)),
                peer: "-".into(),
                other: "-".into(),
                ratio: "-".into(),
                budget: "<= 150 KB (150,000 bytes)".into(),
                verdict: verdict(0.0, 0.0, page.at_start <= 150_000),
            });
            rows.push(Row {
                what: "the app's JS and wasm, fetched when the first stage asks for the app, gzip -6".into(),
                rust: format!(
                    "{} bytes ({} with the above)",
                    format_count(page.app as f64),
                    format_count((page.at_start + page.app) as f64)
                ),
                peer: "-".into(),
                other: "-".into(),
                ratio: "-".into(),
                budget: "(information)".into(),
                verdict: String::new(),
            });
        }
        if !self.page_wanted {
            return;
        }
        let (app, reference) = match &self.first_echo {
            Some(runs) => (median_by(&runs.app, |t| t.first_echo), median_by(&runs.reference, |t| t.first_echo)),
            None => (f64::NAN, f64::NAN),
        };
        let ms = |value: f64| if value.is_nan() { "not measured".to_owned() } else { format!("{value:.0} ms") };
        rows.push(Row {
            what: "first echo shown after navigation, headless Chromium, loopback".into(),
            rust: ms(app),
            peer: "-".into(),
            other: "-".into(),
            ratio: "-".into(),
            budget: "<= 300 ms".into(),
            verdict: verdict(app, 0.0, app <= 300.0),
        });
        let runs = self.first_echo.as_ref().map_or(0, |runs| runs.app.len());
        rows.push(Row {
            what: format!(
                "first echo, the app beside the plain reference page (same backend, alternating, {runs} each)"
            ),
            rust: ms(app),
            peer: "reference page".into(),
            other: ms(reference),
            ratio: ratio(app, reference),
            budget: "<= 1.5x the plain page".into(),
            verdict: verdict(app, reference, app <= 1.5 * reference),
        });
        let drawn = self.first_echo.as_ref().map_or(f64::NAN, |runs| median_draw_p95(&runs.app));
        rows.push(Row {
            what: format!(
                "socket event to the frame that draws it, p95 in the page (first echo, then a burst of {} echoes)",
                crate::page::BURST
            ),
            rust: if drawn.is_nan() { "not measured".to_owned() } else { format!("{drawn:.1} ms") },
            peer: "-".into(),
            other: "-".into(),
            ratio: "-".into(),
            budget: format!("<= one frame ({:.1} ms)", crate::page::FRAME_MS),
            verdict: verdict(drawn, 0.0, drawn <= crate::page::FRAME_MS),
        });
    }
}

fn spread_of(report: &Report, field: fn(&crate::report::Spread) -> u64) -> f64 {
    match report {
        Report::Throughput { per_connection: Some(spread), .. } => field(spread) as f64,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_words() {
        assert_eq!(verdict(1.0, 2.0, true), "PASS");
        assert_eq!(verdict(1.0, 2.0, false), "FAIL");
        assert_eq!(verdict(f64::NAN, 2.0, true), "NOT MEASURED");
        assert_eq!(ratio(3.0, 2.0), "1.50x");
        assert_eq!(ratio(3.0, f64::NAN), "-");
    }

    #[test]
    fn an_empty_run_says_what_was_not_measured() {
        let results = Results { page_wanted: true, ..Results::default() };
        let table = results.table();
        assert!(table.contains("| first echo shown after navigation, headless Chromium, loopback | not measured |"));
        assert!(table.contains("NOT MEASURED"));
    }
}
