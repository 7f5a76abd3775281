//! What each scenario reports: printed for people, and as one JSON line
//! (`RESULT {...}`) that the suite reads back from the scenario's process.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Prefix of the machine-readable line every scenario prints last.
pub const RESULT_PREFIX: &str = "RESULT ";

/// Prefix of the line with the generator's own CPU use, in percent of its core.
pub const GENERATOR_CPU_PREFIX: &str = "generator CPU % of one core: ";

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Replies measured.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Slowest reply.
    pub max_us: f64,
}

impl Latency {
    /// Summarises a histogram of nanoseconds.
    pub fn from_nanos(histogram: &Histogram<u64>) -> Latency {
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        Latency {
            count: histogram.len(),
            p50_us: us(histogram.value_at_quantile(0.50)),
            p99_us: us(histogram.value_at_quantile(0.99)),
            p999_us: us(histogram.value_at_quantile(0.999)),
            max_us: us(histogram.max()),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {}  p99 {}  p99.9 {}  max {}  ({} replies)",
            format_micros(self.p50_us),
            format_micros(self.p99_us),
            format_micros(self.p999_us),
            format_micros(self.max_us),
            self.count
        )
    }
}

/// How evenly something was shared out over connections: echoes each got in
/// the measured window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Connections counted.
    pub connections: u64,
    /// The fewest echoes one connection got.
    pub min: u64,
    /// The median connection's echoes.
    pub p50: u64,
    /// The most echoes one connection got.
    pub max: u64,
    /// Connections that got no echo at all in the window.
    pub starved: u64,
}

impl Spread {
    /// The spread of `counts` (reordered); `None` when there are none.
    pub fn of(counts: &mut [u64]) -> Option<Spread> {
        counts.sort_unstable();
        Some(Spread {
            connections: counts.len() as u64,
            min: *counts.first()?,
            p50: counts[counts.len() / 2],
            max: *counts.last()?,
            starved: counts.iter().take_while(|count| **count == 0).count() as u64,
        })
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "echoes per connection min {} / median {} / max {}, {} of {} got none",
            self.min, self.p50, self.max, self.starved, self.connections
        )
    }
}

/// One scenario's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Report {
    /// Closed loop: echoes per second, and the round trip under that load.
    Throughput {
        /// Echoes received per second of the measured window.
        messages_per_s: f64,
        /// Send-to-echo time; closed-loop, so it understates queueing (see `fixed-rate`).
        latency: Latency,
        /// Connections that failed.
        errors: u64,
        /// How the echoes were shared out over the connections.
        #[serde(default)]
        per_connection: Option<Spread>,
        /// Messages sent in the window that had no echo when the wait after it ended.
        #[serde(default)]
        unanswered: u64,
    },
    /// Closed loop with permessage-deflate offered: echoes per second of
    /// compressible (JSON-like) messages, and what compression did on the wire.
    Compressed {
        /// Echoes received per second of the measured window.
        messages_per_s: f64,
        /// Send-to-echo time, closed loop.
        latency: Latency,
        /// Connections that failed.
        errors: u64,
        /// The server's permessage-deflate answer; `None` when it declined the
        /// offer (the messages then went uncompressed).
        negotiated: Option<String>,
        /// Echoes received in the window.
        echoes: u64,
        /// Of those, echoes the server sent compressed (RSV1 set).
        compressed_echoes: u64,
        /// Echoes whose bytes differed from the message sent.
        mismatched: u64,
        /// Bytes of each message before compression.
        message_bytes: u64,
        /// Mean frame payload bytes of a message sent.
        sent_payload_bytes: f64,
        /// Mean frame payload bytes of an echo received.
        echo_payload_bytes: f64,
    },
    /// Open loop at a fixed rate, latency from each message's scheduled send time.
    FixedRate {
        /// The rate asked for.
        target_per_s: f64,
        /// Messages actually sent per second.
        sent_per_s: f64,
        /// Scheduled-send-to-echo time.
        latency: Latency,
        /// How late the generator sent each message against its schedule
        /// (1 µs is the floor); large values mean the generator was overloaded.
        send_lag: Latency,
        /// Messages sent in the measured window with no echo by the end.
        missing: u64,
        /// Connections that failed.
        errors: u64,
    },
    /// Open and close handshakes per second.
    Handshakes {
        /// Complete open + close cycles per second.
        per_s: f64,
        /// Time from connect to the 101 response.
        open_latency: Latency,
        /// Cycles that failed.
        errors: u64,
    },
    /// Server memory for idle connections.
    Idle {
        /// Connections held open when the memory was read.
        connections: u64,
        /// Server VmRSS before any connection, in KiB.
        rss_before_kib: u64,
        /// Server VmRSS with every connection open and settled, in KiB.
        rss_after_kib: u64,
        /// (after - before) / connections, in KiB.
        kib_per_connection: f64,
        /// Connections that failed to open.
        errors: u64,
        /// The server's permessage-deflate answer when it was offered and
        /// accepted; `None` when it was not offered or was declined.
        #[serde(default)]
        negotiated: Option<String>,
    },
}

impl Report {
    /// The machine-readable line for the suite.
    pub fn result_line(&self) -> String {
        format!("{RESULT_PREFIX}{}", serde_json::to_string(self).expect("reports serialise"))
    }

    /// Finds and parses the result line in a scenario's output.
    pub fn from_output(stdout: &str) -> Option<Report> {
        stdout.lines().rev().find_map(|line| serde_json::from_str(line.strip_prefix(RESULT_PREFIX)?).ok())
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Throughput { messages_per_s, latency, errors, per_connection, unanswered } => {
                writeln!(f, "throughput: {} msg/s", format_count(*messages_per_s))?;
                writeln!(f, "round trip (closed loop, messages sent in the window): {latency}")?;
                if let Some(spread) = per_connection {
                    writeln!(f, "{spread}")?;
                }
                write!(f, "unanswered: {unanswered}, failed connections: {errors}")
            }
            Report::Compressed {
                messages_per_s,
                latency,
                errors,
                negotiated,
                echoes,
                compressed_echoes,
                mismatched,
                message_bytes,
                sent_payload_bytes,
                echo_payload_bytes,
            } => {
                match negotiated {
                    Some(agreed) => writeln!(f, "negotiated: {agreed}")?,
                    None => writeln!(f, "permessage-deflate not negotiated: the server declined the offer")?,
                }
                writeln!(f, "throughput: {} msg/s of {message_bytes} bytes", format_count(*messages_per_s))?;
                writeln!(f, "round trip (closed loop): {latency}")?;
                writeln!(
                    f,
                    "on the wire: {sent_payload_bytes:.0} bytes per message sent, {echo_payload_bytes:.0} per echo; \
                     {compressed_echoes} of {echoes} echoes compressed (RSV1)"
                )?;
                write!(f, "mismatched echoes: {mismatched}, failed connections: {errors}")
            }
            Report::FixedRate { target_per_s, sent_per_s, latency, send_lag, missing, errors } => {
                writeln!(
                    f,
                    "rate: {} msg/s asked, {} msg/s sent",
                    format_count(*target_per_s),
                    format_count(*sent_per_s)
                )?;
                writeln!(f, "latency from scheduled send: {latency}")?;
                writeln!(f, "send lag behind schedule: {send_lag}")?;
                write!(f, "unanswered: {missing}, failed connections: {errors}")
            }
            Report::Handshakes { per_s, open_latency, errors } => {
                writeln!(f, "handshakes: {} open+close/s", format_count(*per_s))?;
                writeln!(f, "connect to 101: {open_latency}")?;
                write!(f, "failed: {errors}")
            }
            Report::Idle { connections, rss_before_kib, rss_after_kib, kib_per_connection, errors, negotiated } => {
                writeln!(f, "idle connections: {connections} ({errors} failed)")?;
                if let Some(agreed) = negotiated {
                    writeln!(f, "negotiated: {agreed}")?;
                }
                writeln!(f, "server VmRSS: {rss_before_kib} KiB before, {rss_after_kib} KiB after")?;
                write!(f, "memory per connection: {kib_per_connection:.2} KiB")
            }
        }
    }
}

/// Microseconds for people: `85 µs`, `1.25 ms`, `2.00 s`.
pub fn format_micros(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// Rates for people, with thousands separated: `123,457`.
pub fn format_count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A histogram for nanosecond latencies from 1 µs to 60 s at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Records `nanos`, clamping to the histogram's range instead of failing.
pub fn record(histogram: &mut Histogram<u64>, nanos: u64) {
    histogram.saturating_record(nanos.max(1_000));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_pick_a_readable_unit() {
        let check = |us: f64, expected: &str| assert_eq!(format_micros(us), expected);
        check(85.4, "85 µs");
        check(999.0, "999 µs");
        check(1_250.0, "1.25 ms");
        check(2_000_000.0, "2.00 s");
    }

    #[test]
    fn counts_get_separators() {
        let check = |value: f64, expected: &str| assert_eq!(format_count(value), expected);
        check(0.0, "0");
        check(999.4, "999");
        check(1_000.0, "1,000");
        check(123_456.7, "123,457");
        check(1_234_567.0, "1,234,567");
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut histogram = latency_histogram();
        for us in 1..=1_000u64 {
            record(&mut histogram, us * 1_000);
        }
        let latency = Latency::from_nanos(&histogram);
        assert_eq!(latency.count, 1_000);
        let close = |value: f64, expected: f64| (value - expected).abs() / expected < 0.002;
        assert!(close(latency.p50_us, 500.0), "{latency:?}");
        assert!(close(latency.p99_us, 990.0), "{latency:?}");
        assert!(close(latency.p999_us, 999.0), "{latency:?}");
        assert!(close(latency.max_us, 1_000.0), "{latency:?}");
    }

    #[test]
    fn result_lines_round_trip() {
        let report = Report::Idle {
            connections: 10_000,
            rss_before_kib: 4_000,
            rss_after_kib: 44_000,
            kib_per_connection: 4.0,
            errors: 0,
            negotiated: Some("permessage-deflate".into()),
        };
        let output = format!("some log\n{}\n", report.result_line());
        assert_eq!(Report::from_output(&output), Some(report));
        assert_eq!(Report::from_output("no result here"), None);
        // Lines from before a field existed still parse.
        let old = r#"RESULT {"mode":"idle","connections":1,"rss_before_kib":1,"rss_after_kib":2,"kib_per_connection":1.0,"errors":0}"#;
        assert!(matches!(Report::from_output(old), Some(Report::Idle { negotiated: None, .. })));
    }

    #[test]
    fn spreads_show_the_starved() {
        let spread = Spread::of(&mut [5, 0, 7, 6, 0]).unwrap();
        assert_eq!(spread, Spread { connections: 5, min: 0, p50: 5, max: 7, starved: 2 });
        assert_eq!(Spread::of(&mut []), None);
    }
}
