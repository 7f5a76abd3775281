//! One connection's ready-state timeline: each state it was seen in, with the
//! time since Connect was pressed.

use crate::model::ready_state::ReadyState;

/// The states one connection went through, as observed by the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// When Connect was pressed (monotonic ms); `None` before the first Connect.
    started_ms: Option<f64>,
    /// (state, ms since `started_ms`), in order, no state twice in a row.
    steps: Vec<(ReadyState, f64)>,
}

impl Timeline {
    /// A new connection, started at `at_ms` in `state` (CONNECTING, or CLOSED
    /// when the browser refused the URL at once).
    pub fn start(state: ReadyState, at_ms: f64) -> Timeline {
        Timeline { started_ms: Some(at_ms), steps: vec![(state, 0.0)] }
    }

    /// The socket was seen in `state` at `at_ms`. Repeats are ignored, and so
    /// is anything seen before a connection started.
    pub fn observe(&mut self, state: ReadyState, at_ms: f64) {
        let Some(started_ms) = self.started_ms else {
            return;
        };
        if self.steps.last().map(|(last, _)| *last) != Some(state) {
            self.steps.push((state, (at_ms - started_ms).max(0.0)));
        }
    }

    /// The steps: each state and when it was reached, in ms after Connect.
    pub fn steps(&self) -> &[(ReadyState, f64)] {
        &self.steps
    }

    /// The time from Connect to the last step, in ms (the drawing's width).
    pub fn span_ms(&self) -> f64 {
        self.steps.last().map_or(0.0, |(_, at)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReadyState::*;

    #[test]
    fn records_each_change_relative_to_connect() {
        let mut timeline = Timeline::default();
        timeline.observe(Open, 5.0);
        assert!(timeline.steps().is_empty(), "nothing before a Connect");
        let mut timeline = Timeline::start(Connecting, 1000.0);
        timeline.observe(Connecting, 1001.0);
        timeline.observe(Open, 1012.5);
        timeline.observe(Open, 1100.0);
        timeline.observe(Closing, 1500.0);
        timeline.observe(Closed, 1503.0);
        assert_eq!(timeline.steps(), [(Connecting, 0.0), (Open, 12.5), (Closing, 500.0), (Closed, 503.0)]);
        assert_eq!(timeline.span_ms(), 503.0);
    }

    #[test]
    fn a_refused_connection_goes_straight_to_closed() {
        let mut timeline = Timeline::start(Connecting, 0.0);
        timeline.observe(Closed, 3.0);
        assert_eq!(timeline.steps(), [(Connecting, 0.0), (Closed, 3.0)]);
    }
}
