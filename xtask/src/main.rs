//! The project's one-word tasks: `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`). Each task installs the pinned tools it needs first,
//! skipping those already present, so it works on a fresh machine.

#![forbid(unsafe_code)]

mod bench;
mod bundle;
mod conformance;
mod fuzz;
mod tools;

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use tools::Need;

/// Errors end the task with their message.
pub type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  serve [BACKEND ARGS]  build the web app and start it on http://127.0.0.1:3000
                        (arguments go to the backend: cargo xtask serve -- --help)
  test                  run every check and test: format, clippy, native tests, a short
                        fuzzing run, browser tests (wasm-bindgen-test) and end-to-end tests
                        in Chromium
  fuzz [--seconds N]    fuzz the WebSocket engine with cargo-fuzz for N seconds in all
                        (default 60), shared by the targets in fuzz/; a failing input is
                        saved in fuzz/regressions/<target>/ to be committed
  conformance [--update] [--client wstest|kosoku]
                        run the Autobahn|Testsuite (all 517 cases) against the release backend
                        and compare with conformance/expected.json (--update rewrites it);
                        the client is wstest (Python 2.7) when it can be, else kosoku (Python 3)
  bench [--no-dist] [SUITE ARGS]
                        build the bundle, the release backend and loadgen, install the
                        Node.js peers, then run the benchmark suite against them
                        (suite flags: cargo xtask bench --help; BENCHMARKS.md)
  dist                  build the release bundle into dist/
  setup                 install the pinned tools (wasm target, trunk, wasm-bindgen-cli,
                        wasm-opt, terser, Chromium and chromedriver, the fuzzing nightly
                        and cargo-fuzz) that are missing";

/// Fuzzing time in `cargo xtask test`: a bounded run, long enough for each
/// target to pass its regressions and explore a little.
const TEST_FUZZ_SECONDS: u64 = 40;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let task = args.next().map(|task| task.to_string_lossy().into_owned());
    let rest: Vec<OsString> = args.collect();
    let result = match task.as_deref() {
        Some("serve") => serve(&rest),
        Some("test") => test(),
        Some("dist") => dist().map(drop),
        Some("conformance") => conformance(&rest),
        Some("bench") => bench::bench(&rest),
        Some("fuzz") => fuzz_task(&rest),
        Some("setup") => tools::ensure(&root(), Need::Tests).and_then(|_| fuzz::ensure_tools()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n{USAGE}").into()),
        None => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// The cargo that runs this task, so nested builds use the same toolchain.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a command to completion, failing unless it succeeds.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().map_err(|err| format!("cannot run {:?}: {err}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed ({status})", command.get_program()).into())
    }
}

/// PATH with the pinned tools first: npm's wasm-opt and cargo's installed binaries.
fn tool_path(npm_bin: &Path) -> Result<OsString> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .unwrap_or_default();
    let mut paths = vec![npm_bin.to_path_buf(), cargo_home.join("bin")];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    Ok(std::env::join_paths(paths)?)
}

/// Builds the release bundle into `dist/` and returns the PATH it was built with.
fn dist() -> Result<OsString> {
    let npm_bin = tools::ensure(&root(), Need::Bundle)?;
    let path = tool_path(&npm_bin)?;
    build_bundle(&path)?;
    Ok(path)
}

/// `trunk build --release`, then what trunk cannot do itself (`bundle.rs`).
fn build_bundle(path: &OsStr) -> Result<()> {
    println!("xtask: building the release bundle into dist/");
    run(Command::new("trunk").args(["build", "--release"]).current_dir(root()).env("PATH", path))?;
    bundle::shrink(&root().join("dist"), path)?;
    bundle::inline_first_stage(&root().join("dist"))
}

fn serve(backend_args: &[OsString]) -> Result<()> {
    dist()?;
    let backend_args = backend_args.strip_prefix(&[OsString::from("--")][..]).unwrap_or(backend_args);
    run(cargo().args(["run", "--release", "--package", "backend", "--"]).args(backend_args))
}

fn conformance(args: &[OsString]) -> Result<()> {
    let mut update = false;
    let mut client = conformance::Client::available(&root());
    let mut args = args.iter().map(|arg| arg.to_string_lossy());
    while let Some(arg) = args.next() {
        match (arg.as_ref(), args.next().as_deref()) {
            ("--update", next) => {
                update = true;
                if next.is_some() {
                    return Err("--update takes no value; put --client first".into());
                }
            }
            ("--client", Some("wstest")) => client = conformance::Client::Wstest,
            ("--client", Some("kosoku")) => client = conformance::Client::Kosoku,
            ("--client", _) => return Err("--client takes wstest or kosoku".into()),
            (other, _) => return Err(format!("unknown argument `{other}` for conformance\n{USAGE}").into()),
        }
    }
    run(cargo().args(["build", "--release", "--package", "backend"]))?;
    let backend_bin = root().join("target").join("release").join("backend");
    conformance::run_suite(&root(), &backend_bin, client, conformance::Cases::All, update).map(drop)
}

fn fuzz_task(args: &[OsString]) -> Result<()> {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let seconds = fuzz::seconds_from(&args, 60)?;
    fuzz::run_all(&root(), seconds).map(drop)
}

fn test() -> Result<()> {
    let npm_bin = tools::ensure(&root(), Need::Tests)?;
    let path = tool_path(&npm_bin)?;
    let step = |name: &str| println!("\nxtask: ── {name} ──");

    step("format");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    let mut tally = Tally::default();
    step("native tests");
    tally.run(cargo().args(["test", "--workspace", "--exclude", "e2e"]))?;
    step("clippy");
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo()
        .args([
            "clippy",
            "--package",
            "frontend",
            "--package",
            "boot",
            "--all-targets",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(["--", "-D", "warnings"]))?;

    step("fuzzing the WebSocket engine (a short bounded run; cargo xtask fuzz runs longer)");
    fuzz::run_all(&root(), TEST_FUZZ_SECONDS)?;

    step("release bundle and backend");
    build_bundle(&path)?;
    run(cargo().args(["build", "--release", "--package", "backend"]))?;
    let backend_bin = root().join("target").join("release").join("backend");
    let dist = root().join("dist");

    step("browser tests of the frontend (wasm-bindgen-test in headless Chromium)");
    let (mut backend, addr) = start_backend(&backend_bin, &dist, &[])?;
    let browser_tests = tally.run(
        cargo()
            .args(["test", "--package", "frontend", "--target", "wasm32-unknown-unknown"])
            .args(["--test", "connection", "--test", "components"])
            .env("PATH", &path)
            .env("ECHO_TEST_WS_URL", format!("ws://{addr}/ws"))
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root().join("frontend").join("webdriver.json")),
    );
    let _ = backend.kill();
    let _ = backend.wait();
    browser_tests?;

    step("end-to-end tests (backend binary + release bundle in headless Chromium)");
    tally.run(
        cargo()
            .args(["test", "--package", "e2e"])
            .env("E2E_BACKEND_BIN", &backend_bin)
            .env("E2E_DIST", &dist)
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )?;

    // All 517 cases through wstest where Python 2.7 exists, and the core
    // cases through kosoku beside it so that the Python 3 fallback stays known
    // to work; all of them through kosoku elsewhere.
    use conformance::{Cases, Client};
    let runs = match Client::available(&root()) {
        Client::Wstest => [(Client::Wstest, Cases::All), (Client::Kosoku, Cases::Core)].as_slice(),
        Client::Kosoku => [(Client::Kosoku, Cases::All)].as_slice(),
    };
    for &(client, cases) in runs {
        let which = match cases {
            Cases::All => "all 517 cases",
            Cases::Core => "cases 1-10",
        };
        step(&format!("WebSocket conformance (Autobahn's {which}, {client:?} client)"));
        let outcome = conformance::run_suite(&root(), &backend_bin, client, cases, false)?;
        tally.passed += outcome.matched;
        tally.failed += outcome.differed;
    }

    println!("\nxtask: every check and test passed");
    println!("xtask: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Counts the tests that the cargo test runs report, for one closing line.
#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs a `cargo test`, echoing its output and adding up its `test result:` lines.
    fn run(&mut self, command: &mut Command) -> Result<()> {
        let mut child = command.stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout from cargo test")?;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            let (passed, failed) = parse_test_result(&line);
            self.passed += passed;
            self.failed += failed;
        }
        let status = child.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{:?} failed ({status})", command.get_program()).into())
        }
    }
}

/// Reads `test result: ok. 7 passed; 0 failed; …` into (7, 0).
fn parse_test_result(line: &str) -> (u64, u64) {
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return (0, 0);
    };
    let count = |label: &str| {
        rest.split(['.', ';'])
            .filter_map(|part| part.trim().strip_suffix(label))
            .find_map(|number| number.trim().parse().ok())
            .unwrap_or(0)
    };
    (count(" passed"), count(" failed"))
}

/// Starts the release backend on a free loopback port and returns it with its address.
pub fn start_backend(binary: &Path, dist: &Path, extra_args: &[&str]) -> Result<(Child, String)> {
    let mut child = Command::new(binary)
        .args(["--addr", "127.0.0.1:0", "--dist"])
        .arg(dist)
        .args(extra_args)
        .env("RUST_LOG", "warn,backend::server=info")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout from the backend")?;
    let mut lines = BufReader::new(stdout).lines();
    let marker = "listening on http://";
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(at) = line.find(marker) {
                    let rest = &line[at + marker.len()..];
                    break rest.split_whitespace().next().unwrap_or_default().to_owned();
                }
            }
            _ => {
                let _ = child.kill();
                return Err("the backend exited before it was listening".into());
            }
        }
    };
    // Drain the log so the backend never blocks writing it.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, addr))
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn reads_cargo_test_summaries() {
        let line = "test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(parse_test_result(line), (7, 0));
        assert_eq!(parse_test_result("test result: FAILED. 4 passed; 1 failed; 0 ignored"), (4, 1));
        assert_eq!(parse_test_result("running 3 tests"), (0, 0));
    }
}
