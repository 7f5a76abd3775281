//! The WebSocket echo server: the web app's files and an echo endpoint at `/ws`,
//! on one port.
//!
//! [`Server::bind`] takes a [`Config`]; [`Server::run`] serves until the future it
//! is given completes, then closes every socket with 1001 and waits for the close
//! handshakes. [`Server::bind_on`] serves on several runtimes at once, each with
//! its own listening socket on the shared port; [`runtime::serve`] is how the
//! binary lays them out, one per thread.

#![forbid(unsafe_code)]

mod api;
mod assets;
mod budget;
pub mod config;
mod connections;
mod http;
pub mod limits;
mod metrics;
mod refusal;
pub mod runtime;
mod server;
mod tls;
mod ws;

pub use config::Config;
pub use server::Server;
/// The protocol engine behind a small facade, for the fuzz targets and the
/// property and differential tests only (the `fuzzing` feature).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use ws::fuzzing;
