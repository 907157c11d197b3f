//! The interpreter: one GIL, its switch interval, its threads and their account.
//!
//! ```text
//!   Interpreter (Clone: a handle on Shared)
//!     Shared
//!       mode        GilMode::On (ceval_gil.c) | GilMode::Off (PEP 703's free threading)
//!       gil         Gil: mutex + cond + switch_cond, drop request, eval breaker, interval
//!       threads     every ThreadState ever attached, for the account
//!
//!   spawn(f)  ->  OS thread: attach (take_gil) -> f(py) -> detach (drop_gil, exiting)
//!   with_gil(f)   the calling thread attaches for the length of f (PyO3's Python::with_gil)
//! ```
//!
//! `gil=off` is a runtime option, not a Cargo feature: the same program runs in both modes and
//! every result says which. With the GIL off, attaching and detaching take no lock, the eval
//! breaker is never set, so a check point is still one relaxed load that finds nothing, and
//! `allow_threads` only keeps the account (time attached counts as holding).

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use probe::trace::{self, EventKind};

use crate::account::{Account, ThreadState};
use crate::gil::Gil;
use crate::python::{self, Attached, Python};
use crate::thread::{JoinHandle, SpawnError};

/// Whether the interpreter has a GIL: `gil=on` (CPython's default) or `gil=off` (free threading).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum GilMode {
    /// One GIL, switched as `Python/ceval_gil.c` does.
    #[default]
    On,
    /// No GIL: threads run Python code in parallel, as in a free-threaded build (PEP 703).
    Off,
}

impl fmt::Display for GilMode {
    /// `on` or `off`, as in `gil=on` and `PYTHON_GIL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GilMode::On => "on",
            GilMode::Off => "off",
        })
    }
}

impl FromStr for GilMode {
    type Err = ParseGilModeError;

    /// `on`/`1` or `off`/`0`, the values of `-X gil=` and `PYTHON_GIL`.
    fn from_str(text: &str) -> Result<GilMode, ParseGilModeError> {
        match text {
            "on" | "1" => Ok(GilMode::On),
            "off" | "0" => Ok(GilMode::Off),
            _ => Err(ParseGilModeError(text.to_owned())),
        }
    }
}

/// The error of parsing a [`GilMode`]: the text was none of `on`, `off`, `1`, `0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseGilModeError(String);

impl fmt::Display for ParseGilModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gil mode {:?} is none of on, off, 1, 0", self.0)
    }
}

impl Error for ParseGilModeError {}

/// The error of [`Interpreter::set_switch_interval`]: the interval was not a positive number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwitchIntervalError(f64);

impl SwitchIntervalError {
    /// The rejected interval, in seconds.
    pub fn interval(&self) -> f64 {
        self.0
    }
}

impl fmt::Display for SwitchIntervalError {
    /// CPython's message for 0 and negative values; non-finite ones get their own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_finite() {
            f.write_str("switch interval must be strictly positive")
        } else {
            write!(f, "switch interval must be finite, not {}", self.0)
        }
    }
}

impl Error for SwitchIntervalError {}

/// The error of [`Interpreter::with_gil`]: the calling thread is already attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachError(());

impl fmt::Display for AttachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "this thread is already attached to an interpreter (it holds a Python token); \
             use that token instead of attaching again",
        )
    }
}

impl Error for AttachError {}

/// Unique thread idents in the process, from 1 (0 means "nobody" to the GIL).
static NEXT_IDENT: AtomicU64 = AtomicU64::new(1);

/// What every handle on one interpreter shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) mode: GilMode,
    pub(crate) gil: Gil,
    /// Every thread ever attached, in order.
    threads: Mutex<Vec<Arc<ThreadState>>>,
    /// CPython's `threading._counter`: numbers `Thread-N` and `Dummy-N`.
    counter: AtomicU64,
}

impl Shared {
    /// A new thread state named `name`, listed in the account from now on.
    pub(crate) fn register(&self, name: String) -> Arc<ThreadState> {
        let ident = NEXT_IDENT.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ThreadState::new(ident, name));
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&state));
        state
    }

    /// Removes a thread state that never ran (its OS thread could not be started).
    fn unregister(&self, ident: u64) {
        self.threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|state| state.ident != ident);
    }

    fn next_number(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A Python interpreter's threading: a GIL (or none), its switch interval, its threads.
///
/// Cloning gives another handle on the same interpreter.
///
/// ```
/// use gil_threads::{GilMode, Interpreter};
///
/// let interpreter = Interpreter::new(GilMode::On);
/// let worker = interpreter.spawn(|py| {
///     let mut total = 0u64;
///     for i in 0..1000 {
///         py.check(); // a loop back-edge: the GIL may change hands here
///         total += i;
///     }
///     total
/// })?;
/// assert_eq!(worker.join()?, 499_500);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Interpreter {
    shared: Arc<Shared>,
}

impl Default for Interpreter {
    /// An interpreter with the GIL on and the default 5 ms switch interval.
    fn default() -> Self {
        Interpreter::new(GilMode::On)
    }
}

impl Interpreter {
    /// An interpreter in `mode`, with CPython's default switch interval of 5 ms.
    pub fn new(mode: GilMode) -> Interpreter {
        Interpreter {
            shared: Arc::new(Shared {
                mode,
                gil: Gil::new(),
                threads: Mutex::new(Vec::new()),
                counter: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Interpreter {
        Interpreter { shared }
    }

    /// Whether this interpreter has a GIL.
    pub fn mode(&self) -> GilMode {
        self.shared.mode
    }

    /// `sys.setswitchinterval(seconds)`: how long a waiting thread lets the holder run before it
    /// asks for the GIL. Rejects zero, negative and non-finite values.
    ///
    /// As in CPython the value is kept in whole microseconds, truncated: `1e-9` is accepted and
    /// reads back as `0.0`, and a waiter then waits 1 µs. Waiters already waiting use the new
    /// value from their next wait.
    pub fn set_switch_interval(&self, seconds: f64) -> Result<(), SwitchIntervalError> {
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(SwitchIntervalError(seconds));
        }
        // `as` saturates: a century-long interval becomes u64::MAX µs, not garbage.
        self.shared.gil.set_interval_us((seconds * 1e6) as u64);
        Ok(())
    }

    /// `sys.getswitchinterval()`, in seconds (0.005 by default).
    pub fn switch_interval(&self) -> f64 {
        self.shared.gil.interval_us() as f64 / 1e6
    }

    /// Starts an OS thread that attaches to this interpreter (taking the GIL, as a new
    /// `threading.Thread` does), runs `f`, and detaches. Named `Thread-N`.
    pub fn spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce(Python<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = format!("Thread-{}", self.shared.next_number());
        self.spawn_named(name, f)
    }

    /// [`Interpreter::spawn`] with a name of your own (no NUL bytes).
    pub fn spawn_named<F, T>(
        &self,
        name: impl Into<String>,
        f: F,
    ) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce(Python<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = name.into();
        if name.contains('\0') {
            return Err(SpawnError::name(name));
        }
        let state = self.shared.register(name.clone());
        if trace::enabled() {
            trace::record(EventKind::Spawn {
                task: state.ident,
                parent: python::current_ident(),
            });
        }
        let shared = Arc::clone(&self.shared);
        let thread_state = Arc::clone(&state);
        let spawned = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let attached = Attached::attach(shared, thread_state);
                f(attached.python())
            });
        match spawned {
            Ok(inner) => Ok(JoinHandle::new(inner, name)),
            Err(error) => {
                self.shared.unregister(state.ident);
                Err(SpawnError::io(error))
            }
        }
    }

    /// Runs `f` on the calling thread, attached to this interpreter for its length (PyO3's
    /// `Python::with_gil`): takes the GIL before, drops it after, also if `f` panics.
    ///
    /// The calling thread is named `MainThread` if it is Rust's main thread, `Dummy-N` otherwise
    /// (CPython's name for threads it did not start). Fails if the thread is already attached.
    pub fn with_gil<T>(&self, f: impl FnOnce(Python<'_>) -> T) -> Result<T, AttachError> {
        if python::current_ident().is_some() {
            return Err(AttachError(()));
        }
        let name = match std::thread::current().name() {
            Some("main") => "MainThread".to_owned(),
            _ => format!("Dummy-{}", self.shared.next_number()),
        };
        let state = self.shared.register(name);
        let attached = Attached::attach(Arc::clone(&self.shared), state);
        Ok(f(attached.python()))
    }

    /// What each thread has done with the GIL so far (see [`Account`]).
    pub fn account(&self) -> Account {
        let threads = self
            .shared
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|state| state.snapshot())
            .collect();
        Account {
            mode: self.shared.mode,
            switch_interval: self.switch_interval(),
            threads,
        }
    }
}
