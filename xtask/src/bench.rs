//! `cargo xtask bench [--no-dist] [SUITE ARGS]`: prepares what the benchmark
//! measures (the web app's bundle, the release backend and load generator, the
//! Node.js peers and, for the page, Chromium) and then runs `loadgen suite`
//! with their paths. The suite itself builds and installs nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, run, Result};

/// Prepares and runs the benchmark; `args` are the suite's flags, plus
/// `--no-dist` to measure the `dist/` already built.
pub fn bench(args: &[OsString]) -> Result<()> {
    let args = args.strip_prefix(&[OsString::from("--")][..]).unwrap_or(args);
    let no_dist = args.iter().any(|arg| arg == "--no-dist");
    let suite_args: Vec<&OsString> = args.iter().filter(|arg| *arg != "--no-dist").collect();
    let page = wants_page(&suite_args);
    let step = |name: &str| println!("\nxtask: ── {name} ──");
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        // The suite's flags are the load generator's to tell; nothing else needs building for that.
        run(cargo().args(["build", "--release", "--package", "loadgen"]))?;
        return run(Command::new(target_dir()?.join("release").join("loadgen")).args(["suite", "--help"]));
    }

    // The bundle first: the release backend carries it inside itself.
    if page && !no_dist {
        step("the web app's release bundle (cargo xtask dist)");
        crate::dist()?;
    }
    // Two builds, so that features the load generator enables in shared
    // dependencies never change the backend that is measured.
    step("the release backend and load generator");
    run(cargo().args(["build", "--release", "--package", "backend"]))?;
    run(cargo().args(["build", "--release", "--package", "loadgen"]))?;
    let release = target_dir()?.join("release");

    let node_dir = root().join("bench").join("node");
    if let Some(why) = node_peers_missing(&node_dir)? {
        step(&format!("the Node.js peers: {why}, so npm ci"));
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&node_dir))?;
    }
    if page {
        crate::tools::ensure_debian_packages(&[
            ("/usr/bin/chromium", "chromium"),
            ("/usr/bin/chromedriver", "chromium-driver"),
        ])?;
    }

    step("the benchmark suite");
    let mut suite = Command::new(release.join("loadgen"));
    suite.arg("suite").arg("--backend").arg(release.join("backend")).arg("--node-dir").arg(&node_dir);
    if page {
        suite.arg("--dist").arg(root().join("dist"));
    }
    suite.args(suite_args);
    run(&mut suite)
}

/// Whether the suite's flags leave the page scenario in (`--only` not given, or naming it).
fn wants_page(args: &[&OsString]) -> bool {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let only = args.iter().enumerate().find_map(|(at, arg)| match arg.strip_prefix("--only") {
        Some("") => args.get(at + 1).cloned(),
        Some(value) => value.strip_prefix('=').map(str::to_owned),
        None => None,
    });
    only.is_none_or(|scenarios| scenarios.split(',').any(|scenario| scenario.trim() == "page"))
}

/// Where cargo puts what it builds here (`CARGO_TARGET_DIR` and cargo's
/// configuration included), as `cargo metadata` says.
fn target_dir() -> Result<PathBuf> {
    let output = cargo().args(["metadata", "--format-version", "1", "--no-deps"]).output()?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed ({})", output.status).into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let dir = metadata["target_directory"].as_str().ok_or("cargo metadata names no target directory")?;
    Ok(PathBuf::from(dir))
}

/// Why `npm ci` is needed in `node_dir`: a package of its lockfile that is
/// not installed at the locked version; `None` when all are.
fn node_peers_missing(node_dir: &Path) -> Result<Option<String>> {
    let lock = std::fs::read_to_string(node_dir.join("package-lock.json"))
        .map_err(|err| format!("cannot read {}: {err}", node_dir.join("package-lock.json").display()))?;
    let lock: serde_json::Value = serde_json::from_str(&lock)?;
    let packages = lock["packages"].as_object().ok_or("package-lock.json has no packages")?;
    for (path, package) in packages {
        // The root entry is the folder itself; optional packages may be absent on this platform.
        if path.is_empty() || package["optional"] == serde_json::Value::Bool(true) {
            continue;
        }
        let locked = package["version"].as_str().unwrap_or_default();
        let installed = std::fs::read_to_string(node_dir.join(path).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|manifest| manifest["version"].as_str().map(str::to_owned));
        match installed {
            Some(version) if version == locked => {}
            Some(version) => return Ok(Some(format!("{path} is {version}, locked at {locked}"))),
            None => return Ok(Some(format!("{path} is not installed"))),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::wants_page;
    use std::ffi::OsString;

    #[test]
    fn the_page_runs_unless_only_leaves_it_out() {
        let check = |args: &[&str], expected: bool| {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let args: Vec<&OsString> = args.iter().collect();
            assert_eq!(wants_page(&args), expected, "{args:?}");
        };
        check(&[], true);
        check(&["--rounds", "1"], true);
        check(&["--only", "throughput,idle"], false);
        check(&["--only", "idle,page"], true);
        check(&["--only=overload"], false);
        check(&["--only=page"], true);
    }
}
