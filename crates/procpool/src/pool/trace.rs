//! What the pool records while a `probe` trace runs: its frames, and its workers' task runs.
//!
//! ```text
//!   parent (handler thread)                          worker process
//!   frame sent bytes ── Request::RunTraced ───────►  begin = CLOCK_MONOTONIC
//!                                                    run the task
//!                                                    end   = CLOCK_MONOTONIC
//!   frame received bytes ◄── TracedReply{ran, ..} ─  reply
//!   RunBegin / RunEnd of process pid, thread pid,
//!   at begin, end moved onto the trace's clock
//! ```
//!
//! The worker's events are recorded by the parent, as events of the worker's process
//! (`probe::trace::record_from_process`): the Chrome trace then shows every worker as a process
//! of its own, its task runs as slices, on the parent's time axis. A worker serves on its one
//! thread, so its thread id is its process id, as Linux numbers a process's main thread.
//!
//! Clocks: `CLOCK_MONOTONIC` is one clock for every process on the machine; the trace's clock
//! (`probe::clock::now_ns`) is `CLOCK_MONOTONIC` since an anchor of the parent's own, so a
//! worker's reading `t` is `t - anchor` on it. The anchor is read by bracketing a raw reading
//! between two of the trace's: within half the bracket, the narrowest of a few tries kept, so
//! a preemption between two readings does not shift the runs.

use probe::trace::{self, EventKind};

use crate::sys;
use crate::wire::RunSpan;

/// Records a frame of `bytes` sent or received (`name` says which).
pub(super) fn frame(name: &'static str, bytes: usize) {
    if trace::enabled() {
        trace::record(EventKind::IpcBytes {
            bytes: bytes as u64,
        });
        trace::record(EventKind::Counter {
            name,
            value: bytes as i64,
        });
    }
}

/// Records the run of `task` in worker number `number`, process `pid`, as the worker saw it.
pub(super) fn worker_run(pid: i32, number: usize, task: u64, ran: RunSpan) {
    if !trace::enabled() {
        return;
    }
    let anchor = clock_anchor();
    let pid = pid as u32;
    let proc_id = u32::try_from(number).unwrap_or(u32::MAX);
    let runs = [
        (ran.begin_ns, EventKind::RunBegin { task, proc_id }),
        (ran.end_ns, EventKind::RunEnd { task, proc_id }),
    ];
    for (monotonic_ns, kind) in runs {
        trace::record_from_process(pid, pid, monotonic_ns.saturating_sub(anchor), kind);
    }
}

/// The `CLOCK_MONOTONIC` reading at which the trace's clock reads 0 (see the module essay).
fn clock_anchor() -> u64 {
    let mut best = (u64::MAX, 0);
    for _ in 0..4 {
        let before = probe::clock::now_ns();
        let monotonic = sys::monotonic_ns();
        let after = probe::clock::now_ns();
        let bracket = after - before;
        if bracket < best.0 {
            best = (bracket, monotonic.saturating_sub(before + bracket / 2));
        }
        if bracket < 1_000 {
            break;
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_moves_a_raw_reading_onto_the_trace_clock() {
        let anchor = clock_anchor();
        let before = probe::clock::now_ns();
        let moved = sys::monotonic_ns() - anchor;
        let after = probe::clock::now_ns();
        // Within the bracket, give or take the anchor's own error (well under 1 ms).
        assert!(
            moved + 1_000_000 >= before && moved <= after + 1_000_000,
            "{before} <= {moved} <= {after}"
        );
    }
}
