//! Helpers shared by the behaviour tests (each test binary includes this module and uses a part).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use goroutines::Runtime;

/// A runtime with `procs` Ps.
pub fn runtime(procs: usize) -> Runtime {
    // SAFETY: the tests hold no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(procs).build() }.unwrap()
}

/// How many goroutines the dump shows parked with `reason` now.
pub fn parked(rt: &Runtime, reason: &str) -> usize {
    let pattern = format!("[{reason},");
    rt.goroutine_dump()
        .lines()
        .filter(|l| l.contains(&pattern))
        .count()
}

/// Waits until the goroutine dump shows at least `n` goroutines parked with `reason`, failing
/// after 30 s. There is no event for "parked", so this polls the dump.
pub fn wait_parked(rt: &Runtime, reason: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let parked = parked(rt, reason);
        if parked >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{parked} of {n} goroutines parked on {reason}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Polls `done` until it holds; panics after 10 s.
pub fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}
