//! Installs the tools the build and the tests need, each at a pinned version,
//! skipping whatever is already present.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run, Result};

/// trunk 0.22 needs a newer rustc than this project's 1.95; 0.21.14 is the newest that builds.
pub const TRUNK_VERSION: &str = "0.21.14";
/// Must equal the `wasm-bindgen` crate in Cargo.lock (pinned with `=` in frontend/Cargo.toml).
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// Debian's binaryen 108 cannot read what rustc 1.95 emits; npm's binaryen ships wasm-opt 132.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// Minifies wasm-bindgen's JS glue, which trunk's own minifier cannot parse (`export default`).
pub const TERSER_VERSION: &str = "5.51.4";

/// What a task needs installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The wasm target, trunk, wasm-bindgen and wasm-opt: enough to build the bundle.
    Bundle,
    /// The bundle tools plus Chromium, chromedriver and nginx: enough to run every test.
    Tests,
}

/// Installs what `need` requires; returns the folder to put first on PATH (npm's wasm-opt and terser).
pub fn ensure(root: &Path, need: Need) -> Result<PathBuf> {
    check_lockfile_pin(root)?;
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", "trunk", TRUNK_VERSION, &["--locked"])?;
    // wasm-bindgen-cli's lockfile pins a dependency version the registry no longer
    // has, so it is installed without --locked.
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", WASM_BINDGEN_VERSION, &[])?;
    let npm_bin = ensure_binaryen(root)?;
    ensure_terser(&npm_bin)?;
    if need == Need::Tests {
        ensure_debian_packages(&[
            ("/usr/bin/chromium", "chromium"),
            ("/usr/bin/chromedriver", "chromium-driver"),
            ("/usr/sbin/nginx", "nginx"),
        ])?;
    }
    Ok(npm_bin)
}

/// The wasm-bindgen CLI and the crate must match exactly; catch a drift early.
fn check_lockfile_pin(root: &Path) -> Result<()> {
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).map_err(|err| format!("cannot read Cargo.lock: {err}"))?;
    let locked = lock
        .split("[[package]]")
        .find(|package| package.contains("\nname = \"wasm-bindgen\"\n"))
        .and_then(|package| package.lines().find_map(|line| line.strip_prefix("version = \"")))
        .map(|version| version.trim_end_matches('"'));
    match locked {
        Some(version) if version == WASM_BINDGEN_VERSION => Ok(()),
        Some(version) => Err(format!(
            "Cargo.lock has wasm-bindgen {version} but xtask pins the CLI at {WASM_BINDGEN_VERSION}; update both together"
        )
        .into()),
        None => Err("Cargo.lock has no wasm-bindgen package".into()),
    }
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|line| line.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    println!("xtask: installing the wasm32-unknown-unknown target");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_cargo_tool(binary: &str, package: &str, version: &str, flags: &[&str]) -> Result<()> {
    let reported = output(binary, &["--version"]).unwrap_or_default();
    if reported.split_whitespace().any(|word| word == version) {
        return Ok(());
    }
    println!("xtask: installing {package} {version} (found: {})", reported.trim());
    run(Command::new("cargo").args(["install", package, "--version", version, "--force"]).args(flags))
}

/// wasm-opt from npm's binaryen, kept in `.tools/npm` inside the repository.
fn ensure_binaryen(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools").join("npm");
    let bin = prefix.join("node_modules").join(".bin");
    let major = BINARYEN_VERSION.split('.').next().unwrap_or(BINARYEN_VERSION);
    let reported = output(&bin.join("wasm-opt").to_string_lossy(), &["--version"]).unwrap_or_default();
    if reported.contains(&format!("version {major}")) {
        return Ok(bin);
    }
    println!("xtask: installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into {}", prefix.display());
    std::fs::create_dir_all(&prefix)?;
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--save-exact", "--prefix"])
        .arg(&prefix)
        .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
    Ok(bin)
}

/// terser from npm, beside binaryen in `.tools/npm`.
fn ensure_terser(npm_bin: &Path) -> Result<()> {
    let reported = output(&npm_bin.join("terser").to_string_lossy(), &["--version"]).unwrap_or_default();
    if reported.split_whitespace().any(|word| word == TERSER_VERSION) {
        return Ok(());
    }
    let prefix = npm_bin.parent().and_then(Path::parent).ok_or("npm's bin folder has no prefix")?;
    println!("xtask: installing terser {TERSER_VERSION} into {}", prefix.display());
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--save-exact", "--prefix"])
        .arg(prefix)
        .arg(format!("terser@{TERSER_VERSION}")))
}

/// Installs Debian packages whose marker file is missing. Chromium and its driver
/// come from Debian because nothing may download a browser of its own here;
/// nginx is the real proxy of the scale-out test.
pub fn ensure_debian_packages(packages: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> =
        packages.iter().filter(|(marker, _)| !Path::new(marker).exists()).map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("xtask: installing Debian packages: {}", missing.join(" "));
    let as_root = output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if as_root { Command::new("apt-get") } else { Command::new("sudo") };
        if !as_root {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut apt(&["update", "-q"]))?;
    run(apt(&["install", "-y", "-q", "--no-install-recommends"]).args(&missing))
}

/// A command's standard output, or `None` if it cannot run or fails.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
