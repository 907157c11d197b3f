//! Where parked goroutines wait: a stack taken at each park when the runtime records them
//! ([`Builder::park_backtraces`](crate::Builder::park_backtraces), or
//! `GOROUTINES_PARK_BACKTRACE=1`), printed in goroutine dumps (deadlock, SIGQUIT,
//! [`Runtime::goroutine_dump`](crate::Runtime::goroutine_dump)) as Go's tracebacks print a
//! goroutine's stack.
//!
//! Go walks a parked goroutine's stack when it dumps it, with the stack maps its compiler
//! emits. Rust code keeps no frame pointers to rely on, so the stack is captured instead, as
//! the goroutine parks, and unresolved (return addresses only); symbols and lines are looked up
//! only when a dump prints them. A capture costs microseconds per park, hence off by default;
//! off, a park pays one load of a flag.
//!
//! ```text
//!   gopark ─(on)─> record(goid): addresses ─> traces[goid]     (replaced at the next park)
//!   goroutine exits ─> forget(goid)
//!   dump of a parked goroutine ─> resolve traces[goid]: gopark, the primitive, the user's
//!   frames, down to the goroutine's entry (runtime and unwinding frames trimmed)
//! ```
//!
//! Only a goroutine that is parked when the dump is taken shows a stack: a running or runnable
//! one's last capture is stale, and is not printed.

use std::collections::HashMap;
use std::fmt::Write as _;

use backtrace::{Backtrace, BacktraceFrame};
use parking_lot::Mutex;

/// The environment variable that turns recording on for runtimes built without an explicit
/// choice.
pub(crate) const ENV: &str = "GOROUTINES_PARK_BACKTRACE";

/// The frame that takes the capture: everything above it is the unwinder's.
const CAPTURE_FRAME: &str = "ParkTraces::record";

pub(crate) struct ParkTraces {
    on: bool,
    traces: Mutex<HashMap<u64, Backtrace>>,
}

impl ParkTraces {
    pub(crate) fn new(on: bool) -> ParkTraces {
        ParkTraces {
            on,
            traces: Mutex::new(HashMap::new()),
        }
    }

    /// Whether parks are recorded.
    #[inline]
    pub(crate) fn on(&self) -> bool {
        self.on
    }

    /// Takes the parking goroutine's stack; called on that goroutine, in `gopark`.
    #[inline(never)]
    pub(crate) fn record(&self, goid: u64) {
        let trace = Backtrace::new_unresolved();
        self.traces.lock().insert(goid, trace);
    }

    /// Drops an exited goroutine's last stack.
    pub(crate) fn forget(&self, goid: u64) {
        if self.on {
            self.traces.lock().remove(&goid);
        }
    }

    /// Writes goroutine `goid`'s stack at its last park, one frame per two lines as Go prints
    /// them (`name` then a tab and `file:line`), innermost first; nothing if none was recorded.
    pub(crate) fn write(&self, goid: u64, out: &mut String) {
        if !self.on {
            return;
        }
        let Some(mut trace) = self.traces.lock().get(&goid).cloned() else {
            return;
        };
        trace.resolve();
        for (name, location) in frames(trace.frames()) {
            let _ = writeln!(out, "{name}\n\t{location}");
        }
    }
}

/// The goroutine's own frames of a capture, as (name, location): from `gopark` (the frames of
/// the capture itself dropped) down to the function the goroutine was started with (the
/// runtime's entry and the unwinding plumbing around it dropped). Inlined calls are frames of
/// their own, as in Go.
fn frames(captured: &[BacktraceFrame]) -> Vec<(String, String)> {
    let mut frames = Vec::new();
    for frame in captured {
        let symbols = frame.symbols();
        if symbols.is_empty() {
            frames.push((format!("{:?}", frame.ip()), "?".to_owned()));
        }
        for symbol in symbols {
            let name = symbol
                .name()
                .map_or_else(|| format!("{:?}", frame.ip()), |name| format!("{name:#}"));
            let location = match (symbol.filename(), symbol.lineno()) {
                (Some(file), Some(line)) => format!("{}:{line}", file.display()),
                (Some(file), None) => file.display().to_string(),
                _ => "?".to_owned(),
            };
            frames.push((name, location));
        }
    }
    // Above the capture: the unwinder's own frames.
    if let Some(capture) = frames
        .iter()
        .position(|(name, _)| name.contains(CAPTURE_FRAME))
    {
        frames.drain(..=capture);
    }
    // Below the goroutine's function: the task's entry, the coroutine's start, and the
    // `catch_unwind` and call shims between them.
    if let Some(entry) = frames
        .iter()
        .position(|(name, _)| name.starts_with("<goroutines::runtime::task::Task<"))
    {
        frames.truncate(entry);
        while frames
            .last()
            .is_some_and(|(name, _)| is_entry_plumbing(name))
        {
            frames.pop();
        }
    }
    frames
}

/// The frames between the task's entry and the goroutine's function: `catch_unwind`'s, and the
/// `FnOnce` shim of a function passed by name.
fn is_entry_plumbing(name: &str) -> bool {
    name.starts_with("std::panicking::")
        || name == "core::ops::function::FnOnce::call_once"
        || name.starts_with("std::panic::catch_unwind")
        || name == "__rust_try"
        || name.starts_with("<core::panic::unwind_safe::AssertUnwindSafe<")
}
