//! "Compare with polling": the same messages sent as HTTP requests, through a
//! polled mailbox and over a WebSocket, with what each cost.

pub mod machine;
pub mod plan;
pub mod results;
pub mod wire;
