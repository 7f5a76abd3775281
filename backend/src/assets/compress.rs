//! Compressing files for clients that accept it. Shared with `build.rs`, which
//! precompresses the embedded bundle at the highest levels.

use std::io::Write;

/// How hard to try: the build has time for the best ratio, a running server
/// compressing a file on first request does not.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Effort {
    /// Used by `build.rs` only.
    #[allow(dead_code)]
    Best,
    Fast,
}

/// Whether a file of this extension is worth compressing (text and wasm are;
/// images and fonts are compressed already).
pub(crate) fn is_compressible(extension: &str) -> bool {
    matches!(extension, "html" | "js" | "mjs" | "css" | "wasm" | "json" | "svg" | "txt" | "map" | "xml")
}

/// gzip, or `None` when it would not make the file smaller.
pub(crate) fn gzip(data: &[u8], effort: Effort) -> Option<Vec<u8>> {
    let level = match effort {
        Effort::Best => flate2::Compression::best(),
        Effort::Fast => flate2::Compression::new(6),
    };
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), level);
    encoder.write_all(data).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < data.len()).then_some(compressed)
}

/// Brotli, or `None` when it would not make the file smaller.
pub(crate) fn brotli(data: &[u8], effort: Effort) -> Option<Vec<u8>> {
    let quality = match effort {
        Effort::Best => 11,
        Effort::Fast => 5,
    };
    let mut compressed = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut compressed, 64 * 1024, quality, 22);
        writer.write_all(data).ok()?;
    }
    (compressed.len() < data.len()).then_some(compressed)
}
