//! The URL box, Connect and Disconnect, and the ready state by name and number.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::ready_state::ReadyState;

/// Props of [`ConnectBar`].
#[derive(Properties, PartialEq)]
pub struct ConnectBarProps {
    pub url: String,
    pub ready_state: ReadyState,
    pub onurl: Callback<String>,
    pub onconnect: Callback<()>,
    pub ondisconnect: Callback<()>,
}

/// Where to connect, and the socket's state.
#[function_component]
pub fn ConnectBar(props: &ConnectBarProps) -> Html {
    let oninput = props.onurl.reform(|event: InputEvent| event.target_unchecked_into::<HtmlInputElement>().value());
    let onsubmit = {
        let (onconnect, can_connect) = (props.onconnect.clone(), props.ready_state.can_connect());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if can_connect {
                onconnect.emit(());
            }
        })
    };
    let ondisconnect = props.ondisconnect.reform(|_: MouseEvent| ());
    let state = props.ready_state;
    html! {
        <form class="connect-bar" {onsubmit}>
            <label for="url">{ "URL" }</label>
            <input id="url" type="url" value={props.url.clone()} {oninput} spellcheck="false" autocomplete="off" />
            <button type="submit" disabled={!state.can_connect()}>{ "Connect" }</button>
            <button type="button" onclick={ondisconnect} disabled={!state.can_disconnect()}>{ "Disconnect" }</button>
            <p class="ready-state">
                <span id="ready-state-label">{ "readyState" }</span>
                <output aria-labelledby="ready-state-label" class={classes!("state", state.name().to_lowercase())}
                        data-ready-state={state.number().to_string()}>
                    { format!("{} ({})", state.name(), state.number()) }
                </output>
            </p>
        </form>
    }
}
