//! Properties of the protocol engine, on stable, in every test run: generated
//! client streams (valid and broken) read in random chunks must give
//! well-formed server output (the oracle the fuzz targets share), the same
//! result however the bytes are split, the messages a reference model of
//! RFC 6455 expects, and the close code it expects. The fuzzers' committed
//! regression inputs are replayed here too.
//!
//! `PROPTEST_CASES` raises the number of cases (default 64 per property) and
//! `PROPTEST_RNG_SEED` changes the seed (fixed by default, so that a run is
//! deterministic).

mod streams;

use std::path::{Path, PathBuf};

use backend::fuzzing::{self, check_run, check_same_result, End, Event, LabEvent, Run};
use proptest::prelude::*;
use streams::{config, encode, expect, ExpectedEnd, Seen};

/// Cut points anywhere in a stream of `length` bytes.
fn cuts() -> impl Strategy<Value = Vec<prop::sample::Index>> {
    prop::collection::vec(any::<prop::sample::Index>(), 0..12)
}

fn positions(cuts: &[prop::sample::Index], length: usize) -> Vec<usize> {
    cuts.iter().map(|cut| cut.index(length + 1)).collect()
}

/// The run's settled events in the model's terms.
fn seen(run: &Run, limit: u64) -> Result<Vec<Seen>, String> {
    let transcript = check_run(run, limit)?;
    Ok(transcript
        .settled()
        .into_iter()
        .filter_map(|event| match event {
            Event::Message(message) => Some(Seen::Message { text: message.text, payload: message.payload.clone() }),
            Event::Pong(payload) => Some(Seen::Pong(payload.clone())),
            Event::Ping(_) | Event::Close(_) => None,
        })
        .collect())
}

/// One message as a client sends it compressed with no context takeover: raw
/// deflate, sync-flushed, without the four-byte tail.
fn compress_as_a_client(payload: &[u8]) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut compressor = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(payload.len() + 64);
    compressor.compress_vec(payload, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// Checks one run against the model.
fn check_against_model(run: &Run, frames: &[streams::Frame], limit: u64) -> Result<(), TestCaseError> {
    let expected = expect(frames, limit);
    let transcript = check_run(run, limit).map_err(TestCaseError::fail)?;
    prop_assert_eq!(seen(run, limit).map_err(TestCaseError::fail)?, expected.events.clone());
    match expected.end {
        ExpectedEnd::Open => {
            prop_assert_eq!((run.end, run.server_close), (End::Open, None));
        }
        ExpectedEnd::ClientClosed(code) => {
            prop_assert_eq!((run.end, run.server_close), (End::PeerClosed(code), None));
        }
        ExpectedEnd::Violation { code, last_word } => {
            prop_assert_eq!(run.server_close, Some(code));
            if last_word {
                prop_assert_eq!(run.end, End::PeerClosed(None));
            }
        }
    }
    // Of a message cut off, the server sent no more than the client did.
    let unfinished = transcript.events.iter().find_map(|event| match event {
        Event::Message(message) if !message.finished => Some(&message.payload),
        _ => None,
    });
    if let Some(sent) = unfinished {
        let received = expected.unfinished.unwrap_or_default();
        prop_assert!(received.starts_with(sent), "sent {:x?} of {:x?}", sent, received);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// The echo against the model, read whole, in random chunks and a byte
    /// at a time: every read gives the same result.
    #[test]
    fn the_echo_does_what_the_rfc_says_however_the_bytes_are_split(
        frames in streams::frames(),
        limit in streams::limit(),
        cuts in cuts(),
    ) {
        let input = encode(&frames);
        let whole = fuzzing::echo(&[&input], limit);
        check_against_model(&whole, &frames, limit)?;
        let cut = fuzzing::echo(&fuzzing::split(&input, &positions(&cuts, input.len())), limit);
        check_same_result(&whole, &cut, limit).map_err(TestCaseError::fail)?;
        check_against_model(&cut, &frames, limit)?;
        if input.len() <= 4096 {
            let bytewise: Vec<&[u8]> = input.chunks(1).collect();
            let bytewise = fuzzing::echo(&bytewise, limit);
            check_same_result(&whole, &bytewise, limit).map_err(TestCaseError::fail)?;
        }
    }

    /// With permessage-deflate agreed, messages a client compresses (each on
    /// its own, in one to three frames) come back whole and byte for byte,
    /// however the bytes are split, and the echo is well formed.
    #[test]
    fn compressed_messages_come_back_byte_for_byte_however_split(
        messages in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(prop::sample::select(b"ab {}\":,0123".to_vec()), 0..600), 1usize..4),
            1..6,
        ),
        cuts in cuts(),
    ) {
        let limit = 1 << 20;
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for (text, payload, frames) in &messages {
            let compressed = compress_as_a_client(payload);
            let piece = compressed.len().div_ceil(*frames).max(1);
            let pieces: Vec<&[u8]> = if compressed.is_empty() { vec![&[]] } else { compressed.chunks(piece).collect() };
            for (index, chunk) in pieces.iter().enumerate() {
                let fin = if index + 1 == pieces.len() { 0x80 } else { 0 };
                let first = match (index, text) {
                    (0, true) => 0x41,
                    (0, false) => 0x42,
                    _ => 0x00,
                };
                input.extend(fuzzing::client_frame(first | fin, chunk, [9, 8, 7, 6]));
            }
            expected.push(Seen::Message { text: *text, payload: payload.clone() });
        }
        let whole = fuzzing::echo_compressed(&[&input], limit);
        prop_assert_eq!(seen(&whole, limit).map_err(TestCaseError::fail)?, expected);
        let cut = fuzzing::echo_compressed(&fuzzing::split(&input, &positions(&cuts, input.len())), limit);
        check_same_result(&whole, &cut, limit).map_err(TestCaseError::fail)?;
    }

    /// A server close (shutdown) at any point: the close frame is the last
    /// frame, and what came before it is still well formed.
    #[test]
    fn nothing_follows_the_servers_own_close(
        frames in streams::frames(),
        limit in streams::limit(),
        cuts in cuts(),
        close_before in 0usize..14,
    ) {
        let input = encode(&frames);
        let chunks = fuzzing::split(&input, &positions(&cuts, input.len()));
        let run = fuzzing::echo_closed_by_server(&chunks, limit, close_before);
        let transcript = check_run(&run, limit).map_err(TestCaseError::fail)?;
        if close_before < run.chunks_read || (close_before >= chunks.len() && run.end == End::Open) {
            prop_assert!(transcript.close_code().is_some(), "no close frame: {:?}", run);
        }
    }

    /// The streaming validator against the standard library, on text that is
    /// mostly UTF-8, cut anywhere (the fuzz target's own checks).
    #[test]
    fn utf8_in_pieces_agrees_with_the_standard_library(
        text in "\\PC{0,20}",
        damage in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
        cuts in prop::collection::vec(any::<u8>(), 0..15),
    ) {
        let mut bytes = text.into_bytes();
        if let Some((at, byte)) = damage.filter(|_| !bytes.is_empty()) {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let input = [&[cuts.len() as u8][..], &cuts, &bytes].concat();
        fuzzing::targets::utf8(&input);
    }

    /// The lab: commands, data and timers in any order keep the output well
    /// formed, within the budget, and give every byte back at the end.
    #[test]
    fn the_lab_keeps_its_output_well_formed_and_its_memory_bounded(
        steps in prop::collection::vec((lab_message(), 0u64..3000, any::<bool>()), 0..12),
        limit in prop_oneof![Just(1u64 << 20), 1u64..64],
        budget in prop_oneof![Just(64usize << 20), 0usize..5000],
    ) {
        let mut events = Vec::new();
        let mut at_ms = 0;
        for (bytes, step, wake) in steps {
            at_ms += step;
            if wake {
                events.push(LabEvent::Wake { at_ms });
            }
            events.push(LabEvent::Read { bytes, at_ms });
            if wake {
                events.push(LabEvent::Due);
            }
        }
        events.push(LabEvent::Wake { at_ms: at_ms + 20_000 });
        let outcome = fuzzing::lab(&events, limit, budget);
        fuzzing::check_lab_run(&outcome.run, limit).map_err(TestCaseError::fail)?;
        prop_assert!(outcome.most_held <= budget);
        prop_assert_eq!(outcome.held_after_drop, 0);
    }
}

/// One client frame for the lab: a command (valid or not) or data.
fn lab_message() -> impl Strategy<Value = Vec<u8>> {
    let command = prop_oneof![
        Just("/help".to_owned()),
        Just("/drop".to_owned()),
        (0u64..12_000).prop_map(|ms| format!("/delay {ms}")),
        "[a-z]{0,10}".prop_map(|text| format!("/ping {text}")),
        (0u16..5100, "[a-zé ]{0,10}").prop_map(|(code, reason)| format!("/close {code} {reason}")),
        (0usize..70, "[a-zé✓ ]{0,30}").prop_map(|(frames, text)| format!("/fragment {frames} {text}")),
        "/[a-z]{0,8}".prop_map(|command| command),
        "[a-z ]{0,20}".prop_map(|text| text),
    ];
    prop_oneof![
        6 => command.prop_map(|text| fuzzing::client_frame(0x81, text.as_bytes(), [1, 2, 3, 4])),
        2 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|bytes| fuzzing::client_frame(0x82, &bytes, [0; 4])),
        1 => streams::frames().prop_map(|frames| encode(&frames)),
    ]
}

// ── The fuzzers' regression inputs ──

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target)
}

/// Runs every committed input of a fuzz target through the target's body.
fn replay(target: &str, body: fn(&[u8])) {
    let folder = regressions(target);
    let mut inputs: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries.map(|entry| entry.expect("a readable folder").path()).collect(),
        Err(err) => panic!("cannot read {}: {err}", folder.display()),
    };
    // Inputs only: not `.keep`, which holds an empty folder in git.
    inputs
        .retain(|path| path.is_file() && path.file_name().is_some_and(|name| !name.to_string_lossy().starts_with('.')));
    inputs.sort();
    for path in inputs {
        let data = std::fs::read(&path).expect("a readable input");
        if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
            let message = match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
                (Some(message), _) => message.clone(),
                (None, Some(message)) => (*message).to_owned(),
                (None, None) => String::new(),
            };
            panic!("{} fails: {message}", path.display());
        }
    }
}

#[test]
fn the_protocol_fuzzers_regressions_pass() {
    replay("protocol", fuzzing::targets::protocol);
}

#[test]
fn the_lab_fuzzers_regressions_pass() {
    replay("lab", fuzzing::targets::lab);
}

#[test]
fn the_utf8_fuzzers_regressions_pass() {
    replay("utf8", fuzzing::targets::utf8);
}

#[test]
fn the_handshake_fuzzers_regressions_pass() {
    replay("handshake", fuzzing::targets::handshake);
}
