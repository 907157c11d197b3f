//! The [`Signal`] type: a signal number, printed as Go's `syscall.Signal` prints it.

use std::fmt;

/// One past the highest signal number Linux has (Go's `numSig` is 65 for the same reason).
pub(crate) const NSIG: usize = 65;

/// A Unix signal (Go's `syscall.Signal`, the `os.Signal` of `os/signal` on Unix): a newtype over
/// the signal number. Displayed as Go prints it (`interrupt`, `terminated`, `signal 40`), and
/// debug-printed as its constant's name (`SIGINT`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(libc::c_int);

impl Signal {
    /// The signal with this number. Any number is accepted; one that cannot be caught (see
    /// [`notify`](super::notify)) is passed over by the functions that take signals.
    pub const fn from_raw(number: libc::c_int) -> Signal {
        Signal(number)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> libc::c_int {
        self.0
    }

    /// Its bit in a 64-bit signal mask (bit n-1 for signal n), or None outside 1..=64.
    pub(crate) fn bit(self) -> Option<u64> {
        (1..NSIG as libc::c_int)
            .contains(&self.0)
            .then(|| 1u64 << (self.0 - 1))
    }

    /// Whether a handler may catch it soundly, so that `notify`, `ignore` and `reset` act on it:
    /// not SIGKILL and SIGSTOP (no handler can), not the synchronous faults SIGSEGV, SIGBUS,
    /// SIGFPE and SIGILL (a handler that returns would re-run the faulting instruction forever;
    /// the runtime's stack overflow report owns SIGSEGV and SIGBUS), and not the real-time
    /// signals below `SIGRTMIN`, which the C library keeps for itself (thread cancellation,
    /// `setxid`).
    pub(crate) fn catchable(self) -> bool {
        let n = self.0;
        (1..NSIG as libc::c_int).contains(&n)
            && !matches!(
                n,
                libc::SIGKILL
                    | libc::SIGSTOP
                    | libc::SIGSEGV
                    | libc::SIGBUS
                    | libc::SIGFPE
                    | libc::SIGILL
            )
            && !(32..libc::SIGRTMIN()).contains(&n)
    }

    /// Every signal that [`catchable`](Signal::catchable) allows: what an empty list means.
    pub(crate) fn all_catchable() -> impl Iterator<Item = Signal> {
        (1..NSIG as libc::c_int)
            .map(Signal)
            .filter(|s| s.catchable())
    }

    /// Go's name (`syscall.signals`) and the constant's name.
    fn names(self) -> Option<(&'static str, &'static str)> {
        Some(match self.0 {
            libc::SIGHUP => ("hangup", "SIGHUP"),
            libc::SIGINT => ("interrupt", "SIGINT"),
            libc::SIGQUIT => ("quit", "SIGQUIT"),
            libc::SIGILL => ("illegal instruction", "SIGILL"),
            libc::SIGTRAP => ("trace/breakpoint trap", "SIGTRAP"),
            libc::SIGABRT => ("aborted", "SIGABRT"),
            libc::SIGBUS => ("bus error", "SIGBUS"),
            libc::SIGFPE => ("floating point exception", "SIGFPE"),
            libc::SIGKILL => ("killed", "SIGKILL"),
            libc::SIGUSR1 => ("user defined signal 1", "SIGUSR1"),
            libc::SIGSEGV => ("segmentation fault", "SIGSEGV"),
            libc::SIGUSR2 => ("user defined signal 2", "SIGUSR2"),
            libc::SIGPIPE => ("broken pipe", "SIGPIPE"),
            libc::SIGALRM => ("alarm clock", "SIGALRM"),
            libc::SIGTERM => ("terminated", "SIGTERM"),
            libc::SIGSTKFLT => ("stack fault", "SIGSTKFLT"),
            libc::SIGCHLD => ("child exited", "SIGCHLD"),
            libc::SIGCONT => ("continued", "SIGCONT"),
            libc::SIGSTOP => ("stopped (signal)", "SIGSTOP"),
            libc::SIGTSTP => ("stopped", "SIGTSTP"),
            libc::SIGTTIN => ("stopped (tty input)", "SIGTTIN"),
            libc::SIGTTOU => ("stopped (tty output)", "SIGTTOU"),
            libc::SIGURG => ("urgent I/O condition", "SIGURG"),
            libc::SIGXCPU => ("CPU time limit exceeded", "SIGXCPU"),
            libc::SIGXFSZ => ("file size limit exceeded", "SIGXFSZ"),
            libc::SIGVTALRM => ("virtual timer expired", "SIGVTALRM"),
            libc::SIGPROF => ("profiling timer expired", "SIGPROF"),
            libc::SIGWINCH => ("window changed", "SIGWINCH"),
            libc::SIGIO => ("I/O possible", "SIGIO"),
            libc::SIGPWR => ("power failure", "SIGPWR"),
            libc::SIGSYS => ("bad system call", "SIGSYS"),
            _ => return None,
        })
    }
}

impl fmt::Display for Signal {
    /// Go's `Signal.String`: `interrupt`, `terminated`, ..., or `signal <n>` for a number
    /// without a name (the real-time signals).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.names() {
            Some((go, _)) => f.write_str(go),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.names() {
            Some((_, constant)) => f.write_str(constant),
            None => write!(f, "Signal({})", self.0),
        }
    }
}

macro_rules! signals {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "`.")]
            pub const $name: Signal = Signal(libc::$name);
        )*
    };
}

signals!(
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV,
    SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN,
    SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS,
);
