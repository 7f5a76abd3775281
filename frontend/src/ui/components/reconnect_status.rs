//! The countdown to the next automatic reconnection attempt.

use gloo::timers::callback::Interval;
use yew::prelude::*;

use crate::browser::clock::monotonic_ms;
use crate::model::session::reconnect::Due;
use crate::util::format::fixed;

/// "Reconnect attempt 2 in 1.2 s", ticking down while a retry is due.
///
/// A hook drawn by the connect bar, not a component: the countdown is written
/// straight into its element ten times a second by an interval this hook's
/// effect owns (dropped, and so stopped, with the next retry, when none is
/// due, or on unmount), so neither the panel nor a component of its own (and
/// its copy of yew's mounting code) is drawn again for it.
#[hook]
pub fn use_reconnect_status(due: Option<Due>) -> Html {
    let countdown = use_node_ref();
    {
        let countdown = countdown.clone();
        use_effect_with(due, move |due| {
            let ticker = due.map(|due| {
                let started = monotonic_ms();
                let tick = move || {
                    let remaining_ms = (due.delay_ms - (monotonic_ms() - started)).max(0.0);
                    if let Some(element) = countdown.get() {
                        element.set_text_content(Some(&format!(" in {} s", fixed(remaining_ms / 1000.0, 1))));
                    }
                };
                tick();
                Interval::new(100, tick)
            });
            move || drop(ticker)
        });
    }
    let Some(due) = due else {
        return html! {};
    };
    html! {
        <span class="reconnect" data-attempt={due.attempt.to_string()}>
            // Only the attempt is announced; a countdown read out ten times a
            // second would drown everything else.
            <span role="status">{ format!("Reconnect attempt {}", due.attempt) }</span>
            <span aria-hidden="true" ref={countdown}></span>
        </span>
    }
}
