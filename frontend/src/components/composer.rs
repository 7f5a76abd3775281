//! The Message box and Send.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::ready_state::ReadyState;

/// Props of [`Composer`].
#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    pub draft: String,
    pub ready_state: ReadyState,
    pub ondraft: Callback<String>,
    pub onsend: Callback<()>,
}

/// Types and sends a text message. Send is disabled, with the reason shown,
/// unless the socket is OPEN; the draft stays in the box until it is sent.
#[function_component]
pub fn Composer(props: &ComposerProps) -> Html {
    let blocked = props.ready_state.send_blocked_reason();
    let oninput = props.ondraft.reform(|event: InputEvent| event.target_unchecked_into::<HtmlInputElement>().value());
    let onsubmit = {
        let (onsend, can_send) = (props.onsend.clone(), blocked.is_none());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if can_send {
                onsend.emit(());
            }
        })
    };
    html! {
        <form class="composer" {onsubmit}>
            <label for="message">{ "Message" }</label>
            <input id="message" type="text" value={props.draft.clone()} {oninput} autocomplete="off"
                   placeholder="Type a message; Enter sends" aria-describedby="send-hint" />
            <button type="submit" disabled={blocked.is_some()}>{ "Send" }</button>
            <p id="send-hint" class="hint">
                { match blocked {
                    Some(reason) => format!("Send is disabled: {reason}."),
                    None => "Enter or Send sends the message as text.".to_owned(),
                } }
            </p>
        </form>
    }
}
