//! Seeing the protocol: the handshake inspector (the server's report of the
//! upgrade, with `Sec-WebSocket-Accept` recomputed here) and the connection's
//! ready-state timeline.

use std::rc::Rc;

use yew::prelude::*;

use crate::components::ids::use_ids;
use crate::explain::{use_texts, Texts};
use crate::ready_state::ReadyState;
use crate::report::{header_meaning, AcceptCheck, Handshake, HttpHead};
use crate::stats::{fixed, format_ms};
use crate::timeline::Timeline;

/// Props of [`HandshakeInspector`].
#[derive(Properties, PartialEq)]
pub struct HandshakeInspectorProps {
    /// The current connection's report, or why it could not be read.
    pub report: Option<Rc<Result<Handshake, String>>>,
    /// Whether the page asks for the report ("Show the handshake").
    pub inspect: bool,
    pub ready_state: ReadyState,
}

/// The upgrade request and the `101` response, each header explained, and the
/// accept value recomputed step by step.
///
/// Closed until opened: its summary line already says what was asked, what
/// came back and whether the accept value checks out, and drawing forty
/// explained headers (and fetching their prose) right after `open` would delay
/// the first echo on screen by tens of milliseconds.
#[function_component]
pub fn HandshakeInspector(props: &HandshakeInspectorProps) -> Html {
    let ids = use_ids();
    let open = use_state(|| false);
    // The headers' meanings and the accept steps are fetched prose, asked for
    // when a report is first shown opened.
    let texts = use_texts(*open && matches!(props.report.as_deref(), Some(Ok(_))));
    let ontoggle = {
        let open = open.clone();
        Callback::from(move |event: Event| {
            if let Some(details) = event.target_dyn_into::<web_sys::HtmlDetailsElement>() {
                open.set(details.open());
            }
        })
    };
    let body = match (props.report.as_deref(), texts) {
        (Some(Ok(handshake)), texts) => {
            let check = AcceptCheck::of(handshake);
            let summary = format!("{} → {}", handshake.request.line, handshake.response.line);
            html! {
                <details class="handshake" open={*open} {ontoggle}>
                    <summary>
                        <code>{ summary }</code>{ " · " }{ verdict(check.as_ref()) }
                    </summary>
                    if *open {
                        { match texts {
                            Some(Ok(texts)) => html! {
                                <>
                                    { head("Request", "sent by the browser", &handshake.request, &texts) }
                                    { head("Response", "sent by the server", &handshake.response, &texts) }
                                    { accept(check, &texts) }
                                </>
                            },
                            Some(Err(why)) => html! {
                                <p class="notice" role="alert">{ format!("The handshake's explanations could not be loaded: {why}.") }</p>
                            },
                            None => html! { <p class="hint">{ "Loading the handshake's explanations…" }</p> },
                        } }
                    }
                </details>
            }
        }
        (Some(Err(why)), _) => {
            html! { <p class="notice" role="alert">{ format!("The handshake report could not be read: {why}.") }</p> }
        }
        (None, _) if !props.inspect => html! {
            <p class="hint">{ "Tick Show the handshake, then connect, to see it here." }</p>
        },
        (None, _) if props.ready_state == ReadyState::Open => html! {
            <p class="hint">{ "No report came: the server at this URL does not send one (only this app's server understands inspect)." }</p>
        },
        (None, _) => html! { <p class="hint">{ "Connect to see the handshake of the new connection." }</p> },
    };
    html! {
        <section class="inspector" aria-labelledby={ids.of("inspector-heading")}>
            <h2 id={ids.of("inspector-heading")}>{ "Handshake" }</h2>
            { body }
        </section>
    }
}

/// Whether the server's `Sec-WebSocket-Accept` is the one recomputed here.
fn verdict(check: Option<&AcceptCheck>) -> Html {
    let (verified, text) = match check {
        None => (false, "nothing to verify: the request has no Sec-WebSocket-Key".to_owned()),
        Some(check) if check.verified() => (true, "verified: the server's Sec-WebSocket-Accept matches".to_owned()),
        Some(AcceptCheck { received: Some(received), .. }) => {
            (false, format!("NOT matching: the server sent {received}"))
        }
        Some(_) => (false, "NOT matching: the response has no Sec-WebSocket-Accept".to_owned()),
    };
    html! { <span class="verdict" role="status" data-verified={verified.to_string()}>{ text }</span> }
}

fn head(title: &str, by: &str, head: &HttpHead, texts: &Texts) -> Html {
    html! {
        <div class="http-head" data-side={title.to_ascii_lowercase()}>
            <h3>{ format!("{title}, {by}") }</h3>
            <p class="http-line"><code>{ &head.line }</code></p>
            <dl class="details">
                { for head.headers.iter().map(|(name, value)| html! {
                    <div class="detail header" data-name={name.clone()}>
                        <dt><code>{ name }</code></dt>
                        <dd><code>{ value }</code><span class="meaning">{ header_meaning(texts, name) }</span></dd>
                    </div>
                }) }
            </dl>
        </div>
    }
}

fn accept(check: Option<AcceptCheck>, texts: &Texts) -> Html {
    let Some(check) = check else {
        return html! { <p class="notice">{ "The request has no Sec-WebSocket-Key, so there is nothing to verify." }</p> };
    };
    html! {
        <div class="accept">
            <h3>{ texts.get("accept") }</h3>
            <ol class="steps">
                { for texts.get("step").split(';').zip([&check.key, &check.concatenated, &check.sha1_hex, &check.expected]).map(
                    |(step, value)| html! { <li>{ step }{ " " }<code>{ value }</code></li> }
                ) }
            </ol>
        </div>
    }
}

/// Props of [`TimelineView`].
#[derive(Properties, PartialEq)]
pub struct TimelineViewProps {
    pub timeline: Timeline,
}

/// The ready states of the current connection on a line, with their times
/// (ms after Connect) in text.
#[function_component]
pub fn TimelineView(props: &TimelineViewProps) -> Html {
    let ids = use_ids();
    let steps = props.timeline.steps();
    // A state still current (not CLOSED) gets the last fifth of the bar, so that
    // an open connection shows as OPEN rather than as a sliver at the end.
    let ongoing = steps.last().is_some_and(|(state, _)| *state != crate::ready_state::ReadyState::Closed);
    let span = props.timeline.span_ms().max(1.0) * if ongoing { 1.25 } else { 1.0 };
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
