//! The nodes of a context tree and the cancellation that runs down it (Go's `cancelCtx`,
//! `cancelCtx.cancel` and the children set of `propagateCancel`). The rules (locks parent before
//! child, the first cancellation's cause wins) are in the module's essay, `context/mod.rs`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Instant;

use super::after_func::AfterFunc;
use super::{Cause, ContextError};
use crate::chan::{chan, Receiver, Sender};
use crate::time::Timer;

pub(super) struct Node {
    pub(super) parent: Option<Arc<Node>>,
    pub(super) kind: Kind,
}

pub(super) enum Kind {
    /// The root: never cancelled, no deadline, no values.
    Background,
    /// One value, found by its type.
    Value {
        key: TypeId,
        value: Box<dyn Any + Send + Sync>,
    },
    /// Go's `cancelCtx` (and, with a deadline, `timerCtx`).
    Cancel(Canceller),
    /// Go's `withoutCancelCtx`: its parent's values, and nothing of its cancellation.
    WithoutCancel,
}

pub(super) struct Canceller {
    /// Identifies it among its parent's children.
    pub(super) id: u64,
    /// Its own deadline (None: it has none of its own; an ancestor's may apply).
    pub(super) deadline: Option<Instant>,
    /// Closed when cancelled.
    pub(super) done: Receiver<()>,
    pub(super) state: Mutex<CancelState>,
}

pub(super) struct CancelState {
    /// The sending side of `done`; closed when cancelled.
    pub(super) closer: Sender<()>,
    /// Why it was cancelled and the cause: set together, by the first cancellation only.
    pub(super) err: Option<(ContextError, Cause)>,
    /// What its cancellation cancels or starts: cancellable descendants whose nearest
    /// cancellable ancestor this is, and the functions of `after_func`s on it.
    pub(super) children: HashMap<u64, Child>,
    /// Cancels this node at its deadline.
    pub(super) timer: Option<Timer>,
}

pub(super) enum Child {
    /// Weak: a context's own cancellation removes it, and its `CancelFunc` always cancels.
    Context(Weak<Node>),
    /// Strong: the function must run even if nobody keeps its [`StopFunc`].
    AfterFunc(Arc<AfterFunc>),
}

pub(super) static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The `done` channel of contexts that are never cancelled: never closed (Go returns nil).
pub(super) fn never_done() -> &'static Receiver<()> {
    static NEVER: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
    &NEVER.get_or_init(|| chan(0)).1
}

pub(super) fn lock(state: &Mutex<CancelState>) -> MutexGuard<'_, CancelState> {
    // Every update leaves the state consistent before anything that could panic.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Node {
    /// This node or its nearest ancestor that can be cancelled; None past a `without_cancel`.
    pub(super) fn canceller(self: &Arc<Node>) -> Option<&Canceller> {
        let mut node = self;
        loop {
            match &node.kind {
                Kind::Cancel(c) => return Some(c),
                Kind::WithoutCancel => return None,
                Kind::Background | Kind::Value { .. } => node = node.parent.as_ref()?,
            }
        }
    }

    /// Go's `cancelCtx.cancel`: the first call sets `err` and `cause` (`err` itself when
    /// `cause` is None), closes `done` and cancels the children with the same pair;
    /// `remove_from_parent` when cancelled by its own `CancelFunc` or deadline.
    pub(super) fn cancel(
        self: &Arc<Node>,
        remove_from_parent: bool,
        err: ContextError,
        cause: Option<Cause>,
    ) {
        let Kind::Cancel(c) = &self.kind else {
            return;
        };
        let timer = {
            let mut state = lock(&c.state);
            if state.err.is_some() {
                return;
            }
            let cause = cause.unwrap_or_else(|| Arc::new(err));
            state.err = Some((err, cause.clone()));
            state.closer.close();
            for child in std::mem::take(&mut state.children).into_values() {
                match child {
                    Child::Context(child) => {
                        if let Some(child) = child.upgrade() {
                            child.cancel(false, err, Some(cause.clone()));
                        }
                    }
                    Child::AfterFunc(after) => after.start(),
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
