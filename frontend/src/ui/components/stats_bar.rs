//! The statistics bar: traffic each way, round-trip times and `bufferedAmount`.

use yew::prelude::*;

use crate::model::stats::{RttSummary, Traffic};
use crate::util::format::format_ms;

/// What [`stats_bar`] shows. (`Properties` so that a test can mount it.)
#[derive(Properties, PartialEq)]
pub struct StatsBarProps {
    pub traffic: Traffic,
    pub rtt: Option<RttSummary>,
    /// Sends waiting for their echo.
    pub pending: usize,
    /// `WebSocket.bufferedAmount`, when there is a socket.
    pub buffered: Option<u32>,
}

/// One line of numbers, each labelled. A plain function, not a component: it
/// has no state, and a component costs the page its own copy of yew's
/// mounting and rendering code.
pub fn stats_bar(props: &StatsBarProps) -> Html {
    let traffic = props.traffic;
    let rtt =
        |pick: fn(&RttSummary) -> f64| props.rtt.as_ref().map_or_else(|| "–".to_owned(), |rtt| format_ms(pick(rtt)));
    let items = [
        ("sent", messages(traffic.sent_messages, traffic.sent_bytes)),
        ("received", messages(traffic.received_messages, traffic.received_bytes)),
        ("pending", props.pending.to_string()),
        ("RTT min", rtt(|rtt| rtt.min)),
        ("p50", rtt(|rtt| rtt.p50)),
        ("p95", rtt(|rtt| rtt.p95)),
        ("p99", rtt(|rtt| rtt.p99)),
        ("max", rtt(|rtt| rtt.max)),
        ("bufferedAmount", props.buffered.map_or_else(|| "–".to_owned(), |bytes| format!("{bytes} B"))),
    ];
    // Built as text: every name is fixed and every value a number, a unit or a
    // dash (nothing to escape), and a string costs the page far less code than
    // a tree of elements.
    let mut markup = String::from("<section class=stats aria-label=Statistics><dl>");
    for (name, value) in items {
        markup += &format!("<div class=stat data-stat=\"{name}\"><dt>{name}</dt><dd>{value}</dd></div>");
    }
    Html::from_html_unchecked((markup + "</dl></section>").into())
}

fn messages(count: u64, bytes: u64) -> String {
    let unit = if count == 1 { "msg" } else { "msgs" };
    format!("{count} {unit} · {bytes} B")
}
