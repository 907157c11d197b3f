//! The scheduling loop of an M: find a goroutine, run it, do what it asked on the way out (Go's
//! `schedule`, `findRunnable`, `execute`, `stealWork`, `stopm`). The invariants it keeps are in
//! the essay of `proc/mod.rs`.

use super::*;

/// Go checks the global queue once every 61 scheduler ticks so a busy local queue cannot starve it.
const GLOBAL_QUEUE_TICK: u32 = 61;
/// Passes over all Ps in `steal_work` (Go's `stealTries`).
const STEAL_TRIES: usize = 4;
/// How long a spinning M keeps looking for work before it gives up its P.
const SPIN_NS: u64 = 50_000;
/// How long a spinning M pauses between two searches.
const SPIN_BACKOFF_NS: u64 = 500;
/// While an M spins, its polls of the network back off: the first search of a `findrunnable`
/// polls (as Go's does, once, "before we do stealing"), and the first pass of the spin; from
/// then on the gap between polls doubles from this...
const SPIN_POLL_GAP_MIN_NS: u64 = 2_000;
/// ...to this. Go has no spinning loop, so it polls once per search; polling on every pass of
/// ours made a spinner issue an `epoll_wait` every 2-3 µs (12 per round trip of a lone echo
/// connection, 0.9 per round trip at 100 connections, against Tokio's 0.1), each a system call
/// that mostly found nothing. With the back-off a spinner polls about five times in its
/// `SPIN_NS`; an event that arrives meanwhile waits at most one gap (and none once the M has
/// given up its P and blocks in the poller).
const SPIN_POLL_GAP_MAX_NS: u64 = 16_000;

/// How many goroutines must wait in a P's queue before `execute` prefetches the stack of the next
/// (see there).
const PREFETCH_MIN_QUEUE: u32 = 4;

/// Busy-waits for about `ns` nanoseconds without touching shared memory.
pub(super) fn spin_for(ns: u64) {
    let until = probe::clock::now_ns() + ns;
    while probe::clock::now_ns() < until {
        std::hint::spin_loop();
    }
}

pub(super) fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The body of every scheduler thread (Go's `mstart` + `schedule` loop).
pub(super) fn mstart(m: Arc<M>) {
    CURRENT_M.with(|c| c.set(Arc::as_ptr(&m)));
    stack::ensure_altstack();
    take_p(&m, m.next_p.swap(NO_P, Ordering::Acquire));
    m.set_spinning(m.next_spinning.load(Ordering::Relaxed));
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
            m.set_spinning(false);
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

/// Runs `g` on `m` until it parks, yields or exits, then does what it asked (Go's `execute`,
/// `park_m`, `gosched_m`, `goexit0`).
pub(super) fn execute(m: &M, mut g: GRef, inherit: bool) {
    let sched = m.sched;
    let p = m.p().unwrap_or_else(|| fatal("execute without a P"));
    sched.take_deferred_wake(p);
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
        m.curg.store(g.as_ptr(), Ordering::Relaxed);
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
        if gr.preempt.load(Ordering::Relaxed) {
            crate::runtime::sysmon::clear_preempt(gr);
        }
        exit_runtime(m);
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::RunBegin {
                task: gr.id.load(Ordering::Relaxed),
                proc_id: p.id as u32,
            });
        }
        // Pull the top of the next goroutine's stack into the cache while this one runs, so that
        // its resume does not wait on memory: serving 1,000 echo connections, the first
        // instructions after a switch into a goroutine took 5 % of the server's samples, stalled
        // on its stack's lines (see `g::prefetch_stack`). Only behind a queue of some length:
        // with fewer goroutines taking turns their stacks stay in the cache, and the prefetch
        // would cost a switch 10 % more instructions for nothing (`bench goroutines yield-1p`).
        // SAFETY: the current M holds `p`.
        if let Some(next) = unsafe { p.runq.peek(PREFETCH_MIN_QUEUE) } {
            prefetch_stack(next);
        }
        let result = match coro.as_mut() {
            Some(c) => c.resume(()),
            None => fatal("goroutine without a coroutine"),
        };
        set_current_g(ptr::null());
        m.curg.store(ptr::null_mut(), Ordering::Relaxed);
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::RunEnd {
                task: gr.id.load(Ordering::Relaxed),
                proc_id: p.id as u32,
            });
        }
        // Back in the runtime. The P is still ours unless sysmon took it while the goroutine
        // ran user code without a runtime call (a hog): then this M goes on without a P, and the
        // goroutine goes where a P-less M puts things, the global queue.
        let own = enter_runtime(m);
        match result {
            CoroutineResult::Return(()) => {
                let Some(c) = coro.take() else { return };
                let stack = c.into_stack();
                if ptr::eq(m.locked_g.get(), gr) {
                    // A goroutine that exits locked releases its thread (Go would end the thread).
                    m.locked_g.set(ptr::null());
                }
                gr.locked_m.store(ptr::null_mut(), Ordering::Relaxed);
                gr.lock_count.set(0);
                gr.stack_hint.store(0, Ordering::Relaxed);
                if gr.preempt.load(Ordering::Relaxed) {
                    crate::runtime::sysmon::clear_preempt(gr);
                }
                sched.park_traces.forget(gr.id.load(Ordering::Relaxed));
                gr.status.store(G_DEAD, Ordering::Release);
                match own {
                    Some(p) => {
                        // SAFETY: this M holds `p`; `g` is dead and held by nobody else.
                        unsafe {
                            (*p.stacks.get()).free(&sched.stacks, stack);
                            sched.gfput(p, g);
                        }
                        p.count_goroutine(-1);
                    }
                    None => {
                        sched.stacks.free(stack);
                        sched.lock().gfree.push(g);
                        sched.ngoroutines_no_p.fetch_sub(1, Ordering::Relaxed);
                    }
                }
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
                    // unlockf refused: run it again at once (Go's `park_m`), if we still can.
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
                    if own.is_none() {
                        sched.globrunqput(g);
                        sched.wakep();
                        return;
                    }
                    g = NonNull::from(gr);
                }
                AfterSwitch::Yield => {
                    gr.status.store(G_RUNNABLE, Ordering::Relaxed);
                    match own {
                        // SAFETY: this M holds `p`.
                        Some(p) if !ptr::eq(m.locked_g.get(), gr) => unsafe {
                            sched.runqput(p, g, false)
                        },
                        // A locked goroutine must be handed back by another M, and a P-less M
                        // keeps nothing: the global queue.
                        _ => {
                            sched.globrunqput(g);
                            sched.wakep();
                        }
                    }
                    return;
                }
                AfterSwitch::Preempt | AfterSwitch::ExitSyscall => {
                    // Preempted goroutines go to the global queue (Go's `gopreempt_m`), and so
                    // does one that left a blocking call and found no P (Go's `exitsyscall0`).
                    gr.status.store(G_RUNNABLE, Ordering::Relaxed);
                    sched.globrunqput(g);
                    sched.wakep();
                    return;
                }
                AfterSwitch::None => fatal("goroutine suspended without saying why"),
            },
        }
    }
}

/// Finds a goroutine to run, or parks the thread until there is one (Go's `findRunnable`).
/// Returns `(g, inherit_time)`, or None when the runtime shuts down.
pub(super) fn findrunnable(m: &M) -> Option<(GRef, bool)> {
    let sched = m.sched;
    let mut spin_since: Option<u64> = None;
    // Returns what the search found, counting a timed spin that found it.
    let took = |spin_since: Option<u64>, found: (GRef, bool)| {
        if spin_since.is_some() {
            m.spin_ended(true);
        }
        Some(found)
    };
    // The network poll's back-off while spinning: the current gap, and when the next poll is due.
    let (mut poll_gap, mut next_poll) = (0, 0);
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
                return took(spin_since, (g, false));
            }
        }
        // SAFETY: see above.
        if let Some(x) = unsafe { p.runq.pop() } {
            return took(spin_since, x);
        }
        // SAFETY: see above.
        if let Some(g) = unsafe { sched.globrunqget(p, 0) } {
            return took(spin_since, (g, false));
        }
        // Poll the network without blocking, if some M polled before and nobody blocks in it
        // now (Go: "an optimization before we do stealing").
        // While spinning, only when the back-off allows (see `SPIN_POLL_GAP_MIN_NS`).
        if sched.netpoll.has_sockets() && sched.netpoll.lastpoll() != 0 {
            // The clock is read only while spinning; the first pass polls without it.
            let spinning_now = spin_since.map(|_| probe::clock::now_ns());
            if spinning_now.is_none_or(|now| now >= next_poll) {
                if let Some(g) = sched.inject(sched.netpoll.poll_now()) {
                    return took(spin_since, (g, false));
                }
                if let Some(now) = spinning_now {
                    poll_gap = (poll_gap * 2).clamp(SPIN_POLL_GAP_MIN_NS, SPIN_POLL_GAP_MAX_NS);
                    next_poll = now + poll_gap;
                }
            }
        }
        if m.spinning.get() || sched.idle.may_spin(sched.ps.len()) {
            if !m.spinning.get() {
                m.set_spinning(true);
                sched.idle.begin_spinning();
            }
            if let Some(g) = steal_work(m, p) {
                return took(spin_since, (g, false));
            }
            // Keep searching for a short while before giving up the P: while one M spins,
            // producers need not wake a thread (a futex wake costs the waker a microsecond or
            // more, more than a whole channel round trip); but only while this M's spins pay
            // (`M::spin_long`, asked once a search: a spin under way has `spin_since`).
            let now = probe::clock::now_ns();
            if (spin_since.is_some() || m.spin_long())
                && now - *spin_since.get_or_insert(now) < SPIN_NS
            {
                // Back off between searches: every search reads the other Ps' queues, and a
                // spinner polling them back to back slows their owners down.
                spin_for(SPIN_BACKOFF_NS);
                continue 'top;
            }
        }
        if spin_since.take().is_some() {
            m.spin_ended(false);
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
            // Whatever was readied here has been taken by now (the queue is empty).
            p.deferred_wake.store(false, Ordering::Relaxed);
            sched.pidleput(&mut st, p.id);
            m.p.set(NO_P);
        }
        if m.spinning.get() {
            m.set_spinning(false);
            sched.idle.end_spinning();
            // Re-check everything a submitter may have published while we were still counted
            // as spinning (the other half of `Idle::should_wake`).
            if sched.any_work() {
                if let Some(pid) = sched.acquire_idle_p() {
                    take_p(m, pid);
                    m.set_spinning(true);
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
                        take_p(m, pid);
                        if let Some(g) = sched.inject(ready) {
                            return Some((g, false));
                        }
                        // Timers may be due on any P: search them all, as a spinner does.
                        m.set_spinning(true);
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

pub(super) fn release_p(m: &M) {
    if let Some(p) = m.p() {
        let mut st = m.sched.lock();
        m.sched.pidleput(&mut st, p.id);
        m.p.set(NO_P);
    }
}

/// Parks an M without a P until `startm` hands it one (Go's `stopm`).
pub(super) fn stopm(m: &M) {
    let sched = m.sched;
    {
        let mut st = sched.lock();
        st.midle.push(current_m_arc(m));
        IDLE_MS.fetch_add(1, Ordering::SeqCst);
        sched.checkdead_if_idle(&st);
    }
    m.notesleep();
    take_p(m, m.next_p.swap(NO_P, Ordering::Acquire));
    m.set_spinning(m.next_spinning.load(Ordering::Relaxed));
}

/// Steals from other Ps (Go's `stealWork`): four passes in random order; the last one also runs
/// their due timers and may take their `runnext`.
pub(super) fn steal_work(m: &M, p: &P) -> Option<GRef> {
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
            // A P whose state word says IDLE may still hold goroutines: one on its way from one
            // thread to another (`releasep`, sysmon's retake) is IDLE until the receiving thread
            // takes it. Steal from it, as Go steals from every P not on the idle list (whose
            // queues are empty). Skipping IDLE Ps left a locked goroutine's queue-mates unrun
            // while the thread its P went to was slow to start.
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
