//! The WebSocket echo app's browser side: a Yew app that drives the browser's own
//! `WebSocket` and logs every event it raises.
//!
//! Everything that can be plain data is ([`event_log`], [`state`], [`close_code`],
//! [`ready_state`], [`socket_url`]) and is tested natively; [`connection`] and the
//! components are the thin layer that touches the browser.

#![forbid(unsafe_code)]

pub mod app;
pub mod backoff;
pub mod batch;
pub mod browser;
pub mod chunked;
pub mod close_code;
pub mod codec;
pub mod compare;
pub mod comparison;
pub mod components;
pub mod compose;
pub mod connection;
pub mod event_log;
pub mod explain;
pub mod filter;
pub mod history;
pub mod json;
pub mod lab;
pub mod panel;
pub mod ready_state;
pub mod report;
pub mod session_file;
pub mod settings;
pub mod sha1;
pub mod socket_url;
pub mod state;
pub mod stats;
pub mod tabs;
pub mod timeline;
pub mod wire;
