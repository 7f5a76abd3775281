//! When to ping a quiet peer and when to give up on it: a pure timer schedule.
//! Any bytes from the peer count as a sign of life, so only a peer that has
//! been silent for an interval is pinged, and only one that stays silent for
//! the timeout after that is given up on.

use std::time::Duration;

use tokio::time::Instant;

/// The keep-alive schedule of one connection.
#[derive(Debug, Clone)]
pub(crate) struct KeepAlive {
    interval: Duration,
    timeout: Duration,
    next_ping: Instant,
    /// When the unanswered ping was sent.
    awaiting_pong_since: Option<Instant>,
}

/// What to do when the keep-alive deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// Send a ping now.
    Ping,
    /// The peer did not answer the last ping in time.
    TimedOut,
    /// Nothing yet (the deadline moved since it was read).
    Nothing,
}

impl KeepAlive {
    /// Starts the schedule at `now`: the first ping is due one interval later.
    pub(crate) fn new(interval: Duration, timeout: Duration, now: Instant) -> KeepAlive {
        KeepAlive { interval, timeout, next_ping: now + interval, awaiting_pong_since: None }
    }

    /// When something is next due.
    pub(crate) fn deadline(&self) -> Instant {
        match self.awaiting_pong_since {
            Some(sent) => sent + self.timeout,
            None => self.next_ping,
        }
    }

    /// What is due at `now`; a `Ping` is recorded as sent.
    pub(crate) fn due(&mut self, now: Instant) -> Due {
        if now < self.deadline() {
            return Due::Nothing;
        }
        if self.awaiting_pong_since.is_some() {
            return Due::TimedOut;
        }
        self.awaiting_pong_since = Some(now);
        Due::Ping
    }

    /// Bytes arrived from the peer at `now` (a pong or anything else): it is
    /// alive, and needs no ping until it has been quiet for an interval.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.awaiting_pong_since = None;
        self.next_ping = now + self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pings_after_each_quiet_interval_while_answers_come_back() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(30 * SECOND, 10 * SECOND, start);
        assert_eq!(keepalive.deadline(), start + 30 * SECOND);
        assert_eq!(keepalive.due(start + 29 * SECOND), Due::Nothing);
        assert_eq!(keepalive.due(start + 30 * SECOND), Due::Ping);
        assert_eq!(keepalive.deadline(), start + 40 * SECOND);
        keepalive.heard(start + 31 * SECOND);
        assert_eq!(keepalive.deadline(), start + 61 * SECOND);
        assert_eq!(keepalive.due(start + 61 * SECOND), Due::Ping);
    }

    #[test]
    fn any_bytes_while_a_ping_is_out_prove_the_peer_alive() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(SECOND, SECOND, start);
        assert_eq!(keepalive.due(start + SECOND), Due::Ping);
        // The peer is busy sending a large frame and cannot answer yet.
        for tenth in 11..40 {
            keepalive.heard(start + tenth * SECOND / 10);
            assert_eq!(keepalive.due(start + tenth * SECOND / 10), Due::Nothing);
        }
        assert_eq!(keepalive.due(start + 49 * SECOND / 10), Due::Ping);
        assert_eq!(keepalive.due(start + 59 * SECOND / 10), Due::TimedOut);
    }

    #[test]
    fn gives_up_when_no_pong_comes_within_the_timeout() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(30 * SECOND, 10 * SECOND, start);
        assert_eq!(keepalive.due(start + 30 * SECOND), Due::Ping);
        assert_eq!(keepalive.due(start + 39 * SECOND), Due::Nothing);
        assert_eq!(keepalive.due(start + 40 * SECOND), Due::TimedOut);
    }

    #[test]
    fn traffic_postpones_the_next_ping() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(30 * SECOND, 10 * SECOND, start);
        keepalive.heard(start + 5 * SECOND);
        assert_eq!(keepalive.deadline(), start + 35 * SECOND);
    }
}
