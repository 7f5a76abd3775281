//! "Compare with polling": the same messages over HTTP requests, polling and a
//! WebSocket, side by side as a table and a chart.

use std::rc::Rc;

use web_sys::{HtmlInputElement, WebSocket};
use yew::prelude::*;

use crate::compare::{self, Progress, Run, Target};
use crate::components::ids::use_ids;
use crate::stats::{fixed, format_ms};
use crate::wire::{percent_of, Plan, Row};

/// Props of [`ComparePanel`].
#[derive(Properties, PartialEq)]
pub struct ComparePanelProps {
    /// The page's open socket on `/ws` or `/ws/lab`, if any, at the time of asking.
    pub socket: Callback<(), Option<WebSocket>>,
    /// Where to open a socket for the run when there is none.
    pub socket_url: AttrValue,
    /// Told each text the run sends on the page's socket.
    pub onsent: Callback<String>,
}

/// The comparison's fields, button, results and chart.
#[function_component]
pub fn ComparePanel(props: &ComparePanelProps) -> Html {
    let ids = use_ids();
    let fields = use_state(|| ["20".to_owned(), "32".to_owned(), "250".to_owned()]);
    let progress = use_state(Progress::default);
    let run = use_mut_ref(|| None::<Rc<Run>>);
    {
        // Unmounting abandons a running comparison: its timer, listeners and socket go.
        let run = run.clone();
        use_effect_with((), move |()| {
            move || {
                if let Some(run) = run.borrow_mut().take() {
                    run.cancel();
                }
            }
        });
    }
    let onsubmit = {
        let (fields, progress, run) = (fields.clone(), progress.clone(), run.clone());
        let (socket, socket_url, onsent) = (props.socket.clone(), props.socket_url.clone(), props.onsent.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let plan = match Plan::parse(&fields[0], &fields[1], &fields[2]) {
                Ok(plan) => plan,
                Err(message) => return progress.set(Progress { status: message, ..Progress::default() }),
            };
            let target = Target {
                origin: gloo::utils::window().location().origin().unwrap_or_default(),
                socket: socket.emit(()),
                socket_url: socket_url.to_string(),
                onsent: onsent.clone(),
            };
            let onprogress = {
                let progress = progress.clone();
                Callback::from(move |update| progress.set(update))
            };
            if let Some(earlier) = run.borrow_mut().replace(compare::start(plan, target, onprogress)) {
                earlier.cancel();
            }
        })
    };
    let onstop = {
        let (run, progress) = (run.clone(), progress.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(run) = run.borrow_mut().take() {
                run.cancel();
                progress.set(Progress { rows: progress.rows.clone(), status: "Stopped.".to_owned(), running: false });
            }
        })
    };
    // The fields: Messages, Size and the polling interval.
    let inputs = FIELDS.iter().enumerate().map(|(index, label)| {
        let (id, value, fields) = (ids.of(&format!("compare-{index}")), fields[index].clone(), fields.clone());
        let oninput = Callback::from(move |event: InputEvent| {
            let mut values = (*fields).clone();
            values[index] = event.target_unchecked_into::<HtmlInputElement>().value();
            fields.set(values);
        });
        html! {
            <span class="field narrow">
                <label for={id.clone()}>{ *label }</label>
                <input {id} type="text" inputmode="numeric" {value} {oninput} />
            </span>
        }
    });
    html! {
        <form class="compare" {onsubmit} aria-labelledby={ids.of("compare-heading")}>
            <h2 id={ids.of("compare-heading")}>{ "Polling versus WebSocket" }</h2>
            { for inputs }
            <button type="submit" disabled={progress.running}>{ "Compare with polling" }</button>
            if progress.running {
                <button type="button" class="secondary" onclick={onstop}>{ "Stop" }</button>
            }
            <p class="hint">
                { "Sends the same messages three ways, one after the other: a POST /api/echo per message; a POST to a \
                   mailbox that is polled with GET every interval; and this tab's open socket (or one opened for the \
                   run). Bytes count both directions: HTTP heads and bodies against 2–14 bytes of frame header." }
            </p>
            <p class="compare-status" role="status">{ progress.status.clone() }</p>
            if !progress.rows.is_empty() {
                { results(&progress.rows) }
            }
        </form>
    }
}

/// The labels of the fields.
const FIELDS: [&str; 3] = ["Messages", "Message size", "Poll every (ms)"];
/// The table's columns.
const COLUMNS: [&str; 6] = ["Method", "Messages", "Median", "Max", "Requests", "Bytes on the wire"];

fn results(rows: &[Row]) -> Html {
    let slowest = rows.iter().map(|row| row.median_ms).fold(0.0, f64::max);
    let largest = rows.iter().map(|row| row.bytes).max().unwrap_or(0) as f64;
    let bar = |y: usize, class: &'static str, share: f64, title: String| {
        html! {
            <rect {class} x="0" y={y.to_string()} height="6" width={fixed(share, 2)}><title>{ title }</title></rect>
        }
    };
    html! {
        <div class="compare-result">
            <table>
                <thead><tr>{ for COLUMNS.iter().map(|name| html! { <th scope="col">{ *name }</th> }) }</tr></thead>
                <tbody>
                    { for rows.iter().map(|row| {
                        let note = if row.note.is_empty() { String::new() } else { format!(" ({})", row.note) };
                        let cells = [
                            row.messages.to_string(),
                            format_ms(row.median_ms),
                            format_ms(row.max_ms),
                            row.requests.to_string(),
                            format!("{}{note}", row.bytes),
                        ];
                        html! {
                            <tr>
                                <th scope="row">{ row.method.label() }</th>
                                { for cells.into_iter().map(|cell| html! { <td>{ cell }</td> }) }
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <svg class="compare-chart" viewBox={format!("0 0 100 {}", rows.len() * 16)} preserveAspectRatio="none"
                 role="img" aria-label="Median latency (upper bars) and bytes on the wire (lower bars) per method, as in the table">
                { for rows.iter().enumerate().map(|(index, row)| html! {
                    <g>
                        { bar(index * 16, "latency", percent_of(row.median_ms, slowest),
                              format!("{}: median {}", row.method.label(), format_ms(row.median_ms))) }
                        { bar(index * 16 + 7, "bytes", percent_of(row.bytes as f64, largest),
                              format!("{}: {} bytes", row.method.label(), row.bytes)) }
                    </g>
                }) }
            </svg>
            <p class="chart-axis" aria-hidden="true">
                <span>{ "upper: median latency · lower: bytes; rows as in the table" }</span>
            </p>
        </div>
    }
}
