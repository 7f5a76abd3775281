//! When to ping a quiet peer and when to give up on it: a pure timer schedule.

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

    /// A pong arrived: the peer is alive; the next ping is one interval after the last.
    pub(crate) fn pong(&mut self, now: Instant) {
        if let Some(sent) = self.awaiting_pong_since.take() {
            self.next_ping = (sent + self.interval).max(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pings_every_interval_while_pongs_come_back() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(30 * SECOND, 10 * SECOND, start);
        assert_eq!(keepalive.deadline(), start + 30 * SECOND);
        assert_eq!(keepalive.due(start + 29 * SECOND), Due::Nothing);
        assert_eq!(keepalive.due(start + 30 * SECOND), Due::Ping);
        assert_eq!(keepalive.deadline(), start + 40 * SECOND);
        keepalive.pong(start + 31 * SECOND);
        assert_eq!(keepalive.deadline(), start + 60 * SECOND);
        assert_eq!(keepalive.due(start + 60 * SECOND), Due::Ping);
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
    fn an_unsolicited_pong_changes_nothing() {
        let start = Instant::now();
        let mut keepalive = KeepAlive::new(30 * SECOND, 10 * SECOND, start);
        keepalive.pong(start + 5 * SECOND);
        assert_eq!(keepalive.deadline(), start + 30 * SECOND);
    }
}
