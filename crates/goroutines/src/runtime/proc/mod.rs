//! The scheduler: Gs run on Ms (OS threads) that hold Ps (the right to run Go code), after Go's
//! `runtime/proc.go`.
//!
//! ```text
//!   global queue (sched.lock)          P0                    P1
//!   [g g g ...] <---- overflow ---- runnext [g]          runnext [ ]
//!        |                          runq [g g g]  <-steal- runq [ ]
//!        +-- every 61st tick ---->  timers {heap}         timers {heap}
//!                                   M0 (thread) runs g    M1 spinning / parked
//! ```
//!
//! Invariants (Go's, "Worker thread parking/unparking" in proc.go):
//! - An M runs goroutines only while it holds a P; at most `nprocs` Ms hold Ps.
//! - If there is an idle P and work was submitted, some M is spinning or will be woken: every
//!   submitter publishes its work, then (SeqCst, the #StoreLoad) reads `nmspinning` and calls
//!   `wakep`, which starts a spinning M unless one already spins. One exception, not Go's: a G
//!   readied into the empty queue of the readier's own P defers that wake-up (`ready`) until the
//!   P schedules again, the readier enters a blocking call, or sysmon sees the G still waiting
//!   a round later; the P itself will run the G when the readier blocks, as it usually does next. A spinning M that stops spinning
//!   decrements `nmspinning`, then (SeqCst) re-checks every run queue before it parks.
//! - Spinning Ms are at most half of the busy Ps (`2*nmspinning < nprocs - npidle`).
//! - Not Go's: a spinning M that found nothing keeps searching for up to 50 µs before it gives
//!   up its P, so that producers need not wake a thread, but only while its recent spins found
//!   work (`M::spin_long`); otherwise it searches once, as Go's does.
//! - A new or woken G goes to `runnext` and inherits the time slice; other Ps steal `runnext` only
//!   on their last pass. `yield_now` puts the G at the tail of the local ring.
//! - A P's state word names its M (`p_state`), so no transition can be mistaken for another M's;
//!   an M touches its P only between `enter_runtime` and `exit_runtime` (the state machine is in
//!   `p.rs`).
//!
//! Parts:
//! - `mod.rs` (this file): `Sched` (Go's `sched` plus `allp`) and the lock-guarded state, building
//!   a runtime (Go's `schedinit`), the counts read from outside, the deadlock check's entry for
//!   plain threads (`checkdead_all`), and shutdown.
//! - `p.rs`: the P, its state word and who may touch it (`take_p`, `enter_runtime`,
//!   `exit_runtime`, `with_own_p`).
//! - `m.rs`: the M, the thread's current M, and how it sleeps on its note.
//! - `newproc.rs`: starting a goroutine (Go's `newproc`, `malg`) and the free lists of dead Gs
//!   (`gfget`, `gfput`).
//! - `ready.rs`: making goroutines runnable and the queues they wait in (Go's `ready`,
//!   `injectglist`, `runqput`, `globrunqput`, `globrunqget`).
//! - `wakep.rs`: waking and starting Ms and the idle P list (Go's `wakep`, `startm`, `handoffp`,
//!   `pidleget`, `pidleput`).
//! - `schedule.rs`: the loop of an M (`mstart`, `findrunnable`, `execute`, `stopm`).
//! - `lockedm.rs`: goroutines locked to threads (`startlockedm`, `stoplockedm`).
//!
//! Rejected designs, as proc.go's header lists: a centralised run queue (contention), handing a G
//! directly to an unparked thread (thrashes between threads), and waking a thread for every readied
//! G (a thread wake-up per channel operation).

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::thread;

use corosensei::CoroutineResult;

use super::g::{
    fatal, prefetch_stack, set_current_g, AfterSwitch, GRef, G, G_DEAD, G_IDLE, G_RUNNABLE,
    G_RUNNING, G_WAITING,
};
use super::idle::{Idle, Note};
use super::netpoll::NetPoll;
use super::runq::RunQueue;
use super::stack::{self, StackCache, StackPool};
use super::time::Timers;
use super::Config;
use crate::loom::{
    AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Mutex,
    Ordering,
};

mod lockedm;
mod m;
mod newproc;
mod p;
mod ready;
mod schedule;
mod wakep;

use self::lockedm::{startlockedm, stoplockedm};
pub(crate) use self::m::{current_m, M};
use self::m::{current_m_arc, CURRENT_M};
use self::p::take_p;
pub(crate) use self::p::{
    acquire_p_for, drop_p, enter_runtime, exit_runtime, p_state, P, P_IDLE, P_RETAKING, P_RUNNING,
    P_SYSCALL,
};
use self::schedule::{gcd, mstart};
pub(crate) use self::wakep::handoffp;

const NO_P: usize = usize::MAX;

/// Scheduler threads parked for lack of work, across all runtimes (for the deadlock check).
/// Incremented by the M as it parks, decremented by whoever wakes it, before the wake-up, so a
/// woken M never counts as idle.
pub(crate) static IDLE_MS: AtomicIsize = AtomicIsize::new(0);

/// Every runtime built in this process (they are never freed), for the deadlock check a plain
/// thread runs when it blocks.
static RUNTIMES: std::sync::Mutex<Vec<&'static Sched>> = std::sync::Mutex::new(Vec::new());

/// Counters the runtime reports while it runs (`Runtime::stats`).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) steals: AtomicU64,
    pub(crate) runq_overflows: AtomicU64,
    /// Ps sysmon took from goroutines that ran 10 ms without a runtime call.
    pub(crate) hog_retakes: AtomicU64,
    pub(crate) thread_parks: AtomicU64,
    pub(crate) timed_spins: AtomicU64,
    pub(crate) threads_started: AtomicU64,
}

/// The thread counts `sched.lock` guards, copied out for the scheduler trace.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadCounts {
    /// Ms started (Go's `mcount`, less Go's own sysmon M, which is not an M here).
    pub(crate) mcount: usize,
    /// Ms parked for lack of work (Go's `sched.nmidle`).
    pub(crate) nmidle: usize,
    /// Ms waiting for their locked goroutine (Go's `sched.nmidlelocked`).
    pub(crate) nmidlelocked: isize,
}

impl SchedLocked {
    fn thread_counts(&self) -> ThreadCounts {
        ThreadCounts {
            mcount: self.mcount,
            nmidle: self.midle.len(),
            nmidlelocked: self.nmidlelocked,
        }
    }
}

struct SchedLocked {
    global: VecDeque<GRef>,
    pidle: Vec<usize>,
    midle: Vec<Arc<M>>,
    mcount: usize,
    /// Ms waiting for their locked goroutine (Go's `nmidlelocked`). Signed: the hand-back in
    /// `startlockedm` may be counted before the matching wait in `stoplockedm`.
    nmidlelocked: isize,
    gfree: Vec<GRef>,
}

/// A value alone on its cache line (and the next: 128 bytes, as crossbeam's `CachePadded` on
/// x86-64, whose prefetcher pulls lines in pairs). For the scheduler's shared atomics that one
/// thread writes while others read in a loop: `next_goid` (every spawn adds to it), `idle`'s
/// counts (a spinning thread reads them each pass; a thread that parks or spins writes them) and
/// `global_len`. Packed together with the rest of `Sched`, which fields shared a line was up to
/// the compiler's field order: adding two fields for the scheduler trace (7d647d0) moved them and
/// made spawn on 2 Ps about 7% slower (218 against 234 ns, 17 of 20 rounds); padded, it is back
/// (BENCHMARKS.md).
#[repr(align(128))]
pub(crate) struct CacheLine<T>(pub(crate) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// One runtime's scheduler state (Go's `sched` plus `allp`). Leaked: lives until the process exits,
/// since parked goroutines may be woken by threads that outlive the `Runtime` handle.
pub(crate) struct Sched {
    pub(crate) config: Config,
    pub(crate) ps: Box<[P]>,
    lock: Mutex<SchedLocked>,
    /// The three below each on a cache line of its own (see [`CacheLine`]).
    global_len: CacheLine<AtomicUsize>,
    pub(crate) idle: CacheLine<Idle>,
    pub(crate) next_goid: CacheLine<AtomicU64>,
    /// Goroutines started by threads without a P (they exit on some P; see `gcount`).
    ngoroutines_no_p: AtomicI64,
    pub(crate) stacks: StackPool,
    /// The numbers in 1..=nprocs coprime with nprocs (Go's `randomOrder.coprimes`).
    steal_strides: Box<[usize]>,
    /// Every G ever allocated (Go's `allgs`), for the deadlock report.
    pub(crate) allgs: Mutex<Vec<GRef>>,
    /// The stacks of parked goroutines, when the runtime records them.
    pub(crate) park_traces: super::traceback::ParkTraces,
    pub(crate) netpoll: NetPoll,
    pub(crate) counters: Counters,
    pub(crate) shutdown: AtomicBool,
    /// sysmon sleeps on this while every P is idle (Go's `sysmonnote`).
    pub(crate) sysmon_note: super::idle::Note,
    pub(crate) sysmon_waiting: AtomicBool,
    next_mid: AtomicUsize,
    /// Every M ever started (Go's `allm`), for the scheduler trace; pushed once per thread start.
    pub(crate) allm: Mutex<Vec<Arc<M>>>,
    /// `probe::clock::now_ns()` when the runtime was built: the scheduler trace's time zero.
    pub(crate) started_ns: u64,
}

// SAFETY: GRefs in the locked state are plain pointers to Sync Gs; all else is Sync.
unsafe impl Sync for Sched {}
// SAFETY: as above.
unsafe impl Send for Sched {}

impl Sched {
    /// Builds a scheduler with `config.procs` Ps, all idle, and no Ms yet.
    pub(crate) fn new(config: Config) -> std::io::Result<&'static Sched> {
        stack::install_overflow_handler();
        let netpoll = NetPoll::new()?;
        if config.sigquit_dump {
            super::sigquit::install()?;
        }
        let nprocs = config.procs;
        let ps: Box<[P]> = (0..nprocs)
            .map(|id| P {
                id,
                runq: RunQueue::new(),
                state: AtomicU64::new(P_IDLE),
                owner: AtomicPtr::new(ptr::null_mut()),
                syscalltick: AtomicU32::new(0),
                schedtick: AtomicU32::new(0),
                switches: AtomicU32::new(0),
                deferred_wake: AtomicBool::new(false),
                timers: Timers::new(),
                stacks: UnsafeCell::new(StackCache::new()),
                gfree: UnsafeCell::new(Vec::new()),
                gfreecnt: AtomicU32::new(0),
                overflow: UnsafeCell::new(Vec::new()),
                ngoroutines: AtomicI64::new(0),
            })
            .collect();
        let stacks = StackPool::new(config.stack_size);
        let sched: &'static Sched = Box::leak(Box::new(Sched {
            ps,
            lock: Mutex::new(SchedLocked {
                global: VecDeque::new(),
                pidle: (0..nprocs).rev().collect(),
                midle: Vec::new(),
                mcount: 0,
                nmidlelocked: 0,
                gfree: Vec::new(),
            }),
            global_len: CacheLine(AtomicUsize::new(0)),
            idle: CacheLine(Idle::new(nprocs)),
            next_goid: CacheLine(AtomicU64::new(1)),
            ngoroutines_no_p: AtomicI64::new(0),
            stacks,
            steal_strides: (1..=nprocs).filter(|&c| gcd(c, nprocs) == 1).collect(),
            allgs: Mutex::new(Vec::new()),
            park_traces: super::traceback::ParkTraces::new(config.park_backtraces),
            netpoll,
            counters: Counters::default(),
            shutdown: AtomicBool::new(false),
            sysmon_note: super::idle::Note::new(),
            sysmon_waiting: AtomicBool::new(false),
            next_mid: AtomicUsize::new(0),
            allm: Mutex::new(Vec::new()),
            started_ns: probe::clock::now_ns(),
            config,
        }));
        RUNTIMES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sched);
        super::sysmon::start(sched);
        Ok(sched)
    }

    /// Goroutines on the global queue (a snapshot).
    pub(crate) fn global_len(&self) -> usize {
        self.global_len.load(Ordering::Relaxed)
    }

    /// Whether some P is idle or some M spins: someone else could pick up new work.
    pub(crate) fn idle_or_spinning(&self) -> bool {
        self.idle.npidle() + self.idle.nmspinning() > 0
    }

    /// Runs the deadlock check if every M of this runtime is idle (the caller holds the lock).
    fn checkdead_if_idle(&self, st: &SchedLocked) {
        if st.midle.len() as isize + st.nmidlelocked == st.mcount as isize && !self.any_work() {
            super::deadlock::checkdead(self, st.thread_counts());
        }
    }

    /// Whether another P is running goroutines (for `sync::Mutex`'s spinning).
    pub(crate) fn another_p_running(&self) -> bool {
        self.idle.another_p_running(self.ps.len())
    }

    /// Live goroutines (Go's `gcount`): a sum of per-P counts, exact when the runtime is quiet.
    pub(crate) fn gcount(&self) -> i64 {
        self.ngoroutines_no_p.load(Ordering::SeqCst)
            + self
                .ps
                .iter()
                .map(|p| p.ngoroutines.load(Ordering::SeqCst))
                .sum::<i64>()
    }

    /// The scheduler's thread counts now, for the scheduler trace (takes the scheduler lock
    /// for as long as it takes to copy three integers, as Go's `schedtrace` holds `sched.lock`).
    pub(crate) fn thread_counts(&self) -> ThreadCounts {
        self.lock().thread_counts()
    }

    fn lock(&self) -> crate::loom::MutexGuard<'_, SchedLocked> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A plain thread is about to block in a goroutine primitive: if that leaves some runtime with
/// nothing running, that runtime's last M found no deadlock only because this thread still ran;
/// check again (Go never needs this: it has no foreign threads).
pub(crate) fn checkdead_all() {
    for sched in all_runtimes() {
        if sched.config.deadlock_detection && !sched.shutdown.load(Ordering::Relaxed) {
            let st = sched.lock();
            sched.checkdead_if_idle(&st);
        }
    }
}

/// Every runtime built in this process.
pub(crate) fn all_runtimes() -> Vec<&'static Sched> {
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Stops the runtime's threads once they next look for work; goroutines are abandoned.
pub(crate) fn shutdown(sched: &'static Sched) {
    sched.shutdown.store(true, Ordering::SeqCst);
    let idle: Vec<Arc<M>> = std::mem::take(&mut sched.lock().midle);
    for m in idle {
        IDLE_MS.fetch_sub(1, Ordering::SeqCst);
        m.next_p.store(NO_P, Ordering::Relaxed);
        m.notewakeup();
    }
    sched.netpoll.wake();
    sched.sysmon_note.wakeup();
}
