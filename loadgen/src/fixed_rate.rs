//! Open loop at a fixed rate. Message k is due at `start + k / rate` whatever
//! happened before it, and its latency runs from that scheduled time, not from
//! when it actually left: a server that stalls is charged for every message
//! that should have been sent meanwhile (no coordinated omission).

use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::conn::{open_many, FrameBuffer, Kind, Target};
use crate::deflate::Offer;
use crate::frame::{encode_client_frame, encode_close, Opcode, XorShift};
use crate::report::{latency_histogram, record, Latency, Report};

/// What a fixed-rate run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The echo endpoint.
    pub target: Target,
    /// Messages per second, over all connections.
    pub rate: f64,
    /// Connections the messages are spread over, round robin.
    pub connections: u64,
    /// Payload bytes per message.
    pub size: usize,
    /// Binary or text.
    pub kind: Kind,
    /// Time before measuring starts.
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
    /// Below this much time to the next send, the sender yields instead of
    /// sleeping (a sleep can overshoot by the kernel's 50 µs timer slack).
    /// Zero always sleeps: sends may then leave up to ~60 µs late, but the
    /// sender leaves the core to the readers.
    pub spin: Duration,
}

/// When message `k` is due, in nanoseconds after the start, at `rate` per second.
/// Computed from `k` rather than accumulated, so rounding never drifts.
pub fn due_nanos(k: u64, rate: f64) -> u64 {
    (k as f64 * 1e9 / rate) as u64
}

/// Which of `connections` carries message `k`.
pub fn connection_for(k: u64, connections: u64) -> usize {
    (k % connections) as usize
}

/// How many messages fall due in `[0, nanos)` at `rate` per second.
pub fn messages_before(nanos: u64, rate: f64) -> u64 {
    (nanos as f64 * rate / 1e9).ceil() as u64
}

/// Runs the schedule and reports latency from the scheduled send times.
pub async fn run(plan: Plan) -> Result<Report, String> {
    if plan.rate <= 0.0 || !plan.rate.is_finite() {
        return Err("--rate must be a positive number".into());
    }
    let mut writers = Vec::new();
    let mut readers = tokio::task::JoinSet::new();
    let mut errors = 0u64;
    let (pong_tx, pong_rx) = mpsc::unbounded_channel::<(usize, Vec<u8>)>();
    let warmup_nanos = plan.warmup.as_nanos() as u64;
    let total_nanos = warmup_nanos + plan.duration.as_nanos() as u64;
    let mut sockets = Vec::new();
    for (index, socket) in
        open_many(&plan.target, plan.connections, 64, 64 * 1024, Offer::Off).await.into_iter().enumerate()
    {
        match socket {
            Ok(socket) => sockets.push(socket),
            Err(err) => {
                eprintln!("connection {index}: {err}");
                errors += 1;
            }
        }
    }
    if sockets.is_empty() {
        return Err("no connection could be opened".into());
    }
    // The clock starts once every connection is open, with a moment's lead for
    // the readers to be in place.
    let start = Instant::now() + Duration::from_millis(50);
    let deadline = start + Duration::from_nanos(total_nanos) + READ_GRACE;
    for (slot, socket) in sockets.into_iter().enumerate() {
        // The same socket twice: a blocking-style std handle for the sender
        // thread, and the tokio handle for this connection's reader.
        let std_stream = socket.stream.into_std().map_err(|err| format!("connection {slot}: {err}"))?;
        let writer = std_stream.try_clone().map_err(|err| format!("connection {slot}: {err}"))?;
        let read = tokio::net::TcpStream::from_std(std_stream).map_err(|err| format!("connection {slot}: {err}"))?;
        writers.push(writer);
        let echo = Echoes { kind: plan.kind, start, warmup_nanos, deadline, slot };
        readers.spawn(read_echoes(read, socket.reader, echo, pong_tx.clone()));
    }
    drop(pong_tx);

    // The schedule runs on its own thread: tokio's timer only has millisecond
    // resolution, and spinning inside the runtime would hold up the readers
    // whose clock reads are the measurement.
    let schedule = Schedule {
        kind: plan.kind,
        size: plan.size,
        rate: plan.rate,
        start,
        warmup_nanos,
        total_nanos,
        spin: plan.spin,
    };
    let sender = std::thread::spawn(move || schedule.send(writers, pong_rx));

    let mut histogram = latency_histogram();
    let mut received = 0u64;
    while let Some(joined) = readers.join_next().await {
        let (count, reader_histogram, error) = joined.expect("reader tasks do not panic");
        received += count;
        histogram.add(&reader_histogram).expect("histograms share bounds");
        if let Some(err) = error {
            eprintln!("{err}");
            errors += 1;
        }
    }
    let sent = sender.join().expect("the sender thread does not panic")?;
    let sent_in_window = sent.messages - messages_before(warmup_nanos, plan.rate).min(sent.messages);
    Ok(Report::FixedRate {
        target_per_s: plan.rate,
        sent_per_s: sent.messages as f64 / sent.elapsed.as_secs_f64(),
        latency: Latency::from_nanos(&histogram),
        send_lag: Latency::from_nanos(&sent.lag),
        missing: sent_in_window.saturating_sub(received),
        errors,
    })
}

/// The sender thread's instructions.
struct Schedule {
    kind: Kind,
    size: usize,
    rate: f64,
    start: Instant,
    warmup_nanos: u64,
    total_nanos: u64,
    spin: Duration,
}

/// What the sender thread did.
struct Sent {
    messages: u64,
    elapsed: Duration,
    lag: Histogram<u64>,
}

impl Schedule {
    /// Sends every message at its time, then a close frame on every connection.
    fn send(
        self,
        mut writers: Vec<StdTcpStream>,
        mut pongs: mpsc::UnboundedReceiver<(usize, Vec<u8>)>,
    ) -> Result<Sent, String> {
        let mut rng = XorShift::from_clock(0xF1_7ED);
        let mut payload = self.kind.payload(self.size);
        let mut out = Vec::with_capacity(payload.len() + 14);
        // How late each send left against its schedule: if this grows, the
        // generator itself was short of CPU, and the latencies say so too.
        let mut lag = latency_histogram();
        let mut k = 0u64;
        loop {
            let due = due_nanos(k, self.rate);
            if due >= self.total_nanos {
                break;
            }
            while let Ok((slot, data)) = pongs.try_recv() {
                out.clear();
                encode_client_frame(Opcode::Pong, &data, rng.mask(), &mut out);
                write_all(&mut writers[slot], &out)?;
            }
            let due_at = self.start + Duration::from_nanos(due);
            let now = Instant::now();
            if due_at > now {
                let wait = due_at - now;
                if wait > self.spin {
                    std::thread::sleep(wait - self.spin);
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            if due >= self.warmup_nanos {
                record(&mut lag, now.duration_since(due_at).as_nanos() as u64);
            }
            self.kind.stamp(&mut payload, due);
            out.clear();
            encode_client_frame(self.kind.opcode(), &payload, rng.mask(), &mut out);
            let slot = connection_for(k, writers.len() as u64);
            write_all(&mut writers[slot], &out)?;
            k += 1;
        }
        let elapsed = self.start.elapsed();
        for writer in &mut writers {
            out.clear();
            encode_close(1000, rng.mask(), &mut out);
            let _ = write_all(writer, &out);
        }
        Ok(Sent { messages: k, elapsed, lag })
    }
}

/// Writes all of `bytes` to a socket that tokio set non-blocking (the flag is
/// shared with the reader's handle, so it cannot be cleared): a full send
/// buffer is waited out in short sleeps.
fn write_all(stream: &mut StdTcpStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err("write: the connection is closed".into()),
            Ok(written) => bytes = &bytes[written..],
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_micros(20)),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(format!("write: {err}")),
        }
    }
    Ok(())
}

/// How long after the last scheduled send the readers wait for the remaining echoes.
const READ_GRACE: Duration = Duration::from_secs(10);

/// What a reader needs to time its connection's echoes.
#[derive(Debug, Clone, Copy)]
struct Echoes {
    kind: Kind,
    start: Instant,
    warmup_nanos: u64,
    deadline: Instant,
    slot: usize,
}

/// Reads echoes until the server's close frame, recording each one's latency
/// from its scheduled send time; returns the count measured, the histogram and
/// the error that ended the connection early, if any.
async fn read_echoes(
    mut read: TcpStream,
    mut reader: FrameBuffer,
    echo: Echoes,
    pongs: mpsc::UnboundedSender<(usize, Vec<u8>)>,
) -> (u64, Histogram<u64>, Option<String>) {
    let Echoes { kind, start, warmup_nanos, deadline, slot } = echo;
    let mut histogram = latency_histogram();
    let mut count = 0u64;
    loop {
        while let Some(decoded) = reader.next_frame().transpose() {
            let (frame, data) = match decoded {
                Ok(decoded) => decoded,
                Err(err) => return (count, histogram, Some(format!("connection {slot}: {err}"))),
            };
            match frame.opcode {
                Opcode::Text | Opcode::Binary => {
                    // Read the clock per frame: frames that arrive in one read
                    // still left the server at different times.
                    let now = Instant::now().saturating_duration_since(start).as_nanos() as u64;
                    if let Some(due) = kind.read_stamp(data).filter(|due| *due >= warmup_nanos) {
                        count += 1;
                        record(&mut histogram, now.saturating_sub(due));
                    }
                }
                Opcode::Ping => {
                    let _ = pongs.send((slot, data.to_vec()));
                }
                Opcode::Close => return (count, histogram, None),
                Opcode::Pong | Opcode::Continuation => {}
            }
        }
        // Bounded: the run's end plus a grace period, whatever the server does.
        let read_result = tokio::time::timeout_at(deadline.into(), reader.fill(&mut read)).await;
        match read_result {
            Ok(Ok(0)) => return (count, histogram, Some(format!("connection {slot}: closed without a close frame"))),
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return (count, histogram, Some(format!("connection {slot}: read: {err}"))),
            Err(_) => return (count, histogram, Some(format!("connection {slot}: no close frame in time"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_evenly_spaced_and_does_not_drift() {
        assert_eq!(due_nanos(0, 1_000.0), 0);
        assert_eq!(due_nanos(1, 1_000.0), 1_000_000);
        assert_eq!(due_nanos(3, 3.0), 1_000_000_000);
        // A rate whose period is not a whole number of nanoseconds.
        let rate = 30_000.0;
        assert_eq!(due_nanos(30_000 * 60, rate), 60_000_000_000);
        for k in 1..10_000 {
            let gap = due_nanos(k, rate) - due_nanos(k - 1, rate);
            assert!((33_332..=33_334).contains(&gap), "gap {gap} at {k}");
        }
    }

    #[test]
    fn messages_are_spread_round_robin() {
        let picks: Vec<usize> = (0..7).map(|k| connection_for(k, 3)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn warmup_messages_are_counted_exactly() {
        // At 1,000/s, messages 0..=999 fall in the first second.
        assert_eq!(messages_before(1_000_000_000, 1_000.0), 1_000);
        assert_eq!(messages_before(1_000_000_001, 1_000.0), 1_001);
        assert_eq!(messages_before(0, 1_000.0), 0);
        for k in 0..5_000 {
            let due = due_nanos(k, 7_777.0);
            assert!(messages_before(due, 7_777.0) <= k, "message {k} is not before its own due time");
        }
    }
}
