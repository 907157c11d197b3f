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
//!   `wakep`, which starts a spinning M unless one already spins. A spinning M that stops spinning
//!   decrements `nmspinning`, then (SeqCst) re-checks every run queue before it parks.
//! - Spinning Ms are at most half of the busy Ps (`2*nmspinning < nprocs - npidle`).
//! - A new or woken G goes to `runnext` and inherits the time slice; other Ps steal `runnext` only
//!   on their last pass. `yield_now` puts the G at the tail of the local ring.
//!
//! Rejected designs, as proc.go's header lists: a centralised run queue (contention), handing a G
//! directly to an unparked thread (thrashes between threads), and waking a thread for every readied
//! G (a thread wake-up per channel operation).

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::thread;

use corosensei::CoroutineResult;

use super::g::{
    fatal, set_current_g, AfterSwitch, GRef, G, G_DEAD, G_IDLE, G_RUNNABLE, G_RUNNING, G_WAITING,
};
use super::idle::{Idle, Note};
use super::runq::RunQueue;
use super::stack::{self, StackCache, StackPool};
use super::netpoll::NetPoll;
use super::time::Timers;
use super::Config;
use crate::loom::{
    AtomicBool, AtomicI64, AtomicIsize, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Mutex,
    Ordering,
};

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

const P_IDLE: u8 = 0;
const P_RUNNING: u8 = 1;

/// A P: a run queue, timers, and caches; held by at most one M at a time.
pub(crate) struct P {
    pub(crate) id: usize,
    pub(crate) runq: RunQueue<G>,
    status: AtomicU8,
    /// Incremented on every schedule that does not inherit a time slice.
    pub(crate) schedtick: AtomicU32,
    /// Incremented on every schedule, `runnext` included: thieves read it to tell a P that is
    /// busy handing goroutines back and forth from one stuck in a long-running goroutine.
    switches: AtomicU32,
    pub(crate) timers: Timers,
    /// Owner only.
    stacks: UnsafeCell<StackCache>,
    /// Owner only: dead Gs for reuse.
    gfree: UnsafeCell<Vec<GRef>>,
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
    pub(crate) thread_parks: AtomicU64,
    pub(crate) threads_started: AtomicU64,
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

/// One runtime's scheduler state (Go's `sched` plus `allp`). Leaked: lives until the process exits,
/// since parked goroutines may be woken by threads that outlive the `Runtime` handle.
pub(crate) struct Sched {
    pub(crate) config: Config,
    pub(crate) ps: Box<[P]>,
    lock: Mutex<SchedLocked>,
    global_len: AtomicUsize,
    idle: Idle,
    pub(crate) next_goid: AtomicU64,
    /// Goroutines started by threads without a P (they exit on some P; see `gcount`).
    ngoroutines_no_p: AtomicI64,
    pub(crate) stacks: StackPool,
    /// The numbers in 1..=nprocs coprime with nprocs (Go's `randomOrder.coprimes`).
    steal_strides: Box<[usize]>,
    /// Every G ever allocated (Go's `allgs`), for the deadlock report.
    pub(crate) allgs: Mutex<Vec<GRef>>,
    pub(crate) netpoll: NetPoll,
    pub(crate) counters: Counters,
    pub(crate) shutdown: AtomicBool,
    next_mid: AtomicUsize,
}

// SAFETY: GRefs in the locked state are plain pointers to Sync Gs; all else is Sync.
unsafe impl Sync for Sched {}
// SAFETY: as above.
unsafe impl Send for Sched {}

/// An M: an OS thread running the scheduler loop.
pub(crate) struct M {
    pub(crate) sched: &'static Sched,
    note: Note,
    next_p: AtomicUsize,
    next_spinning: AtomicBool,
    // Own thread only:
    p: Cell<usize>,
    spinning: Cell<bool>,
    curg: Cell<*const G>,
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
        self.note.sleep();
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
        let nprocs = config.procs;
        let ps: Box<[P]> = (0..nprocs)
            .map(|id| P {
                id,
                runq: RunQueue::new(),
                status: AtomicU8::new(P_IDLE),
                schedtick: AtomicU32::new(0),
                switches: AtomicU32::new(0),
                timers: Timers::new(),
                stacks: UnsafeCell::new(StackCache::new()),
                gfree: UnsafeCell::new(Vec::new()),
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
            global_len: AtomicUsize::new(0),
            idle: Idle::new(nprocs),
            next_goid: AtomicU64::new(1),
            ngoroutines_no_p: AtomicI64::new(0),
            stacks,
            steal_strides: (1..=nprocs).filter(|&c| gcd(c, nprocs) == 1).collect(),
            allgs: Mutex::new(Vec::new()),
            netpoll,
            counters: Counters::default(),
            shutdown: AtomicBool::new(false),
            next_mid: AtomicUsize::new(0),
            config,
        }));
        RUNTIMES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sched);
        Ok(sched)
    }

    /// Makes the goroutines of a netpoll result runnable: returns the first for the caller to run
    /// when it holds a P, and puts the rest on the global queue (Go's `injectglist`), waking Ms
    /// for them.
    pub(crate) fn inject(&'static self, ready: Vec<GRef>) -> Option<GRef> {
        let mut ready = ready.into_iter();
        let first = ready.next()?;
        for g in ready {
            self.mark_runnable(g);
            self.globrunqput(g);
            self.wakep();
        }
        self.mark_runnable(first);
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

    /// Runs the deadlock check if every M of this runtime is idle (the caller holds the lock).
    fn checkdead_if_idle(&self, st: &SchedLocked) {
        if st.midle.len() as isize + st.nmidlelocked == st.mcount as isize && !self.any_work() {
            super::deadlock::checkdead(self);
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

    fn lock(&self) -> crate::loom::MutexGuard<'_, SchedLocked> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `m` is one of this runtime's Ms and holds a P.
    fn owned_p(&'static self, m: Option<&'static M>) -> Option<(&'static M, &'static P)> {
        let m = m?;
        if !ptr::eq(m.sched, self) {
            return None;
        }
        m.p().map(|p| (m, p))
    }

    /// Starts a goroutine (Go's `newproc`).
    pub(crate) fn newproc(&'static self, entry: Arc<dyn super::task::Runnable>) -> u64 {
        let owner = self.owned_p(current_m());
        let g = match owner {
            // SAFETY: the current M holds `p`.
            Some((_, p)) => unsafe { self.gfget(p) },
            None => self.lock().gfree.pop(),
        };
        let g = g.unwrap_or_else(|| self.malg());
        // SAFETY: a G taken from a free list or just allocated is held by nobody else.
        let gr = unsafe { g.as_ref() };
        let id = self.next_goid.fetch_add(1, Ordering::Relaxed);
        gr.id.store(id, Ordering::Relaxed);
        // SAFETY: as above: we are the only holder of this G.
        unsafe { *gr.entry.get() = Some(entry) };
        gr.status.store(G_IDLE, Ordering::Relaxed);
        match owner {
            Some((_, p)) => p.count_goroutine(1),
            None => {
                self.ngoroutines_no_p.fetch_add(1, Ordering::Relaxed);
            }
        }
        if probe::trace::enabled() {
            let parent = super::g::current_g().map(|c| {
                // SAFETY: the current goroutine is alive.
                unsafe { c.as_ref() }.id.load(Ordering::Relaxed)
            });
            probe::trace::record(probe::trace::EventKind::Spawn { task: id, parent });
        }
        match owner {
            // SAFETY: the current M holds `p`.
            Some((_, p)) => unsafe { self.runqput(p, g, true) },
            None => self.globrunqput(g),
        }
        self.wakep();
        id
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
        gfree.pop()
    }

    /// # Safety
    /// The caller's M holds `p`, and `g` is dead and held by nobody.
    unsafe fn gfput(&self, p: &P, g: GRef) {
        // SAFETY: the caller holds `p`.
        let gfree = unsafe { &mut *p.gfree.get() };
        gfree.push(g);
        if gfree.len() >= GFREE_MAX {
            let mut st = self.lock();
            st.gfree.extend(gfree.drain(GFREE_MAX / 2..));
        }
    }

    /// Puts a runnable G on this runtime: the current P's `runnext` when the caller holds one of
    /// this runtime's Ps, else the global queue. Then makes sure someone will run it.
    pub(crate) fn ready(&'static self, g: GRef) {
        match self.owned_p(current_m()) {
            // SAFETY: the current M holds `p`.
            Some((_, p)) => unsafe { self.runqput(p, g, true) },
            None => self.globrunqput(g),
        }
        self.wakep();
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
        st.mcount += 1;
        drop(st);
        let id = self.next_mid.fetch_add(1, Ordering::Relaxed);
        let m = Arc::new(M {
            sched: self,
            note: Note::new(),
            next_p: AtomicUsize::new(p),
            next_spinning: AtomicBool::new(spinning),
            p: Cell::new(NO_P),
            spinning: Cell::new(false),
            curg: Cell::new(ptr::null()),
            after_switch: Cell::new(AfterSwitch::None),
            rng: Cell::new(
                0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407),
            ),
            locked_g: Cell::new(ptr::null()),
        });
        self.counters
            .threads_started
            .fetch_add(1, Ordering::Relaxed);
        let spawned = thread::Builder::new()
            .name(format!("goroutines-m{id}"))
            .spawn(move || mstart(m));
        if let Err(err) = spawned {
            fatal(&format!("cannot start a scheduler thread: {err}"));
        }
    }

    fn pidleget(&self, st: &mut SchedLocked) -> Option<usize> {
        let p = st.pidle.pop()?;
        self.ps[p].status.store(P_RUNNING, Ordering::Relaxed);
        self.idle.p_taken();
        Some(p)
    }

    fn pidleput(&self, st: &mut SchedLocked, p: usize) {
        self.ps[p].status.store(P_IDLE, Ordering::Relaxed);
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

/// Busy-waits for about `ns` nanoseconds without touching shared memory.
fn spin_for(ns: u64) {
    let until = probe::clock::now_ns() + ns;
    while probe::clock::now_ns() < until {
        std::hint::spin_loop();
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The body of every scheduler thread (Go's `mstart` + `schedule` loop).
fn mstart(m: Arc<M>) {
    CURRENT_M.with(|c| c.set(Arc::as_ptr(&m)));
    stack::ensure_altstack();
    m.p.set(m.next_p.swap(NO_P, Ordering::Acquire));
    m.spinning.set(m.next_spinning.load(Ordering::Relaxed));
    loop {
        if let Some(g) = NonNull::new(m.locked_g.get().cast_mut()) {
            // Our goroutine is wired to this thread and has parked or yielded: give the P away
            // and wait until it is runnable again and handed back to us with a P.
            if !stoplockedm(&m) {
                break;
            }
            execute(&m, g, false);
            continue;
        }
        let Some((g, inherit)) = findrunnable(&m) else {
            break;
        };
        if m.spinning.get() {
            m.spinning.set(false);
            if m.sched.idle.end_spinning() {
                // The last spinner found work: make sure another takes over the search
                // (Go's `resetspinning`).
                m.sched.wakep();
            }
        }
        // SAFETY: `g` came off a run queue; Gs live as long as the runtime.
        let locked = unsafe { g.as_ref() }.locked_m.load(Ordering::Acquire);
        if !locked.is_null() && !ptr::eq(locked, Arc::as_ptr(&m)) {
            startlockedm(&m, g, locked);
            continue;
        }
        execute(&m, g, inherit);
    }
    CURRENT_M.with(|c| c.set(ptr::null()));
}

/// Hands this M's P to the M that `g` is locked to, and wakes it to run `g` (Go's
/// `startlockedm`). This M goes on without a P.
fn startlockedm(m: &M, g: GRef, locked: *const M) {
    let Some(p) = m.p() else {
        fatal("startlockedm without a P")
    };
    m.p.set(NO_P);
    // SAFETY: an M that a goroutine is locked to keeps running (waiting in `stoplockedm`) for
    // as long as the lock holds, and Ms are freed only when their thread exits.
    let lm = unsafe { &*locked };
    if !ptr::eq(lm.locked_g.get(), g.as_ptr()) {
        fatal("goroutine locked to a thread that does not know it");
    }
    {
        let mut st = m.sched.lock();
        st.nmidlelocked -= 1;
        IDLE_MS.fetch_sub(1, Ordering::SeqCst);
    }
    lm.next_p.store(p.id, Ordering::Release);
    lm.notewakeup();
}

/// Parks an M whose locked goroutine is not runnable, after handing its P to whoever can use it
/// (Go's `stoplockedm` + `handoffp`). Returns true once the goroutine is runnable and a P has been
/// handed back; false when the runtime shuts down.
fn stoplockedm(m: &M) -> bool {
    let sched = m.sched;
    if let Some(p) = m.p() {
        m.p.set(NO_P);
        handoffp(sched, p);
    }
    {
        let mut st = sched.lock();
        st.nmidlelocked += 1;
        IDLE_MS.fetch_add(1, Ordering::SeqCst);
        sched.checkdead_if_idle(&st);
    }
    m.notesleep();
    if sched.shutdown.load(Ordering::Relaxed) {
        return false;
    }
    m.p.set(m.next_p.swap(NO_P, Ordering::Acquire));
    m.p().is_some()
}

/// Gives away a P whose M will not run goroutines for a while (Go's `handoffp`): to a new M if
/// it has work or timers, else to the idle list.
fn handoffp(sched: &'static Sched, p: &P) {
    if !p.runq.is_empty()
        || sched.global_len.load(Ordering::SeqCst) > 0
        || p.timers.next_when() != u64::MAX
    {
        sched.startm(Some(p.id), false);
        return;
    }
    let mut st = sched.lock();
    sched.pidleput(&mut st, p.id);
    drop(st);
    // Someone may have published work before the P went idle.
    if sched.any_work() {
        sched.wakep();
    }
}

/// Runs `g` on `m` until it parks, yields or exits, then does what it asked (Go's `execute`,
/// `park_m`, `gosched_m`, `goexit0`).
fn execute(m: &M, mut g: GRef, inherit: bool) {
    let sched = m.sched;
    let p = m.p().unwrap_or_else(|| fatal("execute without a P"));
    // Owner-only counters: a load and a store, no read-modify-write.
    if !inherit {
        let t = p.schedtick.load(Ordering::Relaxed);
        p.schedtick.store(t.wrapping_add(1), Ordering::Relaxed);
    }
    let s = p.switches.load(Ordering::Relaxed);
    p.switches.store(s.wrapping_add(1), Ordering::Relaxed);
    loop {
        // SAFETY: we took `g` off a run queue; we are its only holder until it parks.
        let gr = unsafe { g.as_ref() };
        gr.status.store(G_RUNNING, Ordering::Relaxed);
        m.curg.set(gr);
        set_current_g(gr);
        // SAFETY: as above; the coroutine is touched only by its holder.
        let coro = unsafe { &mut *gr.coro.get() };
        if coro.is_none() {
            // First run: the goroutine gets its stack now.
            // SAFETY: the current M holds `p`.
            let stacks = unsafe { &mut *p.stacks.get() };
            let stack = match stacks.alloc(&sched.stacks) {
                Ok(s) => s,
                Err(e) => fatal(&format!("goroutine {}: {e}", gr.id.load(Ordering::Relaxed))),
            };
            // SAFETY: as above.
            let entry = unsafe { (*gr.entry.get()).take() };
            gr.guard.set(stack.guard_range());
            let gptr = g;
            *coro = Some(corosensei::Coroutine::with_stack(
                stack,
                move |yielder, ()| {
                    // SAFETY: this G runs this coroutine; nobody else touches `yielder`.
                    unsafe { gptr.as_ref() }.yielder.set(yielder as *const _);
                    if let Some(task) = entry {
                        task.run();
                    }
                    // Goroutine-local values are dropped here, on the goroutine, where their
                    // destructors may block like any goroutine code; a panic in one is caught like a
                    // goroutine's own (the default hook has printed it).
                    // SAFETY: the locals belong to this goroutine, which is running.
                    let locals = unsafe { (*gptr.as_ref().locals.get()).take() };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(locals)));
                },
            ));
        }
        let (lo, hi) = gr.guard.get();
        stack::set_running_guard(lo, hi, gr.id.load(Ordering::Relaxed));
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::RunBegin {
                task: gr.id.load(Ordering::Relaxed),
                proc_id: p.id as u32,
            });
        }
        let result = match coro.as_mut() {
            Some(c) => c.resume(()),
            None => fatal("goroutine without a coroutine"),
        };
        stack::clear_running_guard();
        set_current_g(ptr::null());
        m.curg.set(ptr::null());
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::RunEnd {
                task: gr.id.load(Ordering::Relaxed),
                proc_id: p.id as u32,
            });
        }
        // A P changes hands only in this loop, so `p` is still ours.
        match result {
            CoroutineResult::Return(()) => {
                let Some(c) = coro.take() else { return };
                let stack = c.into_stack();
                // SAFETY: the current M holds `p`.
                unsafe { (*p.stacks.get()).free(&sched.stacks, stack) };
                if ptr::eq(m.locked_g.get(), gr) {
                    // A goroutine that exits locked releases its thread (Go would end the thread).
                    m.locked_g.set(ptr::null());
                }
                gr.locked_m.store(ptr::null_mut(), Ordering::Relaxed);
                gr.lock_count.set(0);
                gr.status.store(G_DEAD, Ordering::Release);
                p.count_goroutine(-1);
                // SAFETY: the current M holds `p`; `g` is dead and held by nobody else.
                unsafe { sched.gfput(p, g) };
                return;
            }
            CoroutineResult::Yield(()) => match m.after_switch.replace(AfterSwitch::None) {
                AfterSwitch::Park { unlockf, data } => {
                    gr.status.store(G_WAITING, Ordering::Release);
                    if probe::trace::enabled() {
                        probe::trace::record(probe::trace::EventKind::Park {
                            task: gr.id.load(Ordering::Relaxed),
                            reason: gr.wait_reason().as_str(),
                        });
                    }
                    // SAFETY: `data` points into the parked goroutine's `gopark` frame, which
                    // stays put until it is resumed; `unlockf` is the trampoline made for it.
                    if unsafe { unlockf(data, g) } {
                        return;
                    }
                    // unlockf refused: run it again at once (Go's `park_m`).
                    if gr
                        .status
                        .compare_exchange(
                            G_WAITING,
                            G_RUNNABLE,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        )
                        .is_err()
                    {
                        fatal("parked goroutine changed state under unlockf");
                    }
                    g = NonNull::from(gr);
                }
                AfterSwitch::Yield => {
                    gr.status.store(G_RUNNABLE, Ordering::Relaxed);
                    if ptr::eq(m.locked_g.get(), gr) {
                        // Another M must pick it up and hand it back to us: use the global
                        // queue, since this M is about to give its P away.
                        sched.globrunqput(g);
                        sched.wakep();
                        return;
                    }
                    // SAFETY: the current M holds `p`.
                    unsafe { sched.runqput(p, g, false) };
                    return;
                }
                AfterSwitch::None => fatal("goroutine suspended without saying why"),
            },
        }
    }
}

/// Finds a goroutine to run, or parks the thread until there is one (Go's `findRunnable`).
/// Returns `(g, inherit_time)`, or None when the runtime shuts down.
fn findrunnable(m: &M) -> Option<(GRef, bool)> {
    let sched = m.sched;
    let mut spin_since: Option<u64> = None;
    'top: loop {
        if sched.shutdown.load(Ordering::Relaxed) {
            release_p(m);
            return None;
        }
        let Some(p) = m.p() else {
            // No P: wait for one to be handed over.
            stopm(m);
            continue;
        };
        if p.timers.next_when() != u64::MAX {
            p.timers.run_due(probe::clock::now_ns());
        }
        // SAFETY (all the `unsafe` calls on `p` below): this M holds `p`.
        if p.schedtick.load(Ordering::Relaxed) % GLOBAL_QUEUE_TICK == 0 {
            // SAFETY: see above.
            if let Some(g) = unsafe { sched.globrunqget(p, 1) } {
                return Some((g, false));
            }
        }
        // SAFETY: see above.
        if let Some(x) = unsafe { p.runq.pop() } {
            return Some(x);
        }
        // SAFETY: see above.
        if let Some(g) = unsafe { sched.globrunqget(p, 0) } {
            return Some((g, false));
        }
        // Poll the network without blocking, if some M polled before and nobody blocks in it
        // now (Go: "an optimization before we do stealing").
        if sched.netpoll.has_sockets() && sched.netpoll.lastpoll() != 0 {
            if let Some(g) = sched.inject(sched.netpoll.poll_now()) {
                return Some((g, false));
            }
        }
        if m.spinning.get() || sched.idle.may_spin(sched.ps.len()) {
            if !m.spinning.get() {
                m.spinning.set(true);
                sched.idle.begin_spinning();
            }
            if let Some(g) = steal_work(m, p) {
                return Some((g, false));
            }
            // Keep searching for a short while before giving up the P: while one M spins,
            // producers need not wake a thread (a futex wake costs the waker a microsecond or
            // more, more than a whole channel round trip).
            let now = probe::clock::now_ns();
            if now - *spin_since.get_or_insert(now) < SPIN_NS {
                // Back off between searches: every search reads the other Ps' queues, and a
                // spinner polling them back to back slows their owners down.
                spin_for(SPIN_BACKOFF_NS);
                continue 'top;
            }
        }
        // Nothing to do: give up the P, then look once more.
        {
            let mut st = sched.lock();
            if !st.global.is_empty() {
                drop(st);
                // SAFETY: see above.
                if let Some(g) = unsafe { sched.globrunqget(p, 0) } {
                    return Some((g, false));
                }
                continue 'top;
            }
            sched.pidleput(&mut st, p.id);
            m.p.set(NO_P);
        }
        if m.spinning.get() {
            m.spinning.set(false);
            sched.idle.end_spinning();
            // Re-check everything a submitter may have published while we were still counted
            // as spinning (the other half of `Idle::should_wake`).
            if sched.any_work() {
                if let Some(pid) = sched.acquire_idle_p() {
                    m.p.set(pid);
                    m.spinning.set(true);
                    sched.idle.begin_spinning();
                    continue 'top;
                }
            }
        }
        // About to go idle: give the memory of surplus free stacks back (Go's scavenger).
        if sched.stacks.has_surplus() {
            sched.stacks.scavenge();
        }
        // Block in the network poller until the earliest timer of any P, as the one M that does;
        // or park until handed a P.
        let poll_until = sched
            .ps
            .iter()
            .map(|p| p.timers.next_when())
            .min()
            .unwrap_or(u64::MAX);
        if poll_until != u64::MAX || sched.netpoll.has_sockets() {
            if let Some(ready) = sched.netpoll.block_until(poll_until) {
                if sched.shutdown.load(Ordering::Relaxed) {
                    return None;
                }
                match sched.acquire_idle_p() {
                    Some(pid) => {
                        m.p.set(pid);
                        if let Some(g) = sched.inject(ready) {
                            return Some((g, false));
                        }
                        // Timers may be due on any P: search them all, as a spinner does.
                        m.spinning.set(true);
                        sched.idle.begin_spinning();
                    }
                    None => {
                        // Every P is busy: leave the goroutines to them.
                        if let Some(g) = sched.inject(ready) {
                            sched.globrunqput(g);
                        }
                    }
                }
                continue 'top;
            }
        }
        stopm(m);
    }
}

fn release_p(m: &M) {
    if let Some(p) = m.p() {
        let mut st = m.sched.lock();
        m.sched.pidleput(&mut st, p.id);
        m.p.set(NO_P);
    }
}

/// Parks an M without a P until `startm` hands it one (Go's `stopm`).
fn stopm(m: &M) {
    let sched = m.sched;
    {
        let mut st = sched.lock();
        st.midle.push(current_m_arc(m));
        IDLE_MS.fetch_add(1, Ordering::SeqCst);
        sched.checkdead_if_idle(&st);
    }
    m.notesleep();
    m.p.set(m.next_p.swap(NO_P, Ordering::Acquire));
    m.spinning.set(m.next_spinning.load(Ordering::Relaxed));
}

fn current_m_arc(m: &M) -> Arc<M> {
    // SAFETY: every M is created in an Arc by `startm`, and its thread holds that Arc for as long as
    // it runs, so incrementing the count through the raw pointer is sound.
    unsafe {
        Arc::increment_strong_count(m as *const M);
        Arc::from_raw(m as *const M)
    }
}

/// Steals from other Ps (Go's `stealWork`): four passes in random order; the last one also runs
/// their due timers and may take their `runnext`.
fn steal_work(m: &M, p: &P) -> Option<GRef> {
    let sched = m.sched;
    let n = sched.ps.len();
    if n == 1 {
        return None;
    }
    for pass in 0..STEAL_TRIES {
        let last = pass == STEAL_TRIES - 1;
        // Go's `stealOrder`: a random start and a random stride coprime with the number of Ps
        // visit every P once, in an order that differs from thief to thief.
        let start = m.fastrand() as usize % n;
        let stride = sched.steal_strides[m.fastrand() as usize % sched.steal_strides.len()];
        for k in 0..n {
            let victim = &sched.ps[(start + k * stride) % n];
            if victim.id == p.id {
                continue;
            }
            if last
                && victim.timers.next_when() != u64::MAX
                && victim.timers.run_due(probe::clock::now_ns()) > 0
            {
                // Readied Gs went to our runnext.
                // SAFETY: this M holds `p`.
                if let Some((g, _)) = unsafe { p.runq.pop() } {
                    return Some(g);
                }
            }
            if victim.status.load(Ordering::Relaxed) == P_IDLE {
                continue;
            }
            let mut take_runnext = last;
            if last && victim.runq.len() == 1 && victim.runq.has_runnext() {
                // Go sleeps 3us here: the victim is likely about to run its runnext itself.
                // Unlike Go, leave `runnext` alone if the victim switched goroutines meanwhile:
                // it is not stuck, it is handing goroutines back and forth (a channel ping-pong),
                // and taking one would only split the pair across threads.
                let before = victim.switches.load(Ordering::Relaxed);
                spin_for(3_000);
                take_runnext = victim.switches.load(Ordering::Relaxed) == before;
            }
            // SAFETY: this M holds `p`, whose queue is the destination.
            if let Some(g) = unsafe { victim.runq.steal_into(&p.runq, take_runnext) } {
                sched.counters.steals.fetch_add(1, Ordering::Relaxed);
                if probe::trace::enabled() {
                    probe::trace::record(probe::trace::EventKind::Steal {
                        from: victim.id as u32,
                        to: p.id as u32,
                        count: p.runq.len() as u32 + 1,
                    });
                }
                return Some(g);
            }
        }
    }
    None
}

/// A plain thread is about to block in a goroutine primitive: if that leaves some runtime with
/// nothing running, that runtime's last M found no deadlock only because this thread still ran;
/// check again (Go never needs this: it has no foreign threads).
pub(crate) fn checkdead_all() {
    let runtimes: Vec<&'static Sched> = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for sched in runtimes {
        if sched.config.deadlock_detection && !sched.shutdown.load(Ordering::Relaxed) {
            let st = sched.lock();
            sched.checkdead_if_idle(&st);
        }
    }
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
}
