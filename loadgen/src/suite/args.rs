//! The suite's flags: what to measure, how long, and where the things it
//! measures are (`cargo xtask bench` passes the paths it prepared).

use std::path::PathBuf;
use std::time::Duration;

use super::cpu_cap::CapMethod;

/// Flags of `loadgen suite`.
#[derive(Debug, Clone, clap::Args)]
pub struct SuiteArgs {
    /// The release backend binary [default: `backend` beside this loadgen binary].
    #[arg(long)]
    pub backend: Option<PathBuf>,
    /// The Node.js peers' folder, with `npm ci` done [default: bench/node in this workspace].
    #[arg(long)]
    pub node_dir: Option<PathBuf>,
    /// The web app's release bundle, for the page scenario [default: dist/ in this workspace].
    #[arg(long)]
    pub dist: Option<PathBuf>,
    /// Rounds per scenario; each round measures every server, in alternating order.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Measured time of each timed scenario.
    #[arg(long, default_value = "5s", value_parser = crate::parse_duration)]
    pub duration: Duration,
    /// Warm-up before each timed scenario.
    #[arg(long, default_value = "1s", value_parser = crate::parse_duration)]
    pub warmup: Duration,
    /// Connections held in the idle-memory scenarios.
    #[arg(long, default_value_t = 10_000)]
    pub idle_connections: u64,
    /// The core the servers are pinned to.
    #[arg(long, default_value_t = 1)]
    pub server_core: u32,
    /// The core the load generator is pinned to.
    #[arg(long, default_value_t = 0)]
    pub client_core: u32,
    /// Scenarios to run [default: all].
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<Scenario>,
    /// Node.js peers of the standard scenarios; `websocket` (the original app's
    /// package, which the budgets compare with) always runs.
    #[arg(long, value_delimiter = ',', value_enum, default_values_t = [NodePeer::Websocket, NodePeer::Ws])]
    pub peers: Vec<NodePeer>,
    /// Run servers and generators at this nice value (e.g. -10, as root) so other
    /// work on a shared machine disturbs the measurement less.
    #[arg(long, allow_hyphen_values = true)]
    pub nice: Option<i32>,
    /// Concurrent open + close cycles in the handshake scenario: enough that
    /// the server, not the round trips of too few workers, sets the pace.
    #[arg(long, default_value_t = 256)]
    pub handshake_concurrency: u64,
    /// The server's share of its core in the handshake scenario, in percent
    /// (a cgroup quota, as root; 0, the default, leaves it uncapped). Opening
    /// and closing a connection costs the generator about as much as the
    /// server, so a capped server is surely the bottleneck; but Node.js loses
    /// far more than its share under a quota (see BENCHMARKS.md), so the
    /// budget is judged uncapped, with both processes' CPU use shown.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=90))]
    pub handshake_quota: u32,
    /// Connection counts of the overload scenario (each keeps one message in flight).
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000])]
    pub overload_connections: Vec<u64>,
    /// How the server's CPU is capped in the overload scenario: a cgroup
    /// quota, CPU hogs sharing its core, or (auto) the cgroup when it can be made.
    #[arg(long, value_enum, default_value_t = CapMethod::Auto)]
    pub overload_cap: CapMethod,
    /// Measured time of the overload scenario: with 10,000 connections a
    /// round trip takes seconds, so it needs longer than the others.
    #[arg(long, default_value = "10s", value_parser = crate::parse_duration)]
    pub overload_duration: Duration,
    /// The server's share of its core in the overload scenario, in percent.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(5..=90))]
    pub overload_quota: u32,
    /// Cold loads of each page (the app and the reference page, alternating).
    /// A cold start varies by tens of milliseconds from run to run on a small
    /// machine, so the medians need more than a handful.
    #[arg(long, default_value_t = 15)]
    pub page_runs: u32,
}

impl SuiteArgs {
    /// Whether `scenario` was asked for.
    pub fn wants(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }
}

/// The suite's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 100 connections x 16 in flight x 16-byte messages, closed loop.
    Throughput,
    /// Fixed rate at half the Node.js server's measured capacity.
    FixedRate,
    /// Open + close handshakes per second.
    Handshakes,
    /// Server memory per idle connection.
    Idle,
    /// 1,000 and 10,000 connections x 1 message in flight with the server's CPU capped.
    Overload,
    /// 1 KiB JSON-like messages with permessage-deflate, against `ws` with compression.
    Compressed,
    /// Server memory per idle connection with permessage-deflate negotiated.
    CompressedIdle,
    /// Gzipped size of the web app's files, and the first echo in Chromium beside a plain page.
    Page,
}

/// The Node.js peers the standard scenarios can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodePeer {
    /// `websocket@1.0.35` on Node's `http`, as the original app.
    Websocket,
    /// `ws@8`, the most used Node.js WebSocket server, without compression.
    Ws,
}
