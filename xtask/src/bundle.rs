//! Shrinks the bundle trunk leaves in `dist/`, after `trunk build --release`.
//!
//! Two things trunk cannot do itself, for the app's module and the first stage's, worth about
//! 7 KB and 3 KB of their gzipped size:
//! - minify wasm-bindgen's JS glue (trunk's minifier stops at `export default` and
//!   leaves the file as it is), here with terser;
//! - shorten the import names: wasm-bindgen names each import `__wbg_<name>_<16 hex digits>`,
//!   and those hashes, written once in the wasm and once in the JS, do not compress.
//!   Each name found exactly once in the JS becomes `$<n>` in both files; so does the import
//!   module's name (`"./frontend_bg.js"`, repeated on every import) and each export named with
//!   rustc's symbol hash (`…__h<16 hex digits>`, the closure shims), everywhere the JS uses it.
//!
//! Then the `integrity` hashes trunk wrote into `index.html`, if it wrote any, are replaced with
//! those of the new files; an old hash found more than once fails the build. (The page's loader
//! fetches the app when the first stage asks for it, without preload links, so today there are
//! none for the app's files; a loader that preloads them again gets correct hashes.)

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha384};

use crate::{run, Result};

/// Minifies the JS glue, shortens the import names and updates `index.html`'s integrity hashes,
/// for the app's module and the first stage's.
pub fn shrink(dist: &Path, path: &OsStr) -> Result<()> {
    // The app's files (trunk names them with a hash; its glue is an ES module).
    let js_path = only_file(dist, |name| name.starts_with("frontend-") && name.ends_with(".js"))?;
    let wasm_path = only_file(dist, |name| name.starts_with("frontend-") && name.ends_with("_bg.wasm"))?;
    let html_path = dist.join("index.html");
    let mut html = std::fs::read_to_string(&html_path)?;
    for (js_path, wasm_path, module) in
        [(js_path, wasm_path, true), (dist.join("boot.js"), dist.join("boot_bg.wasm"), false)]
    {
        let (old_js, old_wasm) = (std::fs::read(&js_path)?, std::fs::read(&wasm_path)?);
        let minified_path = js_path.with_extension("min.js");
        // The first stage's glue is a plain script: terser keeps its top-level
        // names (`wasm_bindgen`, which index.html calls) as they are.
        run(Command::new("terser")
            .arg(&js_path)
            .args(module.then_some("--module"))
            .args(["--compress", "--mangle", "--output"])
            .arg(&minified_path)
            .env("PATH", path))?;
        let minified = std::fs::read_to_string(&minified_path)?;
        std::fs::remove_file(&minified_path)?;
        let (wasm, js) = shorten_names(&old_wasm, &minified)?;
        html = replace_if_there(&html, &integrity(&old_js), &integrity(js.as_bytes()))?;
        html = replace_if_there(&html, &integrity(&old_wasm), &integrity(&wasm))?;
        std::fs::write(&js_path, &js)?;
        std::fs::write(&wasm_path, &wasm)?;
        println!(
            "xtask: shrank {} ({} -> {} bytes) and {} ({} -> {} bytes)",
            js_path.display(),
            old_js.len(),
            js.len(),
            wasm_path.display(),
            old_wasm.len(),
            wasm.len()
        );
    }
    std::fs::write(&html_path, html)?;
    Ok(())
}

/// Puts what the first echo needs into `index.html` itself: the stylesheet (a `<style>`), the first
/// stage's glue and its wasm (base64, compiled with `initSync`), and removes those files and the
/// wasm's preload link. In a browser started a moment ago every file the page asks for waits tens
/// of milliseconds before it is even requested (BENCHMARKS.md), so the first stage comes in the one
/// response the browser has to wait for anyway. The backend's Content-Security-Policy allows the
/// page's inline scripts and styles by hash. (`trunk serve` keeps the files apart; the page works
/// the same, only its first stage starts later.)
pub fn inline_first_stage(dist: &Path) -> Result<()> {
    let html_path = dist.join("index.html");
    let css_path = only_file(dist, |name| name.starts_with("style-") && name.ends_with(".css"))?;
    let (js_path, wasm_path) = (dist.join("boot.js"), dist.join("boot_bg.wasm"));
    let html = std::fs::read_to_string(&html_path)?;
    let css = std::fs::read_to_string(&css_path)?;
    let js = std::fs::read_to_string(&js_path)?;
    let wasm = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&wasm_path)?);
    let inlined = inline_into(&html, &css, &js, &wasm)?;
    std::fs::write(&html_path, &inlined)?;
    for path in [&css_path, &js_path, &wasm_path] {
        std::fs::remove_file(path)?;
    }
    println!("xtask: inlined the stylesheet and the first stage into index.html ({} bytes)", inlined.len());
    Ok(())
}

/// `html` with its stylesheet link replaced by `css`, the first stage's preload link removed, and
/// its two scripts (the glue, then the call that starts it) replaced by `js` and a synchronous
/// start from `wasm_base64`.
fn inline_into(html: &str, css: &str, js: &str, wasm_base64: &str) -> Result<String> {
    if css.contains("</style") || js.contains("</script") {
        return Err("the stylesheet or the first stage's glue would end its own element".into());
    }
    let stylesheet = tag_around(html, "rel=stylesheet")?;
    let html = format!("{}<style>{css}</style>{}", &html[..stylesheet.start], &html[stylesheet.end..]);
    let preload = tag_around(&html, "href=/boot_bg.wasm")?;
    let html = format!("{}{}", &html[..preload.start], &html[preload.end..]);
    let glue = "<script src=/boot.js></script><script>";
    let start = html.find(glue).ok_or("no `<script src=/boot.js>` followed by its start in index.html")?;
    let end = start + glue.len() + html[start + glue.len()..].find("</script>").ok_or("an unclosed script")?;
    // The same fallback as the file-based start: if the first stage cannot run, the app starts.
    let run = format!(
        "{{const w=\"{wasm_base64}\";try{{wasm_bindgen.initSync({{module:Uint8Array.fromBase64?\
         Uint8Array.fromBase64(w):Uint8Array.from(atob(w),c=>c.charCodeAt(0))}})}}catch(e){{\
         window.echoWantsApp=!0;window.echoStartApp?.()}}}}"
    );
    Ok(format!("{}<script>{js};{run}</script>{}", &html[..start], &html[end + "</script>".len()..]))
}

/// The byte range of the one tag (`<` to `>`) that contains `needle`.
fn tag_around(html: &str, needle: &str) -> Result<std::ops::Range<usize>> {
    let mut found = html.match_indices(needle).map(|(at, _)| at);
    let (Some(at), None) = (found.next(), found.next()) else {
        return Err(format!("expected one tag with `{needle}` in index.html").into());
    };
    let start = html[..at].rfind('<').ok_or("a tag without its `<`")?;
    let end = at + html[at..].find('>').ok_or("a tag without its `>`")? + 1;
    Ok(start..end)
}

fn only_file(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().and_then(OsStr::to_str).is_some_and(&wanted) {
            found.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(found) {
        Ok([path]) => Ok(path),
        Err(found) => Err(format!("expected one such file in {}, found {found:?}", dir.display()).into()),
    }
}

/// The value trunk writes into an `integrity` attribute.
fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes)))
}

fn replace_if_there(text: &str, old: &str, new: &str) -> Result<String> {
    match text.matches(old).count() {
        0 | 1 => Ok(text.replacen(old, new, 1)),
        count => Err(format!("expected `{old}` at most once in index.html, found it {count} times").into()),
    }
}

/// Renames, in the wasm and in `js`: each import whose name occurs exactly once in `js` (there,
/// as a key of the imports object) to `$<n>`; the import module, when `js` quotes it once, to
/// `m<n>`; each export named with a symbol hash to `$e<n>`. Other names, and every other
/// section, stay as they are.
fn shorten_names(wasm: &[u8], js: &str) -> Result<(Vec<u8>, String)> {
    let body = wasm.strip_prefix(b"\0asm\x01\0\0\0".as_slice()).ok_or("not a wasm module (version 1)")?;
    let mut out = wasm[..8].to_vec();
    let mut js = js.to_owned();
    let mut reader = Reader { bytes: body, at: 0 };
    let mut renamed = 0;
    while !reader.done() {
        let id = reader.byte()?;
        let section = reader.bytes_with_length()?;
        let section = match id {
            2 => rename_in_import_section(section, &mut js, &mut renamed)?,
            7 => rename_in_export_section(section, &mut js)?,
            _ => section.to_vec(),
        };
        out.push(id);
        write_leb(&mut out, section.len() as u64);
        out.extend_from_slice(&section);
    }
    Ok((out, js))
}

fn rename_in_import_section(section: &[u8], js: &mut String, renamed: &mut usize) -> Result<Vec<u8>> {
    let mut reader = Reader { bytes: section, at: 0 };
    let count = reader.leb()?;
    let mut out = Vec::with_capacity(section.len());
    write_leb(&mut out, count);
    let mut modules: Vec<(&[u8], Vec<u8>)> = Vec::new();
    for _ in 0..count {
        let module = reader.bytes_with_length()?;
        let module = match modules.iter().find(|(old, _)| *old == module) {
            Some((_, new)) => new.clone(),
            None => {
                // The module is a quoted key of the imports object.
                let quoted = format!("\"{}\"", std::str::from_utf8(module)?);
                let new = match js.matches(&quoted).count() {
                    1 => {
                        let new = format!("m{}", modules.len());
                        *js = js.replacen(&quoted, &format!("\"{new}\""), 1);
                        new.into_bytes()
                    }
                    _ => module.to_vec(),
                };
                modules.push((module, new.clone()));
                new
            }
        };
        let module = module.as_slice();
        let name = std::str::from_utf8(reader.bytes_with_length()?)?;
        let start = reader.at;
        reader.import_description()?;
        let description = &section[start..reader.at];
        let new_name = match token_positions(js, name).as_slice() {
            [at] => {
                let new_name = format!("${renamed}");
                *renamed += 1;
                js.replace_range(*at..*at + name.len(), &new_name);
                new_name
            }
            _ => name.to_owned(),
        };
        write_leb(&mut out, module.len() as u64);
        out.extend_from_slice(module);
        write_leb(&mut out, new_name.len() as u64);
        out.extend_from_slice(new_name.as_bytes());
        out.extend_from_slice(description);
    }
    if !reader.done() {
        return Err("the import section has bytes after its last import".into());
    }
    Ok(out)
}

/// Renames each export named with rustc's symbol hash to `$e<n>`, here and at every
/// place the JS names it. Other exports (`memory`, `__wbindgen_malloc`, …) stay.
fn rename_in_export_section(section: &[u8], js: &mut String) -> Result<Vec<u8>> {
    let mut reader = Reader { bytes: section, at: 0 };
    let count = reader.leb()?;
    let mut out = Vec::with_capacity(section.len());
    write_leb(&mut out, count);
    let mut renamed = 0;
    for _ in 0..count {
        let name = std::str::from_utf8(reader.bytes_with_length()?)?;
        let start = reader.at;
        reader.byte()?;
        reader.leb()?;
        let description = &section[start..reader.at];
        let hashed = name
            .rsplit_once("__h")
            .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let positions = token_positions(js, name);
        let new_name = if hashed && !positions.is_empty() {
            let new_name = format!("$e{renamed}");
            renamed += 1;
            for at in positions.into_iter().rev() {
                js.replace_range(at..at + name.len(), &new_name);
            }
            new_name
        } else {
            name.to_owned()
        };
        write_leb(&mut out, new_name.len() as u64);
        out.extend_from_slice(new_name.as_bytes());
        out.extend_from_slice(description);
    }
    if !reader.done() {
        return Err("the export section has bytes after its last export".into());
    }
    Ok(out)
}

/// Where `name` occurs in `js` as a whole identifier.
fn token_positions(js: &str, name: &str) -> Vec<usize> {
    let is_identifier = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    js.match_indices(name)
        .map(|(at, _)| at)
        .filter(|&at| {
            !js[..at].chars().next_back().is_some_and(is_identifier)
                && !js[at + name.len()..].chars().next().is_some_and(is_identifier)
        })
        .collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8> {
        let byte = *self.bytes.get(self.at).ok_or("the wasm module ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a LEB128 number in the wasm module is too long".into())
    }

    fn bytes_with_length(&mut self) -> Result<&'a [u8]> {
        let length = usize::try_from(self.leb()?)?;
        let end =
            self.at.checked_add(length).filter(|&end| end <= self.bytes.len()).ok_or("the wasm module ends early")?;
        let bytes = &self.bytes[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// Skips an import's description: a function, table, memory, global or tag.
    fn import_description(&mut self) -> Result<()> {
        match self.byte()? {
            0 => self.leb().map(drop),
            1 => {
                self.value_type()?;
                self.limits()
            }
            2 => self.limits(),
            3 => {
                self.value_type()?;
                self.byte().map(drop)
            }
            4 => {
                self.byte()?;
                self.leb().map(drop)
            }
            kind => Err(format!("unknown import kind {kind}").into()),
        }
    }

    fn value_type(&mut self) -> Result<()> {
        // (ref null? heaptype) carries its heap type after the prefix.
        if let 0x63 | 0x64 = self.byte()? {
            self.leb()?;
        }
        Ok(())
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(out: &mut Vec<u8>, name: &str) {
        write_leb(out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
    }

    /// A module with a type section, imports from `glue` (two functions, a memory and a
    /// global) and two exports.
    fn module(glue: &str, names: [&str; 4], exports: [&str; 2]) -> Vec<u8> {
        let mut imports = vec![4];
        for (name_at, description) in names.iter().zip([&[0, 0][..], &[0, 0], &[2, 1, 1, 0x80, 0x02], &[3, 0x7f, 0]]) {
            name(&mut imports, glue);
            name(&mut imports, name_at);
            imports.extend_from_slice(description);
        }
        let mut export_section = vec![2];
        for (index, export) in exports.iter().enumerate() {
            name(&mut export_section, export);
            export_section.extend_from_slice(&[0, index as u8]);
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        for (id, section) in [(2, imports), (7, export_section)] {
            wasm.push(id);
            write_leb(&mut wasm, section.len() as u64);
            wasm.extend_from_slice(&section);
        }
        wasm
    }

    #[test]
    fn shortens_names_found_once_and_keeps_the_rest() {
        let names = ["__wbg_log_0123456789abcdef", "__wbindgen_twice", "memory", "__wbg_g_fedcba9876543210"];
        let exports = ["__wbindgen_malloc", "invoke__h0123456789abcdef"];
        let js = "const i={__wbg_log_0123456789abcdef:function(n){},__wbindgen_twice:1,x__wbg_g_fedcba9876543210:2,\
                  __wbg_g_fedcba9876543210:3};__wbindgen_twice;return{\"./glue.js\":i};\
                  w.invoke__h0123456789abcdef(1);w.invoke__h0123456789abcdef(2);w.__wbindgen_malloc(3)";
        let (wasm, js) = shorten_names(&module("./glue.js", names, exports), js).unwrap();
        let names = ["$0", "__wbindgen_twice", "memory", "$1"];
        assert_eq!(wasm, module("m0", names, ["__wbindgen_malloc", "$e0"]));
        assert_eq!(
            js,
            "const i={$0:function(n){},__wbindgen_twice:1,x__wbg_g_fedcba9876543210:2,$1:3};__wbindgen_twice;\
             return{\"m0\":i};w.$e0(1);w.$e0(2);w.__wbindgen_malloc(3)"
        );
    }

    #[test]
    fn keeps_a_module_name_the_js_does_not_hold_once() {
        let names = ["a", "b", "c", "d"];
        let exports = ["e", "f"];
        let (wasm, _) = shorten_names(&module("./glue.js", names, exports), "").unwrap();
        assert_eq!(wasm, module("./glue.js", names, exports));
    }

    #[test]
    fn refuses_what_is_not_a_module() {
        assert!(shorten_names(b"\0asm\x02\0\0\0", "").is_err());
        let mut cut = module("./glue.js", ["a", "b", "c", "d"], ["e", "f"]);
        cut.truncate(cut.len() - 2);
        assert!(shorten_names(&cut, "").is_err());
    }

    #[test]
    fn the_first_stage_and_the_stylesheet_go_into_the_page() {
        let html = "<title>t</title><link as=fetch crossorigin href=/boot_bg.wasm rel=preload \
                    type=application/wasm><script type=module>loader</script><link href=/style-1.css \
                    integrity=sha384-x rel=stylesheet><link href=/favicon.png rel=icon></head><body>\
                    <script src=/boot.js></script><script>wasm_bindgen({module_or_path:`/boot_bg.wasm`})\
                    </script></body></html>";
        let page = inline_into(html, "a{b:c}", "let wasm_bindgen=1", "AGFzbQ==").unwrap();
        assert!(page.starts_with("<title>t</title><script type=module>loader</script><style>a{b:c}</style>"), "{page}");
        assert!(page.contains(
            "<link href=/favicon.png rel=icon></head><body><script>let wasm_bindgen=1;{const w=\"AGFzbQ==\";"
        ));
        assert!(page.ends_with("window.echoStartApp?.()}}</script></body></html>"), "{page}");
        assert!(
            !page.contains("boot_bg.wasm") && !page.contains("/boot.js") && !page.contains("style-1.css"),
            "{page}"
        );
        assert!(inline_into(html, "a{}", "x</script>", "").is_err());
        assert!(inline_into("<body></body>", "a{}", "x", "").is_err(), "nothing to inline into");
    }

    #[test]
    fn replaces_an_integrity_hash_there_once_and_refuses_one_there_twice() {
        assert_eq!(replace_if_there("a x b", "x", "y").unwrap(), "a y b");
        assert_eq!(replace_if_there("a b", "x", "y").unwrap(), "a b");
        assert!(replace_if_there("x x", "x", "y").is_err());
        assert_eq!(integrity(b"abc").len(), "sha384-".len() + 64);
    }
}
