//! The seam between the protocol engine and what an endpoint does with the
//! messages it reads: `/ws` echoes each piece as it arrives ([`Echo`]);
//! `/ws/lab` obeys commands (`lab.rs`). The engine calls the stage in the order
//! the client's frames arrive, so a stage acts before anything later in the
//! same read is looked at. The plain echo pays nothing for the seam: its
//! methods are tiny and inline into the engine.

use tokio::time::Instant;

use super::output::{Output, Piece};

/// What the engine must do after a stage ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Carry on. (A stage that closed has written its close frame through
    /// [`Output::close`]; the engine sees that and waits for the reply.)
    Continue,
    /// Send what is already in the output, then end TCP without a close frame.
    Drop,
}

/// What an endpoint does with the client's messages.
pub(crate) trait Stage: Send {
    /// A checked piece of a data message arrived.
    fn data(&mut self, piece: Piece<'_>, out: &mut Output, now: Instant) -> Action;

    /// When [`Stage::wake`] next has something to do.
    fn deadline(&self) -> Option<Instant>;

    /// Does what is due at `now`.
    fn wake(&mut self, out: &mut Output, now: Instant) -> Action;

    /// A pong arrived from the client at `now`.
    fn pong(&mut self, out: &mut Output, now: Instant);
}

/// The plain echo: every piece goes straight back.
pub(crate) struct Echo;

impl Stage for Echo {
    #[inline]
    fn data(&mut self, piece: Piece<'_>, out: &mut Output, _: Instant) -> Action {
        out.echo(piece);
        Action::Continue
    }

    #[inline]
    fn deadline(&self) -> Option<Instant> {
        None
    }

    #[inline]
    fn wake(&mut self, _: &mut Output, _: Instant) -> Action {
        Action::Continue
    }

    #[inline]
    fn pong(&mut self, _: &mut Output, _: Instant) {}
}
