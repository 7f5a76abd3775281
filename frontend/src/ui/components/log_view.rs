//! The event log: every event and sent message, newest at the bottom, followed
//! as it grows; filtered, searched, copied, exported and imported.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::file::callbacks::FileReader;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::browser::borrowed::lowercase;
use crate::browser::clipboard;
use crate::model::expanded::Expanded;
use crate::model::explain::{explain, Texts};
use crate::model::filter::{newest_matching, Direction, Filter};
use crate::model::log::{Entry, Kind, Log, Payload, Record};
use crate::ui::hooks::ids::use_ids;
use crate::ui::hooks::texts::use_texts;
use crate::util::format::escape_html;
use crate::util::json;

/// At most this many entries are drawn: the newest that pass the filter. Longer
/// logs stay complete in memory (for Search, filters and Export), but drawing
/// 100,000 rows would make every event cost a long frame.
pub const DRAWN_LIMIT: usize = 500;

/// How a control's `change` event edits the filter.
type FilterChange = Rc<dyn Fn(&mut Filter, &Event)>;

/// Props of [`LogView`].
#[derive(Properties)]
pub struct LogViewProps {
    pub log: Log,
    pub filter: Filter,
    /// The name of the imported file being shown instead of the live log.
    pub imported: Option<String>,
    pub onfilter: Callback<Filter>,
    pub onclear: Callback<()>,
    /// Export: given the log shown.
    pub onexport: Callback<Log>,
    /// A file chosen for Import: its name and text.
    pub onimport: Callback<(String, String)>,
    /// Back from an imported session to the live log.
    pub onlive: Callback<()>,
    /// Something the log could not do, in words.
    pub onerror: Callback<String>,
}

/// The log is compared by identity, not entry by entry: a log that changed
/// shares fewer chunks with the one drawn, and comparing 100,000 entries by
/// value on every render of the panel would cost a frame.
impl PartialEq for LogViewProps {
    fn eq(&self, other: &LogViewProps) -> bool {
        self.log.same_as(&other.log)
            && self.filter == other.filter
            && self.imported == other.imported
            && self.onfilter == other.onfilter
            && self.onclear == other.onclear
            && self.onexport == other.onexport
            && self.onimport == other.onimport
            && self.onlive == other.onlive
            && self.onerror == other.onerror
    }
}

/// The log, with its tools.
#[function_component]
pub fn LogView(props: &LogViewProps) -> Html {
    let ids = use_ids();
    let list = use_node_ref();
    let paused = use_state(|| false);
    let pretty = use_state(|| false);
    // The file being imported; replacing or dropping the reader aborts it.
    let reading: Rc<RefCell<Option<FileReader>>> = use_mut_ref(|| None);
    // Which rows are expanded: kept in a cell and redrawn by hand, so that the
    // toggle callback is made once and rows that did not change are not drawn again.
    let expanded = use_mut_ref(Expanded::default);
    let ontoggle = {
        let (expanded, redraw) = (expanded.clone(), use_force_update());
        use_memo((), move |()| {
            Callback::from(move |id| {
                expanded.borrow_mut().toggle(id);
                redraw.force_update();
            })
        })
    };
    let (shown, total) = newest_matching(props.log.iter(), &props.filter, DRAWN_LIMIT, lowercase);
    // Shown entries are in id order.
    expanded.borrow_mut().keep_drawn(|id| shown.binary_search_by_key(&id, |entry| entry.id).is_ok());
    let expanded = expanded.borrow();
    {
        // Follow new entries: after each render that added one, scroll to the end.
        let list = list.clone();
        let last_id = shown.last().map(|entry| entry.id);
        use_effect_with((last_id, *paused), move |(last_id, paused)| {
            // Nothing to follow in an empty log (scrolling would only make the
            // browser lay the page out early).
            if let Some(element) = list.cast::<web_sys::HtmlElement>().filter(|_| !paused && last_id.is_some()) {
                element.set_scroll_top(element.scroll_height());
            }
        });
    }

    let set_filter = |change: FilterChange| {
        let (filter, onfilter) = (props.filter.clone(), props.onfilter.clone());
        Callback::from(move |event: Event| {
            let mut filter = filter.clone();
            change(&mut filter, &event);
            onfilter.emit(filter);
        })
    };
    let onsearch = {
        let (filter, onfilter) = (props.filter.clone(), props.onfilter.clone());
        Callback::from(move |event: InputEvent| {
            let search = event.target_unchecked_into::<HtmlInputElement>().value();
            onfilter.emit(Filter { search, ..filter.clone() });
        })
    };
    let ondirection = set_filter(Rc::new(|filter, event| {
        filter.direction = Direction::from_label(&event.target_unchecked_into::<HtmlSelectElement>().value());
    }));
    let checked = |event: &Event| event.target_unchecked_into::<HtmlInputElement>().checked();
    let onpause = {
        let paused = paused.clone();
        Callback::from(move |event: Event| paused.set(checked(&event)))
    };
    let onpretty = {
        let pretty = pretty.clone();
        Callback::from(move |event: Event| pretty.set(checked(&event)))
    };
    let onchoose = {
        let onimport = props.onimport.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            // Choosing the same file again must fire `change` again.
            input.set_value("");
            let file = gloo::file::File::from(file);
            let (name, onimport) = (file.name(), onimport.clone());
            let reader = gloo::file::callbacks::read_as_text(&file, move |result| {
                onimport.emit((name, result.unwrap_or_else(|error| format!("unreadable file: {error}"))));
            });
            *reading.borrow_mut() = Some(reader);
        })
    };
    let onclear = props.onclear.reform(|_: MouseEvent| ());
    let onexport = {
        let (log, onexport) = (props.log.clone(), props.onexport.clone());
        Callback::from(move |_: MouseEvent| onexport.emit(log.clone()))
    };
    let onlive = props.onlive.reform(|_: MouseEvent| ());
    let filter = &props.filter;
    let count = if total == props.log.len() {
        format!("{} entries", props.log.len())
    } else {
        format!("{total} of {} entries", props.log.len())
    };
    html! {
        <section class="log-panel" aria-labelledby={ids.of("log-heading")}>
            <div class="log-header">
                <h2 id={ids.of("log-heading")}>{ "Event log" }</h2>
                <span class="count">{ count }</span>
                <button type="button" onclick={onexport}>{ "Export" }</button>
                <span class="field file-field">
                    <label for={ids.of("import")}>{ "Import" }</label>
                    <input id={ids.of("import")} type="file" accept=".json,application/json" onchange={onchoose} />
                </span>
                <button type="button" onclick={onclear}>{ "Clear" }</button>
            </div>
            <div class="log-tools">
                <fieldset class="kinds">
                    <legend>{ "Show" }</legend>
                    { for Kind::ALL.into_iter().map(|kind| {
                        let id = ids.of(&format!("show-{}", kind.label()));
                        let onchange = set_filter(Rc::new(move |filter, event| {
                            filter.set_shown(kind, event.target_unchecked_into::<HtmlInputElement>().checked());
                        }));
                        html! {
                            <span class="check">
                                <input id={id.clone()} type="checkbox" checked={!filter.hidden.contains(&kind)} {onchange} />
                                <label for={id}>{ kind.label() }</label>
                            </span>
                        }
                    }) }
                </fieldset>
                <span class="field narrow">
                    <label for={ids.of("direction")}>{ "Direction" }</label>
                    <select id={ids.of("direction")} onchange={ondirection}>
                        { for Direction::ALL.into_iter().map(|each| html! {
                            <option value={each.label()} selected={each == filter.direction}>{ each.label() }</option>
                        }) }
                    </select>
                </span>
                <span class="field">
                    <label for={ids.of("search")}>{ "Search" }</label>
                    <input id={ids.of("search")} type="search" value={filter.search.clone()} oninput={onsearch} autocomplete="off" />
                </span>
                <span class="check">
                    <input id={ids.of("pause")} type="checkbox" checked={*paused} onchange={onpause} />
                    <label for={ids.of("pause")}>{ "Pause scrolling" }</label>
                </span>
                <span class="check">
                    <input id={ids.of("pretty")} type="checkbox" checked={*pretty} onchange={onpretty} />
                    <label for={ids.of("pretty")}>{ "Pretty JSON" }</label>
                </span>
            </div>
            if let Some(name) = &props.imported {
                <p class="log-note imported">
                    { format!("Viewing the imported session {name}, not the live connection. ") }
                    <button type="button" onclick={onlive}>{ "Back to live log" }</button>
                </p>
            }
            if total > shown.len() {
                <p class="log-note dropped" data-hidden-count={(total - shown.len()).to_string()}>
                    { format!(
                        "Showing the newest {} of {total} entries; the {} older ones are kept (Search, filters and \
                         Export reach them) but not drawn, so the page stays fast.",
                        shown.len(), total - shown.len()
                    ) }
                </p>
            }
            <ol class="log" role="log" aria-labelledby={ids.of("log-heading")} aria-relevant="additions" ref={list}>
                { for shown.iter().map(|entry| html! {
                    <LogRow key={entry.id} entry={SharedEntry(Rc::clone(entry))} expanded={expanded.contains(entry.id)}
                            pretty={*pretty} ontoggle={(*ontoggle).clone()} onerror={props.onerror.clone()} />
                }) }
            </ol>
        </section>
    }
}

/// An entry as a prop: equal when it is the same shared entry, so a row whose
/// entry did not change is not drawn again (its pairing changes make a new one).
#[derive(Clone)]
pub struct SharedEntry(pub Rc<Entry>);

impl PartialEq for SharedEntry {
    fn eq(&self, other: &SharedEntry) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// Props of [`LogRow`].
#[derive(Properties, PartialEq)]
pub struct LogRowProps {
    pub entry: SharedEntry,
    /// Whether the details are shown.
    pub expanded: bool,
    pub pretty: bool,
    /// Expands or collapses the entry with this id. This and `onerror` must be
    /// the same callbacks on every render, or every row is drawn again on
    /// every event.
    pub ontoggle: Callback<u64>,
    /// Why Copy failed.
    pub onerror: Callback<String>,
}

/// One entry of the log: a line with its number, time, kind, direction, size,
/// a preview of the data and its pairing, which expands (a button: Enter or
/// Space) to show every property, the explanation and Copy.
#[function_component]
pub fn LogRow(props: &LogRowProps) -> Html {
    let entry = &*props.entry.0;
    let explaining = use_state(|| false);
    // The explanations' prose is fetched when the first one is asked for.
    let texts = use_texts(*explaining && props.expanded);
    let ids = use_ids();
    let kind = entry.record.kind().label();
    let details_id = ids.of(&format!("entry-{}", entry.id));
    let ontoggle = {
        let (ontoggle, id) = (props.ontoggle.clone(), entry.id);
        Callback::from(move |_: MouseEvent| ontoggle.emit(id))
    };
    html! {
        <li class="entry" data-kind={kind} data-id={entry.id.to_string()}>
            <button type="button" class="entry-line" onclick={ontoggle} aria-expanded={props.expanded.to_string()}
                    aria-controls={details_id.clone()}>
                { Html::from_html_unchecked(line_markup(entry).into()) }
            </button>
            if props.expanded {
                { details(props, &details_id, &explaining, texts) }
            }
        </li>
    }
}

/// An expanded row's properties, Explain (with the explanation once asked for) and Copy.
fn details(
    props: &LogRowProps,
    id: &AttrValue,
    explaining: &UseStateHandle<bool>,
    texts: Option<Result<Rc<Texts>, String>>,
) -> Html {
    let entry = &*props.entry.0;
    let mut details = entry.details();
    if props.pretty {
        if let Some(formatted) = pretty_json(&entry.record) {
            details.push(("JSON", formatted));
        }
    }
    let oncopy = {
        let (entry, onerror) = (Rc::clone(&props.entry.0), props.onerror.clone());
        Callback::from(move |_: MouseEvent| {
            if let Err(message) = clipboard::copy_text(&entry.to_text()) {
                onerror.emit(format!("Not copied: {message}"));
            }
        })
    };
    let onexplain = {
        let explaining = explaining.clone();
        Callback::from(move |_: MouseEvent| explaining.set(!*explaining))
    };
    let explain_id = format!("{id}-explain");
    // As text, like the line: escaped, and far less code than a tree of elements.
    let mut list = String::from("<dl class=details>");
    for (name, value) in details {
        let (name, value) = (escape_html(name), escape_html(&value));
        list += &format!("<div class=detail data-name=\"{name}\"><dt>{name}</dt><dd>{value}</dd></div>");
    }
    html! {
        <div class="entry-details" {id}>
            { Html::from_html_unchecked((list + "</dl>").into()) }
            <p>
                <button type="button" class="explain-toggle" onclick={onexplain} aria-expanded={explaining.to_string()}
                        aria-controls={explain_id.clone()}>
                    { if **explaining { "Hide explanation" } else { "Explain" } }
                </button>
                <button type="button" class="copy" onclick={oncopy}>{ "Copy" }</button>
            </p>
            if **explaining {
                { Html::from_html_unchecked(match texts {
                    Some(Ok(texts)) => texts.render(&explain(entry), &explain_id),
                    Some(Err(why)) => format!(
                        "<p class=notice id=\"{explain_id}\" role=alert>The explanation could not be loaded: {}.</p>",
                        escape_html(&why)
                    ),
                    None => format!("<p class=hint id=\"{explain_id}\">Loading the explanation…</p>"),
                }.into()) }
            }
        </div>
    }
}

/// A row's one line, as markup: its number, time, kind, direction, size, a
/// preview of the data and its pairing. Built as text, escaped (data and
/// imported times are anyone's), because a row is drawn for every event and a
/// string costs the page one call where elements cost a dozen.
fn line_markup(entry: &Entry) -> String {
    let record = &entry.record;
    let size = record.payload().map_or_else(String::new, |payload| format!("{} B", payload.size_bytes()));
    let mut markup = format!(
        "<span class=id>#{}</span><time class=time>{}</time><span class=kind>{}</span><span class=dir>{}</span>\
         <span class=size>{size}</span><span class=summary>{}</span>",
        entry.id,
        escape_html(&entry.time),
        record.kind().label(),
        if record.kind() == Kind::Sent { "out" } else { "in" },
        escape_html(&record.summary()),
    );
    if let Some(link) = entry.link.badge() {
        let word = link.split(' ').next().unwrap_or_default();
        markup += &format!("<span class=link data-link={word}>{link}</span>");
    }
    markup
}

/// A text message's data pretty-printed, when it is a JSON object or array.
fn pretty_json(record: &Record) -> Option<String> {
    let (Record::Message { payload: Payload::Text(text), .. } | Record::Sent { payload: Payload::Text(text) }) = record
    else {
        return None;
    };
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    json::parse(text).ok().map(|value| value.to_pretty())
}
