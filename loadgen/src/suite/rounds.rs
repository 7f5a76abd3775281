//! Interleaved rounds: each scenario runs against every server once per round,
//! forward in odd rounds and backward in even ones, so slow drift on the
//! machine weighs on all alike. Each measurement gets a fresh server process
//! and a fresh generator process (this same binary, re-run with a scenario's
//! flags), so one scenario's leftovers (sockets in TIME_WAIT, a grown heap)
//! cannot colour the next.

use std::io::Read;
use std::process::Stdio;

use super::cpu_cap::CpuCap;
use super::servers::{pinned, shell_words, Launcher, Peer};
use super::stats::median_of;
use crate::procfs::CpuMeter;
use crate::report::{format_count, format_micros, Report, GENERATOR_CPU_PREFIX};

/// One measurement.
#[derive(Debug, Clone)]
pub struct Measured {
    /// What the generator reported.
    pub report: Report,
    /// The server's CPU use over the generator's life, in percent of one core (NaN if unreadable).
    pub server_cpu: f64,
    /// The generator's own CPU use, in percent of its core (NaN if unreadable).
    pub generator_cpu: f64,
}

/// Every peer's measurements of one scenario, one per round that ran.
#[derive(Debug, Default)]
pub struct Rounds {
    by_peer: Vec<(Peer, Vec<Measured>)>,
}

impl Rounds {
    /// `peer`'s measurements (none if it did not run).
    pub fn of(&self, peer: Peer) -> &[Measured] {
        self.by_peer.iter().find(|(p, _)| *p == peer).map_or(&[], |(_, measured)| measured)
    }

    /// Whether any measurement of `peer` succeeded.
    pub fn has(&self, peer: Peer) -> bool {
        !self.of(peer).is_empty()
    }

    /// The median over rounds of `value` for `peer`.
    pub fn median(&self, peer: Peer, value: impl Fn(&Report) -> f64) -> f64 {
        median_of(&mut self.of(peer).iter().map(|measured| value(&measured.report)).collect::<Vec<_>>())
    }

    /// The median over rounds of `value` divided by the server's CPU share:
    /// work per CPU-second of the server, which other load on a shared machine
    /// disturbs less than work per wall-clock second.
    pub fn per_cpu_second(&self, peer: Peer, value: impl Fn(&Report) -> f64) -> f64 {
        median_of(
            &mut self
                .of(peer)
                .iter()
                .map(|measured| value(&measured.report) / (measured.server_cpu / 100.0))
                .collect::<Vec<_>>(),
        )
    }

    /// The median server and generator CPU use for `peer`, in percent.
    pub fn cpu(&self, peer: Peer) -> (f64, f64) {
        let measured = self.of(peer);
        (
            median_of(&mut measured.iter().map(|m| m.server_cpu).collect::<Vec<_>>()),
            median_of(&mut measured.iter().map(|m| m.generator_cpu).collect::<Vec<_>>()),
        )
    }

    fn push(&mut self, peer: Peer, measured: Measured) {
        match self.by_peer.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, list)) => list.push(measured),
            None => self.by_peer.push((peer, vec![measured])),
        }
    }
}

/// Runs scenarios in rounds.
pub struct Runner<'a> {
    /// Starts the servers.
    pub launcher: &'a Launcher,
    /// Rounds per scenario.
    pub rounds: u32,
    /// The generator's core.
    pub client_core: u32,
    /// The generator's nice value.
    pub nice: Option<i32>,
}

impl Runner<'_> {
    /// Runs one scenario against each of `peers` every round; `scenario_args`
    /// gives the generator's flags for a server's pid (`--url` is added).
    /// A server inside `cap` gets less CPU than it would like.
    pub fn rounds(&self, peers: &[Peer], cap: Option<&CpuCap>, scenario_args: impl Fn(u32) -> Vec<String>) -> Rounds {
        let mut rounds = Rounds::default();
        for round in 0..self.rounds.max(1) {
            let mut order = peers.to_vec();
            if round % 2 == 1 {
                order.reverse();
            }
            for peer in order {
                // One failed measurement (say, a server that fell over) costs
                // its round, not the whole suite; medians use the rounds that ran.
                match self.measure(peer, cap, &scenario_args) {
                    Ok(measured) => {
                        let cpu = |percent: f64| {
                            if percent.is_nan() {
                                "?".to_owned()
                            } else {
                                format!("{percent:.0}%")
                            }
                        };
                        println!(
                            "  round {} {:<26} {}  [CPU: server {}, generator {}]",
                            round + 1,
                            peer.name(),
                            one_line(&measured.report),
                            cpu(measured.server_cpu),
                            cpu(measured.generator_cpu)
                        );
                        rounds.push(peer, measured);
                    }
                    Err(err) => println!("  round {} {:<26} FAILED: {err}", round + 1, peer.name()),
                }
            }
        }
        rounds
    }

    fn measure(
        &self,
        peer: Peer,
        cap: Option<&CpuCap>,
        scenario_args: &impl Fn(u32) -> Vec<String>,
    ) -> Result<Measured, String> {
        let _engaged = cap.map(CpuCap::engage).transpose()?;
        let mut server = self.launcher.start(peer, cap)?;
        let mut args = scenario_args(server.pid);
        args.extend(["--url".to_owned(), server.ws_url()]);
        let server_cpu = CpuMeter::start(server.pid);
        let outcome = self.generate(&args);
        let server_percent = server_cpu.percent();
        server.stop();
        if let Some(throttled) = cap.and_then(CpuCap::throttled) {
            println!("  cgroup: {throttled} so far");
        }
        let (report, generator_cpu) = outcome?;
        Ok(Measured {
            report,
            server_cpu: server_percent.unwrap_or(f64::NAN),
            generator_cpu: generator_cpu.unwrap_or(f64::NAN),
        })
    }

    /// Runs this binary pinned to the client core with `args`, and reads its
    /// report and its CPU use (percent of its core).
    fn generate(&self, args: &[String]) -> Result<(Report, Option<f64>), String> {
        let exe = std::env::current_exe().map_err(|err| format!("cannot find the loadgen binary: {err}"))?;
        let mut command = pinned(self.nice, self.client_core);
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

/// One report on one line, for the per-round log.
pub fn one_line(report: &Report) -> String {
    match report {
        Report::Throughput { messages_per_s, latency, errors, per_connection, unanswered } => {
            let mut line = format!(
                "{} msg/s, rtt p50 {} p99 {} max {}, {unanswered} unanswered, {errors} errors",
                format_count(*messages_per_s),
                format_micros(latency.p50_us),
                format_micros(latency.p99_us),
                format_micros(latency.max_us)
            );
            if let Some(spread) = per_connection {
                line.push_str(&format!("; {spread}"));
            }
            line
        }
        Report::Compressed { messages_per_s, latency, errors, negotiated, echoes, compressed_echoes, mismatched, .. } => {
            format!(
                "{} msg/s, rtt p99 {}, {}, {compressed_echoes} of {echoes} echoes compressed, {mismatched} mismatched, {errors} errors",
                format_count(*messages_per_s),
                format_micros(latency.p99_us),
                negotiated.as_deref().unwrap_or("NOT negotiated")
            )
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
        Report::Idle { connections, rss_before_kib, rss_after_kib, kib_per_connection, errors, negotiated } => format!(
            "{connections} held, RSS {rss_before_kib} -> {rss_after_kib} KiB, {kib_per_connection:.2} KiB/conn, {errors} errors{}",
            negotiated.as_deref().map(|agreed| format!(", {agreed}")).unwrap_or_default()
        ),
    }
}
