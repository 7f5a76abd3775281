//! What the machine is and how busy it was, printed beside every run: on a
//! shared two-core machine the figures mean little without it.

/// CPU model, core count and kernel.
pub fn summary() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

/// The load averages over 1, 5 and 15 minutes and the CPU pressure (the share
/// of the last 10 s in which some task waited for a CPU), as `uptime` and
/// `/proc/pressure/cpu` give them.
pub fn load() -> String {
    let averages = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    let pressure = std::fs::read_to_string("/proc/pressure/cpu").ok().and_then(|text| cpu_pressure_avg10(&text));
    match pressure {
        Some(percent) => format!("load average {averages}, CPU pressure {percent:.0} % (some, 10 s)"),
        None => format!("load average {averages}"),
    }
}

/// `avg10` of the `some` line of /proc/pressure/cpu.
fn cpu_pressure_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|line| line.starts_with("some "))?;
    line.split_whitespace().find_map(|field| field.strip_prefix("avg10="))?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_is_read_from_the_some_line() {
        let text =
            "some avg10=96.17 avg60=95.16 avg300=85.09 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(cpu_pressure_avg10(text), Some(96.17));
        assert_eq!(cpu_pressure_avg10("full avg10=1.00\n"), None);
    }
}
