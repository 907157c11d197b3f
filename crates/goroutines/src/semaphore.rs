//! `semaphore`, after Go's `golang.org/x/sync/semaphore`: a weighted semaphore, whose callers
//! take and give back several of its tokens at once, and wait in arrival order.
//!
//! ```text
//!   Weighted { size, lock { current: tokens held, waiters: ticket -> (n, ready), next ticket } }
//!
//!   acquire(ctx, n): lock; ctx done? ──────────────────────────────▶ Err(ctx.err())
//!                    n tokens free and nobody waiting? ─────────────▶ current += n; Ok
//!                    n > size? ─▶ unlock; wait for ctx.done() ───────▶ Err   (never queued)
//!                    queue (ticket, n, ready) at the back; unlock
//!                    select {
//!                      ready closed: ctx done meanwhile? ────────────▶ release(n); Err
//!                                    else ───────────────────────────▶ Ok
//!                      ctx.done():   lock; still queued? ─▶ dequeue; if it was the front, notify
//!                                          served meanwhile? ─▶ current -= n; notify
//!                                    ────────────────────────────────▶ Err
//!                    }
//!   release(n):      lock; n > current? ─▶ unlock; panic
//!                    current -= n; notify
//!   notify:          while the front waiter's n fits: current += n; dequeue it; close its ready
//! ```
//!
//! Invariants:
//! - `current <= size`; `current` counts the tokens of every caller whose `acquire` returned
//!   `Ok` or is about to (a waiter owns its `n` tokens from the moment `notify` serves it).
//! - A waiter is served (taken off the queue and its `ready` closed) or removed by its own
//!   cancellation under the lock, and never both: so a cancelled waiter tells, by finding its
//!   ticket still queued or not, whether it owns tokens it must give back.
//! - FIFO: `notify` stops at the first waiter whose `n` does not fit instead of skipping it, and
//!   the fast path is taken only with an empty queue, so a large waiter at the front holds back
//!   smaller ones behind it. Go's comment: with N tokens used as a read-write lock (readers
//!   take 1, the writer N), readers allowed to jump the queue would starve the writer.
//! - No lost wake-up: everything that can make the front waiter fit (a `release`, a cancelled
//!   front waiter leaving, a served-then-cancelled waiter giving its tokens back) runs `notify`
//!   under the lock that `acquire` queues under.
//! - Only a waiter that can ever be served is queued: one asking for more than `size` would
//!   block everyone behind it forever, so it waits for its context alone.
//!
//! Each waiter waits on a channel of its own, closed to serve it, with `select!` against its
//! context's `done()`, as Go's does: so a goroutine parks (its thread runs other goroutines),
//! a plain thread blocks, and both may share one semaphore. The internal `Sema` under
//! `sync::Mutex` was rejected: it hands out one token per release and has no way to leave the
//! queue on cancellation.
//!
//! Acquiring with a context that is already done fails even when tokens are free, and a waiter
//! served while its context is being cancelled gives the tokens back and fails, as in x/sync
//! since golang/go#63615: a cancellation that happened before the acquire wins.
//!
//! Differences from Go, each what a Rust programmer expects: weights are `u64` (Go's `int64`,
//! where a negative weight means nothing useful); `release` of more than is held panics as Go's
//! does, but leaves the semaphore as it was and its lock free, so a caller that catches the
//! panic still has a working semaphore.

use std::collections::BTreeMap;
use std::fmt;

use parking_lot::Mutex;

use crate::chan::{chan, Receiver, Sender};
use crate::context::{Context, ContextError};
use crate::select;

/// A weighted semaphore (Go's `semaphore.Weighted`): bounds the combined weight of what runs at
/// once, each caller asking for the weight of its own work. Waiters are served in arrival
/// order; a goroutine that waits parks, a plain thread blocks.
///
/// ```
/// use std::sync::Arc;
/// use goroutines::context::Context;
/// use goroutines::semaphore::Weighted;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let done = unsafe {
///     goroutines::run(|| {
///         // At most 4 units of memory in use at once.
///         let memory = Arc::new(Weighted::new(4));
///         let jobs: Vec<_> = [3, 1, 2, 4]
///             .into_iter()
///             .map(|weight| {
///                 let memory = memory.clone();
///                 goroutines::go(move || {
///                     memory.acquire(&Context::background(), weight)?;
///                     // ... work that needs `weight` units ...
///                     memory.release(weight);
///                     Ok::<_, goroutines::context::ContextError>(weight)
///                 })
///             })
///             .collect();
///         jobs.into_iter().map(|job| job.join().unwrap().unwrap()).sum::<u64>()
///     })
/// };
/// assert_eq!(done, 10);
/// ```
pub struct Weighted {
    /// The most tokens held at once (Go's `size`).
    size: u64,
    state: Mutex<State>,
}

struct State {
    /// Tokens held now (Go's `cur`).
    current: u64,
    /// Queued waiters by ticket: the first entry is the front (Go's `waiters` list).
    waiters: BTreeMap<u64, QueuedWaiter>,
    /// The ticket of the next waiter to queue.
    next_ticket: u64,
}

/// A caller of [`Weighted::acquire`] that found too few tokens (Go's `waiter`).
struct QueuedWaiter {
    /// How many tokens it asked for.
    n: u64,
    /// Closed once its `n` tokens are counted in `current` for it.
    ready: Sender<()>,
}

impl Weighted {
    /// A semaphore of `size` tokens, none held (Go's `NewWeighted`).
    pub const fn new(size: u64) -> Weighted {
        Weighted {
            size,
            state: Mutex::new(State {
                current: 0,
                waiters: BTreeMap::new(),
                next_ticket: 0,
            }),
        }
    }

    /// Takes `n` tokens, parking the goroutine (or blocking the plain thread) until they are
    /// free and every earlier waiter has been served, or until `ctx` is done (Go's `Acquire`).
    /// On failure returns the context's error and leaves the semaphore unchanged; a context
    /// already done fails even when the tokens are free.
    ///
    /// Asking for more than the semaphore's size waits for `ctx` alone, without holding back
    /// other callers; with a context that is never cancelled it never returns, as in Go. A
    /// waiting goroutine shows in the goroutine dump as `[select]` (`[chan receive]` for one
    /// asking too much), as Go's does.
    pub fn acquire(&self, ctx: &Context, n: u64) -> Result<(), ContextError> {
        let mut state = self.state.lock();
        if let Some(err) = ctx.err() {
            return Err(err);
        }
        if self.size - state.current >= n && state.waiters.is_empty() {
            state.current += n;
            return Ok(());
        }
        if n > self.size {
            // Don't make other callers wait behind one that can never be served.
            drop(state);
            ctx.done().recv().ok();
            return Err(done_error(ctx));
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let (ready_tx, ready) = chan(0);
        state
            .waiters
            .insert(ticket, QueuedWaiter { n, ready: ready_tx });
        drop(state);
        self.acquire_slow(ctx, n, ticket, &ready)
    }

    /// Waits, queued under `ticket`, until served (`ready` closed) or `ctx` is done.
    #[cold]
    #[inline(never)]
    fn acquire_slow(
        &self,
        ctx: &Context,
        n: u64,
        ticket: u64,
        ready: &Receiver<()>,
    ) -> Result<(), ContextError> {
        select! {
            recv(ready) -> _ => {
                // Served. A cancellation that raced with it wins: give the tokens back.
                match ctx.err() {
                    Some(err) => {
                        self.release(n);
                        Err(err)
                    }
                    None => Ok(()),
                }
            },
            recv(ctx.done()) -> _ => {
                let mut state = self.state.lock();
                let front = state.waiters.keys().next() == Some(&ticket);
                if state.waiters.remove(&ticket).is_some() {
                    // Leaving the front may let the waiters behind it fit now.
                    if front && self.size > state.current {
                        self.notify_waiters(&mut state);
                    }
                } else {
                    // Served after all, as the context was cancelled: give the tokens back.
                    state.current -= n;
                    self.notify_waiters(&mut state);
                }
                Err(done_error(ctx))
            },
        }
    }

    /// Takes `n` tokens if they are free and nobody is waiting, without blocking (Go's
    /// `TryAcquire`); returns whether it did. A caller never jumps the queue.
    pub fn try_acquire(&self, n: u64) -> bool {
        let mut state = self.state.lock();
        let success = self.size - state.current >= n && state.waiters.is_empty();
        if success {
            state.current += n;
        }
        success
    }

    /// Gives back `n` tokens and serves the waiters that now fit, in arrival order (Go's
    /// `Release`).
    ///
    /// # Panics
    ///
    /// `semaphore: released more than held` when `n` is more than the tokens held now, as Go's
    /// does; the semaphore is left unchanged and usable.
    pub fn release(&self, n: u64) {
        let mut state = self.state.lock();
        let Some(current) = state.current.checked_sub(n) else {
            drop(state);
            panic!("semaphore: released more than held");
        };
        state.current = current;
        self.notify_waiters(&mut state);
    }

    /// Serves waiters from the front while their weights fit, stopping at the first that does
    /// not (Go's `notifyWaiters`).
    fn notify_waiters(&self, state: &mut State) {
        while let Some(entry) = state.waiters.first_entry() {
            if self.size - state.current < entry.get().n {
                // Not enough for the front waiter: the ones behind it wait too, however small
                // (module invariants: skipping ahead would starve large waiters).
                break;
            }
            let waiter = entry.remove();
            state.current += waiter.n;
            waiter.ready.close();
        }
    }
}

/// The error of `ctx` once its `done()` channel has closed. The context sets its error before
/// it closes the channel, so the fallback is never taken.
fn done_error(ctx: &Context) -> ContextError {
    ctx.err().unwrap_or(ContextError::Canceled)
}

impl fmt::Debug for Weighted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Weighted")
            .field("size", &self.size)
            .field("current", &state.current)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}
