//! `cold_start`: from starting a process to its first answered call, with
//! the compiled component already in its cache.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{Error, Result, RuntimeError};

/// Processes timed per run (the median is kept); one more runs first, untimed,
/// to fill the component cache.
const STARTS: usize = 5;

/// Milliseconds from spawning `program --db url sessions create …` (which
/// opens the store, sets up the tables and gets or creates a session through
/// the component) to its exit: the median of [`STARTS`] starts.
pub fn measure(program: &Path, url: &str) -> Result<f64> {
    let once = || -> Result<f64> {
        let start = Instant::now();
        let status = Command::new(program)
            .args(["--db", url, "sessions", "create", "--user", "bench", "--session", "cold"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| {
                Error::Runtime(RuntimeError::new(format!("bench: cannot start {}: {e}", program.display())))
            })?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if !status.success() {
            return Err(Error::Runtime(RuntimeError::new(format!(
                "bench: {} exited with {status}",
                program.display()
            ))));
        }
        Ok(ms)
    };
    once()?;
    let mut times = (0..STARTS).map(|_| once()).collect::<Result<Vec<f64>>>()?;
    Ok(super::median(&mut times))
}
