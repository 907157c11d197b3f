//! `errgroup`, after Go's `golang.org/x/sync/errgroup`: goroutines working on subtasks of one
//! task, the first error kept, the group's context cancelled by it, and an optional limit on
//! how many run at once.
//!
//! ```text
//!   Group { inner: Arc { wg, first error, first panic, cancel of the group's context, slots } }
//!   go(f):   take a slot (waits at the limit); wg.add(1); go { run f; keep the first error
//!            (and cancel) or panic; give the slot back; wg.done() }
//!   wait():  wg.wait(); cancel the context; re-raise the first panic, else return the first error
//! ```
//!
//! Differences from Go, each what a Rust programmer expects: a panic in a subtask is caught and
//! raised again by `wait` (Go's errgroup lets it crash the program), and the error type is a
//! type parameter.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};

use crate::chan::{chan, Receiver, Sender};
use crate::context::{CancelFunc, Context};
use crate::sync::WaitGroup;

/// A group of goroutines working on subtasks of one task (Go's `errgroup.Group`). Call its
/// methods from goroutines: [`go`](Group::go) starts one.
///
/// ```
/// use goroutines::context::Context;
/// use goroutines::errgroup::Group;
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let outcome = unsafe {
///     goroutines::run(|| {
///         let (group, ctx) = Group::with_context(&Context::background());
///         for i in 0..4 {
///             let ctx = ctx.clone();
///             group.go(move || {
///                 if i == 2 {
///                     return Err(format!("subtask {i} failed"));
///                 }
///                 // The others see the group's context cancelled by the failure.
///                 ctx.done().recv().ok();
///                 Ok(())
///             });
///         }
///         group.wait()
///     })
/// };
/// assert_eq!(outcome, Err("subtask 2 failed".to_string()));
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    outcome: Mutex<Outcome<E>>,
    /// Cancels the context of [`Group::with_context`].
    cancel: Option<CancelFunc>,
    /// With a limit: a buffered channel holding one token per running subtask.
    slots: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

struct Outcome<E> {
    error: Option<E>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<E: Send + 'static> Group<E> {
    /// A group with no context and no limit (Go's zero `Group`).
    pub fn new() -> Group<E> {
        Group::with_cancel(None)
    }

    /// A group, and a child of `parent` that is cancelled by the first subtask to fail (or to
    /// panic), or once [`wait`](Group::wait) returns (Go's `errgroup.WithContext`).
    pub fn with_context(parent: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = parent.with_cancel();
        (Group::with_cancel(Some(cancel)), ctx)
    }

    fn with_cancel(cancel: Option<CancelFunc>) -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                outcome: Mutex::new(Outcome {
                    error: None,
                    panic: None,
                }),
                cancel,
                slots: Mutex::new(None),
            }),
        }
    }

    /// Limits the subtasks running at once to `n` (Go's `SetLimit`); `None` removes the
    /// limit.
    ///
    /// # Panics
    ///
    /// While subtasks of the group are running, as Go's `SetLimit` does.
    pub fn set_limit(&self, n: Option<usize>) {
        let mut slots = self.lock_slots();
        if slots.as_ref().is_some_and(|(tx, _)| !tx.is_empty()) {
            panic!("errgroup: modify limit while goroutines are still active");
        }
        *slots = n.map(chan);
    }

    /// Runs `f` in a new goroutine (Go's `Group.Go`), waiting first for a free slot when the
    /// group has a limit. The first error any subtask returns is kept for
    /// [`wait`](Group::wait), and cancels the group's context.
    ///
    /// # Panics
    ///
    /// Outside a goroutine, as [`go`](crate::go) does; with a limit of 0, where it would wait
    /// forever (Go deadlocks).
    pub fn go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) {
        let slot = self.slots();
        if let Some((tx, _)) = &slot {
            assert!(tx.capacity() > 0, "errgroup: Go with a limit of 0");
            // A send on the full channel waits until a running subtask gives its slot back.
            tx.send(()).ok();
        }
        self.start(f, slot.map(|(_, rx)| rx));
    }

    /// Runs `f` in a new goroutine only if the group's limit allows it now (Go's `TryGo`);
    /// returns whether it started.
    pub fn try_go(&self, f: impl FnOnce() -> Result<(), E> + Send + 'static) -> bool {
        let slot = self.slots();
        if let Some((tx, _)) = &slot {
            if tx.try_send(()).is_err() {
                return false;
            }
        }
        self.start(f, slot.map(|(_, rx)| rx));
        true
    }

    fn start(
        &self,
        f: impl FnOnce() -> Result<(), E> + Send + 'static,
        slot: Option<Receiver<()>>,
    ) {
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        crate::go(move || {
            let ran = panic::catch_unwind(AssertUnwindSafe(f));
            {
                let mut outcome = inner.outcome.lock().unwrap_or_else(PoisonError::into_inner);
                let first = outcome.error.is_none() && outcome.panic.is_none();
                match ran {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) if first => outcome.error = Some(error),
                    Err(payload) if first => outcome.panic = Some(payload),
                    Ok(Err(_)) | Err(_) => {}
                }
                if first && (outcome.error.is_some() || outcome.panic.is_some()) {
                    if let Some(cancel) = &inner.cancel {
                        cancel.cancel();
                    }
                }
            }
            if let Some(slot) = slot {
                slot.try_recv().ok();
            }
            inner.wg.done();
        });
    }

    /// Waits for every subtask started so far, cancels the group's context, and returns the
    /// first error (Go's `Group.Wait`). The error is handed over once: a later `wait` returns
    /// `Ok` unless another subtask failed since.
    ///
    /// # Panics
    ///
    /// With the payload of the first subtask that panicked, if one did before any failed.
    pub fn wait(&self) -> Result<(), E> {
        self.inner.wg.wait();
        if let Some(cancel) = &self.inner.cancel {
            cancel.cancel();
        }
        let mut outcome = self
            .inner
            .outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(payload) = outcome.panic.take() {
            drop(outcome);
            panic::resume_unwind(payload);
        }
        match outcome.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The limit's channel, if the group has a limit (cloned out of the lock).
    fn slots(&self) -> Option<(Sender<()>, Receiver<()>)> {
        self.lock_slots().clone()
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, Option<(Sender<()>, Receiver<()>)>> {
        self.inner
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Group<E> {
        Group::new()
    }
}

impl<E> std::fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}
