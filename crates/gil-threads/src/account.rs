//! The end-of-run account: per thread, time holding the GIL, time waiting for it, forced switches.
//!
//! No Python profiler shows this: `sys.setprofile` sees calls, not the GIL. Here every thread's
//! [`ThreadState`] counts as it goes (relaxed atomics written only by that thread, so reading them
//! costs the thread nothing), and [`crate::Interpreter::account`] reads a snapshot at any time.
//!
//! | figure            | counted when                                                      |
//! | ----------------- | ----------------------------------------------------------------- |
//! | `holding`         | from each `take_gil` to the next `drop_gil` (gil=off: attached)   |
//! | `waiting`         | inside `take_gil` while the GIL was locked by another thread      |
//! | `takes`           | each `take_gil`                                                   |
//! | `waits`           | each `take_gil` that found the GIL locked                         |
//! | `forced_switches` | each `drop_gil` made while a drop was requested                   |
//! | `drop_requests`   | each time this thread, waiting, asked the holder to drop          |
//!
//! A thread that holds the GIL when the snapshot is taken has its current hold counted up to now.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::interpreter::GilMode;

/// One Python thread's identity and running counts.
#[derive(Debug)]
pub(crate) struct ThreadState {
    /// Unique in the process, from 1 (0 is "nobody" in `last_holder`); also the trace task id.
    pub(crate) ident: u64,
    /// `Thread-N`, `MainThread` or the name given at spawn.
    pub(crate) name: String,
    /// When the current hold began (`probe::clock::now_ns`), or `NOT_HOLDING`.
    holding_since: AtomicU64,
    holding_ns: AtomicU64,
    waiting_ns: AtomicU64,
    takes: AtomicU64,
    waits: AtomicU64,
    forced_switches: AtomicU64,
    drop_requests: AtomicU64,
}

/// `holding_since` when the thread does not hold the GIL.
const NOT_HOLDING: u64 = u64::MAX;

impl ThreadState {
    pub(crate) fn new(ident: u64, name: String) -> ThreadState {
        ThreadState {
            ident,
            name,
            holding_since: AtomicU64::new(NOT_HOLDING),
            holding_ns: AtomicU64::new(0),
            waiting_ns: AtomicU64::new(0),
            takes: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            forced_switches: AtomicU64::new(0),
            drop_requests: AtomicU64::new(0),
        }
    }

    /// The thread now holds the GIL (or, with gil=off, is attached).
    pub(crate) fn taken(&self) {
        self.takes.fetch_add(1, Ordering::Relaxed);
        self.holding_since
            .store(probe::clock::now_ns(), Ordering::Relaxed);
    }

    /// The thread releases the GIL; `forced` when a drop had been requested.
    pub(crate) fn dropped(&self, forced: bool) {
        let since = self.holding_since.swap(NOT_HOLDING, Ordering::Relaxed);
        if since != NOT_HOLDING {
            let held = probe::clock::now_ns().saturating_sub(since);
            self.holding_ns.fetch_add(held, Ordering::Relaxed);
        }
        if forced {
            self.forced_switches.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The thread waited `nanoseconds` in `take_gil` for the GIL.
    pub(crate) fn waited(&self, nanoseconds: u64) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waiting_ns.fetch_add(nanoseconds, Ordering::Relaxed);
    }

    /// The thread, waiting, set the drop request.
    pub(crate) fn requested_drop(&self) {
        self.drop_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of the counts.
    pub(crate) fn snapshot(&self) -> ThreadAccount {
        let mut holding = self.holding_ns.load(Ordering::Relaxed);
        let since = self.holding_since.load(Ordering::Relaxed);
        if since != NOT_HOLDING {
            holding += probe::clock::now_ns().saturating_sub(since);
        }
        ThreadAccount {
            ident: self.ident,
            name: self.name.clone(),
            holding: Duration::from_nanos(holding),
            waiting: Duration::from_nanos(self.waiting_ns.load(Ordering::Relaxed)),
            takes: self.takes.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            forced_switches: self.forced_switches.load(Ordering::Relaxed),
            drop_requests: self.drop_requests.load(Ordering::Relaxed),
        }
    }
}

/// One thread's line of the [`Account`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadAccount {
    /// The thread's ident: unique in the process, the task id in traces.
    pub ident: u64,
    /// Its name (`MainThread`, `Thread-N`, or the one given to `spawn_named`).
    pub name: String,
    /// Time holding the GIL; with gil=off, time attached (running Python code).
    pub holding: Duration,
    /// Time waiting in `take_gil` for another thread to drop the GIL (0 with gil=off).
    pub waiting: Duration,
    /// How many times it took the GIL.
    pub takes: u64,
    /// How many of those takes found the GIL held and had to wait.
    pub waits: u64,
    /// How many times it dropped the GIL because another thread asked (forced switches).
    pub forced_switches: u64,
    /// How many times it asked the holder to drop the GIL after waiting one switch interval.
    pub drop_requests: u64,
}

/// What every thread of an interpreter did with the GIL: [`crate::Interpreter::account`].
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// The interpreter's mode.
    pub mode: GilMode,
    /// The switch interval at the time of the snapshot, in seconds.
    pub switch_interval: f64,
    /// One line per thread ever attached, in the order they attached.
    pub threads: Vec<ThreadAccount>,
}

impl Account {
    /// The line of the thread called `name`, if any (the first, if several share it).
    pub fn thread(&self, name: &str) -> Option<&ThreadAccount> {
        self.threads.iter().find(|thread| thread.name == name)
    }
}

impl fmt::Display for Account {
    /// A table, one row per thread:
    ///
    /// ```text
    /// gil=on, switch interval 5 ms
    /// thread        holding_ms  waiting_ms  takes  waits  forced  requests
    /// Thread-1          1001.2       998.4    201    200     100        99
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "gil={}, switch interval {} ms",
            self.mode,
            // Whole microseconds, as stored: 0.003 s prints as 3, not 3.0000000000000004.
            (self.switch_interval * 1e6).round() / 1e3
        )?;
        writeln!(
            f,
            "{:<12} {:>11} {:>11} {:>6} {:>6} {:>7} {:>9}",
            "thread", "holding_ms", "waiting_ms", "takes", "waits", "forced", "requests"
        )?;
        for thread in &self.threads {
            writeln!(
                f,
                "{:<12} {:>11.1} {:>11.1} {:>6} {:>6} {:>7} {:>9}",
                thread.name,
                thread.holding.as_secs_f64() * 1e3,
                thread.waiting.as_secs_f64() * 1e3,
                thread.takes,
                thread.waits,
                thread.forced_switches,
                thread.drop_requests
            )?;
        }
        Ok(())
    }
}
