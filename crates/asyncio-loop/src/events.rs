//! `Handle` and `TimerHandle`, after CPython's `Lib/asyncio/events.py`.
//!
//! A handle is a callback waiting in the loop's ready queue (`call_soon`) or timer heap
//! (`call_later`, `call_at`). Cancelling it drops the callback at once (CPython sets `_callback`
//! and `_args` to `None`); the loop skips cancelled handles when it reaches them.
//!
//! Invariants:
//! - a handle's callback runs at most once;
//! - a `TimerHandle` is `scheduled` exactly while it sits in the loop's heap, and the loop's
//!   `timer_cancelled_count` counts the scheduled ones that are cancelled
//!   (`BaseEventLoop._timer_handle_cancelled`).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::base_events::LoopInner;
use crate::heapq::HeapOrder;
use crate::tasks::TaskControl;

/// A callback the loop runs once.
pub(crate) type Callback = Box<dyn FnOnce()>;

/// What a handle runs, for debug mode's reports (`base_events._format_handle`): a task's step is
/// shown as the task, anything else as the callback's Rust type name where CPython shows the
/// function's name and source line.
pub(crate) enum HandleLabel {
    /// A callback from `call_soon` (or a done-callback, or a thread's callback).
    Callback(&'static str),
    /// A callback from `call_at` / `call_later`, due at `when`.
    Timer { callback: &'static str, when: f64 },
    /// `Task.__step` of this task.
    TaskStep(Weak<dyn TaskControl>),
}

pub(crate) struct HandleInner {
    callback: RefCell<Option<Callback>>,
    cancelled: Cell<bool>,
    label: HandleLabel,
}

/// A callback scheduled with [`EventLoop::call_soon`](crate::EventLoop::call_soon): asyncio's
/// `Handle`.
#[derive(Clone)]
pub struct Handle(Rc<HandleInner>);

impl Handle {
    pub(crate) fn new(callback: Callback, label: HandleLabel) -> Self {
        Handle(Rc::new(HandleInner {
            callback: RefCell::new(Some(callback)),
            cancelled: Cell::new(false),
            label,
        }))
    }

    /// `base_events._format_handle`: `<Handle name()>`, `<TimerHandle when=t name()>`, or the
    /// task's repr for a task step.
    pub(crate) fn describe(&self) -> String {
        match &self.0.label {
            HandleLabel::Callback(callback) => format!("<Handle {callback}()>"),
            HandleLabel::Timer { callback, when } => {
                format!("<TimerHandle when={when} {callback}()>")
            }
            HandleLabel::TaskStep(task) => match task.upgrade() {
                Some(task) => task.describe(),
                None => "<Task finished>".to_string(),
            },
        }
    }

    /// `Handle.cancel`: the callback will not run. Cancelling twice does nothing.
    pub fn cancel(&self) {
        if !self.0.cancelled.replace(true) {
            self.0.callback.borrow_mut().take();
        }
    }

    /// `Handle.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    /// The task whose step this handle is, as traces number tasks (`Task-N`'s N), or 0 for a
    /// plain callback.
    pub(crate) fn trace_task(&self) -> u64 {
        match &self.0.label {
            HandleLabel::TaskStep(task) => task.upgrade().map_or(0, |task| task.id() + 1),
            HandleLabel::Callback(_) | HandleLabel::Timer { .. } => 0,
        }
    }

    /// `Handle._run`: run the callback (at most once).
    pub(crate) fn run(&self) {
        let callback = self.0.callback.borrow_mut().take();
        if let Some(callback) = callback {
            callback();
        }
    }
}

pub(crate) struct TimerInner {
    handle: Handle,
    when: f64,
    scheduled: Cell<bool>,
    event_loop: Weak<LoopInner>,
}

/// A callback scheduled for a time with [`EventLoop::call_at`](crate::EventLoop::call_at) or
/// [`EventLoop::call_later`](crate::EventLoop::call_later): asyncio's `TimerHandle`.
#[derive(Clone)]
pub struct TimerHandle(Rc<TimerInner>);

impl TimerHandle {
    pub(crate) fn new(
        when: f64,
        callback: Callback,
        name: &'static str,
        event_loop: Weak<LoopInner>,
    ) -> Self {
        let label = HandleLabel::Timer {
            callback: name,
            when,
        };
        TimerHandle(Rc::new(TimerInner {
            handle: Handle::new(callback, label),
            when,
            scheduled: Cell::new(false),
            event_loop,
        }))
    }

    /// The loop time at which the callback is due.
    pub fn when(&self) -> f64 {
        self.0.when
    }

    /// `TimerHandle.cancel`: tell the loop (so it can count cancelled timers still in its heap),
    /// then cancel the handle.
    pub fn cancel(&self) {
        if !self.0.handle.cancelled() {
            if let Some(event_loop) = self.0.event_loop.upgrade() {
                event_loop.timer_handle_cancelled(self);
            }
        }
        self.0.handle.cancel();
    }

    /// `TimerHandle.cancelled`.
    pub fn cancelled(&self) -> bool {
        self.0.handle.cancelled()
    }

    pub(crate) fn scheduled(&self) -> bool {
        self.0.scheduled.get()
    }

    pub(crate) fn set_scheduled(&self, scheduled: bool) {
        self.0.scheduled.set(scheduled);
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.0.handle
    }
}

impl HeapOrder for TimerHandle {
    /// `TimerHandle.__lt__` compares `_when` only.
    fn heap_lt(&self, other: &Self) -> bool {
        self.0.when < other.0.when
    }
}
