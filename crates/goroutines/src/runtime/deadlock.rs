//! Deadlock detection (Go's `checkdead`) and the goroutine dump it prints.
//!
//! Called by the last M to go idle, with the scheduler lock held. The runtime is deadlocked when
//! every M is idle (none runs a goroutine, none sleeps for a timer), no timer is pending, no plain
//! thread that has used a goroutine primitive is still running (see `park.rs`), and goroutines
//! remain: every one of them is parked on something that only another goroutine could release.
//!
//! Plain threads are the hard part: a goroutine runtime cannot know whether some thread will
//! still send on a channel or unlock a mutex. So the check stands down while any thread of the
//! process is neither an idle scheduler thread (of any runtime) nor a plain thread blocked in a
//! goroutine primitive: it counts the process's threads in /proc/self/status. A plain thread that
//! blocks runs the check itself, since it may be the last thing that was running. Such a thread might
//! still rescue the goroutines; the price is that a deadlock beside an unrelated idle thread goes
//! unreported (as Go misses deadlocks beside pending timers).

use std::fmt::Write as _;

use super::g::{G_DEAD, G_IDLE, G_RUNNABLE, G_RUNNING, G_WAITING};
use super::park::{FOREIGN_BLOCKED, FOREIGN_RUNNING};
use crate::loom::AtomicIsize;

/// Threads the runtime keeps that never feed a goroutine (sysmon, the signal watcher while no
/// channel or context listens for a signal): the check counts them among the accounted-for
/// threads.
pub(crate) static HELPER_THREADS: AtomicIsize = AtomicIsize::new(0);
use super::proc::IDLE_MS;
use super::proc::{Sched, ThreadCounts};
use crate::loom::Ordering;

/// Prints Go's deadlock error and the goroutine dump, then exits with status 2, if the runtime is
/// deadlocked. `counts` are the thread counts under the scheduler lock, which the caller holds,
/// for the scheduler trace that comes between the error and the dump when `GODEBUG=schedtrace`
/// or `scheddetail` is on (as Go's `startpanic_m` prints it, after the `fatal error` line).
pub(crate) fn checkdead(sched: &Sched, counts: ThreadCounts) {
    if !sched.config.deadlock_detection {
        return;
    }
    if FOREIGN_RUNNING.load(Ordering::SeqCst) > 0 {
        return;
    }
    if sched.gcount() <= 0 {
        return;
    }
    if sched.ps.iter().any(|p| p.timers.len() > 0) {
        return;
    }
    // Last and dearest: every thread of the process must be accounted for.
    let Ok(threads) = probe::threads::os_threads() else {
        return;
    };
    let accounted = IDLE_MS.load(Ordering::SeqCst)
        + FOREIGN_BLOCKED.load(Ordering::SeqCst)
        + HELPER_THREADS.load(Ordering::SeqCst);
    if threads as isize > accounted {
        return;
    }
    let mut out = String::from("fatal error: all goroutines are asleep - deadlock!\n");
    if super::schedtrace::on_fatal(sched) {
        let now = probe::clock::now_ns();
        out.push_str(&super::schedtrace::schedtrace(sched, true, counts, now));
    }
    out.push('\n');
    out.push_str(&goroutine_dump(sched));
    eprint!("{out}");
    super::g::exit_now(2);
}

/// Every live goroutine with its id, state, wait reason and how long it has waited, as Go's
/// traceback headers print them (`goroutine 1 [chan receive, 3 ms]:`), and who started it where,
/// as Go's `created by main.main in goroutine 1` and its file and line (the `go` call's
/// location; "a plain thread" for a goroutine started outside any goroutine, such as `run`'s
/// main goroutine). A parked goroutine's stack is printed too when the runtime records them
/// (see [`super::traceback`]).
pub(crate) fn goroutine_dump(sched: &Sched) -> String {
    let now = super::g::coarse_now_ns();
    let gs: Vec<_> = sched
        .allgs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut out = String::new();
    for g in gs {
        // SAFETY: Gs are never freed while the runtime lives; we read only atomics.
        let g = unsafe { g.as_ref() };
        let state = match g.status.load(Ordering::Acquire) {
            G_DEAD => continue,
            G_IDLE | G_RUNNABLE => "runnable".to_string(),
            G_RUNNING => "running".to_string(),
            G_WAITING => {
                let waited = now.saturating_sub(g.wait_since.load(Ordering::Relaxed)) / 1_000_000;
                format!("{}, {waited} ms", g.wait_reason().as_str())
            }
            _ => "unknown".to_string(),
        };
        let id = g.id.load(Ordering::Relaxed);
        let _ = writeln!(out, "goroutine {id} [{state}]:");
        if g.status.load(Ordering::Acquire) == G_WAITING {
            sched.park_traces.write(id, &mut out);
        }
        let (parent, at) = g.created();
        if let Some(at) = at {
            let _ = match parent {
                0 => writeln!(out, "created by a plain thread"),
                parent => writeln!(out, "created by goroutine {parent}"),
            };
            let _ = writeln!(out, "\t{}:{}:{}", at.file(), at.line(), at.column());
        }
        out.push('\n');
    }
    out
}
