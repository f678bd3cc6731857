//! What the benchmark ran on, for its report.

use serde::Serialize;

/// The machine of a benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// The CPU model (`/proc/cpuinfo`), or the architecture where unknown.
    pub cpu: String,
    /// Logical CPUs this process may use.
    pub cpus: usize,
    /// Physical memory in bytes (`/proc/meminfo`), when known.
    pub memory_bytes: Option<u64>,
    /// Operating system and kernel release.
    pub os: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Machine {
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes,
            os: format!("{} {}", std::env::consts::OS, kernel.trim()).trim().to_owned(),
        }
    }
}
