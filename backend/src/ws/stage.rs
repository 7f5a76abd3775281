//! The seam between the echo loop and what an endpoint adds to it: `/ws` adds
//! nothing ([`Echo`]); `/ws/lab` obeys commands (`lab.rs`). The loop stays one
//! piece of code for both, and the plain echo pays nothing for the lab: its
//! stage's methods are empty and compile away.

use tokio::time::Instant;

use super::protocol::Protocol;

/// What the echo loop must do after a stage ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Carry on.
    Continue,
    /// The stage wrote a close frame with this code (through [`Protocol::close`]);
    /// wait for the client's reply as after any server close.
    Closed(u16),
    /// Send what is already in the output, then end TCP without a close frame.
    Drop,
}

/// Something that watches, and may rewrite, what the protocol sends.
pub(crate) trait Stage: Send {
    /// Called after the protocol appended frames to `out`, starting at `from`
    /// (everything before `from` is already settled). Whole frames only.
    fn outgoing(&mut self, out: &mut Vec<u8>, from: usize, protocol: &mut Protocol, now: Instant) -> Action;

    /// When [`Stage::wake`] next has something to do.
    fn deadline(&self) -> Option<Instant>;

    /// Does what is due at `now`, appending to `out`.
    fn wake(&mut self, out: &mut Vec<u8>, protocol: &mut Protocol, now: Instant) -> Action;

    /// A pong arrived from the client at `now`.
    fn pong(&mut self, out: &mut Vec<u8>, now: Instant);
}

/// The plain echo: every frame goes out as the protocol wrote it.
pub(crate) struct Echo;

impl Stage for Echo {
    #[inline]
    fn outgoing(&mut self, _: &mut Vec<u8>, _: usize, _: &mut Protocol, _: Instant) -> Action {
        Action::Continue
    }

    #[inline]
    fn deadline(&self) -> Option<Instant> {
        None
    }

    #[inline]
    fn wake(&mut self, _: &mut Vec<u8>, _: &mut Protocol, _: Instant) -> Action {
        Action::Continue
    }

    #[inline]
    fn pong(&mut self, _: &mut Vec<u8>, _: Instant) {}
}
