//! Node's layer over the libuv loop: the per-thread environment, `run`, and how errors end it.
//!
//! Invariants:
//! - One environment per thread (Node: one per isolate), created on first use and dropped
//!   when [`run`] returns, so each `run` starts from a fresh loop.
//! - Every callback the loop makes into "JavaScript" goes through [`Env::make_callback`]
//!   (Node's `InternalCallbackScope`): after it returns, the nextTick queue and the microtask
//!   queue are drained ([`task_queues`]). Timers and immediates also drain between any two of
//!   their callbacks (`runNextTicks`).
//! - An uncaught error ends the run at once, as Node's default `uncaughtException` handling
//!   exits the process: [`throw`] (and an unhandled rejection) unwinds to [`run`], which
//!   returns it as [`RunError`]. No `RefCell` is borrowed while user code runs, so unwinding
//!   leaves nothing half-borrowed; the environment is dropped whole.
//! - Code that may run user code holds its own reference to the environment ([`with_env`],
//!   [`installed`]): a callback could reach the end of [`run`], which drops the
//!   environment. Only steps that run none (a queue push, the spare) borrow it without one
//!   ([`installed_unchecked`]).
//!
//! ```text
//!   run(main):  env = Env::new()          uv timer (unref), check handle (unref), idle handle
//!               make_callback(main)       main "module", then processTicksAndRejections
//!               uv.run(Default)           timers ─ pending ─ idle ─ prepare ─ poll ─ check ─ close
//!               drop env
//! ```

pub(crate) mod abort;
pub(crate) mod async_fn;
pub(crate) mod combinators;
pub(crate) mod immediate;
pub(crate) mod promise;
pub(crate) mod spare;
pub(crate) mod task_queues;
pub(crate) mod timers;
pub(crate) mod timers_promises;
pub(crate) mod warning;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

use crate::uv::{CheckHandle, IdleHandle, Loop, LoopOptions, RunMode, TimerHandle};

/// A thrown JavaScript value: an error object, shared (cheap to clone, like a JS reference).
#[derive(Clone)]
pub struct JsError(Rc<dyn std::error::Error>);

impl JsError {
    /// Wraps any error.
    pub fn new(error: impl std::error::Error + 'static) -> JsError {
        JsError(Rc::new(error))
    }

    /// An `Error` with `message` (JavaScript's `new Error(message)`).
    pub fn message(message: impl Into<String>) -> JsError {
        JsError(Rc::new(ErrorMessage(message.into())))
    }

    /// JavaScript's `error.message`: the message an [`JsError::message`] error was made with;
    /// for any other error, its `Display`.
    pub fn error_message(&self) -> String {
        match self.0.downcast_ref::<ErrorMessage>() {
            Some(ErrorMessage(message)) => message.clone(),
            None => self.0.to_string(),
        }
    }

    /// The wrapped error.
    pub fn get(&self) -> &(dyn std::error::Error + 'static) {
        &*self.0
    }
}

impl fmt::Debug for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsError({})", self.0)
    }
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[derive(Debug)]
struct ErrorMessage(String);

impl fmt::Display for ErrorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error: {}", self.0)
    }
}

impl std::error::Error for ErrorMessage {}

/// Why [`run`] ended early.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// A callback threw ([`throw`]): Node prints it and exits with code 1.
    Uncaught(JsError),
    /// A callback panicked; the panic message (Node has no panics: this is Rust's own).
    Panic(String),
    /// A promise was rejected and no handler was attached by the time the microtask queue
    /// drained (Node's default `--unhandled-rejections=throw`).
    UnhandledRejection(JsError),
    /// `run` was called from inside a running `run` on the same thread.
    AlreadyRunning,
    /// The loop could not be created (epoll or eventfd failed).
    Loop(io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Uncaught(error) => write!(f, "Uncaught {error}"),
            RunError::Panic(message) => write!(f, "callback panicked: {message}"),
            RunError::UnhandledRejection(error) => write!(
                f,
                "unhandled promise rejection: {error} (Node: ERR_UNHANDLED_REJECTION, exit code 1)"
            ),
            RunError::AlreadyRunning => f.write_str("uv_loop::run called inside a running loop"),
            RunError::Loop(error) => write!(f, "cannot create the event loop: {error}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Throws `error` from a callback: the run ends with [`RunError::Uncaught`], as an uncaught
/// exception ends a Node process. Outside [`run`], it unwinds to the caller like a panic.
pub fn throw(error: JsError) -> ! {
    try_with_env(|env| env.fatal.replace(Some(Fatal::Uncaught(error))));
    resume_unwind(Box::new(FatalMarker))
}

pub(crate) enum Fatal {
    Uncaught(JsError),
    UnhandledRejection(JsError),
}

/// The unwind payload of [`throw`]; the error itself waits in `Env::fatal`.
struct FatalMarker;

/// Options for [`run_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Thread-pool size; `None` reads `UV_THREADPOOL_SIZE` (default 4), as Node does.
    pub threadpool_size: Option<usize>,
}

/// The environment: the loop and Node's queues over it.
pub(crate) struct Env {
    pub(crate) uv: Loop,
    pub(crate) queues: task_queues::TaskQueues,
    pub(crate) timers: timers::Timers,
    pub(crate) immediates: immediate::Immediates,
    pub(crate) tasks: async_fn::Tasks,
    /// A finished promise object kept for the next promise of its type ([`spare`]).
    pub(crate) spare: spare::Spare,
    /// `process.on('warning')` listeners.
    pub(crate) warnings: warning::WarningListeners,
    pub(crate) timer_handle: TimerHandle,
    immediate_check_handle: CheckHandle,
    pub(crate) immediate_idle_handle: IdleHandle,
    fatal: RefCell<Option<Fatal>>,
    running: Cell<bool>,
}

/// This thread's environment, owned; [`CURRENT_ENV`] points at it while it is installed.
struct CurrentEnv(RefCell<Option<Rc<Env>>>);

impl Drop for CurrentEnv {
    fn drop(&mut self) {
        // At thread exit: the pointer goes before the `Rc` it points to.
        CURRENT_ENV.with(|current| current.set(std::ptr::null()));
    }
}

thread_local! {
    static CURRENT: CurrentEnv = const { CurrentEnv(RefCell::new(None)) };
    /// The installed environment's address (null when none), read by [`env`] on every
    /// `setImmediate`, `then` and check phase: a thread-local with no destructor is a plain
    /// load, where the owning `RefCell<Option<Rc>>` costs a registration check and a borrow.
    static CURRENT_ENV: Cell<*const Env> = const { Cell::new(std::ptr::null()) };
}

/// Makes `env` this thread's environment.
fn install(env: &Rc<Env>) {
    CURRENT.with(|current| *current.0.borrow_mut() = Some(env.clone()));
    CURRENT_ENV.with(|current| current.set(Rc::as_ptr(env)));
}

/// Removes this thread's environment and returns it, to be dropped by the caller.
fn uninstall() -> Option<Rc<Env>> {
    CURRENT_ENV.with(|current| current.set(std::ptr::null()));
    CURRENT.with(|current| current.0.borrow_mut().take())
}

/// The installed environment, if any: a new reference to it. Unlike [`env`], never creates
/// one (so [`run_with`]'s options still apply to a loop that has not started).
#[inline(always)]
pub(crate) fn installed() -> Option<Rc<Env>> {
    let current = CURRENT_ENV.with(Cell::get);
    if current.is_null() {
        return None;
    }
    // SAFETY: `CURRENT_ENV` is non-null only between `install` and `uninstall` (or the
    // owner's drop at thread exit, which clears it first), and all that time `CURRENT` holds
    // an `Rc` to the environment it points at; so it points at a live `Rc<Env>` allocation,
    // whose count this takes one more reference on before making the `Rc`.
    unsafe {
        Rc::increment_strong_count(current);
        Some(Rc::from_raw(current))
    }
}

/// The installed environment, if any, borrowed: a plain load, where [`installed`] also
/// counts a reference up and, at the end, down again. For the few steps of every promise
/// reaction that only touch the queues or the spare.
///
/// # Safety
///
/// While the returned reference is in use, the caller runs no code that could drop the
/// environment: no user callback and no drop of a user value (either could reach the end of
/// [`run_with`], which uninstalls the environment and drops it).
#[inline(always)]
pub(crate) unsafe fn installed_unchecked<'a>() -> Option<&'a Env> {
    let current = CURRENT_ENV.with(Cell::get);
    // SAFETY: non-null, `current` points at the environment that `CURRENT` holds (see
    // `installed`), and the caller lets nothing drop it while the borrow is in use.
    unsafe { current.as_ref() }
}

impl Env {
    fn new(options: RunOptions) -> io::Result<Rc<Env>> {
        let uv = Loop::with_options(LoopOptions {
            threadpool_size: options.threadpool_size,
        })?;
        let timer_handle = TimerHandle::new(&uv);
        timer_handle.unref();
        let immediate_check_handle = CheckHandle::new(&uv);
        let immediate_idle_handle = IdleHandle::new(&uv);
        let env = Rc::new(Env {
            queues: task_queues::TaskQueues::default(),
            timers: timers::Timers::default(),
            immediates: immediate::Immediates::default(),
            tasks: async_fn::Tasks::new(&uv),
            spare: spare::Spare::default(),
            warnings: warning::WarningListeners::default(),
            timer_handle,
            immediate_check_handle,
            immediate_idle_handle,
            fatal: RefCell::new(None),
            running: Cell::new(false),
            uv,
        });
        // Node: uv_check_start(immediate_check_handle, CheckImmediate); uv_unref(...).
        let started = env
            .immediate_check_handle
            .start(|| with_env(immediate::check_immediate));
        if started.is_ok() {
            env.immediate_check_handle.unref();
        }
        Ok(env)
    }

    /// Node's `InternalCallbackScope`: run `callback`, then drain ticks and microtasks.
    #[inline]
    pub(crate) fn make_callback(&self, callback: impl FnOnce()) {
        callback();
        task_queues::run_next_ticks(self);
    }

    /// Drops every queued callback, timer, immediate and task, so that reference cycles
    /// through closures (an interval that holds its own `Timeout`) are released.
    fn close(&self) {
        let ticks = self.queues.take_all();
        let timers = self.timers.take_all();
        let immediates = self.immediates.take_all();
        let tasks = self.tasks.take_all();
        let warnings = self.warnings.take_all();
        self.spare.clear();
        drop((ticks, timers, immediates, tasks, warnings));
    }
}

/// Calls `f` with this thread's environment, creating it on first use.
///
/// # Panics
///
/// If the loop cannot be created (the kernel refused an epoll instance or an eventfd), as
/// `std::thread::spawn` panics when the OS refuses a thread. [`run`] reports the same failure
/// as [`RunError::Loop`] instead.
#[inline(always)]
pub(crate) fn with_env<R>(f: impl FnOnce(&Env) -> R) -> R {
    // One call of `f`, after the thread-local is released, so that `f` inlines into its
    // caller: the hot paths (then, setImmediate, settle) reach the queues without a call.
    f(&env())
}

/// This thread's environment, created on first use (see [`with_env`]): a clone of the `Rc`,
/// so that no borrow of the thread-local is held while the caller uses it.
#[inline(always)]
pub(crate) fn env() -> Rc<Env> {
    match installed() {
        Some(env) => env,
        None => env_for_this_thread(),
    }
}

/// [`with_env`]'s first use on a thread: creates the environment.
#[cold]
#[inline(never)]
fn env_for_this_thread() -> Rc<Env> {
    current_env().unwrap_or_else(|error| {
        panic!("uv_loop: cannot create the event loop for this thread: {error}")
    })
}

fn try_with_env<R>(f: impl FnOnce(&Env) -> R) -> Option<R> {
    let env = installed()?;
    Some(f(&env))
}

fn current_env() -> io::Result<Rc<Env>> {
    if let Some(env) = installed() {
        return Ok(env);
    }
    let env = Env::new(RunOptions::default())?;
    install(&env);
    Ok(env)
}

/// Runs `main` as Node runs a script: `main` first, then the nextTick and microtask queues,
/// then the event loop until nothing referenced is left. Returns the first uncaught error or
/// unhandled rejection, which ends the run at once (Node's default).
pub fn run(main: impl FnOnce()) -> Result<(), RunError> {
    run_with(RunOptions::default(), main)
}

/// [`run`] with `options`. Options apply only when this call creates the thread's
/// environment, that is when nothing was scheduled on this thread before it.
pub fn run_with(options: RunOptions, main: impl FnOnce()) -> Result<(), RunError> {
    let env = match installed() {
        Some(env) if env.running.get() => return Err(RunError::AlreadyRunning),
        Some(env) => env,
        None => {
            let env = Env::new(options).map_err(RunError::Loop)?;
            install(&env);
            env
        }
    };
    env.running.set(true);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        env.make_callback(main);
        env.uv.run(RunMode::Default);
    }));
    let fatal = env.fatal.borrow_mut().take();
    env.close();
    env.running.set(false);
    drop(uninstall());
    drop(env);
    match outcome {
        Ok(()) => Ok(()),
        Err(payload) => Err(match (payload.downcast::<FatalMarker>(), fatal) {
            (Ok(_), Some(Fatal::Uncaught(error))) => RunError::Uncaught(error),
            (Ok(_), Some(Fatal::UnhandledRejection(error))) => RunError::UnhandledRejection(error),
            (Ok(_), None) => RunError::Panic("uncaught error without a value".into()),
            (Err(payload), _) => RunError::Panic(panic_message(&*payload)),
        }),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs an event listener as Node's EventTarget does: an error it throws does not unwind
/// through the dispatch, so the other listeners still run; it is thrown again from a nextTick
/// (`emitUncaughtException`), which ends the run as uncaught. A panic is Rust's own and
/// unwinds at once, as do a throw outside [`run`] and an error that is not a throw.
pub(crate) fn call_listener(listener: impl FnOnce()) {
    let Err(payload) = catch_unwind(AssertUnwindSafe(listener)) else {
        return;
    };
    if !payload.is::<FatalMarker>() {
        resume_unwind(payload);
    }
    let thrown = try_with_env(|env| {
        let mut fatal = env.fatal.borrow_mut();
        match fatal.take() {
            Some(Fatal::Uncaught(error)) => Some(error),
            other => {
                *fatal = other;
                None
            }
        }
    });
    match thrown.flatten() {
        Some(error) => task_queues::next_tick(move || throw(error)),
        None => resume_unwind(payload),
    }
}

pub(crate) fn raise_unhandled_rejection(env: &Env, reason: JsError) -> ! {
    env.fatal.replace(Some(Fatal::UnhandledRejection(reason)));
    resume_unwind(Box::new(FatalMarker))
}

/// Queues `work` on the thread pool with `kind`; `after` runs with its result on the loop
/// thread in the poll phase, as a callback from the loop (ticks and microtasks drain after).
pub(crate) fn submit_work<R: Send + 'static>(
    kind: crate::uv::WorkKind,
    work: impl FnOnce() -> R + Send + 'static,
    after: impl FnOnce(R) + 'static,
) {
    with_env(|env| {
        env.uv.submit(
            kind,
            Box::new(move || Box::new(work()) as Box<dyn std::any::Any + Send>),
            Box::new(move |result| match result.downcast::<R>() {
                Ok(value) => with_env(|env| env.make_callback(|| after(*value))),
                Err(other) => crate::uv::threadpool::resume_work_panic(other),
            }),
        );
    });
}

/// Runs `work` on the thread pool and `after` with its result on the loop thread, in the
/// poll phase (`uv_queue_work`, as Node add-ons use it). A panic in `work` ends the run with
/// [`RunError::Panic`].
pub fn queue_work<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
    after: impl FnOnce(R) + 'static,
) {
    submit_work(crate::uv::WorkKind::Cpu, work, after);
}
