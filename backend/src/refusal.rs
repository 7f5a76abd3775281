//! Why an upgrade to a WebSocket was refused: the label the handshake gives a
//! refusal and the metrics count it under. One enum, so that a new reason
//! cannot be given by one side and dropped by the other.

/// Why an upgrade was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not a GET.
    Method,
    /// Not a WebSocket upgrade, or the wrong version.
    NotWebsocket,
    /// A malformed upgrade request (its key, or a lab query).
    BadRequest,
    /// A browser page from an origin not listed.
    Origin,
    /// Every connection slot is taken.
    ConnectionLimit,
    /// The server is shutting down.
    ShuttingDown,
    /// The lab refused on purpose (`?status=`).
    Lab,
}

impl Refused {
    /// Every reason, in the order `/metrics` lists them.
    pub(crate) const ALL: [Refused; 7] = [
        Refused::Method,
        Refused::NotWebsocket,
        Refused::BadRequest,
        Refused::Origin,
        Refused::ConnectionLimit,
        Refused::ShuttingDown,
        Refused::Lab,
    ];

    /// The label in logs and in `/metrics`' `reason`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refused::Method => "method",
            Refused::NotWebsocket => "not_websocket",
            Refused::BadRequest => "bad_request",
            Refused::Origin => "origin",
            Refused::ConnectionLimit => "connection_limit",
            Refused::ShuttingDown => "shutting_down",
            Refused::Lab => "lab",
        }
    }

    /// The reason's place in [`Refused::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_once_in_its_place() {
        for (index, reason) in Refused::ALL.iter().enumerate() {
            assert_eq!(reason.index(), index);
        }
        let mut labels: Vec<_> = Refused::ALL.iter().map(|reason| reason.as_str()).collect();
        labels.dedup();
        assert_eq!(labels.len(), Refused::ALL.len());
    }
}
