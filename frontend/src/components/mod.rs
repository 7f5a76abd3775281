//! The page's parts, each a small function component that renders props and
//! reports user actions through callbacks.

pub mod burst_panel;
pub mod composer;
pub mod connect_bar;
pub mod ids;
pub mod lab_panel;
pub mod learn;
pub mod log_view;
pub mod reconnect_status;
pub mod stats_bar;
