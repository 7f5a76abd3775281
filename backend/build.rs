//! Embeds the trunk-built bundle (`../dist`, or `ECHO_EMBED_DIST`) in the binary,
//! precompressed with brotli and gzip, so that the binary alone serves the app.
//! Without a bundle at build time the embedded table is empty and the server
//! serves `--dist` from disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/assets/compress.rs"]
mod compress;

fn main() {
    println!("cargo:rerun-if-env-changed=ECHO_EMBED_DIST");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dist = std::env::var_os("ECHO_EMBED_DIST").map(PathBuf::from).unwrap_or_else(|| manifest.join("../dist"));
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut table = String::from("&[\n");
    for (index, relative) in files.iter().enumerate() {
        let source = dist.join(relative);
        let data = std::fs::read(&source).expect("read a bundle file");
        let extension = Path::new(relative).extension().and_then(|e| e.to_str()).unwrap_or_default();
        let variant = |name: &str, compressed: Option<Vec<u8>>| match compressed {
            Some(bytes) => {
                let path = out.join(format!("bundle-{index}.{name}"));
                std::fs::write(&path, bytes).expect("write a compressed file");
                format!("Some(include_bytes!({:?}))", path.display().to_string())
            }
            None => "None".to_owned(),
        };
        let (gzip, brotli) = if compress::is_compressible(extension) {
            (
                variant("gz", compress::gzip(&data, compress::Effort::Best)),
                variant("br", compress::brotli(&data, compress::Effort::Best)),
            )
        } else {
            ("None".to_owned(), "None".to_owned())
        };
        let absolute = source.canonicalize().expect("canonical bundle path");
        let _ = writeln!(
            table,
            "    EmbeddedFile {{ path: {relative:?}, identity: include_bytes!({:?}), gzip: {gzip}, brotli: {brotli} }},",
            absolute.display().to_string()
        );
    }
    table.push(']');
    std::fs::write(out.join("bundle.rs"), table).expect("write the bundle table");
}

/// Every file below `dir`, as paths relative to `root` with `/` separators.
fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read the bundle folder") {
        let path = entry.expect("a bundle entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}
