//! Closed loop: N connections, each keeping M messages in flight; every echo
//! that comes back is answered with a new message, so the server is the
//! bottleneck and the count of echoes per second is its capacity. With one
//! message in flight on each of many connections and the server's CPU capped,
//! the same loop measures fairness under overload: how the round trips and
//! the echoes per connection spread.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout_at;

use crate::conn::{open_many, Kind, Socket, Target};
use crate::deflate::Offer;
use crate::frame::{encode_client_frame, encode_close, Opcode, XorShift};
use crate::report::{latency_histogram, record, Latency, Report, Spread};

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

/// How long after the window the last echoes are waited for, at least
/// (the measured time, if longer): a server that falls behind is given time
/// to answer what it was sent, so its slowest answers are measured too.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs the closed loop and reports echoes per second of the measured window.
pub async fn run(plan: Plan) -> Result<Report, String> {
    // Room for a connection's whole flight of echoes in one read, without
    // 64 KiB per socket when 10,000 connections each have one small message out.
    let chunk = (plan.in_flight as usize * (plan.kind.payload(plan.size).len() + 14) * 2).clamp(1024, 64 * 1024);
    let sockets = open_many(&plan.target, plan.connections, 64, chunk, Offer::Off).await;
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
    let mut unanswered = 0u64;
    // Echoes each connection got in the window: a server that serves some
    // connections and starves others shows it here, whatever the total.
    let mut per_connection = Vec::with_capacity(plan.connections as usize);
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("connection tasks do not panic") {
            Ok(outcome) => {
                counted += outcome.counted;
                unanswered += outcome.unanswered;
                per_connection.push(outcome.counted);
                histogram.add(&outcome.histogram).expect("histograms share bounds");
            }
            Err(err) => {
                if errors < 3 {
                    eprintln!("{err}");
                }
                errors += 1;
            }
        }
    }
    Ok(Report::Throughput {
        messages_per_s: counted as f64 / plan.duration.as_secs_f64(),
        latency: Latency::from_nanos(&histogram),
        errors,
        per_connection: Spread::of(&mut per_connection),
        unanswered,
    })
}

/// What one connection measured.
struct Outcome {
    /// Echoes received in the window.
    counted: u64,
    /// Round trips of the messages sent in the window.
    histogram: Histogram<u64>,
    /// Messages sent in the window still unanswered when the wait ended.
    unanswered: u64,
}

/// One connection's loop. Throughput counts the echoes that arrive in the
/// window; latency counts the messages *sent* in the window, however late
/// their echo, so a message a server leaves waiting past the window's end
/// still weighs on the tail. One that is never answered by the end of the
/// drain is recorded at the time it had waited then (a lower bound) and
/// counted as unanswered.
async fn closed_loop(mut socket: Socket, plan: Plan, window: Window, index: u64) -> Result<Outcome, String> {
    let mut rng = XorShift::from_clock(index ^ 0xC105_ED10);
    let mut payload = plan.kind.payload(plan.size);
    let mut out = Vec::with_capacity(plan.in_flight as usize * (payload.len() + 14));
    let mut histogram = latency_histogram();
    let mut counted = 0u64;
    // Send times (nanoseconds since the start) of the messages in flight,
    // oldest first: each connection's echoes come back in order.
    let mut in_flight: VecDeque<u64> = VecDeque::with_capacity(plan.in_flight as usize);

    let since_start = |now: Instant| now.duration_since(window.start).as_nanos() as u64;
    let measure_from = since_start(window.measure_from);
    let end = since_start(window.end);
    let measured = |sent: u64| sent >= measure_from && sent < end;
    // One clock read stamps a whole batch: the batch leaves in one write anyway.
    let mut queue = |count: u64, out: &mut Vec<u8>, in_flight: &mut VecDeque<u64>, rng: &mut XorShift| {
        let now = since_start(Instant::now());
        plan.kind.stamp(&mut payload, now);
        for _ in 0..count {
            encode_client_frame(plan.kind.opcode(), &payload, rng.mask(), out);
            in_flight.push_back(now);
        }
    };

    queue(plan.in_flight, &mut out, &mut in_flight, &mut rng);
    write(&mut socket, &out).await?;
    let drain_deadline = window.end + plan.duration.max(DRAIN);
    while !in_flight.is_empty() {
        let read = match timeout_at(drain_deadline.into(), socket.reader.fill(&mut socket.stream)).await {
            Ok(read) => read.map_err(|err| format!("connection {index}: read: {err}"))?,
            Err(_) => {
                let waited_until = since_start(Instant::now());
                let unanswered: Vec<u64> = in_flight.into_iter().filter(|sent| measured(*sent)).collect();
                for sent in &unanswered {
                    record(&mut histogram, waited_until.saturating_sub(*sent));
                }
                return Ok(Outcome { counted, histogram, unanswered: unanswered.len() as u64 });
            }
        };
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
                    let sent = in_flight
                        .pop_front()
                        .ok_or_else(|| format!("connection {index}: an echo of nothing that was sent"))?;
                    echoes += 1;
                    counted += u64::from(in_window);
                    if measured(sent) {
                        record(&mut histogram, since_start(now).saturating_sub(sent));
                    }
                }
                Opcode::Ping => encode_client_frame(Opcode::Pong, data, rng.mask(), &mut out),
                Opcode::Pong => {}
                Opcode::Close => return Err(format!("connection {index}: the server sent a close frame")),
            }
        }
        if now < window.end {
            queue(echoes, &mut out, &mut in_flight, &mut rng);
        }
        if !out.is_empty() {
            write(&mut socket, &out).await?;
        }
    }
    close(&mut socket, &mut rng).await;
    Ok(Outcome { counted, histogram, unanswered: 0 })
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
