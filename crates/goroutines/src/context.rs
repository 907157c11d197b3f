//! `context`, after Go's `context/context.go`: cancellation, deadlines and request-scoped
//! values that flow down a tree of contexts to the goroutines working for one request.
//!
//! ```text
//!   background ── with_cancel ──┬── with_timeout(50 ms) ── with_value(RequestId)
//!                               └── with_cancel
//!
//!   cancelling a node (its CancelFunc, its deadline, or its parent's cancellation):
//!     lock node; err set? ─▶ done (cancelled already)
//!     err = why; close its done channel; cancel every child (parent before child: lock order)
//!     unlock; stop its deadline timer; unless a parent cancelled it, leave the parent's children
//! ```
//!
//! Invariants:
//! - A cancellable node's `done` channel is closed exactly when its `err` is set, under its
//!   lock, and never reopened; its children are cancelled before that lock is released, so no
//!   child is left running under a cancelled parent.
//! - A child registers with its nearest cancellable ancestor under that ancestor's lock: either
//!   the ancestor is not cancelled yet and will cancel the child, or it is and the child is
//!   cancelled on the spot. Locks are taken parent before child only.
//! - Value and background nodes never change; they delegate `done`, `err` and `deadline` to
//!   their nearest cancellable ancestor.
//!
//! Differences from Go, each what a Rust programmer expects: a [`CancelFunc`] also cancels when
//! dropped (Go's `defer cancel()`, and no registration left behind by a forgotten call); values
//! are keyed by their type, not by an `any` key; `Cause`, `AfterFunc` and `WithoutCancel` are not
//! offered.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::chan::{chan, Receiver, Sender};
use crate::time::{after_func, Timer};

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

struct Node {
    parent: Option<Arc<Node>>,
    kind: Kind,
}

enum Kind {
    /// The root: never cancelled, no deadline, no values.
    Background,
    /// One value, found by its type.
    Value {
        key: TypeId,
        value: Box<dyn Any + Send + Sync>,
    },
    /// Go's `cancelCtx` (and, with a deadline, `timerCtx`).
    Cancel(Canceller),
}

struct Canceller {
    /// Identifies it among its parent's children.
    id: u64,
    /// Its own deadline (None: it has none of its own; an ancestor's may apply).
    deadline: Option<Instant>,
    /// Closed when cancelled.
    done: Receiver<()>,
    state: Mutex<CancelState>,
}

struct CancelState {
    /// The sending side of `done`; closed when cancelled.
    closer: Sender<()>,
    err: Option<ContextError>,
    /// Cancellable descendants whose nearest cancellable ancestor this is.
    children: HashMap<u64, Weak<Node>>,
    /// Cancels this node at its deadline.
    timer: Option<Timer>,
}

/// Cancels its context when called or dropped (Go's `CancelFunc`, used as `defer cancel()`).
/// Calling it again does nothing. Cancelling a context cancels its descendants, never its
/// ancestors.
#[must_use = "dropping a CancelFunc cancels its context at once"]
pub struct CancelFunc {
    node: Arc<Node>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The `done` channel of contexts that are never cancelled: never closed (Go returns nil).
fn never_done() -> &'static Receiver<()> {
    static NEVER: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
    &NEVER.get_or_init(|| chan(0)).1
}

fn lock(state: &Mutex<CancelState>) -> MutexGuard<'_, CancelState> {
    // Every update leaves the state consistent before anything that could panic.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Node {
    /// This node or its nearest ancestor that can be cancelled.
    fn canceller(self: &Arc<Node>) -> Option<&Canceller> {
        let mut node = self;
        loop {
            if let Kind::Cancel(c) = &node.kind {
                return Some(c);
            }
            node = node.parent.as_ref()?;
        }
    }

    /// Go's `cancelCtx.cancel`: the first call sets `err`, closes `done` and cancels the
    /// children; `remove_from_parent` when cancelled by its own `CancelFunc` or deadline.
    fn cancel(self: &Arc<Node>, remove_from_parent: bool, err: ContextError) {
        let Kind::Cancel(c) = &self.kind else {
            return;
        };
        let timer = {
            let mut state = lock(&c.state);
            if state.err.is_some() {
                return;
            }
            state.err = Some(err);
            state.closer.close();
            for child in std::mem::take(&mut state.children).into_values() {
                if let Some(child) = child.upgrade() {
                    child.cancel(false, err);
                }
            }
            state.timer.take()
        };
        if let Some(timer) = timer {
            timer.stop();
        }
        if remove_from_parent {
            if let Some(parent) = self.parent.as_ref().and_then(|p| p.canceller()) {
                lock(&parent.state).children.remove(&c.id);
            }
        }
    }
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
        self.cancellable(None)
    }

    /// A child cancelled at `deadline` too (Go's `context.WithDeadline`). A deadline later than
    /// this context's own is this context's; one already passed cancels the child at once.
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelFunc) {
        if self.deadline().is_some_and(|current| current < deadline) {
            return self.with_cancel();
        }
        let (ctx, cancel) = self.cancellable(Some(deadline));
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            ctx.node.cancel(true, ContextError::DeadlineExceeded);
            return (ctx, cancel);
        }
        if let Kind::Cancel(c) = &ctx.node.kind {
            let mut state = lock(&c.state);
            if state.err.is_none() {
                let node = Arc::downgrade(&ctx.node);
                state.timer = Some(after_func(left, move || {
                    if let Some(node) = node.upgrade() {
                        node.cancel(true, ContextError::DeadlineExceeded);
                    }
                }));
            }
        }
        (ctx, cancel)
    }

    /// [`with_deadline`](Context::with_deadline) at `timeout` from now (Go's
    /// `context.WithTimeout`).
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelFunc) {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.with_deadline(deadline),
            // Too far to represent: no deadline at all.
            None => self.with_cancel(),
        }
    }

    /// A child that carries `value`, found by [`value`](Context::value) with its type (Go's
    /// `context.WithValue`, whose key here is the type). It shadows an ancestor's value of the
    /// same type.
    pub fn with_value<T: Send + Sync + 'static>(&self, value: T) -> Context {
        Context {
            node: Arc::new(Node {
                parent: Some(self.node.clone()),
                kind: Kind::Value {
                    key: TypeId::of::<T>(),
                    value: Box::new(value),
                },
            }),
        }
    }

    /// A channel closed when this context is cancelled, for `select!` (Go's `Done`). A context
    /// that can never be cancelled gives one that is never closed.
    pub fn done(&self) -> &Receiver<()> {
        match self.node.canceller() {
            Some(c) => &c.done,
            None => never_done(),
        }
    }

    /// Why this context was cancelled; None while it is not (Go's `Err`).
    pub fn err(&self) -> Option<ContextError> {
        let c = self.node.canceller()?;
        lock(&c.state).err
    }

    /// When this context will be cancelled by a deadline, if it has one (Go's `Deadline`).
    pub fn deadline(&self) -> Option<Instant> {
        let mut node = &self.node;
        loop {
            if let Kind::Cancel(Canceller {
                deadline: Some(deadline),
                ..
            }) = &node.kind
            {
                return Some(*deadline);
            }
            node = node.parent.as_ref()?;
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

    /// Go's `withCancel` and `propagateCancel`: a cancellable child, registered with the
    /// nearest cancellable ancestor (or cancelled at once if that one already is).
    fn cancellable(&self, deadline: Option<Instant>) -> (Context, CancelFunc) {
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
            match state.err {
                Some(err) => node.cancel(false, err),
                None => {
                    state.children.insert(id, Arc::downgrade(&node));
                }
            }
        }
        let cancel = CancelFunc { node: node.clone() };
        (Context { node }, cancel)
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
        self.node.cancel(true, ContextError::Canceled);
    }
}

impl Drop for CancelFunc {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelFunc")
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
}
