//! Connection rate: C workers, each opening a WebSocket, closing it cleanly and
//! starting over. Clean means: the client sends close 1000, waits for the
//! server's close frame, then for the server to end the TCP connection (as
//! RFC 6455 7.1.1 has the server close first), so a cycle counts only once the
//! server has done all its work for that connection.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::conn::{open, Socket, Target};
use crate::frame::{encode_close, Opcode, XorShift};
use crate::report::{latency_histogram, record, Latency, Report};

/// What a handshake run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The echo endpoint.
    pub target: Target,
    /// Workers, each with one connection at a time.
    pub concurrency: u64,
    /// Time before measuring starts.
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
}

/// How long one open + close cycle may take before it counts as failed.
const CYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the workers and reports complete cycles per second of the measured window.
pub async fn run(plan: Plan) -> Result<Report, String> {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..plan.concurrency {
        let target = plan.target.clone();
        workers.spawn(async move {
            let mut rng = XorShift::from_clock(worker ^ 0x5EED);
            let mut histogram = latency_histogram();
            let (mut done, mut errors) = (0u64, 0u64);
            // Each worker takes its own stride of source addresses.
            let mut index = worker;
            while Instant::now() < end {
                index += plan.concurrency;
                let began = Instant::now();
                let outcome = tokio::time::timeout(CYCLE_TIMEOUT, cycle(&target, index, &mut rng)).await;
                let finished = Instant::now();
                let counts = began >= measure_from && finished < end;
                match outcome {
                    Ok(Ok(opened_after)) if counts => {
                        done += 1;
                        record(&mut histogram, opened_after.as_nanos() as u64);
                    }
                    Ok(Ok(_)) => {}
                    failed => {
                        if began >= measure_from {
                            errors += 1;
                        }
                        if errors <= 3 {
                            eprintln!("worker {worker}: {}", describe(failed));
                        }
                        // Back off so a refusing server is not hammered in a tight loop.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (done, errors, histogram)
        });
    }
    let (mut done, mut errors) = (0u64, 0u64);
    let mut histogram = latency_histogram();
    while let Some(joined) = workers.join_next().await {
        let (worker_done, worker_errors, worker_histogram) = joined.expect("workers do not panic");
        done += worker_done;
        errors += worker_errors;
        histogram.add(&worker_histogram).expect("histograms share bounds");
    }
    Ok(Report::Handshakes {
        per_s: done as f64 / plan.duration.as_secs_f64(),
        open_latency: Latency::from_nanos(&histogram),
        errors,
    })
}

fn describe(outcome: Result<Result<Duration, String>, tokio::time::error::Elapsed>) -> String {
    match outcome {
        Ok(Ok(_)) => "ok".into(),
        Ok(Err(err)) => err,
        Err(_) => format!("no complete cycle within {CYCLE_TIMEOUT:?}"),
    }
}

/// One open + clean close; returns how long the opening handshake took.
async fn cycle(target: &Target, index: u64, rng: &mut XorShift) -> Result<Duration, String> {
    let began = Instant::now();
    let mut socket = open(target, index, 1024, rng).await?;
    let opened_after = began.elapsed();
    let mut out = Vec::with_capacity(8);
    encode_close(1000, rng.mask(), &mut out);
    socket.stream.write_all(&out).await.map_err(|err| format!("send close: {err}"))?;
    quick_ack(&socket.stream);
    wait_for_close(&mut socket).await?;
    Ok(opened_after)
}

/// Has the kernel acknowledge the server's close frame and FIN as they come
/// rather than after a delay: with hundreds of workers on one busy core, the
/// generator reads them several milliseconds late, and the server's tail-loss
/// probe then sent its FIN again in about half of all cycles (seen with
/// `perf record -e tcp:tcp_retransmit_skb`), work for both sides that no real
/// client causes. Best effort: a failure only costs that work.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &tokio::net::TcpStream) {
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_: &tokio::net::TcpStream) {}

/// Reads until the server's close frame and then the end of the TCP stream.
async fn wait_for_close(socket: &mut Socket) -> Result<(), String> {
    let mut close_seen = false;
    loop {
        while let Some((frame, _)) = socket.reader.next_frame()? {
            close_seen |= frame.opcode == Opcode::Close;
        }
        match socket.reader.fill(&mut socket.stream).await {
            Ok(0) if close_seen => return Ok(()),
            Ok(0) => return Err("the server ended TCP without a close frame".into()),
            Ok(_) => {}
            // A reset after the close frame still completes the close handshake.
            Err(_) if close_seen => return Ok(()),
            Err(err) => return Err(format!("read: {err}")),
        }
    }
}
