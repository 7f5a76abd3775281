//! The benchmark of issue #7 in one command: builds the release backend and
//! installs the Node.js peer, then runs each standard scenario against both in
//! interleaved rounds, every server pinned to one core and every load
//! generator run to another, and prints the medians, the ratios and the
//! verdict on each budget.
//!
//! Each measurement gets a fresh server process and a fresh generator process
//! (this same binary, re-run with a scenario's flags), so one scenario's
//! leftovers (sockets in TIME_WAIT, a grown heap) cannot colour the next.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::page::FirstEcho;
use crate::procfs::CpuMeter;
use crate::report::{format_count, format_micros, Report, GENERATOR_CPU_PREFIX};

/// Flags of `loadgen suite`.
#[derive(Debug, Clone, clap::Args)]
pub struct SuiteArgs {
    /// Rounds per scenario; each round measures both servers, in alternating order.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Measured time of each timed scenario.
    #[arg(long, default_value = "5s", value_parser = crate::parse_duration)]
    duration: Duration,
    /// Warm-up before each timed scenario.
    #[arg(long, default_value = "1s", value_parser = crate::parse_duration)]
    warmup: Duration,
    /// Connections held in the idle-memory scenario.
    #[arg(long, default_value_t = 10_000)]
    idle_connections: u64,
    /// The core the servers are pinned to.
    #[arg(long, default_value_t = 1)]
    server_core: u32,
    /// The core the load generator is pinned to.
    #[arg(long, default_value_t = 0)]
    client_core: u32,
    /// Scenarios to run (default: all): throughput, fixed-rate, handshakes, idle, page.
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Scenario>,
    /// Run servers and generators at this nice value (e.g. -10, as root) so other
    /// work on a shared machine disturbs the measurement less.
    #[arg(long, allow_hyphen_values = true)]
    nice: Option<i32>,
    /// Measure the page from the dist/ already built instead of running `cargo xtask dist`.
    #[arg(long)]
    no_dist: bool,
}

/// The standard scenarios.
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
    /// Gzipped size of the web app's files, and the first echo in Chromium.
    Page,
}

/// The two servers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Rust,
    Node,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Rust => "backend (Rust)",
            Peer::Node => "Node.js websocket@1.0.35",
        }
    }
}

/// The servers' open-file limit: 10,000 idle sockets and then some. It is
/// capped at this process's hard limit, which only a process with
/// CAP_SYS_RESOURCE could exceed (some sandboxes deny it even to root).
const SERVER_NOFILE: u64 = 65_536;
/// The backend's connection cap in the suite: above the idle scenario's
/// 10,000 so the limit stays on without being what is measured.
const BACKEND_MAX_CONNECTIONS: &str = "20000";
/// Connections, messages in flight and payload bytes of the standard echo load.
const CONNECTIONS: u64 = 100;
const IN_FLIGHT: u64 = 16;
const SIZE: usize = 16;
/// Workers in the handshake scenario.
const HANDSHAKE_CONCURRENCY: u64 = 32;

/// Runs the suite and prints its results.
pub fn run(args: SuiteArgs) -> Result<(), String> {
    let root = workspace_root();
    let wants = |scenario: Scenario| args.only.is_empty() || args.only.contains(&scenario);
    for tool in ["taskset", "prlimit", "node", "npm"] {
        if which(tool).is_none() {
            return Err(format!(
                "`{tool}` is not on PATH; the suite needs taskset and prlimit (util-linux) and Node.js"
            ));
        }
    }
    let rounds = args.rounds.max(1);
    let machine = machine_summary();
    println!("suite: {machine}");
    println!(
        "suite: servers on core {}, load generator on core {}, {rounds} rounds",
        args.server_core, args.client_core
    );

    step("building the release backend");
    run_checked(Command::new(cargo()).args(["build", "--release", "--package", "backend"]).current_dir(&root))?;
    let node_dir = root.join("bench").join("node");
    if !node_dir.join("node_modules").join("websocket").join("package.json").is_file() {
        step("installing the Node.js peer (npm ci)");
        run_checked(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&node_dir))?;
    }
    let (_, hard) =
        rlimit::getrlimit(rlimit::Resource::NOFILE).map_err(|err| format!("cannot read the open-file limit: {err}"))?;
    let nofile = SERVER_NOFILE.min(hard);
    if wants(Scenario::Idle) && nofile < args.idle_connections + 1_000 {
        return Err(format!(
            "the hard open-file limit is {hard}, too low for {} idle connections (raise it, e.g. `ulimit -Hn 65536` as root)",
            args.idle_connections
        ));
    }
    let suite = Suite { root: root.clone(), args: args.clone(), node_dir, nofile };
    let mut results = Results::default();

    if wants(Scenario::Throughput) || wants(Scenario::FixedRate) {
        step(&format!("throughput: {CONNECTIONS} connections x {IN_FLIGHT} in flight x {SIZE}-byte binary messages"));
        results.throughput = suite.rounds(|_| suite.throughput_args())?;
    }
    if wants(Scenario::FixedRate) {
        let node_capacity = median(&results.throughput.node, |report| match report {
            Report::Throughput { messages_per_s, .. } => *messages_per_s,
            _ => f64::NAN,
        });
        let rate = (node_capacity / 2.0).round();
        if rate.is_nan() || rate <= 0.0 {
            return Err("the Node.js server's capacity was not measured; cannot set the fixed rate".into());
        }
        step(&format!(
            "fixed rate: {} msg/s (half the Node.js server's capacity), {CONNECTIONS} connections",
            format_count(rate)
        ));
        results.fixed_rate = suite.rounds(|_| suite.fixed_rate_args(rate))?;
        results.rate = rate;
    }
    if wants(Scenario::Handshakes) {
        step(&format!("handshakes: {HANDSHAKE_CONCURRENCY} workers, open + clean close"));
        results.handshakes = suite.rounds(|_| suite.handshake_args())?;
    }
    if wants(Scenario::Idle) {
        step(&format!("idle: {} connections, server VmRSS before and after", args.idle_connections));
        results.idle = suite.rounds(|pid| suite.idle_args(pid))?;
    }
    if wants(Scenario::Page) {
        step("page: gzipped size of dist/");
        if !args.no_dist {
            if let Err(err) = run_checked(Command::new(cargo()).args(["xtask", "dist"]).current_dir(&root)) {
                eprintln!("suite: the bundle could not be built ({err}); measuring whatever dist/ holds");
            }
        }
        results.page = match page_size(&root.join("dist")) {
            Ok(page) => Some(page),
            Err(err) => {
                eprintln!("suite: page not measured: {err}");
                None
            }
        };
        step("page: first echo after navigation, headless Chromium (cold profile each run)");
        results.first_echo = suite.first_echo();
    }

    println!();
    println!("{}", results.table());
    Ok(())
}

struct Suite {
    root: PathBuf,
    args: SuiteArgs,
    node_dir: PathBuf,
    /// The servers' open-file limit.
    nofile: u64,
}

/// Each peer's reports, one per round.
#[derive(Debug, Default)]
struct Rounds {
    rust: Vec<Report>,
    node: Vec<Report>,
    /// Each round's server CPU use, in percent of its core (NaN if unreadable).
    rust_cpu: Vec<f64>,
    node_cpu: Vec<f64>,
}

impl Rounds {
    /// The median over rounds of `value` divided by the server's CPU share:
    /// work per CPU-second of the server, which other load on a shared machine
    /// disturbs less than work per wall-clock second.
    fn per_cpu_second(&self, peer: Peer, value: impl Fn(&Report) -> f64) -> f64 {
        let (reports, cpu) = match peer {
            Peer::Rust => (&self.rust, &self.rust_cpu),
            Peer::Node => (&self.node, &self.node_cpu),
        };
        let mut values: Vec<f64> =
            reports.iter().zip(cpu).map(|(report, percent)| value(report) / (percent / 100.0)).collect();
        median_of(&mut values)
    }
}

impl Suite {
    /// Runs one scenario for every round, alternating which server goes first
    /// so slow drift on the machine weighs on both alike.
    fn rounds(&self, scenario_args: impl Fn(u32) -> Vec<String>) -> Result<Rounds, String> {
        let mut rounds = Rounds::default();
        for round in 0..self.args.rounds.max(1) {
            let order = if round % 2 == 0 { [Peer::Rust, Peer::Node] } else { [Peer::Node, Peer::Rust] };
            for peer in order {
                let mut server = self.start(peer)?;
                let mut args = scenario_args(server.pid);
                args.extend(["--url".to_owned(), format!("ws://{}/ws", server.addr)]);
                let server_cpu = CpuMeter::start(server.pid);
                let outcome = self.generate(&args);
                let server_percent = server_cpu.percent();
                server.stop();
                // One failed measurement (say, a server that fell over) costs
                // its round, not the whole suite; medians use the rounds that ran.
                let (report, generator_percent) = match outcome {
                    Ok(outcome) => outcome,
                    Err(err) => {
                        println!("  round {} {:<26} FAILED: {err}", round + 1, peer.name());
                        continue;
                    }
                };
                let cpu = |percent: Option<f64>| percent.map_or("?".to_owned(), |percent| format!("{percent:.0}%"));
                println!(
                    "  round {} {:<26} {}  [CPU: server {}, generator {}]",
                    round + 1,
                    peer.name(),
                    one_line(&report),
                    cpu(server_percent),
                    cpu(generator_percent)
                );
                let server_percent = server_percent.unwrap_or(f64::NAN);
                match peer {
                    Peer::Rust => {
                        rounds.rust.push(report);
                        rounds.rust_cpu.push(server_percent);
                    }
                    Peer::Node => {
                        rounds.node.push(report);
                        rounds.node_cpu.push(server_percent);
                    }
                }
            }
        }
        Ok(rounds)
    }

    fn timing_args(&self) -> Vec<String> {
        vec![
            "--warmup".into(),
            humantime::format_duration(self.args.warmup).to_string(),
            "--duration".into(),
            humantime::format_duration(self.args.duration).to_string(),
        ]
    }

    fn throughput_args(&self) -> Vec<String> {
        let mut args = vec!["throughput".to_owned()];
        args.extend(self.timing_args());
        args.extend(flags(&[
            ("connections", CONNECTIONS.to_string()),
            ("in-flight", IN_FLIGHT.to_string()),
            ("size", SIZE.to_string()),
        ]));
        args
    }

    fn fixed_rate_args(&self, rate: f64) -> Vec<String> {
        let mut args = vec!["fixed-rate".to_owned()];
        args.extend(self.timing_args());
        args.extend(flags(&[
            ("rate", format!("{rate}")),
            ("connections", CONNECTIONS.to_string()),
            ("size", SIZE.to_string()),
        ]));
        args
    }

    fn handshake_args(&self) -> Vec<String> {
        let mut args = vec!["handshakes".to_owned()];
        args.extend(self.timing_args());
        args.extend(flags(&[("concurrency", HANDSHAKE_CONCURRENCY.to_string())]));
        args
    }

    fn idle_args(&self, server_pid: u32) -> Vec<String> {
        let mut args = vec!["idle".to_owned()];
        args.extend(flags(&[
            ("connections", self.args.idle_connections.to_string()),
            ("server-pid", server_pid.to_string()),
        ]));
        args
    }

    /// `taskset -c CORE`, after `nice -n N` when a priority was asked for.
    /// (Not SCHED_FIFO: under it a runtime's helper threads on the same core
    /// wait for the main thread to block, which cut Node.js's figures by 4x.)
    fn prefixed(&self, core: u32) -> Command {
        let mut command = match self.args.nice {
            Some(nice) => {
                let mut command = Command::new("nice");
                command.args(["-n", &nice.to_string(), "taskset"]);
                command
            }
            None => Command::new("taskset"),
        };
        command.args(["-c", &core.to_string()]);
        command
    }

    /// Starts one server pinned to the server core, with a high open-file limit.
    fn start(&self, peer: Peer) -> Result<Server, String> {
        let mut command = self.prefixed(self.args.server_core);
        command.args(["prlimit", &format!("--nofile={0}:{0}", self.nofile), "--"]);
        match peer {
            Peer::Rust => {
                // Production defaults: every limit, the keep-alive pings and the
                // per-connection log lines stay on; only the cap is raised.
                let binary = self.root.join("target").join("release").join("backend");
                command.arg(binary).args([
                    "--addr",
                    "127.0.0.1:0",
                    "--max-connections",
                    BACKEND_MAX_CONNECTIONS,
                    "--dist",
                ]);
                command.arg(self.root.join("dist"));
            }
            Peer::Node => {
                command.arg("node").arg(self.node_dir.join("server.js")).args(["--port", "0"]);
            }
        }
        println!("  $ {}", shell_words(&command));
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", peer.name()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        // A reader thread finds the address and then keeps draining the
        // server's log (the backend logs every connection) so it never blocks
        // on a full pipe; the wait for the address is bounded.
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(addr) = listening_address(&line) {
                    let _ = found.send(addr);
                    break;
                }
            }
            lines.for_each(drop);
        });
        let addr = match address.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} did not report a listening address within 20 s", peer.name()));
            }
        };
        let pid = child.id();
        // Let the server finish starting (Node compiles its modules lazily)
        // before the idle scenario reads its baseline memory.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Server { child, addr, pid })
    }

    /// Times the first echo in Chromium against the backend serving dist/;
    /// `None` (with the reason printed) when it cannot be measured here.
    fn first_echo(&self) -> Option<Vec<FirstEcho>> {
        if !self.root.join("dist").join("index.html").is_file() {
            eprintln!("suite: first echo not measured: no dist/index.html");
            return None;
        }
        let mut server = match self.start(Peer::Rust) {
            Ok(server) => server,
            Err(err) => {
                eprintln!("suite: first echo not measured: {err}");
                return None;
            }
        };
        let url = format!("http://{}/", server.addr);
        println!("  chromedriver + headless Chromium -> {url} (3 runs)");
        let outcome = crate::page::measure(&url, 3);
        server.stop();
        match outcome {
            Ok(runs) => {
                for (run, timings) in runs.iter().enumerate() {
                    println!(
                        "  run {}: HTML {:.0} ms, load {:.0} ms, app rendered {:.0} ms, open {:.0} ms, first echo {:.0} ms",
                        run + 1,
                        timings.response_end,
                        timings.load,
                        timings.app_ready,
                        timings.open,
                        timings.first_echo
                    );
                }
                Some(runs)
            }
            Err(err) => {
                eprintln!("suite: first echo not measured: {err}");
                None
            }
        }
    }

    /// Runs this binary pinned to the client core with `args`, and reads its report.
    /// Also returns the generator's CPU use, in percent of its core.
    fn generate(&self, args: &[String]) -> Result<(Report, Option<f64>), String> {
        let exe = std::env::current_exe().map_err(|err| format!("cannot find the loadgen binary: {err}"))?;
        let mut command = self.prefixed(self.args.client_core);
        command.arg(exe).args(args);
        println!("  $ {}", shell_words(&command));
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|err| format!("cannot run the load generator: {err}"))?;
        let mut stdout = String::new();
        child.stdout.take().expect("piped stdout").read_to_string(&mut stdout).map_err(|err| err.to_string())?;
        let status = child.wait().map_err(|err| err.to_string())?;
        if !status.success() {
            return Err(format!("the load generator failed ({status})"));
        }
        let report = Report::from_output(&stdout).ok_or("the load generator printed no result")?;
        let cpu = stdout.lines().find_map(|line| line.strip_prefix(GENERATOR_CPU_PREFIX)?.trim().parse().ok());
        Ok((report, cpu))
    }
}

/// A running server, stopped (killed) by `stop`.
struct Server {
    child: Child,
    addr: String,
    pid: u32,
}

impl Server {
    fn stop(&mut self) {
        // SIGKILL on purpose: the measurement is over, and a graceful shutdown
        // would wait for every socket's close handshake.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address in a `listening on http://HOST:PORT ...` line, which both servers print.
fn listening_address(line: &str) -> Option<String> {
    let marker = "listening on http://";
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.split(|c: char| c.is_whitespace() || c == ')').next().filter(|addr| !addr.is_empty()).map(str::to_owned)
}

/// Results of the whole suite.
#[derive(Debug, Default)]
struct Results {
    throughput: Rounds,
    rate: f64,
    fixed_rate: Rounds,
    handshakes: Rounds,
    idle: Rounds,
    page: Option<PageSize>,
    first_echo: Option<Vec<FirstEcho>>,
}

/// What each budget compares, and the verdict.
struct Row {
    what: String,
    rust: String,
    node: String,
    ratio: String,
    budget: String,
    verdict: &'static str,
}

impl Results {
    fn table(&self) -> String {
        let mut rows = Vec::new();
        if !self.throughput.rust.is_empty() {
            let get = |report: &Report| match report {
                Report::Throughput { messages_per_s, .. } => *messages_per_s,
                _ => f64::NAN,
            };
            let (rust, node) = (median(&self.throughput.rust, get), median(&self.throughput.node, get));
            rows.push(Row {
                what: format!("echo throughput, {CONNECTIONS} conn x {IN_FLIGHT} in flight x {SIZE} B (msg/s)"),
                rust: format_count(rust),
                node: format_count(node),
                ratio: format!("{:.2}x", rust / node),
                budget: ">= 6x Node".into(),
                verdict: verdict(rust / node >= 6.0),
            });
            let (rust, node) =
                (self.throughput.per_cpu_second(Peer::Rust, get), self.throughput.per_cpu_second(Peer::Node, get));
            rows.push(Row {
                what: "same, echoes per CPU-second of the server".into(),
                rust: format_count(rust),
                node: format_count(node),
                ratio: format!("{:.2}x", rust / node),
                budget: "(information)".into(),
                verdict: "",
            });
        }
        if !self.fixed_rate.rust.is_empty() {
            let pick = |quantile: fn(&crate::report::Latency) -> f64| {
                move |report: &Report| match report {
                    Report::FixedRate { latency, .. } => quantile(latency),
                    _ => f64::NAN,
                }
            };
            let p99 = pick(|latency| latency.p99_us);
            let (rust, node) = (median(&self.fixed_rate.rust, p99), median(&self.fixed_rate.node, p99));
            rows.push(Row {
                what: format!("p99 latency at {} msg/s (half Node's capacity)", format_count(self.rate)),
                rust: format_micros(rust),
                node: format_micros(node),
                ratio: format!("{:.2}x", rust / node),
                budget: "< Node".into(),
                verdict: verdict(rust < node),
            });
            for (label, quantile) in
                [("p50", pick(|latency| latency.p50_us)), ("p99.9", pick(|latency| latency.p999_us))]
            {
                let (rust, node) = (median(&self.fixed_rate.rust, quantile), median(&self.fixed_rate.node, quantile));
                rows.push(Row {
                    what: format!("{label} latency at the same rate"),
                    rust: format_micros(rust),
                    node: format_micros(node),
                    ratio: format!("{:.2}x", rust / node),
                    budget: "(information)".into(),
                    verdict: "",
                });
            }
        }
        if !self.handshakes.rust.is_empty() {
            let get = |report: &Report| match report {
                Report::Handshakes { per_s, .. } => *per_s,
                _ => f64::NAN,
            };
            let (rust, node) = (median(&self.handshakes.rust, get), median(&self.handshakes.node, get));
            rows.push(Row {
                what: format!("handshakes, open + clean close, {HANDSHAKE_CONCURRENCY} workers (/s)"),
                rust: format_count(rust),
                node: format_count(node),
                ratio: format!("{:.2}x", rust / node),
                budget: ">= 2x Node".into(),
                verdict: verdict(rust / node >= 2.0),
            });
            let (rust, node) =
                (self.handshakes.per_cpu_second(Peer::Rust, get), self.handshakes.per_cpu_second(Peer::Node, get));
            rows.push(Row {
                what: "same, handshakes per CPU-second of the server".into(),
                rust: format_count(rust),
                node: format_count(node),
                ratio: format!("{:.2}x", rust / node),
                budget: "(information)".into(),
                verdict: "",
            });
        }
        if !self.idle.rust.is_empty() {
            let get = |report: &Report| match report {
                Report::Idle { kib_per_connection, .. } => *kib_per_connection,
                _ => f64::NAN,
            };
            let (rust, node) = (median(&self.idle.rust, get), median(&self.idle.node, get));
            rows.push(Row {
                what: format!("memory per idle connection, {} open (KiB RSS)", self.idle_connections()),
                rust: format!("{rust:.2}"),
                node: format!("{node:.2}"),
                ratio: format!("{:.2}x", rust / node),
                budget: "<= 4 KB (3.91 KiB)".into(),
                verdict: verdict(rust * 1024.0 <= 4_000.0),
            });
        }
        if let Some(page) = &self.page {
            rows.push(Row {
                what: format!("page: HTML + JS + wasm + CSS, gzip -6 ({} files)", page.files.len()),
                rust: format!("{} bytes", format_count(page.gzipped as f64)),
                node: "-".into(),
                ratio: "-".into(),
                budget: "<= 150 KB (150,000 bytes)".into(),
                verdict: verdict(page.gzipped <= 150_000),
            });
        }
        let (first_echo, first_echo_verdict) = match &self.first_echo {
            Some(runs) => {
                let ms = median_of(&mut runs.iter().map(|run| run.first_echo).collect::<Vec<_>>());
                (format!("{ms:.0} ms"), verdict(ms <= 300.0))
            }
            None => ("not measured".to_owned(), "NOT MEASURED"),
        };
        rows.push(Row {
            what: "first echo shown after navigation, headless Chromium, loopback".into(),
            rust: first_echo,
            node: "-".into(),
            ratio: "-".into(),
            budget: "<= 300 ms".into(),
            verdict: first_echo_verdict,
        });

        let mut out = String::from(
            "| scenario | backend (Rust) | Node.js websocket | Rust / Node | budget | verdict |\n\
             | --- | ---: | ---: | ---: | --- | --- |\n",
        );
        for row in rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                row.what, row.rust, row.node, row.ratio, row.budget, row.verdict
            ));
        }
        out.push_str("\nFigures are medians of the rounds; each round ran both servers.");
        if let Some(page) = &self.page {
            out.push_str("\n\nPage files (raw -> gzip -6 bytes):\n");
            for (name, raw, gzipped) in &page.files {
                out.push_str(&format!(
                    "  {name}: {} -> {}\n",
                    format_count(*raw as f64),
                    format_count(*gzipped as f64)
                ));
            }
        }
        out
    }

    fn idle_connections(&self) -> u64 {
        match self.idle.rust.first() {
            Some(Report::Idle { connections, .. }) => *connections,
            _ => 0,
        }
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

/// The median of `value` over `reports` (the mean of the middle two for an even count).
pub fn median(reports: &[Report], value: impl Fn(&Report) -> f64) -> f64 {
    let mut values: Vec<f64> = reports.iter().map(value).collect();
    median_of(&mut values)
}

/// The median of `values`; NaN when there are none.
pub fn median_of(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// One report on one line, for the per-round log.
fn one_line(report: &Report) -> String {
    match report {
        Report::Throughput { messages_per_s, latency, errors } => {
            format!("{} msg/s, rtt p99 {}, {errors} errors", format_count(*messages_per_s), format_micros(latency.p99_us))
        }
        Report::FixedRate { sent_per_s, latency, send_lag, missing, errors, .. } => format!(
            "sent {} msg/s, p50 {} p99 {} p99.9 {} max {}, send lag p99 {}, {missing} unanswered, {errors} errors",
            format_count(*sent_per_s),
            format_micros(latency.p50_us),
            format_micros(latency.p99_us),
            format_micros(latency.p999_us),
            format_micros(latency.max_us),
            format_micros(send_lag.p99_us)
        ),
        Report::Handshakes { per_s, open_latency, errors } => {
            format!("{} /s, connect-to-101 p99 {}, {errors} errors", format_count(*per_s), format_micros(open_latency.p99_us))
        }
        Report::Idle { connections, rss_before_kib, rss_after_kib, kib_per_connection, errors } => format!(
            "{connections} held, RSS {rss_before_kib} -> {rss_after_kib} KiB, {kib_per_connection:.2} KiB/conn, {errors} errors"
        ),
    }
}

/// The web app's files and their sizes.
#[derive(Debug)]
struct PageSize {
    /// (file name, raw bytes, gzipped bytes)
    files: Vec<(String, u64, u64)>,
    gzipped: u64,
}

/// Gzips what the page loads at start from `dist` (`index.html` and every JS,
/// wasm and CSS file; not `lab.html`, which is fetched when the lab is opened)
/// at level 6, gzip's default and a common server setting, and adds up the sizes.
fn page_size(dist: &Path) -> Result<PageSize, String> {
    let entries = std::fs::read_dir(dist).map_err(|err| format!("cannot read {}: {err}", dist.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|err| err.to_string())?.path();
        let counts = matches!(path.extension().and_then(|ext| ext.to_str()), Some("js" | "wasm" | "css"))
            || path.file_name().is_some_and(|name| name == "index.html");
        if !counts || !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        files.push((name, bytes.len() as u64, gzip_len(&bytes)));
    }
    if files.is_empty() {
        return Err(format!("no HTML, JS, wasm or CSS in {}", dist.display()));
    }
    files.sort();
    let gzipped = files.iter().map(|(_, _, gzipped)| gzipped).sum();
    Ok(PageSize { files, gzipped })
}

/// Bytes of `data` after gzip at level 6.
pub fn gzip_len(data: &[u8]) -> u64 {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(data).expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail").len() as u64
}

fn flags(pairs: &[(&str, String)]) -> Vec<String> {
    pairs.iter().flat_map(|(name, value)| [format!("--{name}"), value.clone()]).collect()
}

/// A command as it would be typed, for the log and BENCHMARKS.md.
fn shell_words(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn step(name: &str) {
    println!("\nsuite: ── {name} ──");
}

fn run_checked(command: &mut Command) -> Result<(), String> {
    println!("  $ {}", shell_words(command));
    let status = command.status().map_err(|err| format!("cannot run {:?}: {err}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", shell_words(command)))
    }
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The workspace root: the parent of this crate.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("loadgen lives in the workspace").to_path_buf()
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(tool)).find(|path| path.is_file())
}

/// CPU model, core count and kernel, for the record.
fn machine_summary() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_of(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median_of(&mut []).is_nan());
    }

    #[test]
    fn gzip_shrinks_repetitive_data() {
        let data = vec![b'a'; 100_000];
        let len = gzip_len(&data);
        assert!(len > 18 && len < 1_000, "{len}");
    }

    #[test]
    fn listening_lines_of_both_servers() {
        let backend = "2026-11-25T13:00:00Z  INFO backend::server: listening on http://127.0.0.1:4321 (WebSocket echo at ws://127.0.0.1:4321/ws) addr=127.0.0.1:4321";
        assert_eq!(listening_address(backend).as_deref(), Some("127.0.0.1:4321"));
        let node = "listening on http://127.0.0.1:5555 (WebSocket echo at ws://127.0.0.1:5555/ws)";
        assert_eq!(listening_address(node).as_deref(), Some("127.0.0.1:5555"));
        assert_eq!(listening_address("starting"), None);
    }

    #[test]
    fn verdicts_are_words() {
        assert_eq!(verdict(true), "PASS");
        assert_eq!(verdict(false), "FAIL");
    }
}
