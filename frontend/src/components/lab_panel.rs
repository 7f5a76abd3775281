//! The lab: one button per command of `/ws/lab`, each saying beforehand what
//! the browser will show and why.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::ids::use_ids;

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

/// One button of the lab.
struct Command {
    button: &'static str,
    /// The command; the fields' values follow it, separated by spaces. Empty
    /// for "Refuse upgrade", which reconnects instead of sending.
    command: &'static str,
    /// Each field's label and first value.
    fields: &'static [(&'static str, &'static str)],
    /// What the browser will show, and why.
    hint: &'static str,
}

const COMMANDS: [Command; 7] = [
    Command {
        button: "Close",
        command: "/close",
        fields: &[("Code", "4000"), ("Reason", "bye from the lab")],
        hint: "The server sends a close frame with this code and reason; the browser answers it and fires close with \
               the same code and reason, wasClean true (RFC 6455 5.5.1).",
    },
    Command {
        button: "Drop connection",
        command: "/drop",
        fields: &[],
        hint: "The server ends TCP without a close frame. With no close frame the browser reports close code 1006, \
               wasClean false (RFC 6455 7.1.5); Chromium fires no error event first.",
    },
    Command {
        button: "Delay echoes",
        command: "/delay",
        fields: &[("Delay (ms)", "500")],
        hint: "Later echoes wait this long on the server (a report confirms): their RTT in the log grows by that much.",
    },
    Command {
        button: "Server ping",
        command: "/ping",
        fields: &[],
        hint: "The server sends a ping; the browser answers with a pong by itself. No event exists for either (the \
               WHATWG API has none), so the server reports the pong's time as a message.",
    },
    Command {
        button: "Fragmented message",
        command: "/fragment",
        fields: &[("Frames", "3"), ("Text", "one message, three frames")],
        hint: "The server sends the text as one message in that many frames; the browser reassembles them and fires \
               one message event, then the server reports the frames.",
    },
    Command { button: "Help", command: "/help", fields: &[], hint: "The server lists its commands." },
    Command {
        button: "Refuse upgrade",
        command: "",
        fields: &[("Status", "503")],
        hint: "Reconnects to /ws/lab?status=N, which answers that HTTP status instead of 101. The page sees error, \
               then close 1006: the status is hidden from scripts on purpose (only DevTools shows it).",
    },
];

/// The lab's commands.
#[function_component]
pub fn LabPanel(props: &LabPanelProps) -> Html {
    let ids = use_ids();
    // Every field's value, in the order of COMMANDS.
    let values = use_state(|| {
        COMMANDS.iter().flat_map(|command| command.fields).map(|(_, value)| value.to_string()).collect::<Vec<_>>()
    });
    let mut first = 0;
    let rows = COMMANDS.iter().map(|command| {
        let range = first..first + command.fields.len();
        first = range.end;
        let fields = range.clone().zip(command.fields).map(|(index, (label, _))| {
            let id = ids.of(&format!("lab-{index}"));
            let (value, values) = (values[index].clone(), values.clone());
            let oninput = Callback::from(move |event: InputEvent| {
                let mut changed = (*values).clone();
                changed[index] = event.target_unchecked_into::<HtmlInputElement>().value();
                values.set(changed);
            });
            html! {
                <span class="field narrow">
                    <label for={id.clone()}>{ *label }</label>
                    <input {id} type="text" {value} {oninput} autocomplete="off" />
                </span>
            }
        });
        let (values, name) = (values.clone(), command.command);
        let (oncommand, onrefuse) = (props.oncommand.clone(), props.onrefuse.clone());
        let onclick = Callback::from(move |_: MouseEvent| {
            let given = &values[range.clone()];
            match name {
                "" => onrefuse.emit(given.concat()),
                _ => oncommand.emit(
                    std::iter::once(name).chain(given.iter().map(|value| value.trim())).collect::<Vec<_>>().join(" "),
                ),
            }
        });
        html! {
            <div class="row lab-command">
                { for fields }
                <button type="button" {onclick} disabled={!props.lab && !name.is_empty()}>{ command.button }</button>
                <p class="hint">{ command.hint }</p>
            </div>
        }
    });
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
            { for rows }
        </section>
    }
}
