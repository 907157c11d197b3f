//! Channels, after Go's `runtime/chan.go`: a lock, a ring buffer, and two FIFO queues of waiting
//! senders and receivers (`sudog`s, which live on the waiters' own stacks).
//!
//! ```text
//!   Chan<T> { lock: Mutex<State<T>> }
//!   State { buf: [v v v _ _] (cap), sendq: [sudog..], recvq: [sudog..], closed }
//!   sudog (on the waiter's stack) { waiter: G or thread, elem: Option<T>, success, select? }
//! ```
//!
//! Invariants (Go's, from chan.go):
//! - At least one of `sendq` and `recvq` is empty, except when one goroutine selects on both
//!   sending and receiving on the same unbuffered channel.
//! - Buffered: `buf` non-empty ⇒ `recvq` empty; `buf` not full ⇒ `sendq` empty.
//! - A sudog is on a queue only while its owner is blocked; whoever dequeues it (under the lock)
//!   completes it exactly once: moves the element, sets `success`, then wakes the owner after
//!   releasing the lock. A sudog of a `select` is claimed first with a CAS on the select's `done`
//!   flag; a claim that fails means another case won, and the sudog is skipped.
//!
//! Differences from Go, each what a Rust programmer expects:
//! - Sending on a closed channel returns the value in `SendError` instead of panicking; closing
//!   twice is a no-op that returns false.
//! - Dropping the last `Sender` closes the channel; dropping the last `Receiver` makes every send
//!   fail with its value (in Go such sends block forever).

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::loom::{AtomicBool, AtomicUsize, Ordering};
use crate::runtime::g::WaitReason;
use crate::runtime::park::{block, Waiter};

/// Creates a channel: `cap == 0` is Go's unbuffered rendezvous, `cap > 0` a FIFO buffer of that
/// many values.
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let c = Arc::new(Chan {
        state: Mutex::new(State {
            buf: VecDeque::with_capacity(cap.min(4096)),
            closed: false,
            sendq: VecDeque::new(),
            recvq: VecDeque::new(),
        }),
        cap,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (Sender { chan: c.clone() }, Receiver { chan: c })
}

/// State shared by the sudogs of one `select`, on the selecting goroutine's stack.
pub(crate) struct SelectShared {
    pub(crate) done: AtomicBool,
    pub(crate) winner: AtomicUsize,
}

/// A waiting sender or receiver (Go's `sudog`).
pub(crate) struct Sudog<T> {
    pub(crate) waiter: Waiter,
    /// Send: the value to hand over. Receive: where the value is delivered.
    pub(crate) elem: UnsafeCell<Option<T>>,
    /// True when completed by a partner, false when woken by close.
    pub(crate) success: Cell<bool>,
    pub(crate) select: *const SelectShared,
    pub(crate) case: usize,
}

impl<T> Sudog<T> {
    pub(crate) fn new(
        waiter: Waiter,
        elem: Option<T>,
        select: *const SelectShared,
        case: usize,
    ) -> Self {
        Sudog {
            waiter,
            elem: UnsafeCell::new(elem),
            success: Cell::new(false),
            select,
            case,
        }
    }
}

pub(crate) struct State<T> {
    pub(crate) buf: VecDeque<T>,
    pub(crate) closed: bool,
    pub(crate) sendq: VecDeque<*const Sudog<T>>,
    pub(crate) recvq: VecDeque<*const Sudog<T>>,
}

pub(crate) struct Chan<T> {
    pub(crate) state: Mutex<State<T>>,
    pub(crate) cap: usize,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

// SAFETY: the raw sudog pointers in `State` are touched only under `state`'s lock, and point to
// sudogs whose owners stay blocked (their stack frames alive) until dequeued; values of T cross
// threads, hence T: Send.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Chan<T> {}

/// What a sudog's completer must do after releasing the lock.
pub(crate) struct Wake(Waiter);

impl Wake {
    pub(crate) fn wake(self) {
        self.0.wake();
    }
}

/// Takes the first sudog of `q` that can be claimed (Go's `waitq.dequeue`).
///
/// # Safety
/// The caller holds the lock of the channel that owns `q`.
pub(crate) unsafe fn dequeue<T>(q: &mut VecDeque<*const Sudog<T>>) -> Option<&Sudog<T>> {
    while let Some(sg) = q.pop_front() {
        // SAFETY: a queued sudog's owner is blocked, so it is alive; we hold the lock.
        let s = unsafe { &*sg };
        if !s.select.is_null() {
            // SAFETY: the select's shared state outlives its sudogs.
            let sel = unsafe { &*s.select };
            if sel
                .done
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            sel.winner.store(s.case, Ordering::Release);
        }
        return Some(s);
    }
    None
}

impl<T> Chan<T> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }

    pub(crate) fn no_receivers(&self) -> bool {
        self.receivers.load(Ordering::Acquire) == 0
    }

    /// Under the lock: tries to send without blocking. Returns the value back if it would block.
    pub(crate) fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
    ) -> Result<Option<Wake>, TrySendError<T>> {
        if st.closed || self.no_receivers() {
            return Err(TrySendError::Closed(v));
        }
        // SAFETY: we hold the lock.
        if let Some(sg) = unsafe { dequeue(&mut st.recvq) } {
            // A receiver waits: hand the value straight to it (Go's `send`).
            // SAFETY: the receiver is blocked; its elem is ours to fill under the lock.
            unsafe { *sg.elem.get() = Some(v) };
            sg.success.set(true);
            return Ok(Some(Wake(sg.waiter.clone())));
        }
        if st.buf.len() < self.cap {
            st.buf.push_back(v);
            return Ok(None);
        }
        Err(TrySendError::Full(v))
    }

    /// Under the lock: tries to receive without blocking.
    pub(crate) fn try_recv_locked(
        &self,
        st: &mut State<T>,
    ) -> Result<(T, Option<Wake>), TryRecvError> {
        // SAFETY: we hold the lock.
        if let Some(sg) = unsafe { dequeue(&mut st.sendq) } {
            // SAFETY: the sender is blocked; its elem is ours to take under the lock.
            let sent = unsafe { (*sg.elem.get()).take() };
            let Some(sent) = sent else {
                crate::runtime::g::fatal("blocked sender without a value")
            };
            sg.success.set(true);
            let wake = Some(Wake(sg.waiter.clone()));
            if self.cap == 0 {
                return Ok((sent, wake));
            }
            // Full buffer: take the head, the sender's value goes to the tail (Go's `recv`).
            let Some(head) = st.buf.pop_front() else {
                crate::runtime::g::fatal("sender waiting on a buffered channel with room")
            };
            st.buf.push_back(sent);
            return Ok((head, wake));
        }
        if let Some(v) = st.buf.pop_front() {
            return Ok((v, None));
        }
        if st.closed {
            return Err(TryRecvError::Closed);
        }
        Err(TryRecvError::Empty)
    }

    /// Closes the channel and wakes every waiter; returns false if it was already closed.
    fn close(&self) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        st.closed = true;
        let wakes = drain_waiters(&mut st);
        drop(st);
        wakes.into_iter().for_each(Wake::wake);
        true
    }

    /// Wakes blocked senders with failure once no receiver is left.
    fn receivers_gone(&self) {
        let mut st = self.lock();
        let mut wakes = Vec::new();
        // SAFETY: we hold the lock.
        while let Some(sg) = unsafe { dequeue(&mut st.sendq) } {
            sg.success.set(false);
            wakes.push(Wake(sg.waiter.clone()));
        }
        drop(st);
        wakes.into_iter().for_each(Wake::wake);
    }
}

fn drain_waiters<T>(st: &mut State<T>) -> Vec<Wake> {
    let mut wakes = Vec::new();
    // SAFETY: we hold the lock (the caller passes the guarded state).
    while let Some(sg) = unsafe { dequeue(&mut st.recvq) } {
        sg.success.set(false);
        wakes.push(Wake(sg.waiter.clone()));
    }
    // SAFETY: as above.
    while let Some(sg) = unsafe { dequeue(&mut st.sendq) } {
        sg.success.set(false);
        wakes.push(Wake(sg.waiter.clone()));
    }
    wakes
}

/// The sending half of a channel. Clone it for more senders; dropping the last one closes the
/// channel.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

/// The receiving half of a channel. Clone it for more receivers.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

/// The channel was closed, or every receiver dropped; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// A non-blocking send failed; the value comes back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full and no receiver waits.
    Full(T),
    /// The channel is closed or has no receivers.
    Closed(T),
}

/// The channel is closed and drained.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct RecvError;

/// A non-blocking receive failed.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing to receive yet.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}
impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a closed channel")
    }
}
impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}
impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("send on a full channel"),
            TrySendError::Closed(_) => f.write_str("send on a closed channel"),
        }
    }
}
impl<T> std::error::Error for TrySendError<T> {}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receive on a closed, empty channel")
    }
}
impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receive on an empty channel"),
            TryRecvError::Closed => f.write_str("receive on a closed, empty channel"),
        }
    }
}
impl std::error::Error for TryRecvError {}

impl<T> Sender<T> {
    /// Sends `v`, parking the goroutine (or blocking the thread) until a receiver takes it or
    /// there is room in the buffer. Fails with the value back if the channel is closed or every
    /// receiver is gone, including while blocked.
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        crate::runtime::preempt_check();
        let mut st = self.chan.lock();
        match self.chan.try_send_locked(&mut st, v) {
            Ok(wake) => {
                drop(st);
                if let Some(w) = wake {
                    w.wake();
                }
                Ok(())
            }
            Err(TrySendError::Closed(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => {
                let me = Waiter::current();
                let sg = Sudog::new(me.clone(), Some(v), std::ptr::null(), 0);
                st.sendq.push_back(&sg);
                block(&me, WaitReason::ChanSend, move || drop(st));
                if sg.success.get() {
                    Ok(())
                } else {
                    match sg.elem.into_inner() {
                        Some(v) => Err(SendError(v)),
                        None => Ok(()),
                    }
                }
            }
        }
    }

    /// Sends without blocking.
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        crate::runtime::preempt_check();
        let mut st = self.chan.lock();
        let r = self.chan.try_send_locked(&mut st, v);
        drop(st);
        match r {
            Ok(Some(w)) => {
                w.wake();
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Closes the channel (Go's `close`): receivers drain the buffer, then see it closed; blocked
    /// and later senders fail. Returns false if it was already closed.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (or has no receivers left).
    pub fn is_closed(&self) -> bool {
        self.chan.no_receivers() || self.chan.lock().closed
    }

    /// Values in the buffer now.
    pub fn len(&self) -> usize {
        self.chan.lock().buf.len()
    }

    /// Whether the buffer is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (0 for an unbuffered channel).
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }

    /// Whether two senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Receiver<T> {
    /// Receives a value, parking the goroutine (or blocking the thread) until one is sent. Fails
    /// once the channel is closed (or every sender dropped) and the buffer is drained.
    pub fn recv(&self) -> Result<T, RecvError> {
        crate::runtime::preempt_check();
        let mut st = self.chan.lock();
        match self.chan.try_recv_locked(&mut st) {
            Ok((v, wake)) => {
                drop(st);
                if let Some(w) = wake {
                    w.wake();
                }
                Ok(v)
            }
            Err(TryRecvError::Closed) => Err(RecvError),
            Err(TryRecvError::Empty) => {
                let me = Waiter::current();
                let sg = Sudog::new(me.clone(), None, std::ptr::null(), 0);
                st.recvq.push_back(&sg);
                block(&me, WaitReason::ChanReceive, move || drop(st));
                match (sg.success.get(), sg.elem.into_inner()) {
                    (true, Some(v)) => Ok(v),
                    _ => Err(RecvError),
                }
            }
        }
    }

    /// Receives without blocking.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        crate::runtime::preempt_check();
        let mut st = self.chan.lock();
        let r = self.chan.try_recv_locked(&mut st);
        drop(st);
        r.map(|(v, wake)| {
            if let Some(w) = wake {
                w.wake();
            }
            v
        })
    }

    /// A blocking iterator over received values; ends when the channel is closed and drained.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// A non-blocking iterator over the values available now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether the channel is closed (it may still hold buffered values).
    pub fn is_closed(&self) -> bool {
        self.chan.lock().closed
    }

    /// Values in the buffer now.
    pub fn len(&self) -> usize {
        self.chan.lock().buf.len()
    }

    /// Whether the buffer is empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's capacity (0 for an unbuffered channel).
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.receivers_gone();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("cap", &self.chan.cap)
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("cap", &self.chan.cap)
            .finish()
    }
}

/// Blocking iterator returned by [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator returned by [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator: `for v in rx { .. }`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
