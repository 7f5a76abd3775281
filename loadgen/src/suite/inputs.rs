//! What the suite measures and must be given: the backend binary, the Node.js
//! peers and the web app's bundle. The suite builds and installs none of them
//! (that is `cargo xtask bench`); it checks they are there and, when one is
//! missing, says which command makes it.

use std::path::{Path, PathBuf};

use super::args::{NodePeer, Scenario, SuiteArgs};

/// The paths the suite runs and serves.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The release backend binary.
    pub backend: PathBuf,
    /// bench/node, with its packages installed.
    pub node_dir: PathBuf,
    /// The release bundle; `None` when no scenario needs it.
    pub dist: Option<PathBuf>,
}

/// What prepares everything at once.
const PREPARE_ALL: &str = "`cargo xtask bench` builds and installs everything the suite needs and then runs it";

/// Resolves the paths (flags, else the defaults) and checks that everything
/// the chosen scenarios need exists, naming every missing piece at once.
pub fn resolve(args: &SuiteArgs) -> Result<Inputs, String> {
    let root = workspace_root();
    let backend = match &args.backend {
        Some(path) => path.clone(),
        None => default_backend()?,
    };
    let node_dir = args.node_dir.clone().unwrap_or_else(|| root.join("bench").join("node"));
    let needs_dist = args.wants(Scenario::Page);
    let dist = needs_dist.then(|| args.dist.clone().unwrap_or_else(|| root.join("dist")));

    let mut missing = Vec::new();
    if !backend.is_file() {
        missing.push(format!(
            "no backend binary at {} (`cargo build --release -p backend` builds it; pass another with --backend)",
            backend.display()
        ));
    }
    let mut packages = vec!["websocket"];
    let needs_ws =
        args.peers.contains(&NodePeer::Ws) || args.wants(Scenario::Compressed) || args.wants(Scenario::CompressedIdle);
    if needs_ws {
        packages.push("ws");
    }
    if !node_dir.join("server.js").is_file() {
        missing.push(format!("no Node.js peer at {} (pass the bench/node folder with --node-dir)", node_dir.display()));
    } else {
        let absent: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|package| !node_dir.join("node_modules").join(package).join("package.json").is_file())
            .collect();
        if !absent.is_empty() {
            missing.push(format!(
                "the Node.js peers' packages ({}) are not installed in {} (`npm ci` there installs them)",
                absent.join(", "),
                node_dir.display()
            ));
        }
    }
    if let Some(dist) = &dist {
        if !dist.join("index.html").is_file() {
            missing.push(format!(
                "no web app bundle at {} for the page scenario (`cargo xtask dist` builds it; leave the page out with --only)",
                dist.display()
            ));
        }
    }
    for tool in ["taskset", "prlimit", "node"] {
        if which(tool).is_none() {
            missing.push(format!("`{tool}` is not on PATH (taskset and prlimit are util-linux; node is Node.js)"));
        }
    }
    if missing.is_empty() {
        Ok(Inputs { backend, node_dir, dist })
    } else {
        Err(format!("the suite builds nothing, and it is missing:\n  - {}\n{PREPARE_ALL}", missing.join("\n  - ")))
    }
}

/// `backend` in the folder of this binary: where cargo puts both when they
/// are built with the same profile and target directory.
fn default_backend() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|err| format!("cannot find the loadgen binary: {err}"))?;
    Ok(exe.with_file_name("backend"))
}

/// The workspace root: the parent of this crate, as it was when built.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("loadgen lives in the workspace").to_path_buf()
}

/// The full path of `tool` on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(tool)).find(|path| path.is_file())
}

/// When `path` was last modified, in words (`12 min ago`), so a stale binary shows in the log.
pub fn age(path: &Path) -> String {
    let modified = std::fs::metadata(path).and_then(|meta| meta.modified());
    match modified.ok().and_then(|time| time.elapsed().ok()) {
        Some(elapsed) if elapsed.as_secs() < 120 => format!("built {} s ago", elapsed.as_secs()),
        Some(elapsed) if elapsed.as_secs() < 2 * 3600 => format!("built {} min ago", elapsed.as_secs() / 60),
        Some(elapsed) => format!("built {} h ago", elapsed.as_secs() / 3600),
        None => "build time unknown".into(),
    }
}
