//! The Message box, its mode, and Send.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::file::callbacks::FileReader;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::model::draft::Mode;
use crate::model::history::{caret_on_first_line, caret_on_last_line};
use crate::model::ready_state::ReadyState;
use crate::ui::hooks::ids::use_ids;

/// What [`use_composer`] shows and whom it tells. (`Properties` so that a test
/// can mount it.)
#[derive(Properties, PartialEq, Clone)]
pub struct ComposerProps {
    pub draft: String,
    pub mode: Mode,
    pub ready_state: ReadyState,
    /// The chosen file's name and size, in File mode.
    pub file: Option<(String, usize)>,
    pub ondraft: Callback<String>,
    pub onmode: Callback<Mode>,
    pub onsend: Callback<()>,
    /// ↑ on the first line: the previous sent message.
    pub onolder: Callback<()>,
    /// ↓ on the last line: the next one.
    pub onnewer: Callback<()>,
    /// Format, in JSON mode.
    pub onformat: Callback<()>,
    /// A file was read: its name and bytes.
    pub onfile: Callback<(String, Vec<u8>)>,
}

/// Types and sends a message. Send is disabled, with the reason shown, unless
/// the socket is OPEN; the draft stays in the box until it is sent.
///
/// A hook drawn by the panel, not a component of its own: a component costs the
/// page its own copy of yew's mounting, rendering and props-comparison code.
#[hook]
pub fn use_composer(props: ComposerProps) -> Html {
    let props = &props;
    let ids = use_ids();
    // The file being read; replacing or dropping the reader aborts it.
    let reading: Rc<RefCell<Option<FileReader>>> = use_mut_ref(|| None);
    let blocked = props.ready_state.send_blocked_reason();
    let oninput =
        props.ondraft.reform(|event: InputEvent| event.target_unchecked_into::<HtmlTextAreaElement>().value());
    // Send is a plain button, not a form's submit button: submitting a form
    // makes the browser lay out the whole page first (to validate it).
    let onclick = props.onsend.reform(|_: MouseEvent| ());
    let onkeydown = {
        let (onsend, onolder, onnewer) = (props.onsend.clone(), props.onolder.clone(), props.onnewer.clone());
        let can_send = blocked.is_none();
        Callback::from(move |event: KeyboardEvent| {
            let area = event.target_unchecked_into::<HtmlTextAreaElement>();
            let value = area.value();
            let start = area.selection_start().ok().flatten().unwrap_or(0);
            let end = area.selection_end().ok().flatten().unwrap_or(start);
            let plain = !(event.shift_key() || event.alt_key() || event.ctrl_key() || event.meta_key());
            match event.key().as_str() {
                // Enter while an input method composes a character belongs to it.
                "Enter" if !event.shift_key() && !event.is_composing() => {
                    event.prevent_default();
                    if can_send {
                        onsend.emit(());
                    }
                }
                "ArrowUp" if plain && start == end && caret_on_first_line(&value, start) => {
                    event.prevent_default();
                    onolder.emit(());
                }
                "ArrowDown" if plain && start == end && caret_on_last_line(&value, end) => {
                    event.prevent_default();
                    onnewer.emit(());
                }
                _ => {}
            }
        })
    };
    let onmode = props
        .onmode
        .reform(|event: Event| Mode::from_label(&event.target_unchecked_into::<HtmlSelectElement>().value()));
    let onformat = props.onformat.reform(|_: MouseEvent| ());
    let onchoose = {
        let onfile = props.onfile.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            let file = gloo::file::File::from(file);
            let (name, onfile) = (file.name(), onfile.clone());
            let reader = gloo::file::callbacks::read_as_bytes(&file, move |result| {
                if let Ok(bytes) = result {
                    onfile.emit((name, bytes));
                }
            });
            *reading.borrow_mut() = Some(reader);
        })
    };
    let mode = props.mode;
    html! {
        <form class="composer">
            <div class="row">
                <label for={ids.of("mode")}>{ "Mode" }</label>
                <select id={ids.of("mode")} onchange={onmode}>
                    { for Mode::ALL.into_iter().map(|each| html! {
                        <option value={each.label()} selected={each == mode}>{ each.label() }</option>
                    }) }
                </select>
                if mode == Mode::Json {
                    <button type="button" onclick={onformat}>{ "Format" }</button>
                }
                if mode == Mode::File {
                    <label for={ids.of("file")}>{ "File" }</label>
                    <input id={ids.of("file")} type="file" onchange={onchoose} />
                    if let Some((name, size)) = &props.file {
                        <span class="file-info">{ format!("{name} · {size} bytes") }</span>
                    }
                }
            </div>
            <div class="row">
                <label for={ids.of("message")}>{ "Message" }</label>
                <textarea id={ids.of("message")} rows="2" value={props.draft.clone()} {oninput} {onkeydown} autocomplete="off"
                          spellcheck="false" placeholder="Type a message; Enter sends, Shift+Enter adds a line"
                          aria-describedby={ids.of("send-hint")} disabled={mode == Mode::File} />
                <button type="button" {onclick} disabled={blocked.is_some()}>{ "Send" }</button>
            </div>
            <p id={ids.of("send-hint")} class="hint">
                { match blocked {
                    Some(reason) => format!("Send is disabled: {reason}."),
                    None => mode.hint().to_owned(),
                } }
            </p>
        </form>
    }
}
