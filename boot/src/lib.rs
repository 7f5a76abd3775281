//! The page's first stage: a module of a few kilobytes that the page starts
//! first. It draws Connect, the Message box, Send and the log's rows with
//! plain DOM calls, opens the first socket through web-sys, and asks for the
//! app (the Yew module, many times its size) only once nobody is waiting on
//! the socket, so that the app's download, compilation and first drawing never
//! hold back the first echo. The app then takes the live socket and every
//! event so far through `window.echoFirstStage` (see `stage.rs`).
//!
//! [`text`] is pure and tested natively; [`stage`] is the browser side.

#![forbid(unsafe_code)]

pub mod stage;
pub mod text;
