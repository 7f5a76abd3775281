//! The event log: every event and sent message, newest at the bottom, followed
//! as it grows.

use yew::prelude::*;

use crate::event_log::Entry;

/// Props of [`LogView`].
#[derive(Properties, PartialEq)]
pub struct LogViewProps {
    pub entries: Vec<Entry>,
    pub onclear: Callback<()>,
}

/// The log, with its Clear button.
#[function_component]
pub fn LogView(props: &LogViewProps) -> Html {
    let list = use_node_ref();
    {
        // Follow new entries: after each render that added one, scroll to the end.
        let list = list.clone();
        let last_id = props.entries.last().map(|entry| entry.id);
        use_effect_with(last_id, move |_| {
            if let Some(element) = list.cast::<web_sys::HtmlElement>() {
                element.set_scroll_top(element.scroll_height());
            }
        });
    }
    let onclear = props.onclear.reform(|_: MouseEvent| ());
    html! {
        <section class="log-panel" aria-labelledby="log-heading">
            <div class="log-header">
                <h2 id="log-heading">{ "Event log" }</h2>
                <span class="count">{ format!("{} entries", props.entries.len()) }</span>
                <button type="button" onclick={onclear}>{ "Clear" }</button>
            </div>
            <ol class="log" role="log" aria-labelledby="log-heading" ref={list}>
                { for props.entries.iter().map(entry_view) }
            </ol>
        </section>
    }
}

fn entry_view(entry: &Entry) -> Html {
    let kind = entry.record.kind().label();
    html! {
        <li key={entry.id} class={classes!("entry", kind)} data-kind={kind}>
            <div class="entry-line">
                <time class="time">{ &entry.time }</time>
                <span class="kind">{ kind }</span>
                <span class="summary">{ entry.record.summary() }</span>
            </div>
            <dl class="details">
                { for entry.record.details().into_iter().map(|(name, value)| html! {
                    <div class="detail" data-name={name}>
                        <dt>{ name }</dt>
                        <dd>{ value }</dd>
                    </div>
                }) }
            </dl>
        </li>
    }
}
