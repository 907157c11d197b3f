//! The SIGQUIT goroutine dump: on `kill -QUIT` (or Ctrl-\ at a terminal) print every goroutine
//! of every runtime with its id, state, wait reason and wait time, then exit with status 2, as a
//! Go program does.
//!
//! ```text
//!  any thread             crate::signal::sigqueue                      this file
//!  SIGQUIT -> handler -> one byte -> watcher thread: does a channel    no: "SIGQUIT: quit",
//!                                    or context watch SIGQUIT? ------> goroutine_dump of each
//!                                    yes: relay it (signal::notify)    live runtime; exit(2)
//! ```
//!
//! Go prints its traceback from inside the signal handler, which it can do because its printing
//! allocates nothing and takes no lock. Ours cannot: `goroutine_dump` formats `String`s and locks
//! each runtime's `allgs`, and a signal may land on a thread that holds the allocator's lock or
//! that very mutex, so a dump from the handler could deadlock. Hence the self-pipe trick, which
//! `crate::signal::sigqueue` owns for every signal the process catches: the handler does the one
//! async-signal-safe thing, a `write` of one byte to a non-blocking pipe, and a dedicated thread,
//! blocked reading the other end, does the work in ordinary context. Its essay has the
//! invariants, and how the watcher is counted in `HELPER_THREADS` for the deadlock check.
//!
//! The runtime takes SIGQUIT over, as Go does, and chains to no previous handler. A program that
//! wants SIGQUIT for itself (a server that reloads on it, say) relays it to a channel with
//! `signal::notify`, which takes it over from the dump while the channel is registered, as in
//! Go; or turns the dump off with the `Builder` option for it, before building the first runtime.

use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::sync::atomic::Ordering;

use super::deadlock::goroutine_dump;
use super::proc::{all_runtimes, Sched};

/// Turns the dump on, once per process; later calls do nothing. An error (no file descriptors or
/// threads left) leaves SIGQUIT's default action, and a later call tries again.
pub(crate) fn install() -> io::Result<()> {
    crate::signal::sigqueue::install_dump()
}

/// Prints `SIGQUIT: quit` and every live runtime's goroutines on stderr (after a detailed
/// scheduler trace of each runtime that traces), then exits with status
/// 2, as Go's `dieFromSignal` path does for SIGQUIT.
pub(crate) fn dump_and_exit() -> ! {
    let runtimes: Vec<&'static Sched> = all_runtimes()
        .into_iter()
        .filter(|sched| !sched.shutdown.load(Ordering::Relaxed))
        .collect();
    // Go's `sighandler` prints the scheduler trace (from `startpanic_m`) before `SIGQUIT: quit`.
    let mut out = String::new();
    for sched in runtimes
        .iter()
        .filter(|sched| super::schedtrace::on_fatal(sched))
    {
        let now = probe::clock::now_ns();
        out.push_str(&super::schedtrace::schedtrace(
            sched,
            true,
            sched.thread_counts(),
            now,
        ));
    }
    out.push_str("SIGQUIT: quit\n\n");
    for (i, sched) in runtimes.iter().enumerate() {
        // Goroutine ids are per runtime: say whose they are when there is more than one.
        if runtimes.len() > 1 {
            let _ = writeln!(out, "runtime {} of {}:\n", i + 1, runtimes.len());
        }
        out.push_str(&goroutine_dump(sched));
    }
    let _ = io::stderr().lock().write_all(out.as_bytes());
    super::g::exit_now(2);
}
