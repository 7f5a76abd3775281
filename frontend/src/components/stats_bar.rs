//! The statistics bar: traffic each way, round-trip times and `bufferedAmount`.

use yew::prelude::*;

use crate::stats::{format_ms, RttSummary, Traffic};

/// Props of [`StatsBar`].
#[derive(Properties, PartialEq)]
pub struct StatsBarProps {
    pub traffic: Traffic,
    pub rtt: Option<RttSummary>,
    /// Sends waiting for their echo.
    pub pending: usize,
    /// `WebSocket.bufferedAmount`, when there is a socket.
    pub buffered: Option<u32>,
}

/// One line of numbers, each labelled.
#[function_component]
pub fn StatsBar(props: &StatsBarProps) -> Html {
    let traffic = props.traffic;
    let item = |name: &'static str, value: String| {
        html! {
            <div class="stat" data-stat={name}>
                <dt>{ name }</dt>
                <dd>{ value }</dd>
            </div>
        }
    };
    let rtt =
        |pick: fn(&RttSummary) -> f64| props.rtt.as_ref().map_or_else(|| "–".to_owned(), |rtt| format_ms(pick(rtt)));
    html! {
        <section class="stats" aria-label="Statistics">
            <dl>
                { item("sent", messages(traffic.sent_messages, traffic.sent_bytes)) }
                { item("received", messages(traffic.received_messages, traffic.received_bytes)) }
                { item("pending", props.pending.to_string()) }
                { item("RTT min", rtt(|rtt| rtt.min)) }
                { item("p50", rtt(|rtt| rtt.p50)) }
                { item("p95", rtt(|rtt| rtt.p95)) }
                { item("p99", rtt(|rtt| rtt.p99)) }
                { item("max", rtt(|rtt| rtt.max)) }
                { item("bufferedAmount", props.buffered.map_or_else(|| "–".to_owned(), |bytes| format!("{bytes} B"))) }
            </dl>
        </section>
    }
}

fn messages(count: u64, bytes: u64) -> String {
    let unit = if count == 1 { "msg" } else { "msgs" };
    format!("{count} {unit} · {bytes} B")
}
