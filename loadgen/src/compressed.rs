//! Closed loop with permessage-deflate: like `throughput`, but with
//! compressible JSON-like messages, the extension offered on every connection,
//! and every echo inflated and compared with what was sent.
//!
//! The client compresses each message on its own (it never takes context
//! over, which every agreement allows), so each connection's few message
//! variants are compressed once up front and only masked per send: the
//! generator's core goes to reading, inflating and checking echoes, and the
//! server still inflates and deflates every message. Latency is timed from a
//! queue of send times per connection (echoes come back in order), because
//! a timestamp inside the payload would change every message.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout_at;

use crate::conn::{open_many, Socket, Target};
use crate::deflate::{Deflater, Inflater, Offer};
use crate::frame::{encode_client_frame, encode_compressed_frame, Opcode, XorShift};
use crate::report::{latency_histogram, record, Latency, Report};
use crate::throughput::close;

/// What a compressed closed-loop run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The echo endpoint.
    pub target: Target,
    /// Connections.
    pub connections: u64,
    /// Messages in flight on each connection.
    pub in_flight: u64,
    /// Bytes per message before compression.
    pub size: usize,
    /// What is offered (not `Off`: that is the plain `throughput`).
    pub offer: Offer,
    /// The client's compression level (0-9); it costs only the generator, once per variant.
    pub level: u32,
    /// Time before measuring starts.
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
}

/// Different messages each connection cycles through, so the server does not
/// see one message over and over.
const VARIANTS: u64 = 16;

/// How long a silent server is waited for after the window before a connection gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// When a connection's loop measures and stops, shared by all connections.
#[derive(Debug, Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

/// What one connection counted in the window.
#[derive(Debug)]
struct Tally {
    echoes: u64,
    compressed_echoes: u64,
    mismatched: u64,
    sent: u64,
    sent_payload_bytes: u64,
    echo_payload_bytes: u64,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            echoes: 0,
            compressed_echoes: 0,
            mismatched: 0,
            sent: 0,
            sent_payload_bytes: 0,
            echo_payload_bytes: 0,
            latency: latency_histogram(),
        }
    }

    fn add(&mut self, other: &Tally) {
        self.echoes += other.echoes;
        self.compressed_echoes += other.compressed_echoes;
        self.mismatched += other.mismatched;
        self.sent += other.sent;
        self.sent_payload_bytes += other.sent_payload_bytes;
        self.echo_payload_bytes += other.echo_payload_bytes;
        self.latency.add(&other.latency).expect("histograms share bounds");
    }
}

/// Runs the loop and reports echoes per second and what compression did.
pub async fn run(plan: Plan) -> Result<Report, String> {
    let chunk = (plan.in_flight as usize * (plan.size + 14) * 2).clamp(4 * 1024, 256 * 1024);
    let sockets = open_many(&plan.target, plan.connections, 64, chunk, plan.offer).await;
    if let Some(Err(err)) = sockets.iter().find(|socket| socket.is_err()).filter(|_| sockets.iter().all(Result::is_err))
    {
        return Err(format!("no connection could be opened: {err}"));
    }
    let negotiated = sockets.iter().find_map(|socket| socket.as_ref().ok()?.deflate).map(|agreed| agreed.to_string());
    let declined = sockets.iter().filter(|socket| matches!(socket, Ok(Socket { deflate: None, .. }))).count();
    if negotiated.is_some() && declined > 0 {
        eprintln!("{declined} connections were opened without the permessage-deflate the others negotiated");
    }
    let start = Instant::now();
    let window = Window { measure_from: start + plan.warmup, end: start + plan.warmup + plan.duration };
    let mut tasks = tokio::task::JoinSet::new();
    let mut errors = 0u64;
    for (index, socket) in sockets.into_iter().enumerate() {
        match socket {
            Ok(socket) => {
                tasks.spawn(closed_loop(socket, plan.clone(), window, index as u64));
            }
            Err(err) => {
                if errors < 3 {
                    eprintln!("connection {index}: {err}");
                }
                errors += 1;
            }
        }
    }
    let mut total = Tally::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("connection tasks do not panic") {
            Ok(tally) => total.add(&tally),
            Err(err) => {
                if errors < 3 {
                    eprintln!("{err}");
                }
                errors += 1;
            }
        }
    }
    let mean = |bytes: u64, count: u64| if count == 0 { 0.0 } else { bytes as f64 / count as f64 };
    Ok(Report::Compressed {
        messages_per_s: total.echoes as f64 / plan.duration.as_secs_f64(),
        latency: Latency::from_nanos(&total.latency),
        errors,
        negotiated,
        echoes: total.echoes,
        compressed_echoes: total.compressed_echoes,
        mismatched: total.mismatched,
        message_bytes: plan.size as u64,
        sent_payload_bytes: mean(total.sent_payload_bytes, total.sent),
        echo_payload_bytes: mean(total.echo_payload_bytes, total.echoes),
    })
}

/// One message as sent: its text, and its frame payload (compressed or not).
struct Variant {
    text: Vec<u8>,
    payload: Vec<u8>,
}

/// One connection's loop.
async fn closed_loop(mut socket: Socket, plan: Plan, window: Window, index: u64) -> Result<Tally, String> {
    let mut rng = XorShift::from_clock(index ^ 0x0DEF_1A7E);
    let mut deflater = socket.deflate.map(|agreed| Deflater::new(&agreed, plan.level));
    let mut inflater = socket.deflate.map(|agreed| Inflater::new(&agreed));
    let variants: Vec<Variant> = (0..VARIANTS)
        .map(|variant| {
            let text = json_like(plan.size, index * VARIANTS + variant);
            let mut payload = Vec::new();
            match &mut deflater {
                Some(deflater) => deflater.compress(&text, &mut payload),
                None => payload.extend_from_slice(&text),
            }
            Variant { text, payload }
        })
        .collect();
    let compressed = deflater.is_some();
    let mut tally = Tally::new();
    // Send time and variant of each message not yet echoed, oldest first.
    let mut in_flight: VecDeque<(Instant, usize)> = VecDeque::with_capacity(plan.in_flight as usize);
    let mut next_variant = 0usize;
    let mut out = Vec::new();
    // A message's frames' payloads, until its last frame arrives.
    let mut message = Vec::new();
    let mut message_compressed = false;
    let mut inflated = Vec::new();

    let mut queue = |count: u64,
                     out: &mut Vec<u8>,
                     in_flight: &mut VecDeque<(Instant, usize)>,
                     tally: &mut Tally,
                     rng: &mut XorShift| {
        // One clock read stamps a whole batch: the batch leaves in one write anyway.
        let now = Instant::now();
        let counts = now >= window.measure_from && now < window.end;
        for _ in 0..count {
            let variant = &variants[next_variant];
            if compressed {
                encode_compressed_frame(Opcode::Text, &variant.payload, rng.mask(), out);
            } else {
                encode_client_frame(Opcode::Text, &variant.payload, rng.mask(), out);
            }
            in_flight.push_back((now, next_variant));
            if counts {
                tally.sent += 1;
                tally.sent_payload_bytes += variant.payload.len() as u64;
            }
            next_variant = (next_variant + 1) % variants.len();
        }
    };
    queue(plan.in_flight, &mut out, &mut in_flight, &mut tally, &mut rng);
    write(&mut socket, &out).await?;
    while !in_flight.is_empty() {
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
                    if frame.opcode != Opcode::Continuation {
                        message.clear();
                        message_compressed = frame.rsv1;
                    }
                    message.extend_from_slice(data);
                    if !frame.fin {
                        continue;
                    }
                    let (sent_at, variant) = in_flight
                        .pop_front()
                        .ok_or_else(|| format!("connection {index}: an echo nothing asked for"))?;
                    let echoed = if message_compressed {
                        let inflater = inflater
                            .as_mut()
                            .ok_or_else(|| format!("connection {index}: RSV1 without permessage-deflate"))?;
                        inflated.clear();
                        inflater
                            .inflate(&message, &mut inflated)
                            .map_err(|err| format!("connection {index}: {err}"))?;
                        &inflated
                    } else {
                        &message
                    };
                    echoes += 1;
                    if in_window {
                        tally.echoes += 1;
                        tally.compressed_echoes += u64::from(message_compressed);
                        tally.echo_payload_bytes += message.len() as u64;
                        tally.mismatched += u64::from(*echoed != variants[variant].text);
                        record(&mut tally.latency, now.duration_since(sent_at).as_nanos() as u64);
                    }
                }
                Opcode::Ping => encode_client_frame(Opcode::Pong, data, rng.mask(), &mut out),
                Opcode::Pong => {}
                Opcode::Close => return Err(format!("connection {index}: the server sent a close frame")),
            }
        }
        if now < window.end {
            queue(echoes, &mut out, &mut in_flight, &mut tally, &mut rng);
        }
        if !out.is_empty() {
            write(&mut socket, &out).await?;
        }
    }
    close(&mut socket, &mut rng).await;
    Ok(tally)
}

async fn write(socket: &mut Socket, bytes: &[u8]) -> Result<(), String> {
    socket.stream.write_all(bytes).await.map_err(|err| format!("write: {err}"))
}

/// A JSON object of exactly `size` bytes (at least 32) that reads like an
/// application's message: an id, a few records with repeated keys and
/// varying values, and a free-text note. It compresses the way such
/// messages do (about 3 to 4 times at level 6), unlike the `x` bytes of the
/// other scenarios, which would flatter compression.
pub fn json_like(size: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "alpha", "delivery", "pending", "the", "order", "was", "shipped", "to", "customer", "with", "express",
        "priority", "and", "tracking", "number", "status",
    ];
    let size = size.max(32);
    let mut rng = XorShift::new(seed.wrapping_add(1));
    let mut text = format!(r#"{{"id":{}"#, seed % 1_000_000);
    if size >= 160 {
        text.push_str(&format!(r#","user":"user-{:05}","items":["#, rng.next_u64() % 100_000));
    }
    let mut first = true;
    // Leave room for the closing `],"note":"` and at least a few note characters.
    while size >= 160 && text.len() + 120 < size {
        let item = format!(
            r#"{}{{"sku":"SKU-{:06}","qty":{},"price":{}.{:02},"color":"{}"}}"#,
            if first { "" } else { "," },
            rng.next_u64() % 1_000_000,
            1 + rng.next_u64() % 9,
            rng.next_u64() % 500,
            rng.next_u64() % 100,
            ["red", "green", "blue", "black"][(rng.next_u64() % 4) as usize],
        );
        if text.len() + item.len() + 16 > size {
            break;
        }
        text.push_str(&item);
        first = false;
    }
    text.push_str(if size >= 160 { r#"],"note":""# } else { r#","note":""# });
    while text.len() + 2 < size {
        let word = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
        let room = size - 2 - text.len();
        text.push_str(&word[..word.len().min(room)]);
        if text.len() + 2 < size {
            text.push(' ');
        }
    }
    text.push_str("\"}");
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_like_messages_have_the_size_asked_for_and_parse() {
        for size in [32, 100, 159, 160, 161, 1_024, 4_096] {
            for seed in [0, 7, 1_000_003, u64::MAX] {
                let text = json_like(size, seed);
                assert_eq!(text.len(), size, "size {size} seed {seed}");
                let value: serde_json::Value = serde_json::from_slice(&text)
                    .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&text)));
                assert!(value["note"].is_string());
            }
        }
        assert_ne!(json_like(1_024, 1), json_like(1_024, 2));
    }

    #[test]
    fn json_like_messages_compress_like_real_ones() {
        let text = json_like(1_024, 42);
        let agreed = crate::deflate::parse_answer(&["permessage-deflate"], Offer::Window).unwrap().unwrap();
        let mut compressed = Vec::new();
        Deflater::new(&agreed, 6).compress(&text, &mut compressed);
        let ratio = text.len() as f64 / compressed.len() as f64;
        assert!((2.0..6.0).contains(&ratio), "ratio {ratio:.2}");
    }
}
