//! The page: a header, the connection tabs, and one panel per connection.

use yew::prelude::*;

use crate::model::tabs::{TabAction, Tabs};
use crate::ui::hooks::ids::Ids;
use crate::ui::panel::ConnectionPanel;

/// The whole app.
#[function_component]
pub fn App() -> Html {
    let tabs = use_reducer(Tabs::default);
    let dispatch = |action: TabAction| {
        let tabs = tabs.clone();
        Callback::from(move |_: MouseEvent| tabs.dispatch(action))
    };
    // The tab list follows the ARIA tabs pattern: ← and → move between tabs.
    let onkeydown = {
        let tabs = tabs.clone();
        Callback::from(move |event: KeyboardEvent| {
            let step = match event.key().as_str() {
                "ArrowRight" => 1,
                "ArrowLeft" => -1,
                _ => return,
            };
            event.prevent_default();
            tabs.dispatch(TabAction::Step(step));
        })
    };
    {
        // Keyboard focus follows the selected tab.
        use_effect_with(tabs.active, |active| {
            let selected = gloo::utils::document().get_element_by_id(&format!("tab-{active}"));
            let focused_tab = gloo::utils::document()
                .active_element()
                .is_some_and(|element| element.get_attribute("role").as_deref() == Some("tab"));
            if let (Some(selected), true) = (selected, focused_tab) {
                let _ = wasm_bindgen::JsCast::unchecked_into::<web_sys::HtmlElement>(selected).focus();
            }
        });
    }
    let several = tabs.list.len() > 1;
    html! {
        <main class="app">
            <header>
                <h1>{ "WebSocket echo" }</h1>
                <p class="tagline">
                    { "One persistent connection, events instead of polling: every " }
                    <code>{ "open" }</code>{ ", " }<code>{ "message" }</code>{ ", " }
                    <code>{ "close" }</code>{ " and " }<code>{ "error" }</code>
                    { " event of the browser's own WebSocket, as it happens." }
                </p>
            </header>
            <nav class="tabs" aria-label="Connections">
                <div role="tablist" aria-label="Connections" {onkeydown}>
                    { for tabs.list.iter().map(|tab| {
                        let selected = tab.id == tabs.active;
                        html! {
                            <button type="button" role="tab" id={format!("tab-{}", tab.id)} key={tab.id}
                                    aria-selected={selected.to_string()} aria-controls={format!("panel-{}", tab.id)}
                                    tabindex={if selected { "0" } else { "-1" }} onclick={dispatch(TabAction::Select(tab.id))}
                                    class="tab">
                                { tab.label() }
                                <span class="tab-state" data-ready-state={tab.ready_state.number().to_string()}>
                                    { format!(" {}", tab.ready_state.name()) }
                                </span>
                            </button>
                        }
                    }) }
                </div>
                <button type="button" class="secondary" onclick={dispatch(TabAction::Add)}>{ "New connection" }</button>
                if several {
                    <button type="button" class="secondary" onclick={dispatch(TabAction::Close(tabs.active))}>
                        { "Close connection" }
                    </button>
                }
            </nav>
            // The panels are the only children of their element, so that Yew matches
            // them by key and adding or closing a tab never remounts another.
            <div class="panels">
            { for tabs.list.iter().map(|tab| html! {
                <section key={tab.id} role="tabpanel" id={format!("panel-{}", tab.id)} class="panel"
                         aria-labelledby={format!("tab-{}", tab.id)} hidden={tab.id != tabs.active}>
                    <ContextProvider<Ids> context={Ids(tab.id_prefix().into())}>
                        <ConnectionPanel tab={tab.id} tabs={tabs.dispatcher()} />
                    </ContextProvider<Ids>>
                </section>
            }) }
            </div>
        </main>
    }
}
