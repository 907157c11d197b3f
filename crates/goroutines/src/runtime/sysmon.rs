//! sysmon: the thread without a P that keeps the scheduler honest (Go's `sysmon` and `retake` in
//! proc.go, and the cooperative half of `preempt.go`).
//!
//! ```text
//!   loop: sleep 20 us .. 10 ms (doubling after 50 idle rounds; short while a P looks stuck)
//!     poll the network if nobody has for 10 ms
//!     for each P:
//!       in `blocking` for a tick, with work waiting (or for 10 ms)  -> take it: handoffp
//!       same goroutine for 10 ms                                    -> mark it for preemption
//!       same goroutine for 10 ms more, work waiting, mark ignored   -> take it: handoffp
//!     print the scheduler trace if it is on and due (`schedtrace.rs`)
//! ```
//!
//! Preemption without signals (DESIGN.md): a marked goroutine yields to the global queue at its
//! next runtime call (`preempt_check`, which every channel, select, sync and spawn operation
//! calls; hot loops call it themselves). A goroutine that makes no runtime call keeps running,
//! but loses its P: sysmon hands the P, with its queue and timers, to another thread, as for a
//! blocking call, and the hog keeps its own thread until it next enters the runtime.
//!
//! Taking a P from a running M needs a handshake, since the M may be touching the P right now.
//! The M publishes `in_user` (true while goroutine code runs) and checks the P's state word when
//! it enters the runtime; sysmon moves the state word to `P_RETAKING`, then reads `in_user`. That
//! is Dekker's pattern, which needs a #StoreLoad on both sides; the M's side runs on every
//! runtime entry, so it uses only a compiler fence, and sysmon's side forces the hardware fence
//! onto every running thread with `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (the asymmetric
//! fence userspace RCU uses). Where the kernel lacks membarrier, the M side pays a real fence.

use std::sync::atomic::compiler_fence;
use std::sync::OnceLock;
use std::time::Duration;

use super::g::{coarse_now_ns, current_g, publish_wait_clock, suspend, AfterSwitch, G};
use super::proc::{current_m, handoffp, p_state, Sched, M, P_RETAKING, P_RUNNING, P_SYSCALL};
use crate::loom::{fence, AtomicBool, AtomicUsize, Ordering};

/// A goroutine running this long without a switch is marked for preemption (Go's
/// `forcePreemptNS`).
const FORCE_PREEMPT_NS: u64 = 10_000_000;
/// A marked goroutine still running this long after the mark loses its P, if work waits.
const RETAKE_GRACE_NS: u64 = 2_000_000;
/// sysmon's shortest and longest sleep.
const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Rounds without a retake that sysmon sleeps `MIN_DELAY` before it starts doubling (Go: "start
/// doubling the sleep after 1ms").
const IDLE_ROUNDS_BEFORE_BACKOFF: u32 = 50;
/// sysmon's longest sleep while some P holds a deferred wake-up: how long a goroutine readied
/// by one that then runs on without blocking may wait for a thread (see `Sched::ready`).
const DEFERRED_WAKE_DELAY: Duration = Duration::from_millis(1);
/// sysmon polls the network if nobody has for this long.
const NETPOLL_STALE_NS: u64 = 10_000_000;

/// Goroutines marked for preemption and not yet yielded: `preempt_check`'s fast path reads only
/// this.
static PREEMPT_REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// Whether `membarrier` works here (probed once).
fn membarrier_ok() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;
        // SAFETY: membarrier takes two ints and a cpu id; registering has no preconditions.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0,
                0,
            ) == 0
        }
    })
}

/// The M side of the retake handshake: a compiler fence where sysmon can force the hardware
/// fence with membarrier, else a real one.
#[inline]
pub(crate) fn light_barrier() {
    if HEAVY_SIDE_WORKS.load(Ordering::Relaxed) {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// Set by sysmon once membarrier is registered ([`register_heavy_side`]). Until then (and for
/// good where the kernel lacks membarrier) the M side pays the real fence: either way each side
/// of the handshake has its #StoreLoad, since only sysmon sets the flag and only sysmon uses the
/// heavy side, after setting it.
static HEAVY_SIDE_WORKS: AtomicBool = AtomicBool::new(false);

/// sysmon's side: a full fence on every running thread of the process.
fn heavy_barrier() {
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    if HEAVY_SIDE_WORKS.load(Ordering::Relaxed) {
        // SAFETY: as in `membarrier_ok`; the command has no memory-safety preconditions.
        unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) };
    }
    fence(Ordering::SeqCst);
}

/// Yields the running goroutine if sysmon asked it to (it ran 10 ms without a switch). One relaxed
/// load when nobody is marked; call it in loops that make no other runtime call.
#[inline]
pub fn preempt_check() {
    if PREEMPT_REQUESTS.load(Ordering::Relaxed) != 0 {
        preempt_check_slow();
    }
}

#[cold]
fn preempt_check_slow() {
    let (Some(g), Some(m)) = (current_g(), current_m()) else {
        return;
    };
    // SAFETY: the running goroutine is alive.
    let gr = unsafe { g.as_ref() };
    if gr.preempt.load(Ordering::Relaxed) {
        clear_preempt(gr);
        m.set_after_switch(AfterSwitch::Preempt);
        suspend(gr);
    }
}

/// Clears a goroutine's preemption mark (it is switching anyway).
pub(crate) fn clear_preempt(g: &G) {
    if g.preempt.swap(false, Ordering::Relaxed) {
        PREEMPT_REQUESTS.fetch_sub(1, Ordering::Relaxed);
    }
}

fn mark_preempt(g: &G) {
    if !g.preempt.swap(true, Ordering::Relaxed) {
        PREEMPT_REQUESTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// What sysmon remembers of each P between rounds (Go's `sysmontick`).
#[derive(Clone, Copy, Default)]
struct Tick {
    /// The P's `schedtick`: it does not move while goroutines hand a time slice to each other
    /// through `runnext`, so a channel ping-pong pair shares one 10 ms slice, as in Go.
    schedtick: u32,
    syscalltick: u32,
    /// When `schedtick` (or `syscalltick`) last changed.
    since: u64,
    /// The P's `switches` when sysmon last saw a deferred wake-up pending on it.
    deferred_at: Option<u32>,
}

/// Starts the runtime's sysmon thread.
pub(crate) fn start(sched: &'static Sched) {
    super::deadlock::HELPER_THREADS.fetch_add(1, Ordering::SeqCst);
    let spawned = std::thread::Builder::new()
        .name("goroutines-sysmon".into())
        .spawn(move || run(sched));
    if let Err(e) = spawned {
        super::g::fatal(&format!("cannot start sysmon: {e}"));
    }
}

/// How long sysmon runs before it registers for membarrier (see [`register_heavy_side`]).
const REGISTER_HEAVY_SIDE_AFTER_NS: u64 = 50_000_000;

/// Registers for membarrier and, if it works, lets the M side drop to a compiler fence.
///
/// Registration waits for the kernel to synchronize every CPU: 4-10 ms here. It is only an
/// optimization (until it is done the M side pays the real fence and sysmon's side needs only
/// its own), so sysmon does it when the wait costs nobody anything: before its first idle sleep,
/// or once the program has run 50 ms, after the first retakes of a program that starts with a
/// hog. Done at start-up it made every runtime's start 10 ms slower.
fn register_heavy_side(registered: &mut bool) {
    if !*registered {
        *registered = true;
        HEAVY_SIDE_WORKS.store(membarrier_ok(), Ordering::Relaxed);
    }
}

fn run(sched: &'static Sched) {
    let started = sched.started_ns;
    let mut tracer = super::schedtrace::Tracer::new(sched);
    let mut registered = false;
    let mut ticks = vec![Tick::default(); sched.ps.len()];
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0u32;
    while !sched.shutdown.load(Ordering::Relaxed) {
        if sched.idle.npidle() == sched.ps.len() && !tracer.on() {
            // Nothing runs: sleep until a P is taken (Go's `sysmonwait`), so an idle program
            // wakes no thread at all. Not while tracing, as in Go: the trace is due on time.
            register_heavy_side(&mut registered);
            publish_wait_clock(0);
            sched.sysmon_waiting.store(true, Ordering::SeqCst);
            if sched.idle.npidle() == sched.ps.len() {
                sched.sysmon_note.sleep();
            }
            sched.sysmon_waiting.store(false, Ordering::SeqCst);
            // Look again soon, so a goroutine that starts hogging its P right away is seen
            // within microseconds, but back off from the first round on: most wake-ups are
            // network traffic between idle spells, and 50 rounds of 20 us after each of them
            // (Go's restart after a syscall wake) cost a busy echo server a tenth of its CPU.
            delay = MIN_DELAY;
            idle_rounds = IDLE_ROUNDS_BEFORE_BACKOFF;
            continue;
        }
        std::thread::sleep(delay);
        publish_wait_clock(coarse_now_ns());
        let now = probe::clock::now_ns();
        if now.saturating_sub(started) >= REGISTER_HEAVY_SIDE_AFTER_NS {
            register_heavy_side(&mut registered);
        }
        let lastpoll = sched.netpoll.lastpoll();
        if sched.netpoll.has_sockets()
            && lastpoll != 0
            && now.saturating_sub(lastpoll) > NETPOLL_STALE_NS
        {
            let ready = sched.netpoll.poll_now();
            if !ready.is_empty() {
                if let Some(g) = sched.inject(ready) {
                    sched.globrunqput(g);
                }
                sched.wakep();
            }
        }
        let deferring = settle_deferred_wakes(sched, &mut ticks);
        let (retook, suspicious) = retake(sched, &mut ticks, now);
        tracer.tick(sched, now);
        if retook {
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
        }
        delay = if suspicious || idle_rounds <= IDLE_ROUNDS_BEFORE_BACKOFF {
            // Something runs long: look again soon, so a hog loses its P within ~1 ms of
            // its grace period.
            MIN_DELAY.max(if suspicious {
                Duration::from_micros(500)
            } else {
                MIN_DELAY
            })
        } else {
            (delay * 2).min(if deferring {
                DEFERRED_WAKE_DELAY
            } else {
                MAX_DELAY
            })
        };
    }
    publish_wait_clock(0);
    super::deadlock::HELPER_THREADS.fetch_sub(1, Ordering::SeqCst);
}

/// The backstop of `Sched::ready`'s deferred wake-ups: a goroutine readied into a P's empty
/// queue normally runs on that P as soon as the readier blocks; if the readier runs on instead
/// (the P has not switched goroutines since sysmon's last round) and the goroutine still waits,
/// wake a thread to steal it. Returns whether any P holds a deferred wake-up, so that sysmon
/// looks again within `DEFERRED_WAKE_DELAY`.
fn settle_deferred_wakes(sched: &'static Sched, ticks: &mut [Tick]) -> bool {
    let mut deferring = false;
    for (p, tick) in sched.ps.iter().zip(ticks.iter_mut()) {
        if !p.deferred_wake.load(Ordering::Relaxed) {
            tick.deferred_at = None;
            continue;
        }
        deferring = true;
        let switches = p.switches.load(Ordering::Relaxed);
        if tick.deferred_at == Some(switches) && !p.runq.is_empty() {
            sched.wakep();
        }
        tick.deferred_at = Some(switches);
    }
    deferring
}

/// One round over the Ps (Go's `retake`). Returns whether it took a P, and whether some P has
/// been running one goroutine for a while (so sysmon should look again soon).
fn retake(sched: &'static Sched, ticks: &mut [Tick], now: u64) -> (bool, bool) {
    let mut retook = false;
    let mut suspicious = false;
    for (p, tick) in sched.ps.iter().zip(ticks.iter_mut()) {
        let state = p.state.load(Ordering::Acquire);
        let status = state & 0xff;
        let schedtick = p.schedtick.load(Ordering::Relaxed);
        let syscalltick = p.syscalltick.load(Ordering::Relaxed);
        if schedtick != tick.schedtick || syscalltick != tick.syscalltick {
            *tick = Tick {
                schedtick,
                syscalltick,
                since: now,
                deferred_at: tick.deferred_at,
            };
            continue;
        }
        let ran = now.saturating_sub(tick.since);
        let owner = p.owner.load(Ordering::Acquire);
        if owner.is_null() {
            continue;
        }
        // SAFETY: Ms are kept alive by their threads for as long as they can hold a P, and a
        // P's owner is cleared before its M lets it go.
        let m: &M = unsafe { &*owner };
        if state >> 8 != p_state(m.id, 0) >> 8 {
            continue; // the P is changing hands; look again next round
        }
        let work_waits =
            !p.runq.is_empty() || p.timers.next_when() <= now || sched.global_len() > 0;
        if status == P_SYSCALL {
            // In a blocking call for at least one tick: take the P if work waits or nobody else
            // could take it; after 10 ms, regardless.
            if !work_waits && sched.idle_or_spinning() && ran < FORCE_PREEMPT_NS {
                continue;
            }
            if p.state
                .compare_exchange(
                    state,
                    super::proc::P_IDLE,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                p.owner.store(std::ptr::null_mut(), Ordering::Release);
                handoffp(sched, p);
                retook = true;
            }
            continue;
        }
        if status != P_RUNNING || ran < FORCE_PREEMPT_NS {
            continue;
        }
        suspicious = true;
        // Mark whatever runs now (Go's `preemptone`); a mark that lands on a goroutine that has
        // just parked is cleared when it next runs, so mark again every round.
        if let Some(g) = std::ptr::NonNull::new(m.curg.load(Ordering::Relaxed)) {
            // SAFETY: Gs are never freed while the runtime lives.
            mark_preempt(unsafe { g.as_ref() });
        }
        if ran < FORCE_PREEMPT_NS + RETAKE_GRACE_NS || !work_waits {
            continue;
        }
        // The goroutine ignores the mark: take its P if it is in user code.
        if p.state
            .compare_exchange(
                state,
                p_state(m.id, P_RETAKING),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            continue;
        }
        heavy_barrier();
        #[cfg(test)]
        if let Some(meanwhile) = tests::WHILE_DECIDING.with(std::cell::Cell::take) {
            meanwhile();
        }
        // Both ends of the decision are CASes from RETAKING(m), not stores: while sysmon
        // decides, m may give the P up (`pidleput`, `releasep`) and another M take it, and a
        // store would undo that, leaving the P named for m with nobody holding it, its queue and
        // timers stranded. A P that changed hands meanwhile is no longer m's to judge.
        let retaking = p_state(m.id, P_RETAKING);
        let verdict = if m.in_user.load(Ordering::Relaxed) {
            super::proc::P_IDLE
        } else {
            state
        };
        let decided =
            p.state
                .compare_exchange(retaking, verdict, Ordering::AcqRel, Ordering::Acquire);
        if decided.is_ok() && verdict == super::proc::P_IDLE {
            p.owner.store(std::ptr::null_mut(), Ordering::Release);
            sched.counters.hog_retakes.fetch_add(1, Ordering::Relaxed);
            handoffp(sched, p);
            retook = true;
        }
    }
    (retook, suspicious)
}

/// One round of `retake` as sysmon would run it `quiet_ns` from now, had no P scheduled
/// meanwhile; returns whether it took a P.
#[cfg(test)]
pub(crate) fn retake_after_quiet(sched: &'static Sched, quiet_ns: u64) -> bool {
    let since = probe::clock::now_ns();
    let now = since + quiet_ns;
    let mut ticks: Vec<Tick> = sched
        .ps
        .iter()
        .map(|p| Tick {
            schedtick: p.schedtick.load(Ordering::Relaxed),
            syscalltick: p.syscalltick.load(Ordering::Relaxed),
            since,
            deferred_at: None,
        })
        .collect();
    retake(sched, &mut ticks, now).0
}

/// Runs `f`, a call that may block the thread, with the P released to sysmon's judgement (Go's
/// `entersyscall` / `exitsyscall`).
pub(crate) fn syscall<F: FnOnce() -> R, R>(f: F) -> R {
    let (Some(g), Some(m)) = (current_g(), current_m()) else {
        return f();
    };
    let Some(p) = super::proc::enter_runtime(m) else {
        // The P was already taken from us: run f on this thread, then look for a P.
        super::proc::exit_runtime(m);
        let r = f();
        exit_no_p(m, g);
        return r;
    };
    let t = p.syscalltick.load(Ordering::Relaxed);
    p.syscalltick.store(t.wrapping_add(1), Ordering::Relaxed);
    // A goroutine this one readied must not wait for the call to end.
    m.sched.take_deferred_wake(p);
    // enter_runtime saw our RUNNING state and sysmon only moves RUNNING to RETAKING when we are
    // in user code, which we are not: a plain store would do, but a CAS keeps the reasoning local.
    let running = p_state(m.id, P_RUNNING);
    let in_syscall = p_state(m.id, P_SYSCALL);
    while p
        .state
        .compare_exchange(running, in_syscall, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        std::hint::spin_loop();
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if p.state
        .compare_exchange(in_syscall, running, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        super::proc::exit_runtime(m);
    } else {
        // sysmon handed our P to another thread (Go's `exitsyscall` slow path).
        super::proc::drop_p(m);
        exit_no_p(m, g);
    }
    match r {
        Ok(r) => r,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Back from a blocking call without a P: take an idle one, or queue the goroutine globally and
/// let this M stop (Go's `exitsyscall0`). Called on the goroutine.
fn exit_no_p(m: &M, g: super::g::GRef) {
    if super::proc::acquire_p_for(m) {
        super::proc::exit_runtime(m);
        return;
    }
    m.set_after_switch(AfterSwitch::ExitSyscall);
    // SAFETY: the running goroutine is alive.
    suspend(unsafe { g.as_ref() });
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// Runs once in `retake`'s next decision on a hog's P, between moving the P to
        /// RETAKING and reading whether its M runs user code: what another thread might do
        /// meanwhile.
        pub(crate) static WHILE_DECIDING: Cell<Option<Box<dyn FnOnce()>>> =
            const { Cell::new(None) };
    }
}
