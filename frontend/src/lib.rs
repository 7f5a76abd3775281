//! The WebSocket echo app's browser side: a Yew app that drives the browser's
//! own `WebSocket` and logs every event it raises.
//!
//! Four layers, each importing only from those before it: [`util`] (plain
//! helpers), [`model`] (what the page knows and how it changes, pure and
//! tested natively), [`browser`] (web-sys, kept thin) and [`ui`] (Yew).
//! `tests/layers.rs` checks the order and that no imports go round in a circle.

#![forbid(unsafe_code)]

pub mod browser;
pub mod model;
pub mod ui;
pub mod util;
