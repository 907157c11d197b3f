//! Waiters: the one way every blocking primitive (channels, select, join, sync) waits, whether
//! the caller is a goroutine or a plain OS thread.
//!
//! A goroutine parks with `gopark`, and the lock that guards the queue it waits on is released by
//! the M after the switch, so a waker can never resume a G still on its own stack. A plain thread
//! releases the lock and parks its thread until a token arrives; wakers hand out exactly one token
//! per wait because they take the waiter off its queue, under that queue's lock, before waking it.
//!
//! Foreign threads and deadlock detection. A goroutine runtime cannot know whether some plain
//! thread will later send on a channel, so it counts the plain threads that have used a goroutine
//! primitive and are not blocked in one right now (`FOREIGN_RUNNING`). The deadlock check fires
//! only when that count is zero. The waker adds one for the thread it wakes before it wakes it, so
//! there is no moment where a woken thread counts as blocked.

use std::sync::Arc;
use std::thread::{self, Thread};

use super::g::{current_g, gopark, goready, GRef, WaitReason};
use super::proc::checkdead_all;
use crate::loom::{AtomicBool, AtomicIsize, Ordering};

/// Plain threads that have used a goroutine primitive and are not blocked in one.
pub(crate) static FOREIGN_RUNNING: AtomicIsize = AtomicIsize::new(0);
/// Plain threads blocked in a goroutine primitive now.
pub(crate) static FOREIGN_BLOCKED: AtomicIsize = AtomicIsize::new(0);

/// A plain thread stops running: it is about to block in a goroutine primitive.
fn foreign_blocks() {
    FOREIGN_BLOCKED.fetch_add(1, Ordering::SeqCst);
    FOREIGN_RUNNING.fetch_sub(1, Ordering::SeqCst);
}

/// A plain thread runs again (counted by its waker, before the wake-up, or by itself when it
/// did not block after all).
fn foreign_runs() {
    FOREIGN_RUNNING.fetch_add(1, Ordering::SeqCst);
    FOREIGN_BLOCKED.fetch_sub(1, Ordering::SeqCst);
}

/// A plain OS thread's wake-up token.
pub(crate) struct ThreadWaiter {
    thread: Thread,
    notified: AtomicBool,
}

/// Whoever waits: a goroutine or a plain thread.
#[derive(Clone)]
pub(crate) enum Waiter {
    G(GRef),
    Thread(Arc<ThreadWaiter>),
}

// SAFETY: a GRef is a pointer to a G, which is Sync and lives as long as its runtime (the
// process); handing one to another thread is how goroutines are woken.
unsafe impl Send for Waiter {}
// SAFETY: as above; a Waiter is only read, never mutated, through a shared reference.
unsafe impl Sync for Waiter {}

struct ForeignRegistration {
    waiter: Arc<ThreadWaiter>,
}

impl Drop for ForeignRegistration {
    fn drop(&mut self) {
        FOREIGN_RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

thread_local! {
    static FOREIGN_OWNER: std::cell::OnceCell<Box<ForeignRegistration>> = const { std::cell::OnceCell::new() };
}

/// Registers the calling plain thread as one that uses goroutine primitives (once per thread) and
/// returns its waiter.
fn foreign_waiter() -> Arc<ThreadWaiter> {
    FOREIGN_OWNER.with(|owner| {
        owner
            .get_or_init(|| {
                FOREIGN_RUNNING.fetch_add(1, Ordering::SeqCst);
                Box::new(ForeignRegistration {
                    waiter: Arc::new(ThreadWaiter {
                        thread: thread::current(),
                        notified: AtomicBool::new(false),
                    }),
                })
            })
            .waiter
            .clone()
    })
}

/// Marks the calling plain thread as a user of goroutine primitives, so the deadlock check knows it
/// may still wake someone. Cheap after the first call.
pub(crate) fn register_foreign_thread() {
    if current_g().is_none() {
        let _ = foreign_waiter();
    }
}

impl Waiter {
    /// The caller, as a waiter.
    pub(crate) fn current() -> Waiter {
        match current_g() {
            Some(g) => Waiter::G(g),
            None => Waiter::Thread(foreign_waiter()),
        }
    }

    /// Wakes the waiter. Called exactly once per wait, after taking it off its queue.
    pub(crate) fn wake(self) {
        match self {
            Waiter::G(g) => goready(g),
            Waiter::Thread(t) => {
                foreign_runs();
                t.notified.store(true, Ordering::Release);
                t.thread.unpark();
            }
        }
    }
}

/// Blocks the caller (which must be `waiter`, from `Waiter::current`) until its waiter is woken.
/// `unlock` makes the waiter reachable to wakers (usually by dropping a lock guard); it runs after
/// the goroutine has switched away, or before a plain thread parks.
pub(crate) fn block<U: FnOnce()>(waiter: &Waiter, reason: WaitReason, unlock: U) {
    match waiter {
        Waiter::G(_) => gopark(reason, move |_| {
            unlock();
            true
        }),
        Waiter::Thread(t) => {
            foreign_blocks();
            unlock();
            checkdead_all();
            while !t.notified.swap(false, Ordering::Acquire) {
                thread::park();
            }
        }
    }
}

/// Like `block`, but `park` decides, once the waiter is safely off its stack (or, for a thread,
/// just before it parks), whether to wait at all: it returns false when the condition it waits
/// for already holds, and the caller goes on at once.
pub(crate) fn block_if<P: FnOnce() -> bool>(waiter: &Waiter, reason: WaitReason, park: P) {
    match waiter {
        Waiter::G(_) => gopark(reason, move |_| park()),
        Waiter::Thread(t) => {
            foreign_blocks();
            if !park() {
                foreign_runs();
                return;
            }
            checkdead_all();
            while !t.notified.swap(false, Ordering::Acquire) {
                thread::park();
            }
        }
    }
}
