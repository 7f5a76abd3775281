//! The frontend's layers, checked from its source. `src/` holds four folders,
//! each importing only from itself and the folders before it:
//! `util` ← `model` ← `browser` ← `ui`. `util` and `model` name no browser
//! crate (Yew's `Reducible` trait excepted), `browser` does not name Yew, and
//! no modules import each other in a circle. A module's unit tests
//! (`mod tests`) may import what they like; only the crates they name count.
//! And nothing is leaked on purpose: no `forget`, so every listener and timer
//! has an owner that removes it.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first.
const LAYERS: [&str; 4] = ["util", "model", "browser", "ui"];

/// A module's path below the crate root (`["model", "session"]`).
type ModulePath = Vec<String>;

#[test]
fn layers_import_downwards_only_and_never_in_a_circle() {
    let modules = read_modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let name = |module: &ModulePath| modules[module].file.clone();
    let mut problems = Vec::new();
    let mut imports: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, Module { source, .. }) in &modules {
        if module.is_empty() {
            continue;
        }
        let layer = layer_of(module);
        match layer {
            Some(layer) => problems.extend(
                forbidden_crates(layer, source)
                    .into_iter()
                    .map(|krate| format!("{} ({}) names `{krate}`", name(module), LAYERS[layer])),
            ),
            None => problems.push(format!("{} is in no layer: move it into one of {LAYERS:?}", name(module))),
        }
        for path in paths(module, without_tests(source)) {
            let Some(target) = resolve(&modules, &path) else {
                continue;
            };
            if target == *module || target.is_empty() {
                continue;
            }
            if let (Some(layer), Some(target_layer)) = (layer, layer_of(&target)) {
                if target_layer > layer {
                    problems.push(format!(
                        "{} ({}) imports crate::{} from the higher layer {}",
                        name(module),
                        LAYERS[layer],
                        path.join("::"),
                        LAYERS[target_layer]
                    ));
                }
            }
            imports.entry(module.clone()).or_default().insert(target);
        }
    }
    problems.extend(circles(&imports).into_iter().map(|circle| {
        let names: Vec<String> = circle.iter().map(&name).collect();
        format!("import circle: {}", names.join(" → "))
    }));
    assert!(problems.is_empty(), "the frontend's layers are broken:\n{}", problems.join("\n"));
}

#[test]
fn no_closure_or_listener_is_forgotten() {
    let modules = read_modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let forgetting: Vec<&str> = modules
        .values()
        .filter(|module| code(&module.source).contains("forget("))
        .map(|module| module.file.as_str())
        .collect();
    assert!(forgetting.is_empty(), "these call `forget`, leaking what an owner should drop: {forgetting:?}");
}

/// A module's file below `src/` and its source.
struct Module {
    file: String,
    source: String,
}

/// Every module by module path; `lib.rs` is the empty path. The binary's
/// `main.rs` is outside the library and left out.
fn read_modules(src: &Path) -> BTreeMap<ModulePath, Module> {
    let mut modules = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).expect("src/ is readable") {
            let file = item.expect("src/ is readable").path();
            if file.is_dir() {
                folders.push(file);
                continue;
            }
            let relative = file.strip_prefix(src).expect("below src/");
            let mut module: ModulePath = relative
                .with_extension("")
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                Some("main") if module.len() == 1 => continue,
                Some("lib") if module.len() == 1 => module.clear(),
                Some("mod") => drop(module.pop()),
                _ => {}
            }
            let source = std::fs::read_to_string(&file).expect("a module is UTF-8");
            modules.insert(module, Module { file: relative.to_string_lossy().into_owned(), source });
        }
    }
    modules
}

/// The module's layer: its position in [`LAYERS`].
fn layer_of(module: &ModulePath) -> Option<usize> {
    LAYERS.iter().position(|layer| module.first().map(String::as_str) == Some(*layer))
}

/// The code without comment lines (what comments say is no import).
fn code(source: &str) -> String {
    source.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The code without its unit tests: from `#[cfg(test)] mod tests {` to the
/// `}` that rustfmt puts alone at the start of a line to close it.
fn without_tests(source: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = code(source).lines().map(str::to_owned).collect::<Vec<_>>().into_iter().peekable();
    while let Some(line) = lines.next() {
        if line == "#[cfg(test)]" && lines.peek().is_some_and(|next| next == "mod tests {") {
            lines.by_ref().find(|line| line == "}");
        } else {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// The browser-side crates that `layer`'s code names.
fn forbidden_crates(layer: usize, source: &str) -> Vec<String> {
    let forbidden: &[&str] = match LAYERS[layer] {
        "util" | "model" => &["web_sys", "js_sys", "wasm_bindgen", "gloo", "yew"],
        "browser" => &["yew"],
        _ => &[],
    };
    let code = code(source);
    let mut named = Vec::new();
    for (at, _) in code.match_indices("::") {
        let before = &code[..at];
        let word_start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |index| index + 1);
        let word = &before[word_start..];
        let krate = word.split('_').next().filter(|first| *first == "gloo").map_or(word, |_| "gloo");
        let is_reducible = krate == "yew" && code[at + 2..].starts_with("Reducible");
        if forbidden.contains(&krate) && !is_reducible && !named.iter().any(|seen| seen == word) {
            named.push(word.to_owned());
        }
    }
    named
}

/// Every path into the crate that `code` of `module` names, made absolute:
/// `crate::a::b`, `super::c` and each leaf of a `use crate::x::{y, z::w}` tree.
fn paths(module: &ModulePath, code: String) -> Vec<ModulePath> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for keyword in ["crate::", "super::"] {
        for (at, _) in code.match_indices(keyword) {
            let word_boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            if !word_boundary || (at >= 2 && &code[at - 2..at] == "::") {
                continue;
            }
            let mut base = module.clone();
            let mut rest = &code[at..];
            if let Some(after) = rest.strip_prefix("crate::") {
                base.clear();
                rest = after;
            } else {
                // `super` in `a/b.rs` (module a::b) is `a`; in `a/mod.rs` (module a) it is the root.
                while let Some(after) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = after;
                }
            }
            paths.extend(tree(&mut rest, base));
        }
    }
    paths
}

/// Reads a path tree (`a::b`, `a::{b, c::d}`, `a::*`) from the start of `text`,
/// after `prefix`, returning its leaves.
fn tree(text: &mut &str, mut prefix: ModulePath) -> Vec<ModulePath> {
    loop {
        *text = text.trim_start();
        if let Some(inner) = text.strip_prefix('{') {
            *text = inner;
            let mut leaves = Vec::new();
            loop {
                *text = text.trim_start();
                if let Some(rest) = text.strip_prefix('}') {
                    *text = rest;
                    return leaves;
                }
                leaves.extend(tree(text, prefix.clone()));
                match text.trim_start().strip_prefix(',') {
                    Some(rest) => *text = rest,
                    None => return leaves,
                }
            }
        }
        let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
        let segment = &text[..end];
        *text = &text[end..];
        if !segment.is_empty() && segment != "self" {
            prefix.push(segment.to_owned());
        }
        match text.strip_prefix("::") {
            Some(rest) => *text = rest,
            None => {
                // `name as other`: the other name is no path of its own.
                if let Some(renamed) = text.trim_start().strip_prefix("as ") {
                    let renamed = renamed.trim_start();
                    let end = renamed.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(renamed.len());
                    *text = &renamed[end..];
                }
                return vec![prefix];
            }
        }
    }
}

/// The module a path leads into: its longest prefix that is a module.
fn resolve(modules: &BTreeMap<ModulePath, Module>, path: &ModulePath) -> Option<ModulePath> {
    (0..=path.len()).rev().map(|len| path[..len].to_vec()).find(|prefix| modules.contains_key(prefix))
}

/// The import circles, each as the modules along it (the first repeated at the end).
fn circles(imports: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> Vec<Vec<ModulePath>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        module: &ModulePath,
        imports: &BTreeMap<ModulePath, BTreeSet<ModulePath>>,
        marks: &mut BTreeMap<ModulePath, Mark>,
        stack: &mut Vec<ModulePath>,
        found: &mut Vec<Vec<ModulePath>>,
    ) {
        match marks.get(module) {
            Some(Mark::Done) => return,
            Some(Mark::Open) => {
                let start = stack.iter().position(|open| open == module).unwrap_or_default();
                let mut circle = stack[start..].to_vec();
                circle.push(module.clone());
                found.push(circle);
                return;
            }
            None => {}
        }
        marks.insert(module.clone(), Mark::Open);
        stack.push(module.clone());
        for target in imports.get(module).into_iter().flatten() {
            visit(target, imports, marks, stack, found);
        }
        stack.pop();
        marks.insert(module.clone(), Mark::Done);
    }
    let (mut marks, mut found) = (BTreeMap::new(), Vec::new());
    for module in imports.keys() {
        visit(module, imports, &mut marks, &mut Vec::new(), &mut found);
    }
    found
}

#[test]
fn use_trees_are_read_leaf_by_leaf() {
    let module: ModulePath = vec!["model".into(), "session".into(), "pairing".into()];
    let code = "use crate::model::{lab, log::{Link, Payload}};\nuse super::Session;\n\
                let x = crate::util::json::parse(t);\nuse crate::ui::{self, app as application, hooks};";
    let paths: Vec<String> = paths(&module, code.to_owned()).iter().map(|path| path.join("::")).collect();
    assert_eq!(
        paths,
        [
            "model::lab",
            "model::log::Link",
            "model::log::Payload",
            "util::json::parse",
            "ui",
            "ui::app",
            "ui::hooks",
            "model::session::Session"
        ]
    );
    assert_eq!(
        forbidden_crates(1, "impl yew::Reducible for X {}\nuse gloo_timers::x;\n// web_sys::Window"),
        ["gloo_timers"]
    );
}
