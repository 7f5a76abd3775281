//! What each scenario asks of the generator: the sizes of the standard loads
//! and the flags of the `loadgen` subcommand that runs them.

use std::time::Duration;

use crate::deflate::Offer;

/// Connections, messages in flight and payload bytes of the standard echo load.
pub const CONNECTIONS: u64 = 100;
/// Messages in flight on each connection of the standard echo load.
pub const IN_FLIGHT: u64 = 16;
/// Payload bytes of the standard echo load.
pub const SIZE: usize = 16;
/// Payload bytes in the overload scenario (each connection keeps one in flight).
pub const OVERLOAD_SIZE: usize = 64;
/// Bytes of each JSON-like message in the compressed scenario, before compression.
pub const COMPRESSED_SIZE: usize = 1_024;
/// What the compressed scenarios offer: no context takeover either way, the
/// backend's default, so every server compresses each message on its own.
pub const COMPRESSED_OFFER: Offer = Offer::NoContextTakeover;

/// Warm-up and measured time of the timed scenarios.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Before measuring.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

impl Timing {
    fn args(self, subcommand: &str) -> Vec<String> {
        vec![
            subcommand.to_owned(),
            "--warmup".into(),
            humantime::format_duration(self.warmup).to_string(),
            "--duration".into(),
            humantime::format_duration(self.duration).to_string(),
        ]
    }
}

fn with(mut args: Vec<String>, pairs: &[(&str, String)]) -> Vec<String> {
    args.extend(pairs.iter().flat_map(|(name, value)| [format!("--{name}"), value.clone()]));
    args
}

/// 100 connections x 16 in flight x 16-byte binary messages, closed loop.
pub fn throughput(timing: Timing) -> Vec<String> {
    with(
        timing.args("throughput"),
        &[("connections", CONNECTIONS.to_string()), ("in-flight", IN_FLIGHT.to_string()), ("size", SIZE.to_string())],
    )
}

/// Open loop at `rate` messages per second over 100 connections.
pub fn fixed_rate(timing: Timing, rate: f64) -> Vec<String> {
    with(
        timing.args("fixed-rate"),
        &[("rate", format!("{rate}")), ("connections", CONNECTIONS.to_string()), ("size", SIZE.to_string())],
    )
}

/// Open + clean close with `concurrency` workers.
pub fn handshakes(timing: Timing, concurrency: u64) -> Vec<String> {
    with(timing.args("handshakes"), &[("concurrency", concurrency.to_string())])
}

/// `connections` idle connections on the server `server_pid`, offering `offer`.
pub fn idle(connections: u64, server_pid: u32, offer: Offer) -> Vec<String> {
    let mut args = with(
        vec!["idle".to_owned()],
        &[("connections", connections.to_string()), ("server-pid", server_pid.to_string())],
    );
    if offer != Offer::Off {
        args.extend(["--deflate".to_owned(), offer_name(offer)]);
    }
    args
}

/// `connections` connections, each keeping one 64-byte message in flight.
pub fn overload(timing: Timing, connections: u64) -> Vec<String> {
    with(
        timing.args("throughput"),
        &[("connections", connections.to_string()), ("in-flight", "1".into()), ("size", OVERLOAD_SIZE.to_string())],
    )
}

/// 100 connections x 16 in flight x 1 KiB JSON-like text, compression offered.
pub fn compressed(timing: Timing) -> Vec<String> {
    with(
        timing.args("compressed"),
        &[
            ("connections", CONNECTIONS.to_string()),
            ("in-flight", IN_FLIGHT.to_string()),
            ("size", COMPRESSED_SIZE.to_string()),
            ("deflate", offer_name(COMPRESSED_OFFER)),
        ],
    )
}

/// How `offer` is spelled on the command line.
fn offer_name(offer: Offer) -> String {
    use clap::ValueEnum;
    offer.to_possible_value().expect("every offer has a name").get_name().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_as_the_generator_reads_them() {
        let timing = Timing { warmup: Duration::from_secs(1), duration: Duration::from_millis(2_500) };
        let args = compressed(timing);
        assert_eq!(args[..5], ["compressed", "--warmup", "1s", "--duration", "2s 500ms"]);
        assert_eq!(args.last().unwrap(), "no-context-takeover");
        assert_eq!(idle(10, 7, Offer::Off).len(), 5);
        assert!(idle(10, 7, Offer::Window).ends_with(&["--deflate".to_owned(), "window".to_owned()]));
        // The generator's own parser accepts every scenario's flags.
        use clap::Parser;
        for args in [
            throughput(timing),
            fixed_rate(timing, 1_000.0),
            handshakes(timing, 8),
            idle(10, 7, COMPRESSED_OFFER),
            overload(timing, 1_000),
            compressed(timing),
        ] {
            let line = std::iter::once("loadgen".to_owned()).chain(args.clone());
            assert!(crate::Cli::try_parse_from(line).is_ok(), "{args:?}");
        }
    }
}
