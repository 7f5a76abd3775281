//! The lab: one button per command of `/ws/lab`, each saying beforehand what
//! the browser will show and why.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::ids::{use_ids, Ids};

/// Props of [`LabPanel`].
#[derive(Properties, PartialEq)]
pub struct LabPanelProps {
    /// Whether an open connection to `/ws/lab` takes commands.
    pub lab: bool,
    /// "Use the lab endpoint": puts the lab's URL in the URL box.
    pub onuse: Callback<()>,
    /// Sends a command text.
    pub oncommand: Callback<String>,
    /// Reconnects to the lab asking it to refuse the upgrade with this status.
    pub onrefuse: Callback<String>,
}

/// A text field of the lab, kept by the component.
fn field(ids: &Ids, name: &'static str, label: &'static str, value: &UseStateHandle<String>) -> Html {
    let oninput = {
        let value = value.clone();
        Callback::from(move |event: InputEvent| value.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    html! {
        <span class="field narrow">
            <label for={ids.of(name)}>{ label }</label>
            <input id={ids.of(name)} type="text" value={(**value).clone()} {oninput} autocomplete="off" />
        </span>
    }
}

/// The lab's commands.
#[function_component]
pub fn LabPanel(props: &LabPanelProps) -> Html {
    let ids = use_ids();
    let code = use_state(|| "4000".to_owned());
    let reason = use_state(|| "bye from the lab".to_owned());
    let delay = use_state(|| "500".to_owned());
    let frames = use_state(|| "3".to_owned());
    let text = use_state(|| "one message, three frames".to_owned());
    let status = use_state(|| "503".to_owned());
    // Each command: its button, what it sends, and what the browser will show.
    let command = |name: &'static str, make: Box<dyn Fn() -> String>, hint: &'static str, fields: Html| {
        let oncommand = props.oncommand.clone();
        let onclick = Callback::from(move |_: MouseEvent| oncommand.emit(make()));
        html! {
            <div class="row lab-command">
                { fields }
                <button type="button" {onclick} disabled={!props.lab}>{ name }</button>
                <p class="hint">{ hint }</p>
            </div>
        }
    };
    let (code_value, reason_value, delay_value) = ((*code).clone(), (*reason).clone(), (*delay).clone());
    let (frames_value, text_value) = ((*frames).clone(), (*text).clone());
    let onrefuse = {
        let (onrefuse, status) = (props.onrefuse.clone(), status.clone());
        Callback::from(move |_: MouseEvent| onrefuse.emit((*status).clone()))
    };
    html! {
        <section class="lab" aria-labelledby={ids.of("lab-heading")}>
            <div class="row">
                <h2 id={ids.of("lab-heading")}>{ "Lab" }</h2>
                <button type="button" class="secondary" onclick={props.onuse.reform(|_| ())}>{ "Use the lab endpoint" }</button>
            </div>
            <p class="hint">
                { "/ws/lab echoes like /ws, but a text starting with / is a command (not echoed): the server \
                   misbehaves on purpose. Use the lab endpoint, Connect, then try each. Reports come back as \
                   messages; the log reads them." }
            </p>
            { command("Close", Box::new(move || format!("/close {} {}", code_value.trim(), reason_value)),
                "The server sends a close frame with this code and reason; the browser answers it and fires close \
                 with the same code and reason, wasClean true (RFC 6455 5.5.1).",
                html! { <>{ field(&ids, "lab-code", "Code", &code) }{ field(&ids, "lab-reason", "Reason", &reason) }</> }) }
            { command("Drop connection", Box::new(|| "/drop".to_owned()),
                "The server ends TCP without a close frame. With no close frame the browser reports close code 1006, \
                 wasClean false (RFC 6455 7.1.5); Chromium fires no error event first.",
                Html::default()) }
            { command("Delay echoes", Box::new(move || format!("/delay {}", delay_value.trim())),
                "Later echoes wait this long on the server (a report confirms): their RTT in the log grows by that much.",
                field(&ids, "lab-delay", "Delay (ms)", &delay)) }
            { command("Server ping", Box::new(|| "/ping".to_owned()),
                "The server sends a ping; the browser answers with a pong by itself. No event exists for either (the \
                 WHATWG API has none), so the server reports the pong's time as a message.",
                Html::default()) }
            { command("Fragmented message", Box::new(move || format!("/fragment {} {}", frames_value.trim(), text_value)),
                "The server sends the text as one message in that many frames; the browser reassembles them and fires \
                 one message event, then the server reports the frames.",
                html! { <>{ field(&ids, "lab-frames", "Frames", &frames) }{ field(&ids, "lab-text", "Text", &text) }</> }) }
            { command("Help", Box::new(|| "/help".to_owned()), "The server lists its commands.", Html::default()) }
            <div class="row lab-command">
                { field(&ids, "lab-status", "Status", &status) }
                <button type="button" onclick={onrefuse}>{ "Refuse upgrade" }</button>
                <p class="hint">
                    { "Reconnects to /ws/lab?status=N, which answers that HTTP status instead of 101. The page sees \
                       error, then close 1006: the status is hidden from scripts on purpose (only DevTools shows it)." }
                </p>
            </div>
        </section>
    }
}
