//! Making goroutines runnable and the queues they wait in (Go's `ready`, `injectglist`,
//! `runqput`, `globrunqput`, `globrunqget`).
//!
//! Invariants:
//! - `ready` puts a G in the caller's own P's `runnext` when the caller holds one of this
//!   runtime's Ps, else on the global queue; then someone is woken to run it (`wakep`), except
//!   for the deferred wake-up its doc comment describes.
//! - `global_len` mirrors the global queue's length, stored (SeqCst) under `sched.lock` after
//!   every change, so that spinning Ms can read it without the lock.

use super::*;

impl Sched {
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
        gr.set_wait_reason(crate::runtime::g::WaitReason::None);
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
    pub(super) unsafe fn runqput(&self, p: &P, g: GRef, next: bool) {
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
    pub(super) unsafe fn globrunqget(&self, p: &P, max: usize) -> Option<GRef> {
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
        n = n.min(crate::runtime::runq::CAPACITY / 2);
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
}
