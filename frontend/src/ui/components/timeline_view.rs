//! The connection's ready-state timeline: CONNECTING → OPEN → CLOSING →
//! CLOSED on a line, with the time each was reached.

use yew::prelude::*;

use crate::model::ready_state::ReadyState;
use crate::model::timeline::Timeline;
use crate::ui::hooks::ids::Ids;
use crate::util::format::{fixed, format_ms};

/// The ready states of the current connection on a line, with their times
/// (ms after Connect) in text, in the tab whose element ids are `ids`.
///
/// A plain function drawn by the panel, not a component: a few elements are
/// cheaper to compare on each of the panel's renders than a component's own
/// copy of yew's mounting and diffing code is to load.
pub fn timeline_view(timeline: &Timeline, ids: &Ids) -> Html {
    let steps = timeline.steps();
    // A state still current (not CLOSED) gets the last fifth of the bar, so that
    // an open connection shows as OPEN rather than as a sliver at the end.
    let ongoing = steps.last().is_some_and(|(state, _)| *state != ReadyState::Closed);
    let span = timeline.span_ms().max(1.0) * if ongoing { 1.25 } else { 1.0 };
    html! {
        <section class="timeline" aria-labelledby={ids.of("timeline-heading")}>
            <h2 id={ids.of("timeline-heading")}>{ "Ready-state timeline" }</h2>
            if steps.is_empty() {
                <p class="hint">{ "Connect to see CONNECTING → OPEN → CLOSING → CLOSED with their times." }</p>
            } else {
                <svg class="timeline-chart" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true">
                    { for steps.iter().enumerate().map(|(index, (state, at))| {
                        let end = steps.get(index + 1).map_or(100.0, |(_, next)| 100.0 * next / span);
                        let start = 100.0 * at / span;
                        html! {
                            <rect x={fixed(start, 2)} y="0" width={fixed((end - start).max(0.5), 2)} height="4"
                                  data-ready-state={state.number().to_string()} />
                        }
                    }) }
                </svg>
                <ol class="timeline-steps">
                    { for steps.iter().map(|(state, at)| html! {
                        <li data-ready-state={state.number().to_string()}>
                            <span class="state-name">{ state.name() }</span>{ format!(" at {}", format_ms(*at)) }
                        </li>
                    }) }
                </ol>
            }
        </section>
    }
}
