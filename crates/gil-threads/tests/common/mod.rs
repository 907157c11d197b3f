//! Helpers shared by the behaviour tests: "pure Python" work that checks at every back-edge, and
//! work that never checks (a long C call).
#![allow(dead_code)] // each test binary uses its own subset

use std::hint::black_box;
use std::time::{Duration, Instant};

use gil_threads::Python;

/// One step of the cpu-parallel workload's generator (Knuth's MMIX LCG).
pub fn lcg(x: u64) -> u64 {
    x.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407)
}

/// `steps` LCG steps with a check point at every back-edge, as a pure-Python loop runs.
pub fn python_work(py: Python<'_>, seed: u64, steps: u64) -> u64 {
    let mut x = seed;
    for _ in 0..steps {
        py.check();
        x = lcg(black_box(x));
    }
    x
}

/// Spins with check points until `duration` has passed.
pub fn python_spin(py: Python<'_>, duration: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 0;
    while started.elapsed() < duration {
        x = python_work(py, x, 1000);
    }
    x
}

/// Spins without any check point until `duration` has passed: a long C call.
pub fn c_call(duration: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 0u64;
    while started.elapsed() < duration {
        for _ in 0..1000 {
            x = lcg(black_box(x));
        }
    }
    x
}

/// The median of `values` (the upper middle for an even count).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
