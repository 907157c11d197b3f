//! `Handle` and `TimerHandle`, after CPython's `Lib/asyncio/events.py`, and what the loop's ready
//! queue holds.
//!
//! A handle is a callback waiting in the loop's ready queue (`call_soon`) or timer heap
//! (`call_later`, `call_at`). Cancelling it drops the callback at once (CPython sets `_callback`
//! and `_args` to `None`); the loop skips cancelled handles when it reaches them.
//!
//! Layout: one allocation per handle. The callback lives inline in its handle (`HandleInner<F>`,
//! `TimerInner<F>`), and the type is erased behind a trait object, so `call_soon` costs one
//! `Rc` and nothing else:
//!
//! ```text
//!   Handle(Rc<dyn HandleControl>) ──┐          ready queue: VecDeque<Rc<dyn ReadyHandle>>
//!                                   ▼            ├─ HandleInner<F>  call_soon, done-callbacks
//!   Rc ─► [strong|weak| cancelled | Option<F> ]  ├─ TimerInner<F>   a due timer
//!                                                ├─ SleepTimer      a due sleep (sleep.rs)
//!                                                ├─ TaskInner<T>    a task's step (tasks/inner.rs)
//!                                                └─ IoHandle        a reader or writer (selector.rs)
//! ```
//!
//! (`HandleInner<F, N>` in full: `N` is how debug mode names the callback, zero-sized for the
//! callback's own type name.) Before this layout a `call_soon` cost an `Rc<HandleInner>` and a
//! `Box<dyn FnOnce()>`, a timer three allocations and a task's step two: the callsoon-chain and
//! sleepers benchmarks spent a sixth and a quarter of their time in `malloc` and `free`
//! (`BENCHMARKS.md`).
//!
//! As in CPython, whatever the ready queue holds is a handle: a task's step is the task itself
//! (CPython queues `Handle(task.__step)`; the step's handle is never handed out, so it is never
//! cancelled and needs no allocation of its own), a due timer is its `TimerHandle`, a ready fd
//! queues its reader's or writer's handle.
//!
//! Invariants:
//! - a handle's callback runs at most once;
//! - a `TimerHandle` is `scheduled` exactly while it sits in the loop's heap, and the loop's
//!   `timer_cancelled_count` counts the scheduled ones that are cancelled
//!   (`BaseEventLoop._timer_handle_cancelled`).

use std::cell::Cell;
use std::rc::{Rc, Weak};

use crate::base_events::LoopInner;
use crate::heapq::HeapOrder;

/// A callback the loop runs once.
pub(crate) type Callback = Box<dyn FnOnce()>;

/// An entry of the loop's ready queue: asyncio's `Handle`, whatever it runs.
pub(crate) trait ReadyHandle {
    /// `Handle._run`: run the callback (at most once).
    fn run(self: Rc<Self>);
    /// `Handle.cancelled()`: the loop skips a cancelled handle.
    fn cancelled(&self) -> bool;
    /// `base_events._format_handle`, for debug mode's reports: `<Handle name()>`,
    /// `<TimerHandle when=t name()>`, or the task's repr for a task's step. Rust's type name of
    /// the callback stands where CPython shows the function's name and source line.
    fn describe(&self) -> String;
    /// The task whose step this is, as traces number tasks (`Task-N`'s N), or 0 for a callback.
    fn trace_task(&self) -> u64 {
        0
    }
}

/// An entry of the ready queue.
pub(crate) type Ready = Rc<dyn ReadyHandle>;

/// The user's side of a `call_soon` handle.
pub(crate) trait HandleControl: ReadyHandle {
    /// `Handle.cancel`: drop the callback unrun.
    fn cancel(&self);
    /// The same handle as a ready-queue entry.
    fn into_ready(self: Rc<Self>) -> Ready;
}

/// A `call_soon` handle with its callback inline; `N` names it for debug mode.
struct HandleInner<F, N> {
    cancelled: Cell<bool>,
    callback: Cell<Option<F>>,
    name: N,
}

/// What debug mode calls a handle's callback.
trait HandleName: 'static {
    fn name<F>(&self) -> &'static str;
}

/// The callback's Rust type (a zero-sized name: the common case costs nothing).
struct OfType;

impl HandleName for OfType {
    fn name<F>(&self) -> &'static str {
        std::any::type_name::<F>()
    }
}

/// A name given with a callback that arrived boxed (from another thread).
struct Given(&'static str);

impl HandleName for Given {
    fn name<F>(&self) -> &'static str {
        self.0
    }
}

impl<F: FnOnce() + 'static, N: HandleName> ReadyHandle for HandleInner<F, N> {
    fn run(self: Rc<Self>) {
        if let Some(callback) = self.callback.take() {
            callback();
        }
    }

    fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn describe(&self) -> String {
        format!("<Handle {}()>", self.name.name::<F>())
    }
}

impl<F: FnOnce() + 'static, N: HandleName> HandleControl for HandleInner<F, N> {
    fn cancel(&self) {
        if !self.cancelled.replace(true) {
            drop(self.callback.take());
        }
    }

    fn into_ready(self: Rc<Self>) -> Ready {
        self
    }
}

/// A callback scheduled with [`EventLoop::call_soon`](crate::EventLoop::call_soon): asyncio's
/// `Handle`.
#[derive(Clone)]
pub struct Handle(Rc<dyn HandleControl>);

impl Handle {
    /// A handle for `callback`, and the same handle as a ready-queue entry.
    pub(crate) fn new<F: FnOnce() + 'static>(callback: F) -> (Self, Ready) {
        Self::with_name(callback, OfType)
    }

    /// A handle for a boxed callback that debug mode calls `name`.
    pub(crate) fn named(callback: Callback, name: &'static str) -> (Self, Ready) {
        Self::with_name(callback, Given(name))
    }

    fn with_name<F: FnOnce() + 'static, N: HandleName>(callback: F, name: N) -> (Self, Ready) {
        let inner = Rc::new(HandleInner {
            cancelled: Cell::new(false),
            callback: Cell::new(Some(callback)),
            name,
        });
        (Handle(inner.clone()), inner)
    }

    /// The handle as a ready-queue entry.
    pub(crate) fn into_ready(self) -> Ready {
        self.0.into_ready()
    }

    /// `Handle.cancel`: the callback will not run. Cancelling twice does nothing.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// `Handle.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.cancelled()
    }

    /// Whether both are the same handle (for `Future.remove_done_callback`).
    pub(crate) fn same(&self, other: &Handle) -> bool {
        std::ptr::addr_eq(Rc::as_ptr(&self.0), Rc::as_ptr(&other.0))
    }
}

/// The loop's side of a `TimerHandle`.
pub(crate) trait TimerControl: ReadyHandle {
    fn when(&self) -> f64;
    fn scheduled(&self) -> bool;
    fn set_scheduled(&self, scheduled: bool);
    /// The loop that counts this timer's cancellation while it is in the heap, if it exists.
    fn loop_inner(&self) -> Option<Rc<LoopInner>>;
    /// `Handle.cancel`'s part: mark it cancelled and drop the callback; false if it already was.
    fn cancel_callback(&self) -> bool;
    /// The same timer as a ready-queue entry.
    fn into_ready(self: Rc<Self>) -> Ready;
}

/// A `call_at` handle with its callback inline.
struct TimerInner<F> {
    when: f64,
    scheduled: Cell<bool>,
    cancelled: Cell<bool>,
    event_loop: Weak<LoopInner>,
    callback: Cell<Option<F>>,
}

impl<F: FnOnce() + 'static> ReadyHandle for TimerInner<F> {
    fn run(self: Rc<Self>) {
        if let Some(callback) = self.callback.take() {
            callback();
        }
    }

    fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn describe(&self) -> String {
        let (when, name) = (self.when, std::any::type_name::<F>());
        format!("<TimerHandle when={when} {name}()>")
    }
}

impl<F: FnOnce() + 'static> TimerControl for TimerInner<F> {
    fn when(&self) -> f64 {
        self.when
    }

    fn scheduled(&self) -> bool {
        self.scheduled.get()
    }

    fn set_scheduled(&self, scheduled: bool) {
        self.scheduled.set(scheduled);
    }

    fn loop_inner(&self) -> Option<Rc<LoopInner>> {
        self.event_loop.upgrade()
    }

    fn cancel_callback(&self) -> bool {
        if self.cancelled.replace(true) {
            return false;
        }
        drop(self.callback.take());
        true
    }

    fn into_ready(self: Rc<Self>) -> Ready {
        self
    }
}

/// A callback scheduled for a time with [`EventLoop::call_at`](crate::EventLoop::call_at) or
/// [`EventLoop::call_later`](crate::EventLoop::call_later): asyncio's `TimerHandle`.
#[derive(Clone)]
pub struct TimerHandle(Rc<dyn TimerControl>);

impl TimerHandle {
    pub(crate) fn new<F: FnOnce() + 'static>(
        when: f64,
        callback: F,
        event_loop: Weak<LoopInner>,
    ) -> Self {
        TimerHandle(Rc::new(TimerInner {
            when,
            scheduled: Cell::new(false),
            cancelled: Cell::new(false),
            event_loop,
            callback: Cell::new(Some(callback)),
        }))
    }

    /// A timer whose callback is its own (a `sleep`'s: see [`crate::sleep()`]).
    pub(crate) fn of(timer: Rc<dyn TimerControl>) -> Self {
        TimerHandle(timer)
    }

    /// The loop time at which the callback is due.
    pub fn when(&self) -> f64 {
        self.0.when()
    }

    /// `TimerHandle.cancel`: tell the loop (so it can count cancelled timers still in its heap),
    /// then cancel the handle.
    pub fn cancel(&self) {
        // Only a timer still in the heap is counted (`_timer_handle_cancelled` checks
        // `_scheduled`): a fired one need not reach its loop.
        if !self.0.cancelled() && self.0.scheduled() {
            if let Some(event_loop) = self.0.loop_inner() {
                event_loop.timer_handle_cancelled(self);
            }
        }
        self.0.cancel_callback();
    }

    /// `TimerHandle.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.cancelled()
    }

    pub(crate) fn scheduled(&self) -> bool {
        self.0.scheduled()
    }

    pub(crate) fn set_scheduled(&self, scheduled: bool) {
        self.0.set_scheduled(scheduled);
    }

    /// The timer as a ready-queue entry (a due timer joins the ready queue itself).
    pub(crate) fn into_ready(self) -> Ready {
        self.0.into_ready()
    }
}

/// An entry of the loop's timer heap: the timer, with its `when` beside it so that the heap's
/// sifts compare without following the pointer (the order is `TimerHandle.__lt__`'s: `when`
/// only).
pub(crate) struct ScheduledTimer {
    pub(crate) when: f64,
    pub(crate) timer: TimerHandle,
}

impl HeapOrder for ScheduledTimer {
    /// `TimerHandle.__lt__` compares `_when` only.
    fn heap_lt(&self, other: &Self) -> bool {
        self.when < other.when
    }
}

impl ReadyHandle for crate::selector::IoHandle {
    /// A reader or writer runs once per event; `IoHandle::run` skips it if it was removed since
    /// the event that queued it.
    fn run(self: Rc<Self>) {
        crate::selector::IoHandle::run(&self);
    }

    /// Checked by `run` itself (a reader removed after its event was queued is skipped there).
    fn cancelled(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        format!("<Handle {}()>", self.name())
    }
}
