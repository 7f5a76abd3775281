//! What "Compare with polling" finds: each method's tally, summed up as a row
//! of the results table.

use crate::model::comparison::plan::Method;
use crate::model::stats::{summarize, Sort};

/// What one method has cost so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// HTTP requests made (a WebSocket makes none after its handshake).
    pub requests: u64,
    /// Bytes on the wire, both directions, heads and frame headers included.
    pub bytes: u64,
    /// Each message's latency, ms.
    pub latencies: Vec<f64>,
}

impl Tally {
    /// Counts one HTTP exchange: both heads and both bodies.
    pub fn exchange(&mut self, request_head: u64, request_body: usize, response_head: u64, response_body: usize) {
        self.requests += 1;
        self.bytes += request_head + request_body as u64 + response_head + response_body as u64;
    }
}

/// One row of the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Which method.
    pub method: Method,
    /// Messages that made the round trip.
    pub messages: usize,
    /// Median latency (nearest rank), ms.
    pub median_ms: f64,
    /// Slowest latency, ms.
    pub max_ms: f64,
    /// HTTP requests.
    pub requests: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// What the numbers include, when that needs saying.
    pub note: String,
}

impl Row {
    /// The row for `method` from its tally, its latencies sorted by `sort`.
    pub fn new(method: Method, tally: &Tally, note: String, sort: Sort) -> Row {
        let summary = summarize(&tally.latencies, sort);
        Row {
            method,
            messages: tally.latencies.len(),
            median_ms: summary.map_or(0.0, |summary| summary.p50),
            max_ms: summary.map_or(0.0, |summary| summary.max),
            requests: tally.requests,
            bytes: tally.bytes,
            note,
        }
    }
}

/// `value` as a share of `largest`, 0–100, for a bar's length (0 when `largest` is 0).
pub fn percent_of(value: f64, largest: f64) -> f64 {
    if largest > 0.0 {
        (value / largest * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::sorted;

    #[test]
    fn a_run_sums_requests_bytes_and_latencies() {
        let mut tally = Tally::default();
        tally.exchange(100, 32, 80, 32);
        tally.exchange(100, 0, 70, 2);
        tally.latencies = vec![3.0, 1.0, 2.0, 10.0];
        let row = Row::new(Method::Http, &tally, String::new(), sorted);
        assert_eq!((row.requests, row.bytes, row.messages), (2, 244 + 172, 4));
        assert_eq!((row.median_ms, row.max_ms), (2.0, 10.0));
        let empty = Row::new(Method::WebSocket, &Tally::default(), String::new(), sorted);
        assert_eq!((empty.messages, empty.median_ms, empty.max_ms), (0, 0.0, 0.0));
    }

    #[test]
    fn bars_are_shares_of_the_largest() {
        assert_eq!(percent_of(50.0, 200.0), 25.0);
        assert_eq!(percent_of(5.0, 0.0), 0.0);
        assert_eq!(percent_of(300.0, 200.0), 100.0);
    }
}
