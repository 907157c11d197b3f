//! Shared by the integration tests: run a scenario of the `procpool-scenarios` binary, read a
//! fixture recorded from CPython.
//!
//! Every scenario runs in its own process: a fork pool needs a single-threaded parent, which a
//! test harness thread is not, and spawn needs a program that enters worker mode first in main.

#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The start methods every scenario runs under.
pub const METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];

/// Runs `scenario` under `method` and returns its stdout lines; fails the test if it does not
/// exit successfully within 60 s (a hang is a failure, never a stuck test).
pub fn scenario(scenario: &str, method: &str) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_procpool-scenarios"))
        .args([scenario, method])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the scenarios binary starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{scenario} under {method} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "{scenario} under {method}: {status}\n{stdout}\n{stderr}"
    );
    stdout.lines().map(str::to_owned).collect()
}

/// The lines of `tests/fixtures/<name>.txt` without its `#` header.
pub fn fixture(name: &str) -> Vec<String> {
    let path = format!("{}/tests/fixtures/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{path}: {error}; run peers/python/regen-mp-fixtures.sh"))
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}
