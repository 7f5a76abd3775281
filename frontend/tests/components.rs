//! The components in a real browser: each is mounted alone with chosen props,
//! driven with real DOM events, and read back from the DOM.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use frontend::browser::borrowed::sorted;
use frontend::model::draft::Mode;
use frontend::model::filter::Filter;
use frontend::model::log::{Entry, Kind, Link, Log, Payload, Record};
use frontend::model::ready_state::ReadyState;
use frontend::model::session::reconnect::Due;
use frontend::model::session::Setting;
use frontend::model::settings::Settings;
use frontend::model::stats::{summarize, Traffic};
use frontend::ui::components::composer::{use_composer, ComposerProps};
use frontend::ui::components::connect_bar::{use_connect_bar, ConnectBarProps};
use frontend::ui::components::log_view::{LogView, LogViewProps, DRAWN_LIMIT};
use frontend::ui::components::stats_bar::{stats_bar, StatsBarProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, KeyboardEvent, KeyboardEventInit};
use yew::{AppHandle, BaseComponent, Callback};

wasm_bindgen_test_configure!(run_in_browser);

/// A component mounted into its own fresh element; unmounted and removed on drop.
struct Mounted<C: BaseComponent> {
    root: Element,
    handle: Option<AppHandle<C>>,
}

impl<C: BaseComponent> Drop for Mounted<C> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.destroy();
        }
        self.root.remove();
    }
}

impl<C: BaseComponent> Mounted<C> {
    /// Draws the component again with new props.
    fn update(&mut self, props: C::Properties) {
        self.handle.as_mut().expect("mounted").update(props);
    }

    fn find(&self, css: &str) -> Element {
        self.root.query_selector(css).unwrap().unwrap_or_else(|| panic!("nothing matches {css}"))
    }

    fn all(&self, css: &str) -> u32 {
        self.root.query_selector_all(css).unwrap().length()
    }

    fn text(&self, css: &str) -> String {
        self.find(css).text_content().unwrap_or_default()
    }

    /// The button named `name`.
    fn button(&self, name: &str) -> web_sys::HtmlButtonElement {
        let buttons = self.root.query_selector_all("button").unwrap();
        (0..buttons.length())
            .filter_map(|index| buttons.get(index)?.dyn_into::<web_sys::HtmlButtonElement>().ok())
            .find(|button| button.text_content().as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no button {name}"))
    }
}

async fn mount<C: BaseComponent>(props: C::Properties) -> Mounted<C> {
    let document = gloo::utils::document();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = yew::Renderer::<C>::with_root_and_props(root.clone(), props).render();
    settle().await;
    Mounted { root, handle: Some(handle) }
}

/// Lets Yew render and run effects.
async fn settle() {
    gloo_timers::future::sleep(Duration::from_millis(20)).await;
}

/// Waits until `done` holds (Yew renders in its own time on a busy machine),
/// for at most 5 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        gloo_timers::future::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 5 s: {what}");
}

/// Every value a callback was given.
fn recorder<T: 'static>() -> (Callback<T>, Rc<RefCell<Vec<T>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    (Callback::from(move |value| sink.borrow_mut().push(value)), seen)
}

fn press(target: &Element, key: &str, shift: bool) -> bool {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
    event.default_prevented()
}

struct ComposerCalls {
    sends: Rc<RefCell<Vec<()>>>,
    older: Rc<RefCell<Vec<()>>>,
    newer: Rc<RefCell<Vec<()>>>,
}

fn composer_props(ready_state: ReadyState, draft: &str) -> (ComposerProps, ComposerCalls) {
    let (onsend, sends) = recorder();
    let (onolder, older) = recorder();
    let (onnewer, newer) = recorder();
    let props = ComposerProps {
        draft: draft.into(),
        mode: Mode::Text,
        ready_state,
        file: None,
        ondraft: Callback::noop(),
        onmode: Callback::noop(),
        onsend,
        onolder,
        onnewer,
        onformat: Callback::noop(),
        onfile: Callback::noop(),
    };
    (props, ComposerCalls { sends, older, newer })
}

#[wasm_bindgen_test]
async fn enter_sends_shift_enter_does_not_and_arrows_recall_history() {
    let (props, calls) = composer_props(ReadyState::Open, "one\ntwo");
    let page = mount::<Composer>(props).await;
    let message = page.find("#message");
    assert_eq!(page.find("label[for=message]").text_content().as_deref(), Some("Message"));

    assert!(!press(&message, "Enter", true), "Shift+Enter is left to the textarea");
    assert!(calls.sends.borrow().is_empty());
    assert!(press(&message, "Enter", false));
    assert_eq!(calls.sends.borrow().len(), 1);

    let area: web_sys::HtmlTextAreaElement = message.clone().dyn_into().unwrap();
    area.set_selection_range(0, 0).unwrap();
    assert!(press(&message, "ArrowUp", false), "↑ on the first line recalls");
    assert!(!press(&message, "ArrowDown", false), "↓ on the first of two lines moves the caret");
    area.set_selection_range(7, 7).unwrap();
    assert!(press(&message, "ArrowDown", false), "↓ on the last line recalls");
    assert_eq!((calls.older.borrow().len(), calls.newer.borrow().len()), (1, 1));
}

#[wasm_bindgen_test]
async fn send_is_disabled_with_the_reason_unless_open() {
    let (props, calls) = composer_props(ReadyState::Connecting, "typed");
    let page = mount::<Composer>(props).await;
    let send = page.button("Send");
    assert!(send.disabled());
    assert!(page.text("#send-hint").contains("CONNECTING (0)"), "{}", page.text("#send-hint"));
    assert!(press(&page.find("#message"), "Enter", false), "Enter adds no line even when it cannot send");
    assert!(calls.sends.borrow().is_empty());
    assert_eq!(page.find("#message").dyn_into::<web_sys::HtmlTextAreaElement>().unwrap().value(), "typed");
}

fn entry(id: u64, record: Record, link: Link) -> Entry {
    Entry { id, time: "12:00:00.000".into(), at_ms: 0.0, record, link, facts: None }
}

fn log_props(log: Log, filter: Filter, onfilter: Callback<Filter>) -> LogViewProps {
    LogViewProps {
        log,
        filter,
        imported: None,
        onfilter,
        onclear: Callback::noop(),
        onexport: Callback::noop(),
        onimport: Callback::noop(),
        onlive: Callback::noop(),
        onerror: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn the_log_draws_only_the_newest_entries_and_says_how_many_it_left_out() {
    let total = 100_000;
    let log: Log = (1..=total)
        .map(|id| Rc::new(entry(id, Record::Sent { payload: Payload::Text(format!("<i>{id}</i>")) }, Link::Pending)))
        .collect();
    let started = js_sys::Date::now();
    let page = mount::<LogView>(log_props(log, Filter::default(), Callback::noop())).await;
    let elapsed = js_sys::Date::now() - started;
    console_log!("mounting a LogView of 100,000 entries took {elapsed} ms");
    assert_eq!(page.all("[role=log] > li"), DRAWN_LIMIT as u32);
    assert_eq!(page.text("[role=log] > li:last-child .summary"), "<i>100000</i>");
    assert_eq!(page.text("[role=log] > li:last-child .size"), "13 B");
    assert_eq!(page.text("[role=log] > li:last-child .link"), "pending");
    assert_eq!(page.all("[role=log] i"), 0, "markup is shown, never interpreted");
    let note = page.text(".log-note.dropped");
    assert!(note.starts_with("Showing the newest 500 of 100000 entries; the 99500 older ones"), "{note}");
    // Generous: drawing 500 rows of a 100,000-entry log takes tens of ms here.
    assert!(elapsed < 2000.0, "mounting took {elapsed} ms");
}

#[wasm_bindgen_test]
async fn a_row_is_one_line_until_expanded_and_stays_expanded_while_drawn() {
    let message = |id| {
        let record = Record::Message { payload: Payload::Text(format!("echo {id}")), origin: "ws://h".into() };
        Rc::new(entry(id, record, Link::EchoOf { sent: id - 1, rtt_ms: 0.5 }))
    };
    let log: Log = [message(2)].into_iter().collect();
    let mut page = mount::<LogView>(log_props(log.clone(), Filter::default(), Callback::noop())).await;
    let line = page.find("li[data-id='2'] .entry-line");
    assert_eq!(line.tag_name(), "BUTTON", "Enter and Space toggle it, and it is announced as a button");
    assert_eq!(line.get_attribute("aria-expanded").as_deref(), Some("false"));
    assert_eq!(page.text("li[data-id='2'] .summary"), "echo 2");
    assert_eq!(page.text("li[data-id='2'] .dir"), "in");
    assert_eq!(page.text("li[data-id='2'] .link"), "RTT 0.50 ms");
    assert_eq!(page.all(".detail, .copy, .explain-toggle"), 0, "details are drawn only when asked for");

    line.dyn_ref::<HtmlElement>().unwrap().click();
    until("expanded", || line.get_attribute("aria-expanded").as_deref() == Some("true")).await;
    let details_id = line.get_attribute("aria-controls").unwrap();
    assert_eq!(page.find(".entry-details").id(), details_id);
    assert_eq!(page.text("[data-name='MessageEvent.data'] dd"), "echo 2");
    assert_eq!((page.all(".copy"), page.all(".explain-toggle")), (1, 1));

    // A new entry is drawn; the expanded row stays expanded.
    let mut grown = log.clone();
    grown.push(message(3));
    page.update(log_props(grown, Filter::default(), Callback::noop()));
    until("the new entry drawn", || page.all("[role=log] > li") == 2).await;
    assert_eq!(page.all("[aria-expanded='true']"), 1);
    assert_eq!(page.find("li[data-id='3'] .entry-line").get_attribute("aria-expanded").as_deref(), Some("false"));

    // Filtered out, the row is no longer drawn and is forgotten: it comes back collapsed.
    let hidden = Filter { hidden: vec![Kind::Message], ..Filter::default() };
    page.update(log_props(log.clone(), hidden, Callback::noop()));
    until("the row filtered out", || page.all("[role=log] > li") == 0).await;
    page.update(log_props(log, Filter::default(), Callback::noop()));
    until("the row drawn again", || page.all("[role=log] > li") == 1).await;
    assert_eq!(page.all("[aria-expanded='true'], .entry-details"), 0);
}

#[wasm_bindgen_test]
async fn unticking_a_kind_reports_the_new_filter() {
    let log: Log = [Rc::new(entry(1, Record::Error, Link::None))].into_iter().collect();
    let (onfilter, filters) = recorder();
    let page = mount::<LogView>(log_props(log, Filter::default(), onfilter)).await;
    let checkbox: HtmlInputElement = page.find("#show-error").dyn_into().unwrap();
    checkbox.click();
    settle().await;
    assert_eq!(filters.borrow().last().map(|filter| filter.hidden.clone()), Some(vec![Kind::Error]));
}

/// The composer is a hook the panel draws; this component mounts it alone.
#[yew::function_component]
fn Composer(props: &ComposerProps) -> yew::Html {
    use_composer(props.clone())
}

/// The connect bar is a hook the panel draws; this component mounts it alone.
#[yew::function_component]
fn ConnectBar(props: &ConnectBarProps) -> yew::Html {
    use_connect_bar(props.clone())
}

/// The statistics bar is a plain function; this component mounts it alone.
#[yew::function_component]
fn StatsBar(props: &StatsBarProps) -> yew::Html {
    stats_bar(props)
}

#[wasm_bindgen_test]
async fn the_stats_bar_shows_counts_percentiles_and_buffered_amount() {
    let traffic = Traffic { sent_messages: 1, sent_bytes: 5, received_messages: 2, received_bytes: 10 };
    let props = StatsBarProps { traffic, rtt: summarize(&[1.0, 2.0, 30.0], sorted), pending: 3, buffered: Some(512) };
    let page = mount::<StatsBar>(props).await;
    let stat = |name: &str| page.text(&format!("[data-stat='{name}'] dd"));
    assert_eq!(stat("sent"), "1 msg · 5 B");
    assert_eq!(stat("received"), "2 msgs · 10 B");
    assert_eq!(stat("pending"), "3");
    assert_eq!((stat("RTT min"), stat("p50"), stat("max")), ("1.00 ms".into(), "2.00 ms".into(), "30.0 ms".into()));
    assert_eq!(stat("bufferedAmount"), "512 B");
}

fn connect_bar_props(ready_state: ReadyState, due: Option<Due>) -> ConnectBarProps {
    ConnectBarProps {
        url: "ws://127.0.0.1:1/ws".into(),
        settings: Settings::default(),
        ready_state,
        negotiated: None,
        due,
        onurl: Callback::noop(),
        onsetting: Callback::<Setting>::noop(),
        onconnect: Callback::noop(),
        ondisconnect: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn connect_and_enter_in_the_url_box_connect_without_submitting_a_form() {
    let (onconnect, connects) = recorder();
    let page = mount::<ConnectBar>(ConnectBarProps { onconnect, ..connect_bar_props(ReadyState::Closed, None) }).await;
    // A submit button would make the browser lay out the page before the
    // socket is even created.
    assert_eq!(page.all("button[type=submit]"), 0);
    page.button("Connect").click();
    assert!(press(&page.find("#url"), "Enter", false));
    assert_eq!(connects.borrow().len(), 2);

    let (onconnect, connects) = recorder();
    let page = mount::<ConnectBar>(ConnectBarProps { onconnect, ..connect_bar_props(ReadyState::Open, None) }).await;
    assert!(page.button("Connect").disabled());
    assert!(!press(&page.find("#url"), "Enter", false), "nothing to connect while open");
    assert!(connects.borrow().is_empty());
}

#[wasm_bindgen_test]
async fn a_scheduled_retry_shows_its_countdown_and_keeps_disconnect_available() {
    let (ondisconnect, disconnects) = recorder();
    let due = Some(Due { serial: 1, attempt: 3, delay_ms: 5000.0 });
    let page =
        mount::<ConnectBar>(ConnectBarProps { ondisconnect, ..connect_bar_props(ReadyState::Closed, due) }).await;
    let status = page.text(".reconnect");
    assert!(status.starts_with("Reconnect attempt 3 in "), "{status}");
    page.button("Disconnect").click();
    assert_eq!(disconnects.borrow().len(), 1);
    // The countdown ticks from its own timer.
    gloo_timers::future::sleep(Duration::from_millis(250)).await;
    assert_ne!(page.text(".reconnect"), status);
}
