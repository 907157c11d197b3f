//! `os/signal`, after Go's `src/os/signal/signal.go`: incoming Unix signals relayed to channels
//! ([`notify`], [`stop`]) or to a context ([`notify_context`]), ignored ([`ignore`]) or given back
//! their default action ([`reset`]).
//!
//! ```
//! use goroutines::signal::{self, Signal, SIGUSR1};
//! use goroutines::chan;
//!
//! let (tx, rx) = chan::<Signal>(1);
//! signal::notify(&tx, &[SIGUSR1]).unwrap();
//! // SAFETY: `raise` has no memory-safety preconditions.
//! unsafe { libc::raise(libc::SIGUSR1) };
//! assert_eq!(rx.recv(), Ok(SIGUSR1));
//! signal::stop(&tx);
//! ```
//!
//! The parts:
//! - `sigqueue` (Go's `runtime/sigqueue.go`): the handler, which marks a signal pending and
//!   writes a byte to a pipe, and the watcher thread, which reads it and calls `process`. The
//!   SIGQUIT goroutine dump is one more user of the same handler and thread.
//! - this file (Go's `signal.go`): `HANDLERS`, which channels and contexts watch which signals,
//!   and how many watch each (`refs`): a signal is caught while its count is above zero and goes
//!   back to its original disposition when it drops to zero.
//! - `signum`: the [`Signal`] type; `context`: [`notify_context`].
//!
//! ```text
//!   notify(tx, [INT]) ──▶ HANDLERS.entries += (tx, {INT}); refs[INT] 0→1: sigqueue::enable(INT)
//!   SIGINT ──▶ handler ──pipe──▶ watcher ──▶ process(INT): each entry wanting INT:
//!                                              channel: try_send (full: dropped; closed: pruned)
//!                                              context: cancel with SignalReceived(INT)
//!   stop(tx) ──▶ entry moved to `stopping`; refs 1→0: sigqueue::disable(INT) (default again);
//!                wait until the watcher processed every signal caught so far; entry dropped
//! ```
//!
//! Invariants (Go's, from `signal.go`):
//! - `refs[n]` is the number of entries (in `entries`, not `stopping`) whose mask has bit n, and
//!   signal n is caught exactly while it is above zero (or, for SIGQUIT, while the dump is on).
//! - An entry's mask is never empty: an entry that loses its last signal is removed.
//! - When [`stop`] returns, the channel receives no more: the watcher has finished every signal
//!   caught before `stop` disabled them. Until then the entry sits in `stopping`, which
//!   `process` still serves, so a signal caught just before is delivered rather than lost
//!   (Go's reason: a SIGINT must either reach the channel or take its default action).
//! - The watcher never takes `HANDLERS` while holding the dispositions' lock; `process` holds
//!   `HANDLERS` while it sends, as Go does, and a channel's lock is never held while taking it.
//!
//! Differences from Go, each forced by Rust or by running beside code that is not ours:
//! - An empty list means every *catchable* signal: SIGKILL and SIGSTOP cannot be caught, and
//!   the synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL) and the C library's real-time
//!   signals are never relayed, ignored or reset, since a handler that returns from a real
//!   fault would re-run it forever, and the runtime's stack overflow report owns SIGSEGV and
//!   SIGBUS. Go relays even those when they are sent by `kill`, telling them apart by `si_code`
//!   in a handler that Rust code cannot make safe. Listing such a signal does nothing, as Go's
//!   `Notify(c, SIGKILL)` does nothing.
//! - A channel whose receivers are all dropped, or which was closed, is removed at the next
//!   signal sent to it (or the next `notify`), as if `stop`ped: a send to it cannot panic, and
//!   the signal gets its default action back once nothing else watches it. In Go such a channel
//!   stays registered forever.
//! - [`notify`] and [`notify_context`] return an error when the process has no file
//!   descriptors or threads left for the pipe and the watcher (only the first call makes them).
//! - Coalescing: as in Go, a signal caught again before the watcher has taken it is delivered
//!   once; beyond that each channel gets one per delivery, if its buffer has room.

mod context;
mod signum;
pub(crate) mod sigqueue;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use self::context::{notify_context, SignalReceived, StopFunc};
pub use self::signum::*;
use crate::chan::{Sender, TrySendError};
use crate::context::CancelCauseFunc;

/// Who watches: a channel (`notify`) or a context (`notify_context`).
enum Target {
    /// A clone of the caller's sender: like Go's map key, it keeps the channel open while
    /// registered.
    Channel(Sender<Signal>),
    /// The context's cancel function; the entry's id identifies it.
    Context(Arc<CancelCauseFunc>),
}

/// One watcher of signals (Go's `handlers.m` entry, a channel and its `handler` mask).
struct Entry {
    /// Tells entries apart (contexts have no other identity) while they move to `stopping`.
    id: u64,
    target: Target,
    /// The signals it wants: bit n-1 for signal n.
    mask: u64,
}

/// Go's `handlers`.
struct Handlers {
    entries: Vec<Entry>,
    /// How many entries want each signal.
    refs: [u32; NSIG],
    /// Entries being stopped, served until the watcher has drained (see [`stop`]).
    stopping: Vec<Entry>,
    next_id: u64,
}

static HANDLERS: Mutex<Handlers> = Mutex::new(Handlers {
    entries: Vec::new(),
    refs: [0; NSIG],
    stopping: Vec::new(),
    next_id: 0,
});

fn handlers() -> MutexGuard<'static, Handlers> {
    // Every update leaves the state consistent before anything that could panic.
    HANDLERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The signals a list names: every catchable one for an empty list, else the catchable ones
/// listed.
fn listed(signals: &[Signal]) -> Vec<Signal> {
    if signals.is_empty() {
        Signal::all_catchable().collect()
    } else {
        signals.iter().copied().filter(|s| s.catchable()).collect()
    }
}

/// Relays `signals` to `tx` from now on (Go's `signal.Notify`); an empty list means every
/// catchable signal (see the module's differences from Go).
///
/// Each signal is sent without blocking: one that finds the channel's buffer full is dropped
/// for that channel, so give the channel a buffer (1 is enough for one kind of signal). Calling
/// `notify` again with the same channel adds to its signals; only [`stop`] removes them. Several
/// channels may watch one signal: each gets its own copy. Works from goroutines and plain
/// threads alike. A signal that no channel watches keeps its default action (SIGQUIT: the
/// goroutine dump, if on); a SIGQUIT relayed here does not dump.
///
/// Errors only when the first use of signals in the process finds no file descriptor or thread
/// for the watcher; then nothing is registered, and a later call tries again.
pub fn notify(tx: &Sender<Signal>, signals: &[Signal]) -> io::Result<()> {
    let mut h = handlers();
    let pruned = h.prune_closed();
    let index = match h.entries.iter().position(|e| match &e.target {
        Target::Channel(c) => c.same_channel(tx),
        Target::Context(_) => false,
    }) {
        Some(index) => index,
        None => h.push(Target::Channel(tx.clone())),
    };
    let result = h.add(index, signals);
    drop(h);
    drop(pruned);
    result
}

/// Stops relaying signals to `tx` (Go's `signal.Stop`), undoing every [`notify`] with it. When
/// it returns, `tx`'s channel receives no more signals. A signal that no channel watches any more
/// gets back the disposition it had before it was first caught (its default action, usually).
pub fn stop(tx: &Sender<Signal>) {
    let h = handlers();
    let Some(index) = h.entries.iter().position(|e| match &e.target {
        Target::Channel(c) => c.same_channel(tx),
        Target::Context(_) => false,
    }) else {
        return;
    };
    let id = h.entries[index].id;
    stop_entry(h, id);
}

/// Causes `signals` to be ignored (Go's `signal.Ignore`): nothing happens when they arrive, and
/// no channel watches them any more. An empty list means every catchable signal.
pub fn ignore(signals: &[Signal]) {
    cancel(signals, sigqueue::ignore);
}

/// Whether `signal` is ignored now (Go's `signal.Ignored`): by [`ignore`], or because the
/// program started with it ignored (as `nohup` starts it with SIGHUP ignored).
pub fn ignored(signal: Signal) -> bool {
    signal.bit().is_some() && sigqueue::ignored(signal)
}

/// Undoes every [`notify`] for `signals` (Go's `signal.Reset`) and [`ignore`] of them: no
/// channel watches them any more, and each gets back its disposition from before this module
/// first changed it (SIGQUIT: the dump, if on). An empty list means every catchable signal.
pub fn reset(signals: &[Signal]) {
    cancel(signals, sigqueue::disable);
}

/// Go's `Stop` from its lookup on: removes entry `id`, serves it from `stopping` until the
/// watcher has drained, then drops it. Unlocks `HANDLERS` while waiting.
fn stop_entry(mut h: MutexGuard<'static, Handlers>, id: u64) {
    let Some(entry) = h.remove(id) else {
        return;
    };
    h.stopping.push(entry);
    drop(h);
    sigqueue::wait_until_idle();
    let mut h = handlers();
    let entry = h
        .stopping
        .iter()
        .position(|e| e.id == id)
        .map(|index| h.stopping.swap_remove(index));
    h.update_watching();
    drop(h);
    drop(entry);
}

/// Go's `cancel`: removes `signals` from every entry, then `action` on each.
fn cancel(signals: &[Signal], action: fn(Signal)) {
    let mut h = handlers();
    let mut removed = Vec::new();
    for signal in listed(signals) {
        let bit = signal.bit().unwrap_or(0);
        for entry in h.entries.iter_mut() {
            entry.mask &= !bit;
        }
        h.refs[signal.as_raw() as usize] = 0;
        let (keep, empty) = std::mem::take(&mut h.entries)
            .into_iter()
            .partition(|e| e.mask != 0);
        h.entries = keep;
        removed.extend::<Vec<Entry>>(empty);
        action(signal);
    }
    h.update_watching();
    drop(h);
    // Dropped unlocked: a channel's last sender closes it, a context's cancel function cancels.
    drop(removed);
}

/// Called by the watcher with each caught signal (Go's `process`): sends it to every channel
/// that wants it, without blocking, and cancels every context that wants it. Returns whether
/// anything wanted it (for SIGQUIT: whether to skip the dump).
pub(crate) fn process(signal: Signal) -> bool {
    let Some(bit) = signal.bit() else {
        return false;
    };
    let mut h = handlers();
    let mut wanted = false;
    let mut closed = Vec::new();
    let Handlers {
        entries, stopping, ..
    } = &mut *h;
    for (entry, live) in entries
        .iter()
        .map(|e| (e, true))
        .chain(stopping.iter().map(|e| (e, false)))
    {
        if entry.mask & bit == 0 {
            continue;
        }
        wanted = true;
        match &entry.target {
            Target::Channel(tx) => {
                if let Err(TrySendError::Closed(_)) = tx.try_send(signal) {
                    if live {
                        closed.push(entry.id);
                    }
                }
            }
            Target::Context(cancel) => cancel.cancel(Some(Arc::new(SignalReceived(signal)))),
        }
    }
    let removed: Vec<Entry> = closed.into_iter().filter_map(|id| h.remove(id)).collect();
    h.update_watching();
    drop(h);
    drop(removed);
    wanted
}

impl Handlers {
    /// Adds a watcher with no signals yet; returns its index in `entries`.
    fn push(&mut self, target: Target) -> usize {
        self.next_id += 1;
        self.entries.push(Entry {
            id: self.next_id,
            target,
            mask: 0,
        });
        self.entries.len() - 1
    }

    /// Go's `add` for each signal: sets it in entry `index`'s mask, enabling it if it is the
    /// first to want it. On an error, drops an entry left with no signals.
    fn add(&mut self, index: usize, signals: &[Signal]) -> io::Result<()> {
        let mut result = Ok(());
        for signal in listed(signals) {
            let bit = signal.bit().unwrap_or(0);
            if self.entries[index].mask & bit != 0 {
                continue;
            }
            let n = signal.as_raw() as usize;
            if self.refs[n] == 0 {
                if let Err(e) = sigqueue::enable(signal) {
                    result = Err(e);
                    break;
                }
            }
            self.entries[index].mask |= bit;
            self.refs[n] += 1;
        }
        if self.entries[index].mask == 0 {
            self.entries.swap_remove(index);
        }
        self.update_watching();
        result
    }

    /// Removes entry `id` from `entries`, dropping its signals' counts and disabling each that
    /// nobody wants any more.
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let index = self.entries.iter().position(|e| e.id == id)?;
        let entry = self.entries.swap_remove(index);
        for signal in Signal::all_catchable() {
            if entry.mask & signal.bit().unwrap_or(0) != 0 {
                let n = signal.as_raw() as usize;
                self.refs[n] -= 1;
                if self.refs[n] == 0 {
                    sigqueue::disable(signal);
                }
            }
        }
        Some(entry)
    }

    /// Removes channels that can take no more signals; returns them, to be dropped unlocked.
    fn prune_closed(&mut self) -> Vec<Entry> {
        let closed: Vec<u64> = self
            .entries
            .iter()
            .filter(|e| matches!(&e.target, Target::Channel(tx) if tx.is_closed()))
            .map(|e| e.id)
            .collect();
        closed
            .into_iter()
            .filter_map(|id| self.remove(id))
            .collect()
    }

    /// Tells `sigqueue` whether anything watches (see its invariants on `HELPER_THREADS`).
    fn update_watching(&self) {
        sigqueue::set_watching(!self.entries.is_empty() || !self.stopping.is_empty());
    }
}
