//! Signals: `loop.add_signal_handler`/`remove_signal_handler` (`_UnixSelectorEventLoop` in
//! `Lib/asyncio/unix_events.py`) and the hook through which `asyncio.run` catches SIGINT
//! (`Runner._on_sigint`, see [`crate::runners`]).
//!
//! How a signal reaches the loop. CPython's C handler writes the signal number to the loop's
//! self-pipe (`signal.set_wakeup_fd`); the pipe's reader, `_read_from_self`, is an I/O callback
//! that hands each number to `_handle_signal`, which appends the handler's Handle to the ready
//! queue (`_add_callback_signalsafe`). Here `signal-hook` does the async-signal-safe part:
//!
//! ```text
//!   signal handler (any thread; signal-hook runs our actions in registration order)
//!   ├─ flag::register(sig, tripped[sig])     tripped[sig] = true
//!   ├─ flag::register(sig, any)              any = true
//!   └─ low_level::pipe::register(sig, w)     send(w, "X")        w: the loop's socketpair
//!
//!   loop thread, _run_once step 3 (select)
//!   ├─ epoll_wait   the socketpair's read end is registered as a wake-up source, with the
//!   │               eventfd: it ends the wait and is drained; it is no reader of its own
//!   ├─ any.swap(false)?
//!   │  ├─ runner's SIGINT tripped: _on_sigint runs now, as CPython's Python-level handler runs
//!   │  │  when select returns EINTR (cancel main, call_soon_threadsafe(noop); or, the second
//!   │  │  time, KeyboardInterrupt: the loop stops at once, see RunError::Interrupted)
//!   │  └─ some handler's signal tripped: one `_read_from_self` handle joins the ready queue
//!   │     where the I/O callbacks go; when it runs, each signal whose handler is still
//!   │     installed gets its callback appended (`_add_callback_signalsafe`), so the handler runs
//!   │     in the pass after, behind what was already queued, as in CPython
//!   └─ threadsafe callbacks, I/O callbacks (crate::base_events)
//! ```
//!
//! Invariants:
//! - a signal's `tripped` flag is set before `any`, and `any` before the pipe write: whoever sees
//!   the byte sees `any`, and whoever swaps `any` and then the flags sees every signal that set
//!   `any` (a signal that sets `tripped` after that swap sets `any` again after it, so the next
//!   pass sees it; at worst a pass finds nothing, as CPython's null wake-up bytes do);
//! - the pipe is created with the first registration and lives as long as the loop; a loop with a
//!   registration never stops for want of something that could wake it (it blocks as CPython's
//!   loop with its self-pipe does);
//! - every signal-hook action this loop registered is unregistered when its handler is removed,
//!   when the loop is closed and when it is dropped (a dropped pipe must never be written);
//! - once a handler is removed, the signal's default action is performed ([`set_default`]).
//!
//! Differences from CPython, each because of how a Rust program can handle signals without
//! `unsafe` code:
//! - "the default action" after `remove_signal_handler` (and after `asyncio.run` gives SIGINT
//!   back) is signal-hook's emulation (`flag::register_conditional_default`: for a terminating
//!   signal it resets SIG_DFL and raises it again, so the process still ends by that signal).
//!   That action stays registered, switched off while a handler of this crate is installed; a
//!   signal-hook action registered later by other code runs after it, i.e. not before the
//!   process ends. A signal the emulation does not know (the real-time ones) is left ignored.
//!   No safe API sets SIG_DFL back, nor reads the current disposition: a handler installed by
//!   other code is not seen by `asyncio.run`'s "no custom SIGINT handler" check.
//! - SIGILL, SIGFPE and SIGSEGV are refused as SIGKILL and SIGSTOP are (signal-hook forbids
//!   them: a handler that returns from a fault runs the faulting instruction again).
//! - two deliveries of one signal before the loop looks count once (CPython writes one byte per
//!   delivery and runs the handler twice).
//! - handlers are per loop: two loops that handle one signal both hear it (CPython has one
//!   wake-up fd per process, so only the last loop does).
//! - the main-thread rule is CPython's: `set_wakeup_fd` works only in the main thread, so only
//!   a loop on the process's main thread may add a handler, and `asyncio.run` handles SIGINT only
//!   there.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use signal_hook::consts::signal::SIGINT;
use signal_hook::consts::FORBIDDEN;
use signal_hook::SigId;

use crate::base_events::EventLoop;

/// How many loops have a SIGINT handler installed (`asyncio.run` then leaves SIGINT alone, as
/// CPython's does when `signal.getsignal(SIGINT)` is not `default_int_handler`).
static SIGINT_HANDLERS: AtomicUsize = AtomicUsize::new(0);

/// The default-action emulations registered so far, one per signal, each with its switch.
static DEFAULT_ACTIONS: Mutex<Vec<(i32, Arc<AtomicBool>)>> = Mutex::new(Vec::new());

/// Why `add_signal_handler` or `remove_signal_handler` failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignalError {
    /// `ValueError('invalid signal number N')`: not in `signal.valid_signals()` (Linux: 1-31
    /// and 34-64).
    InvalidSignal(i32),
    /// `RuntimeError('sig N cannot be caught')`: SIGKILL, SIGSTOP (and here SIGILL, SIGFPE,
    /// SIGSEGV).
    CannotBeCaught(i32),
    /// `RuntimeError('set_wakeup_fd only works in main thread of the main interpreter')`.
    NotMainThread,
    /// `RuntimeError('Event loop is closed')`.
    Closed,
    /// The self-pipe or the signal registration failed (`OSError`).
    Os(Rc<io::Error>),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::InvalidSignal(sig) => write!(f, "invalid signal number {sig}"),
            SignalError::CannotBeCaught(sig) => write!(f, "sig {sig} cannot be caught"),
            SignalError::NotMainThread => {
                f.write_str("set_wakeup_fd only works in main thread of the main interpreter")
            }
            SignalError::Closed => f.write_str("event loop is closed"),
            SignalError::Os(error) => write!(f, "signal registration failed: {error}"),
        }
    }
}

impl std::error::Error for SignalError {}

impl From<io::Error> for SignalError {
    fn from(error: io::Error) -> Self {
        SignalError::Os(Rc::new(error))
    }
}

/// `_check_signal`: `sig in signal.valid_signals()` on Linux (glibc keeps 32 and 33).
fn check_signal(sig: i32) -> Result<(), SignalError> {
    if (1..=31).contains(&sig) || (34..=64).contains(&sig) {
        Ok(())
    } else {
        Err(SignalError::InvalidSignal(sig))
    }
}

/// Whether this is the process's main thread (CPython's `threading.main_thread()`).
pub(crate) fn on_main_thread() -> bool {
    rustix::thread::gettid() == rustix::process::getpid()
}

/// Switches the default-action emulation of `sig` on (the signal's default action) or off (a
/// handler of this crate is in charge). The first switch-on registers it.
fn set_default(sig: i32, on: bool) {
    let mut actions = DEFAULT_ACTIONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((_, switch)) = actions.iter().find(|(signal, _)| *signal == sig) {
        switch.store(on, Ordering::SeqCst);
    } else if on {
        let switch = Arc::new(AtomicBool::new(true));
        // A signal the emulation does not know stays ignored (see the module essay).
        if signal_hook::flag::register_conditional_default(sig, switch.clone()).is_ok() {
            actions.push((sig, switch));
        }
    }
}

/// The loop's signal self-pipe: a socketpair (CPython's `_ssock`/`_csock`) and the flag every
/// registration sets before writing to it.
struct SelfPipe {
    reader: UnixStream,
    writer: UnixStream,
    any: Arc<AtomicBool>,
}

/// One signal's actions with signal-hook: its flag, `any`, the pipe write.
struct Registration {
    tripped: Arc<AtomicBool>,
    ids: Vec<SigId>,
}

impl Registration {
    fn new(sig: i32, pipe: &SelfPipe) -> io::Result<Self> {
        let tripped = Arc::new(AtomicBool::new(false));
        let mut registration = Registration {
            tripped: tripped.clone(),
            ids: Vec::with_capacity(3),
        };
        let registered = (|| {
            registration
                .ids
                .push(signal_hook::flag::register(sig, tripped)?);
            registration
                .ids
                .push(signal_hook::flag::register(sig, pipe.any.clone())?);
            let writer = pipe.writer.try_clone()?;
            registration
                .ids
                .push(signal_hook::low_level::pipe::register(sig, writer)?);
            Ok(())
        })();
        match registered {
            Ok(()) => Ok(registration),
            Err(error) => {
                registration.unregister();
                Err(error)
            }
        }
    }

    fn unregister(self) {
        for id in self.ids {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// A handler of `add_signal_handler` (CPython's Handle in `_signal_handlers`).
struct Handler {
    callback: Rc<dyn Fn()>,
    registration: Registration,
}

/// `asyncio.run`'s SIGINT handler, while installed.
struct RunnerSigint {
    registration: Registration,
    on_sigint: Rc<dyn Fn()>,
}

/// A loop's signal state (`_signal_handlers`, the self-pipe).
#[derive(Default)]
pub(crate) struct Signals {
    pipe: Option<SelfPipe>,
    handlers: BTreeMap<i32, Handler>,
    runner_sigint: Option<RunnerSigint>,
}

impl Signals {
    /// Whether some registration could wake the loop.
    pub(crate) fn installed(&self) -> bool {
        !self.handlers.is_empty() || self.runner_sigint.is_some()
    }

    /// `any.swap(false)`, without a pipe: false.
    #[inline]
    fn take_any(&self) -> bool {
        self.pipe
            .as_ref()
            .is_some_and(|pipe| pipe.any.swap(false, Ordering::SeqCst))
    }

    /// Reads whatever the signal handlers wrote; the bytes carry nothing, the flags say which.
    pub(crate) fn drain_pipe(&self) {
        if let Some(pipe) = &self.pipe {
            let mut buf = [0u8; 64];
            while matches!((&pipe.reader).read(&mut buf), Ok(n) if n > 0) {}
        }
    }

    fn remove_all(&mut self) {
        for (sig, handler) in std::mem::take(&mut self.handlers) {
            handler.registration.unregister();
            release(sig);
        }
        if let Some(runner) = self.runner_sigint.take() {
            runner.registration.unregister();
            set_default(SIGINT, true);
        }
    }
}

/// A handler of `sig` is gone: its default action again.
fn release(sig: i32) {
    if sig == SIGINT {
        SIGINT_HANDLERS.fetch_sub(1, Ordering::SeqCst);
    }
    set_default(sig, true);
}

impl Drop for Signals {
    /// A loop dropped without `close()` gives its signals back too.
    fn drop(&mut self) {
        self.remove_all();
    }
}

impl EventLoop {
    /// `loop.add_signal_handler(sig, callback)`: from now on each delivery of `sig` runs
    /// `callback` in the loop, in the pass after the one that noticed it, behind the handles
    /// already queued (see the module essay). Replaces a handler of `sig` already installed.
    /// Errors as CPython's: [`SignalError::InvalidSignal`], [`SignalError::CannotBeCaught`];
    /// [`SignalError::NotMainThread`] off the process's main thread; [`SignalError::Closed`].
    pub fn add_signal_handler(
        &self,
        sig: i32,
        callback: impl Fn() + 'static,
    ) -> Result<(), SignalError> {
        check_signal(sig)?;
        if self.is_closed() {
            return Err(SignalError::Closed);
        }
        if !on_main_thread() {
            return Err(SignalError::NotMainThread);
        }
        if FORBIDDEN.contains(&sig) {
            return Err(SignalError::CannotBeCaught(sig));
        }
        self.ensure_signal_pipe()?;
        let mut signals = self.0.signals.borrow_mut();
        let Some(pipe) = &signals.pipe else {
            return Err(io::Error::other("no signal self-pipe").into());
        };
        // The default emulation was registered before, so it would run first: off before ours.
        set_default(sig, false);
        let registration = match Registration::new(sig, pipe) {
            Ok(registration) => registration,
            Err(error) => {
                let still_handled = signals.handlers.contains_key(&sig)
                    || (sig == SIGINT && signals.runner_sigint.is_some());
                if !still_handled {
                    set_default(sig, true);
                }
                return Err(error.into());
            }
        };
        if sig == SIGINT {
            // `signal.signal(SIGINT, ...)` replaces asyncio.run's handler too.
            if let Some(runner) = signals.runner_sigint.take() {
                runner.registration.unregister();
            }
        }
        let handler = Handler {
            callback: Rc::new(callback),
            registration,
        };
        match signals.handlers.insert(sig, handler) {
            Some(previous) => previous.registration.unregister(),
            None if sig == SIGINT => {
                SIGINT_HANDLERS.fetch_add(1, Ordering::SeqCst);
            }
            None => {}
        }
        Ok(())
    }

    /// `loop.remove_signal_handler(sig)`: true when a handler was installed; the signal's
    /// default action is back (for SIGINT too: a Rust program has no `default_int_handler`).
    pub fn remove_signal_handler(&self, sig: i32) -> Result<bool, SignalError> {
        check_signal(sig)?;
        let removed = self.0.signals.borrow_mut().handlers.remove(&sig);
        let Some(handler) = removed else {
            return Ok(false);
        };
        handler.registration.unregister();
        release(sig);
        Ok(true)
    }

    /// The signal self-pipe, created and registered with the selector on first use.
    fn ensure_signal_pipe(&self) -> io::Result<()> {
        let mut signals = self.0.signals.borrow_mut();
        if signals.pipe.is_some() {
            return Ok(());
        }
        let selector = match &self.0.selector {
            Ok(selector) => selector,
            Err(error) => return Err(io::Error::new(error.kind(), error.to_string())),
        };
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        selector.add_wakeup_source(reader.as_fd())?;
        let any = Arc::new(AtomicBool::new(false));
        // The pass's own look at `any`, without the `RefCell` (see `process_signals`).
        let _ = self.0.signal_any.set(any.clone());
        signals.pipe = Some(SelfPipe {
            reader,
            writer,
            any,
        });
        Ok(())
    }

    /// `Runner.run`'s `signal.signal(SIGINT, sigint_handler)`: installs `on_sigint`, which the
    /// loop runs as soon as it notices a SIGINT. Not installed (false) off the main thread or
    /// when a loop has a SIGINT handler of its own.
    pub(crate) fn install_runner_sigint(&self, on_sigint: Rc<dyn Fn()>) -> bool {
        if !on_main_thread() || SIGINT_HANDLERS.load(Ordering::SeqCst) > 0 {
            return false;
        }
        if self.ensure_signal_pipe().is_err() {
            return false;
        }
        let mut signals = self.0.signals.borrow_mut();
        let Some(pipe) = &signals.pipe else {
            return false;
        };
        set_default(SIGINT, false);
        let Ok(registration) = Registration::new(SIGINT, pipe) else {
            set_default(SIGINT, true);
            return false;
        };
        if let Some(previous) = signals.runner_sigint.replace(RunnerSigint {
            registration,
            on_sigint,
        }) {
            previous.registration.unregister();
        }
        true
    }

    /// `Runner.run`'s `finally`: SIGINT's default action again, if the runner's handler is
    /// still the one installed.
    pub(crate) fn uninstall_runner_sigint(&self) {
        let runner = self.0.signals.borrow_mut().runner_sigint.take();
        if let Some(runner) = runner {
            runner.registration.unregister();
            set_default(SIGINT, true);
        }
    }

    /// `loop.close()`'s `remove_signal_handler` for every signal.
    pub(crate) fn remove_all_signal_handlers(&self) {
        self.0.signals.borrow_mut().remove_all();
    }

    /// In select, once the wait is over: the signals delivered since the last look. The
    /// runner's SIGINT handler runs now (as CPython's Python-level handler runs when select
    /// returns); gives the signals whose handlers tripped, for [`queue_read_from_self`].
    ///
    /// [`queue_read_from_self`]: Self::queue_read_from_self
    #[inline]
    pub(crate) fn process_signals(&self) -> Vec<i32> {
        if !self.signal_pending() || !self.0.signals.borrow().take_any() {
            return Vec::new();
        }
        self.process_signals_slow()
    }

    /// Whether a signal may have come since the last look: every pass asks, so a plain load
    /// (no borrow, no locked instruction). A flag set just after the load is seen at the next
    /// pass: its pipe byte ends the wait.
    #[inline]
    pub(crate) fn signal_pending(&self) -> bool {
        self.0
            .signal_any
            .get()
            .is_some_and(|any| any.load(Ordering::Relaxed))
    }

    #[cold]
    fn process_signals_slow(&self) -> Vec<i32> {
        let (on_sigint, tripped) = {
            let signals = self.0.signals.borrow();
            signals.drain_pipe();
            let on_sigint = signals.runner_sigint.as_ref().and_then(|runner| {
                runner
                    .registration
                    .tripped
                    .swap(false, Ordering::SeqCst)
                    .then(|| runner.on_sigint.clone())
            });
            let tripped: Vec<i32> = signals
                .handlers
                .iter()
                .filter(|(_, handler)| handler.registration.tripped.swap(false, Ordering::SeqCst))
                .map(|(sig, _)| *sig)
                .collect();
            (on_sigint, tripped)
        };
        if let Some(on_sigint) = on_sigint {
            on_sigint();
        }
        tripped
    }

    /// The `_read_from_self` I/O callback for the signals that `process_signals` found, in the
    /// ready queue where the I/O callbacks go.
    pub(crate) fn queue_read_from_self(&self, tripped: Vec<i32>) {
        if !tripped.is_empty() {
            let event_loop = self.clone();
            self.call_soon(move || event_loop.read_from_self(&tripped));
        }
    }

    /// `_read_from_self` then `_handle_signal` for each signal: a handler still installed has
    /// its callback appended to the ready queue (`_add_callback_signalsafe`).
    fn read_from_self(&self, tripped: &[i32]) {
        for sig in tripped {
            let callback = self
                .0
                .signals
                .borrow()
                .handlers
                .get(sig)
                .map(|handler| handler.callback.clone());
            if let Some(callback) = callback {
                self.call_soon(move || callback());
            }
        }
    }
}
