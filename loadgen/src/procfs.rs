//! CPU time of a process from /proc, to show in the suite's log whether a
//! server was saturated (near 100 % of its core) or held back by something
//! else: the generator, or other work on the machine.

use std::time::{Duration, Instant};

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU time of `pid` so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Reads utime + stime (fields 14 and 15) from a /proc/PID/stat line. The
/// command name in parentheses may contain spaces, so fields are counted from
/// the last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Measures one process's CPU use between `start` and `finish`.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    ticks: Option<u64>,
    began: Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> CpuMeter {
        CpuMeter { pid, ticks: cpu_ticks(pid), began: Instant::now() }
    }

    /// CPU use since `start`, in percent of one core; `None` if unreadable.
    pub fn percent(&self) -> Option<f64> {
        let spent = cpu_ticks(self.pid)?.checked_sub(self.ticks?)?;
        Some(percent_of_core(spent, self.began.elapsed()))
    }
}

/// `ticks` of CPU over `wall` of time, as percent of one core.
pub fn percent_of_core(ticks: u64, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    ticks as f64 / TICKS_PER_SECOND / wall.as_secs_f64() * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_fields_14_and_15() {
        let stat = "1234 (node server.js) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 5 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn percent_of_one_core() {
        assert_eq!(percent_of_core(100, Duration::from_secs(1)), 100.0);
        assert_eq!(percent_of_core(250, Duration::from_secs(5)), 50.0);
        assert_eq!(percent_of_core(5, Duration::ZERO), 0.0);
    }

    #[test]
    fn this_process_has_cpu_ticks() {
        assert!(cpu_ticks(std::process::id()).is_some());
    }
}
