//! The four values of `WebSocket.readyState`, by name and number.

/// `WebSocket.readyState`, as the WHATWG WebSockets standard names its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// 0: the opening handshake is under way.
    Connecting,
    /// 1: the connection is open and messages can be sent.
    Open,
    /// 2: the closing handshake has begun.
    Closing,
    /// 3: the connection is closed or could not be opened.
    Closed,
}

impl ReadyState {
    /// The state for a `readyState` number; anything unknown counts as closed.
    pub fn from_number(number: u16) -> ReadyState {
        match number {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            2 => ReadyState::Closing,
            _ => ReadyState::Closed,
        }
    }

    /// The number the browser reports.
    pub fn number(self) -> u16 {
        match self {
            ReadyState::Connecting => 0,
            ReadyState::Open => 1,
            ReadyState::Closing => 2,
            ReadyState::Closed => 3,
        }
    }

    /// The constant's name on the `WebSocket` interface.
    pub fn name(self) -> &'static str {
        match self {
            ReadyState::Connecting => "CONNECTING",
            ReadyState::Open => "OPEN",
            ReadyState::Closing => "CLOSING",
            ReadyState::Closed => "CLOSED",
        }
    }

    /// Whether a Connect makes sense: there is no connection under way.
    pub fn can_connect(self) -> bool {
        self == ReadyState::Closed
    }

    /// Whether a Disconnect makes sense: there is a connection to close.
    pub fn can_disconnect(self) -> bool {
        matches!(self, ReadyState::Connecting | ReadyState::Open)
    }

    /// Why Send is disabled in this state, or `None` when it is enabled.
    pub fn send_blocked_reason(self) -> Option<&'static str> {
        match self {
            ReadyState::Open => None,
            ReadyState::Connecting => Some("the socket is still CONNECTING (0): wait for the open event"),
            ReadyState::Closing => Some("the socket is CLOSING (2): no more messages can be sent"),
            ReadyState::Closed => Some("the socket is CLOSED (3): press Connect first"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        let expected = [(0, "CONNECTING"), (1, "OPEN"), (2, "CLOSING"), (3, "CLOSED")];
        for (number, name) in expected {
            let state = ReadyState::from_number(number);
            assert_eq!((state.number(), state.name()), (number, name));
        }
        assert_eq!(ReadyState::from_number(7), ReadyState::Closed);
    }

    #[test]
    fn only_an_open_socket_can_send() {
        assert_eq!(ReadyState::Open.send_blocked_reason(), None);
        for state in [ReadyState::Connecting, ReadyState::Closing, ReadyState::Closed] {
            let reason = state.send_blocked_reason().unwrap();
            assert!(reason.contains(state.name()), "{reason}");
        }
    }

    #[test]
    fn connect_and_disconnect_are_offered_when_they_make_sense() {
        assert!(ReadyState::Closed.can_connect());
        assert!(!ReadyState::Open.can_connect());
        assert!(ReadyState::Connecting.can_disconnect());
        assert!(ReadyState::Open.can_disconnect());
        assert!(!ReadyState::Closing.can_disconnect());
    }
}
