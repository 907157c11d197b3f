//! The `Python` token (PyO3's word for "this thread holds the GIL") and attaching threads.
//!
//! ```text
//!   attached, holding the GIL ----- py.check(): eval_breaker set? -> drop_gil, take_gil
//!        |          ^
//!        | drop_gil | take_gil        py.allow_threads(f), py.sleep(d), io::recv/sendall,
//!        v          |                 JoinHandle::join, release_gil() (Py_BEGIN/END_ALLOW_THREADS)
//!   attached, GIL released --------- f runs; other threads may run Python
//! ```
//!
//! # Invariants
//!
//! - A `Python<'py>` exists only on a thread that is attached and, with the GIL on, holds the
//!   GIL: tokens are handed out by `spawn` and `with_gil` only, and are neither `Send` nor `Sync`,
//!   so the closures of `allow_threads` (which must be `Send`) cannot use one while the GIL is
//!   released.
//! - The thread-local `CURRENT` names the interpreter and thread state the calling thread is
//!   attached to while it holds the GIL, and is empty while the GIL is released. Blocking calls
//!   that do not take a token ([`crate::JoinHandle::join`]) use it to release the GIL as CPython's
//!   `Thread.join` does.
//! - Every release is matched by a take before the token can be used again, also when the
//!   closure panics (a guard re-takes the GIL during unwinding), and a thread that ends, normally
//!   or by panic, drops the GIL for good without waiting for a forced switch (CPython's
//!   `drop_gil(NULL)`).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use probe::trace::{self, EventKind};

use crate::account::ThreadState;
use crate::interpreter::{GilMode, Interpreter, Shared};

thread_local! {
    /// The interpreter and thread state this thread is attached to, while it holds the GIL.
    static CURRENT: RefCell<Option<Attachment>> = const { RefCell::new(None) };
}

/// A thread's attachment to an interpreter.
#[derive(Clone, Debug)]
struct Attachment {
    shared: Arc<Shared>,
    state: Arc<ThreadState>,
}

impl Attachment {
    /// `take_gil` (gil=on), or only the account and trace (gil=off).
    fn acquire(&self) {
        match self.shared.mode {
            GilMode::On => self.shared.gil.take(&self.state),
            GilMode::Off => {
                self.state.taken();
                if trace::enabled() {
                    trace::record(EventKind::RunBegin {
                        task: self.state.ident,
                        proc_id: 0,
                    });
                }
            }
        }
    }

    /// `drop_gil`; `exiting` for the last drop of an ending thread.
    fn release(&self, exiting: bool) {
        match self.shared.mode {
            GilMode::On => {
                self.shared.gil.drop(&self.state, exiting);
            }
            GilMode::Off => {
                self.state.dropped(false);
                if trace::enabled() {
                    trace::record(EventKind::RunEnd {
                        task: self.state.ident,
                        proc_id: 0,
                    });
                }
            }
        }
    }
}

/// The ident of the thread state the calling thread holds the GIL with, if any.
pub(crate) fn current_ident() -> Option<u64> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|a| a.state.ident))
        .ok()
        .flatten()
}

/// Releases the GIL if the calling thread holds one; the returned guard takes it back.
pub(crate) fn release_current() -> Option<Reattach> {
    let attachment = CURRENT
        .try_with(|current| current.borrow_mut().take())
        .ok()
        .flatten()?;
    attachment.release(false);
    Some(Reattach(attachment))
}

/// Releases the GIL the calling thread holds, until the returned guard is dropped:
/// `Py_BEGIN_ALLOW_THREADS` ... `Py_END_ALLOW_THREADS` for code that has no token at hand, such
/// as a hook an event loop calls around its wait for I/O (CPython's `selectmodule.c` releases
/// the GIL around `epoll_wait` this way, the one place a running asyncio loop lets go of it).
///
/// Returns `None`, and does nothing, on a thread that holds no GIL. While the guard lives the
/// thread must run no Python code: a [`Python`] token of an enclosing scope is still in scope
/// but stands for nothing until the guard is dropped. Misusing it is a modelling error, not
/// undefined behaviour (the GIL here orders threads; it guards no memory). Prefer
/// [`Python::allow_threads`] where a token is at hand: it rules that misuse out.
pub fn release_gil() -> Option<GilReleased> {
    release_current().map(|reattach| GilReleased {
        _reattach: reattach,
        _not_send: PhantomData,
    })
}

/// The GIL released by [`release_gil`]; dropping it takes the GIL back (also during unwinding).
/// It stays on the thread that released the GIL.
#[derive(Debug)]
#[must_use = "the GIL is taken back as soon as the guard is dropped"]
pub struct GilReleased {
    _reattach: Reattach,
    _not_send: PhantomData<*mut ()>,
}

/// Takes the GIL back when dropped (also during unwinding), and marks the thread attached again.
#[derive(Debug)]
pub(crate) struct Reattach(Attachment);

impl Drop for Reattach {
    fn drop(&mut self) {
        self.0.acquire();
        let attachment = self.0.clone();
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = Some(attachment));
    }
}

/// A thread attached to an interpreter for as long as this lives on its stack.
#[derive(Debug)]
pub(crate) struct Attached {
    attachment: Attachment,
}

impl Attached {
    /// Attaches the calling thread as `state` and takes the GIL (`PyEval_AcquireThread`).
    ///
    /// The caller has checked that the thread is not attached already.
    pub(crate) fn attach(shared: Arc<Shared>, state: Arc<ThreadState>) -> Attached {
        let attachment = Attachment { shared, state };
        attachment.acquire();
        let current = attachment.clone();
        let _ = CURRENT.try_with(|slot| *slot.borrow_mut() = Some(current));
        Attached { attachment }
    }

    /// The token for this attachment.
    pub(crate) fn python(&self) -> Python<'_> {
        Python {
            eval_breaker: &self.attachment.shared.gil.eval_breaker,
            attached: self,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Attached {
    /// Detaches for good: drops the GIL without a forced-switch wait (`drop_gil(NULL)`).
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|slot| slot.borrow_mut().take());
        self.attachment.release(true);
    }
}

/// Proof that the calling thread is attached to an interpreter and holds its GIL: PyO3's
/// `Python<'py>`.
///
/// Hand it down to whatever runs Python code. It is `Copy`, and neither `Send` nor `Sync`.
#[derive(Clone, Copy, Debug)]
pub struct Python<'py> {
    eval_breaker: &'py AtomicBool,
    attached: &'py Attached,
    _not_send: PhantomData<*mut ()>,
}

impl<'py> Python<'py> {
    /// A check point (the eval-breaker check CPython makes at a loop back-edge and after most
    /// calls): if another thread has asked for the GIL, drop it, let that thread run, and take it
    /// back. When nothing is asked this is one relaxed load.
    ///
    /// Code that never calls this holds the GIL until it blocks or ends, like a long C call.
    #[inline]
    pub fn check(self) {
        if self.eval_breaker.load(Ordering::Relaxed) {
            self.handle_pending();
        }
    }

    /// `_Py_HandlePending`'s GIL part: on a drop request, `drop_gil` then `take_gil`.
    #[cold]
    #[inline(never)]
    fn handle_pending(self) {
        let attachment = &self.attached.attachment;
        if attachment.shared.gil.drop_requested() {
            attachment.release(false);
            attachment.acquire();
        }
    }

    /// Releases the GIL while `f` runs and takes it back after (`Py_BEGIN_ALLOW_THREADS` ...
    /// `Py_END_ALLOW_THREADS`), as CPython does around blocking I/O, `time.sleep` and blocking
    /// lock acquires. Other threads run Python code meanwhile.
    ///
    /// `f` must be `Send`, so it cannot use this token. If `f` panics, the GIL is taken back
    /// before the panic goes on.
    pub fn allow_threads<T, F>(self, f: F) -> T
    where
        F: Send + FnOnce() -> T,
        T: Send,
    {
        let _reattach = release_current();
        f()
    }

    /// `time.sleep(duration)`: sleeps with the GIL released.
    pub fn sleep(self, duration: Duration) {
        self.allow_threads(|| std::thread::sleep(duration));
    }

    /// A handle on the interpreter this thread is attached to (to spawn more threads).
    pub fn interpreter(self) -> Interpreter {
        Interpreter::from_shared(Arc::clone(&self.attached.attachment.shared))
    }

    /// The name of the calling thread (`Thread-N`, `MainThread`, ...).
    pub fn thread_name(self) -> &'py str {
        &self.attached.attachment.state.name
    }

    /// The calling thread's ident: its row in the account, its task id in traces.
    pub fn thread_ident(self) -> u64 {
        self.attached.attachment.state.ident
    }
}
