//! The countdown to the next automatic reconnection attempt.

use gloo::timers::callback::Interval;
use yew::prelude::*;

use crate::browser::monotonic_ms;
use crate::state::Due;
use crate::stats::fixed;

/// Props of [`ReconnectStatus`].
#[derive(Properties, PartialEq)]
pub struct ReconnectStatusProps {
    pub due: Option<Due>,
}

/// "Reconnect attempt 2 in 1.2 s", ticking down while a retry is due.
#[function_component]
pub fn ReconnectStatus(props: &ReconnectStatusProps) -> Html {
    let now = use_state(monotonic_ms);
    let started = use_mut_ref(monotonic_ms);
    {
        // Each retry gets its own ticker, dropped (and so stopped) with the next
        // retry, when none is due, or on unmount.
        let (now, started) = (now.clone(), started.clone());
        use_effect_with(props.due.map(|due| due.serial), move |serial| {
            *started.borrow_mut() = monotonic_ms();
            now.set(monotonic_ms());
            let ticker = serial.map(|_| Interval::new(100, move || now.set(monotonic_ms())));
            move || drop(ticker)
        });
    }
    let Some(due) = props.due else {
        return html! {};
    };
    let remaining_ms = (due.delay_ms - (*now - *started.borrow())).max(0.0);
    html! {
        <span class="reconnect" data-attempt={due.attempt.to_string()}>
            // Only the attempt is announced; a countdown read out ten times a
            // second would drown everything else.
            <span role="status">{ format!("Reconnect attempt {}", due.attempt) }</span>
            <span aria-hidden="true">{ format!(" in {} s", fixed(remaining_ms / 1000.0, 1)) }</span>
        </span>
    }
}
