//! Helpers shared by the lab's tests that run the built `schedlab` binary.

use std::process::{Command, Output};

use probe::result::ResultLine;

/// Runs the built binary with `args`.
pub fn schedlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args(args)
        .output()
        .expect("run schedlab")
}

/// Every non-empty stdout line, parsed as a result line (a line that does not parse fails).
#[allow(dead_code)] // not every test binary reads result lines
pub fn result_lines(output: &Output) -> Vec<ResultLine> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            line.parse()
                .unwrap_or_else(|e| panic!("{line:?} is not a result line: {e}"))
        })
        .collect()
}
