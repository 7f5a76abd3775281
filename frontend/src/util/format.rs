//! Numbers, times and strings as the page shows them.
//!
//! Written with integer arithmetic because Rust's float formatting (and
//! parsing) adds about 20 KB to the wasm bundle for what the page needs here.

/// `value` with `decimals` digits after the point, rounded half away from zero.
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

/// Formats a time as local `HH:MM:SS.mmm`, given milliseconds since the Unix
/// epoch and the offset `Date.getTimezoneOffset()` reports (minutes behind UTC).
pub fn clock_time(epoch_ms: f64, timezone_offset_minutes: f64) -> String {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let local_ms = epoch_ms.round() as i64 - (timezone_offset_minutes.round() as i64) * 60 * 1000;
    let of_day = local_ms.rem_euclid(DAY_MS);
    let (hours, rest) = (of_day / 3_600_000, of_day % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// A string value as a JavaScript string literal would show it: `"chat"`, `""`.
pub fn quoted(value: &str) -> String {
    format!("\"{value}\"")
}

/// A string value as it is, except that an empty one shows as `""` so that
/// "empty" is visible.
pub fn quoted_if_empty(value: &str) -> String {
    if value.is_empty() {
        "\"\"".to_owned()
    } else {
        value.to_owned()
    }
}

/// `text` safe inside HTML text and double-quoted attributes (the page's
/// first stage escapes its rows with the same function).
pub use boot::text::escape_html;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_the_decimals_asked_for() {
        assert_eq!(format_ms(0.456), "0.46 ms");
        assert_eq!(format_ms(12.34), "12.3 ms");
        assert_eq!(format_ms(1234.4), "1234 ms");
        assert_eq!(fixed(2.0, 3), "2.000");
        assert_eq!(fixed(-0.05, 1), "-0.1");
        assert_eq!(fixed(0.004, 2), "0.00");
        assert_eq!(fixed(12345.6789, 0), "12346");
    }

    #[test]
    fn clock_time_has_milliseconds_and_honours_the_time_zone() {
        // 2026-11-25T12:34:56.789Z
        let epoch_ms = 1_795_610_096_789.0;
        assert_eq!(clock_time(epoch_ms, 0.0), "12:34:56.789");
        // UTC+1 reports an offset of -60 minutes.
        assert_eq!(clock_time(epoch_ms, -60.0), "13:34:56.789");
        assert_eq!(clock_time(epoch_ms, 780.0), "23:34:56.789");
    }

    #[test]
    fn strings_show_their_emptiness_and_escape_markup() {
        assert_eq!((quoted(""), quoted("chat")), ("\"\"".to_owned(), "\"chat\"".to_owned()));
        assert_eq!((quoted_if_empty(""), quoted_if_empty("bye")), ("\"\"".to_owned(), "bye".to_owned()));
        assert_eq!(escape_html("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;'");
    }
}
