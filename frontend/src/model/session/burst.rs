//! Burst: many copies of one message as fast as the socket takes them, and the
//! round trips of their echoes.

use crate::util::chunked::Chunked;

/// A burst pauses while more than this many bytes wait in `bufferedAmount`, so
/// the browser's queue (and the page's memory) stays bounded.
pub const HIGH_WATER: u32 = 1 << 20;
/// Sends per tick of a burst, so each tick is short and the page stays responsive.
pub const PER_TICK: usize = 200;
/// The largest burst: 100,000 messages give 200,000 log entries.
pub const MAX_COUNT: usize = 100_000;
/// The largest burst message, below the server's default 1 MiB limit.
pub const MAX_SIZE: usize = 1 << 20;

/// Reads the Count and Size fields: how many messages of how many bytes, or
/// which field is wrong.
pub fn parse_request(count: &str, size: &str) -> Result<(usize, usize), String> {
    let count = count.trim().parse::<usize>().ok().filter(|n| (1..=MAX_COUNT).contains(n));
    let size = size.trim().parse::<usize>().ok().filter(|n| *n <= MAX_SIZE);
    match (count, size) {
        (None, _) => Err(format!("Count must be a whole number from 1 to {MAX_COUNT}")),
        (_, None) => Err(format!("Size must be a whole number of bytes from 0 to {MAX_SIZE}")),
        (Some(count), Some(size)) => Ok((count, size)),
    }
}

/// A burst of messages and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Distinguishes bursts, so each one gets its own timer.
    pub serial: u64,
    /// Messages to send.
    pub count: usize,
    /// Bytes per message.
    pub size: usize,
    /// Messages sent so far.
    pub sent: usize,
    /// Echoes received so far.
    pub echoed: usize,
    /// When it started (`performance.now()`).
    pub started_ms: f64,
    /// When the last echo came.
    pub finished_ms: Option<f64>,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// The round-trip times of its echoes, ms.
    pub rtts: Chunked<f64>,
    /// The log id of its first send: echoes of earlier sends are not its own.
    first_id: Option<u64>,
}

impl Burst {
    /// A burst of `count` messages of `size` bytes, started at `at_ms`.
    pub(super) fn new(serial: u64, count: usize, size: usize, at_ms: f64) -> Burst {
        Burst {
            serial,
            count,
            size,
            sent: 0,
            echoed: 0,
            started_ms: at_ms,
            finished_ms: None,
            stopped: None,
            rtts: Chunked::default(),
            first_id: None,
        }
    }

    /// Whether messages remain to be sent.
    pub fn sending(&self) -> bool {
        self.stopped.is_none() && self.sent < self.count
    }

    /// `count` more were sent, the first of them logged as entry `first_id`.
    pub(super) fn sent(&mut self, first_id: u64, count: usize) {
        self.first_id.get_or_insert(first_id);
        self.sent += count;
    }

    /// The send logged as `sent_id` was echoed at `at_ms` after `rtt_ms`; it
    /// counts only when it is one of the burst's own.
    pub(super) fn echoed(&mut self, sent_id: u64, rtt_ms: f64, at_ms: f64) {
        if self.first_id.is_some_and(|first| sent_id >= first) {
            self.echoed += 1;
            self.rtts.push(rtt_ms);
            if self.echoed == self.count {
                self.finished_ms = Some(at_ms);
            }
        }
    }

    /// The connection closed: an unfinished burst stops.
    pub(super) fn closed(&mut self) {
        if self.finished_ms.is_none() {
            self.stopped.get_or_insert_with(|| "the connection closed".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::log::Payload;
    use crate::model::session::tests::{close, echo, open, run, sent};
    use crate::model::session::Action;

    #[test]
    fn a_request_is_read_within_its_limits() {
        assert_eq!(parse_request(" 100 ", "64"), Ok((100, 64)));
        assert_eq!(parse_request("1", "0"), Ok((1, 0)));
        let count = Err("Count must be a whole number from 1 to 100000".to_owned());
        assert_eq!(parse_request("0", "64"), count);
        assert_eq!(parse_request("100001", "64"), count);
        assert_eq!(parse_request("x", "x"), count, "the count is named first");
        assert_eq!(parse_request("5", "1048577"), Err("Size must be a whole number of bytes from 0 to 1048576".into()));
    }

    #[test]
    fn a_burst_counts_its_sends_and_echoes_and_finishes_on_the_last_echo() {
        let burst_sent =
            |at_ms| Action::BurstSent { payload: Payload::Text("x".into()), count: 1, time: "t".into(), at_ms };
        let mut session = run(vec![
            open(),
            sent("before", 0.0),
            Action::BurstStarted { count: 2, size: 1, at_ms: 1.0 },
            burst_sent(1.0),
            burst_sent(1.5),
            echo("before", 2.0),
        ]);
        let burst = session.burst.clone().unwrap();
        assert_eq!((burst.sent, burst.echoed, burst.sending()), (2, 0, false));
        assert_eq!(session.draft, "", "a burst leaves the draft alone");
        session.apply(echo("x", 3.0));
        session.apply(echo("x", 4.0));
        let burst = session.burst.clone().unwrap();
        assert_eq!((burst.echoed, burst.finished_ms), (2, Some(4.0)));
        assert_eq!(
            burst.rtts.iter().copied().collect::<Vec<_>>(),
            [2.0, 2.5],
            "the earlier send's echo is not the burst's"
        );
    }

    #[test]
    fn a_close_stops_a_running_burst() {
        let session = run(vec![open(), Action::BurstStarted { count: 5, size: 1, at_ms: 0.0 }, close(1006)]);
        assert_eq!(session.burst.unwrap().stopped.as_deref(), Some("the connection closed"));
    }
}
