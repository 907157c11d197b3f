//! The runtime: G, M, P and the scheduler, and the public handle over them.

pub(crate) mod deadlock;
pub(crate) mod g;
pub(crate) mod idle;
pub(crate) mod netpoll;
pub(crate) mod park;
pub(crate) mod proc;
pub(crate) mod runq;
pub(crate) mod schedtrace;
pub(crate) mod sigquit;
pub(crate) mod stack;
pub(crate) mod sysmon;
pub(crate) mod task;
pub(crate) mod time;
pub(crate) mod traceback;

use std::any::Any;
use std::fmt;
use std::panic;
use std::sync::Arc;
use std::time::Duration;

use self::g::{current_g, suspend, AfterSwitch};
pub use self::g::{lock_os_thread, unlock_os_thread};
use self::park::register_foreign_thread;
use self::proc::{current_m, Sched};
pub use self::stack::StackError;
pub use self::sysmon::preempt_check;
use crate::loom::Ordering;

/// Default usable stack size of a goroutine: a virtual reservation, paid for in RSS only as
/// deep as the goroutine actually goes.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Settings of a runtime, fixed when it is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) procs: usize,
    pub(crate) stack_size: usize,
    pub(crate) deadlock_detection: bool,
    pub(crate) max_threads: usize,
    pub(crate) sigquit_dump: bool,
    pub(crate) park_backtraces: bool,
    /// Nanoseconds between two scheduler traces; 0: none (`schedtrace.rs`).
    pub(crate) schedtrace_ns: u64,
    /// Whether traces carry the per-P, per-M and per-G lines.
    pub(crate) scheddetail: bool,
}

/// Builds a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    procs: Option<usize>,
    stack_size: usize,
    deadlock_detection: bool,
    max_threads: usize,
    sigquit_dump: bool,
    park_backtraces: Option<bool>,
    schedtrace: Option<Duration>,
    scheddetail: Option<bool>,
}

/// Go's default limit on OS threads (`sched.maxmcount`).
pub const DEFAULT_MAX_THREADS: usize = 10_000;

/// Why a runtime could not be built.
#[derive(Debug)]
pub struct BuildError {
    message: String,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: as many Ps as the cores this process may use (container CPU limits included),
    /// or `GOMAXPROCS` from the environment; 256 KiB stacks; deadlock detection on.
    pub fn new() -> Builder {
        Builder {
            procs: None,
            stack_size: DEFAULT_STACK_SIZE,
            deadlock_detection: true,
            max_threads: DEFAULT_MAX_THREADS,
            sigquit_dump: true,
            park_backtraces: None,
            schedtrace: None,
            scheddetail: None,
        }
    }

    /// Prints a one-line summary of the scheduler to stderr every `period` (Go's
    /// `GODEBUG=schedtrace=N`, in Go's format):
    ///
    /// ```text
    /// SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 41 37 ]
    /// ```
    ///
    /// The time is since the runtime was built; then the Ps, the idle Ps, the runtime's threads
    /// (its Ms and sysmon), the spinning Ms, Go's `needspinning` (always 0 here), the parked Ms,
    /// the global run queue's length, each P's run queue length and each P's scheduling ticks.
    /// sysmon prints them, between rounds of 20 us to 10 ms, so a shorter period is not kept.
    /// A zero `period` turns the trace off. Unless set here, `GODEBUG=schedtrace=N` (N in ms)
    /// turns it on, as in Go.
    pub fn schedtrace(mut self, period: Duration) -> Builder {
        self.schedtrace = Some(period);
        self
    }

    /// Makes each scheduler trace detailed (Go's `GODEBUG=scheddetail=1`): a line per P
    /// (`status`, `schedtick`, `syscalltick`, its `m`, `runqsize`, `gfreecnt`, `timerslen`), per
    /// thread (`p`, `curg`, `spinning`, `blocked`, `lockedg`) and per goroutine (`status` and
    /// wait reason, `m`, `lockedm`), with Go's numbers for the states. With either setting on,
    /// the deadlock report and the SIGQUIT dump start with a detailed trace, as Go's crash
    /// output does. Unless set here, `GODEBUG=scheddetail=1` turns it on.
    pub fn scheddetail(mut self, on: bool) -> Builder {
        self.scheddetail = Some(on);
        self
    }

    /// Records each goroutine's stack as it parks, so that goroutine dumps (the deadlock report,
    /// the SIGQUIT dump, [`Runtime::goroutine_dump`]) print every parked goroutine's stack under
    /// its header, as Go's tracebacks do. Off by default: a capture costs microseconds per park
    /// (symbols are looked up only when a dump prints them). Unless set here, the environment
    /// variable `GOROUTINES_PARK_BACKTRACE=1` turns it on, as `RUST_BACKTRACE` does for panics.
    pub fn park_backtraces(mut self, on: bool) -> Builder {
        self.park_backtraces = Some(on);
        self
    }

    /// On SIGQUIT, print every goroutine with its state, wait reason and wait time, then exit with
    /// status 2, as Go does (on by default). A program that wants the signal for itself either
    /// turns this off or asks for it with [`signal::notify`](crate::signal::notify), which takes
    /// SIGQUIT over from the dump while a channel listens, as in Go. The handler is
    /// process-wide; once any runtime has installed it, it stays.
    pub fn sigquit_dump(mut self, on: bool) -> Builder {
        self.sigquit_dump = on;
        self
    }

    /// Caps the OS threads the runtime may start (Go's `debug.SetMaxThreads`, 10,000 by default).
    /// Threads beyond the Ps come from blocking calls and from goroutines that hog a P. Past the
    /// cap the program prints Go's `thread exhaustion` error and exits with status 2.
    pub fn max_threads(mut self, n: usize) -> Builder {
        self.max_threads = n.max(1);
        self
    }

    /// Sets the number of Ps: how many goroutines run in parallel (Go's GOMAXPROCS).
    pub fn procs(mut self, n: usize) -> Builder {
        self.procs = Some(n);
        self
    }

    /// Sets each goroutine's usable stack size in bytes (rounded up to whole pages, at least
    /// 16 KiB). Overflowing it prints `goroutine N stack overflow` and aborts.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = bytes;
        self
    }

    /// Turns Go's `all goroutines are asleep - deadlock!` check on or off (on by default). Turn it
    /// off when plain threads that never touched a goroutine primitive may still feed goroutines.
    pub fn deadlock_detection(mut self, on: bool) -> Builder {
        self.deadlock_detection = on;
        self
    }

    /// Builds the runtime. Its threads start on demand.
    ///
    /// # Safety
    ///
    /// This is the program's one acknowledgment of the hazard of stackful goroutines in Rust: a
    /// goroutine may move to another OS thread whenever it blocks in this crate (a channel
    /// operation, `select!`, `sleep`, `join`, a `sync` lock, `yield_now`). Thread-local storage
    /// does not move with it. The caller promises that no goroutine holds, across such a call:
    /// - a reference into a `thread_local!` value, or anything derived from one (including
    ///   `Rc`s or guards obtained from thread-locals);
    /// - a `std::sync::MutexGuard`, `RwLock` guard or any other guard that must be released on the
    ///   thread that acquired it, or a `RefCell` borrow of thread-local data;
    /// - a value whose soundness relies on staying on one thread (`!Send` types obtained from
    ///   thread-locals or from the OS thread's identity).
    ///
    /// Goroutine code that needs per-goroutine state uses [`goroutine_local!`](crate::goroutine_local);
    /// code that needs a real thread (OpenGL contexts, thread-affine C libraries) runs on its own
    /// `std::thread`.
    pub unsafe fn build(self) -> Result<Runtime, BuildError> {
        let procs = match self.procs {
            Some(0) => {
                return Err(BuildError {
                    message: "the number of Ps must be at least 1".into(),
                })
            }
            Some(n) => n,
            None => gomaxprocs_from_env()?.unwrap_or_else(probe::threads::available_parallelism),
        };
        let godebug = match (self.schedtrace, self.scheddetail) {
            (Some(_), Some(_)) => schedtrace::Godebug::default(),
            _ => schedtrace::Godebug::from_env(),
        };
        let schedtrace_ns = match self.schedtrace {
            Some(period) => u64::try_from(period.as_nanos()).unwrap_or(u64::MAX),
            None => u64::try_from(godebug.schedtrace).unwrap_or(0) * 1_000_000,
        };
        let sched = Sched::new(Config {
            procs,
            stack_size: self.stack_size,
            deadlock_detection: self.deadlock_detection,
            max_threads: self.max_threads,
            sigquit_dump: self.sigquit_dump,
            park_backtraces: self.park_backtraces.unwrap_or_else(|| {
                std::env::var(traceback::ENV).is_ok_and(|value| value.trim() == "1")
            }),
            schedtrace_ns,
            scheddetail: self.scheddetail.unwrap_or(godebug.scheddetail != 0),
        })
        .map_err(|e| BuildError {
            message: format!("cannot start the runtime (network poller or SIGQUIT watcher): {e}"),
        })?;
        Ok(Runtime { sched })
    }
}

fn gomaxprocs_from_env() -> Result<Option<usize>, BuildError> {
    match std::env::var("GOMAXPROCS") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(BuildError {
                message: format!("GOMAXPROCS={v:?} is not a positive integer"),
            }),
        },
        Err(std::env::VarError::NotUnicode(v)) => Err(BuildError {
            message: format!("GOMAXPROCS={v:?} is not a positive integer"),
        }),
    }
}

/// A goroutine runtime: Ps, the threads that run them, and the goroutines on them.
///
/// Dropping it stops its threads once they are idle; goroutines still parked are abandoned
/// without being unwound, as Go abandons them when `main` returns.
pub struct Runtime {
    sched: &'static Sched,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.procs())
            .finish()
    }
}

/// Counters a runtime reports while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Successful steals from another P's run queue.
    pub steals: u64,
    /// Times a P's run queue was full and moved half of itself to the global queue.
    pub runq_overflows: u64,
    /// Times a scheduler thread parked for lack of work.
    pub thread_parks: u64,
    /// Searches in which a scheduler thread that found nothing kept looking for up to 50 µs
    /// before it gave up its P (it does so only while such spins keep finding work).
    pub timed_spins: u64,
    /// Scheduler threads started.
    pub threads_started: u64,
    /// Ps that sysmon took from goroutines running 10 ms without a runtime call.
    pub hog_retakes: u64,
    /// Goroutines alive now.
    pub goroutines: u64,
    /// Goroutines waiting in the Ps' local run queues now (their rings, `runnext` not included).
    pub runq_local: u64,
    /// Ps whose `runnext` slot holds a goroutine now.
    pub runnext: u64,
    /// Goroutines waiting on the global run queue now.
    pub runq_global: u64,
    /// Socket operations of goroutines that the kernel answered `EAGAIN`: system calls that
    /// moved nothing before the goroutine parked (a stream read that came back short skips its
    /// `EAGAIN`, see `net`).
    pub net_would_blocks: u64,
}

impl Runtime {
    /// The scheduler, for the crate's unit tests.
    #[cfg(test)]
    pub(crate) fn sched(&self) -> &'static Sched {
        self.sched
    }

    /// The number of Ps.
    pub fn procs(&self) -> usize {
        self.sched.ps.len()
    }

    /// Starts a goroutine running `f` (Go's `go` statement), from any thread. Where it is called
    /// is the goroutine's "created by" in the goroutine dump.
    #[track_caller]
    pub fn go<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if current_g().is_none() {
            register_foreign_thread();
        }
        spawn_on(self.sched, f)
    }

    /// Runs `f` as a main goroutine and returns its value once it returns, abandoning any other
    /// goroutines still parked (they are not unwound). A panic in `f` resumes on the caller.
    #[track_caller]
    pub fn run<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.go(f).join() {
            Ok(v) => v,
            Err(e) => panic::resume_unwind(e.into_panic()),
        }
    }

    /// The runtime's counters, and its run queues' lengths now (a snapshot: each queue is read
    /// once, while the scheduler keeps running).
    pub fn stats(&self) -> Stats {
        let c = &self.sched.counters;
        let ps = self.sched.ps.iter();
        Stats {
            steals: c.steals.load(Ordering::Relaxed),
            runq_overflows: c.runq_overflows.load(Ordering::Relaxed),
            thread_parks: c.thread_parks.load(Ordering::Relaxed),
            timed_spins: c.timed_spins.load(Ordering::Relaxed),
            threads_started: c.threads_started.load(Ordering::Relaxed),
            hog_retakes: c.hog_retakes.load(Ordering::Relaxed),
            goroutines: self.sched.gcount().max(0) as u64,
            runq_local: ps.clone().map(|p| p.runq.ring_len() as u64).sum(),
            runnext: ps.filter(|p| p.runq.has_runnext()).count() as u64,
            runq_global: self.sched.global_len() as u64,
            net_would_blocks: self.sched.netpoll.would_blocks(),
        }
    }

    /// Every live goroutine with its state and wait reason, in the format of Go's traceback
    /// headers.
    pub fn goroutine_dump(&self) -> String {
        deadlock::goroutine_dump(self.sched)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        proc::shutdown(self.sched);
    }
}

/// Builds a runtime with default settings and runs `f` as its main goroutine (see
/// [`Runtime::run`]).
///
/// # Safety
///
/// The same promise as [`Builder::build`]: no goroutine holds thread-local references or
/// thread-bound guards across a blocking call of this crate.
///
/// # Panics
///
/// If the runtime cannot be built (a malformed `GOMAXPROCS`), or `f` panics.
#[track_caller]
pub unsafe fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: the caller makes the promise of `Builder::build`.
    match unsafe { Builder::new().build() } {
        Ok(rt) => rt.run(f),
        Err(e) => panic!("goroutines: cannot build the runtime: {e}"),
    }
}

/// Starts a goroutine on the current goroutine's runtime (Go's `go` statement). Where it is
/// called is the goroutine's "created by" in the goroutine dump.
///
/// # Panics
///
/// When called outside a goroutine: plain threads start goroutines with [`Runtime::go`].
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let Some(g) = current_g() else {
        panic!("goroutines::go called outside a goroutine; use Runtime::go from plain threads")
    };
    preempt_check();
    // SAFETY: the current goroutine is alive while it runs.
    let sched = unsafe { g.as_ref() }.sched.get();
    spawn_on(sched, f)
}

/// The scheduler of the running goroutine; None on a plain thread.
pub(crate) fn current_sched() -> Option<&'static Sched> {
    // SAFETY: the current goroutine is alive while it runs.
    current_g().map(|g| unsafe { g.as_ref() }.sched.get())
}

/// Starts `f` as a goroutine of `sched` that nobody joins, from a goroutine or from a timer's
/// function on a scheduler thread (Go's `goFunc`, which `time.AfterFunc` runs). Its panic is
/// kept in its task, as for any goroutine.
#[track_caller]
pub(crate) fn spawn_detached(sched: &'static Sched, f: impl FnOnce() + Send + 'static) {
    drop(spawn_on(sched, f));
}

#[track_caller]
fn spawn_on<F, T>(sched: &'static Sched, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let task = task::Task::new(f);
    let id = sched.newproc(task.clone(), std::panic::Location::caller());
    JoinHandle { task, id }
}

/// Yields the processor, letting other goroutines run (Go's `runtime.Gosched`). The goroutine
/// goes to the back of its P's run queue. On a plain thread, yields the thread.
pub fn yield_now() {
    match current_g() {
        Some(g) => {
            let Some(m) = current_m() else {
                return;
            };
            m.set_after_switch(AfterSwitch::Yield);
            // SAFETY: the current goroutine is alive while it runs.
            suspend(unsafe { g.as_ref() });
        }
        None => std::thread::yield_now(),
    }
}

/// Runs `f`, a call that may block its OS thread (a file read, a DNS lookup, a C library), without
/// stalling other goroutines (Go's `entersyscall`/`exitsyscall`). The goroutine's P stays with it
/// for calls that return quickly; if `f` blocks for longer while other goroutines wait, sysmon
/// hands the P to another thread. On a plain thread it just calls `f`.
pub fn blocking<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    sysmon::syscall(f)
}

/// The id of the running goroutine (Go's `goid`), or None on a plain thread.
pub fn goroutine_id() -> Option<u64> {
    // SAFETY: the current goroutine is alive while it runs.
    current_g().map(|g| unsafe { g.as_ref() }.id.load(Ordering::Relaxed))
}

/// The number of goroutines that exist now (Go's `runtime.NumGoroutine`): running, runnable or
/// parked, the caller included; a goroutine that has returned no longer counts, and the
/// runtime keeps no goroutines of its own. Called from a goroutine, it counts that goroutine's
/// runtime; from a plain thread, every runtime of the process that has not been dropped
/// (usually the one), and 0 when there is none.
///
/// A snapshot, as Go's: the counts of the Ps are read one after another while goroutines start
/// and exit, so the number is exact only while none does. A goroutine that has been joined may
/// still count for a moment: `join` returns once its value is ready, just before the
/// goroutine's stack is released.
pub fn num_goroutine() -> usize {
    match current_sched() {
        // At least the caller, as Go's `gcount` says ("at least the current goroutine is
        // running").
        Some(sched) => sched.gcount().max(1) as usize,
        None => proc::all_runtimes()
            .into_iter()
            .filter(|sched| !sched.shutdown.load(Ordering::Relaxed))
            .map(|sched| sched.gcount().max(0) as usize)
            .sum(),
    }
}

/// Pauses the current goroutine for at least `d` (Go's `time.Sleep`); the thread runs other
/// goroutines meanwhile. On a plain thread, sleeps the thread.
pub fn sleep(d: std::time::Duration) {
    if current_g().is_some() {
        time::sleep_goroutine(d);
    } else {
        std::thread::sleep(d);
    }
}

/// Owns the right to wait for a goroutine's result.
pub struct JoinHandle<T> {
    task: Arc<dyn task::Joinable<T>>,
    id: u64,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// A goroutine panicked; holds the panic payload.
pub struct JoinError {
    id: u64,
    payload: Box<dyn Any + Send + 'static>,
}

impl JoinError {
    /// The panic payload, to inspect or to `resume_unwind`.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }

    /// The panic message, when the payload is a string.
    pub fn message(&self) -> Option<&str> {
        self.payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| self.payload.downcast_ref::<String>().map(|s| s.as_str()))
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("goroutine", &self.id)
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(m) => write!(f, "goroutine {} panicked: {m}", self.id),
            None => write!(f, "goroutine {} panicked", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl<T> JoinHandle<T> {
    /// The goroutine's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the goroutine has returned or panicked.
    pub fn is_finished(&self) -> bool {
        self.task.is_done()
    }

    /// Waits for the goroutine and returns its value, or its panic as an error. A goroutine
    /// waiting here is parked; a plain thread is blocked.
    pub fn join(self) -> Result<T, JoinError> {
        match self.task.join() {
            Some(Ok(v)) => Ok(v),
            Some(Err(payload)) => Err(JoinError {
                id: self.id,
                payload,
            }),
            None => g::fatal("join woken before the goroutine finished"),
        }
    }
}
