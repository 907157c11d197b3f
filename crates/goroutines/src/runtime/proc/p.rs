//! The P: the right to run goroutines, with its run queue, timers and caches (Go's `p`), and the
//! rules for touching it: `take_p` (Go's `acquirep`), `enter_runtime` and `exit_runtime`.
//!
//! Invariants:
//! - A P's state word names its M (`p_state`), so no transition can be mistaken for another M's:
//!
//! ```text
//!   IDLE --take_p--> RUNNING(m) --blocking()--> SYSCALL(m) --exitsyscall CAS--> RUNNING(m)
//!                      |   ^                        |
//!                      |   +-- sysmon: m in runtime |  sysmon CAS (work waits, or 10 ms)
//!                      v   |                        v
//!                   RETAKING(m) --m in user code--> IDLE --handoffp--> RUNNING(m') / idle list
//!
//!   m hands its P to m' (startlockedm, stoplockedm):
//!   RUNNING(m) --releasep--> IDLE, no owner --take_p by m'--> RUNNING(m')
//! ```
//!
//! - A P that one M hands to another goes through IDLE with no owner (`releasep`, as Go's does),
//!   never straight from RUNNING(m) to RUNNING(m'): until m' takes it, sysmon would judge it by m.
//!   Thieves still steal from it (`steal_work`), as Go's steal from any P not on the idle list.
//! - sysmon ends a decision with a CAS from RETAKING(m), so a P that changed hands meanwhile keeps
//!   its new state.
//! - An M touches its P only between `enter_runtime` and `exit_runtime`, which check the state
//!   word (see `sysmon.rs` for the handshake); an M that finds its P taken goes on without one and
//!   its goroutine ends up on the global queue.
//! - The owner-only fields (`stacks`, `gfree`, `overflow`) are touched only by the M holding the
//!   P; the counters it alone writes are a load and a store, never a read-modify-write.

use super::*;

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
    pub(super) stacks: UnsafeCell<StackCache>,
    /// Owner only: dead Gs for reuse.
    pub(super) gfree: UnsafeCell<Vec<GRef>>,
    /// The length of `gfree`, for the scheduler trace (Go's `gFree.size`, which `schedtrace`
    /// reads racily). Written only by the owner, one relaxed store per change of `gfree`.
    pub(crate) gfreecnt: AtomicU32,
    /// Owner only: scratch for `runqputslow`.
    pub(super) overflow: UnsafeCell<Vec<GRef>>,
    /// Goroutines started on this P minus those that exited on it. Written only by the owner
    /// (a load and a store, no read-modify-write: a shared counter bouncing between cores cost
    /// more than the rest of a spawn), read by anyone.
    pub(super) ngoroutines: AtomicI64,
}

impl P {
    pub(super) fn count_goroutine(&self, delta: i64) {
        let n = self.ngoroutines.load(Ordering::Relaxed);
        self.ngoroutines.store(n + delta, Ordering::Relaxed);
    }
}

// SAFETY: the UnsafeCell fields are touched only by the M holding the P (acquired under
// `sched.lock` or handed over with release/acquire); the rest is atomics or internally locked.
unsafe impl Sync for P {}

impl Sched {
    /// Runs `f` with the caller's P, if the caller runs on one of this runtime's Ms and still
    /// holds its P; returns None otherwise. Called from goroutine code, it enters the runtime
    /// around `f` (sysmon may have taken the P from a goroutine that hogged it).
    pub(crate) fn with_own_p<R>(&'static self, f: impl FnOnce(&'static P) -> R) -> Option<R> {
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
}

/// Makes `pid` the P of `m` (NO_P: none): the P's state word names `m` from now on.
pub(super) fn take_p(m: &M, pid: usize) {
    m.in_user.store(false, Ordering::Relaxed);
    m.p.set(pid);
    if let Some(p) = m.p() {
        p.owner.store(m as *const M as *mut M, Ordering::Relaxed);
        p.state.store(p_state(m.id, P_RUNNING), Ordering::Release);
    }
}

/// Gives up the M's P so that it can be handed to another M (Go's `releasep`): returns it in state
/// IDLE with no owner, or None when the M holds no P. If sysmon is deciding whether to take the P
/// (RETAKING(m)), this waits, as `enter_runtime` does: the M is in the runtime, so sysmon gives
/// the P back.
///
/// Handed over in state RUNNING(m), a P was lost (the lock_os_thread test hung with every
/// goroutine runnable but the locked one, asleep, its timer on a P named for its parked thread):
/// the new M was slow to start under load, so sysmon saw no schedule on the P for 12 ms, moved it
/// to RETAKING(m), found m in the runtime and stored RUNNING(m) back over the new M's
/// RUNNING(m'), and m' lost the P, with its queue and timers, at its next runtime entry. Had m
/// meanwhile been running a goroutine on another P, sysmon would have taken the P a second time.
pub(super) fn releasep(m: &M) -> Option<&'static P> {
    let p = m.p()?;
    let mine = p_state(m.id, P_RUNNING);
    let retaking = p_state(m.id, P_RETAKING);
    loop {
        match p
            .state
            .compare_exchange(mine, P_IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => break,
            Err(s) if s == retaking => std::hint::spin_loop(),
            Err(_) => fatal("releasep: the P is not this thread's"),
        }
    }
    p.owner.store(ptr::null_mut(), Ordering::Release);
    m.p.set(NO_P);
    Some(p)
}

/// Returns to the runtime from goroutine code (or from the switch back to the M): from here the M
/// may touch its P, if it still has it. Returns the P, or None when sysmon took it meanwhile (the
/// goroutine hogged it); then the M has no P any more.
pub(crate) fn enter_runtime(m: &M) -> Option<&'static P> {
    // Always leave user mode, P or not: an M that later takes a P must not look like it runs
    // user code while it schedules with it.
    m.in_user.store(false, Ordering::Relaxed);
    let p = m.p()?;
    crate::runtime::sysmon::light_barrier();
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
    crate::runtime::sysmon::light_barrier();
    m.in_user.store(true, Ordering::Relaxed);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::sysmon;

    /// How long sysmon has seen no schedule on any P: past its grace for a hog (12 ms).
    const QUIET_NS: u64 = 50_000_000;

    fn runtime() -> crate::Runtime {
        // SAFETY: the tests hold no thread-locals or std guards across blocking calls.
        unsafe { crate::Builder::new().procs(2).build() }.expect("a runtime")
    }

    /// An M with no thread: the test moves its P by hand. The runtime starts no thread either,
    /// and its sysmon sleeps throughout, since every P stays on the idle list.
    fn threadless_m(sched: &'static Sched, id: usize) -> &'static M {
        Box::leak(Box::new(M::new(id, sched, NO_P, false)))
    }

    /// Work waiting on the global queue, so that sysmon judges a P that does not schedule.
    fn queue_work(sched: &'static Sched) {
        let g: &'static G = Box::leak(Box::new(G::new(sched)));
        sched.globrunqput(NonNull::from(g));
    }

    #[test]
    fn a_p_handed_to_a_locked_thread_is_nobodys_until_that_thread_takes_it() {
        let rt = runtime();
        let sched = rt.sched();
        let (finder, locked) = (threadless_m(sched, 100), threadless_m(sched, 101));
        let g: &'static G = Box::leak(Box::new(G::new(sched)));
        locked.locked_g.set(g);
        g.locked_m
            .store(ptr::from_ref(locked).cast_mut(), Ordering::Relaxed);
        // The locked thread waits in `stoplockedm`, counted as stoplockedm counts it.
        sched.lock().nmidlelocked += 1;
        IDLE_MS.fetch_add(1, Ordering::SeqCst);
        take_p(finder, 1);
        queue_work(sched);
        startlockedm(finder, NonNull::from(g), locked);
        // The finder has gone on to run a goroutine on another P; the locked thread is not up
        // yet, and the P has not scheduled for a while.
        finder.in_user.store(true, Ordering::Relaxed);
        assert!(
            !sysmon::retake_after_quiet(sched, QUIET_NS),
            "sysmon took the P on its way to the locked thread"
        );
        take_p(locked, locked.next_p.swap(NO_P, Ordering::Acquire));
        assert_eq!(
            sched.ps[1].state.load(Ordering::Acquire),
            p_state(locked.id, P_RUNNING)
        );
    }

    #[test]
    fn a_p_on_its_way_to_another_thread_can_be_stolen_from() {
        let rt = runtime();
        let sched = rt.sched();
        let (giver, thief) = (threadless_m(sched, 100), threadless_m(sched, 101));
        take_p(giver, 1);
        for _ in 0..2 {
            let g: &'static G = Box::leak(Box::new(G::new(sched)));
            // SAFETY: the giver holds P 1.
            unsafe { sched.runqput(&sched.ps[1], NonNull::from(g), false) };
        }
        // The P is on its way to a thread that has not taken it yet.
        assert!(releasep(giver).is_some());
        take_p(thief, 0);
        assert!(
            super::super::schedule::steal_work(thief, &sched.ps[0]).is_some(),
            "the goroutines of a P in transit could not be stolen"
        );
    }

    #[test]
    fn a_p_that_changes_hands_while_sysmon_decides_stays_with_its_new_thread() {
        let rt = runtime();
        let sched = rt.sched();
        let (old, new) = (threadless_m(sched, 100), threadless_m(sched, 101));
        take_p(old, 1);
        queue_work(sched);
        // While sysmon decides, the old M, in the runtime, gives the P up as `pidleput` does
        // (the idle list aside) and another M takes it.
        sysmon::tests::WHILE_DECIDING.with(|hook| {
            hook.set(Some(Box::new(move || {
                let p = &sched.ps[1];
                p.owner.store(ptr::null_mut(), Ordering::Relaxed);
                p.state.store(P_IDLE, Ordering::Release);
                take_p(new, 1);
            })))
        });
        assert!(!sysmon::retake_after_quiet(sched, QUIET_NS));
        assert_eq!(
            sched.ps[1].state.load(Ordering::Acquire),
            p_state(new.id, P_RUNNING),
            "sysmon gave the P back to the thread that had let it go"
        );
    }
}
