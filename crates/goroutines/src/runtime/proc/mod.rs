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
//! - A new or woken G goes to `runnext` and inherits the time slice; other Ps steal `runnext` only
//!   on their last pass. `yield_now` puts the G at the tail of the local ring.
//! - A P's state word names its M (`p_state`), so no transition can be mistaken for another M's:
//!
//! ```text
//!   IDLE --take_p--> RUNNING(m) --blocking()--> SYSCALL(m) --exitsyscall CAS--> RUNNING(m)
//!                      |   ^                        |
//!                      |   +-- sysmon: m in runtime |  sysmon CAS (work waits, or 10 ms)
//!                      v   |                        v
//!                   RETAKING(m) --m in user code--> IDLE --handoffp--> RUNNING(m') / idle list
//! ```
//!
//!   An M touches its P only between `enter_runtime` and `exit_runtime`, which check the state
//!   word (see `sysmon.rs` for the handshake); an M that finds its P taken goes on without one and
//!   its goroutine ends up on the global queue.
//!
//! Files: this one holds the structures and the queues; `schedule.rs` the loop of an M
//! (`mstart`, `findrunnable`, `execute`); `lockedm.rs` goroutines locked to threads and
//! `handoffp`.
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
    fatal, set_current_g, AfterSwitch, GRef, G, G_DEAD, G_IDLE, G_RUNNABLE, G_RUNNING, G_WAITING,
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
mod schedule;

pub(crate) use self::lockedm::handoffp;
use self::lockedm::{startlockedm, stoplockedm};
use self::schedule::{gcd, mstart};

const NO_P: usize = usize::MAX;

/// Scheduler threads parked for lack of work, across all runtimes (for the deadlock check).
/// Incremented by the M as it parks, decremented by whoever wakes it, before the wake-up, so a
/// woken M never counts as idle.
pub(crate) static IDLE_MS: AtomicIsize = AtomicIsize::new(0);

/// Every runtime built in this process (they are never freed), for the deadlock check a plain
/// thread runs when it blocks.
static RUNTIMES: std::sync::Mutex<Vec<&'static Sched>> = std::sync::Mutex::new(Vec::new());
/// Go checks the global queue once every 61 scheduler ticks so a busy local queue cannot starve it.
const GLOBAL_QUEUE_TICK: u32 = 61;
/// Passes over all Ps in `steal_work` (Go's `stealTries`).
const STEAL_TRIES: usize = 4;
/// How long a spinning M keeps looking for work before it gives up its P.
const SPIN_NS: u64 = 50_000;
/// How long a spinning M pauses between two searches.
const SPIN_BACKOFF_NS: u64 = 500;
/// Free Gs a P keeps before moving half to the global free list (Go's `gfput`).
const GFREE_MAX: usize = 64;

/// No M holds the P; it is on the idle list (or being handed over).
pub(crate) const P_IDLE: u64 = 0;
/// An M holds the P and runs goroutines (or runtime code) with it.
pub(crate) const P_RUNNING: u64 = 1;
/// Its M is inside `blocking` (Go's `_Psyscall`): sysmon may take the P.
pub(crate) const P_SYSCALL: u64 = 2;
/// sysmon is deciding whether to take the P from a goroutine that hogs it; its M waits for the
/// decision before it touches the P.
pub(crate) const P_RETAKING: u64 = 3;

/// The state word of a P held by M `mid` in `status`.
pub(crate) fn p_state(mid: usize, status: u64) -> u64 {
    ((mid as u64 + 1) << 8) | status
}

/// A P: a run queue, timers, and caches; held by at most one M at a time.
pub(crate) struct P {
    pub(crate) id: usize,
    pub(crate) runq: RunQueue<G>,
    /// The P's state word: `(M id + 1) << 8 | P_*` (see `p_state`), so that a transition names
    /// the M it belongs to and cannot be confused with another M's (an ABA on the status alone).
    pub(crate) state: AtomicU64,
    /// The M that holds the P, for sysmon (the state word decides; this only locates the M).
    pub(crate) owner: AtomicPtr<M>,
    /// Incremented by every `blocking` call (Go's `syscalltick`), for sysmon.
    pub(crate) syscalltick: AtomicU32,
    /// Incremented on every schedule that does not inherit a time slice.
    pub(crate) schedtick: AtomicU32,
    /// Incremented on every schedule, `runnext` included: thieves read it to tell a P that is
    /// busy handing goroutines back and forth from one stuck in a long-running goroutine; sysmon
    /// reads it to tell a deferred wake-up that waits from one that keeps being consumed.
    pub(crate) switches: AtomicU32,
    /// A goroutine was readied into this P's empty queue without waking a thread (see `ready`):
    /// the P is expected to run it next itself. Written by the owner (a store, no
    /// read-modify-write), read by sysmon.
    pub(crate) deferred_wake: AtomicBool,
    pub(crate) timers: Timers,
    /// Owner only.
    stacks: UnsafeCell<StackCache>,
    /// Owner only: dead Gs for reuse.
    gfree: UnsafeCell<Vec<GRef>>,
    /// The length of `gfree`, for the scheduler trace (Go's `gFree.size`, which `schedtrace`
    /// reads racily). Written only by the owner, one relaxed store per change of `gfree`.
    pub(crate) gfreecnt: AtomicU32,
    /// Owner only: scratch for `runqputslow`.
    overflow: UnsafeCell<Vec<GRef>>,
    /// Goroutines started on this P minus those that exited on it. Written only by the owner
    /// (a load and a store, no read-modify-write: a shared counter bouncing between cores cost
    /// more than the rest of a spawn), read by anyone.
    ngoroutines: AtomicI64,
}

impl P {
    fn count_goroutine(&self, delta: i64) {
        let n = self.ngoroutines.load(Ordering::Relaxed);
        self.ngoroutines.store(n + delta, Ordering::Relaxed);
    }
}

// SAFETY: the UnsafeCell fields are touched only by the M holding the P (acquired under
// `sched.lock` or handed over with release/acquire); the rest is atomics or internally locked.
unsafe impl Sync for P {}

/// Counters the runtime reports while it runs (`Runtime::stats`).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) steals: AtomicU64,
    pub(crate) runq_overflows: AtomicU64,
    /// Ps sysmon took from goroutines that ran 10 ms without a runtime call.
    pub(crate) hog_retakes: AtomicU64,
    pub(crate) thread_parks: AtomicU64,
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

/// An M: an OS thread running the scheduler loop.
pub(crate) struct M {
    pub(crate) id: usize,
    pub(crate) sched: &'static Sched,
    note: Note,
    next_p: AtomicUsize,
    next_spinning: AtomicBool,
    /// A copy of `spinning` for the scheduler trace, which runs on another thread: stored where
    /// `spinning` changes, which happens beside an update of `nmspinning`; never read by the
    /// scheduler.
    pub(crate) spinning_traced: AtomicBool,
    /// True while the M sleeps on its note (Go's `m.blocked`), for the scheduler trace.
    pub(crate) blocked: AtomicBool,
    // Own thread only:
    p: Cell<usize>,
    /// Whether the M looks for work (counted in `nmspinning`); changed through `set_spinning`.
    spinning: Cell<bool>,
    /// The goroutine running on this M (read by sysmon to mark it for preemption).
    pub(crate) curg: AtomicPtr<G>,
    /// True while a goroutine runs user code on this M: the M will not touch its P until it
    /// enters the runtime (`enter_runtime`), so sysmon may take the P (see `sysmon.rs`).
    pub(crate) in_user: AtomicBool,
    after_switch: Cell<AfterSwitch>,
    rng: Cell<u64>,
    /// The goroutine wired to this thread by `lock_os_thread`, if any (Go's `m.lockedg`).
    pub(crate) locked_g: Cell<*const G>,
}

// SAFETY: the Cell fields are touched only by the M's own thread (its scheduler loop, or a
// goroutine running on it); other threads use only the atomics and `thread`.
unsafe impl Sync for M {}
// SAFETY: as above.
unsafe impl Send for M {}

thread_local! {
    static CURRENT_M: Cell<*const M> = const { Cell::new(ptr::null()) };
}

/// The M of this thread, if it is a scheduler thread. Never inlined and never cached across a
/// switch (see `g::current_g`).
#[inline(never)]
pub(crate) fn current_m() -> Option<&'static M> {
    let m = CURRENT_M.with(|c| c.get());
    // SAFETY: CURRENT_M is set by `mstart` to an M kept alive (an Arc held by the thread's own
    // loop) until the thread exits, and reset before that; the reference does not escape the
    // thread, since callers never keep it across a switch.
    unsafe { m.as_ref() }
}

impl M {
    fn set_spinning(&self, on: bool) {
        self.spinning.set(on);
        self.spinning_traced.store(on, Ordering::Relaxed);
    }

    pub(crate) fn set_after_switch(&self, a: AfterSwitch) {
        self.after_switch.set(a);
    }

    /// The P this M holds, if any.
    pub(crate) fn p(&self) -> Option<&'static P> {
        match self.p.get() {
            NO_P => None,
            i => Some(&self.sched.ps[i]),
        }
    }

    fn fastrand(&self) -> u32 {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    fn notewakeup(&self) {
        self.note.wakeup();
    }

    fn notesleep(&self) {
        self.sched
            .counters
            .thread_parks
            .fetch_add(1, Ordering::Relaxed);
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::ThreadPark);
        }
        self.blocked.store(true, Ordering::Relaxed);
        self.note.sleep();
        self.blocked.store(false, Ordering::Relaxed);
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::ThreadUnpark);
        }
    }
}

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

    /// Makes the goroutines of a netpoll result runnable (Go's `injectglist`): returns the first
    /// for the caller to run; of the rest, as many as there are idle Ps go to the global queue in
    /// one batch, with an M started for each, and the others to the caller's own run queue when it
    /// is an M holding a P (else to the global queue as well).
    pub(crate) fn inject(&'static self, ready: Vec<GRef>) -> Option<GRef> {
        let mut ready = ready.into_iter();
        let first = ready.next()?;
        self.mark_runnable(first);
        let mut rest: Vec<GRef> = ready.inspect(|&g| self.mark_runnable(g)).collect();
        if rest.is_empty() {
            return Some(first);
        }
        let own_p = current_m()
            .filter(|m| ptr::eq(m.sched, self))
            .and_then(|m| m.p());
        let npidle = self.idle.npidle();
        let to_global = match own_p {
            Some(_) => npidle.min(rest.len()),
            None => rest.len(),
        };
        let local = rest.split_off(to_global);
        if !rest.is_empty() {
            let mut st = self.lock();
            st.global.extend(rest.iter().copied());
            self.global_len.store(st.global.len(), Ordering::SeqCst);
            drop(st);
            for _ in 0..rest.len().min(npidle) {
                self.startm(None, false);
            }
            self.wakep();
        }
        if let Some(p) = own_p {
            for g in local {
                // SAFETY: the caller is the M holding `p`, in the runtime (not goroutine code).
                unsafe { self.runqput(p, g, false) };
            }
        }
        Some(first)
    }

    /// A goroutine the poller took from a wait becomes runnable.
    fn mark_runnable(&self, g: GRef) {
        // SAFETY: Gs are never freed while the runtime lives.
        let gr = unsafe { g.as_ref() };
        if gr
            .status
            .compare_exchange(G_WAITING, G_RUNNABLE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            fatal("netpoll readied a goroutine that is not waiting");
        }
        gr.set_wait_reason(super::g::WaitReason::None);
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

    /// Runs `f` with the caller's P, if the caller runs on one of this runtime's Ms and still
    /// holds its P; returns None otherwise. Called from goroutine code, it enters the runtime
    /// around `f` (sysmon may have taken the P from a goroutine that hogged it).
    fn with_own_p<R>(&'static self, f: impl FnOnce(&'static P) -> R) -> Option<R> {
        let m = current_m()?;
        if !ptr::eq(m.sched, self) {
            return None;
        }
        let user = m.in_user.load(Ordering::Relaxed);
        let p = if user { enter_runtime(m) } else { m.p() };
        let r = p.map(f);
        if user {
            exit_runtime(m);
        }
        r
    }

    /// Starts a goroutine (Go's `newproc`); `at` is where the `go` call was.
    pub(crate) fn newproc(
        &'static self,
        entry: Arc<dyn super::task::Runnable>,
        at: &'static Location<'static>,
    ) -> u64 {
        let id = self.next_goid.fetch_add(1, Ordering::Relaxed);
        let parent = super::g::current_g().map(|c| {
            // SAFETY: the current goroutine is alive.
            unsafe { c.as_ref() }.id.load(Ordering::Relaxed)
        });
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::Spawn { task: id, parent });
        }
        let created = (parent.unwrap_or(0), at);
        let mut entry = Some(entry);
        let placed = self.with_own_p(|p| {
            // SAFETY: `with_own_p` runs this with the caller's own P.
            let g = unsafe { self.gfget(p) }.unwrap_or_else(|| self.malg());
            self.init_g(g, id, entry.take(), created);
            p.count_goroutine(1);
            // SAFETY: as above.
            unsafe { self.runqput(p, g, true) };
        });
        if placed.is_none() {
            let g = self.lock().gfree.pop().unwrap_or_else(|| self.malg());
            self.init_g(g, id, entry.take(), created);
            self.ngoroutines_no_p.fetch_add(1, Ordering::Relaxed);
            self.globrunqput(g);
        }
        self.wakep();
        id
    }

    /// Readies a fresh or recycled G to run `entry` as goroutine `id`, started by goroutine
    /// `created.0` (0: a plain thread) at `created.1`.
    fn init_g(
        &self,
        g: GRef,
        id: u64,
        entry: Option<Arc<dyn super::task::Runnable>>,
        created: (u64, &'static Location<'static>),
    ) {
        // SAFETY: a G taken from a free list or just allocated is held by nobody else.
        let gr = unsafe { g.as_ref() };
        gr.id.store(id, Ordering::Relaxed);
        gr.set_created(created.0, created.1);
        // SAFETY: as above: we are the only holder of this G.
        unsafe { *gr.entry.get() = entry };
        gr.status.store(G_IDLE, Ordering::Relaxed);
    }

    fn malg(&'static self) -> GRef {
        let g = NonNull::from(Box::leak(Box::new(G::new(self))));
        self.allgs.lock().unwrap_or_else(|e| e.into_inner()).push(g);
        g
    }

    /// # Safety
    /// The caller's M holds `p`.
    unsafe fn gfget(&self, p: &P) -> Option<GRef> {
        // SAFETY: the caller holds `p`.
        let gfree = unsafe { &mut *p.gfree.get() };
        if gfree.is_empty() {
            let mut st = self.lock();
            let n = st.gfree.len().min(GFREE_MAX / 2);
            let at = st.gfree.len() - n;
            gfree.extend(st.gfree.drain(at..));
        }
        let g = gfree.pop();
        p.gfreecnt.store(gfree.len() as u32, Ordering::Relaxed);
        g
    }

    /// # Safety
    /// The caller's M holds `p`, and `g` is dead and held by nobody.
    #[inline]
    unsafe fn gfput(&self, p: &P, g: GRef) {
        // SAFETY: the caller holds `p`.
        let gfree = unsafe { &mut *p.gfree.get() };
        gfree.push(g);
        if gfree.len() >= GFREE_MAX {
            let mut st = self.lock();
            st.gfree.extend(gfree.drain(GFREE_MAX / 2..));
        }
        p.gfreecnt.store(gfree.len() as u32, Ordering::Relaxed);
    }

    /// Puts a runnable G on this runtime: the current P's `runnext` when the caller holds one of
    /// this runtime's Ps, else the global queue. Then makes sure someone will run it.
    ///
    /// Unlike Go, a G readied into an empty queue of the caller's own P wakes no thread (Tokio's
    /// rule for its LIFO slot): the usual next step of the readier is to block (a channel
    /// ping-pong, a request and its reply), and then this P runs the G at once; a thread woken
    /// for it would find nothing to steal, spin and park again, a futex round trip per hand-off.
    /// The wake-up is only deferred: it happens when this P next schedules and still has work
    /// queued (`take_deferred_wake`), when the readier enters a blocking call, and otherwise
    /// when sysmon sees the G still waiting a round later while this P runs on (`sysmon.rs`).
    pub(crate) fn ready(&'static self, g: GRef) {
        let on_own_p = self.with_own_p(|p| {
            let alone = p.runq.is_empty();
            // SAFETY: `with_own_p` runs this with the caller's own P.
            unsafe { self.runqput(p, g, true) };
            if alone {
                p.deferred_wake.store(true, Ordering::Relaxed);
            }
            alone
        });
        match on_own_p {
            Some(true) => {}
            Some(false) => self.wakep(),
            None => {
                self.globrunqput(g);
                self.wakep();
            }
        }
    }

    /// Settles a wake-up `ready` deferred on `p` (the caller's M holds `p`): once the P
    /// schedules again, the deferred G has either just been taken by this P, and no thread is
    /// needed, or still waits behind others, and one is.
    pub(crate) fn take_deferred_wake(&'static self, p: &P) {
        if p.deferred_wake.load(Ordering::Relaxed) {
            p.deferred_wake.store(false, Ordering::Relaxed);
            if !p.runq.is_empty() {
                self.wakep();
            }
        }
    }

    /// # Safety
    /// The caller's M holds `p`.
    unsafe fn runqput(&self, p: &P, g: GRef, next: bool) {
        // SAFETY: the caller holds `p`, so it may use the owner side of its queue and scratch.
        let overflow = unsafe { &mut *p.overflow.get() };
        // SAFETY: as above.
        if unsafe { p.runq.push(g, next, overflow) } {
            self.counters.runq_overflows.fetch_add(1, Ordering::Relaxed);
            let mut st = self.lock();
            st.global.extend(overflow.drain(..));
            self.global_len.store(st.global.len(), Ordering::SeqCst);
        }
    }

    pub(crate) fn globrunqput(&self, g: GRef) {
        let mut st = self.lock();
        st.global.push_back(g);
        self.global_len.store(st.global.len(), Ordering::SeqCst);
    }

    /// Takes a batch from the global queue into `p`'s queue and returns one G (Go's
    /// `globrunqget`): at most `max` (0 = no limit) and at most size/nprocs + 1.
    ///
    /// # Safety
    /// The caller's M holds `p`.
    unsafe fn globrunqget(&self, p: &P, max: usize) -> Option<GRef> {
        if self.global_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut st = self.lock();
        let size = st.global.len();
        if size == 0 {
            return None;
        }
        let mut n = (size / self.ps.len() + 1).min(size);
        if max > 0 {
            n = n.min(max);
        }
        n = n.min(super::runq::CAPACITY / 2);
        let first = st.global.pop_front();
        for _ in 1..n {
            if let Some(g) = st.global.pop_front() {
                // SAFETY: the caller holds `p`; the batch is at most half the ring, and the ring
                // may be non-empty only by less than that on this path, so push cannot overflow
                // into the lock we hold; if it did, `overflow` is drained below.
                let overflow = unsafe { &mut *p.overflow.get() };
                // SAFETY: as above.
                if unsafe { p.runq.push(g, false, overflow) } {
                    st.global.extend(overflow.drain(..));
                }
            }
        }
        self.global_len.store(st.global.len(), Ordering::SeqCst);
        first
    }

    /// Wakes a spinning M if there is an idle P and nobody spins (Go's `wakep`).
    pub(crate) fn wakep(&'static self) {
        if self.idle.should_wake() {
            self.startm(None, true);
        }
    }

    /// Runs an M with P `p` (or an idle P), starting a thread if no M is idle (Go's `startm`).
    /// When `spinning`, the caller has already counted the M in `nmspinning`.
    fn startm(&'static self, p: Option<usize>, spinning: bool) {
        let mut st = self.lock();
        let p = match p.or_else(|| self.pidleget(&mut st)) {
            Some(p) => p,
            None => {
                drop(st);
                if spinning {
                    self.idle.end_spinning();
                }
                return;
            }
        };
        if let Some(m) = st.midle.pop() {
            IDLE_MS.fetch_sub(1, Ordering::SeqCst);
            drop(st);
            m.next_p.store(p, Ordering::Relaxed);
            m.next_spinning.store(spinning, Ordering::Relaxed);
            m.notewakeup();
            return;
        }
        if st.mcount >= self.config.max_threads {
            drop(st);
            // Go: "runtime: program exceeds 10000-thread limit", then exit 2.
            eprintln!(
                "runtime: program exceeds {}-thread limit\nfatal error: thread exhaustion",
                self.config.max_threads
            );
            super::g::exit_now(2);
        }
        st.mcount += 1;
        drop(st);
        let id = self.next_mid.fetch_add(1, Ordering::Relaxed);
        let m = Arc::new(M {
            id,
            sched: self,
            note: Note::new(),
            next_p: AtomicUsize::new(p),
            next_spinning: AtomicBool::new(spinning),
            p: Cell::new(NO_P),
            spinning: Cell::new(false),
            spinning_traced: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            curg: AtomicPtr::new(ptr::null_mut()),
            in_user: AtomicBool::new(false),
            after_switch: Cell::new(AfterSwitch::None),
            rng: Cell::new(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407),
            ),
            locked_g: Cell::new(ptr::null()),
        });
        self.counters
            .threads_started
            .fetch_add(1, Ordering::Relaxed);
        self.allm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(m.clone());
        let spawned = thread::Builder::new()
            .name(format!("goroutines-m{id}"))
            .spawn(move || mstart(m));
        if let Err(err) = spawned {
            fatal(&format!("cannot start a scheduler thread: {err}"));
        }
    }

    fn pidleget(&self, st: &mut SchedLocked) -> Option<usize> {
        let p = st.pidle.pop()?;
        self.idle.p_taken();
        if self.sysmon_waiting.load(Ordering::SeqCst)
            && self.sysmon_waiting.swap(false, Ordering::SeqCst)
        {
            self.sysmon_note.wakeup();
        }
        Some(p)
    }

    fn pidleput(&self, st: &mut SchedLocked, p: usize) {
        self.ps[p].owner.store(ptr::null_mut(), Ordering::Relaxed);
        self.ps[p].state.store(P_IDLE, Ordering::Release);
        st.pidle.push(p);
        self.idle.p_idled();
    }

    /// Tries to take a P for a thread that lost its own (used by the poller on wake-up).
    fn acquire_idle_p(&self) -> Option<usize> {
        let mut st = self.lock();
        self.pidleget(&mut st)
    }

    /// Whether any P has queued work or the global queue is non-empty. Fenced, so that it reads
    /// after the caller's own earlier stores (the spinning protocol's #StoreLoad).
    fn any_work(&self) -> bool {
        crate::loom::fence(Ordering::SeqCst);
        self.global_len.load(Ordering::SeqCst) > 0 || self.ps.iter().any(|p| !p.runq.is_empty())
    }
}

/// Makes `pid` the P of `m` (NO_P: none): the P's state word names `m` from now on.
fn take_p(m: &M, pid: usize) {
    m.in_user.store(false, Ordering::Relaxed);
    m.p.set(pid);
    if let Some(p) = m.p() {
        p.owner.store(m as *const M as *mut M, Ordering::Relaxed);
        p.state.store(p_state(m.id, P_RUNNING), Ordering::Release);
    }
}

/// Returns to the runtime from goroutine code (or from the switch back to the M): from here the M
/// may touch its P, if it still has it. Returns the P, or None when sysmon took it meanwhile (the
/// goroutine hogged it); then the M has no P any more.
pub(crate) fn enter_runtime(m: &M) -> Option<&'static P> {
    // Always leave user mode, P or not: an M that later takes a P must not look like it runs
    // user code while it schedules with it.
    m.in_user.store(false, Ordering::Relaxed);
    let p = m.p()?;
    super::sysmon::light_barrier();
    let mine = p_state(m.id, P_RUNNING);
    loop {
        let s = p.state.load(Ordering::Acquire);
        if s == mine {
            return Some(p);
        }
        if s & 0xff == P_RETAKING && s >> 8 == mine >> 8 {
            // sysmon is deciding; it takes a system call's time.
            std::hint::spin_loop();
            continue;
        }
        m.p.set(NO_P);
        return None;
    }
}

/// Forgets the M's P (it was taken by sysmon).
pub(crate) fn drop_p(m: &M) {
    m.p.set(NO_P);
}

/// Gives a P-less M an idle P, if there is one.
pub(crate) fn acquire_p_for(m: &M) -> bool {
    match m.sched.acquire_idle_p() {
        Some(pid) => {
            take_p(m, pid);
            true
        }
        None => false,
    }
}

/// Back to goroutine code: sysmon may take the P from now on.
pub(crate) fn exit_runtime(m: &M) {
    super::sysmon::light_barrier();
    m.in_user.store(true, Ordering::Relaxed);
}

fn current_m_arc(m: &M) -> Arc<M> {
    // SAFETY: every M is created in an Arc by `startm`, and its thread holds that Arc for as long as
    // it runs, so incrementing the count through the raw pointer is sound.
    unsafe {
        Arc::increment_strong_count(m as *const M);
        Arc::from_raw(m as *const M)
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
