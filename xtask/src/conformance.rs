//! The Autobahn|Testsuite run: installs the fuzzing client, points it at the
//! release backend, and compares every case's outcome with
//! `conformance/expected.json`.
//!
//! Two clients run Autobahn's cases: `wstest`, Autobahn's own (Python 2.7), and
//! `kosoku` (Python 3, from PyPI), a reimplementation of the same cases for
//! machines without Python 2.7. The test command runs both when it can.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::{run, start_backend, Result};

/// Every case: 1 to 10 (framing, pings, reserved bits, opcodes, fragmentation,
/// UTF-8, close handling, sizes) and 12 and 13 (permessage-deflate). There is no 11.
const CASES: [&str; 12] = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "8.*", "9.*", "10.*", "12.*", "13.*"];

/// What a case's outcome is compared on.
const FIELDS: [&str; 3] = ["behavior", "behaviorClose", "remoteCloseCode"];

/// The kosoku release installed from PyPI.
const KOSOKU: &str = "kosoku==0.1.0";

/// Cases kosoku cannot run against a server with backpressure: it writes a whole
/// 8 or 16 MiB frame before it reads anything, while the server echoes each
/// piece as it arrives and stops reading while its echo cannot be written (so a
/// client that does not read stalls only itself). Both sides then wait on each
/// other. `wstest` reads while it writes and passes these cases.
const KOSOKU_SKIPS: [&str; 4] = ["9.1.5", "9.1.6", "9.2.5", "9.2.6"];

/// Which client runs the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Autobahn's `wstest`: needs Python 2.7.
    Wstest,
    /// `kosoku`: Python 3.
    Kosoku,
}

impl Client {
    /// `wstest` where Python 2.7 exists (or is installed already), else `kosoku`.
    pub fn available(root: &Path) -> Client {
        if wstest_path(root).exists() || find_python27().is_some() {
            Client::Wstest
        } else {
            Client::Kosoku
        }
    }
}

/// The outcome of the run: how many cases matched the expected results.
pub struct Outcome {
    pub matched: u64,
    pub differed: u64,
}

/// Which of the cases a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cases {
    /// All 517.
    All,
    /// 1 to 10 only, without permessage-deflate: enough to keep a second
    /// client known to work beside a full run of the first, at a fraction of
    /// the time (Autobahn's compression cases are slow to drive from Python).
    Core,
}

/// Runs the suite against `backend_bin` with `client`. With `update` (wstest
/// only), writes the results as the new expectation instead of comparing.
pub fn run_suite(root: &Path, backend_bin: &Path, client: Client, cases: Cases, update: bool) -> Result<Outcome> {
    if client == Client::Kosoku {
        if update {
            return Err("--update needs wstest (Python 2.7): the expectation is Autobahn's own client's".into());
        }
        return run_kosoku(root, backend_bin, cases);
    }
    let wstest = ensure_wstest(root)?;
    let work = root.join("target").join("autobahn");
    let _ = std::fs::remove_dir_all(work.join("reports"));
    std::fs::create_dir_all(&work)?;

    let extra = ["--max-message-bytes", "16777216"];
    let (mut backend, addr) = start_backend(backend_bin, &root.join("dist"), &extra)?;
    let spec = json!({
        "outdir": "./reports/servers",
        "servers": [{ "agent": "backend", "url": format!("ws://{addr}/ws") }],
        "cases": CASES,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    });
    std::fs::write(work.join("fuzzingclient.json"), serde_json::to_string_pretty(&spec)?)?;
    println!("xtask: Autobahn fuzzing client, all cases (1-10, 12, 13), against ws://{addr}/ws");
    let log = std::fs::File::create(work.join("wstest.log"))?;
    let ran = run(Command::new(&wstest)
        .args(["-m", "fuzzingclient", "-s", "fuzzingclient.json"])
        .current_dir(&work)
        .stdout(log.try_clone()?)
        .stderr(log));
    let _ = backend.kill();
    let _ = backend.wait();
    ran.map_err(|err| format!("{err}; see {}", work.join("wstest.log").display()))?;

    let actual = read_results(&work.join("reports").join("servers").join("index.json"))?;
    let expected_path = root.join("conformance").join("expected.json");
    if update {
        std::fs::write(&expected_path, serde_json::to_string_pretty(&actual)? + "\n")?;
        println!("xtask: wrote {} cases to {}", actual.len(), expected_path.display());
    }
    compare(&expected(root)?, &actual, "target/autobahn/reports/servers/index.html")
}

/// The same cases through kosoku, less [`KOSOKU_SKIPS`].
fn run_kosoku(root: &Path, backend_bin: &Path, cases: Cases) -> Result<Outcome> {
    let kosoku = ensure_kosoku(root)?;
    let work = root.join("target").join("kosoku");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let (mut backend, addr) = start_backend(backend_bin, &root.join("dist"), &["--max-message-bytes", "16777216"])?;
    println!(
        "xtask: kosoku (Autobahn's cases on Python 3) against ws://{addr}/ws, skipping {} (see KOSOKU_SKIPS)",
        KOSOKU_SKIPS.join(", ")
    );
    let mut command = Command::new(&kosoku);
    command.args(["-m", "fuzzingclient", "-o"]).arg(work.join("reports"));
    for case in KOSOKU_SKIPS {
        command.args(["-x", case]);
    }
    if cases == Cases::Core {
        command.args(["-x", "12.*", "-x", "13.*"]);
    }
    let log = std::fs::File::create(work.join("kosoku.log"))?;
    // kosoku exits non-zero when a case fails; the comparison below says which.
    let _ = command.arg(format!("ws://{addr}/ws")).stdout(log.try_clone()?).stderr(log).status();
    let _ = backend.kill();
    let _ = backend.wait();
    let actual = read_results(&work.join("reports").join("index.json"))
        .map_err(|err| format!("{err}; see {}", work.join("kosoku.log").display()))?;
    let skipped: Vec<String> = KOSOKU_SKIPS.iter().map(|case| sortable(case)).collect();
    let mut expected = expected(root)?;
    expected.retain(|case, _| !skipped.contains(case));
    if cases == Cases::Core {
        // Case names are kept sortable: "12.1.1" is "012.001.001".
        let compression = [format!("{}.", sortable("12")), format!("{}.", sortable("13"))];
        expected.retain(|case, _| !compression.iter().any(|prefix| case.starts_with(prefix.as_str())));
    }
    compare(&expected, &actual, "target/kosoku/reports/index.html")
}

/// `conformance/expected.json`.
fn expected(root: &Path) -> Result<BTreeMap<String, Value>> {
    let path = root.join("conformance").join("expected.json");
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// The report's cases, reduced to the compared fields and sorted by case number.
/// A report holds one agent: the server under test.
fn read_results(index: &Path) -> Result<BTreeMap<String, Value>> {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(index)?)?;
    let cases = report
        .as_object()
        .filter(|agents| agents.len() == 1)
        .and_then(|agents| agents.values().next())
        .and_then(Value::as_object)
        .ok_or("the report does not hold the results of exactly one server")?;
    Ok(cases
        .iter()
        .map(|(case, result)| {
            let fields: serde_json::Map<String, Value> = FIELDS
                .iter()
                .map(|field| (field.to_string(), result.get(*field).cloned().unwrap_or(Value::Null)))
                .collect();
            (sortable(case), Value::Object(fields))
        })
        .collect())
}

/// `9.1.2` becomes `009.001.002`, so that the map sorts the way people read.
fn sortable(case: &str) -> String {
    case.split('.').map(|part| format!("{part:0>3}")).collect::<Vec<_>>().join(".")
}

fn is_pass(result: &Value) -> bool {
    let behavior = result["behavior"].as_str().unwrap_or_default();
    let close = result["behaviorClose"].as_str().unwrap_or_default();
    ["OK", "NON-STRICT", "INFORMATIONAL"].contains(&behavior) && ["OK", "INFORMATIONAL"].contains(&close)
}

fn compare(expected: &BTreeMap<String, Value>, actual: &BTreeMap<String, Value>, report: &str) -> Result<Outcome> {
    let mut outcome = Outcome { matched: 0, differed: 0 };
    let cases: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    for case in cases {
        let (want, got) = (expected.get(case), actual.get(case));
        if want == got && got.is_some_and(is_pass) {
            outcome.matched += 1;
        } else {
            outcome.differed += 1;
            println!("xtask: Autobahn case {case}: expected {want:?}, got {got:?}");
        }
    }
    println!("xtask: Autobahn: {} cases as expected, {} differ", outcome.matched, outcome.differed);
    if outcome.differed > 0 {
        return Err(format!(
            "{} Autobahn cases differ from conformance/expected.json (report: {report})",
            outcome.differed
        )
        .into());
    }
    Ok(outcome)
}

/// Installs Autobahn's `wstest` into `.tools/autobahn` (Python 2.7, pinned
/// packages from PyPI) unless it is there already.
fn ensure_wstest(root: &Path) -> Result<PathBuf> {
    let dest = root.join(".tools").join("autobahn");
    let wstest = wstest_path(root);
    if wstest.exists() {
        return Ok(wstest);
    }
    let python27 = find_python27().ok_or(
        "Autobahn|Testsuite needs Python 2.7 (pyenv's versions/2.7.18/bin/python2.7 or python2.7 on PATH), \
         which this machine lacks; `cargo xtask conformance --client kosoku` runs the cases on Python 3",
    )?;
    println!("xtask: installing Autobahn|Testsuite into {}", dest.display());
    std::fs::create_dir_all(&dest)?;
    let pip_env = |command: &mut Command| {
        command
            .env("PIP_CACHE_DIR", dest.join(".pipcache"))
            .env("VIRTUALENV_OVERRIDE_APP_DATA", dest.join(".venvdata"));
    };
    let mut install_virtualenv = Command::new("python3");
    install_virtualenv
        .args(["-m", "pip", "install", "-q", "--target"])
        .arg(dest.join("vtool"))
        .arg("virtualenv==20.21.1");
    pip_env(&mut install_virtualenv);
    run(&mut install_virtualenv)?;
    let mut make_venv = Command::new("python3");
    make_venv
        .args(["-m", "virtualenv", "-q", "-p"])
        .arg(&python27)
        .arg(dest.join("venv"))
        .env("PYTHONPATH", dest.join("vtool"));
    pip_env(&mut make_venv);
    run(&mut make_venv)?;
    let pip = dest.join("venv").join("bin").join("pip");
    let steps: [&[&str]; 3] = [
        &["install", "-q", "incremental==16.10.1"],
        &[
            "install",
            "-q",
            "--no-build-isolation",
            "setuptools==44.0.0",
            "txaio==2.1.0",
            "pyOpenSSL==19.1.0",
            "cryptography==3.3.2",
            "Twisted==19.10.0",
            "zope.interface==4.6.0",
            "jinja2==2.11.3",
            "markupsafe==1.1.1",
            "Werkzeug==1.0.1",
            "klein==17.10.0",
            "service_identity==18.1.0",
            "unittest2==1.1.0",
            "six==1.16.0",
            "autobahn[twisted,accelerate]==0.10.9",
        ],
        &["install", "-q", "--no-deps", "autobahntestsuite==25.10.1"],
    ];
    for args in steps {
        let mut step = Command::new(&pip);
        step.args(args);
        pip_env(&mut step);
        run(&mut step)?;
    }
    Ok(wstest)
}

fn wstest_path(root: &Path) -> PathBuf {
    root.join(".tools").join("autobahn").join("venv").join("bin").join("wstest")
}

/// Installs kosoku into `.tools/kosoku` (a Python 3 virtual environment, the
/// pinned release from PyPI) unless it is there already.
fn ensure_kosoku(root: &Path) -> Result<PathBuf> {
    let dest = root.join(".tools").join("kosoku");
    let kosoku = dest.join("bin").join("kosoku");
    if kosoku.exists() {
        return Ok(kosoku);
    }
    println!("xtask: installing {KOSOKU} into {}", dest.display());
    run(Command::new("python3").args(["-m", "venv"]).arg(&dest))?;
    run(Command::new(dest.join("bin").join("pip"))
        .args(["install", "-q", KOSOKU])
        .env("PIP_CACHE_DIR", dest.join(".pipcache")))?;
    Ok(kosoku)
}

fn find_python27() -> Option<PathBuf> {
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))?;
    let candidate = pyenv_root.join("versions").join("2.7.18").join("bin").join("python2.7");
    if candidate.exists() {
        return Some(candidate);
    }
    let on_path = Command::new("python2.7").arg("--version").output().ok()?;
    on_path.status.success().then(|| PathBuf::from("python2.7"))
}
