//! The web app's files: where they come from (`bundle.rs`: built into the
//! binary by `build.rs`, precompressed, or read from `--dist`), how they are
//! served (`serve.rs`), and the pages' Content-Security-Policy (`csp.rs`).

mod bundle;
mod compress;
mod csp;
mod serve;

pub(crate) use bundle::Bundle;
pub(crate) use serve::routes;

/// The command that builds the bundle, as the missing-bundle page and the start-up
/// log name it.
pub(crate) const BUILD_COMMAND: &str = "cargo xtask dist";

#[cfg(test)]
mod tests {
    use super::compress::{self, Effort};

    #[test]
    fn compressed_variants_round_trip() {
        use std::io::Read;
        let text = "WebSocket echo ".repeat(100).into_bytes();
        let gzip = compress::gzip(&text, Effort::Fast).unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, text);
        let brotli = compress::brotli(&text, Effort::Fast).unwrap();
        let mut unbrotlied = Vec::new();
        brotli::Decompressor::new(&brotli[..], 4096).read_to_end(&mut unbrotlied).unwrap();
        assert_eq!(unbrotlied, text);
        assert!(compress::gzip(b"x", Effort::Fast).is_none(), "compressing one byte only makes it bigger");
    }
}
