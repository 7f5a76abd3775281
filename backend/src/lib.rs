//! The WebSocket echo server: the web app's files and an echo endpoint at `/ws`,
//! on one port.
//!
//! [`Server::bind`] takes a [`Config`]; [`Server::run`] serves until the future it
//! is given completes, then closes every socket with 1001 and waits for the close
//! handshakes.

#![forbid(unsafe_code)]

mod api;
mod assets;
pub mod config;
mod metrics;
mod server;
mod tls;
mod ws;

pub use config::Config;
pub use server::Server;
