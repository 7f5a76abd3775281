//! The parts of a connection's panel. Each renders what it is given and
//! reports what the user does through callbacks. Parts that gain from
//! redrawing alone are components: `LogView` (with its rows) and
//! `HandshakeInspector`. The others are hooks (`use_connect_bar` with
//! `use_reconnect_status`, `use_composer`, `use_burst_panel`, `use_lab_panel`)
//! or plain functions (`stats_bar`, `timeline_view`) that the panel calls,
//! because each Yew component carries its own copy of the mounting and
//! diffing code.

pub mod burst_panel;
pub mod composer;
pub mod connect_bar;
pub mod handshake_inspector;
pub mod lab_panel;
pub mod log_view;
pub mod reconnect_status;
pub mod stats_bar;
pub mod timeline_view;
