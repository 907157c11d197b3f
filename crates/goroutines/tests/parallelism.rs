//! Two Ps run two goroutines in parallel: two CPU-bound goroutines on a 2-P runtime are running at
//! the same time, so their intervals (first to last instruction) overlap.

use std::time::{Duration, Instant};

use goroutines::go;

/// Long enough that a scheduler thread's start-up and a loaded machine's time slices cannot hide
/// the overlap.
const SPIN: Duration = Duration::from_millis(300);

/// Busy work without blocking or yielding: the goroutine keeps its P until it is done.
fn spin() -> (Instant, Instant) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < SPIN {
        for i in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
    std::hint::black_box(x);
    (start, Instant::now())
}

#[test]
fn two_cpu_bound_goroutines_on_two_ps_overlap_in_time() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        eprintln!("skipped: {cores} core; parallelism needs two");
        return;
    }
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { goroutines::Builder::new().procs(2).build() }.unwrap();
    let (a, b) = rt.run(|| {
        let a = go(spin);
        let b = go(spin);
        (a.join().unwrap(), b.join().unwrap())
    });
    let overlap_start = a.0.max(b.0);
    let overlap_end = a.1.min(b.1);
    assert!(
        overlap_start < overlap_end,
        "no overlap: a ran {:?}..{:?}, b ran {:?}..{:?} (relative to a's start)",
        Duration::ZERO,
        a.1 - a.0,
        b.0.saturating_duration_since(a.0),
        b.1.saturating_duration_since(a.0),
    );
}
