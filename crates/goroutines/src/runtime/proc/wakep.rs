//! Waking and starting Ms, and the list of idle Ps (Go's `wakep`, `startm`, `handoffp`,
//! `pidleget`, `pidleput`).
//!
//! Invariants:
//! - `wakep` starts an M only when `idle.should_wake` counted it as spinning; `startm` undoes that
//!   count when no P is left for it.
//! - An M popped off the idle list is no longer counted in `IDLE_MS` before it is woken.
//! - A P joins the idle list (`pidleput`, under `sched.lock`) in state `P_IDLE` with no owner;
//!   `handoffp` re-checks for work after it (`any_work`, fenced), since a submitter may have
//!   published work before the P was counted idle.

use super::*;

impl Sched {
    /// Wakes a spinning M if there is an idle P and nobody spins (Go's `wakep`).
    pub(crate) fn wakep(&'static self) {
        if self.idle.should_wake() {
            self.startm(None, true);
        }
    }

    /// Runs an M with P `p` (or an idle P), starting a thread if no M is idle (Go's `startm`).
    /// When `spinning`, the caller has already counted the M in `nmspinning`.
    pub(super) fn startm(&'static self, p: Option<usize>, spinning: bool) {
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
            crate::runtime::g::exit_now(2);
        }
        st.mcount += 1;
        drop(st);
        let id = self.next_mid.fetch_add(1, Ordering::Relaxed);
        let m = Arc::new(M::new(id, self, p, spinning));
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

    pub(super) fn pidleput(&self, st: &mut SchedLocked, p: usize) {
        self.ps[p].owner.store(ptr::null_mut(), Ordering::Relaxed);
        self.ps[p].state.store(P_IDLE, Ordering::Release);
        st.pidle.push(p);
        self.idle.p_idled();
    }

    /// Tries to take a P for a thread that lost its own (used by the poller on wake-up).
    pub(super) fn acquire_idle_p(&self) -> Option<usize> {
        let mut st = self.lock();
        self.pidleget(&mut st)
    }

    /// Whether any P has queued work or the global queue is non-empty. Fenced, so that it reads
    /// after the caller's own earlier stores (the spinning protocol's #StoreLoad).
    pub(super) fn any_work(&self) -> bool {
        crate::loom::fence(Ordering::SeqCst);
        self.global_len.load(Ordering::SeqCst) > 0 || self.ps.iter().any(|p| !p.runq.is_empty())
    }
}

/// Gives away a P whose M will not run goroutines for a while (Go's `handoffp`): to a new M if
/// it has work or timers, else to the idle list.
pub(crate) fn handoffp(sched: &'static Sched, p: &P) {
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
