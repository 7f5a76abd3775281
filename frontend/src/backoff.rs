//! When to try again after a connection is lost: exponential back-off with
//! jitter, so that many pages reconnecting at once do not arrive together.

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
}
