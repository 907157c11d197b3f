//! The network poller, after Go's `runtime/netpoll.go` and `netpoll_epoll.go`: goroutines that
//! wait for a socket park on its `PollDesc`; epoll (through mio) tells which are ready.
//!
//! ```text
//!   goroutine: read() -> EAGAIN -> wait_read(pd) -> gopark(unlockf: CAS rg NIL -> G)
//!   any idle M: netpoll(timeout) -> epoll_wait -> for each event: swap rg -> READY, ready(G)
//!   timer earlier than the blocked poll, or shutdown: netpoll_break (mio::Waker, an eventfd)
//! ```
//!
//! Invariants:
//! - Each fd is registered once (by `crate::net`, when a goroutine first has to wait on it),
//!   edge-triggered for both directions (Go's register-once model): no re-arming system calls.
//! - `rg`/`wg` are binary semaphores (Go's `pdReady`/G/nil, `sem.rs`): `READY` means an event
//!   arrived that nobody consumed yet; a G pointer means that goroutine is parked waiting. A G is
//!   stored only by its own `gopark`'s unlockf (after the switch), and taken only by a swap, so
//!   it is readied exactly once.
//! - No thread owns the poller: whichever idle M gets the lock blocks in it, until the earliest
//!   timer; the others do not wait for it. sysmon polls when nobody has for 10 ms.
//! - Each semaphore counts the events the poller delivered to it (Tokio's readiness tick). A
//!   stream operation that came back short drained the socket: it snapshots the count before its
//!   system call, and the next operation may park without first asking the kernel for the
//!   `EAGAIN` when no event came since (`clear_if_no_event_since`). The poller bumps the count
//!   before it touches the semaphore, so a waiter that still sees the old count cannot miss that
//!   event's `READY` (`sem.rs` has the argument and its loom model).
//! - A `PollDesc` is never freed, only reused (Go's `pollcache`): an event still in flight for a
//!   closed socket finds a live descriptor, and its token's sequence number (`seq`, bumped on
//!   reuse) tells it is stale.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token, Waker};

use super::g::{current_g, gopark, GRef, WaitReason};
use crate::loom::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use sem::PollSem;

mod sem;

/// The token of the poller's own waker.
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Low bits of a token hold the descriptor's address, high bits its sequence number.
const ADDR_BITS: u32 = 52;
const ADDR_MASK: usize = (1 << ADDR_BITS) - 1;

/// Per-socket wait state (Go's `pollDesc`).
pub(crate) struct PollDesc {
    /// Readers' semaphore (Go's `rg`).
    rg: PollSem,
    /// Writers' semaphore (Go's `wg`).
    wg: PollSem,
    /// Bumped on every reuse; events carrying an older one are stale.
    seq: AtomicU32,
    /// Set by `close`: waiters wake with an error and new waits fail.
    closing: AtomicBool,
    /// Read / write deadline expired (set by the deadline timer before it unblocks the waiter).
    rd_expired: AtomicBool,
    wd_expired: AtomicBool,
}

/// Which half of a socket a wait is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Read,
    Write,
}

impl PollDesc {
    fn new() -> PollDesc {
        PollDesc {
            rg: PollSem::new(),
            wg: PollSem::new(),
            seq: AtomicU32::new(0),
            closing: AtomicBool::new(false),
            rd_expired: AtomicBool::new(false),
            wd_expired: AtomicBool::new(false),
        }
    }

    fn sem(&self, mode: Mode) -> &PollSem {
        match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        }
    }

    /// How many events of `mode` the poller has delivered: a snapshot to take before an
    /// operation's system call, for [`PollDesc::clear_if_no_event_since`].
    pub(crate) fn events(&self, mode: Mode) -> u32 {
        self.sem(mode).events()
    }

    /// Forgets a pending event of `mode` and says whether none came since the snapshot `events`
    /// and the side is not closed: then the operation that took the snapshot drained the socket,
    /// and the caller may `wait` without trying the operation first (see `sem.rs`).
    pub(crate) fn clear_if_no_event_since(&self, mode: Mode, events: u32) -> bool {
        self.sem(mode).clear_if_no_event_since(events)
    }

    fn expired(&self, mode: Mode) -> &AtomicBool {
        match mode {
            Mode::Read => &self.rd_expired,
            Mode::Write => &self.wd_expired,
        }
    }

    /// The mio token for this descriptor's current use.
    pub(crate) fn token(&'static self) -> Token {
        let addr = self as *const PollDesc as usize;
        debug_assert_eq!(addr & !ADDR_MASK, 0);
        let seq = (self.seq.load(Ordering::Relaxed) as usize) & ((1 << (64 - ADDR_BITS)) - 1);
        Token(seq << ADDR_BITS | addr)
    }

    /// Parks the calling goroutine until the socket is ready for `mode` (Go's `netpollblock`).
    /// Returns Ok when an event arrived, `TimedOut` when the deadline expired, and an error when
    /// the socket was closed. Must be called on a goroutine.
    pub(crate) fn wait(&'static self, mode: Mode) -> io::Result<()> {
        debug_assert!(current_g().is_some());
        let sem = self.sem(mode);
        loop {
            self.check_errors(mode)?;
            // Consume a pending event without parking.
            if sem.try_consume() {
                return Ok(());
            }
            let reason = match mode {
                Mode::Read => WaitReason::IoRead,
                Mode::Write => WaitReason::IoWrite,
            };
            // `move`: once `publish_waiter` has made the G reachable, a waker may resume it on
            // another thread before this closure returns, and `wait`'s frame is gone; so the
            // closure must hold copies (`self` and `sem` are 'static, `mode` is Copy), not
            // references into that frame. (It captured them by reference until AddressSanitizer
            // caught a stack-use-after-return here, in `net_drained_hint`, session 10.)
            let pd: &'static PollDesc = self;
            gopark(reason, move |g| {
                // Publish the G first, then look at the flags (Go's netpollblock: pdWait, then
                // netpollcheckerr). A closer or deadline sets its flag, then looks at `sem`: with
                // both sides SeqCst, either it finds the G, or we see its flag and take the G
                // back. Checking the flags first would lose a wake-up that lands in between.
                let me = g.as_ptr() as usize;
                if !sem.publish_waiter(me) {
                    return false; // an event arrived meanwhile
                }
                if pd.closing.load(Ordering::SeqCst) || pd.expired(mode).load(Ordering::SeqCst) {
                    // If a waker took the G already, it readies us: stay parked.
                    return !sem.withdraw_waiter(me);
                }
                true
            });
            // Woken by an event (READY), a deadline, or close (NIL); or not parked at all.
            if sem.take_event() {
                return Ok(());
            }
        }
    }

    fn check_errors(&self, mode: Mode) -> io::Result<()> {
        if self.closing.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "use of closed network connection",
            ));
        }
        if self.expired(mode).load(Ordering::Acquire) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"));
        }
        Ok(())
    }

    /// Marks the `mode` deadline expired (or clears it) and wakes a waiter so it sees it.
    pub(crate) fn set_expired(&self, mode: Mode, expired: bool) -> Option<GRef> {
        self.expired(mode).store(expired, Ordering::SeqCst);
        if expired {
            self.unblock(mode, false)
        } else {
            None
        }
    }

    /// Takes the waiter of `mode`, if one is parked; with `ioready`, leaves READY for the next
    /// wait (Go's `netpollunblock`).
    fn unblock(&self, mode: Mode, ioready: bool) -> Option<GRef> {
        to_g(self.sem(mode).unblock(ioready))
    }

    /// Closes the descriptor for waiting: current and future waiters get an error.
    pub(crate) fn close(&self) -> Vec<GRef> {
        self.closing.store(true, Ordering::SeqCst);
        [Mode::Read, Mode::Write]
            .into_iter()
            .filter_map(|m| self.unblock(m, false))
            .collect()
    }
}

/// The G a semaphore held (its address).
fn to_g(waiter: Option<usize>) -> Option<GRef> {
    waiter.and_then(|addr| std::ptr::NonNull::new(addr as *mut super::g::G))
}

/// The poller of the running goroutine's runtime; None on a plain thread.
pub(crate) fn current_netpoll() -> Option<&'static NetPoll> {
    // SAFETY: the running goroutine is alive while it runs, and its runtime's `Sched` is leaked.
    current_g().map(|g| &unsafe { g.as_ref() }.sched.get().netpoll)
}

/// One runtime's poller.
pub(crate) struct NetPoll {
    poll: Mutex<(Poll, Events)>,
    registry: Registry,
    waker: Waker,
    /// Deadline of the M that holds the poll (while `lastpoll` is 0): `u64::MAX` for none (it
    /// blocks until an event), 0 from its claim until it has stored its deadline (Go's
    /// `pollUntil`).
    until: AtomicU64,
    /// `probe::clock` time of the last poll; 0 while an M holds the poll, from its claim to the
    /// end of its `epoll_wait` (Go's `lastpoll`).
    lastpoll: AtomicU64,
    /// Parked readers and writers, and sockets registered: whether polling is worth it.
    registered: AtomicUsize,
    /// Free descriptors for reuse.
    cache: Mutex<Vec<&'static PollDesc>>,
    /// Socket operations of goroutines that the kernel answered `EAGAIN` (`Stats`).
    would_blocks: AtomicU64,
}

impl NetPoll {
    pub(crate) fn new() -> io::Result<NetPoll> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKER_TOKEN)?;
        Ok(NetPoll {
            poll: Mutex::new((poll, Events::with_capacity(1024))),
            registry,
            waker,
            until: AtomicU64::new(0),
            lastpoll: AtomicU64::new(probe::clock::now_ns()),
            registered: AtomicUsize::new(0),
            cache: Mutex::new(Vec::new()),
            would_blocks: AtomicU64::new(0),
        })
    }

    /// Registers `source` once, edge-triggered for reading and writing (Go's `poll_runtime_pollOpen`).
    pub(crate) fn open<S: mio::event::Source + ?Sized>(
        &self,
        source: &mut S,
    ) -> io::Result<&'static PollDesc> {
        let pd = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| Box::leak(Box::new(PollDesc::new())));
        pd.seq.fetch_add(1, Ordering::Relaxed);
        pd.rg.reset();
        pd.wg.reset();
        pd.closing.store(false, Ordering::Relaxed);
        pd.rd_expired.store(false, Ordering::Relaxed);
        pd.wd_expired.store(false, Ordering::Relaxed);
        if let Err(e) =
            self.registry
                .register(source, pd.token(), Interest::READABLE | Interest::WRITABLE)
        {
            self.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pd);
            return Err(e);
        }
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(pd)
    }

    /// Deregisters `source` and recycles its descriptor; returns the goroutines to ready.
    pub(crate) fn close<S: mio::event::Source + ?Sized>(
        &self,
        source: &mut S,
        pd: &'static PollDesc,
    ) -> Vec<GRef> {
        let _ = self.registry.deregister(source);
        let woken = pd.close();
        self.registered.fetch_sub(1, Ordering::Relaxed);
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pd);
        woken
    }

    /// Whether any socket is registered (else there is nothing to poll for).
    pub(crate) fn has_sockets(&self) -> bool {
        self.registered.load(Ordering::Relaxed) > 0
    }

    /// Polls without blocking if no other M is polling; returns the goroutines made ready.
    pub(crate) fn poll_now(&self) -> Vec<GRef> {
        match self.poll.try_lock() {
            Ok(mut guard) => {
                let ready = self.poll_locked(&mut guard, Some(Duration::ZERO));
                // Record the poll, unless an M has meanwhile become the blocking poller.
                let now = probe::clock::now_ns().max(1);
                let _ = self
                    .lastpoll
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                        (last != 0).then_some(now)
                    });
                ready
            }
            Err(_) => Vec::new(),
        }
    }

    /// Blocks in the poll until an event, `until` (a `probe::clock` time; `u64::MAX`: no
    /// deadline), or `netpoll_break`. Returns None at once when another M is the blocking
    /// poller, after waking it if `until` is earlier than its deadline.
    ///
    /// Who blocks is decided by swapping `lastpoll` to 0 (Go's `sched.lastpoll.Swap(0)`), not by
    /// the lock: a non-blocking `poll_now` may hold the lock for a moment, and an M that took
    /// that for a blocked poller and parked could leave nobody polling at all.
    pub(crate) fn block_until(&self, until: u64) -> Option<Vec<GRef>> {
        if self.lastpoll.swap(0, Ordering::SeqCst) == 0 {
            self.wake_if_later(until);
            return None;
        }
        let mut guard = self.poll.lock().unwrap_or_else(|e| e.into_inner());
        self.until.store(until, Ordering::SeqCst);
        let timeout = if until == u64::MAX {
            None
        } else {
            Some(Duration::from_nanos(
                until.saturating_sub(probe::clock::now_ns()),
            ))
        };
        let ready = self.poll_locked(&mut guard, timeout);
        self.until.store(0, Ordering::SeqCst);
        self.lastpoll
            .store(probe::clock::now_ns().max(1), Ordering::SeqCst);
        Some(ready)
    }

    fn poll_locked(&self, guard: &mut (Poll, Events), timeout: Option<Duration>) -> Vec<GRef> {
        let (poll, events) = guard;
        let mut ready = Vec::new();
        if let Err(e) = poll.poll(events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                super::g::fatal(&format!("netpoll: epoll_wait failed: {e}"));
            }
        }
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            let token = event.token().0;
            let addr = token & ADDR_MASK;
            // SAFETY: tokens are made by `PollDesc::token` from descriptors that are never freed
            // (they are leaked and recycled), so the address is a live `PollDesc`.
            let pd = unsafe { &*(addr as *const PollDesc) };
            let seq = (pd.seq.load(Ordering::Relaxed) as usize) & ((1 << (64 - ADDR_BITS)) - 1);
            if token >> ADDR_BITS != seq {
                continue; // a stale event of the descriptor's previous socket
            }
            let (r_closed, w_closed) = (
                event.is_read_closed() || event.is_error(),
                event.is_write_closed() || event.is_error(),
            );
            let (r, w) = (
                event.is_readable() || r_closed,
                event.is_writable() || w_closed,
            );
            if r {
                ready.extend(to_g(pd.rg.deliver(r_closed)));
            }
            if w {
                ready.extend(to_g(pd.wg.deliver(w_closed)));
            }
        }
        ready
    }

    /// Wakes the M that holds the poll, whatever its deadline (Go's `netpollBreak`).
    pub(crate) fn wake(&self) {
        self.wake_if_later(0);
    }

    /// Wakes the M that holds the poll if it would sleep past `when` (Go's `wakeNetPoller`).
    /// Decided by the claim (`lastpoll` 0), not by whether that M is in `epoll_wait` yet: one
    /// that has claimed the poll but not yet stored its deadline (`until` 0) is woken too, and
    /// the eventfd stays readable until its `epoll_wait` sees it. Deciding by "blocked now" lost
    /// the wake-up of a timer armed in between: the M then slept to its older deadline, or for
    /// good when it had none and sockets were registered (found by review, session 10).
    pub(crate) fn wake_if_later(&self, when: u64) {
        if self.lastpoll.load(Ordering::SeqCst) == 0 {
            let until = self.until.load(Ordering::SeqCst);
            if until == 0 || when < until {
                let _ = self.waker.wake();
            }
        }
    }

    /// Counts a socket operation that found its socket not ready.
    pub(crate) fn count_would_block(&self) {
        self.would_blocks.fetch_add(1, Ordering::Relaxed);
    }

    /// Socket operations of goroutines that found their socket not ready so far.
    pub(crate) fn would_blocks(&self) -> u64 {
        self.would_blocks.load(Ordering::Relaxed)
    }

    /// `probe::clock` time of the last poll, or 0 while an M holds the poll.
    pub(crate) fn lastpoll(&self) -> u64 {
        self.lastpoll.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::NetPoll;

    /// The rule that fixed a lost poller: an M that finds the poll's lock held by a passing
    /// non-blocking poll still becomes the blocking poller (it waits for the lock), because the
    /// choice is made by `lastpoll`, not by the lock. Before, it returned at once and parked,
    /// and with every M parked nobody polled the network at all.
    #[test]
    fn a_held_lock_does_not_stop_an_m_from_becoming_the_blocking_poller() {
        let np: &'static NetPoll = Box::leak(Box::new(NetPoll::new().unwrap()));
        let (held, release) = (mpsc::channel(), mpsc::channel::<()>());
        let (held_tx, held_rx) = held;
        let (release_tx, release_rx) = release;
        // A non-blocking poll in progress, as sysmon's or a spinning M's.
        let holder = std::thread::spawn(move || {
            let _guard = np.poll.lock().unwrap();
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        held_rx.recv().unwrap();
        let blocker = std::thread::spawn(move || {
            let until = probe::clock::now_ns() + Duration::from_millis(20).as_nanos() as u64;
            np.block_until(until).is_some()
        });
        std::thread::sleep(Duration::from_millis(50));
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        assert!(
            blocker.join().unwrap(),
            "the M gave up polling because the lock was busy"
        );
        // Done polling, it records the poll: the next idle M may become the blocking poller.
        assert_ne!(np.lastpoll(), 0);
    }

    /// An earlier timer armed while an M has claimed the poll but not yet stored its deadline
    /// (here: it waits for the poll's lock) wakes it: its `epoll_wait` returns at once instead of
    /// sleeping out its own deadline, a minute here. Deciding by "blocked in epoll_wait now" lost
    /// this wake-up.
    #[test]
    fn a_timer_armed_before_the_poller_blocks_still_wakes_it() {
        let np: &'static NetPoll = Box::leak(Box::new(NetPoll::new().unwrap()));
        let guard = np.poll.lock().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let until = probe::clock::now_ns() + Duration::from_secs(60).as_nanos() as u64;
            let started = std::time::Instant::now();
            np.block_until(until);
            let _ = done_tx.send(started.elapsed());
        });
        // Wait for the claim (it then waits for the lock we hold).
        let claimed_by = std::time::Instant::now() + Duration::from_secs(30);
        while np.lastpoll() != 0 {
            assert!(
                std::time::Instant::now() < claimed_by,
                "the M never claimed the poll"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        np.wake_if_later(probe::clock::now_ns() + Duration::from_millis(1).as_nanos() as u64);
        drop(guard);
        let slept = done_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the poller slept on past the earlier timer");
        assert!(slept < Duration::from_secs(30), "slept {slept:?}");
    }
}
