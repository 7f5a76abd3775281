//! The URL box, the protocols to offer, Connect and Disconnect with the close
//! code and reason, automatic reconnection, and the ready state by name and number.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::model::ready_state::ReadyState;
use crate::model::session::reconnect::Due;
use crate::model::session::{Negotiated, Setting};
use crate::model::settings::Settings;
use crate::ui::components::reconnect_status::use_reconnect_status;
use crate::ui::hooks::ids::use_ids;
use crate::util::format::quoted;

/// What [`use_connect_bar`] shows and whom it tells. (`Properties` so that a
/// test can mount it.)
#[derive(Properties, PartialEq, Clone)]
pub struct ConnectBarProps {
    pub url: String,
    pub settings: Settings,
    pub ready_state: ReadyState,
    /// `WebSocket.protocol` and `.extensions` once open.
    pub negotiated: Option<Negotiated>,
    /// The scheduled retry, if any.
    pub due: Option<Due>,
    pub onurl: Callback<String>,
    pub onsetting: Callback<Setting>,
    pub onconnect: Callback<()>,
    pub ondisconnect: Callback<()>,
}

fn text_input(callback: &Callback<Setting>, setting: fn(String) -> Setting) -> Callback<InputEvent> {
    callback.reform(move |event: InputEvent| setting(event.target_unchecked_into::<HtmlInputElement>().value()))
}

/// Where to connect, how to close, and the socket's state.
///
/// A hook drawn by the panel, not a component of its own: a component costs the
/// page its own copy of yew's mounting, rendering and props-comparison code.
#[hook]
pub fn use_connect_bar(props: ConnectBarProps) -> Html {
    let props = &props;
    let ids = use_ids();
    let oninput = props.onurl.reform(|event: InputEvent| event.target_unchecked_into::<HtmlInputElement>().value());
    // Connect is a plain button, not a form's submit button: submitting a form
    // makes the browser lay out the whole page first (to validate its fields),
    // which held the socket back by tens of milliseconds on a fresh page.
    // Enter in the URL box connects too.
    let can_connect = props.ready_state.can_connect();
    let onconnect = props.onconnect.reform(|_: MouseEvent| ());
    let onkeydown = {
        let onconnect = props.onconnect.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" && can_connect {
                event.prevent_default();
                onconnect.emit(());
            }
        })
    };
    let ondisconnect = props.ondisconnect.reform(|_: MouseEvent| ());
    let onreconnect = props
        .onsetting
        .reform(|event: Event| Setting::AutoReconnect(event.target_unchecked_into::<HtmlInputElement>().checked()));
    let oninspect = props
        .onsetting
        .reform(|event: Event| Setting::Inspect(event.target_unchecked_into::<HtmlInputElement>().checked()));
    let state = props.ready_state;
    // Disconnect also cancels a scheduled retry, so it stays available then.
    let can_disconnect = state.can_disconnect() || props.due.is_some();
    let settings = &props.settings;
    let reconnect = use_reconnect_status(props.due);
    html! {
        <form class="connect-bar">
            <div class="row">
                <label for={ids.of("url")}>{ "URL" }</label>
                <input id={ids.of("url")} type="url" value={props.url.clone()} {oninput} {onkeydown} spellcheck="false"
                       autocomplete="off" />
                <button type="button" onclick={onconnect} disabled={!can_connect}>{ "Connect" }</button>
                <button type="button" onclick={ondisconnect} disabled={!can_disconnect}>{ "Disconnect" }</button>
            </div>
            <div class="row options">
                <span class="field">
                    <label for={ids.of("protocols")}>{ "Protocols" }</label>
                    <input id={ids.of("protocols")} type="text" value={settings.protocols.clone()} spellcheck="false"
                           autocomplete="off" placeholder="none; e.g. chat, v2" aria-describedby={ids.of("protocols-hint")}
                           oninput={text_input(&props.onsetting, Setting::Protocols)} />
                </span>
                <span class="field narrow">
                    <label for={ids.of("close-code")}>{ "Close code" }</label>
                    <input id={ids.of("close-code")} type="text" inputmode="numeric" value={settings.close_code.clone()}
                           autocomplete="off" oninput={text_input(&props.onsetting, Setting::CloseCode)} />
                </span>
                <span class="field">
                    <label for={ids.of("close-reason")}>{ "Close reason" }</label>
                    <input id={ids.of("close-reason")} type="text" value={settings.close_reason.clone()} autocomplete="off"
                           placeholder="at most 123 bytes" oninput={text_input(&props.onsetting, Setting::CloseReason)} />
                </span>
                <span class="check">
                    <input id={ids.of("inspect")} type="checkbox" checked={settings.inspect} onchange={oninspect}
                           aria-describedby={ids.of("inspect-hint")} />
                    <label for={ids.of("inspect")}>{ "Show the handshake" }</label>
                </span>
                <span class="check">
                    <input id={ids.of("auto-reconnect")} type="checkbox" checked={settings.auto_reconnect} onchange={onreconnect} />
                    <label for={ids.of("auto-reconnect")}>{ "Reconnect automatically" }</label>
                </span>
            </div>
            // Fixed prose as text: cheaper for the page than a tree of elements.
            { Html::from_html_unchecked(format!(
                "<p id={p}protocols-hint class=hint>Protocols are offered in Sec-WebSocket-Protocol: /ws/lab selects \
                 the first, /ws one the server lists (--subprotocol). When none is selected, browsers fail the \
                 handshake (error, then close 1006). Disconnect closes with the Close code (1000 or 3000–4999) and \
                 reason.</p><p id={p}inspect-hint class=hint>Show the handshake adds the query parameter \
                 <code>inspect</code> to the URL: this server then sends its handshake report as the first message \
                 (not an echo); other servers ignore it.</p>",
                p = ids.0
            ).into()) }
            <p class="ready-state">
                <span id={ids.of("ready-state-label")}>{ "readyState" }</span>
                <output aria-labelledby={ids.of("ready-state-label")} class="state"
                        data-ready-state={state.number().to_string()}>
                    { format!("{} ({})", state.name(), state.number()) }
                </output>
                if let Some(Negotiated { protocol, extensions }) = &props.negotiated {
                    <span class="negotiated" data-negotiated="">
                        { "protocol " }<code class="protocol">{ quoted(protocol) }</code>
                        { " · extensions " }<code class="extensions">{ quoted(extensions) }</code>
                    </span>
                }
                { reconnect }
            </p>
        </form>
    }
}
