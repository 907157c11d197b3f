//! The goroutines scheduler's run queues and steals, sampled into the trace while one records.
//!
//! Go's execution tracer shows how much work waits and how often Ps steal it; the goroutines
//! runtime keeps those figures in [`goroutines::Stats`]. While a trace is being recorded,
//! `run` samples them every `PERIOD` on a thread of its own beside the experiment and
//! records each as a `probe` counter, which the Chrome trace writes as a `"ph":"C"` event
//! (a counter track in Perfetto):
//!
//! ```text
//!   sampler thread   every 1 ms: runtime.stats() ──► Counter "runq local"   (Gs in the Ps' rings)
//!                                                    Counter "runnext"      (Ps with a runnext G)
//!                                                    Counter "runq global"  (Gs on the global queue)
//!                                                    Counter "steals"       (since the runtime began)
//!   experiment       runtime.run(f) ───────────────────────────────────────────► its result
//! ```
//!
//! With no recording running it is `runtime.run(f)` after one relaxed load: the measured runs
//! have no sampler thread and pay nothing. In a traced run the sampler is one more OS thread,
//! which is why the main job takes no figures from its traced runs.
//!
//! The lengths are snapshots read while the scheduler runs, one queue after the other, as
//! `Runtime::stats` documents: good for a picture of the load, not for exact counts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use goroutines::Runtime;
use probe::trace::{self, EventKind};

/// How often the sampler reads the runtime's counters.
pub const PERIOD: Duration = Duration::from_millis(1);

/// The counter of goroutines waiting in the Ps' local rings.
pub const RUNQ_LOCAL: &str = "runq local";
/// The counter of Ps whose `runnext` holds a goroutine.
pub const RUNNEXT: &str = "runnext";
/// The counter of goroutines on the global run queue.
pub const RUNQ_GLOBAL: &str = "runq global";
/// The counter of steals between Ps since the runtime was built.
pub const STEALS: &str = "steals";

/// Runs `f` as the main goroutine of `runtime` ([`Runtime::run`]); while a trace records,
/// samples the run queues and steals every [`PERIOD`] meanwhile, and once more at the end.
pub(crate) fn run<F, T>(runtime: &Runtime, f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    sampled(runtime, || runtime.run(f))
}

/// Runs `body` on the calling thread; while a trace records, samples `runtime`'s run queues and
/// steals every [`PERIOD`] meanwhile, and once more at the end (`schedlab trace` wraps a whole
/// benchmark, which may run the runtime several times, in this).
pub(crate) fn sampled<T>(runtime: &Runtime, body: impl FnOnce() -> T) -> T {
    if !trace::enabled() {
        return body();
    }
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = std::thread::Builder::new()
            .name("runq-sampler".to_owned())
            .spawn_scoped(scope, || {
                while !done.load(Ordering::Relaxed) {
                    sample(runtime);
                    std::thread::sleep(PERIOD);
                }
                sample(runtime);
            });
        // No thread to spare: the trace goes without the counters rather than the experiment.
        if let Err(error) = sampler {
            eprintln!("schedlab: no run-queue samples in this trace: {error}");
        }
        // Set on the way out even when `body`'s panic resumes here, so the scope's join ends.
        let _stop = SetOnDrop(&done);
        body()
    })
}

/// Records the runtime's queue lengths and steals now.
fn sample(runtime: &Runtime) {
    let stats = runtime.stats();
    let counters = [
        (RUNQ_LOCAL, stats.runq_local),
        (RUNNEXT, stats.runnext),
        (RUNQ_GLOBAL, stats.runq_global),
        (STEALS, stats.steals),
    ];
    for (name, value) in counters {
        trace::record(EventKind::Counter {
            name,
            value: i64::try_from(value).unwrap_or(i64::MAX),
        });
    }
}

/// Stores `true` into its flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(procs: usize) -> Runtime {
        // SAFETY: the goroutines below hold no thread-locals and no std guards.
        unsafe { goroutines::Builder::new().procs(procs).build() }.expect("a runtime")
    }

    /// One test owns the process-wide recording: the untraced and the traced run in turn.
    #[test]
    fn samples_only_while_a_trace_records() {
        let runtime = runtime(2);
        assert_eq!(run(&runtime, || 7), 7);
        trace::start();
        let answer = run(&runtime, || {
            let handles: Vec<_> = (0..200u64).map(|i| goroutines::go(move || i)).collect();
            goroutines::sleep(Duration::from_millis(5));
            handles
                .into_iter()
                .filter_map(|h| h.join().ok())
                .sum::<u64>()
        });
        let events = trace::stop();
        assert_eq!(answer, (0..200u64).sum::<u64>());
        let samples = |wanted: &str| {
            events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Counter { name, .. } if name == wanted))
                .count()
        };
        // At least the one at the end, and the same number of each.
        let locals = samples(RUNQ_LOCAL);
        assert!(locals >= 1, "{locals} samples");
        for name in [RUNNEXT, RUNQ_GLOBAL, STEALS] {
            assert_eq!(samples(name), locals, "{name}");
        }
    }
}
