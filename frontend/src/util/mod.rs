//! Plain helpers with no knowledge of the app: JSON, byte codecs, SHA-1, a
//! cheaply cloned list, and how numbers and text are formatted. They import
//! nothing from the rest of the crate.

pub mod chunked;
pub mod codec;
pub mod format;
pub mod json;
pub mod sha1;
