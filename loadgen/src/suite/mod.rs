//! The benchmark in one command: runs each scenario against the backend
//! binary and the Node.js peers it is given, in interleaved rounds, every
//! server pinned to one core and every load generator run to another, and
//! prints the medians, the ratios and the verdict on each budget.
//!
//! The suite measures; it builds and installs nothing. `cargo xtask bench`
//! builds the release backend and the bundle, installs the Node.js peers and
//! then runs it with their paths (`inputs.rs` says what is missing otherwise).
//!
//! - `args.rs`: the flags and the scenarios.
//! - `inputs.rs`: what is measured, checked before anything starts.
//! - `servers.rs`: the peers and how each server is started.
//! - `cpu_cap.rs`: the overload scenario's CPU cap (a cgroup quota, or hogs).
//! - `rounds.rs`: interleaved rounds, each a fresh server and generator.
//! - `scenarios.rs`: the sizes of each load and the generator's flags for it.
//! - `page.rs`: the bundle's size and the first echo beside the reference page.
//! - `table.rs`: budgets, verdicts and the results table.
//! - `stats.rs`, `machine.rs`: medians; the machine and its load.

mod args;
mod cpu_cap;
mod inputs;
mod machine;
mod page;
mod rounds;
mod scenarios;
mod servers;
mod stats;
mod table;

use std::time::Duration;

pub use args::SuiteArgs;

use args::{NodePeer, Scenario};
use cpu_cap::{CapMethod, CpuCap};
use rounds::Runner;
use scenarios::{Timing, COMPRESSED_OFFER, CONNECTIONS, IN_FLIGHT, SIZE};
use servers::{Launcher, Peer};
use table::Results;

use crate::report::{format_count, Report};

/// Runs the suite and prints its results.
pub fn run(args: SuiteArgs) -> Result<(), String> {
    let inputs = inputs::resolve(&args)?;
    let rounds = args.rounds.max(1);
    println!("suite: {}", machine::summary());
    println!("suite: {} at the start", machine::load());
    println!(
        "suite: servers on core {}, load generator on core {}, {rounds} rounds",
        args.server_core, args.client_core
    );
    println!("suite: backend {} ({})", inputs.backend.display(), inputs::age(&inputs.backend));
    println!("suite: Node.js peers in {}", inputs.node_dir.display());
    if let Some(dist) = &inputs.dist {
        println!("suite: web app bundle {}", dist.display());
    }
    let launcher = Launcher::new(inputs, args.nice, args.server_core)?;
    let most_connections =
        [args.idle_connections].into_iter().chain(args.overload_connections.iter().copied()).max().unwrap_or(0);
    if launcher.nofile() < most_connections + 1_000 {
        return Err(format!(
            "the hard open-file limit is {}, too low for {most_connections} connections (raise it, e.g. `ulimit -Hn 65536` as root)",
            launcher.nofile()
        ));
    }
    let runner = Runner { launcher: &launcher, rounds, client_core: args.client_core, nice: args.nice };
    let timing = Timing { warmup: args.warmup, duration: args.duration };
    let other_peers: Vec<Peer> = args
        .peers
        .iter()
        .filter_map(|peer| match peer {
            NodePeer::Websocket => None,
            NodePeer::Ws => Some(Peer::Ws),
        })
        .collect();
    let standard: Vec<Peer> = [Peer::Rust, Peer::Websocket].into_iter().chain(other_peers.iter().copied()).collect();
    let mut results = Results { other_peers: other_peers.clone(), ..Results::default() };

    if args.wants(Scenario::Throughput) || args.wants(Scenario::FixedRate) {
        step(&format!("throughput: {CONNECTIONS} connections x {IN_FLIGHT} in flight x {SIZE}-byte binary messages"));
        results.throughput = runner.rounds(&standard, None, |_| scenarios::throughput(timing));
    }
    if args.wants(Scenario::FixedRate) {
        let node_capacity = results.throughput.median(Peer::Websocket, |report| match report {
            Report::Throughput { messages_per_s, .. } => *messages_per_s,
            _ => f64::NAN,
        });
        let rate = (node_capacity / 2.0).round();
        if rate.is_nan() || rate <= 0.0 {
            return Err("the Node.js server's capacity was not measured; cannot set the fixed rate".into());
        }
        step(&format!(
            "fixed rate: {} msg/s (half the websocket peer's capacity), {CONNECTIONS} connections",
            format_count(rate)
        ));
        results.fixed_rate = runner.rounds(&standard, None, |_| scenarios::fixed_rate(timing, rate));
        results.rate = rate;
    }
    if args.wants(Scenario::Handshakes) {
        let cap = match args.handshake_quota {
            0 => None,
            quota => match CpuCap::new(CapMethod::Cgroup, quota, args.server_core) {
                Ok((cap, _)) => Some(cap),
                Err(why) => {
                    println!(
                        "\nsuite: handshakes: the server runs uncapped ({why}), so the generator may set the pace"
                    );
                    None
                }
            },
        };
        let at = cap.as_ref().map_or_else(|| "uncapped".to_owned(), CpuCap::describe);
        step(&format!("handshakes: {} workers, open + clean close, server at {at}", args.handshake_concurrency));
        results.handshake_concurrency = args.handshake_concurrency;
        results.handshake_cap = cap.as_ref().map(CpuCap::short);
        results.handshakes =
            runner.rounds(&standard, cap.as_ref(), |_| scenarios::handshakes(timing, args.handshake_concurrency));
    }
    if args.wants(Scenario::Idle) {
        step(&format!("idle: {} connections, server VmRSS before and after", args.idle_connections));
        results.idle = runner
            .rounds(&standard, None, |pid| scenarios::idle(args.idle_connections, pid, crate::deflate::Offer::Off));
    }
    if args.wants(Scenario::Overload) {
        let (cap, fallback) = CpuCap::new(args.overload_cap, args.overload_quota, args.server_core)?;
        if let Some(why) = fallback {
            println!("\nsuite: overload: no cgroup CPU quota ({why}); falling back to CPU hogs on the server's core");
        }
        results.cap = Some(cap.short());
        // The first round trips of 10,000 connections all start at once; the
        // warm-up lets the server settle into its steady state after that burst.
        let timing = Timing { warmup: args.warmup.max(Duration::from_secs(2)), duration: args.overload_duration };
        for &connections in &args.overload_connections {
            step(&format!(
                "overload: {} connections x 1 message in flight, server at {}",
                format_count(connections as f64),
                cap.describe()
            ));
            let rounds = runner.rounds(&standard, Some(&cap), |_| scenarios::overload(timing, connections));
            results.overload.push((connections, rounds));
        }
    }
    if args.wants(Scenario::Compressed) {
        step(&format!(
            "compressed: {CONNECTIONS} connections x {IN_FLIGHT} in flight x {}-byte JSON-like text, offering {}",
            scenarios::COMPRESSED_SIZE,
            COMPRESSED_OFFER.header_value().unwrap_or("nothing")
        ));
        results.compressed = runner.rounds(&[Peer::Rust, Peer::WsDeflate], None, |_| scenarios::compressed(timing));
    }
    if args.wants(Scenario::CompressedIdle) {
        step(&format!("idle with compression: {} connections offering permessage-deflate", args.idle_connections));
        results.compressed_idle = runner.rounds(&[Peer::Rust, Peer::WsDeflate], None, |pid| {
            scenarios::idle(args.idle_connections, pid, COMPRESSED_OFFER)
        });
    }
    if args.wants(Scenario::Page) {
        results.page_wanted = true;
        step("page: gzipped size of what loads at start");
        let dist = launcher.inputs().dist.clone().expect("the page scenario has a dist folder");
        results.page = Some(page::page_size(&dist)?);
        step("page: first echo in headless Chromium, the app beside the plain reference page");
        results.first_echo = page::first_echo(&launcher, args.page_runs);
    }

    println!("\nsuite: {} at the end", machine::load());
    println!();
    println!("{}", results.table());
    Ok(())
}

fn step(name: &str) {
    println!("\nsuite: ── {name} ──");
}
