//! Ms wired to one goroutine by `lock_os_thread` (Go's `startlockedm`, `stoplockedm`).

use super::p::releasep;
use super::*;

/// Hands this M's P to the M that `g` is locked to, and wakes it to run `g` (Go's
/// `startlockedm`). This M goes on without a P. The P travels released (`releasep`): in the
/// state word it is no M's until the locked M takes it.
pub(super) fn startlockedm(m: &M, g: GRef, locked: *const M) {
    let Some(p) = releasep(m) else {
        fatal("startlockedm without a P")
    };
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
pub(super) fn stoplockedm(m: &M) -> bool {
    let sched = m.sched;
    if let Some(p) = releasep(m) {
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
    take_p(m, m.next_p.swap(NO_P, Ordering::Acquire));
    m.p().is_some()
}
