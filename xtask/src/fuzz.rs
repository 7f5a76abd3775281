//! `cargo xtask fuzz [--seconds N]`: coverage-guided fuzzing of the WebSocket
//! engine with cargo-fuzz (libFuzzer), on a pinned nightly.
//!
//! Each target in `fuzz/` gets an equal share of the time. libFuzzer reads and
//! writes its working corpus in `fuzz/corpus/<target>` (git-ignored, kept
//! between runs on one machine) and also reads the committed regression inputs
//! in `fuzz/regressions/<target>`. A failure's input is copied into
//! `fuzz/regressions/<target>/` to be committed; the stable test run replays
//! that folder (`backend/tests/properties.rs`) whether or not nightly is here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{run, Result};

/// A nightly that exists on the distribution server and builds the targets
/// (rustc 1.97.0-nightly e50aa6fba). libFuzzer's instrumentation needs nightly.
pub const NIGHTLY: &str = "nightly-2026-05-20";
/// Installs with `--locked` on rustc 1.95 (about three minutes on two cores).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The targets, in the order they run (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: [&str; 4] = ["protocol", "lab", "utf8", "handshake"];

/// What one target's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// The target's name in `fuzz/fuzz_targets/`.
    pub target: &'static str,
    /// How long it ran.
    pub seconds: u64,
    /// Inputs executed, as libFuzzer counts them.
    pub executions: u64,
    /// Distinct inputs in libFuzzer's corpus at the end (each reaches
    /// coverage no other does; its `corp:` figure).
    pub corpus: u64,
    /// Files in the working corpus folder, which also keeps inputs that
    /// later, smaller ones replaced.
    pub corpus_files: usize,
}

/// Installs the pinned nightly and cargo-fuzz when missing.
pub fn ensure_tools() -> Result<()> {
    let nightly_works = Command::new("rustup")
        .args(["run", NIGHTLY, "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !nightly_works {
        println!("xtask: installing the {NIGHTLY} toolchain (for libFuzzer's instrumentation)");
        run(Command::new("rustup").args(["toolchain", "install", NIGHTLY, "--profile", "minimal"]))?;
    }
    let reported = Command::new("cargo-fuzz")
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    if !reported.split_whitespace().any(|word| word == CARGO_FUZZ_VERSION) {
        println!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} (found: {})", reported.trim());
        run(Command::new("cargo").args([
            "install",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
            "--locked",
            "--force",
        ]))?;
    }
    Ok(())
}

/// Reads `--seconds N` (the total for all targets) from the task's arguments.
pub fn seconds_from(args: &[String], default: u64) -> Result<u64> {
    match args {
        [] => Ok(default),
        [flag, value] if flag == "--seconds" => match value.parse::<u64>() {
            Ok(seconds) if seconds >= TARGETS.len() as u64 => Ok(seconds),
            _ => Err(format!("--seconds takes a whole number of at least {}", TARGETS.len()).into()),
        },
        _ => Err("usage: cargo xtask fuzz [--seconds N]".into()),
    }
}

/// Builds the targets and runs each for its share of `seconds`; fails on the
/// first target that finds a failure, after saving its input.
pub fn run_all(root: &Path, seconds: u64) -> Result<Vec<Figures>> {
    ensure_tools()?;
    check_release_has_no_facade(root)?;
    let fuzz = root.join("fuzz");
    run(Command::new("cargo").args(["fmt", "--check", "--manifest-path"]).arg(fuzz.join("Cargo.toml")))?;
    let target_dir = target_dir(root);
    // An empty folder as the bundle to embed: the targets need none, and a
    // path that exists keeps the backend's build script from re-running.
    let no_bundle = target_dir.join("no-bundle");
    std::fs::create_dir_all(&no_bundle)?;
    let started = Instant::now();
    println!("xtask: building the fuzz targets with {NIGHTLY} into {}", target_dir.display());
    run(cargo_fuzz(root, &no_bundle).arg("build").args(BUILD_FLAGS).arg("--target-dir").arg(&target_dir))?;
    println!("xtask: built in {} s", started.elapsed().as_secs());

    let share = seconds / TARGETS.len() as u64;
    let mut all = Vec::new();
    for target in TARGETS {
        let figures = run_target(root, &target_dir, &no_bundle, target, share)?;
        println!(
            "xtask: fuzz {:<9} clean: {} executions in {} s, {} distinct corpus entries ({} files)",
            figures.target, figures.executions, figures.seconds, figures.corpus, figures.corpus_files
        );
        all.push(figures);
    }
    let executions: u64 = all.iter().map(|figures| figures.executions).sum();
    println!("xtask: fuzzing ran clean: {executions} executions over {} targets", all.len());
    Ok(all)
}

/// No sanitizer: every crate of ours forbids unsafe code, so what the fuzzers
/// can find is panics, failed assertions and overflow (debug assertions are on,
/// `-a`), and AddressSanitizer would halve the executions for nothing.
const BUILD_FLAGS: [&str; 3] = ["--sanitizer=none", "--debug-assertions", "--release"];

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("fuzz"),
        None => root.join("fuzz").join("target"),
    }
}

/// `cargo +NIGHTLY fuzz` in `fuzz/`, without what the outer stable cargo put in
/// the environment (the target folder is given as `--target-dir`).
fn cargo_fuzz(root: &Path, no_bundle: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{NIGHTLY}"))
        .arg("fuzz")
        .current_dir(root.join("fuzz"))
        .env("ECHO_EMBED_DIST", no_bundle)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    command
}

fn run_target(root: &Path, target_dir: &Path, no_bundle: &Path, target: &'static str, seconds: u64) -> Result<Figures> {
    let fuzz = root.join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    let regressions = fuzz.join("regressions").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    for folder in [&corpus, &regressions, &artifacts] {
        std::fs::create_dir_all(folder)?;
    }
    let before = files(&artifacts)?;
    let log = target_dir.join(format!("{target}.log"));
    println!("xtask: fuzzing {target} for {seconds} s (libFuzzer's output: {})", log.display());
    let mut command = cargo_fuzz(root, no_bundle);
    command.arg("run").args(BUILD_FLAGS).arg("--target-dir").arg(target_dir);
    command.arg(target).arg(&corpus).arg(&regressions).arg("--");
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        // One input taking seconds is a finding too (a hang or a blow-up).
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1");
    let dictionary = fuzz.join("dictionaries").join(format!("{target}.dict"));
    if dictionary.is_file() {
        command.arg(format!("-dict={}", dictionary.display()));
    }
    let output = command.stdout(Stdio::piped()).stderr(Stdio::piped()).output()?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    std::fs::write(&log, &text)?;

    let found: Vec<PathBuf> = files(&artifacts)?.difference(&before).cloned().collect();
    if !output.status.success() || !found.is_empty() {
        let mut saved = Vec::new();
        for input in &found {
            let name = input.file_name().ok_or("an artifact without a name")?;
            let kept = regressions.join(name);
            std::fs::copy(input, &kept)?;
            saved.push(kept.display().to_string());
        }
        let tail: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        println!("{}", tail.join("\n"));
        return Err(format!(
            "fuzz target {target} failed ({}); its input is saved as {}: commit it (the stable tests replay it)",
            output.status,
            if saved.is_empty() { "nothing (see the log)".to_owned() } else { saved.join(", ") }
        )
        .into());
    }
    let executions = text
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|count| count.trim().parse().ok())
        .ok_or_else(|| format!("no execution count in {}", log.display()))?;
    Ok(Figures { target, seconds, executions, corpus: final_corpus(&text)?, corpus_files: files(&corpus)?.len() })
}

/// The corpus size on libFuzzer's last status line (`#N DONE cov: … corp: 516/87Kb …`).
fn final_corpus(log: &str) -> Result<u64> {
    let line = log.lines().rev().find(|line| line.contains(" corp: ")).ok_or("no corpus size in libFuzzer's output")?;
    let after = line.split(" corp: ").nth(1).unwrap_or_default();
    let count = after.split('/').next().unwrap_or_default();
    Ok(count.parse().map_err(|_| format!("cannot read the corpus size in {line:?}"))?)
}

/// The files in a folder.
fn files(folder: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_file() {
            found.insert(path);
        }
    }
    Ok(found)
}

/// The facade exists only for tests and fuzzing: a build of the backend that
/// is not a test (what `cargo build --release` makes) must not enable it.
fn check_release_has_no_facade(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--package", "backend", "--edges", "normal,build,features", "--prefix", "none"])
        .current_dir(root)
        .output()?;
    if !output.status.success() {
        return Err(format!("cargo tree failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    if tree.lines().any(|line| line.contains("backend feature \"fuzzing\"")) {
        return Err("a non-test build of the backend enables the fuzzing feature".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_corpus_size_from_the_last_status_line() {
        let log = "#711\tINITED cov: 493 ft: 2060 corp: 481/63Kb exec/s: 0 rss: 53Mb\n\
                   #1721347\tDONE   cov: 494 ft: 2148 corp: 516/87Kb lim: 4096 exec/s: 11399 rss: 53Mb\n\
                   stat::number_of_executed_units: 1721347\n";
        assert_eq!(final_corpus(log).unwrap(), 516);
        assert!(final_corpus("no status").is_err());
    }

    #[test]
    fn reads_the_seconds() {
        let args = |list: &[&str]| list.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
        assert_eq!(seconds_from(&args(&[]), 60).unwrap(), 60);
        assert_eq!(seconds_from(&args(&["--seconds", "600"]), 60).unwrap(), 600);
        assert!(seconds_from(&args(&["--seconds", "2"]), 60).is_err());
        assert!(seconds_from(&args(&["--seconds"]), 60).is_err());
        assert!(seconds_from(&args(&["--minutes", "5"]), 60).is_err());
    }
}
