//! Functions started once a context is done (Go's `context.AfterFunc` and its `afterFuncCtx`):
//! each is an entry among its context's children, taken exactly once, by the cancellation that
//! starts it or by the `stop` that returns true (the module's essay, `context/mod.rs`).

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use super::tree::{lock, Child, Node, NEXT_ID};
use super::Context;
use crate::runtime::proc::Sched;
use crate::runtime::{current_sched, spawn_detached};

/// A function registered by [`after_func`] (Go's `afterFuncCtx`).
pub(super) struct AfterFunc {
    /// Identifies it among its context's children.
    pub(super) id: u64,
    /// Taken once (Go's `once`): by the cancellation that starts it, or by `stop`.
    pub(super) f: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// The runtime of the goroutine that registered it; None: a plain thread did.
    pub(super) sched: Option<&'static Sched>,
}

/// Stops an [`after_func`] from starting its function (Go's `stop func() bool`). Dropping it
/// stops nothing: the function still starts when the context is done.
pub struct StopFunc {
    /// The context the function waits on, whose children hold it.
    ctx: Arc<Node>,
    after: Arc<AfterFunc>,
}

impl AfterFunc {
    /// The function, unless a cancellation or `stop` took it first.
    fn take(&self) -> Option<Box<dyn FnOnce() + Send>> {
        self.f.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Go's `go a.f()`: starts the function, if nothing took it, in a goroutine of the runtime
    /// that registered it, or on a thread of its own if a plain thread did (as
    /// `time::after_func` does, whose helper also drops a call the OS gives no thread for).
    pub(super) fn start(&self) {
        let Some(f) = self.take() else {
            return;
        };
        match self.sched {
            Some(sched) => spawn_detached(sched, f),
            None => {
                let _ = std::thread::Builder::new()
                    .name("goroutines-after-func".into())
                    .spawn(f);
            }
        }
    }
}

/// Starts `f` in a goroutine of its own once `ctx` is done, or at once if it is already (Go's
/// `context.AfterFunc`). Registered from a goroutine, `f` runs as a goroutine of the same
/// runtime; from a plain thread, on a thread of its own (as [`time::after_func`] does).
///
/// Each call is independent of the others on the same context. The returned [`StopFunc`]
/// stops `f` from starting; dropping it does not. Until `ctx` is done or `stop` is called, `f`
/// is kept by `ctx`: a function that holds the only cancel function of the context it waits
/// on keeps both alive. On a context that is never cancelled, `f` never starts.
///
/// [`time::after_func`]: crate::time::after_func
///
/// ```
/// use goroutines::chan;
/// use goroutines::context::{after_func, Context};
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// unsafe {
///     goroutines::run(|| {
///         let (ctx, cancel) = Context::background().with_cancel();
///         let (tx, rx) = chan(1);
///         let _stop = after_func(&ctx, move || tx.send("cleaned up").unwrap());
///         cancel.cancel();
///         assert_eq!(rx.recv(), Ok("cleaned up"));
///     })
/// };
/// ```
pub fn after_func(ctx: &Context, f: impl FnOnce() + Send + 'static) -> StopFunc {
    let after = Arc::new(AfterFunc {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        f: Mutex::new(Some(Box::new(f))),
        sched: current_sched(),
    });
    if let Some(c) = ctx.node.canceller() {
        let mut state = lock(&c.state);
        match state.err {
            Some(_) => after.start(),
            None => {
                state
                    .children
                    .insert(after.id, Child::AfterFunc(after.clone()));
            }
        }
    }
    StopFunc {
        ctx: ctx.node.clone(),
        after,
    }
}

impl StopFunc {
    /// Stops the function from starting (Go's `stop()`) and drops it. Returns true if this call
    /// stopped it; false if the context is done and the function has been started, or it was
    /// stopped already. Does not wait for a started function to return.
    pub fn stop(&self) -> bool {
        if self.after.take().is_none() {
            return false;
        }
        if let Some(c) = self.ctx.canceller() {
            lock(&c.state).children.remove(&self.after.id);
        }
        true
    }
}

impl fmt::Debug for StopFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StopFunc")
    }
}
