//! G: one goroutine, and the two operations every blocking primitive is built from, `gopark` and
//! `goready` (Go's `runtime/proc.go` names).
//!
//! Invariants:
//! - A G is either on exactly one run queue (status `RUNNABLE`), running on exactly one M
//!   (`RUNNING`), parked (`WAITING`, reachable only from the wait queue or timer that will ready
//!   it), or free (`DEAD`, on a free list). Status moves RUNNABLE → RUNNING → WAITING → RUNNABLE,
//!   or RUNNING → DEAD.
//! - The fields behind `UnsafeCell` are touched only by whoever holds the G in one of those
//!   positions: the M running it, the goroutine itself on its own stack, or the thread that took it
//!   off a queue. Queues hand a G over with release/acquire, so each holder sees the last one's
//!   writes.
//! - Parking never lets a waker see a G that is still on its own stack: `gopark` hands its
//!   `unlockf` to the M, which runs it after the switch (Go's `park_m`). Only `unlockf` makes the G
//!   reachable (by releasing the lock of the queue it sits on, or by arming a timer).
//!
//! G structs are never freed while their runtime lives (Go's `allgs`): a dead G goes to a per-P
//! free list and is reused by the next spawn, so a stale pointer can never dangle, and the deadlock
//! report can walk every G.

use std::cell::{Cell, UnsafeCell};
use std::panic::Location;
use std::ptr::{self, NonNull};

use corosensei::{Coroutine, Yielder};

use super::proc::{current_m, Sched};
use super::stack::GStack;
use crate::loom::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// A pointer to a G; Gs live until their runtime's process exits, so copies are always valid.
pub(crate) type GRef = NonNull<G>;

/// The coroutine a goroutine runs on.
pub(crate) type Coro = Coroutine<(), (), (), GStack>;

/// Created, never run: no stack yet.
pub(crate) const G_IDLE: u8 = 0;
/// On a run queue.
pub(crate) const G_RUNNABLE: u8 = 1;
/// Running on an M.
pub(crate) const G_RUNNING: u8 = 2;
/// Parked; its `wait_reason` says on what.
pub(crate) const G_WAITING: u8 = 3;
/// Finished; on a free list.
pub(crate) const G_DEAD: u8 = 4;

/// Why a goroutine is parked, printed by the deadlock report as Go prints `[chan receive]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum WaitReason {
    /// Not waiting.
    None = 0,
    ChanSend,
    ChanReceive,
    Select,
    SelectNoCases,
    Sleep,
    JoinWait,
    MutexLock,
    RwLockRead,
    RwLockWrite,
    CondWait,
    WaitGroupWait,
    OnceWait,
    Semacquire,
    IoRead,
    IoWrite,
}

impl WaitReason {
    /// Go's wording.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "running",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::JoinWait => "join",
            WaitReason::MutexLock => "sync.Mutex.Lock",
            WaitReason::RwLockRead => "sync.RWMutex.RLock",
            WaitReason::RwLockWrite => "sync.RWMutex.Lock",
            WaitReason::CondWait => "sync.Cond.Wait",
            WaitReason::WaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::OnceWait => "sync.Once.Do",
            WaitReason::Semacquire => "semacquire",
            WaitReason::IoRead | WaitReason::IoWrite => "IO wait",
        }
    }

    fn from_u8(v: u8) -> WaitReason {
        const ALL: [WaitReason; 16] = [
            WaitReason::None,
            WaitReason::ChanSend,
            WaitReason::ChanReceive,
            WaitReason::Select,
            WaitReason::SelectNoCases,
            WaitReason::Sleep,
            WaitReason::JoinWait,
            WaitReason::MutexLock,
            WaitReason::RwLockRead,
            WaitReason::RwLockWrite,
            WaitReason::CondWait,
            WaitReason::WaitGroupWait,
            WaitReason::OnceWait,
            WaitReason::Semacquire,
            WaitReason::IoRead,
            WaitReason::IoWrite,
        ];
        ALL.get(v as usize).copied().unwrap_or(WaitReason::None)
    }
}

/// A goroutine.
pub(crate) struct G {
    /// Goroutine id, fresh on every reuse of this struct (Go's `goid`).
    pub(crate) id: AtomicU64,
    /// One of the `G_*` states.
    pub(crate) status: AtomicU8,
    wait_reason: AtomicU8,
    /// `probe::clock::now_ns()` when it last parked.
    pub(crate) wait_since: AtomicU64,
    /// The runtime this goroutine belongs to.
    pub(crate) sched: Cell<&'static Sched>,
    /// The goroutine that started this one (Go's `g.parentGoid`); 0 when a plain thread did.
    parent_id: AtomicU64,
    /// Where it was started (Go's `g.gopc`): the `go` call's location, for the dump's
    /// "created by". Only ever a `&'static Location`, or null.
    created_at: AtomicPtr<Location<'static>>,
    /// The function to run, until the first run moves it onto the stack.
    pub(crate) entry: UnsafeCell<Option<std::sync::Arc<dyn super::task::Runnable>>>,
    /// The coroutine, from the first run to exit.
    pub(crate) coro: UnsafeCell<Option<Coro>>,
    /// Set by sysmon when the goroutine has run for 10 ms without a switch; its next runtime
    /// call yields (`preempt_check`).
    pub(crate) preempt: AtomicBool,
    /// The M this goroutine is wired to by `lock_os_thread` (Go's `g.lockedm`), or null.
    pub(crate) locked_m: AtomicPtr<super::proc::M>,
    /// Nesting depth of `lock_os_thread` calls; touched only by the goroutine itself.
    pub(crate) lock_count: Cell<u32>,
    /// The guard page range of its stack, for the overflow handler.
    pub(crate) guard: Cell<(usize, usize)>,
    /// Set on the goroutine's own stack at its first run; used to suspend.
    pub(crate) yielder: Cell<*const Yielder<(), ()>>,
    /// About where its stack pointer was when it last switched out; 0 from its start to its first
    /// switch. Only a hint for `prefetch_stack`, so any value is harmless: relaxed.
    pub(crate) stack_hint: AtomicUsize,
    /// Goroutine-local storage (`crate::local`).
    pub(crate) locals: UnsafeCell<Option<Box<crate::local::LocalMap>>>,
}

// SAFETY: a G is shared between threads only through the handover protocol in the module
// invariants: the atomics are safe to share, and every `Cell`/`UnsafeCell` field is touched only by
// the single current holder of the G, with release/acquire at each handover.
unsafe impl Sync for G {}
// SAFETY: as for Sync; nothing in a G is tied to the thread that created it.
unsafe impl Send for G {}

impl G {
    pub(crate) fn new(sched: &'static Sched) -> G {
        G {
            id: AtomicU64::new(0),
            status: AtomicU8::new(G_DEAD),
            wait_reason: AtomicU8::new(0),
            wait_since: AtomicU64::new(0),
            sched: Cell::new(sched),
            parent_id: AtomicU64::new(0),
            created_at: AtomicPtr::new(ptr::null_mut()),
            entry: UnsafeCell::new(None),
            coro: UnsafeCell::new(None),
            preempt: AtomicBool::new(false),
            locked_m: AtomicPtr::new(ptr::null_mut()),
            lock_count: Cell::new(0),
            guard: Cell::new((0, 0)),
            yielder: Cell::new(ptr::null()),
            stack_hint: AtomicUsize::new(0),
            locals: UnsafeCell::new(None),
        }
    }

    /// Records who started this goroutine, and where (at spawn, before anyone else sees it).
    pub(crate) fn set_created(&self, parent_id: u64, at: &'static Location<'static>) {
        self.parent_id.store(parent_id, Ordering::Relaxed);
        self.created_at
            .store(ptr::from_ref(at).cast_mut(), Ordering::Relaxed);
    }

    /// The goroutine that started this one (0: a plain thread) and where, if recorded.
    pub(crate) fn created(&self) -> (u64, Option<&'static Location<'static>>) {
        let at = self.created_at.load(Ordering::Relaxed);
        // SAFETY: `created_at` only ever holds null or a pointer made from a
        // `&'static Location` (`set_created`), which is valid for the whole program and never
        // written through.
        let at = unsafe { at.as_ref() };
        (self.parent_id.load(Ordering::Relaxed), at)
    }

    pub(crate) fn wait_reason(&self) -> WaitReason {
        WaitReason::from_u8(self.wait_reason.load(Ordering::Relaxed))
    }

    pub(crate) fn set_wait_reason(&self, reason: WaitReason) {
        self.wait_reason.store(reason as u8, Ordering::Relaxed);
    }
}

/// What the M does with the G it just switched away from (the work of Go's `mcall` targets).
#[derive(Clone, Copy)]
pub(crate) enum AfterSwitch {
    /// Nothing was asked (the goroutine returned).
    None,
    /// `gopark`: mark WAITING, then run `unlockf(data, g)`; if it returns false, run the G again.
    Park {
        unlockf: unsafe fn(*mut (), GRef) -> bool,
        data: *mut (),
    },
    /// `yield_now`: back on the local run queue.
    Yield,
    /// Preempted by sysmon (`preempt_check`): to the global queue.
    Preempt,
    /// Left a `blocking` call and found no P: to the global queue, and the M stops.
    ExitSyscall,
}

thread_local! {
    static CURRENT_G: Cell<*const G> = const { Cell::new(ptr::null()) };
}

/// The goroutine running on this thread, if any. Never inlined, and never cached across a switch:
/// a goroutine may resume on another thread, and LLVM may assume a thread-local's address is
/// constant within a function (rust-lang/rust#33368).
#[inline(never)]
pub(crate) fn current_g() -> Option<GRef> {
    NonNull::new(CURRENT_G.with(|c| c.get()).cast_mut())
}

/// For the stack-overflow handler: the guard page `[lo, hi)` of the goroutine running on this
/// thread and its id, or zeros on a scheduler's own stack or a plain thread.
///
/// Async-signal-safe. `CURRENT_G` is const-initialised and `Copy` (no destructor), so on Linux std
/// declares it as a plain `#[thread_local]` static: no lazy initialisation, no destructor
/// registration, no lock, and `try_with` cannot fail; the read is one load relative to the thread
/// pointer, valid in a signal handler. (Only where this crate is `dlopen`ed does the first access
/// go through `__tls_get_addr`, which may allocate; `set_current_g` makes that first access long
/// before any goroutine runs.) The G it names is never freed, and its `guard` and `id` are
/// written on the scheduler's stack before the G is resumed and not while it runs, which is when
/// a fault on its guard page can happen.
pub(crate) fn running_guard() -> (usize, usize, u64) {
    let g = CURRENT_G.try_with(|c| c.get()).unwrap_or(ptr::null());
    if g.is_null() {
        return (0, 0, 0);
    }
    // SAFETY: see above: a live G whose fields nobody writes while it runs on this thread.
    let g = unsafe { &*g };
    let (lo, hi) = g.guard.get();
    (lo, hi, g.id.load(Ordering::Relaxed))
}

/// For the overflow handler's tests: makes a stand-in goroutine `id`, whose stack's guard page is
/// `[lo, hi)`, the one running on this thread, as the scheduler does before a resume. Undo with
/// `set_current_g(ptr::null())`.
#[cfg(test)]
pub(crate) fn pretend_running(lo: usize, hi: usize, id: u64) {
    // SAFETY: the tests that call this hold nothing across blocking calls.
    let runtime = unsafe { crate::Builder::new().procs(1).build() }.expect("a runtime");
    let g: &'static G = Box::leak(Box::new(G::new(runtime.sched())));
    g.guard.set((lo, hi));
    g.id.store(id, Ordering::Relaxed);
    set_current_g(g);
}

/// Called by the M around each resume.
#[inline(never)]
pub(crate) fn set_current_g(g: *const G) {
    CURRENT_G.with(|c| c.set(g));
}

/// Parks the running goroutine (Go's `gopark`). `unlockf` runs on the M after the switch; it must
/// make the G reachable to its waker (release a queue lock, arm a timer) and return true, or return
/// false to resume the G at once. Returns after some waker called `goready`.
///
/// Once `unlockf` has made the G reachable, a waker may resume it on another thread while
/// `unlockf` still runs, and the frames of the parked goroutine are then gone: from that point
/// `unlockf` must not touch anything on the goroutine's stack. It runs from its own copy (the
/// trampoline moves it off the stack first), so a `move` closure whose captures are values or
/// references to memory that outlives the wait is safe; a closure that captures a local by
/// reference and reads it after publishing is a use-after-return (Go's `selunlock` warns of
/// the same).
///
/// Must be called on a goroutine.
pub(crate) fn gopark<F>(reason: WaitReason, unlockf: F)
where
    F: FnOnce(GRef) -> bool,
{
    /// # Safety
    /// `data` points to the `Option<F>` in the parked goroutine's `gopark` frame, which stays put
    /// until the goroutine is resumed, and this runs once, before that.
    unsafe fn trampoline<F: FnOnce(GRef) -> bool>(data: *mut (), g: GRef) -> bool {
        // SAFETY: per this function's contract.
        let slot = unsafe { &mut *(data as *mut Option<F>) };
        match slot.take() {
            Some(f) => f(g),
            None => true,
        }
    }
    let Some(g) = current_g() else {
        unreachable_outside_goroutine("gopark")
    };
    let mut slot = Some(unlockf);
    // SAFETY: `g` is the running goroutine, alive while it runs.
    let gr = unsafe { g.as_ref() };
    gr.set_wait_reason(reason);
    gr.wait_since.store(wait_clock_ns(), Ordering::Relaxed);
    let traces = &gr.sched.get().park_traces;
    if traces.on() {
        traces.record(gr.id.load(Ordering::Relaxed));
    }
    let m = current_m().expect("a goroutine always runs on an M");
    m.set_after_switch(AfterSwitch::Park {
        unlockf: trampoline::<F>,
        data: &mut slot as *mut Option<F> as *mut (),
    });
    suspend(gr);
}

/// Switches from the running goroutine back to its M. The M reads its `after_switch`.
pub(crate) fn suspend(g: &G) {
    let here = 0u8;
    g.stack_hint
        .store(&here as *const u8 as usize, Ordering::Relaxed);
    let y = g.yielder.get();
    // SAFETY: `yielder` was set at the first run of this goroutine to the corosensei Yielder on
    // its own stack, which lives as long as the coroutine; we are on that coroutine now.
    unsafe { (*y).suspend(()) };
}

/// How many cache lines of a switched-out goroutine's stack `prefetch_stack` pulls into the cache,
/// from the one below its `stack_hint` (where the switch saves registers) up: a goroutine parked
/// in a socket read (the echo server's) has 801 bytes of frames above the hint, up to its entry.
const STACK_PREFETCH_LINES: usize = 15;

/// Starts loading the top of `g`'s stack into the cache, for a goroutine that will be resumed
/// soon. A switch into a goroutine otherwise stalls on its stack: the saved registers, then one
/// return address after another, each a miss once many goroutines have run in between (1,000
/// echo connections). Prefetches are hints: they never fault, whatever the address.
#[inline]
pub(crate) fn prefetch_stack(g: GRef) {
    // SAFETY: Gs are never freed while their runtime lives.
    let sp = unsafe { g.as_ref() }.stack_hint.load(Ordering::Relaxed);
    if sp == 0 {
        return;
    }
    let first = (sp & !63).wrapping_sub(64);
    // A fixed count, so that the loop unrolls into as many prefetch instructions.
    for line in 0..STACK_PREFETCH_LINES {
        prefetch_line(first.wrapping_add(line * 64));
    }
}

#[inline(always)]
fn prefetch_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache: it never faults, whatever the address, and
    // changes nothing a program can observe.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Makes a parked goroutine runnable (Go's `goready`): on the current P's `runnext` when the
/// caller runs on an M of the same runtime, else on that runtime's global queue.
pub(crate) fn goready(g: GRef) {
    // SAFETY: Gs are never freed while their runtime lives.
    let gr = unsafe { g.as_ref() };
    if gr
        .status
        .compare_exchange(G_WAITING, G_RUNNABLE, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        fatal("goready of a goroutine that is not waiting");
    }
    gr.set_wait_reason(WaitReason::None);
    if probe::trace::enabled() {
        probe::trace::record(probe::trace::EventKind::Wake {
            task: gr.id.load(Ordering::Relaxed),
            by: current_g().map(|c| {
                // SAFETY: the current goroutine is alive.
                unsafe { c.as_ref() }.id.load(Ordering::Relaxed)
            }),
        });
    }
    gr.sched.get().ready(g);
}

/// sysmon's latest reading of [`coarse_now_ns`], or 0 while no sysmon keeps it fresh (one is
/// asleep because all its Ps are idle, or has stopped). Shared by every runtime in the process:
/// any sysmon may refresh it, and any may clear it.
static WAIT_CLOCK: AtomicU64 = AtomicU64::new(0);

/// Publishes sysmon's clock reading for [`wait_clock_ns`] (0: stop trusting it).
pub(crate) fn publish_wait_clock(now: u64) {
    WAIT_CLOCK.store(now, Ordering::Relaxed);
}

/// The time a parking goroutine records as the start of its wait: sysmon's latest coarse reading,
/// which trails the clock by at most a sysmon round (≤ 10 ms, the coarse clock's own granularity
/// is 1–4 ms), or the coarse clock itself when no sysmon is awake. A load instead of a clock read
/// on every park: the clock was a twentieth of a channel round trip on one P.
fn wait_clock_ns() -> u64 {
    match WAIT_CLOCK.load(Ordering::Relaxed) {
        0 => coarse_now_ns(),
        now => now,
    }
}

/// A clock for "how long has it waited": CLOCK_MONOTONIC_COARSE costs a few ns where the precise
/// clock costs ~20 (it is read on every park), and millisecond resolution is all a dump needs.
pub(crate) fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to the valid pointer we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// A runtime invariant broke: print Go's `fatal error:` line and abort.
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    eprintln!("fatal error: {msg}");
    std::process::abort()
}

/// Ends the process with `code` at once, as Go's runtime does (a raw `exit_group`, after a
/// deadlock report, a SIGQUIT dump or thread exhaustion). Not `std::process::exit`: its clean-up
/// and the C library's exit handlers run while other threads still run goroutines, and std's
/// clean-up unmaps the main thread's signal stack under them (a SIGQUIT test child once died of
/// SIGSEGV there, after printing its dump). What `print!` left in stdout's buffer is flushed
/// first, unless some thread holds stdout's lock for more than 100 ms.
pub(crate) fn exit_now(code: i32) -> ! {
    let (flushed_tx, flushed_rx) = std::sync::mpsc::channel();
    let flusher = std::thread::Builder::new()
        .name("goroutines-exit".into())
        .spawn(move || {
            let _ = std::io::Write::flush(&mut std::io::stdout());
            let _ = flushed_tx.send(());
        });
    if flusher.is_ok() {
        let _ = flushed_rx.recv_timeout(std::time::Duration::from_millis(100));
    }
    // SAFETY: `_exit` ends the process; it has no memory-safety preconditions.
    unsafe { libc::_exit(code) }
}

#[cold]
fn unreachable_outside_goroutine(what: &str) -> ! {
    fatal(&format!("{what} called outside a goroutine"))
}

/// Wires the calling goroutine to its current OS thread (Go's `runtime.LockOSThread`): until a
/// matching [`unlock_os_thread`], it runs only on this thread, and no other goroutine runs on it.
/// Calls nest. Use it around code that needs a stable thread: thread-local storage, thread-affine
/// C libraries. On a plain thread it does nothing.
pub fn lock_os_thread() {
    let (Some(g), Some(m)) = (current_g(), current_m()) else {
        return;
    };
    // SAFETY: the running goroutine is alive.
    let gr = unsafe { g.as_ref() };
    gr.lock_count.set(gr.lock_count.get().saturating_add(1));
    if gr.lock_count.get() == 1 {
        m.locked_g.set(gr);
        gr.locked_m
            .store(m as *const _ as *mut _, Ordering::Release);
    }
}

/// Undoes one [`lock_os_thread`]; the last one lets the goroutine move between threads again.
pub fn unlock_os_thread() {
    let (Some(g), Some(m)) = (current_g(), current_m()) else {
        return;
    };
    // SAFETY: the running goroutine is alive.
    let gr = unsafe { g.as_ref() };
    match gr.lock_count.get() {
        0 => {}
        1 => {
            gr.lock_count.set(0);
            gr.locked_m.store(ptr::null_mut(), Ordering::Release);
            m.locked_g.set(ptr::null());
        }
        n => gr.lock_count.set(n - 1),
    }
}
