//! The handshake inspector: the server's report of the upgrade, each header
//! explained, what was negotiated (compression, subprotocol), with
//! `Sec-WebSocket-Accept` recomputed here.

use std::rc::Rc;

use yew::prelude::*;

use crate::model::inspector::inspector_html;
use crate::model::ready_state::ReadyState;
use crate::model::report::{AcceptCheck, Handshake};
use crate::ui::hooks::ids::use_ids;
use crate::ui::hooks::texts::use_texts;
use crate::util::format::escape_html;

/// Props of [`HandshakeInspector`].
#[derive(Properties)]
pub struct HandshakeInspectorProps {
    /// The current connection's report, or why it could not be read.
    pub report: Option<Rc<Result<Handshake, String>>>,
    /// Whether the page asks for the report ("Show the handshake").
    pub inspect: bool,
    pub ready_state: ReadyState,
}

/// A report is compared by identity: each one read is a new `Rc`, kept as it
/// is until the next connection.
impl PartialEq for HandshakeInspectorProps {
    fn eq(&self, other: &HandshakeInspectorProps) -> bool {
        let same_report = match (&self.report, &other.report) {
            (Some(this), Some(that)) => Rc::ptr_eq(this, that),
            (this, that) => this.is_none() && that.is_none(),
        };
        same_report && self.inspect == other.inspect && self.ready_state == other.ready_state
    }
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
    // Markup as text wherever nothing listens: it costs the page far less than
    // a tree of elements. Every value from the report is escaped.
    let raw = |html: String| Html::from_html_unchecked(html.into());
    let body = match (props.report.as_deref(), texts) {
        (Some(Ok(handshake)), texts) => {
            let check = AcceptCheck::of(handshake);
            let summary = format!(
                "<code>{} → {}</code> · {}",
                escape_html(&handshake.request.line),
                escape_html(&handshake.response.line),
                verdict(check.as_ref())
            );
            let opened = match texts {
                _ if !*open => String::new(),
                Some(Ok(texts)) => inspector_html(&texts, handshake, check),
                Some(Err(why)) => format!(
                    "<p class=notice role=alert>The handshake's explanations could not be loaded: {}.</p>",
                    escape_html(&why)
                ),
                None => "<p class=hint>Loading the handshake's explanations…</p>".to_owned(),
            };
            html! {
                <details class="handshake" open={*open} {ontoggle}>
                    <summary>{ raw(summary) }</summary>
                    { raw(opened) }
                </details>
            }
        }
        (Some(Err(why)), _) => {
            raw(format!("<p class=notice role=alert>The handshake report could not be read: {}.</p>", escape_html(why)))
        }
        (None, _) => raw(format!(
            "<p class=hint>{}</p>",
            match (props.inspect, props.ready_state) {
                (false, _) => "Tick Show the handshake, then connect, to see it here.",
                (true, ReadyState::Open) => {
                    "No report came: the server at this URL does not send one (only this app's server understands inspect)."
                }
                (true, _) => "Connect to see the handshake of the new connection.",
            }
        )),
    };
    html! {
        <section class="inspector" aria-labelledby={ids.of("inspector-heading")}>
            <h2 id={ids.of("inspector-heading")}>{ "Handshake" }</h2>
            { body }
        </section>
    }
}

/// Whether the server's `Sec-WebSocket-Accept` is the one recomputed here, as markup.
fn verdict(check: Option<&AcceptCheck>) -> String {
    let (verified, text) = match check {
        None => (false, "nothing to verify: the request has no Sec-WebSocket-Key".to_owned()),
        Some(check) if check.verified() => (true, "verified: the server's Sec-WebSocket-Accept matches".to_owned()),
        Some(AcceptCheck { received: Some(received), .. }) => {
            (false, format!("NOT matching: the server sent {}", escape_html(received)))
        }
        Some(_) => (false, "NOT matching: the response has no Sec-WebSocket-Accept".to_owned()),
    };
    format!("<span class=verdict role=status data-verified={verified}>{text}</span>")
}
