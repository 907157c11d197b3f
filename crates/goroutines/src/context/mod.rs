//! `context`, after Go's `context/context.go`: cancellation, deadlines and request-scoped
//! values that flow down a tree of contexts to the goroutines working for one request, with
//! the cause of a cancellation (`with_cancel_cause`, `cause`), functions started once a
//! context is done ([`after_func`]) and children cut off from their parent's cancellation
//! (`without_cancel`).
//!
//! ```text
//!   background ── with_cancel ──┬── with_timeout(50 ms) ── with_value(RequestId)
//!                               ├── with_cancel_cause ── without_cancel ── with_cancel
//!                               └── after_func(f)   (an entry among the children, no context)
//!
//!   cancelling a node with (err, cause) (its CancelFunc, its deadline, or its parent's):
//!     lock node; err set? ─▶ done (cancelled already: the first cause stays)
//!     err, cause = why, (cause or why); close its done channel; for each child:
//!       a context:    cancel it with the same (err, cause) (parent before child: lock order)
//!       an after_func: take its function unless `stop` took it, and start it
//!     unlock; stop its deadline timer; unless a parent cancelled it, leave the parent's children
//! ```
//!
//! Invariants:
//! - A cancellable node's `done` channel is closed exactly when its `err` and `cause` are set,
//!   together and once, under its lock, and never reopened; its children are cancelled before
//!   that lock is released, with the same pair, so no child is left running under a cancelled
//!   parent and a subtree's cause is the cause of the first cancellation that reached it.
//! - A child (context or after_func) registers with its nearest cancellable ancestor under that
//!   ancestor's lock: either the ancestor is not cancelled yet and will cancel (or start) the
//!   child, or it is and the child is cancelled (or started) on the spot. Locks are taken parent
//!   before child only.
//! - An after_func's function is taken exactly once, under its own lock, which is taken last:
//!   by the cancellation that starts it, or by the `stop` that returns true. `stop` releases it
//!   before it takes the context's lock to remove the entry.
//! - Value and background nodes never change; they delegate `done`, `err`, `cause` and
//!   `deadline` to their nearest cancellable ancestor. A `without_cancel` node never changes
//!   either and ends that search (it answers as background does), but not the search for values.
//!
//! Differences from Go, each what a Rust programmer expects: a [`CancelFunc`] (and a
//! [`CancelCauseFunc`]) also cancels when dropped (Go's `defer cancel()`, and no registration
//! left behind by a forgotten call); values are keyed by their type, not by an `any` key; a
//! [`Cause`] is an `Arc<dyn Error + Send + Sync>`, see there; a [`StopFunc`] does not stop when
//! dropped, as Go's `stop` is a function one may ignore and `time::after_func`'s `Timer` does not.
//!
//! Parts: this file, the API (`Context`, its constructors and cancel functions); `tree.rs`, the
//! nodes and the cancellation that runs down them; `after_func.rs`, functions started when a
//! context is done.

mod after_func;
mod tree;

use std::any::TypeId;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use after_func::{after_func, StopFunc};
use tree::{lock, never_done, CancelState, Canceller, Child, Kind, Node, NEXT_ID};

use crate::chan::{chan, Receiver};

/// Why a context was cancelled (Go's `context.Canceled` and `context.DeadlineExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextError {
    /// Its [`CancelFunc`] (or an ancestor's) was called or dropped.
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// The cause of a cancellation (Go's `error` given to a `CancelCauseFunc` or a `*Cause`
/// constructor), read back with [`Context::cause`].
///
/// An `Arc` because one cause is shared: by every context of the subtree it cancelled and by
/// every caller of `cause`, across goroutines, without asking the error type for `Clone` (a
/// `Box` could not be handed out twice). A trait object rather than a type parameter, because
/// one tree carries causes from unrelated code, as Go's `error` does; `Send + Sync + 'static`
/// so it crosses goroutines and can be downcast. Any error becomes one with
/// `Arc::new(my_error)`, and a cause can be given on from one context to another unchanged. As
/// Go compares error values with `==`, a program can tell its own cause with [`Arc::ptr_eq`],
/// or by type with `downcast_ref`; a cancellation without a cause of its own has a
/// [`ContextError`] as its cause.
pub type Cause = Arc<dyn Error + Send + Sync + 'static>;

/// A context: a cancellation signal, maybe a deadline, and values, shared by the goroutines
/// that work for one request (Go's `context.Context`). Cheap to clone; every clone is the same
/// context.
///
/// ```
/// use std::time::Duration;
/// use goroutines::context::{Context, ContextError};
/// use goroutines::{go, select};
///
/// // SAFETY: these goroutines hold no thread-locals or std guards across blocking calls.
/// let why = unsafe {
///     goroutines::run(|| {
///         let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
///         let worker = go(move || {
///             let slow = goroutines::after(Duration::from_secs(60));
///             select! {
///                 recv(slow) -> _ => Ok("finished"),
///                 recv(ctx.done()) -> _ => Err(ctx.err().unwrap()),
///             }
///         });
///         worker.join().unwrap()
///     })
/// };
/// assert_eq!(why, Err(ContextError::DeadlineExceeded));
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

/// Cancels its context when called or dropped (Go's `CancelFunc`, used as `defer cancel()`).
/// Calling it again does nothing. Cancelling a context cancels its descendants, never its
/// ancestors.
#[must_use = "dropping a CancelFunc cancels its context at once"]
pub struct CancelFunc {
    node: Arc<Node>,
}

/// A [`CancelFunc`] that also sets the cause of the cancellation (Go's `CancelCauseFunc`);
/// dropped, it cancels with no cause of its own.
#[must_use = "dropping a CancelCauseFunc cancels its context at once"]
pub struct CancelCauseFunc {
    node: Arc<Node>,
}

impl Context {
    /// The root of every context tree: never cancelled, no deadline, no values (Go's
    /// `context.Background`).
    pub fn background() -> Context {
        static BACKGROUND: OnceLock<Context> = OnceLock::new();
        BACKGROUND
            .get_or_init(|| Context {
                node: Arc::new(Node {
                    parent: None,
                    kind: Kind::Background,
                }),
            })
            .clone()
    }

    /// A child cancelled by the returned [`CancelFunc`] or when this context is (Go's
    /// `context.WithCancel`).
    pub fn with_cancel(&self) -> (Context, CancelFunc) {
        let node = self.cancellable(None);
        (Context { node: node.clone() }, CancelFunc { node })
    }

    /// [`with_cancel`](Context::with_cancel) whose cancel function takes a cause, which
    /// [`cause`](Context::cause) then gives (Go's `context.WithCancelCause`).
    pub fn with_cancel_cause(&self) -> (Context, CancelCauseFunc) {
        let node = self.cancellable(None);
        (Context { node: node.clone() }, CancelCauseFunc { node })
    }

    /// A child cancelled at `deadline` too (Go's `context.WithDeadline`). A deadline later than
    /// this context's own is this context's; one already passed cancels the child at once.
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelFunc) {
        self.deadline_child(deadline, None)
    }

    /// [`with_deadline`](Context::with_deadline) whose deadline, when it cancels the child,
    /// gives it `cause` (Go's `context.WithDeadlineCause`). The [`CancelFunc`] sets no cause.
    pub fn with_deadline_cause(&self, deadline: Instant, cause: Cause) -> (Context, CancelFunc) {
        self.deadline_child(deadline, Some(cause))
    }

    /// [`with_deadline`](Context::with_deadline) at `timeout` from now (Go's
    /// `context.WithTimeout`).
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelFunc) {
        self.timeout_child(timeout, None)
    }

    /// [`with_deadline_cause`](Context::with_deadline_cause) at `timeout` from now (Go's
    /// `context.WithTimeoutCause`).
    pub fn with_timeout_cause(&self, timeout: Duration, cause: Cause) -> (Context, CancelFunc) {
        self.timeout_child(timeout, Some(cause))
    }

    /// A child that carries `value`, found by [`value`](Context::value) with its type (Go's
    /// `context.WithValue`, whose key here is the type). It shadows an ancestor's value of the
    /// same type.
    pub fn with_value<T: Send + Sync + 'static>(&self, value: T) -> Context {
        self.child(Kind::Value {
            key: TypeId::of::<T>(),
            value: Box::new(value),
        })
    }

    /// A child with this context's values that is never cancelled, has no deadline and no
    /// cause, whatever happens to this context (Go's `context.WithoutCancel`). Its own
    /// descendants can be cancelled as usual.
    pub fn without_cancel(&self) -> Context {
        self.child(Kind::WithoutCancel)
    }

    /// A channel closed when this context is cancelled, for `select!` (Go's `Done`). A context
    /// that can never be cancelled gives one that is never closed.
    pub fn done(&self) -> &Receiver<()> {
        match self.node.canceller() {
            Some(c) => &c.done,
            None => never_done(),
        }
    }

    /// Why this context was cancelled; None while it is not (Go's `Err`). Always
    /// [`ContextError`], whatever the [`cause`](Context::cause).
    pub fn err(&self) -> Option<ContextError> {
        let c = self.node.canceller()?;
        lock(&c.state).err.as_ref().map(|(err, _)| *err)
    }

    /// What cancelled this context; None while it is not cancelled (Go's `context.Cause`).
    /// The first cancellation to reach it decides: a cause given to a [`CancelCauseFunc`] or
    /// by [`with_deadline_cause`](Context::with_deadline_cause)'s deadline, the parent's cause
    /// when the parent cancelled it, else its [`err`](Context::err) as a [`ContextError`].
    pub fn cause(&self) -> Option<Cause> {
        let c = self.node.canceller()?;
        lock(&c.state).err.as_ref().map(|(_, cause)| cause.clone())
    }

    /// When this context will be cancelled by a deadline, if it has one (Go's `Deadline`).
    pub fn deadline(&self) -> Option<Instant> {
        let mut node = &self.node;
        loop {
            match &node.kind {
                Kind::Cancel(Canceller {
                    deadline: Some(deadline),
                    ..
                }) => return Some(*deadline),
                Kind::WithoutCancel => return None,
                _ => node = node.parent.as_ref()?,
            }
        }
    }

    /// The value of type `T` set by the nearest [`with_value`](Context::with_value) on the way to
    /// the root (Go's `Value`).
    pub fn value<T: 'static>(&self) -> Option<&T> {
        let mut node = &self.node;
        loop {
            if let Kind::Value { key, value } = &node.kind {
                if *key == TypeId::of::<T>() {
                    return value.downcast_ref();
                }
            }
            node = node.parent.as_ref()?;
        }
    }

    /// A child node that never changes.
    fn child(&self, kind: Kind) -> Context {
        Context {
            node: Arc::new(Node {
                parent: Some(self.node.clone()),
                kind,
            }),
        }
    }

    /// Go's `WithDeadlineCause`: `cause` (None: `DeadlineExceeded`) goes with the deadline's
    /// cancellation only.
    fn deadline_child(&self, deadline: Instant, cause: Option<Cause>) -> (Context, CancelFunc) {
        if self.deadline().is_some_and(|current| current < deadline) {
            return self.with_cancel();
        }
        let node = self.cancellable(Some(deadline));
        let cancel = CancelFunc { node: node.clone() };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            node.cancel(true, ContextError::DeadlineExceeded, cause);
            return (Context { node }, cancel);
        }
        if let Kind::Cancel(c) = &node.kind {
            let mut state = lock(&c.state);
            if state.err.is_none() {
                let weak = Arc::downgrade(&node);
                state.timer = Some(crate::time::after_func(left, move || {
                    if let Some(node) = weak.upgrade() {
                        node.cancel(true, ContextError::DeadlineExceeded, cause.clone());
                    }
                }));
            }
        }
        (Context { node }, cancel)
    }

    fn timeout_child(&self, timeout: Duration, cause: Option<Cause>) -> (Context, CancelFunc) {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.deadline_child(deadline, cause),
            // Too far to represent: no deadline at all.
            None => self.with_cancel(),
        }
    }

    /// Go's `withCancel` and `propagateCancel`: a cancellable child, registered with the
    /// nearest cancellable ancestor (or cancelled at once, with its cause, if that one already
    /// is).
    fn cancellable(&self, deadline: Option<Instant>) -> Arc<Node> {
        let (closer, done) = chan(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let node = Arc::new(Node {
            parent: Some(self.node.clone()),
            kind: Kind::Cancel(Canceller {
                id,
                deadline,
                done,
                state: Mutex::new(CancelState {
                    closer,
                    err: None,
                    children: HashMap::new(),
                    timer: None,
                }),
            }),
        });
        if let Some(parent) = self.node.canceller() {
            let mut state = lock(&parent.state);
            match &state.err {
                Some((err, cause)) => node.cancel(false, *err, Some(cause.clone())),
                None => {
                    state
                        .children
                        .insert(id, Child::Context(Arc::downgrade(&node)));
                }
            }
        }
        node
    }

    /// Children registered with this context's own cancellation (for tests of the tree).
    #[cfg(test)]
    fn registered_children(&self) -> usize {
        match &self.node.kind {
            Kind::Cancel(c) => lock(&c.state).children.len(),
            _ => 0,
        }
    }
}

impl CancelFunc {
    /// Cancels the context and its descendants, with [`ContextError::Canceled`] unless it
    /// was already cancelled (Go's `cancel()`).
    pub fn cancel(&self) {
        self.node.cancel(true, ContextError::Canceled, None);
    }
}

impl Drop for CancelFunc {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl CancelCauseFunc {
    /// Cancels the context and its descendants with [`ContextError::Canceled`] and `cause`
    /// (None, Go's nil: the cause is `Canceled` too), unless it was already cancelled, whose
    /// cause then stays (Go's `cancel(cause)`).
    pub fn cancel(&self, cause: Option<Cause>) {
        self.node.cancel(true, ContextError::Canceled, cause);
    }
}

impl Drop for CancelCauseFunc {
    fn drop(&mut self) {
        self.cancel(None);
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelFunc")
    }
}

impl fmt::Debug for CancelCauseFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelCauseFunc")
    }
}

impl fmt::Debug for Context {
    /// Go's `String`: the path from the root, as `context.Background.WithCancel.WithValue(T)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        let mut node = Some(&self.node);
        while let Some(n) = node {
            names.push(match &n.kind {
                Kind::Background => "context.Background",
                Kind::Value { .. } => "WithValue",
                Kind::Cancel(Canceller {
                    deadline: Some(_), ..
                }) => "WithDeadline",
                Kind::Cancel(_) => "WithCancel",
                Kind::WithoutCancel => "WithoutCancel",
            });
            node = n.parent.as_ref();
        }
        names.reverse();
        f.write_str(&names.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `TestWithCancel` checks `len(p.children)`: a child leaves its parent's set when it
    /// is cancelled by its own `CancelFunc`, and the set empties when the parent is cancelled.
    #[test]
    fn children_leave_the_parent_when_cancelled() {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (_a, cancel_a) = parent.with_cancel();
        let (_b, cancel_b) = parent.with_value(7u8).with_timeout(Duration::from_secs(60));
        let (_c, _cancel_c) = parent.with_cancel();
        assert_eq!(parent.registered_children(), 3);
        cancel_a.cancel();
        drop(cancel_b);
        assert_eq!(parent.registered_children(), 1);
        cancel_parent.cancel();
        assert_eq!(parent.registered_children(), 0);
        // A child made under a cancelled parent is cancelled at once and never registered.
        let (late, _cancel_late) = parent.with_cancel();
        assert_eq!(late.err(), Some(ContextError::Canceled));
        assert_eq!(parent.registered_children(), 0);
    }

    /// Go's `TestCustomContextAfterFuncUnregisterAfterFunc` and `...UnregisterCancel`, on our
    /// own contexts: an after_func is registered with the nearest cancellable ancestor (through
    /// value nodes), its `stop` takes it out, and a `without_cancel` child registers nothing.
    #[test]
    fn after_funcs_leave_the_context_when_stopped() {
        let (ctx, _cancel) = Context::background().with_cancel_cause();
        let first = after_func(&ctx.with_value(1u8), || {});
        let _second = after_func(&ctx, || {});
        let _detached = ctx.without_cancel().with_cancel();
        let _never = after_func(&ctx.without_cancel(), || {});
        assert_eq!(ctx.registered_children(), 2);
        assert!(first.stop());
        assert_eq!(ctx.registered_children(), 1);
        assert!(!first.stop());
        assert_eq!(ctx.registered_children(), 1);
    }
}
