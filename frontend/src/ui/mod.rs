//! What the page draws and how it reacts, in Yew: the app and its tabs, one
//! panel per connection, the panel's parts, and the hooks that own the
//! browser objects and timers the panel needs. It may use every other layer.

pub mod app;
pub mod components;
pub mod hooks;
pub mod panel;
