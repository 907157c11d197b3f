//! Scheduler event recording that costs one relaxed load when it is off.
//!
//! Every runtime in schedlab reports what its scheduler does through this module, and every record
//! site is written the same way:
//!
//! ```
//! # let task = 7;
//! if probe::trace::enabled() {
//!     probe::trace::record(probe::trace::EventKind::Spawn { task, parent: None });
//! }
//! ```
//!
//! # Parts
//!
//! ```text
//!   ENABLED: AtomicBool ------------- read by enabled() at every site (one Relaxed load)
//!
//!   BUFFERS: Mutex<Vec<Arc<Mutex<Vec<Event>>>>>   registry, locked by start(), stop(), and
//!        |            |            |              once per thread on its first record
//!        v            v            v
//!   [thread 1]   [thread 2]   [thread 3 (exited)]  one buffer per OS thread; the thread's
//!        ^            ^                            thread-local holds the other Arc
//!        |            |
//!    record()     record()     each thread locks only its own buffer
//! ```
//!
//! # Invariants
//!
//! - Off means one `Relaxed` load of `ENABLED` per site and nothing else: [`enabled`] is
//!   `#[inline(always)]` and [`record`] is `#[cold]` and never inlined, so the site stays small
//!   in the runtime's hot path.
//! - A thread's buffer lock is taken by that thread in [`record`] and by [`start`]/[`stop`];
//!   never by another recording thread. It is uncontended except while a recording starts or stops.
//! - Lock order is registry, then buffer. [`record`] never holds the registry while holding its
//!   buffer (it takes the registry only once, to register, before it ever locks the buffer).
//! - A buffer outlives its thread: the registry holds an `Arc` to it, so [`stop`] collects the
//!   events of threads that have exited. A buffer whose only owner is the registry (its thread is
//!   gone) is dropped once it has been drained.
//! - A thread's id is assigned on its first record from a global counter starting at 1, and is
//!   never reused in the process (0 is left for process-wide rows in the Chrome trace).
//! - Timestamps come from [`crate::clock::now_ns`]; within one thread they never decrease, so
//!   sorting by `(ts_ns, thread)` keeps each thread's own order. Events of another process
//!   ([`record_from_process`]) carry that process's timestamps, converted to this clock, and
//!   sit in the buffer of the thread that received them in the order received; [`stop`]'s sort
//!   puts them in time order.
//!
//! `ENABLED` is `Relaxed` on both sides: a thread that has not yet seen [`stop`]'s store may record
//! after [`stop`] has drained its buffer. Such late events stay in the buffer and are discarded by
//! the next [`start`]. To catch every event, stop after the runtime has gone quiet (workers
//! joined or parked); the buffer mutex then orders everything recorded before. One recording
//! runs at a time per process: [`start`] and [`stop`] act on global state.
//!
//! # Designs rejected
//!
//! - One global `Mutex<Vec<Event>>`: every worker would contend on it, and the contention would
//!   change the scheduling being measured.
//! - A lock-free per-thread ring buffer: needs `unsafe`, and a fixed capacity drops events; a
//!   mutex that nobody else takes costs one uncontended atomic swap, which is small beside the
//!   scheduler operation being recorded.
//! - A plain thread-local `Vec`: another thread cannot read it, and it vanishes when its thread
//!   exits (procpool and gil-threads workers exit before the trace is written).
//! - A channel to a collector thread: a send per event costs more than a push, and the collector
//!   would itself show up in the thread counts the lab reports.

mod chrome;

pub use chrome::write_chrome_trace;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::clock;

/// Whether a recording is running; read at every record site.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Every thread's buffer, including those of threads that have exited since the last drain.
static BUFFERS: Mutex<Vec<SharedBuffer>> = Mutex::new(Vec::new());

/// The id the next thread to record gets.
static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

type SharedBuffer = Arc<Mutex<Vec<Event>>>;

/// The recording thread's id and its end of the buffer it shares with the registry.
struct ThreadBuffer {
    thread: u32,
    events: SharedBuffer,
}

thread_local! {
    static THREAD_BUFFER: ThreadBuffer = register_thread();
}

/// One recorded scheduler event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, from [`crate::clock::now_ns`].
    pub ts_ns: u64,
    /// The small id of the OS thread that recorded it (see the module invariants); for an
    /// event of another process, that process's own id for its thread.
    pub thread: u32,
    /// `None` for this process's own events; the OS process id of the process that saw it for
    /// an event shipped back from another one ([`record_from_process`]).
    pub process: Option<u32>,
    /// What happened.
    pub kind: EventKind,
}

/// What a scheduler did. Task ids are `u64`; thread, P and worker ids are `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A task (goroutine, Python thread, asyncio task, callback) was created.
    Spawn {
        /// The new task.
        task: u64,
        /// The task that created it, if it was created by one.
        parent: Option<u64>,
    },
    /// A task starts running on the recording thread.
    RunBegin {
        /// The task.
        task: u64,
        /// The P or worker index it runs under.
        proc_id: u32,
    },
    /// A task stops running on the recording thread.
    RunEnd {
        /// The task.
        task: u64,
        /// The P or worker index it ran under.
        proc_id: u32,
    },
    /// A task blocked.
    Park {
        /// The task.
        task: u64,
        /// Why, in the modelled runtime's words (`"chan receive"`, `"select"`, `"sleep"`).
        reason: &'static str,
    },
    /// A task was made runnable again.
    Wake {
        /// The task woken.
        task: u64,
        /// The task that woke it, if a task did.
        by: Option<u64>,
    },
    /// Tasks moved from one run queue to another.
    Steal {
        /// The P or worker robbed.
        from: u32,
        /// The P or worker that took them.
        to: u32,
        /// How many tasks moved.
        count: u32,
    },
    /// The recording OS thread goes to sleep.
    ThreadPark,
    /// The recording OS thread woke up.
    ThreadUnpark,
    /// The recording thread asks for the GIL.
    GilRequest,
    /// The recording thread holds the GIL.
    GilTake,
    /// The recording thread released the GIL.
    GilDrop {
        /// Whether it was asked to drop it (a drop request after the switch interval).
        forced: bool,
    },
    /// The recording thread enters a named phase (an event-loop phase, a run_once pass).
    PhaseEnter {
        /// The phase.
        name: &'static str,
    },
    /// The recording thread leaves a named phase.
    PhaseLeave {
        /// The phase.
        name: &'static str,
    },
    /// A child process started.
    ProcessStart {
        /// Its OS process id.
        pid: u32,
    },
    /// A child process exited.
    ProcessExit {
        /// Its OS process id.
        pid: u32,
        /// Its exit status.
        status: i32,
    },
    /// Bytes sent between processes.
    IpcBytes {
        /// How many, in this one transfer.
        bytes: u64,
    },
    /// A named quantity took a value (a run-queue length, a pool size).
    Counter {
        /// The quantity.
        name: &'static str,
        /// Its value now.
        value: i64,
    },
    /// A named moment with nothing more to say.
    Instant {
        /// The moment.
        name: &'static str,
    },
}

/// Whether a recording is running: exactly one `Relaxed` load.
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Discards the events of any previous recording and starts a new one.
pub fn start() {
    let mut buffers = lock(&BUFFERS);
    for buffer in buffers.iter() {
        lock(buffer).clear();
    }
    forget_exited_threads(&mut buffers);
    ENABLED.store(true, Ordering::Relaxed);
}

/// Ends the recording and returns the events of every thread, sorted by timestamp.
///
/// Threads that have exited since they recorded are included.
pub fn stop() -> Vec<Event> {
    ENABLED.store(false, Ordering::Relaxed);
    let mut buffers = lock(&BUFFERS);
    let mut events = Vec::new();
    for buffer in buffers.iter() {
        events.append(&mut lock(buffer));
    }
    forget_exited_threads(&mut buffers);
    drop(buffers);
    events.sort_by_key(|event| (event.ts_ns, event.thread));
    events
}

/// Records one event on the calling thread, timestamped now.
///
/// Call it behind [`enabled`]; outside a recording it does nothing. During thread-local
/// destruction at thread exit the event is dropped, as the thread's buffer may already be gone.
#[cold]
#[inline(never)]
pub fn record(kind: EventKind) {
    if !enabled() {
        return;
    }
    let ts_ns = clock::now_ns();
    // `try_with` fails only while this thread's thread-locals are being destroyed; there is no
    // buffer to record into then, and a trace must never panic its runtime.
    let _ = THREAD_BUFFER.try_with(|buffer| {
        lock(&buffer.events).push(Event {
            ts_ns,
            thread: buffer.thread,
            process: None,
            kind,
        });
    });
}

/// Records, on the calling thread, an event that another process saw: a worker process's task
/// run, shipped back to the process that records (procpool's workers do this). `ts_ns` must
/// already be on this process's [`clock`] (a worker converts from `CLOCK_MONOTONIC`, which the
/// clock reads: see [`crate::clock`]); `thread` is that process's id for its thread, and the
/// Chrome trace shows the event under process `pid`.
///
/// Call it behind [`enabled`]; outside a recording it does nothing.
#[cold]
#[inline(never)]
pub fn record_from_process(pid: u32, thread: u32, ts_ns: u64, kind: EventKind) {
    if !enabled() {
        return;
    }
    let _ = THREAD_BUFFER.try_with(|buffer| {
        lock(&buffer.events).push(Event {
            ts_ns,
            thread,
            process: Some(pid),
            kind,
        });
    });
}

/// Gives the calling thread an id and a buffer, and registers the buffer for [`stop`].
fn register_thread() -> ThreadBuffer {
    let thread = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    let events = SharedBuffer::default();
    lock(&BUFFERS).push(Arc::clone(&events));
    ThreadBuffer { thread, events }
}

/// Drops the (already drained) buffers whose thread has exited: the registry is their only owner.
fn forget_exited_threads(buffers: &mut Vec<SharedBuffer>) {
    buffers.retain(|buffer| Arc::strong_count(buffer) > 1);
}

/// Locks, ignoring poison: a panic while holding one of these locks leaves a valid `Vec`.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
