//! Load generator for the `/ws` echo, speaking raw WebSocket frames over tokio.
//!
//! Run one scenario against a server you started:
//! `cargo run --release -p loadgen -- throughput --url ws://127.0.0.1:3000/ws`,
//! or the whole benchmark against this backend and the Node.js peers with
//! `cargo xtask bench`, which builds and installs what the suite measures and
//! then runs `loadgen suite` (see BENCHMARKS.md). The suite itself builds
//! nothing: it measures what it is given.
//!
//! Each scenario runs on one thread (a current-thread tokio runtime), because
//! the suite pins it to one core and a second thread would only contend there.

#![forbid(unsafe_code)]

mod compressed;
mod conn;
mod deflate;
mod fixed_rate;
mod frame;
mod handshakes;
mod idle;
mod page;
mod procfs;
mod report;
mod suite;
mod throughput;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use conn::{Kind, Target};
use deflate::Offer;

/// Load generator for the WebSocket echo server.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed loop: N connections x M messages in flight; reports echoes per second.
    Throughput {
        #[command(flatten)]
        common: Common,
        /// Connections.
        #[arg(long, default_value_t = 100)]
        connections: u64,
        /// Messages in flight on each connection.
        #[arg(long, default_value_t = 16)]
        in_flight: u64,
        #[command(flatten)]
        message: Message,
    },
    /// Open loop at a fixed rate; latency from each message's scheduled send time.
    FixedRate {
        #[command(flatten)]
        common: Common,
        /// Messages per second, over all connections.
        #[arg(long)]
        rate: f64,
        /// Connections the messages are spread over.
        #[arg(long, default_value_t = 100)]
        connections: u64,
        #[command(flatten)]
        message: Message,
        /// How close to a send the sender stops sleeping and yields instead (0 = always
        /// sleep: less generator CPU, sends up to ~60 µs late; latency still counts from the schedule).
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        spin: Duration,
    },
    /// Open + cleanly close connections as fast as C workers can; reports cycles per second.
    Handshakes {
        #[command(flatten)]
        common: Common,
        /// Workers, each with one connection at a time.
        #[arg(long, default_value_t = 32)]
        concurrency: u64,
    },
    /// Holds N idle connections and reports the server's memory per connection.
    Idle {
        /// The echo endpoint (a loopback ws:// URL).
        #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
        url: Target,
        /// Connections to hold open.
        #[arg(long, default_value_t = 10_000)]
        connections: u64,
        /// Process id of the server, whose VmRSS is read from /proc.
        #[arg(long)]
        server_pid: u32,
        /// Wait after the last connection opened, before reading memory.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        settle: Duration,
        /// Offer permessage-deflate on every connection (the report says whether it was negotiated).
        #[arg(long, value_enum, default_value_t = Offer::Off)]
        deflate: Offer,
    },
    /// Closed loop with permessage-deflate offered: JSON-like messages, each echo inflated and checked.
    Compressed {
        #[command(flatten)]
        common: Common,
        /// Connections.
        #[arg(long, default_value_t = 100)]
        connections: u64,
        /// Messages in flight on each connection.
        #[arg(long, default_value_t = 16)]
        in_flight: u64,
        /// Bytes per message before compression.
        #[arg(long, default_value_t = 1024)]
        size: usize,
        /// What to offer.
        #[arg(long, value_enum, default_value_t = Offer::NoContextTakeover)]
        deflate: Offer,
        /// The client's compression level, 0-9 (costs the generator once per message variant).
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
        level: u32,
    },
    /// Keeps one core busy for a while: the suite's fallback CPU cap for the
    /// overload scenario when no cgroup can be made (several of these share
    /// the server's core with it).
    #[command(hide = true)]
    Hog {
        /// How long to spin before exiting by itself.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        duration: Duration,
    },
    /// Runs the standard scenarios against the backend binary and the Node.js peers
    /// it is given, pinned to separate cores in interleaved rounds, and checks the
    /// budgets. `cargo xtask bench` prepares what it needs and runs it.
    Suite(suite::SuiteArgs),
}

/// Flags every timed scenario shares.
#[derive(Debug, Clone, Args)]
struct Common {
    /// The echo endpoint (a loopback ws:// URL).
    #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
    url: Target,
    /// Time before measuring starts, e.g. 1s.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Measured time, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
}

/// What each message looks like.
#[derive(Debug, Clone, Args)]
struct Message {
    /// Payload bytes per message (at least 8 for binary, 16 for text: the send time rides in it).
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Message type.
    #[arg(long, value_enum, default_value_t = Kind::Binary)]
    kind: Kind,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (write durations like 5s or 500ms)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Suite(args) => {
            return match suite::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("loadgen: error: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Hog { duration } => {
            hog(duration);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let cpu = procfs::CpuMeter::start(std::process::id());
    match runtime.block_on(scenario(cli.command)) {
        Ok(report) => {
            let mut out = format!("{report}\n");
            if let Some(percent) = cpu.percent() {
                // The suite shows this beside the server's CPU: a generator near
                // 100 % of its core could be what limits the figures.
                out.push_str(&format!("{}{percent:.0}\n", report::GENERATOR_CPU_PREFIX));
            }
            out.push_str(&report.result_line());
            out.push('\n');
            // A closed pipe (`| head`) is no reason to panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("loadgen: error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn scenario(command: Command) -> Result<report::Report, String> {
    match command {
        Command::Throughput { common, connections, in_flight, message } => {
            idle::raise_open_file_limit(connections)?;
            throughput::run(throughput::Plan {
                target: common.url,
                connections,
                in_flight: in_flight.max(1),
                size: message.size,
                kind: message.kind,
                warmup: common.warmup,
                duration: common.duration,
            })
            .await
        }
        Command::FixedRate { common, rate, connections, message, spin } => {
            idle::raise_open_file_limit(connections)?;
            fixed_rate::run(fixed_rate::Plan {
                target: common.url,
                rate,
                connections: connections.max(1),
                size: message.size,
                kind: message.kind,
                warmup: common.warmup,
                duration: common.duration,
                spin,
            })
            .await
        }
        Command::Handshakes { common, concurrency } => {
            idle::raise_open_file_limit(concurrency * 2)?;
            handshakes::run(handshakes::Plan {
                target: common.url,
                concurrency: concurrency.max(1),
                warmup: common.warmup,
                duration: common.duration,
            })
            .await
        }
        Command::Idle { url, connections, server_pid, settle, deflate } => {
            idle::run(idle::Plan { target: url, connections, server_pid, settle, offer: deflate }).await
        }
        Command::Compressed { common, connections, in_flight, size, deflate, level } => {
            if deflate == Offer::Off {
                return Err("`compressed` needs a permessage-deflate offer; `throughput` measures without".into());
            }
            idle::raise_open_file_limit(connections)?;
            compressed::run(compressed::Plan {
                target: common.url,
                connections,
                in_flight: in_flight.max(1),
                size,
                offer: deflate,
                level,
                warmup: common.warmup,
                duration: common.duration,
            })
            .await
        }
        Command::Suite(_) | Command::Hog { .. } => unreachable!("handled in main"),
    }
}

/// Spins for `duration`, checking the clock now and then.
fn hog(duration: Duration) {
    let end = std::time::Instant::now() + duration;
    let mut x = 0u64;
    while std::time::Instant::now() < end {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
    }
}
