//! The lab's commands and timing over the same engine: the output oracle and the memory budget.
//! The body is `backend::fuzzing::targets::lab`, which the stable tests also
//! run on every committed regression input.

#![no_main]
// Our code has no unsafe; `fuzz_target!` expands to an `unsafe extern "C"`
// entry point that libFuzzer calls, so unsafe code is denied rather than
// forbidden, which lets the macro's own `#[allow]` stand.
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| backend::fuzzing::targets::lab(data));
