//! nextTick and microtasks (Node lib/internal/process/task_queues.js, V8's microtask queue).
//!
//! Invariants:
//! - `process.nextTick` callbacks run before promise jobs: `processTicksAndRejections` runs the
//!   whole tick queue (ticks added meanwhile included), then drains the microtask queue
//!   (V8 runs microtasks queued by microtasks too), and repeats while ticks were queued or an
//!   unhandled rejection was processed.
//! - `runNextTicks` (used between timers, between immediates, and at the end of every
//!   callback from the loop) only runs microtasks when no tick is queued and no rejection is
//!   waiting.
//! - A promise rejected with no handler is remembered; when the queues are drained and it
//!   still has none, the run ends with an unhandled rejection (`--unhandled-rejections=throw`,
//!   Node 15+). A handler attached before that point cancels it, as V8's
//!   `kPromiseHandlerAddedAfterReject` does.
//!
//! ```text
//!   processTicksAndRejections:
//!     do {
//!       while (tick = ticks.shift()) tick()
//!       runMicrotasks()                      // until the microtask queue is empty
//!     } while (ticks non-empty || processPromiseRejections())
//! ```

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::{installed_unchecked, raise_unhandled_rejection, with_env, Env, JsError};

/// A queued callback: an object that is its own job (a derived promise, an `await`'s
/// reaction, a task, a closure in a [`once_job`]).
///
/// One fat pointer (16 bytes), on purpose: the compiler keeps a pointer pair in two registers
/// wherever it moves, where a 24-byte enum of job kinds went through stack copies that this
/// CPU reloads wider than it stored them (a store-forwarding stall on every `then`, settle
/// and `await`). The microtask queue stores each job with its reaction's `seq` beside it, as
/// three words written and read one by one.
pub(crate) struct Job(Rc<dyn SharedJob>);

/// A job that lives in an `Rc` shared with its creator.
pub(crate) trait SharedJob {
    /// Runs the job with the `seq` its reaction was added with (0 for a reaction that is not
    /// a task's `await`, see `Promise::add_reaction`).
    fn run(self: Rc<Self>, seq: u64);

    /// The promise this job reacts to (a `Promise<S>`) has settled and queues the job now. A
    /// job that reads the outcome when it runs takes its reference to the promise here: it
    /// holds none while the promise is pending, so a promise that never settles and its
    /// reactions form no cycle (PromiseReactionJob gets its argument as it is queued).
    fn source_settled(&self, _source: &dyn Any) {}
}

impl Job {
    pub(crate) fn new(job: Rc<dyn SharedJob>) -> Job {
        Job(job)
    }

    #[inline]
    fn run(self, seq: u64) {
        self.0.run(seq);
    }

    /// See [`SharedJob::source_settled`].
    #[inline]
    pub(crate) fn source_settled(&self, source: &dyn Any) {
        self.0.source_settled(source);
    }
}

/// A closure as a job (`queueMicrotask(fn)`): one allocation, as a boxed closure would be.
pub(crate) fn once_job(callback: impl FnOnce() + 'static) -> Job {
    Job(Rc::new(OnceJob(Cell::new(Some(callback)))))
}

struct OnceJob<F>(Cell<Option<F>>);

impl<F: FnOnce()> SharedJob for OnceJob<F> {
    fn run(self: Rc<Self>, _seq: u64) {
        if let Some(callback) = self.0.take() {
            callback();
        }
    }
}

/// A rejected promise waiting to be seen handled (`maybeUnhandledPromises`).
pub(crate) trait Rejection {
    /// Whether a handler was attached since.
    fn handled(&self) -> bool;
    /// The rejection reason.
    fn reason(&self) -> Option<JsError>;
}

/// What [`TaskQueues::take_all`] took out, to be dropped.
pub(crate) struct Drained {
    _ticks: VecDeque<Box<dyn FnOnce()>>,
    _microtasks: VecDeque<(Job, u64)>,
    _rejections: Vec<Rc<dyn Rejection>>,
}

#[derive(Default)]
pub(crate) struct TaskQueues {
    ticks: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    /// Each job with its reaction's `seq` ([`SharedJob::run`]).
    microtasks: RefCell<VecDeque<(Job, u64)>>,
    pending_unhandled: RefCell<Vec<Rc<dyn Rejection>>>,
    has_rejection_to_warn: Cell<bool>,
}

impl TaskQueues {
    #[inline]
    pub(crate) fn enqueue_microtask(&self, job: Job) {
        self.enqueue_reaction(job, 0);
    }

    /// Queues a promise reaction's job, to run with `seq` (see [`SharedJob::run`]).
    #[inline(always)]
    pub(crate) fn enqueue_reaction(&self, job: Job, seq: u64) {
        let mut microtasks = self.microtasks.borrow_mut();
        if microtasks.len() == microtasks.capacity() {
            grow_and_push(&mut microtasks, job, seq);
            return;
        }
        // Not full: the push cannot grow the queue, so the compiler drops its call to grow
        // and keeps the three words in registers (across that call, it stored them on the
        // stack and reloaded them wider than it stored them: a store-forwarding stall).
        microtasks.push_back((job, seq));
    }

    pub(crate) fn reject_with_no_handler(&self, promise: Rc<dyn Rejection>) {
        self.pending_unhandled.borrow_mut().push(promise);
        self.has_rejection_to_warn.set(true);
    }

    fn has_tick_scheduled(&self) -> bool {
        !self.ticks.borrow().is_empty()
    }

    /// Empties every queue; the caller drops what it gets outside the borrows.
    pub(crate) fn take_all(&self) -> Drained {
        Drained {
            _ticks: self.ticks.take(),
            _microtasks: self.microtasks.take(),
            _rejections: self.pending_unhandled.take(),
        }
    }
}

/// Queues `callback` to run after the current operation, before any promise job
/// (`process.nextTick`).
pub fn next_tick(callback: impl FnOnce() + 'static) {
    with_env(|env| env.queues.ticks.borrow_mut().push_back(Box::new(callback)));
}

/// [`TaskQueues::enqueue_reaction`] into a full queue.
#[cold]
#[inline(never)]
fn grow_and_push(microtasks: &mut VecDeque<(Job, u64)>, job: Job, seq: u64) {
    microtasks.push_back((job, seq));
}

/// Queues a promise reaction's job on this thread's environment, to run with `seq` (see
/// [`SharedJob::run`]); creates the environment if there is none yet. Never inlined: inside
/// a caller as large as an async function's body, the compiler stops inlining the queue's
/// push and passes the three words to it through the stack.
#[inline(never)]
pub(crate) fn enqueue_reaction(job: Job, seq: u64) {
    // SAFETY: the borrow is used for one push onto the queue, which runs and drops no user
    // code.
    match unsafe { installed_unchecked() } {
        Some(env) => env.queues.enqueue_reaction(job, seq),
        None => with_env(|env| env.queues.enqueue_reaction(job, seq)),
    }
}

/// [`enqueue_reaction`] for a reaction that `source`, a promise settling now, takes out of
/// its list: a reaction that reads the outcome (`seq` 0: not a task's `await`) first gets
/// its reference to `source` ([`SharedJob::source_settled`]). Out of line as
/// [`enqueue_reaction`] is, so that the settle calling it stays as small.
#[inline(never)]
pub(crate) fn enqueue_settled_reaction(job: Job, seq: u64, source: &dyn Any) {
    if seq == 0 {
        job.source_settled(source);
    }
    // SAFETY: as in `enqueue_reaction`; `source_settled` above clones a promise and runs no
    // user code.
    match unsafe { installed_unchecked() } {
        Some(env) => env.queues.enqueue_reaction(job, seq),
        None => with_env(|env| env.queues.enqueue_reaction(job, seq)),
    }
}

/// Queues `callback` as a microtask (`queueMicrotask`): it runs with promise jobs, in order.
pub fn queue_microtask(callback: impl FnOnce() + 'static) {
    with_env(|env| env.queues.enqueue_microtask(once_job(callback)));
}

/// `runNextTicks` in timers.js and `InternalCallbackScope::Close` in Node's C++.
#[inline(always)]
pub(crate) fn run_next_ticks(env: &Env) {
    let queues = &env.queues;
    if !queues.has_tick_scheduled()
        && !queues.has_rejection_to_warn.get()
        && queues.microtasks.borrow().is_empty()
    {
        // Nothing queued at all (most callbacks): a few tests inline, no call.
        return;
    }
    drain_next_ticks(env);
}

/// [`run_next_ticks`] with something queued.
#[inline(never)]
fn drain_next_ticks(env: &Env) {
    let queues = &env.queues;
    if !queues.has_tick_scheduled() && !queues.has_rejection_to_warn.get() {
        run_microtasks(env);
    }
    if !queues.has_tick_scheduled() && !queues.has_rejection_to_warn.get() {
        return;
    }
    process_ticks_and_rejections(env);
}

/// `processTicksAndRejections`.
pub(crate) fn process_ticks_and_rejections(env: &Env) {
    loop {
        loop {
            let tick = env.queues.ticks.borrow_mut().pop_front();
            match tick {
                Some(tick) => tick(),
                None => break,
            }
        }
        run_microtasks(env);
        if !env.queues.has_tick_scheduled() && !process_promise_rejections(env) {
            break;
        }
    }
    env.queues.has_rejection_to_warn.set(false);
}

/// V8's `MicrotaskQueue::PerformCheckpoint`: run until the queue is empty.
#[inline]
pub(crate) fn run_microtasks(env: &Env) {
    loop {
        let job = env.queues.microtasks.borrow_mut().pop_front();
        match job {
            Some((job, seq)) => job.run(seq),
            None => break,
        }
    }
}

/// `processPromiseRejections` in lib/internal/process/promises.js, mode `throw`.
fn process_promise_rejections(env: &Env) -> bool {
    let pending = env.queues.pending_unhandled.take();
    let mut maybe_scheduled = false;
    for promise in pending {
        if promise.handled() {
            continue;
        }
        if let Some(reason) = promise.reason() {
            raise_unhandled_rejection(env, reason);
        }
        maybe_scheduled = true;
    }
    maybe_scheduled || !env.queues.pending_unhandled.borrow().is_empty()
}
