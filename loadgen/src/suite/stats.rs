//! Medians, the one statistic the suite reports over rounds.

/// The median of `values` (the mean of the middle two for an even count),
/// reordering them; NaN when there are none.
pub fn median_of(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// The median of `value` over `items`.
pub fn median_by<T>(items: &[T], value: impl Fn(&T) -> f64) -> f64 {
    median_of(&mut items.iter().map(value).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_of(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median_of(&mut []).is_nan());
        assert_eq!(median_by(&["a", "bbb", "cc"], |text| text.len() as f64), 2.0);
    }
}
