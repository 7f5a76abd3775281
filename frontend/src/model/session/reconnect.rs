//! Automatic reconnection: when to try again after a connection is lost,
//! with exponential back-off and jitter so that many pages reconnecting at
//! once do not arrive together. Disconnect never reconnects.

/// Automatic reconnection's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnect {
    /// Retries since the last successful open.
    pub attempt: u32,
    /// The retry that is scheduled, if any.
    pub due: Option<Due>,
    /// Whether the last close was asked for with Disconnect (never retried).
    pub deliberate: bool,
    serials: u64,
    jitter: Jitter,
    backoff: Backoff,
}

/// A scheduled retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Due {
    /// Distinguishes retries, so each one gets its own timer.
    pub serial: u64,
    /// Which retry this is, from 1.
    pub attempt: u32,
    /// How long to wait, in ms.
    pub delay_ms: f64,
}

impl Reconnect {
    /// Nothing scheduled yet, the jitter seeded with `seed`.
    pub fn new(seed: u64) -> Reconnect {
        Reconnect {
            attempt: 0,
            due: None,
            deliberate: false,
            serials: 0,
            jitter: Jitter::new(seed),
            backoff: Backoff::default(),
        }
    }

    /// A new socket is opening (Connect, or the retry that was due).
    pub(super) fn connecting(&mut self) {
        self.due = None;
        self.deliberate = false;
    }

    /// Disconnect was pressed: no retry now, nor after the close.
    pub(super) fn disconnecting(&mut self) {
        self.deliberate = true;
        self.due = None;
    }

    /// "Reconnect automatically" was unticked.
    pub(super) fn cancel(&mut self) {
        self.due = None;
    }

    /// The socket opened: the retries start counting again.
    pub(super) fn opened(&mut self) {
        self.attempt = 0;
    }

    /// The socket closed: schedules the next retry when reconnecting is
    /// `enabled` and the close was not asked for.
    pub(super) fn closed(&mut self, enabled: bool) {
        if enabled && !self.deliberate {
            let delay_ms = self.backoff.delay_ms(self.attempt, self.jitter.next_unit());
            self.attempt += 1;
            self.serials += 1;
            self.due = Some(Due { serial: self.serials, attempt: self.attempt, delay_ms });
        }
    }
}

/// The schedule: the n-th retry (counting from 0) waits between half and all of
/// `min(cap, base × 2ⁿ)`, the exact point picked by a random number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first wait, in milliseconds.
    pub base_ms: f64,
    /// No wait is longer than this, in milliseconds.
    pub cap_ms: f64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { base_ms: 500.0, cap_ms: 30_000.0 }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0 for the first retry), given a
    /// `random` number in `[0, 1)`.
    pub fn delay_ms(&self, attempt: u32, random: f64) -> f64 {
        let ceiling = (self.base_ms * 2f64.powi(attempt.min(60) as i32)).min(self.cap_ms);
        ceiling / 2.0 + ceiling / 2.0 * random.clamp(0.0, 1.0)
    }
}

/// A small deterministic random source (xorshift64*) so the reducer stays pure:
/// the page seeds it once from `Math.random()`, tests with a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jitter(u64);

impl Jitter {
    /// A source started from `seed` (zero is replaced, as xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Jitter {
        Jitter(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next number in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ready_state::ReadyState;
    use crate::model::session::tests::{close, open, run};
    use crate::model::session::{Action, Setting};

    #[test]
    fn delays_double_up_to_the_cap_within_their_jitter_band() {
        let backoff = Backoff { base_ms: 100.0, cap_ms: 1000.0 };
        let cases = [(0, 0.0, 50.0), (0, 0.999_999, 100.0), (1, 0.0, 100.0), (2, 0.5, 300.0), (3, 0.0, 400.0)];
        for (attempt, random, expected) in cases {
            let delay = backoff.delay_ms(attempt, random);
            assert!((delay - expected).abs() < 0.01, "attempt {attempt}: {delay}");
        }
        assert_eq!(backoff.delay_ms(4, 1.0), 1000.0);
        assert_eq!(backoff.delay_ms(1000, 1.0), 1000.0, "huge attempt counts neither overflow nor exceed the cap");
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let mut jitter = Jitter::new(0);
        let samples: Vec<f64> = (0..1000).map(|_| jitter.next_unit()).collect();
        assert!(samples.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        assert_eq!(Jitter::new(7).next_unit(), Jitter::new(7).next_unit(), "same seed, same sequence");
    }

    #[test]
    fn reconnects_are_scheduled_only_when_enabled_and_not_deliberate() {
        let without = run(vec![open(), close(1006)]);
        assert_eq!(without.reconnect.due, None, "off by default");

        let mut session = run(vec![Action::Set(Setting::AutoReconnect(true)), open(), close(1006)]);
        let first = session.reconnect.due.expect("a retry is due");
        assert_eq!(first.attempt, 1);
        assert!((250.0..=500.0).contains(&first.delay_ms), "{first:?}");
        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        assert_eq!(session.reconnect.due, None);
        session.apply(close(1006));
        let second = session.reconnect.due.unwrap();
        assert_eq!(second.attempt, 2);
        assert!((500.0..=1000.0).contains(&second.delay_ms), "{second:?}");
        assert_ne!(first.serial, second.serial);

        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        session.apply(open());
        assert_eq!(session.reconnect.attempt, 0, "an open resets the count");
        session.apply(Action::Disconnecting(ReadyState::Closing, 0.0));
        session.apply(close(1000));
        assert_eq!(session.reconnect.due, None, "Disconnect never reconnects");

        session.apply(Action::Connecting(ReadyState::Connecting, 0.0));
        session.apply(close(1006));
        assert!(session.reconnect.due.is_some());
        session.apply(Action::Set(Setting::AutoReconnect(false)));
        assert_eq!(session.reconnect.due, None, "unticking cancels the retry");
    }
}
