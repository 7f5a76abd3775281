//! Numbers about a connection: traffic each way and the distribution of echo
//! round-trip times.

/// Messages and bytes in each direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages this page sent.
    pub sent_messages: u64,
    /// Their bytes (UTF-8 for text).
    pub sent_bytes: u64,
    /// Messages received.
    pub received_messages: u64,
    /// Their bytes.
    pub received_bytes: u64,
}

/// Summary of round-trip times, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttSummary {
    /// How many samples.
    pub count: usize,
    /// The fastest.
    pub min: f64,
    /// The median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The slowest.
    pub max: f64,
}

/// The nearest-rank percentile `p` (0–100) of samples sorted ascending.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Sorts samples ascending. The page passes the browser's own typed-array sort
/// (`browser::borrowed::sorted`), so the wasm carries no sorting code of its
/// own; native code and tests pass [`sorted`].
pub type Sort = fn(&[f64]) -> Vec<f64>;

/// `samples` sorted ascending by the standard library (round-trip times are
/// never NaN, where this and the browser's sort could differ).
pub fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

/// Summarises round-trip samples in any order, sorted by `sort`; `None` when
/// there are none.
pub fn summarize(samples: &[f64], sort: Sort) -> Option<RttSummary> {
    let sorted = sort(samples);
    Some(RttSummary {
        count: sorted.len(),
        min: *sorted.first()?,
        p50: percentile(&sorted, 50.0)?,
        p95: percentile(&sorted, 95.0)?,
        p99: percentile(&sorted, 99.0)?,
        max: *sorted.last()?,
    })
}

/// One bar of a histogram: samples in `[low, high)` (the last bar includes `high`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Lower bound, ms.
    pub low: f64,
    /// Upper bound, ms.
    pub high: f64,
    /// Samples in it.
    pub count: usize,
}

/// Splits the samples' range into `buckets` equal bars.
pub fn histogram(samples: &[f64], buckets: usize) -> Vec<Bucket> {
    let Some(&first) = samples.first() else {
        return Vec::new();
    };
    let (min, max) = samples.iter().fold((first, first), |(min, max), &sample| (min.min(sample), max.max(sample)));
    let buckets = buckets.max(1);
    let width = ((max - min) / buckets as f64).max(f64::EPSILON);
    let mut bars: Vec<Bucket> = (0..buckets)
        .map(|index| Bucket { low: min + width * index as f64, high: min + width * (index + 1) as f64, count: 0 })
        .collect();
    for sample in samples {
        let index = (((sample - min) / width) as usize).min(buckets - 1);
        bars[index].count += 1;
    }
    bars
}

/// Messages per second for `messages` over `elapsed_ms` (0 when no time passed).
pub fn per_second(messages: usize, elapsed_ms: f64) -> f64 {
    if elapsed_ms <= 0.0 {
        0.0
    } else {
        messages as f64 * 1000.0 / elapsed_ms
    }
}

/// The latest samples of a figure the page keeps measuring (how long socket
/// events wait to be drawn), at most `CAPACITY` of them, so that a long
/// session costs no more memory than a short one, and how many were ever
/// added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recent {
    samples: Vec<f64>,
    /// Where the next sample goes once the window is full.
    next: usize,
    count: u64,
}

impl Recent {
    /// Samples kept.
    pub const CAPACITY: usize = 1000;

    /// Adds a sample, dropping the oldest when the window is full.
    pub fn push(&mut self, sample: f64) {
        if self.samples.len() < Recent::CAPACITY {
            self.samples.push(sample);
        } else {
            self.samples[self.next] = sample;
            self.next = (self.next + 1) % Recent::CAPACITY;
        }
        self.count += 1;
    }

    /// The samples kept, in no particular order.
    pub fn samples(&self) -> &[f64] {
        &self.samples
    }

    /// How many samples were ever added.
    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let summary = summarize(&samples, sorted).unwrap();
        assert_eq!(summary, RttSummary { count: 100, min: 1.0, p50: 50.0, p95: 95.0, p99: 99.0, max: 100.0 });
        let one = summarize(&[3.5], sorted).unwrap();
        assert_eq!((one.min, one.p50, one.p99, one.max), (3.5, 3.5, 3.5, 3.5));
        assert_eq!(summarize(&[], sorted), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 95.0), Some(5.0));
        assert_eq!(percentile(&[1.0, 2.0], 0.0), Some(1.0));
    }

    #[test]
    fn histogram_counts_every_sample_once() {
        let samples = [1.0, 1.5, 2.0, 9.0, 10.0];
        let bars = histogram(&samples, 3);
        assert_eq!(bars.len(), 3);
        assert_eq!(bars.iter().map(|bar| bar.count).collect::<Vec<_>>(), [3, 0, 2]);
        assert_eq!((bars[0].low, bars[2].high), (1.0, 10.0));
        let same = histogram(&[2.0, 2.0], 4);
        assert_eq!(same.iter().map(|bar| bar.count).sum::<usize>(), 2);
        assert!(histogram(&[], 4).is_empty());
    }

    #[test]
    fn the_recent_window_keeps_the_newest_samples_and_counts_all() {
        let mut recent = Recent::default();
        for sample in 0..Recent::CAPACITY + 5 {
            recent.push(sample as f64);
        }
        assert_eq!(recent.count(), Recent::CAPACITY as u64 + 5);
        assert_eq!(recent.samples().len(), Recent::CAPACITY);
        let kept = sorted(recent.samples());
        assert_eq!((kept[0], kept[Recent::CAPACITY - 1]), (5.0, (Recent::CAPACITY + 4) as f64));
    }

    #[test]
    fn throughput() {
        assert_eq!(per_second(500, 250.0), 2000.0);
        assert_eq!(per_second(5, 0.0), 0.0);
    }
}
