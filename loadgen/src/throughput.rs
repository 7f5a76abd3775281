//! Closed loop: N connections, each keeping M messages in flight; every echo
//! that comes back is answered with a new message, so the server is the
//! bottleneck and the count of echoes per second is its capacity.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout_at;

use crate::conn::{open_many, Kind, Socket, Target};
use crate::frame::{encode_client_frame, encode_close, Opcode, XorShift};
use crate::report::{latency_histogram, record, Latency, Report};

/// What a closed-loop run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The echo endpoint.
    pub target: Target,
    /// Connections.
    pub connections: u64,
    /// Messages in flight on each connection.
    pub in_flight: u64,
    /// Payload bytes per message.
    pub size: usize,
    /// Binary or text.
    pub kind: Kind,
    /// Time before measuring starts (connections and server warm up).
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
}

/// When a connection's loop measures and stops, shared by all connections.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

/// How long a silent server is waited for before a connection gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the closed loop and reports echoes per second of the measured window.
pub async fn run(plan: Plan) -> Result<Report, String> {
    let sockets = open_many(&plan.target, plan.connections, 64, 64 * 1024).await;
    let mut errors = 0u64;
    if let Some(Err(err)) = sockets.iter().find(|socket| socket.is_err()).filter(|_| sockets.iter().all(Result::is_err))
    {
        return Err(format!("no connection could be opened: {err}"));
    }
    let start = Instant::now();
    let window = Window { start, measure_from: start + plan.warmup, end: start + plan.warmup + plan.duration };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, socket) in sockets.into_iter().enumerate() {
        match socket {
            Ok(socket) => {
                let plan = plan.clone();
                tasks.spawn(closed_loop(socket, plan, window, index as u64));
            }
            Err(err) => {
                eprintln!("connection {index}: {err}");
                errors += 1;
            }
        }
    }
    let mut histogram = latency_histogram();
    let mut counted = 0u64;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("connection tasks do not panic") {
            Ok((count, connection_histogram)) => {
                counted += count;
                histogram.add(&connection_histogram).expect("histograms share bounds");
            }
            Err(err) => {
                eprintln!("{err}");
                errors += 1;
            }
        }
    }
    Ok(Report::Throughput {
        messages_per_s: counted as f64 / plan.duration.as_secs_f64(),
        latency: Latency::from_nanos(&histogram),
        errors,
    })
}

/// One connection's loop: returns the echoes received in the measured window
/// and their round-trip times.
async fn closed_loop(
    mut socket: Socket,
    plan: Plan,
    window: Window,
    index: u64,
) -> Result<(u64, Histogram<u64>), String> {
    let mut rng = XorShift::from_clock(index ^ 0xC105_ED10);
    let mut payload = plan.kind.payload(plan.size);
    let mut out = Vec::with_capacity(plan.in_flight as usize * (payload.len() + 14));
    let mut histogram = latency_histogram();
    let mut counted = 0u64;

    let since_start = |now: Instant| now.duration_since(window.start).as_nanos() as u64;
    // One clock read stamps a whole batch: the batch leaves in one write anyway.
    let mut queue = |count: u64, out: &mut Vec<u8>, rng: &mut XorShift| {
        plan.kind.stamp(&mut payload, since_start(Instant::now()));
        for _ in 0..count {
            encode_client_frame(plan.kind.opcode(), &payload, rng.mask(), out);
        }
    };

    queue(plan.in_flight, &mut out, &mut rng);
    write(&mut socket, &out).await?;
    let mut outstanding = plan.in_flight;
    while outstanding > 0 {
        let read = timeout_at((window.end + STALL_TIMEOUT).into(), socket.reader.fill(&mut socket.stream))
            .await
            .map_err(|_| format!("connection {index}: no echo for {STALL_TIMEOUT:?}"))?
            .map_err(|err| format!("connection {index}: read: {err}"))?;
        if read == 0 {
            return Err(format!("connection {index}: the server closed the connection"));
        }
        let now = Instant::now();
        let in_window = now >= window.measure_from && now < window.end;
        out.clear();
        let mut echoes = 0u64;
        while let Some((frame, data)) = socket.reader.next_frame()? {
            match frame.opcode {
                Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                    if !frame.fin {
                        continue;
                    }
                    echoes += 1;
                    if in_window {
                        counted += 1;
                        if let Some(stamp) = plan.kind.read_stamp(data) {
                            record(&mut histogram, since_start(now).saturating_sub(stamp));
                        }
                    }
                }
                Opcode::Ping => encode_client_frame(Opcode::Pong, data, rng.mask(), &mut out),
                Opcode::Pong => {}
                Opcode::Close => return Err(format!("connection {index}: the server sent a close frame")),
            }
        }
        outstanding -= echoes.min(outstanding);
        if now < window.end {
            queue(echoes, &mut out, &mut rng);
            outstanding += echoes;
        }
        if !out.is_empty() {
            write(&mut socket, &out).await?;
        }
    }
    close(&mut socket, &mut rng).await;
    Ok((counted, histogram))
}

async fn write(socket: &mut Socket, bytes: &[u8]) -> Result<(), String> {
    socket.stream.write_all(bytes).await.map_err(|err| format!("write: {err}"))
}

/// Sends a close frame and waits briefly for the server's; the outcome does not
/// matter to the measurement, which has ended.
pub async fn close(socket: &mut Socket, rng: &mut XorShift) {
    let mut out = Vec::new();
    encode_close(1000, rng.mask(), &mut out);
    if write(socket, &out).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            while let Ok(Some((frame, _))) = socket.reader.next_frame() {
                if frame.opcode == Opcode::Close {
                    return;
                }
            }
            match socket.reader.fill(&mut socket.stream).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}
