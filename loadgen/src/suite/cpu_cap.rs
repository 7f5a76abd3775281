//! The overload scenario's CPU cap: the server gets less CPU than the load
//! needs while the generator keeps its whole core, which is how fairness under
//! overload can be measured on two cores.
//!
//! The cap is a cgroup v1 `cpu` quota (`cpu.cfs_quota_us` over
//! `cpu.cfs_period_us`) when one can be made: that takes root and the
//! controller mounted at /sys/fs/cgroup/cpu. The server joins the group before
//! it starts (a shell writes its own pid into `cgroup.procs` and then execs
//! the server), so every thread it ever creates is inside. Otherwise CPU hogs
//! pinned to the server's core share it with the server: with n hogs the
//! scheduler gives the server about 1/(n+1) of the core, a coarser cap that
//! also depends on how many threads the server runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// How the cap is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CapMethod {
    /// A cgroup quota when one can be made, else hogs (and the suite says so).
    Auto,
    /// A cgroup quota, or fail.
    Cgroup,
    /// CPU hogs on the server's core.
    Hog,
}

/// Where the cgroup v1 `cpu` controller is mounted.
const CGROUP_CPU: &str = "/sys/fs/cgroup/cpu";
/// The quota's period, in microseconds: a tenth of the kernel's default.
/// With the default 100 ms a 25 % quota runs the server for 25 ms and then
/// stops it for 75 ms, so every message that arrives in the pause waits for
/// it and p99 / p50 measures the throttle's rhythm rather than how fairly
/// the server shares the CPU it gets. A 10 ms period keeps the same share
/// with pauses of 7.5 ms, closer to a slower CPU.
const PERIOD_US: u64 = 10_000;
/// The kernel refuses a quota below 1 ms, so small shares get a longer period.
const MIN_QUOTA_US: u64 = 1_000;

/// The period and quota for `percent` of one core, in microseconds.
fn period_and_quota(percent: u32) -> (u64, u64) {
    let percent = u64::from(percent.max(1));
    let period = PERIOD_US.max((MIN_QUOTA_US * 100).div_ceil(percent));
    (period, period * percent / 100)
}

/// A CPU cap, ready to wrap server commands; a cgroup is removed when this is dropped.
#[derive(Debug)]
pub enum CpuCap {
    /// A cgroup with a quota of `percent` of one core.
    Cgroup {
        /// The group's folder.
        dir: PathBuf,
        /// The quota, in percent of one core.
        percent: u32,
    },
    /// `count` hogs pinned to `core` for as long as each measurement runs.
    Hogs {
        /// Hogs beside the server.
        count: u32,
        /// The server's core.
        core: u32,
        /// The share the server is expected to get, in percent.
        percent: u32,
    },
}

impl CpuCap {
    /// Makes the cap for a server on `core` at `percent` of it. Returns the
    /// cap and, when `Auto` fell back to hogs, why.
    pub fn new(method: CapMethod, percent: u32, core: u32) -> Result<(CpuCap, Option<String>), String> {
        let hogs = || {
            // n hogs leave the server 1/(n+1) of the core.
            let count = (100.0 / f64::from(percent) - 1.0).round().max(1.0) as u32;
            CpuCap::Hogs { count, core, percent: 100 / (count + 1) }
        };
        match method {
            CapMethod::Hog => Ok((hogs(), None)),
            CapMethod::Cgroup => Ok((CpuCap::cgroup(percent)?, None)),
            CapMethod::Auto => match CpuCap::cgroup(percent) {
                Ok(cap) => Ok((cap, None)),
                Err(why) => Ok((hogs(), Some(why))),
            },
        }
    }

    /// A fresh cgroup named after this process, with the quota set.
    fn cgroup(percent: u32) -> Result<CpuCap, String> {
        let uid = effective_uid();
        if uid != Some(0) {
            return Err(format!(
                "a cgroup CPU quota needs root, and this is uid {} (run as root, or cap with --overload-cap hog)",
                uid.map_or("unknown".into(), |uid| uid.to_string())
            ));
        }
        let root = Path::new(CGROUP_CPU);
        if !root.join("cpu.cfs_quota_us").is_file() {
            return Err(format!(
                "no cgroup v1 cpu controller at {CGROUP_CPU} (cpu.cfs_quota_us is missing; cap with --overload-cap hog)"
            ));
        }
        // One suite may hold a cap per scenario, one after the other.
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = root.join(format!("loadgen-{}-{serial}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot make the cgroup {}: {err}", dir.display()))?;
        let cap = CpuCap::Cgroup { dir: dir.clone(), percent };
        let write = |file: &str, value: u64| {
            std::fs::write(dir.join(file), value.to_string())
                .map_err(|err| format!("cannot write {}: {err}", dir.join(file).display()))
        };
        let (period, quota) = period_and_quota(percent);
        write("cpu.cfs_period_us", period)?;
        write("cpu.cfs_quota_us", quota)?;
        Ok(cap)
    }

    /// One line for the log and the table.
    pub fn describe(&self) -> String {
        match self {
            CpuCap::Cgroup { dir, percent } => {
                let (period, quota) = period_and_quota(*percent);
                format!(
                    "{percent} % of one core (cgroup v1 cpu quota: {quota} us every {period} us, {})",
                    dir.display()
                )
            }
            CpuCap::Hogs { count, core, percent } => {
                format!("about {percent} % of one core ({count} CPU hogs sharing core {core}; no cgroup)")
            }
        }
    }

    /// The short form for table rows.
    pub fn short(&self) -> String {
        match self {
            CpuCap::Cgroup { percent, .. } => format!("{percent} % CPU quota"),
            CpuCap::Hogs { percent, .. } => format!("~{percent} % CPU (hogs)"),
        }
    }

    /// `command`, changed so that the process it starts is inside the cap.
    pub fn wrap(&self, command: Command) -> Command {
        match self {
            CpuCap::Cgroup { dir, .. } => {
                // The shell joins the group, then becomes the server: every
                // thread the server creates is born inside the group.
                let mut wrapped = Command::new("sh");
                wrapped
                    .args(["-c", r#"echo $$ > "$0" && exec "$@""#])
                    .arg(dir.join("cgroup.procs"))
                    .arg(command.get_program())
                    .args(command.get_args());
                wrapped
            }
            CpuCap::Hogs { .. } => command,
        }
    }

    /// Starts what must run beside a capped server (the hogs), stopped when
    /// the returned guard is dropped.
    pub fn engage(&self) -> Result<Engaged, String> {
        let CpuCap::Hogs { count, core, .. } = self else {
            return Ok(Engaged { hogs: Vec::new() });
        };
        let exe = std::env::current_exe().map_err(|err| format!("cannot find the loadgen binary: {err}"))?;
        let mut engaged = Engaged { hogs: Vec::new() };
        for _ in 0..*count {
            let hog = Command::new("taskset")
                .args(["-c", &core.to_string()])
                .arg(&exe)
                .args(["hog", "--duration", "10m"])
                .stdout(Stdio::null())
                .spawn()
                .map_err(|err| format!("cannot start a CPU hog: {err}"))?;
            engaged.hogs.push(hog);
        }
        Ok(engaged)
    }

    /// The throttling the cgroup saw so far (`nr_throttled` of `nr_periods`), for the log.
    pub fn throttled(&self) -> Option<String> {
        let CpuCap::Cgroup { dir, .. } = self else {
            return None;
        };
        let stat = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
        let field = |name: &str| {
            stat.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok()).unwrap_or_default()
        };
        Some(format!("throttled in {} of {} periods", field("nr_throttled "), field("nr_periods ")))
    }
}

impl Drop for CpuCap {
    fn drop(&mut self) {
        if let CpuCap::Cgroup { dir, .. } = self {
            // The servers have been killed and waited for, so the group is empty.
            if let Err(err) = std::fs::remove_dir(&*dir).or_else(|err| if dir.exists() { Err(err) } else { Ok(()) }) {
                eprintln!("suite: could not remove the cgroup {}: {err}", dir.display());
            }
        }
    }
}

/// The hogs of one measurement, killed when dropped.
pub struct Engaged {
    hogs: Vec<Child>,
}

impl Drop for Engaged {
    fn drop(&mut self) {
        for hog in &mut self.hogs {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

/// This process's effective user id, from /proc (no libc call needed).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_effective_uid(&status)
}

/// The second field of the `Uid:` line (real, effective, saved, filesystem).
fn parse_effective_uid(status: &str) -> Option<u32> {
    status.lines().find_map(|line| line.strip_prefix("Uid:"))?.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_keeps_the_share_with_short_pauses() {
        assert_eq!(period_and_quota(25), (10_000, 2_500));
        assert_eq!(period_and_quota(100), (10_000, 10_000));
        // 5 % of 10 ms would be below the kernel's 1 ms minimum.
        assert_eq!(period_and_quota(5), (20_000, 1_000));
        assert_eq!(period_and_quota(0), (100_000, 1_000));
    }

    #[test]
    fn effective_uid_is_the_second_field() {
        assert_eq!(parse_effective_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
        assert!(effective_uid().is_some());
    }

    #[test]
    fn hogs_leave_the_server_its_share() {
        let (cap, _) = CpuCap::new(CapMethod::Hog, 25, 1).unwrap();
        assert!(matches!(cap, CpuCap::Hogs { count: 3, core: 1, percent: 25 }), "{cap:?}");
        let (cap, _) = CpuCap::new(CapMethod::Hog, 50, 1).unwrap();
        assert!(matches!(cap, CpuCap::Hogs { count: 1, percent: 50, .. }), "{cap:?}");
    }

    #[test]
    fn the_cgroup_wrapper_execs_the_command() {
        let cap = CpuCap::Cgroup { dir: PathBuf::from("/nonexistent/g"), percent: 25 };
        let mut command = Command::new("taskset");
        command.args(["-c", "1", "server", "--port", "0"]);
        let wrapped = cap.wrap(command);
        let args: Vec<_> = wrapped.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
        assert_eq!(wrapped.get_program(), "sh");
        assert_eq!(args[2], "/nonexistent/g/cgroup.procs");
        assert_eq!(args[3..], ["taskset", "-c", "1", "server", "--port", "0"]);
    }
}
