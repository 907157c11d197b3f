//! AbortController and AbortSignal (Node lib/internal/abort_controller.js, dispatching as
//! lib/internal/event_target.js does).
//!
//! Invariants:
//! - A signal aborts once: its reason is set before any listener runs, and a second abort
//!   (from a listener, or later) does nothing.
//! - `abortSignal(signal, reason)` runs the signal's abort listeners synchronously, in the
//!   order they were added, each at most once; then it aborts the signal's dependants (the
//!   signals `AbortSignal.any` made from it) in the order they were made, each the same way.
//! - The listeners form a linked list walked as Node's `dispatchEvent` walks it: the next
//!   listener is read before each call. So a listener removed by an earlier one does not run;
//!   a listener added during the dispatch runs unless the listener that added it was the last
//!   one; and once the walk stands on a removed listener it follows that listener's old link.
//!   (Checked with node 20: tests/abort.rs, and the `abort_timers` fixture.)
//! - A listener added after the dispatch never runs and is not kept. After the dispatch the
//!   listeners and dependants are dropped: no second abort event can come.
//! - A listener that throws ([`throw`](super::throw)) does not stop the dispatch: the error is
//!   thrown again from a nextTick (`emitUncaughtException`), which ends the run as uncaught.
//!
//! ```text
//!   AbortController ──signal──> AbortSignal { reason, listeners, dependants, sources }
//!   abort(reason):  reason set ─> listener 1 ─> listener 2 ─> ... ─> dependant 1: abort(reason)
//!                                                                    dependant 2: abort(reason)
//!   AbortSignal::any([a, b]):  a.dependants += result,  result.sources += a   (weak)
//!                              a composite source adds its own sources instead (flattened)
//!   AbortSignal::timeout(ms):  unref'd setTimeout(ms) ─> abort(TimeoutError)
//! ```
//!
//! Ownership: a source holds its dependants (`Rc`), a composite holds its sources weakly, a
//! listener handle holds its signal weakly. Node lets the garbage collector drop an
//! unreferenced composite; here a composite lives as long as one of its sources does (or
//! until it aborts: aborted dependants are pruned as a source's list grows).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use super::timers::set_timeout;
use super::{call_listener, JsError};

/// JavaScript's `DOMException`: an error with a name (`AbortError`, `TimeoutError`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomException {
    name: String,
    message: String,
}

impl DomException {
    /// `new DOMException(message, name)`.
    pub fn new(message: impl Into<String>, name: impl Into<String>) -> DomException {
        DomException {
            name: name.into(),
            message: message.into(),
        }
    }

    /// The default abort reason: `DOMException('This operation was aborted', 'AbortError')`.
    pub fn abort_error() -> DomException {
        DomException::new("This operation was aborted", "AbortError")
    }

    /// The reason of [`AbortSignal::timeout`]:
    /// `DOMException('The operation was aborted due to timeout', 'TimeoutError')`.
    pub fn timeout_error() -> DomException {
        DomException::new("The operation was aborted due to timeout", "TimeoutError")
    }

    /// `exception.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `exception.message`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DomException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for DomException {}

/// Node's own `AbortError` (lib/internal/errors.js, `code: 'ABORT_ERR'`), the rejection of an
/// aborted operation such as [`set_timeout_promise`](crate::set_timeout_promise): its
/// `cause` is the signal's reason, which [`std::error::Error::source`] returns.
#[derive(Clone, Debug)]
pub struct AbortError {
    /// `error.cause`: the signal's reason.
    pub cause: Option<JsError>,
}

impl AbortError {
    /// `error.code`.
    pub const CODE: &'static str = "ABORT_ERR";
}

impl fmt::Display for AbortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AbortError: The operation was aborted")
    }
}

impl std::error::Error for AbortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(JsError::get)
    }
}

type ListenerCallback = Box<dyn FnOnce(&AbortSignal)>;

/// One listener of the list (Node's `Listener`): `next` stays as it was when the listener
/// is removed, so that a dispatch standing on it walks on as Node's does.
struct ListenerNode {
    id: u64,
    callback: Option<ListenerCallback>,
    previous: Option<usize>,
    next: Option<usize>,
    removed: bool,
}

/// The abort listeners: a doubly linked list in a vector; a removed listener's slot is reused
/// only outside a dispatch (a dispatch may still stand on it).
#[derive(Default)]
struct Listeners {
    nodes: Vec<ListenerNode>,
    free: Vec<usize>,
    head: Option<usize>,
    tail: Option<usize>,
    next_id: u64,
}

impl Listeners {
    fn push(&mut self, callback: ListenerCallback) -> (usize, u64) {
        self.next_id += 1;
        let node = ListenerNode {
            id: self.next_id,
            callback: Some(callback),
            previous: self.tail,
            next: None,
            removed: false,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        match self.tail.and_then(|tail| self.nodes.get_mut(tail)) {
            Some(tail) => tail.next = Some(slot),
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
        (slot, self.next_id)
    }

    /// Unlinks the listener at `slot` if it is `id`'s and still listed; returns its callback,
    /// for the caller to drop outside the borrow.
    fn remove(&mut self, slot: usize, id: u64, dispatching: bool) -> Option<ListenerCallback> {
        let node = self
            .nodes
            .get_mut(slot)
            .filter(|n| n.id == id && !n.removed)?;
        node.removed = true;
        let (previous, next) = (node.previous, node.next);
        let callback = node.callback.take();
        match previous.and_then(|p| self.nodes.get_mut(p)) {
            Some(previous) => previous.next = next,
            None => self.head = next,
        }
        match next.and_then(|n| self.nodes.get_mut(n)) {
            Some(next) => next.previous = previous,
            None => self.tail = previous,
        }
        if !dispatching {
            self.free.push(slot);
        }
        callback
    }
}

struct SignalCell {
    /// `[kReason]`, set when aborted (`[kAborted]`).
    reason: RefCell<Option<JsError>>,
    dispatching: Cell<bool>,
    listeners: RefCell<Listeners>,
    /// `[kDependantSignals]`: the signals `AbortSignal.any` made from this one.
    dependants: RefCell<Vec<AbortSignal>>,
    /// `[kComposite]`: made by `AbortSignal.any`.
    composite: bool,
    /// `[kSourceSignals]` of a composite.
    sources: RefCell<Vec<Weak<SignalCell>>>,
}

/// An abort signal (`AbortSignal`): cheap to clone, like a JavaScript reference.
#[derive(Clone)]
pub struct AbortSignal(Rc<SignalCell>);

/// A registered abort listener, to remove it with [`AbortSignal::remove_event_listener`].
#[derive(Clone, Debug)]
pub struct AbortListener {
    signal: Weak<SignalCell>,
    slot: usize,
    id: u64,
}

/// The owner of an [`AbortSignal`] (`AbortController`): the one who may abort it.
#[derive(Clone, Debug, Default)]
pub struct AbortController {
    signal: AbortSignal,
}

impl AbortController {
    /// `new AbortController()`.
    pub fn new() -> AbortController {
        AbortController::default()
    }

    /// `controller.signal`.
    pub fn signal(&self) -> AbortSignal {
        self.signal.clone()
    }

    /// `controller.abort(reason)`: aborts the signal with `reason`, or with an `AbortError`
    /// [`DomException`] when `None`; runs its listeners now. Does nothing if already aborted.
    pub fn abort(&self, reason: Option<JsError>) {
        let reason = reason.unwrap_or_else(|| JsError::new(DomException::abort_error()));
        abort_signal(&self.signal, reason);
    }
}

impl Default for AbortSignal {
    fn default() -> AbortSignal {
        AbortSignal::new(false)
    }
}

impl fmt::Debug for AbortSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortSignal")
            .field("reason", &*self.0.reason.borrow())
            .finish()
    }
}

impl AbortSignal {
    fn new(composite: bool) -> AbortSignal {
        AbortSignal(Rc::new(SignalCell {
            reason: RefCell::new(None),
            dispatching: Cell::new(false),
            listeners: RefCell::new(Listeners::default()),
            dependants: RefCell::new(Vec::new()),
            composite,
            sources: RefCell::new(Vec::new()),
        }))
    }

    /// `AbortSignal.abort(reason)`: a signal aborted already, with `reason` or an `AbortError`.
    pub fn abort(reason: Option<JsError>) -> AbortSignal {
        let signal = AbortSignal::default();
        AbortController {
            signal: signal.clone(),
        }
        .abort(reason);
        signal
    }

    /// `AbortSignal.timeout(delay)`: aborts with a `TimeoutError` [`DomException`] after
    /// `delay` ms, through an unreferenced timer (it does not keep the loop alive). As in
    /// Node, a delay above 2^31-1 ms becomes 1 ms, and so does 0.
    pub fn timeout(delay: u32) -> AbortSignal {
        let signal = AbortSignal::default();
        let target = signal.clone();
        let timer = set_timeout(
            move || abort_signal(&target, JsError::new(DomException::timeout_error())),
            delay,
        );
        timer.unref();
        signal
    }

    /// `AbortSignal.any(signals)`: aborts with the reason of the first of `signals` to abort;
    /// aborted at once if one of them is. An empty list gives a signal that never aborts.
    pub fn any(signals: &[AbortSignal]) -> AbortSignal {
        let result = AbortSignal::new(true);
        for signal in signals {
            if let Some(reason) = signal.reason() {
                abort_signal(&result, reason);
                return result;
            }
            if !signal.0.composite {
                add_dependant(signal, &result);
                continue;
            }
            let sources: Vec<AbortSignal> = signal
                .0
                .sources
                .borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .map(AbortSignal)
                .collect();
            for source in &sources {
                add_dependant(source, &result);
            }
        }
        result
    }

    /// `signal.aborted`.
    pub fn aborted(&self) -> bool {
        self.0.reason.borrow().is_some()
    }

    /// `signal.reason`: `None` until aborted.
    pub fn reason(&self) -> Option<JsError> {
        self.0.reason.borrow().clone()
    }

    /// `signal.throwIfAborted()`: the reason as an `Err` once aborted (throw it with
    /// [`throw`](crate::throw), or `?` it in an async function).
    pub fn throw_if_aborted(&self) -> Result<(), JsError> {
        match self.reason() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    /// `signal.addEventListener('abort', listener)`: `listener` runs with the signal when it
    /// aborts, after the listeners added before it. Added once the signal has aborted (and
    /// its dispatch is over), it never runs and is dropped at once.
    pub fn add_event_listener(
        &self,
        listener: impl FnOnce(&AbortSignal) + 'static,
    ) -> AbortListener {
        if self.aborted() && !self.0.dispatching.get() {
            drop(listener);
            return AbortListener {
                signal: Weak::new(),
                slot: 0,
                id: 0,
            };
        }
        let (slot, id) = self.0.listeners.borrow_mut().push(Box::new(listener));
        AbortListener {
            signal: Rc::downgrade(&self.0),
            slot,
            id,
        }
    }

    /// `signal.removeEventListener('abort', listener)`: it will not run. Does nothing for a
    /// listener of another signal, or one already removed.
    pub fn remove_event_listener(&self, listener: &AbortListener) {
        if !std::ptr::eq(listener.signal.as_ptr(), Rc::as_ptr(&self.0)) {
            return;
        }
        let dispatching = self.0.dispatching.get();
        let callback =
            self.0
                .listeners
                .borrow_mut()
                .remove(listener.slot, listener.id, dispatching);
        drop(callback);
    }

    /// A reference that does not keep the signal alive.
    pub(crate) fn downgrade(&self) -> WeakSignal {
        WeakSignal(Rc::downgrade(&self.0))
    }
}

/// An [`AbortSignal`] that does not keep it alive.
pub(crate) struct WeakSignal(Weak<SignalCell>);

impl WeakSignal {
    /// The signal, if it is still alive.
    pub(crate) fn upgrade(&self) -> Option<AbortSignal> {
        self.0.upgrade().map(AbortSignal)
    }
}

/// Makes `result` a dependant of `source` (`source[kDependantSignals].add(...)`, a set: one
/// `AbortSignal.any` call adds a result once however often a source is listed).
fn add_dependant(source: &AbortSignal, result: &AbortSignal) {
    result.0.sources.borrow_mut().push(Rc::downgrade(&source.0));
    let mut dependants = source.0.dependants.borrow_mut();
    if dependants
        .last()
        .is_some_and(|last| Rc::ptr_eq(&last.0, &result.0))
    {
        return;
    }
    if dependants.len() == dependants.capacity() {
        // Prune before the vector grows: a dependant aborted by another of its sources needs
        // nothing from this one (amortised over the doublings).
        dependants.retain(|dependant| !dependant.aborted());
    }
    dependants.push(result.clone());
}

/// `abortSignal(signal, reason)`.
fn abort_signal(signal: &AbortSignal, reason: JsError) {
    {
        let mut slot = signal.0.reason.borrow_mut();
        if slot.is_some() {
            return;
        }
        *slot = Some(reason.clone());
    }
    signal.0.dispatching.set(true);
    dispatch(signal);
    signal.0.dispatching.set(false);
    let listeners = std::mem::take(&mut *signal.0.listeners.borrow_mut());
    drop(listeners);
    let dependants = std::mem::take(&mut *signal.0.dependants.borrow_mut());
    for dependant in &dependants {
        abort_signal(dependant, reason.clone());
    }
}

/// `dispatchEvent(new Event('abort'))`: the walk of the listener list.
fn dispatch(signal: &AbortSignal) {
    let mut current = signal.0.listeners.borrow().head;
    while let Some(slot) = current {
        let (next, callback) = {
            let mut listeners = signal.0.listeners.borrow_mut();
            let Some(node) = listeners.nodes.get_mut(slot) else {
                break;
            };
            let callback = if node.removed {
                None
            } else {
                node.callback.take()
            };
            (node.next, callback)
        };
        if let Some(callback) = callback {
            call_listener(|| callback(signal));
        }
        current = next;
    }
}
