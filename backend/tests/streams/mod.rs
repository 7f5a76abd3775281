//! Client byte streams for the property and differential tests: proptest
//! strategies that make frames (valid and broken), their encoding, and a
//! reference model of what RFC 6455 says a server does with them.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use backend::fuzzing::client_frame;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Few cases by default so that `cargo test` stays fast; the environment
/// (proptest's own variables) asks for more.
/// Both test files use it, so their runs are sized and seeded alike.
pub fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 64;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(6455);
    }
    config
}

/// How a frame's length is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The shortest form.
    Minimal,
    /// Always the 64-bit form (allowed from clients, if wasteful).
    Wide,
    /// The 64-bit form with its most significant bit set, which RFC 6455
    /// forbids; the payload that follows is then not a frame's.
    TopBit,
}

/// One client frame, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// FIN, RSV and the opcode.
    pub first: u8,
    pub mask: Option<[u8; 4]>,
    pub length: Length,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A well-formed masked frame.
    pub fn new(first: u8, payload: Vec<u8>, mask: [u8; 4]) -> Frame {
        Frame { first, mask: Some(mask), length: Length::Minimal, payload }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let mask = self.mask.unwrap_or([0; 4]);
        let mut bytes = client_frame(self.first, &self.payload, mask);
        let extended = match bytes[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let declared = match self.length {
            Length::Minimal => None,
            Length::Wide => Some(self.payload.len() as u64),
            Length::TopBit => Some(1 << 63 | self.payload.len() as u64),
        };
        if let Some(declared) = declared {
            let header = [0xff].into_iter().chain(declared.to_be_bytes());
            bytes.splice(1..2 + extended, header);
        }
        if self.mask.is_none() {
            let at = bytes.len() - self.payload.len() - 4;
            bytes[1] &= 0x7f;
            bytes.splice(at..at + 4, []);
            let payload_at = bytes.len() - self.payload.len();
            bytes[payload_at..].copy_from_slice(&self.payload);
        }
        out.extend_from_slice(&bytes);
    }
}

/// All frames, encoded one after another.
pub fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        frame.encode(&mut out);
    }
    out
}

// ── Strategies ──

fn mask() -> impl Strategy<Value = [u8; 4]> {
    prop_oneof![Just([0; 4]), any::<[u8; 4]>()]
}

/// Text that is UTF-8, or UTF-8 with a byte changed, or cut inside a character.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof!["[a-z ]{0,40}", "\\PC{0,30}", Just("κόσμε ✓ 𝄞 echo".to_owned()), Just(String::new()),]
        .prop_map(String::into_bytes);
    prop_oneof![
        6 => valid.clone(),
        1 => (valid.clone(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut bytes, at, byte)| {
            if bytes.is_empty() {
                bytes.push(byte);
            } else {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            bytes
        }),
        1 => valid.prop_map(|mut bytes| {
            bytes.extend_from_slice(&"𝄞".as_bytes()[..2]);
            bytes
        }),
    ]
}

/// Binary payloads, mostly short, sometimes past the 16-bit length form.
fn binary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 0..200),
        1 => (any::<u8>(), 125usize..130).prop_map(|(byte, length)| vec![byte; length]),
        1 => (any::<u8>(), 65_534usize..65_538).prop_map(|(byte, length)| vec![byte; length]),
    ]
}

/// A close frame's payload: empty, one byte, or a code (valid or not) with a
/// reason (UTF-8 or not).
fn close_payload() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just(1000u16),
        Just(1001),
        Just(4000),
        Just(1004),
        Just(1005),
        Just(1006),
        Just(1014),
        Just(1015),
        Just(2999),
        Just(3000),
        Just(5000),
        any::<u16>(),
    ];
    let reason = prop_oneof![
        4 => "[a-z ]{0,20}".prop_map(String::into_bytes),
        1 => Just(vec![0xce, 0xba, 0xff]),
        1 => Just("é".repeat(61).into_bytes()),
    ];
    prop_oneof![
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|byte| vec![byte]),
        8 => (code, reason).prop_map(|(code, reason)| [&code.to_be_bytes()[..], &reason].concat()),
    ]
}

/// A control frame payload, now and then one byte too long.
fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![9 => prop::collection::vec(any::<u8>(), 0..=125), 1 => Just(vec![7; 126])]
}

/// One message in fragments, with ping or pong frames between them.
fn message() -> impl Strategy<Value = Vec<Frame>> {
    let payload = prop_oneof![text().prop_map(|bytes| (true, bytes)), binary().prop_map(|bytes| (false, bytes))];
    (
        payload,
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec(any::<bool>(), 0..4),
        mask(),
    )
        .prop_map(|((text, payload), cuts, pings, mask)| {
            let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(payload.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(payload.len());
            let mut frames = Vec::new();
            let mut start = 0;
            for (index, end) in cuts.iter().enumerate() {
                let opcode = match (index, text) {
                    (0, true) => 0x1,
                    (0, false) => 0x2,
                    _ => 0x0,
                };
                let fin = if index + 1 == cuts.len() { 0x80 } else { 0 };
                frames.push(Frame::new(fin | opcode, payload[start..*end].to_vec(), mask));
                start = *end;
                if let Some(&ping) = pings.get(index).filter(|_| index + 1 < cuts.len()) {
                    let opcode = if ping { 0x89 } else { 0x8a };
                    frames.push(Frame::new(opcode, b"between".to_vec(), mask));
                }
            }
            frames
        })
}

/// A frame that may break any rule: any first byte, unmasked, a forbidden length.
fn any_frame() -> impl Strategy<Value = Frame> {
    let length = prop_oneof![8 => Just(Length::Minimal), 1 => Just(Length::Wide), 1 => Just(Length::TopBit)];
    let masked = prop_oneof![9 => mask().prop_map(Some), 1 => Just(None)];
    (any::<u8>(), masked, length, prop::collection::vec(any::<u8>(), 0..140))
        .prop_map(|(first, mask, length, payload)| Frame { first, mask, length, payload })
}

/// A client's frames: mostly whole messages and control frames, and now and
/// then one that breaks a rule, so that a stream has a few messages before
/// its first violation.
pub fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let item = prop_oneof![
        10 => message(),
        2 => (control_payload(), mask()).prop_map(|(payload, mask)| vec![Frame::new(0x89, payload, mask)]),
        1 => (control_payload(), mask()).prop_map(|(payload, mask)| vec![Frame::new(0x8a, payload, mask)]),
        1 => (close_payload(), mask()).prop_map(|(payload, mask)| vec![Frame::new(0x88, payload, mask)]),
        1 => any_frame().prop_map(|frame| vec![frame]),
    ];
    prop::collection::vec(item, 0..8).prop_map(|items| items.into_iter().flatten().collect())
}

/// Message limits: small ones that messages reach, and the server's default.
pub fn limit() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64 << 20), 0u64..300, Just(65_535), Just(65_536)]
}

// ── The reference model ──

/// What RFC 6455 says the server does with a stream: the messages and pongs
/// up to the first violation, and how the connection ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Whole messages (text or not, payload) and pongs, in the order sent.
    pub events: Vec<Seen>,
    pub end: ExpectedEnd,
    /// The message cut off by the end (its bytes so far, checked), if any:
    /// the server may have sent part of it.
    pub unfinished: Option<Vec<u8>>,
    /// The index of the frame that ended the stream (a violation or the
    /// client's close), if one did.
    pub ended_at: Option<usize>,
}

/// A whole message or a pong, as the server sends it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Message { text: bool, payload: Vec<u8> },
    Pong(Vec<u8>),
}

/// How the stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedEnd {
    /// Every frame was read and the connection stays open.
    Open,
    /// The client closed, with this code if it gave one; the server answers
    /// with the same payload.
    ClientClosed(Option<u16>),
    /// The client broke a rule; the server closes with this code. `last_word`
    /// is set when the broken frame was the client's close frame, after which
    /// the server does not wait for another.
    Violation { code: u16, last_word: bool },
}

/// Runs the model over `frames`.
pub fn expect(frames: &[Frame], max_message_bytes: u64) -> Expected {
    let mut model = Model { events: Vec::new(), message: None, started: None };
    for (index, frame) in frames.iter().enumerate() {
        if let Some(end) = model.frame(frame, max_message_bytes) {
            return Expected { ended_at: Some(index), ..model.finish(end) };
        }
    }
    model.finish(ExpectedEnd::Open)
}

/// The model's state between frames.
struct Model {
    events: Vec<Seen>,
    /// The message in progress: text or not, bytes so far.
    message: Option<(bool, Vec<u8>)>,
    /// Where in `events` the message in progress stands, once the server has
    /// sent its first frame: when it has a whole character (text) or a byte
    /// (binary) to send, or the message ends.
    started: Option<usize>,
}

impl Model {
    /// Reads one frame; the end, if the stream ends here.
    fn frame(&mut self, frame: &Frame, max_message_bytes: u64) -> Option<ExpectedEnd> {
        let violation = |code| Some(ExpectedEnd::Violation { code, last_word: false });
        let opcode = frame.first & 0x0f;
        let fin = frame.first & 0x80 != 0;
        if frame.mask.is_none() || frame.first & 0x70 != 0 || frame.length == Length::TopBit {
            return violation(1002);
        }
        match opcode {
            0x8..=0xa => {
                let control_violation = |code| Some(ExpectedEnd::Violation { code, last_word: opcode == 0x8 });
                if !fin || frame.payload.len() > 125 {
                    return control_violation(1002);
                }
                match (opcode, frame.payload.as_slice()) {
                    (0x9, payload) => self.events.push(Seen::Pong(payload.to_vec())),
                    (0xa, _) => {}
                    (_, []) => return Some(ExpectedEnd::ClientClosed(None)),
                    (_, [_]) => return control_violation(1002),
                    (_, [high, low, reason @ ..]) => {
                        let code = u16::from_be_bytes([*high, *low]);
                        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                            return control_violation(1002);
                        }
                        if std::str::from_utf8(reason).is_err() {
                            return control_violation(1007);
                        }
                        return Some(ExpectedEnd::ClientClosed(Some(code)));
                    }
                }
                None
            }
            0x0..=0x2 => {
                match (opcode == 0x0, self.message.is_some()) {
                    // A continuation with nothing to continue, or a new message inside one.
                    (true, false) | (false, true) => return violation(1002),
                    (true, true) => {}
                    (false, false) => self.message = Some((opcode == 0x1, Vec::new())),
                }
                let (text, bytes) = self.message.as_mut().expect("a message is in progress");
                if (bytes.len() + frame.payload.len()) as u64 > max_message_bytes {
                    return violation(1009);
                }
                bytes.extend_from_slice(&frame.payload);
                let sendable = match std::str::from_utf8(bytes) {
                    _ if !*text => bytes.len(),
                    Ok(_) => bytes.len(),
                    Err(err) if err.error_len().is_none() && !fin => err.valid_up_to(),
                    Err(_) => return violation(1007),
                };
                if self.started.is_none() && (sendable > 0 || fin) {
                    self.started = Some(self.events.len());
                    self.events.push(Seen::Message { text: *text, payload: Vec::new() });
                }
                if fin {
                    let (text, payload) = self.message.take().expect("a message is in progress");
                    let at = self.started.take().expect("a finished message has started");
                    self.events[at] = Seen::Message { text, payload };
                }
                None
            }
            _ => violation(1002),
        }
    }

    fn finish(mut self, end: ExpectedEnd) -> Expected {
        // A message never finished is not among the settled events.
        if let Some(at) = self.started {
            self.events.remove(at);
        }
        Expected { events: self.events, end, unfinished: self.message.map(|(_, bytes)| bytes), ended_at: None }
    }
}
