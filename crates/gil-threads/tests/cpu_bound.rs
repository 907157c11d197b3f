//! Two CPU-bound threads under the GIL are no faster than one (CPython here: 0.92-1.0x); with
//! gil=off they run in parallel, as on a free-threaded build.
//!
//! Wall-clock speedups on a loaded 2-core machine are noise (a slowed single-thread run makes any
//! speedup), so the tests measure what load cannot inflate: the run's parallelism, the CPU time
//! its threads used per second of wall time (each thread's own `/proc/thread-self/schedstat`).
//! For CPU-bound threads on free cores that is the speedup. Under the GIL only the holder runs
//! (waiters sleep on a condition variable), so it cannot exceed 1 whatever the load; and the
//! holds of two threads never overlap, so their sum fits in the wall time. gil=off is compared
//! with plain `std::thread`s in the same tries, so a machine without two free cores fails neither.

mod common;

use std::time::{Duration, Instant};

use common::python_work;
use gil_threads::{GilMode, Interpreter};

/// LCG steps per thread: about 40 ms of work on an idle core.
const STEPS: u64 = 40_000_000;

/// The calling thread's CPU time so far, in nanoseconds, if the kernel reports it.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `work` on two threads started by `spawn`; returns (CPU seconds of both) / wall seconds.
fn parallelism(spawn: impl Fn() -> Box<dyn FnOnce() -> Option<u64>>) -> Option<f64> {
    let started = Instant::now();
    let runs: Vec<_> = (0..2).map(|_| spawn()).collect();
    let mut cpu_ns = 0;
    for run in runs {
        cpu_ns += run()?;
    }
    Some(cpu_ns as f64 / 1e9 / started.elapsed().as_secs_f64())
}

/// The parallelism of two Python threads doing `STEPS` each in `mode`.
fn interpreter_parallelism(mode: GilMode) -> Option<f64> {
    let interpreter = Interpreter::new(mode);
    parallelism(|| {
        let handle = interpreter
            .spawn(|py| {
                let before = thread_cpu_ns()?;
                std::hint::black_box(python_work(py, 1, STEPS));
                Some(thread_cpu_ns()? - before)
            })
            .unwrap();
        Box::new(move || handle.join().unwrap())
    })
}

/// The parallelism of two plain threads doing the same steps.
fn plain_parallelism() -> Option<f64> {
    parallelism(|| {
        let handle = std::thread::spawn(|| {
            let before = thread_cpu_ns()?;
            let mut x = 1;
            for _ in 0..STEPS {
                x = common::lcg(std::hint::black_box(x));
            }
            std::hint::black_box(x);
            Some(thread_cpu_ns()? - before)
        });
        Box::new(move || handle.join().unwrap())
    })
}

#[test]
fn under_the_gil_holds_never_add_up_to_more_than_the_wall_time() {
    let interpreter = Interpreter::new(GilMode::On);
    let started = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|seed| {
            interpreter
                .spawn(move |py| python_work(py, seed, STEPS))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let wall = started.elapsed();
    let holding: Duration = interpreter
        .account()
        .threads
        .iter()
        .map(|t| t.holding)
        .sum();
    // The holds are disjoint intervals inside the run: their sum fits in the wall time.
    assert!(holding <= wall, "held {holding:?} in a wall of {wall:?}");
    assert!(
        holding.as_secs_f64() > 0.5 * wall.as_secs_f64(),
        "the two threads held the GIL only {holding:?} of {wall:?}"
    );
}

#[test]
fn two_threads_are_no_faster_than_one_under_the_gil_and_about_twice_with_it_off() {
    if thread_cpu_ns().is_none() {
        eprintln!("skipped: no /proc/thread-self/schedstat to read thread CPU time from");
        return;
    }
    let mut gil_on = 0.0f64;
    let mut best_plain = 0.0f64;
    let mut best_off = 0.0f64;
    let mut best_ratio = 0.0f64;
    for _ in 0..3 {
        gil_on = gil_on.max(interpreter_parallelism(GilMode::On).unwrap());
        let plain = plain_parallelism().unwrap();
        let off = interpreter_parallelism(GilMode::Off).unwrap();
        best_plain = best_plain.max(plain);
        best_off = best_off.max(off);
        best_ratio = best_ratio.max(off / plain);
    }
    eprintln!(
        "parallelism of two threads: gil=on {gil_on:.2}, gil=off {best_off:.2}, \
         plain threads {best_plain:.2}"
    );
    assert!(
        gil_on <= 1.15,
        "gil=on: two threads ran {gil_on:.2} cores' worth"
    );
    // gil=off does what plain threads do on this machine, give or take the noise...
    assert!(
        best_ratio >= 0.75,
        "gil=off reached only {best_ratio:.2} of plain threads' parallelism"
    );
    // ...which, where two cores were free for plain threads, is about two.
    if best_plain >= 1.7 {
        assert!(best_off > 1.4, "gil=off {best_off:.2} with two free cores");
    }
}
