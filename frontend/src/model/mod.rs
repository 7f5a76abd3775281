//! What the page knows and how it changes, as plain Rust with no browser in
//! sight: the event log, one connection's session and its reducer, the
//! socket's states and close codes, the server's reports and the lab, the
//! learning texts, "Compare with polling", the composer's draft, history,
//! settings, tabs and statistics. Native `cargo test` covers all of it.
//!
//! It may use `util` and itself, and of the browser-side crates only
//! `yew::Reducible` (so that Yew's reducers can hold a session or the tabs).
//! What the browser does better (sorting samples, lowercasing Unicode) is
//! passed in as a function.

pub mod close_code;
pub mod comparison;
pub mod draft;
pub mod expanded;
pub mod explain;
pub mod filter;
pub mod history;
pub mod inspector;
pub mod lab;
pub mod log;
pub mod negotiation;
pub mod ready_state;
pub mod report;
pub mod session;
pub mod session_file;
pub mod settings;
pub mod socket_url;
pub mod stats;
pub mod tabs;
pub mod timeline;
