//! What "Compare with polling" runs: the fields read into a [`Plan`], the
//! three methods, and the messages sent.

/// The most messages one comparison sends each way.
pub const MAX_COUNT: usize = 200;
/// The largest message, well under the server's 1 MiB limit.
pub const MAX_SIZE: usize = 100_000;
/// The slowest and fastest polling intervals, ms.
pub const INTERVAL_RANGE: (u32, u32) = (20, 5000);

/// The k-th message of a comparison: `size` bytes, starting with its number so
/// that each is different and its echo can be recognised.
pub fn message(index: usize, size: usize) -> String {
    let mut text = format!("{index}:");
    let pad = size.saturating_sub(text.len());
    text.extend(std::iter::repeat_n('x', pad));
    text
}

/// What to run: how many messages, how large, and how often to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Messages per method.
    pub count: usize,
    /// Bytes per message.
    pub size: usize,
    /// The polling interval, ms.
    pub interval_ms: u32,
}

impl Plan {
    /// Reads the three fields; the error names the field and its range.
    pub fn parse(count: &str, size: &str, interval: &str) -> Result<Plan, String> {
        let number = |text: &str| text.trim().parse::<usize>().ok();
        let count = number(count)
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| "Messages must be a whole number from 1 to 200".to_owned())?;
        // Four bytes hold a message's number and its separator.
        let size = number(size)
            .filter(|n| (4..=MAX_SIZE).contains(n))
            .ok_or_else(|| "Message size must be a whole number of bytes from 4 to 100000".to_owned())?;
        let (low, high) = INTERVAL_RANGE;
        let interval_ms = number(interval)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (low..=high).contains(n))
            .ok_or_else(|| "Poll every must be a whole number of ms from 20 to 5000".to_owned())?;
        Ok(Plan { count, size, interval_ms })
    }
}

/// The three ways of sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `POST /api/echo` per message.
    Http,
    /// `POST` to a mailbox, `GET` it every interval.
    Polling,
    /// One WebSocket, a frame each way per message.
    WebSocket,
}

impl Method {
    /// The method's name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Method::Http => "HTTP request/response",
            Method::Polling => "Periodic polling",
            Method::WebSocket => "WebSocket",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_numbered_and_sized() {
        assert_eq!(message(7, 6), "7:xxxx");
        assert_eq!(message(12, 4), "12:x");
        assert_eq!(message(123, 2), "123:", "never cut: the number keeps it recognisable");
    }

    #[test]
    fn plans_are_read_within_their_limits() {
        assert_eq!(Plan::parse(" 20", "32", "250"), Ok(Plan { count: 20, size: 32, interval_ms: 250 }));
        // The messages name the limits (written out: formatting them costs the page).
        assert!(Plan::parse("0", "32", "250").unwrap_err().ends_with(&format!("from 1 to {MAX_COUNT}")));
        assert!(Plan::parse("5", "2", "250").unwrap_err().ends_with(&format!("from 4 to {MAX_SIZE}")));
        let (low, high) = INTERVAL_RANGE;
        assert!(Plan::parse("5", "32", "1").unwrap_err().ends_with(&format!("from {low} to {high}")));
        assert!(Plan::parse("201", "32", "250").is_err());
        assert!(Plan::parse("5", "3", "250").unwrap_err().starts_with("Message size"));
        assert!(Plan::parse("5", "32", "10").unwrap_err().starts_with("Poll every"));
        assert!(Plan::parse("5", "32", "x").is_err());
    }
}
