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

/// Summarises round-trip samples in any order; `None` when there are none.
pub fn summarize(samples: &[f64]) -> Option<RttSummary> {
    let sorted = sorted_ascending(samples);
    Some(RttSummary {
        count: sorted.len(),
        min: *sorted.first()?,
        p50: percentile(&sorted, 50.0)?,
        p95: percentile(&sorted, 95.0)?,
        p99: percentile(&sorted, 99.0)?,
        max: *sorted.last()?,
    })
}

/// `samples` sorted ascending. In the browser the typed array's own numeric
/// sort does it, so the wasm carries no sorting code of its own (round-trip
/// times are never NaN, where the two could differ).
fn sorted_ascending(samples: &[f64]) -> Vec<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let array = js_sys::Float64Array::from(samples);
        // js_sys has no binding for `TypedArray.prototype.sort`; look it up.
        let sort =
            js_sys::Reflect::get(&array, &"sort".into()).ok().and_then(|sort| sort.dyn_into::<js_sys::Function>().ok());
        if let Some(sort) = sort {
            let _ = sort.call0(&array);
        }
        array.to_vec()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        sorted
    }
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
    let Some(summary) = summarize(samples) else {
        return Vec::new();
    };
    let buckets = buckets.max(1);
    let width = ((summary.max - summary.min) / buckets as f64).max(f64::EPSILON);
    let mut bars: Vec<Bucket> = (0..buckets)
        .map(|index| Bucket {
            low: summary.min + width * index as f64,
            high: summary.min + width * (index + 1) as f64,
            count: 0,
        })
        .collect();
    for sample in samples {
        let index = (((sample - summary.min) / width) as usize).min(buckets - 1);
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

/// A duration in ms with precision that suits its size.
pub fn format_ms(ms: f64) -> String {
    let decimals = if ms < 10.0 {
        2
    } else if ms < 1000.0 {
        1
    } else {
        0
    };
    format!("{} ms", fixed(ms, decimals))
}

/// `value` with `decimals` digits after the point, rounded half away from zero.
///
/// Written with integer arithmetic because Rust's float formatting (and
/// parsing) adds about 20 KB to the wasm bundle for what the page needs here.
pub fn fixed(value: f64, decimals: u32) -> String {
    let scale = 10i64.pow(decimals);
    let scaled = (value * scale as f64).round() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let (whole, fraction) = (scaled.unsigned_abs() / scale as u64, scaled.unsigned_abs() % scale as u64);
    if decimals == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction:0width$}", width = decimals as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let summary = summarize(&samples).unwrap();
        assert_eq!(summary, RttSummary { count: 100, min: 1.0, p50: 50.0, p95: 95.0, p99: 99.0, max: 100.0 });
        let one = summarize(&[3.5]).unwrap();
        assert_eq!((one.min, one.p50, one.p99, one.max), (3.5, 3.5, 3.5, 3.5));
        assert_eq!(summarize(&[]), None);
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
    fn throughput_and_formatting() {
        assert_eq!(per_second(500, 250.0), 2000.0);
        assert_eq!(per_second(5, 0.0), 0.0);
        assert_eq!(format_ms(0.456), "0.46 ms");
        assert_eq!(format_ms(12.34), "12.3 ms");
        assert_eq!(format_ms(1234.4), "1234 ms");
        assert_eq!(fixed(2.0, 3), "2.000");
        assert_eq!(fixed(-0.05, 1), "-0.1");
        assert_eq!(fixed(0.004, 2), "0.00");
        assert_eq!(fixed(12345.6789, 0), "12346");
    }
}
