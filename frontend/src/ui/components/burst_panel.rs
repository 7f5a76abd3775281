//! Burst: many messages as fast as the socket takes them, and what came back.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::borrowed::sorted;
use crate::model::session::burst::Burst;
use crate::model::session::Setting;
use crate::model::stats::{histogram, per_second, summarize, Bucket, RttSummary};
use crate::ui::hooks::ids::use_ids;
use crate::util::format::{fixed, format_ms};

/// What [`use_burst_panel`] shows and whom it tells.
pub struct BurstPanelProps {
    pub count: String,
    pub size: String,
    /// Whether the socket is OPEN.
    pub open: bool,
    pub burst: Option<Burst>,
    pub onsetting: Callback<Setting>,
    pub onburst: Callback<()>,
}

/// Bars in the chart.
const BARS: usize = 20;

/// Count and Size fields, the Burst button, the result and a chart of round trips.
///
/// A hook drawn by the panel, not a component of its own: a component costs the
/// page its own copy of yew's mounting, rendering and props-comparison code.
#[hook]
pub fn use_burst_panel(props: BurstPanelProps) -> Html {
    let ids = use_ids();
    let field = |setting: fn(String) -> Setting| {
        props
            .onsetting
            .reform(move |event: InputEvent| setting(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let onsubmit = {
        let onburst = props.onburst.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            onburst.emit(());
        })
    };
    let running = props.burst.as_ref().is_some_and(|burst| burst.sending());
    // A burst's samples are summarised once per new echo, not once per render.
    let summary = {
        let rtts = props.burst.as_ref().map(|burst| burst.rtts.clone()).unwrap_or_default();
        let key = props.burst.as_ref().map(|burst| (burst.serial, burst.rtts.len()));
        use_memo(key, move |_| {
            let samples: Vec<f64> = rtts.iter().copied().collect();
            (summarize(&samples, sorted), histogram(&samples, BARS))
        })
    };
    html! {
        <form class="burst" {onsubmit} aria-labelledby={ids.of("burst-heading")}>
            <h2 id={ids.of("burst-heading")}>{ "Burst" }</h2>
            <span class="field narrow">
                <label for={ids.of("burst-count")}>{ "Count" }</label>
                <input id={ids.of("burst-count")} type="text" inputmode="numeric" value={props.count.clone()}
                       oninput={field(Setting::BurstCount)} />
            </span>
            <span class="field narrow">
                <label for={ids.of("burst-size")}>{ "Size" }</label>
                <input id={ids.of("burst-size")} type="text" inputmode="numeric" value={props.size.clone()}
                       oninput={field(Setting::BurstSize)} aria-describedby={ids.of("burst-hint")} />
            </span>
            <button type="submit" disabled={!props.open || running}>{ "Burst" }</button>
            // Fixed prose as text: cheaper for the page than a tree of elements.
            { Html::from_html_unchecked(format!(
                "<p id={}burst-hint class=hint>Sends Count text messages of Size bytes each as fast as the socket \
                 accepts them (pausing while bufferedAmount exceeds 1 MiB), then reports echoes per second.</p>",
                ids.0
            ).into()) }
            if let Some(burst) = &props.burst {
                { result(burst, summary.0, &summary.1) }
            }
        </form>
    }
}

fn result(burst: &Burst, summary: Option<RttSummary>, bars: &[Bucket]) -> Html {
    let status = match (&burst.stopped, burst.finished_ms) {
        (Some(why), _) => format!("stopped: {why}"),
        (None, Some(done)) => {
            format!("{} messages/s round trip", fixed(per_second(burst.count, done - burst.started_ms), 0))
        }
        (None, None) => "running…".to_owned(),
    };
    let tallest = bars.iter().map(|bar| bar.count).max().unwrap_or(1).max(1);
    let description = summary.map_or_else(String::new, |rtt| {
        format!(
            "RTT min {} · p50 {} · p95 {} · p99 {} · max {}",
            format_ms(rtt.min),
            format_ms(rtt.p50),
            format_ms(rtt.p95),
            format_ms(rtt.p99),
            format_ms(rtt.max)
        )
    });
    html! {
        <div class="burst-result">
            <p class="burst-status" role="status" data-finished={burst.finished_ms.is_some().to_string()}>
                { format!("{} of {} sent · {} echoed · {status}", burst.sent, burst.count, burst.echoed) }
            </p>
            if !bars.is_empty() {
                <p class="burst-rtt">{ description.clone() }</p>
                <svg class="chart" viewBox={format!("0 0 {BARS} 10")} preserveAspectRatio="none" role="img"
                     aria-label={format!("Round-trip time histogram: {description}")}>
                    { for bars.iter().enumerate().map(|(index, bar)| {
                        let height = 10.0 * bar.count as f64 / tallest as f64;
                        html! {
                            <rect x={index.to_string()} y={fixed(10.0 - height, 3)} width="0.9"
                                  height={fixed(height, 3)}>
                                <title>{ format!("{}–{}: {}", format_ms(bar.low), format_ms(bar.high), bar.count) }</title>
                            </rect>
                        }
                    }) }
                </svg>
                <p class="chart-axis" aria-hidden="true">
                    <span>{ format_ms(bars[0].low) }</span><span>{ format_ms(bars[bars.len() - 1].high) }</span>
                </p>
            }
        </div>
    }
}
