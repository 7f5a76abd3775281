//! Hooks that give a component something that lives as long as it does, and
//! is let go of when it unmounts: the batcher, the connection slot, the
//! element ids of its tab, and the explanations' prose.

pub mod batcher;
pub mod connection;
pub mod ids;
pub mod texts;
