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
    /// How often this M's timed spins found work lately, in 1/1024ths, and a count of its
    /// searches (see `spin_long`).
    pub(super) spin_success: Cell<u32>,
    pub(super) searches: Cell<u32>,
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

/// An M spins for up to `SPIN_NS` only while its spins find work at least this often (in
/// 1/1024ths, an average over its last 16 spins or so, recent ones weighing most)...
const SPIN_SUCCESS_MIN: u32 = 64;
/// ...and, when they do not, still in one search of this many, to notice when they would again.
const SPIN_PROBE_EVERY: u32 = 16;

/// The running average of spins that found work, in 1/1024ths, after one more spin: each spin
/// weighs 1/16, the older ones fade by 15/16.
fn spin_average(average: u32, found: bool) -> u32 {
    average - average / 16 + if found { 1024 / 16 } else { 0 }
}

impl M {
    /// An M with id `id` of `sched`, to start with P `next_p` (`NO_P`: none), spinning or not;
    /// `mstart` on its thread takes them.
    pub(super) fn new(id: usize, sched: &'static Sched, next_p: usize, next_spinning: bool) -> M {
        M {
            id,
            sched,
            note: Note::new(),
            next_p: AtomicUsize::new(next_p),
            next_spinning: AtomicBool::new(next_spinning),
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
            spin_success: Cell::new(1024),
            searches: Cell::new(0),
        }
    }

    /// Whether this M's search, having found nothing on its first pass, keeps searching for up to
    /// `SPIN_NS` before it gives up its P. A timed spin pays where work comes soon (a goroutine
    /// readied on another P, or network events that arrive while the M polls; at 100 echo
    /// connections 79 % of the spins found work, most within 10 µs), and costs a core where it
    /// does not: serving one echo connection, whose next request comes after the client's turn,
    /// 22,267 spins of 22,410 in 3 s ran out their 50 µs, and a spinner that cannot poll (another
    /// M blocks in the poller, and takes the events itself) can only wait. Below one spin in 16
    /// finding work (`SPIN_SUCCESS_MIN`), an M searches once, as Go's `findRunnable` does, and
    /// gives up its P to block in the poller or park; every `SPIN_PROBE_EVERY`th search still
    /// spins, to learn when spinning pays again.
    pub(super) fn spin_long(&self) -> bool {
        let n = self.searches.get().wrapping_add(1);
        self.searches.set(n);
        let long = self.spin_success.get() >= SPIN_SUCCESS_MIN || n % SPIN_PROBE_EVERY == 0;
        if long {
            self.sched
                .counters
                .timed_spins
                .fetch_add(1, Ordering::Relaxed);
        }
        long
    }

    /// Counts how a timed spin ended in the running average `spin_long` reads.
    pub(super) fn spin_ended(&self, found: bool) {
        self.spin_success
            .set(spin_average(self.spin_success.get(), found));
    }

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

#[cfg(test)]
mod tests {
    use super::{spin_average, SPIN_SUCCESS_MIN};

    #[test]
    fn the_spin_average_stays_in_range_and_follows_the_spins() {
        // Always finding work holds it at the top; never finding any takes it to the bottom.
        assert_eq!(spin_average(1024, true), 1024);
        assert_eq!((0..300).fold(1024, |a, _| spin_average(a, false)), 15);
        assert_eq!(spin_average(0, false), 0);
        // From the top, 45 spins in a row that find nothing stop the spinning (a new M starts
        // at the top)...
        let misses = (1..)
            .scan(1024, |a, n| {
                *a = spin_average(*a, false);
                Some((n, *a))
            })
            .find(|&(_, a)| a < SPIN_SUCCESS_MIN)
            .map(|(n, _)| n);
        assert_eq!(misses, Some(45));
        // ...and one probing spin that finds work starts it again, from any level.
        for a in 0..SPIN_SUCCESS_MIN {
            assert!(spin_average(a, true) >= SPIN_SUCCESS_MIN);
        }
    }

    #[test]
    fn finding_work_once_in_twelve_spins_keeps_spinning() {
        // Echo at 100 connections: 79 % of the spins found work. Finding work once in every 12
        // spins, or more often, keeps the average above the bar; once in 13 does not.
        for run in 1..=12 {
            let mut a = 1024;
            for _ in 0..100 {
                a = spin_average(a, true);
                for _ in 0..run {
                    a = spin_average(a, false);
                    if a < SPIN_SUCCESS_MIN {
                        assert_eq!(run, 12, "spinning stopped at runs of {run} misses");
                        return;
                    }
                }
            }
            assert!(run < 12, "spinning went on at runs of {run} misses");
        }
        unreachable!();
    }

    #[test]
    fn the_spin_average_follows_the_rate() {
        // Finding work every other spin settles the average near one half.
        let mut a = 1024;
        for i in 0..10_000 {
            a = spin_average(a, i % 2 == 0);
        }
        assert!((480..=544).contains(&a), "{a}");
    }
}
