//! The servers compared, and how each is started: pinned to the server core,
//! with a high open-file limit, at the chosen nice value, and inside the CPU
//! cap when a scenario asks for one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::cpu_cap::CpuCap;
use super::inputs::Inputs;

/// The servers the suite measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// This project's backend.
    Rust,
    /// `websocket@1.0.35` on Node's `http`: the original app, which the budgets compare with.
    Websocket,
    /// `ws@8` on Node's `http`, without compression.
    Ws,
    /// `ws@8` with `perMessageDeflate` on.
    WsDeflate,
}

impl Peer {
    /// The name in logs and tables.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Rust => "backend (Rust)",
            Peer::Websocket => "Node.js websocket@1.0.35",
            Peer::Ws => "Node.js ws@8",
            Peer::WsDeflate => "Node.js ws@8 + deflate",
        }
    }
}

/// The backend's connection cap in the suite: above the 10,000 connections of
/// the idle and overload scenarios, so the limit stays on without being what
/// is measured.
const BACKEND_MAX_CONNECTIONS: &str = "20000";

/// The servers' open-file limit: 10,000 sockets and then some. It is capped at
/// this process's hard limit, which only a process with CAP_SYS_RESOURCE
/// could exceed (some sandboxes deny it even to root).
const SERVER_NOFILE: u64 = 65_536;

/// Starts servers the same way every time.
#[derive(Debug)]
pub struct Launcher {
    inputs: Inputs,
    nice: Option<i32>,
    core: u32,
    nofile: u64,
}

impl Launcher {
    /// A launcher for the servers in `inputs`, pinned to `core`.
    pub fn new(inputs: Inputs, nice: Option<i32>, core: u32) -> Result<Launcher, String> {
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map_err(|err| format!("cannot read the open-file limit: {err}"))?;
        Ok(Launcher { inputs, nice, core, nofile: SERVER_NOFILE.min(hard) })
    }

    /// The open-file limit servers get.
    pub fn nofile(&self) -> u64 {
        self.nofile
    }

    /// What is measured.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Starts `peer` on a free loopback port, inside `cap` if given, and
    /// waits until it listens. The backend serves `dist` when the suite has one.
    pub fn start(&self, peer: Peer, cap: Option<&CpuCap>) -> Result<Server, String> {
        let mut command = pinned(self.nice, self.core);
        command.args(["prlimit", &format!("--nofile={0}:{0}", self.nofile), "--"]);
        let node = |command: &mut Command, script: &str, flags: &[&str]| {
            command.arg("node").arg(self.inputs.node_dir.join(script)).args(["--port", "0"]).args(flags);
        };
        match peer {
            Peer::Rust => {
                // Production defaults: every limit, the keep-alive pings and the
                // per-connection log lines stay on; only the cap is raised.
                command.arg(&self.inputs.backend).args([
                    "--addr",
                    "127.0.0.1:0",
                    "--max-connections",
                    BACKEND_MAX_CONNECTIONS,
                ]);
                if let Some(dist) = &self.inputs.dist {
                    command.arg("--dist").arg(dist);
                }
            }
            Peer::Websocket => node(&mut command, "server.js", &[]),
            Peer::Ws => node(&mut command, "ws-server.js", &[]),
            Peer::WsDeflate => node(&mut command, "ws-server.js", &["--per-message-deflate"]),
        }
        let mut command = match cap {
            Some(cap) => cap.wrap(command),
            None => command,
        };
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
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
                if let Some(addr) = listening_address(line.trim_end()) {
                    let _ = found.send(addr);
                    break;
                }
                line.clear();
            }
            // The rest is drained in bulk, not split into lines: at tens of
            // thousands of connections a second, splitting the backend's two
            // log lines per connection cost this process, which shares the
            // machine's two cores with the server and the generator, a
            // noticeable share of a core.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
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
}

/// `taskset -c CORE`, after `nice -n N` when a priority was asked for.
/// (Not SCHED_FIFO: under it a runtime's helper threads on the same core
/// wait for the main thread to block, which cut Node.js's figures by 4x.)
pub fn pinned(nice: Option<i32>, core: u32) -> Command {
    let mut command = match nice {
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

/// A running server, killed when stopped or dropped.
pub struct Server {
    child: Child,
    /// `HOST:PORT` it listens on.
    pub addr: String,
    /// Its process id.
    pub pid: u32,
}

impl Server {
    /// The echo endpoint's URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Kills the server and waits for it to be gone.
    pub fn stop(&mut self) {
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

/// The address in a `listening on http://HOST:PORT ...` line, which every server prints.
pub fn listening_address(line: &str) -> Option<String> {
    let marker = "listening on http://";
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.split(|c: char| c.is_whitespace() || c == ')').next().filter(|addr| !addr.is_empty()).map(str::to_owned)
}

/// A command as it would be typed, for the log and BENCHMARKS.md.
pub fn shell_words(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines_of_every_server() {
        let backend = "2026-11-25T13:00:00Z  INFO backend::server: listening on http://127.0.0.1:4321 (WebSocket echo at ws://127.0.0.1:4321/ws) addr=127.0.0.1:4321";
        assert_eq!(listening_address(backend).as_deref(), Some("127.0.0.1:4321"));
        let node = "listening on http://127.0.0.1:5555 (WebSocket echo at ws://127.0.0.1:5555/ws)";
        assert_eq!(listening_address(node).as_deref(), Some("127.0.0.1:5555"));
        assert_eq!(listening_address("starting"), None);
    }
}
