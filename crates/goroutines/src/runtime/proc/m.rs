//! The M: an OS thread running the scheduler loop (Go's `m`), the thread-local that finds it
//! (`current_m`), and its note, on which it sleeps while it has nothing to run.
//!
//! Invariants:
//! - The `Cell` fields are touched only by the M's own thread; other threads use the atomics.
//! - Every M lives in an `Arc` made by `startm` and held by its own thread until it exits, so
//!   `current_m` and `current_m_arc` may hand out references to it from that thread.

use super::*;

/// An M: an OS thread running the scheduler loop.
pub(crate) struct M {
    pub(crate) id: usize,
    pub(crate) sched: &'static Sched,
    pub(super) note: Note,
    pub(super) next_p: AtomicUsize,
    pub(super) next_spinning: AtomicBool,
    /// A copy of `spinning` for the scheduler trace, which runs on another thread: stored where
    /// `spinning` changes, which happens beside an update of `nmspinning`; never read by the
    /// scheduler.
    pub(crate) spinning_traced: AtomicBool,
    /// True while the M sleeps on its note (Go's `m.blocked`), for the scheduler trace.
    pub(crate) blocked: AtomicBool,
    // Own thread only:
    pub(super) p: Cell<usize>,
    /// Whether the M looks for work (counted in `nmspinning`); changed through `set_spinning`.
    pub(super) spinning: Cell<bool>,
    /// The goroutine running on this M (read by sysmon to mark it for preemption).
    pub(crate) curg: AtomicPtr<G>,
    /// True while a goroutine runs user code on this M: the M will not touch its P until it
    /// enters the runtime (`enter_runtime`), so sysmon may take the P (see `sysmon.rs`).
    pub(crate) in_user: AtomicBool,
    pub(super) after_switch: Cell<AfterSwitch>,
    pub(super) rng: Cell<u64>,
    /// The goroutine wired to this thread by `lock_os_thread`, if any (Go's `m.lockedg`).
    pub(crate) locked_g: Cell<*const G>,
}

// SAFETY: the Cell fields are touched only by the M's own thread (its scheduler loop, or a
// goroutine running on it); other threads use only the atomics and `thread`.
unsafe impl Sync for M {}
// SAFETY: as above.
unsafe impl Send for M {}

thread_local! {
    pub(super) static CURRENT_M: Cell<*const M> = const { Cell::new(ptr::null()) };
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
    pub(super) fn set_spinning(&self, on: bool) {
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

    pub(super) fn fastrand(&self) -> u32 {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    pub(super) fn notewakeup(&self) {
        self.note.wakeup();
    }

    pub(super) fn notesleep(&self) {
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

pub(super) fn current_m_arc(m: &M) -> Arc<M> {
    // SAFETY: every M is created in an Arc by `startm`, and its thread holds that Arc for as long as
    // it runs, so incrementing the count through the raw pointer is sound.
    unsafe {
        Arc::increment_strong_count(m as *const M);
        Arc::from_raw(m as *const M)
    }
}
