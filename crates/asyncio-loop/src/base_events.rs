//! The event loop: CPython's `BaseEventLoop` (`Lib/asyncio/base_events.py`), single-threaded.
//!
//! One pass of the loop is `_run_once`, and it reads like its diagram:
//!
//! ```text
//!   run_forever:  loop { _run_once(); if stopping { break } }
//!
//!   _run_once
//!   ├─ 1. purge_cancelled_timers   > 100 scheduled and > 1/2 cancelled: drop them all, heapify;
//!   │                              otherwise pop cancelled timers off the top of the heap only
//!   ├─ 2. compute_timeout          0 if ready handles or stopping; else time to the first timer,
//!   │                              clamped to [0, 86400]; else None (block)
//!   ├─ 3. select(timeout)          epoll_wait (see [`crate::selector`]), the timeout rounded up
//!   │                              to the next millisecond as EpollSelector; callbacks from
//!   │                              threads (the eventfd self-pipe, [`crate::wakeup`]) join the
//!   │                              ready queue, then the readers/writers of ready fds
//!   ├─ 4. move_due_timers          pop every timer with when < time() + clock_resolution, in
//!   │                              heapq order, onto the back of the ready queue
//!   └─ 5. run_ready                run exactly the handles that were ready now (ntodo); anything
//!                                  they schedule waits for the next pass
//! ```
//!
//! Invariants:
//! - the ready queue is FIFO: `call_soon` appends, the pass pops from the front;
//! - a pass runs at most `ntodo` handles, counted after step 4, so a callback that calls
//!   `call_soon` can never starve timers or I/O;
//! - timers with equal `when` come out in `heapq`'s order (see [`crate::heapq`]), not FIFO;
//! - `timer_cancelled_count` counts cancelled timers that are still in the heap.
//!
//! Tracing ([`probe::trace`]): each select is a `select` phase (its length is the loop's idle
//! wait), each handle run a `RunBegin`/`RunEnd` of its task (`Task-N` as N; plain callbacks as
//! 0), `create_task` a `Spawn`, and a task's wake-up a `Wake`. Off, each site is one relaxed
//! load.
//!
//! Rejected designs: tokio's `current_thread` runtime and `async-executor` both reorder work
//! (a LIFO slot, I/O polled every N ticks), which changes every ordering this crate must match.
//!
//! With nothing ready, no timer and no I/O source, `select(None)` blocks only while a
//! [`ThreadsafeLoop`] exists that could wake it (an executor job holds one); otherwise nothing
//! ever could, so the loop stops instead, and `run_until_complete` reports
//! [`RunError::StoppedBeforeComplete`], CPython's "Event loop stopped before Future completed."
//!
//! A pass with a zero timeout and no fd registered skips `epoll_wait` (it could only report the
//! self-pipe, whose callbacks are taken directly, and only when an atomic flag says some are
//! pending: no lock either); with an fd registered every pass polls, as CPython's does. So a
//! pass that runs one `call_soon` callback costs no system call, no lock and one allocation
//! (the handle, with its callback inline: see [`crate::events`]).
//!
//! The I/O methods (`add_reader`, transports, servers) live in [`crate::selector_events`],
//! `run_in_executor` in [`crate::executor`], the task table in [`mod@crate::all_tasks`].

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use probe::trace::{self, EventKind};

use crate::all_tasks::AllTasks;
use crate::events::{Handle, Ready, ScheduledTimer, TimerHandle};
use crate::executor::ThreadPoolExecutor;
use crate::futures::{Error, Future};
use crate::heapq::{heapify, heappop, heappush};
use crate::selector::{IoHandle, Selector};
use crate::task_names::{self, TaskNames};
use crate::tasks::{Task, TaskControl, TaskWaker};
use crate::wakeup::{ThreadsafeLoop, Wakeup};

/// `base_events._MIN_SCHEDULED_TIMER_HANDLES`.
const MIN_SCHEDULED_TIMER_HANDLES: usize = 100;

/// `base_events._MIN_CANCELLED_TIMER_HANDLES_FRACTION`.
const MIN_CANCELLED_TIMER_HANDLES_FRACTION: f64 = 0.5;

/// `base_events.MAXIMUM_SELECT_TIMEOUT`: one day.
const MAXIMUM_SELECT_TIMEOUT: f64 = 24.0 * 3600.0;

/// `time.get_clock_info('monotonic').resolution` on Linux.
const CLOCK_RESOLUTION: f64 = 1e-9;

thread_local! {
    /// `events._running_loop`: the loop running on this thread, if any.
    static RUNNING_LOOP: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
}

pub(crate) struct LoopInner {
    ready: RefCell<VecDeque<Ready>>,
    scheduled: RefCell<Vec<ScheduledTimer>>,
    timer_cancelled_count: Cell<usize>,
    stopping: Cell<bool>,
    running: Cell<bool>,
    closed: Cell<bool>,
    epoch: Instant,
    tasks: RefCell<AllTasks>,
    /// The custom names of its tasks (see [`crate::task_names`]).
    task_names: RefCell<TaskNames>,
    /// `loop.set_task_factory`'s choice.
    task_factory: Cell<TaskFactory>,
    wakeup: Arc<Wakeup>,
    /// The wakers of steps whose futures kept a clone (futures not of this crate, which may
    /// wake their task from another thread): while one is held for a task still pending, the
    /// loop waits for it rather than stop (see `select`).
    lent_wakers: RefCell<Vec<std::sync::Weak<TaskWaker>>>,
    debug: Cell<bool>,
    slow_callback_duration: Cell<f64>,
    slow_callback_reporter: RefCell<Option<SlowCallbackReporter>>,
    /// `loop.set_exception_handler`'s handler (see [`crate::exception_handler`]).
    pub(crate) exception_handler: RefCell<Option<crate::exception_handler::ExceptionHandler>>,
    /// The epoll selector, or why it could not be created (the loop then refuses to run).
    pub(crate) selector: Result<Selector, Rc<io::Error>>,
    /// A failed `epoll_wait`: the loop stopped, and `run_forever` reports it.
    select_error: RefCell<Option<Rc<io::Error>>>,
    /// Scratch space for the callbacks of one select.
    io_ready: RefCell<Vec<Rc<IoHandle>>>,
    /// The transports' receive buffer (`max_size`), shared: one `recv` at a time on this thread.
    pub(crate) recv_buffer: RefCell<Option<Vec<u8>>>,
    /// The default executor of `run_in_executor`, created on first use.
    pub(crate) default_executor: RefCell<Option<Arc<ThreadPoolExecutor>>>,
    /// The result futures of executor jobs not yet done, by job id (`Future<T>` as `Any`).
    pub(crate) executor_waiters: RefCell<HashMap<u64, Box<dyn Any>>>,
    /// `_executor_shutdown_called`.
    pub(crate) executor_shutdown_called: Cell<bool>,
    /// `_signal_handlers`, the signal self-pipe and `asyncio.run`'s SIGINT handler (see
    /// [`crate::signals`]).
    pub(crate) signals: RefCell<crate::signals::Signals>,
    /// The signal pipe's `any` flag once the pipe exists, read by every pass.
    pub(crate) signal_any: std::cell::OnceCell<Arc<std::sync::atomic::AtomicBool>>,
    /// A KeyboardInterrupt (`asyncio.run`'s second SIGINT): the pass ends at once and
    /// `run_forever` gives [`RunError::Interrupted`].
    interrupted: Cell<bool>,
}

/// Receives debug mode's "Executing ... took ... seconds" lines (CPython's `logger.warning`).
type SlowCallbackReporter = Rc<dyn Fn(&str)>;

/// The task factories of `loop.set_task_factory`: CPython's default (`None`: a task's first
/// step is scheduled with `call_soon`) and 3.12's `asyncio.eager_task_factory` (a task's first
/// step runs inside `create_task`). Custom factories are not modelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskFactory {
    /// `loop.set_task_factory(None)`.
    #[default]
    Default,
    /// `loop.set_task_factory(asyncio.eager_task_factory)`.
    Eager,
}

/// `BaseEventLoop.slow_callback_duration`'s default: 100 ms.
const DEFAULT_SLOW_CALLBACK_DURATION: f64 = 0.1;

impl Drop for LoopInner {
    /// A loop dropped without `close()` can no longer run callbacks from other threads.
    fn drop(&mut self) {
        self.wakeup.close();
        // Idle workers of the default executor would otherwise wait forever.
        if let Some(executor) = self.default_executor.get_mut().take() {
            executor.shutdown();
        }
    }
}

impl LoopInner {
    /// `BaseEventLoop._timer_handle_cancelled`.
    pub(crate) fn timer_handle_cancelled(&self, handle: &TimerHandle) {
        if handle.scheduled() {
            self.timer_cancelled_count
                .set(self.timer_cancelled_count.get() + 1);
        }
    }
}

/// Why `run_forever` or `run_until_complete` could not give a result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RunError {
    /// The loop is closed (`RuntimeError('Event loop is closed')`).
    Closed,
    /// The loop is already running (`RuntimeError('This event loop is already running')`).
    AlreadyRunning,
    /// The selector could not be created or failed (`OSError` from `epoll_create` or
    /// `epoll_wait`, e.g. out of file descriptors).
    Selector(Rc<io::Error>),
    /// The loop stopped before the future completed (`stop()` was called, or nothing was left
    /// that could ever complete it).
    StoppedBeforeComplete,
    /// The future completed with an error or was cancelled.
    Failed(Error),
    /// `KeyboardInterrupt`: [`run`](crate::run) was interrupted by SIGINT (the first one
    /// cancelled the main task and it ended cancelled, or a second one stopped the loop).
    Interrupted,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Closed => f.write_str("event loop is closed"),
            RunError::AlreadyRunning => f.write_str("this event loop is already running"),
            RunError::Selector(error) => write!(f, "the event loop's selector failed: {error}"),
            RunError::StoppedBeforeComplete => {
                f.write_str("event loop stopped before future completed")
            }
            RunError::Failed(error) => write!(f, "future failed: {error}"),
            RunError::Interrupted => f.write_str("KeyboardInterrupt"),
        }
    }
}

impl std::error::Error for RunError {}

/// A single-threaded asyncio event loop. Cloning gives another reference to the same loop.
#[derive(Clone)]
pub struct EventLoop(pub(crate) Rc<LoopInner>);

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLoop {
    /// `asyncio.new_event_loop()`.
    pub fn new() -> Self {
        let (wakeup, created) = Wakeup::new();
        let selector = created
            .and_then(|()| Selector::new(wakeup.fd()))
            .map_err(Rc::new);
        EventLoop(Rc::new(LoopInner {
            ready: RefCell::new(VecDeque::new()),
            scheduled: RefCell::new(Vec::new()),
            timer_cancelled_count: Cell::new(0),
            stopping: Cell::new(false),
            running: Cell::new(false),
            closed: Cell::new(false),
            epoch: Instant::now(),
            tasks: RefCell::new(AllTasks::default()),
            task_names: RefCell::new(TaskNames::default()),
            task_factory: Cell::new(TaskFactory::Default),
            wakeup: Arc::new(wakeup),
            lent_wakers: RefCell::new(Vec::new()),
            debug: Cell::new(false),
            slow_callback_duration: Cell::new(DEFAULT_SLOW_CALLBACK_DURATION),
            slow_callback_reporter: RefCell::new(None),
            exception_handler: RefCell::new(None),
            selector,
            select_error: RefCell::new(None),
            io_ready: RefCell::new(Vec::new()),
            recv_buffer: RefCell::new(None),
            default_executor: RefCell::new(None),
            executor_waiters: RefCell::new(HashMap::new()),
            executor_shutdown_called: Cell::new(false),
            signals: RefCell::new(crate::signals::Signals::default()),
            signal_any: std::cell::OnceCell::new(),
            interrupted: Cell::new(false),
        }))
    }

    /// `loop.time()`: seconds on a monotonic clock (measured from the loop's creation).
    pub fn time(&self) -> f64 {
        self.0.epoch.elapsed().as_secs_f64()
    }

    /// `loop.call_soon`: run `callback` in a later pass, after every handle already ready.
    /// On a closed loop the callback is dropped and the handle comes back cancelled.
    pub fn call_soon<F: FnOnce() + 'static>(&self, callback: F) -> Handle {
        let (handle, ready) = Handle::new(callback);
        if !self.push_ready(ready) {
            handle.cancel();
        }
        handle
    }

    /// `call_soon` for a handle made earlier (a future's done-callback).
    pub(crate) fn call_soon_handle(&self, handle: Handle) {
        if self.0.closed.get() {
            handle.cancel();
        } else {
            self.0.ready.borrow_mut().push_back(handle.into_ready());
        }
    }

    /// Appends `handle` to the ready queue; false (and nothing queued) on a closed loop.
    #[inline]
    pub(crate) fn push_ready(&self, handle: Ready) -> bool {
        if self.0.closed.get() {
            return false;
        }
        self.0.ready.borrow_mut().push_back(handle);
        true
    }

    /// The handle through which other threads call `call_soon_threadsafe` on this loop.
    pub fn threadsafe(&self) -> ThreadsafeLoop {
        ThreadsafeLoop(self.0.wakeup.clone())
    }

    /// `loop.call_later`: `call_at(time() + delay)`.
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: f64, callback: F) -> TimerHandle {
        self.call_at(self.time() + delay, callback)
    }

    /// `loop.call_at`: run `callback` once `time()` reaches `when`.
    /// On a closed loop the callback is dropped and the handle comes back cancelled.
    pub fn call_at<F: FnOnce() + 'static>(&self, when: f64, callback: F) -> TimerHandle {
        let timer = TimerHandle::new(when, callback, Rc::downgrade(&self.0));
        self.schedule_timer(&timer);
        timer
    }

    /// `call_at`'s second half: `timer` joins the heap, due at `timer.when()`; on a closed
    /// loop it is cancelled instead.
    pub(crate) fn schedule_timer(&self, timer: &TimerHandle) {
        if self.0.closed.get() {
            timer.cancel();
        } else {
            let entry = ScheduledTimer {
                when: timer.when(),
                timer: timer.clone(),
            };
            heappush(&mut self.0.scheduled.borrow_mut(), entry);
            timer.set_scheduled(true);
        }
    }

    /// `loop.create_future()`.
    pub fn create_future<T: Clone + 'static>(&self) -> Future<T> {
        Future::new(self)
    }

    /// `loop.create_task`: wrap `coroutine` in a task made by the loop's task factory (see
    /// [`set_task_factory`](Self::set_task_factory)): by default its first step is scheduled
    /// with `call_soon`; with [`TaskFactory::Eager`] it runs at once, as
    /// [`create_eager_task`](Self::create_eager_task).
    pub fn create_task<T, F>(&self, coroutine: F) -> Task<T>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        let eager = self.0.task_factory.get() == TaskFactory::Eager;
        self.new_task(coroutine, eager, None)
    }

    /// `loop.create_task(coroutine, name=name)` (`name` as `str(name)`). With the default
    /// factory the task is made with its name and takes no `Task-N` number; with
    /// [`TaskFactory::Eager`], as CPython 3.12 calls a factory without the name, the task is
    /// made as [`create_task`](Self::create_task) makes it (its eager first step runs as
    /// `Task-N`) and renamed afterwards (`tasks._set_task_name`).
    pub fn create_task_named<T, F>(&self, coroutine: F, name: impl fmt::Display) -> Task<T>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        match self.0.task_factory.get() {
            TaskFactory::Default => self.new_task(coroutine, false, Some(name.to_string())),
            TaskFactory::Eager => {
                let task = self.new_task(coroutine, true, None);
                task.set_name(name);
                task
            }
        }
    }

    /// `Task(coroutine, loop=loop, eager_start=True)` (3.12): while the loop runs, the task's
    /// first step runs now, inside this call, with the new task as the current task, and the
    /// caller goes on once the coroutine first suspends or finishes. A coroutine that finishes
    /// in that step gives a task that is already done (and was never scheduled); one that
    /// suspends continues as any task. Outside a running loop the first step is scheduled as
    /// [`create_task`](Self::create_task) does by default.
    pub fn create_eager_task<T, F>(&self, coroutine: F) -> Task<T>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        self.new_task(coroutine, true, None)
    }

    /// `Task(coroutine, loop=loop, name=name, eager_start=True)`: as
    /// [`create_eager_task`](Self::create_eager_task), named before its first step.
    pub fn create_eager_task_named<T, F>(&self, coroutine: F, name: impl fmt::Display) -> Task<T>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        self.new_task(coroutine, true, Some(name.to_string()))
    }

    /// `Task.__init__`: names the task, registers it, then starts it eagerly
    /// (`__eager_start`) or schedules its first step.
    fn new_task<T, F>(&self, coroutine: F, eager_start: bool, name: Option<String>) -> Task<T>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        let id = task_names::next_task_id(name.is_some());
        let task = Task::new(self.clone(), id, Box::pin(coroutine));
        if let Some(name) = name {
            task.set_name(name);
        }
        if trace::enabled() {
            trace::record(EventKind::Spawn {
                task: id + 1,
                parent: crate::tasks::current_task_id().map(|parent| parent + 1),
            });
        }
        // An eager task is in the table during its first step too (`_register_eager_task`),
        // so that a waker can find it; a step that finishes it takes it out again.
        let slot = self.0.tasks.borrow_mut().insert(task.control());
        task.set_slot(slot);
        if eager_start && self.is_running() {
            let traced = trace::enabled().then_some(id + 1);
            if let Some(task) = traced {
                trace::record(EventKind::RunBegin { task, proc_id: 0 });
            }
            task.eager_start();
            if let Some(task) = traced {
                trace::record(EventKind::RunEnd { task, proc_id: 0 });
            }
        } else {
            task.control().schedule_step();
        }
        task
    }

    /// `loop.set_task_factory`: how [`create_task`](Self::create_task) (and so everything that
    /// creates tasks on this loop: `TaskGroup`, `asyncio.run`'s main task once set) makes tasks.
    pub fn set_task_factory(&self, factory: TaskFactory) {
        self.0.task_factory.set(factory);
    }

    /// `loop.get_task_factory`.
    pub fn get_task_factory(&self) -> TaskFactory {
        self.0.task_factory.get()
    }

    /// Task `id` (in `slot` of the task table) is done: the loop lets go of it.
    pub(crate) fn task_finished(&self, slot: usize, id: u64) {
        let task = self.0.tasks.borrow_mut().remove(slot, id);
        // Dropped once the table is no longer borrowed: the task's drop may reach the loop.
        drop(task);
    }

    /// The tasks in the task table (those not yet done), in creation order.
    pub(crate) fn all_tasks(&self) -> Vec<Rc<dyn TaskControl>> {
        let mut tasks = self.0.tasks.borrow().tasks();
        let names = self.0.task_names.borrow();
        tasks.sort_unstable_by_key(|task| names.creation_key(task.id()));
        tasks
    }

    /// The custom name of task `id`, if it has one.
    pub(crate) fn task_name(&self, id: u64) -> Option<String> {
        self.0.task_names.borrow().get(id).map(str::to_owned)
    }

    /// Task `id` is called `name` from now on.
    pub(crate) fn set_task_name(&self, id: u64, name: String) {
        self.0.task_names.borrow_mut().set(id, name);
    }

    /// How many custom names the loop keeps.
    #[cfg(test)]
    pub(crate) fn custom_task_names(&self) -> usize {
        self.0.task_names.borrow().len()
    }

    /// How many timers the heap holds, cancelled ones included.
    #[cfg(test)]
    pub(crate) fn scheduled_timers(&self) -> usize {
        self.0.scheduled.borrow().len()
    }

    /// `_timer_cancelled_count`.
    #[cfg(test)]
    pub(crate) fn cancelled_timers(&self) -> usize {
        self.0.timer_cancelled_count.get()
    }

    /// Task `id`, which had a custom name, is gone.
    pub(crate) fn forget_task_name(&self, id: u64) {
        let name = self.0.task_names.borrow_mut().remove(id);
        drop(name);
    }

    /// Schedule the next step of `task` (`Task.__wakeup` → `__step`), unless it is already
    /// scheduled or done. (`schedule_step` itself skips a task that is done: only the
    /// trace asks here.)
    pub(crate) fn wake_task(&self, task: Rc<dyn TaskControl>) {
        if self.0.closed.get() {
            return;
        }
        if trace::enabled() {
            if task.done() {
                return;
            }
            trace::record(EventKind::Wake {
                task: task.id() + 1,
                by: crate::tasks::current_task_id().map(|by| by + 1),
            });
        }
        task.schedule_step();
    }

    /// [`wake_task`](Self::wake_task) for a waker, which knows the task by its slot and id.
    pub(crate) fn wake_task_in_slot(&self, slot: usize, id: u64) {
        let task = self.0.tasks.borrow().get(slot, id).cloned();
        if let Some(task) = task {
            self.wake_task(task);
        }
    }

    /// `loop.set_debug`. In debug mode every handle run (a callback, or one step of a task) that
    /// takes at least [`slow_callback_duration`](Self::slow_callback_duration) is reported as
    /// CPython's `Executing <Handle ...> took 0.200 seconds`. CPython's other debug checks
    /// (coroutine origins, thread checks in `call_soon`, slow `select` logging) are not modelled.
    pub fn set_debug(&self, enabled: bool) {
        self.0.debug.set(enabled);
    }

    /// `loop.get_debug`.
    pub fn get_debug(&self) -> bool {
        self.0.debug.get()
    }

    /// `loop.slow_callback_duration`, in seconds (default 0.1).
    pub fn slow_callback_duration(&self) -> f64 {
        self.0.slow_callback_duration.get()
    }

    /// Set `loop.slow_callback_duration`, in seconds.
    pub fn set_slow_callback_duration(&self, seconds: f64) {
        self.0.slow_callback_duration.set(seconds);
    }

    /// Send debug mode's reports to `reporter` instead of stderr (where CPython's handler for
    /// the `asyncio` logger would be).
    pub fn set_slow_callback_reporter(&self, reporter: impl Fn(&str) + 'static) {
        *self.0.slow_callback_reporter.borrow_mut() = Some(Rc::new(reporter));
    }

    /// `loop.stop()`: the current pass finishes, then `run_forever` returns.
    pub fn stop(&self) {
        self.0.stopping.set(true);
    }

    /// `KeyboardInterrupt` raised in the loop (the second SIGINT during `asyncio.run`): the
    /// pass ends at once and `run_forever` gives [`RunError::Interrupted`].
    pub(crate) fn interrupt(&self) {
        self.0.interrupted.set(true);
        self.stop();
    }

    /// `loop.is_running()`.
    pub fn is_running(&self) -> bool {
        self.0.running.get()
    }

    /// `loop.is_closed()`.
    pub fn is_closed(&self) -> bool {
        self.0.closed.get()
    }

    /// `loop.close()`: drop every pending handle, timer and task. Closing a running loop is an
    /// error; closing twice does nothing.
    pub fn close(&self) -> Result<(), RunError> {
        if self.is_running() {
            return Err(RunError::AlreadyRunning);
        }
        if self.0.closed.replace(true) {
            return Ok(());
        }
        self.0.ready.borrow_mut().clear();
        self.0.scheduled.borrow_mut().clear();
        self.0.timer_cancelled_count.set(0);
        self.0.wakeup.close();
        // `_UnixSelectorEventLoop.close`: `remove_signal_handler` for each.
        self.remove_all_signal_handlers();
        if let Ok(selector) = &self.0.selector {
            selector.clear();
        }
        // `executor.shutdown(wait=False)`: idle workers exit, queued jobs still run.
        if let Some(executor) = self.0.default_executor.borrow_mut().take() {
            executor.shutdown();
        }
        self.0.executor_waiters.borrow_mut().clear();
        let tasks = std::mem::take(&mut *self.0.tasks.borrow_mut());
        for task in tasks.tasks() {
            task.clear_fut_waiter();
        }
        drop(tasks);
        Ok(())
    }

    /// `asyncio.get_running_loop()`, or `None` outside a running loop.
    pub fn running() -> Option<EventLoop> {
        RUNNING_LOOP.with(|running| running.borrow().clone())
    }

    /// `loop.run_forever()`: run passes until `stop()`.
    pub fn run_forever(&self) -> Result<(), RunError> {
        if self.is_closed() {
            return Err(RunError::Closed);
        }
        if self.is_running() || Self::running().is_some() {
            return Err(RunError::AlreadyRunning);
        }
        if let Err(error) = &self.0.selector {
            return Err(RunError::Selector(error.clone()));
        }
        self.0.running.set(true);
        RUNNING_LOOP.with(|running| *running.borrow_mut() = Some(self.clone()));
        crate::tasks::forget_spare_waker();
        loop {
            self.run_once();
            if self.0.stopping.get() {
                break;
            }
        }
        self.0.stopping.set(false);
        self.0.running.set(false);
        RUNNING_LOOP.with(|running| *running.borrow_mut() = None);
        if self.0.interrupted.replace(false) {
            return Err(RunError::Interrupted);
        }
        match self.0.select_error.borrow_mut().take() {
            Some(error) => Err(RunError::Selector(error)),
            None => Ok(()),
        }
    }

    /// `loop.run_until_complete(coroutine)`: run it as a task until it is done, and return its
    /// result.
    pub fn run_until_complete<T, F>(&self, coroutine: F) -> Result<T, RunError>
    where
        T: Clone + 'static,
        F: std::future::Future<Output = Result<T, Error>> + 'static,
    {
        if self.is_closed() {
            return Err(RunError::Closed);
        }
        let task = self.create_task(coroutine);
        self.run_until_done(&task.future())
    }

    /// `loop.run_until_complete(future)` for a future that is not a task: run until it is done,
    /// and return its result.
    pub(crate) fn run_until_done<T: Clone + 'static>(
        &self,
        future: &Future<T>,
    ) -> Result<T, RunError> {
        // `_run_until_complete_cb`, removed again after `run_forever` as CPython's
        // `remove_done_callback` does: a later run must not be stopped by this future.
        let armed = Rc::new(Cell::new(true));
        let (stopper, stopper_armed) = (self.clone(), armed.clone());
        future.add_done_callback(move || {
            if stopper_armed.get() {
                stopper.stop();
            }
        });
        let ran = self.run_forever();
        armed.set(false);
        ran?;
        match future.result() {
            None => Err(RunError::StoppedBeforeComplete),
            Some(Ok(value)) => Ok(value),
            Some(Err(error)) => Err(RunError::Failed(error)),
        }
    }

    /// `BaseEventLoop._run_once`: one pass of the loop (see the module diagram).
    fn run_once(&self) {
        self.purge_cancelled_timers();
        let timeout = self.compute_timeout();
        phase(EventKind::PhaseEnter { name: "select" });
        self.select(timeout);
        phase(EventKind::PhaseLeave { name: "select" });
        if self.0.interrupted.get() {
            // KeyboardInterrupt raised in select: nothing more of this pass runs.
            return;
        }
        self.move_due_timers();
        self.run_ready();
    }

    /// Step 1: drop cancelled timers, rebuilding the heap when most of a big one is cancelled.
    fn purge_cancelled_timers(&self) {
        let mut scheduled = self.0.scheduled.borrow_mut();
        let sched_count = scheduled.len();
        let cancelled = self.0.timer_cancelled_count.get();
        if sched_count > MIN_SCHEDULED_TIMER_HANDLES
            && cancelled as f64 / sched_count as f64 > MIN_CANCELLED_TIMER_HANDLES_FRACTION
        {
            scheduled.retain(|entry| {
                if entry.timer.cancelled() {
                    entry.timer.set_scheduled(false);
                }
                !entry.timer.cancelled()
            });
            heapify(&mut scheduled);
            self.0.timer_cancelled_count.set(0);
        } else {
            while scheduled
                .first()
                .is_some_and(|entry| entry.timer.cancelled())
            {
                self.0
                    .timer_cancelled_count
                    .set(self.0.timer_cancelled_count.get().saturating_sub(1));
                if let Some(entry) = heappop(&mut scheduled) {
                    entry.timer.set_scheduled(false);
                }
            }
        }
    }

    /// Step 2: how long `select` may block; `None` means forever.
    fn compute_timeout(&self) -> Option<f64> {
        if !self.0.ready.borrow().is_empty() || self.0.stopping.get() {
            return Some(0.0);
        }
        let first_when = self.0.scheduled.borrow().first().map(|entry| entry.when)?;
        Some((first_when - self.time()).clamp(0.0, MAXIMUM_SELECT_TIMEOUT))
    }

    /// The self-pipe, which wakers use from other threads.
    pub(crate) fn wakeup(&self) -> &Arc<Wakeup> {
        &self.0.wakeup
    }

    /// A step's waker was kept by a future: count it among what could still wake the loop.
    pub(crate) fn lend_waker(&self, waker: &Arc<TaskWaker>) {
        self.0.lent_wakers.borrow_mut().push(Arc::downgrade(waker));
    }

    /// Whether a future (of any thread) still holds the waker of a task that is still pending;
    /// forgets the wakers nobody holds any more or whose task is done.
    fn has_lent_wakers_of_pending_tasks(&self) -> bool {
        let tasks = self.0.tasks.borrow();
        let mut lent = self.0.lent_wakers.borrow_mut();
        lent.retain(|waker| {
            waker.upgrade().is_some_and(|waker| {
                let (slot, id) = waker.task();
                tasks.get(slot, id).is_some()
            })
        });
        !lent.is_empty()
    }

    /// Step 3: `select(timeout)` and `_process_events`. `EpollSelector.select` rounds a
    /// positive timeout up to the next millisecond (`math.ceil(timeout * 1e3) * 1e-3`). Callbacks
    /// from other threads join the ready queue first (CPython appended them when they were
    /// sent), then the readers and writers of the ready fds. Blocking forever with nothing that
    /// could wake the loop stops it instead.
    fn select(&self, timeout: Option<f64>) {
        let Ok(selector) = &self.0.selector else {
            self.stop();
            return;
        };
        let has_io = selector.has_sources();
        if !has_io && timeout.is_some_and(|timeout| timeout <= 0.0) {
            // A zero wait with no fd registered could only report the self-pipes: no syscall;
            // take what signals and other threads sent directly.
            if self.signal_pending() {
                let tripped = self.process_signals();
                if self.0.interrupted.get() {
                    return;
                }
                self.take_threadsafe_callbacks();
                self.queue_read_from_self(tripped);
            } else {
                self.take_threadsafe_callbacks();
            }
            return;
        }
        let signals_installed = self.0.signals.borrow().installed();
        let could_be_woken = has_io
            || signals_installed
            || self.0.wakeup.has_senders()
            || self.has_lent_wakers_of_pending_tasks();
        let wait = match timeout {
            Some(timeout) if timeout <= 0.0 => Some(Duration::ZERO),
            Some(timeout) => Some(Duration::from_secs_f64((timeout * 1e3).ceil() * 1e-3)),
            None if has_io || signals_installed => None,
            // Only a thread could wake us: re-check once a second that one still can.
            None if could_be_woken => Some(Duration::from_secs(1)),
            None => Some(Duration::ZERO),
        };
        let mut io_ready = self.0.io_ready.borrow_mut();
        match selector.select(wait, &mut io_ready) {
            Ok(true) => {
                self.0.wakeup.read_from_self();
                self.0.signals.borrow().drain_pipe();
            }
            Ok(false) => {}
            Err(error) => {
                *self.0.select_error.borrow_mut() = Some(Rc::new(error));
                self.stop();
            }
        }
        let tripped = self.process_signals();
        if self.0.interrupted.get() {
            io_ready.clear();
            return;
        }
        let arrived = self.take_threadsafe_callbacks();
        let arrived = arrived + tripped.len();
        self.queue_read_from_self(tripped);
        if timeout.is_none() && arrived == 0 && io_ready.is_empty() && !could_be_woken {
            self.stop();
        }
        self.0
            .ready
            .borrow_mut()
            .extend(io_ready.drain(..).map(|io| io as Ready));
    }

    /// The callbacks other threads sent (`call_soon_threadsafe`) join the ready queue; returns
    /// how many.
    #[inline]
    fn take_threadsafe_callbacks(&self) -> usize {
        if self.0.wakeup.has_pending() {
            self.take_threadsafe_callbacks_slow()
        } else {
            0
        }
    }

    #[cold]
    fn take_threadsafe_callbacks_slow(&self) -> usize {
        let arrived = self.0.wakeup.take_pending();
        let count = arrived.len();
        let mut ready = self.0.ready.borrow_mut();
        for (callback, name) in arrived {
            ready.push_back(Handle::named(callback, name).1);
        }
        count
    }

    /// Step 4: every timer due before `time() + clock_resolution` joins the ready queue, in heap
    /// order.
    fn move_due_timers(&self) {
        let mut scheduled = self.0.scheduled.borrow_mut();
        if scheduled.is_empty() {
            // CPython reads the clock here on every pass; with no timer the result is unused.
            return;
        }
        let end_time = self.time() + CLOCK_RESOLUTION;
        let mut ready = self.0.ready.borrow_mut();
        while scheduled.first().is_some_and(|entry| entry.when < end_time) {
            if let Some(entry) = heappop(&mut scheduled) {
                entry.timer.set_scheduled(false);
                ready.push_back(entry.timer.into_ready());
            }
        }
    }

    /// Step 5: run the `ntodo` handles that are ready now, skipping cancelled ones; in debug
    /// mode, time each one.
    fn run_ready(&self) {
        let ntodo = self.0.ready.borrow().len();
        for _ in 0..ntodo {
            // Only this loop pops, and `close()` cannot run while it does: `ntodo` are there.
            let Some(handle) = self.0.ready.borrow_mut().pop_front() else {
                break;
            };
            if handle.cancelled() {
                continue;
            }
            let traced = trace::enabled().then(|| handle.trace_task());
            if let Some(task) = traced {
                trace::record(EventKind::RunBegin { task, proc_id: 0 });
            }
            if self.0.debug.get() {
                self.run_handle_timed(handle);
            } else {
                handle.run();
            }
            if let Some(task) = traced {
                trace::record(EventKind::RunEnd { task, proc_id: 0 });
            }
        }
    }

    /// Debug mode's handle run: `logger.warning('Executing %s took %.3f seconds', ...)` when
    /// the run took at least `slow_callback_duration`.
    #[cold]
    fn run_handle_timed(&self, handle: Ready) {
        let started = self.time();
        let ran = handle.clone();
        ran.run();
        let took = self.time() - started;
        if took >= self.0.slow_callback_duration.get() {
            let report = format!("Executing {} took {took:.3} seconds", handle.describe());
            let reporter = self.0.slow_callback_reporter.borrow().clone();
            match reporter {
                Some(reporter) => reporter(&report),
                None => eprintln!("{report}"),
            }
        }
    }
}

/// Records a loop phase's edge when a trace is being recorded.
#[inline]
fn phase(kind: EventKind) {
    if trace::enabled() {
        trace::record(kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schedules `count` timers far in the future, `when` increasing with the index.
    fn far_timers(event_loop: &EventLoop, count: usize) -> Vec<TimerHandle> {
        let base = event_loop.time() + 1000.0;
        (0..count)
            .map(|i| event_loop.call_at(base + i as f64, || {}))
            .collect()
    }

    /// One pass that does not sleep (a ready handle makes the timeout 0).
    fn one_pass(event_loop: &EventLoop) {
        event_loop.call_soon(|| {});
        event_loop.run_once();
    }

    fn heap_len(event_loop: &EventLoop) -> usize {
        event_loop.0.scheduled.borrow().len()
    }

    #[test]
    fn more_than_half_of_over_100_cancelled_rebuilds_the_heap() {
        let event_loop = EventLoop::new();
        let timers = far_timers(&event_loop, 200);
        timers.iter().skip(99).for_each(TimerHandle::cancel);
        assert_eq!(event_loop.0.timer_cancelled_count.get(), 101);
        one_pass(&event_loop);
        assert_eq!(heap_len(&event_loop), 99);
        assert_eq!(event_loop.0.timer_cancelled_count.get(), 0);
        assert!(timers.iter().skip(99).all(|timer| !timer.scheduled()));
    }

    #[test]
    fn exactly_half_cancelled_only_pops_the_top() {
        let event_loop = EventLoop::new();
        let timers = far_timers(&event_loop, 200);
        timers.iter().take(3).for_each(TimerHandle::cancel);
        timers.iter().skip(103).for_each(TimerHandle::cancel);
        assert_eq!(event_loop.0.timer_cancelled_count.get(), 100);
        one_pass(&event_loop);
        assert_eq!(heap_len(&event_loop), 197);
        assert_eq!(event_loop.0.timer_cancelled_count.get(), 97);
    }

    #[test]
    fn cancelling_an_unscheduled_timer_is_not_counted() {
        let event_loop = EventLoop::new();
        let timer = event_loop.call_at(0.0, || {});
        one_pass(&event_loop);
        assert!(!timer.scheduled());
        timer.cancel();
        assert_eq!(event_loop.0.timer_cancelled_count.get(), 0);
    }

    #[test]
    fn a_pass_runs_only_the_handles_ready_at_its_start() {
        let event_loop = EventLoop::new();
        let inner = event_loop.clone();
        event_loop.call_soon(move || {
            inner.call_soon(|| {});
        });
        event_loop.run_once();
        assert_eq!(event_loop.0.ready.borrow().len(), 1);
    }

    #[test]
    fn nothing_left_to_wait_for_stops_run_until_complete() {
        let event_loop = EventLoop::new();
        let future = event_loop.create_future::<()>();
        let outcome = event_loop.run_until_complete(future);
        assert!(matches!(outcome, Err(RunError::StoppedBeforeComplete)));
    }
}
