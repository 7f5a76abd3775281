//! "Lab and polling": the lab's commands, each saying beforehand what the
//! browser will show and why, and "Compare with polling" with its results.
//!
//! The controls and their explanations are a static file (`frontend/lab.html`,
//! copied into the bundle) that is fetched when the section is first opened, so
//! the prose costs the page nothing until it is wanted. Its buttons say what
//! they do in `data-lab` attributes, and one click listener here acts on them.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, WebSocket};
use yew::prelude::*;

use crate::browser::comparison_runner::{self, Progress, Run, Target};
use crate::browser::fetch::Fetcher;
use crate::browser::location;
use crate::model::comparison::plan::Plan;
use crate::model::comparison::results::{percent_of, Row};
use crate::model::lab;
use crate::ui::hooks::ids::use_ids;
use crate::util::format::{fixed, format_ms};

/// What [`use_lab_panel`] shows and whom it tells.
pub struct LabPanelProps {
    /// Whether an open connection to `/ws/lab` takes commands.
    pub lab: bool,
    /// Puts a URL in the URL box ("Use the lab endpoint").
    pub onurl: Callback<String>,
    /// Sends a command text.
    pub oncommand: Callback<String>,
    /// Reconnects to the lab asking it to refuse the upgrade with this status.
    pub onrefuse: Callback<String>,
    /// The page's open socket on `/ws` or `/ws/lab`, if any, at the time of asking
    /// (a comparison uses it when it does not compress).
    pub socket: Callback<(), Option<WebSocket>>,
    /// The page's default socket URL (`/ws` on its host): the lab is beside it, and a
    /// comparison opens a socket there when the tab has none.
    pub socket_url: AttrValue,
    /// Told each text a comparison sends on the page's socket.
    pub onsent: Callback<String>,
    /// Something that could not be done, in words.
    pub onerror: Callback<String>,
}

/// The section, its fetched controls and the comparison's results.
///
/// A hook drawn by the panel, not a component of its own: a component costs the
/// page its own copy of yew's mounting, rendering and props-comparison code.
#[hook]
pub fn use_lab_panel(props: LabPanelProps) -> Html {
    let props = &props;
    let prefix = use_ids().0;
    // Kept in a cell and redrawn by hand: one state for the section costs the
    // page less than a `use_state` per part.
    let state = use_mut_ref(Section::default);
    let redraw = use_force_update();
    // Sets the comparison's progress and redraws.
    let show: Rc<dyn Fn(Progress)> = {
        let (state, redraw) = (state.clone(), redraw.clone());
        Rc::new(move |progress: Progress| {
            state.borrow_mut().progress = progress;
            redraw.force_update();
        })
    };
    {
        // Unmounting abandons a running comparison: its timer, listeners and socket go.
        let state = state.clone();
        use_effect_with((), move |()| {
            move || {
                if let Some(run) = state.borrow_mut().run.take() {
                    run.cancel();
                }
            }
        });
    }
    // One listener for the whole section: the summary loads the controls on the
    // first opening (a click, or Enter or Space on it), and every button says in
    // `data-lab` what it does.
    let onclick = {
        let props_lab = props.lab;
        let (onurl, oncommand, onrefuse) = (props.onurl.clone(), props.oncommand.clone(), props.onrefuse.clone());
        let (socket, socket_url, onsent) = (props.socket.clone(), props.socket_url.clone(), props.onsent.clone());
        let (onerror, state, redraw, show) = (props.onerror.clone(), state.clone(), redraw.clone(), show.clone());
        Callback::from(move |event: MouseEvent| {
            let Some(clicked) = event.target().and_then(|target| target.dyn_into::<Element>().ok()) else {
                return;
            };
            if clicked.closest("summary").ok().flatten().is_some() {
                if state.borrow().controls.is_none() {
                    let (state, redraw, prefix, onerror) =
                        (state.clone(), redraw.clone(), prefix.clone(), onerror.clone());
                    let loaded = Fetcher::new(
                        Box::new(move |_, text| {
                            // `$` stands for the tab's id prefix.
                            state.borrow_mut().controls = Some(text.replace('$', &prefix).into());
                            redraw.force_update();
                        }),
                        Rc::new(move |why| onerror.emit(format!("The lab could not be loaded: {why}"))),
                    );
                    loaded.fetch("/lab.html", None);
                }
                return;
            }
            let Some(button) = clicked.closest("[data-lab]").ok().flatten() else {
                return;
            };
            let values: Vec<String> = button
                .get_attribute("data-fields")
                .unwrap_or_default()
                .split_ascii_whitespace()
                .map(|name| field_value(&prefix, name))
                .collect();
            match button.get_attribute("data-lab").unwrap_or_default().as_str() {
                "use" => onurl.emit(lab::lab_url(&socket_url)),
                "refuse" => onrefuse.emit(values.concat()),
                "stop" => {
                    let stopped = state.borrow_mut().run.take();
                    if let Some(run) = stopped {
                        run.cancel();
                        let rows = state.borrow().progress.rows.clone();
                        show(Progress { rows, status: "Stopped.".to_owned(), running: false });
                    }
                }
                "compare" => {
                    // `lab.html` names the three fields; a copy edited wrong is
                    // reported, never indexed past its end.
                    let plan = match values.as_slice() {
                        [count, size, interval] => Plan::parse(count, size, interval),
                        _ => Err("The lab's controls are damaged: Compare needs three fields".to_owned()),
                    };
                    let plan = match plan {
                        Ok(plan) => plan,
                        Err(message) => return show(Progress { status: message, ..Progress::default() }),
                    };
                    let target = Target {
                        origin: location::origin(),
                        // The page's socket only while it does not compress: the lab
                        // measures what compressed frames take.
                        socket: socket.emit(()).filter(|socket| !socket.extensions().contains("deflate")),
                        // The lab, which reports what compressed messages take on the wire, asked
                        // for the handshake report, so that its bytes can be counted.
                        socket_url: format!("{}?inspect", lab::lab_url(&socket_url)),
                        onsent: {
                            let onsent = onsent.clone();
                            Rc::new(move |text| onsent.emit(text))
                        },
                    };
                    let started = comparison_runner::start(plan, target, Rc::clone(&show));
                    let earlier = state.borrow_mut().run.replace(started);
                    if let Some(earlier) = earlier {
                        earlier.cancel();
                    }
                }
                _ if !props_lab => onerror.emit(
                    "Not sent: lab commands need an open connection to /ws/lab (Use the lab endpoint, then Connect)"
                        .to_owned(),
                ),
                command => {
                    let mut text = command.to_owned();
                    for value in values.iter().map(|value| value.trim()).filter(|value| !value.is_empty()) {
                        text.push(' ');
                        text.push_str(value);
                    }
                    oncommand.emit(text);
                }
            }
        })
    };
    let state = state.borrow();
    let progress = &state.progress;
    html! {
        <details class="learn" {onclick}>
            <summary>{ "Lab and polling" }</summary>
            { state.controls.as_ref().map(|html| Html::from_html_unchecked(html.clone())) }
            <p class="compare-status" role="status">
                { progress.status.clone() }
                if progress.running {
                    { " " }<button type="button" class="secondary" data-lab="stop">{ "Stop" }</button>
                }
            </p>
            if !progress.rows.is_empty() {
                { results(&progress.rows) }
            }
        </details>
    }
}

/// What the section keeps.
#[derive(Default)]
struct Section {
    /// The fetched controls, once the section has been opened.
    controls: Option<AttrValue>,
    /// The comparison's progress and results.
    progress: Progress,
    /// The running comparison, if any.
    run: Option<Rc<Run>>,
}

/// The value of the input `name` in this tab (empty when there is none).
fn field_value(prefix: &str, name: &str) -> String {
    gloo::utils::document()
        .get_element_by_id(&format!("{prefix}{name}"))
        .and_then(|element| element.dyn_into::<HtmlInputElement>().ok())
        .map(|input| input.value())
        .unwrap_or_default()
}

/// The results as markup: a table, and a chart of the same numbers. Built as
/// text because every part is a number or a fixed word (nothing to escape),
/// which costs the page far less than a tree of elements.
fn results(rows: &[Row]) -> Html {
    let slowest = rows.iter().map(|row| row.median_ms).fold(0.0, f64::max);
    let largest = rows.iter().map(|row| row.bytes).max().unwrap_or(0) as f64;
    let mut table = String::from(
        "<table><thead><tr><th scope=col>Method<th scope=col>Messages<th scope=col>Median<th scope=col>Max\
         <th scope=col>Requests<th scope=col>Bytes on the wire</thead><tbody>",
    );
    let mut chart = format!(
        "<svg class=compare-chart viewBox=\"0 0 100 {}\" preserveAspectRatio=none role=img aria-label=\"Median latency \
         (upper bars) and bytes on the wire (lower bars) per method, as in the table\">",
        rows.len() * 16
    );
    for (index, row) in rows.iter().enumerate() {
        let name = row.method.label();
        let note = if row.note.is_empty() { String::new() } else { format!(" ({})", row.note) };
        let (median, bytes) = (format_ms(row.median_ms), row.bytes);
        table += &format!(
            "<tr><th scope=row>{name}<td>{}<td>{median}<td>{}<td>{}<td>{bytes}{note}</tr>",
            row.messages,
            format_ms(row.max_ms),
            row.requests
        );
        chart += &format!(
            "<rect class=latency y={} height=6 width={}><title>{name}: median {median}</title></rect>\
             <rect class=bytes y={} height=6 width={}><title>{name}: {bytes} bytes</title></rect>",
            index * 16,
            fixed(percent_of(row.median_ms, slowest), 2),
            index * 16 + 7,
            fixed(percent_of(bytes as f64, largest), 2)
        );
    }
    Html::from_html_unchecked(format!("<div class=compare-result>{table}</tbody></table>{chart}</svg></div>").into())
}
