//! Idle memory: hold N open WebSockets that send nothing, and read the server's
//! resident memory (VmRSS in /proc/PID/status) before and after. Held
//! connections answer pings, so a server's keep-alive never closes them.
//! At the end the connections are dropped (TCP FIN, no close handshake): the
//! measurement is over and a clean close of 10,000 sockets would only add time.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::conn::{open_many, Socket, Target};
use crate::deflate::Offer;
use crate::frame::{encode_client_frame, Opcode, XorShift};
use crate::report::Report;

/// What an idle run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The echo endpoint.
    pub target: Target,
    /// Connections to hold.
    pub connections: u64,
    /// The server's process id, whose memory is read.
    pub server_pid: u32,
    /// How long to wait after the last connection opened before reading memory.
    pub settle: Duration,
    /// The extension offered on every connection (permessage-deflate costs a
    /// server memory per connection only where it is negotiated).
    pub offer: Offer,
}

/// Opens the connections, reads the server's memory, then lets them go.
pub async fn run(plan: Plan) -> Result<Report, String> {
    raise_open_file_limit(plan.connections)?;
    let rss_before_kib = read_rss_kib(plan.server_pid)?;
    let mut holders = tokio::task::JoinSet::new();
    let mut errors = 0u64;
    let mut negotiated = None;
    let mut declined = 0u64;
    // Small read buffers: the generator itself holds 10,000 sockets.
    for (index, socket) in
        open_many(&plan.target, plan.connections, 128, 1024, plan.offer).await.into_iter().enumerate()
    {
        match socket {
            Ok(socket) => {
                match socket.deflate {
                    Some(agreed) => negotiated = Some(agreed.to_string()),
                    None => declined += 1,
                }
                holders.spawn(hold(socket, index as u64));
            }
            Err(err) => {
                if errors < 3 {
                    eprintln!("connection {index}: {err}");
                }
                errors += 1;
            }
        }
    }
    tokio::time::sleep(plan.settle).await;
    let rss_after_kib = read_rss_kib(plan.server_pid)?;
    // Connections the server closed while we waited do not count as held.
    let mut closed = 0u64;
    while holders.try_join_next().is_some() {
        closed += 1;
    }
    let connections = holders.len() as u64;
    holders.shutdown().await;
    errors += closed;
    let kib_per_connection =
        if connections == 0 { 0.0 } else { rss_after_kib.saturating_sub(rss_before_kib) as f64 / connections as f64 };
    if plan.offer != Offer::Off && negotiated.is_some() && declined > 0 {
        eprintln!("{declined} connections were opened without the permessage-deflate the others negotiated");
    }
    Ok(Report::Idle { connections, rss_before_kib, rss_after_kib, kib_per_connection, errors, negotiated })
}

/// Keeps one connection open, answering pings, until the task is dropped.
async fn hold(mut socket: Socket, index: u64) {
    let mut rng = XorShift::from_clock(index ^ 0x1D1E);
    let mut out = Vec::new();
    loop {
        out.clear();
        while let Ok(Some((frame, data))) = socket.reader.next_frame() {
            match frame.opcode {
                Opcode::Ping => encode_client_frame(Opcode::Pong, data, rng.mask(), &mut out),
                Opcode::Close => return,
                _ => {}
            }
        }
        if !out.is_empty() && socket.stream.write_all(&out).await.is_err() {
            return;
        }
        match socket.reader.fill(&mut socket.stream).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The server's resident memory in KiB.
fn read_rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|err| format!("cannot read {path}: {err}"))?;
    parse_vm_rss_kib(&status).ok_or_else(|| format!("no VmRSS line in {path}"))
}

/// Reads `VmRSS:   12345 kB` out of a /proc/PID/status text.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value),
        _ => None,
    }
}

/// Lifts this process's soft open-file limit to fit `connections` sockets
/// (up to the hard limit, which only root can raise).
pub fn raise_open_file_limit(connections: u64) -> Result<(), String> {
    let wanted = connections + 1_024;
    let raised =
        rlimit::increase_nofile_limit(wanted).map_err(|err| format!("cannot raise the open-file limit: {err}"))?;
    if raised < wanted {
        return Err(format!(
            "the open-file limit is {raised}, too low for {connections} connections (raise the hard limit, e.g. `prlimit --nofile={wanted}`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\tbackend\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t2\n";
        assert_eq!(parse_vm_rss_kib(status), Some(12_345));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 MB\n"), None, "only kB is understood");
    }

    #[test]
    fn this_process_has_a_readable_rss() {
        assert!(read_rss_kib(std::process::id()).unwrap() > 0);
    }
}
