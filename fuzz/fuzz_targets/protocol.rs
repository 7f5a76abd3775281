//! A client's byte stream through the echo, read whole and in chunks: the output oracle, and the same result however the bytes are split.
//! The body is `backend::fuzzing::targets::protocol`, which the stable tests also
//! run on every committed regression input.

#![no_main]
// Our code has no unsafe; `fuzz_target!` expands to an `unsafe extern "C"`
// entry point that libFuzzer calls, so unsafe code is denied rather than
// forbidden, which lets the macro's own `#[allow]` stand.
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| backend::fuzzing::targets::protocol(data));
