//! setImmediate (Node lib/timers.js `setImmediate`, lib/internal/timers.js `processImmediate`,
//! src/env.cc `CheckImmediate`).
//!
//! Invariants:
//! - Immediates run in the check phase, from one check handle that is always active but
//!   unreferenced; while referenced immediates are pending, an idle handle is active so that
//!   poll does not block (`ToggleImmediateRef`).
//! - `processImmediate` runs only the immediates queued before it started (Node detaches the
//!   whole queue): immediates queued while it runs wait for the next iteration, so a chain of
//!   immediates cannot starve I/O.
//! - Between any two immediates, `runNextTicks()`; after the last, the callback scope drains.
//!
//! ```text
//!   check phase ─> CheckImmediate: if count == 0 return
//!                    processImmediate: n = immediateQueue.length
//!                      for each of the first n: runNextTicks() (not before the first);
//!                                               skip if cleared; run
//!                    (scope close: ticks + microtasks)
//!                  if refCount == 0: stop the idle handle
//! ```
//!
//! An immediate is one allocation: its state flags and its callback in one `Rc`. When an
//! immediate has run and nothing else holds its cell, the cell is kept as the spare; the next
//! `setImmediate` whose callback has the same type refills it instead of allocating (a chain
//! scheduled from one call site allocates once). A cell a program still holds (an
//! `Immediate` handle) is never reused, so an old handle always refers to its own immediate.
//! Node keeps the rest of a queue whose callback threw for the next check phase
//! (`outstandingQueue`); here a throw ends the run, so nothing is left to keep.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::mem::MaybeUninit;
use std::ptr::addr_of_mut;
use std::rc::Rc;

use super::task_queues::run_next_ticks;
use super::{installed_unchecked, with_env, Env};

/// An immediate's cell, type-erased.
///
/// # Safety
///
/// An implementor is a `#[repr(C)]` struct whose first field is its [`ImmediateState`]:
/// [`state`] reads the state at the object's address, with no call through the vtable.
pub(crate) unsafe trait ImmediateJob {
    fn run(&self);
    fn drop_callback(&self);
}

pub(crate) struct ImmediateState {
    destroyed: Cell<bool>,
    refed: Cell<bool>,
    /// The type of the cell's callback, so that a spare cell is recognised by a compare of
    /// this field (`Rc::downcast` calls through the vtable for it and reloads the 16-byte id
    /// from the stack, a store-forwarding stall on every reuse).
    callback_type: TypeId,
}

#[repr(C)]
struct ImmediateCell<F> {
    state: ImmediateState,
    callback: Cell<Option<F>>,
}

// SAFETY: `ImmediateCell` is `#[repr(C)]` with its `ImmediateState` first.
unsafe impl<F: FnOnce() + 'static> ImmediateJob for ImmediateCell<F> {
    fn run(&self) {
        if let Some(callback) = self.callback.take() {
            callback();
        }
    }

    fn drop_callback(&self) {
        drop(self.callback.take());
    }
}

/// An immediate's state, at the object's address (see [`ImmediateJob`]).
#[inline(always)]
fn state(job: &dyn ImmediateJob) -> &ImmediateState {
    let object: *const dyn ImmediateJob = job;
    // SAFETY: every `ImmediateJob` starts with its `ImmediateState` (the trait's contract),
    // and the returned borrow lives no longer than the borrow of the object.
    unsafe { &*object.cast::<ImmediateState>() }
}

/// A pending `setImmediate`, as returned by it (Node's `Immediate`).
#[derive(Clone)]
pub struct Immediate(Rc<dyn ImmediateJob>);

impl fmt::Debug for Immediate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Immediate")
            .field("destroyed", &state(&*self.0).destroyed.get())
            .finish()
    }
}

#[derive(Default)]
pub(crate) struct Immediates {
    queue: RefCell<VecDeque<Rc<dyn ImmediateJob>>>,
    /// `immediateInfo[kCount]`.
    count: Cell<u32>,
    /// `immediateInfo[kRefCount]`.
    ref_count: Cell<u32>,
    /// Whether the idle handle is started (saves asking the loop on every toggle).
    idle_started: Cell<bool>,
    /// The cell of the last immediate that ran, when nothing else held it: the next
    /// `setImmediate` with a callback of the same type reuses it instead of allocating (a
    /// chain of immediates, each scheduling the next from one call site, allocates once).
    spare: Cell<Option<Rc<dyn ImmediateJob>>>,
}

impl Immediates {
    pub(crate) fn take_all(&self) -> VecDeque<Rc<dyn ImmediateJob>> {
        drop(self.spare.take());
        self.queue.take()
    }
}

/// Runs `callback` in the check phase of this or the next iteration (`setImmediate`).
#[inline]
pub fn set_immediate<F: FnOnce() + 'static>(callback: F) -> Immediate {
    // SAFETY: `schedule_immediate` runs and drops no user code: it refills or allocates a
    // cell (a spare it replaces has run its callback already, so dropping it drops none), counts,
    // starts the idle handle (whose old callback, if any, is the environment's own no-op) and
    // pushes onto the queue.
    match unsafe { installed_unchecked() } {
        Some(env) => schedule_immediate(env, callback),
        None => set_immediate_creating_env(callback),
    }
}

/// [`set_immediate`] on a thread with no environment yet.
#[cold]
#[inline(never)]
fn set_immediate_creating_env<F: FnOnce() + 'static>(callback: F) -> Immediate {
    with_env(|env| schedule_immediate(env, callback))
}

/// [`set_immediate`] with the environment borrowed.
#[inline(always)]
fn schedule_immediate<F: FnOnce() + 'static>(env: &Env, callback: F) -> Immediate {
    let immediates = &env.immediates;
    let cell: Rc<dyn ImmediateJob> = match immediates.spare.take() {
        Some(spare) if state(&*spare).callback_type == TypeId::of::<F>() => {
            // SAFETY: every `ImmediateJob` is an `ImmediateCell<G>` whose state records
            // `TypeId::of::<G>()` (only `new_immediate_cell` makes one); the ids are equal,
            // so `G` is `F` and the allocation holds an `ImmediateCell<F>`.
            let mut spare = unsafe { Rc::from_raw(Rc::into_raw(spare).cast::<ImmediateCell<F>>()) };
            match Rc::get_mut(&mut spare) {
                Some(reused) => {
                    reused.state.destroyed.set(false);
                    reused.state.refed.set(true);
                    *reused.callback.get_mut() = Some(callback);
                    spare
                }
                None => new_immediate_cell(callback),
            }
        }
        _ => new_immediate_cell(callback),
    };
    immediates.count.set(immediates.count.get() + 1);
    let refs = immediates.ref_count.get();
    immediates.ref_count.set(refs + 1);
    if refs == 0 {
        toggle_immediate_ref(env, true);
    }
    immediates.queue.borrow_mut().push_back(cell.clone());
    Immediate(cell)
}

/// A new immediate's cell, one allocation.
#[inline]
fn new_immediate_cell<F: FnOnce() + 'static>(callback: F) -> Rc<ImmediateCell<F>> {
    // Written field by field into the allocation: `Rc::new` of the whole cell builds it on the
    // stack and copies it with wide loads of fields just stored narrow, a store-forwarding
    // stall on every `setImmediate` on this CPU (see `Promise::derive`).
    let mut uninit = Rc::new(MaybeUninit::<ImmediateCell<_>>::uninit());
    let Some(slot) = Rc::get_mut(&mut uninit) else {
        unreachable!("a new Rc has no other reference")
    };
    let cell = slot.as_mut_ptr();
    // SAFETY: `cell` points to the new, unshared allocation's value; each field is written
    // once, in place, before anything reads it.
    unsafe {
        addr_of_mut!((*cell).state).write(ImmediateState {
            destroyed: Cell::new(false),
            refed: Cell::new(true),
            callback_type: TypeId::of::<F>(),
        });
        addr_of_mut!((*cell).callback).write(Cell::new(Some(callback)));
    }
    // SAFETY: every field was written above.
    unsafe { uninit.assume_init() }
}

/// Cancels an immediate that has not run (`clearImmediate`).
pub fn clear_immediate(immediate: &Immediate) {
    let state = state(&*immediate.0);
    if state.destroyed.get() {
        return;
    }
    with_env(|env| {
        let immediates = &env.immediates;
        immediates
            .count
            .set(immediates.count.get().saturating_sub(1));
        if state.refed.replace(false) {
            let refs = immediates.ref_count.get().saturating_sub(1);
            immediates.ref_count.set(refs);
            if refs == 0 {
                toggle_immediate_ref(env, false);
            }
        }
    });
    state.destroyed.set(true);
    immediate.0.drop_callback();
}

impl Immediate {
    /// Stops this immediate from keeping the loop alive (`immediate.unref()`).
    pub fn unref(&self) {
        let state = state(&*self.0);
        if state.destroyed.get() || !state.refed.replace(false) {
            return;
        }
        with_env(|env| {
            let refs = env.immediates.ref_count.get().saturating_sub(1);
            env.immediates.ref_count.set(refs);
            if refs == 0 {
                toggle_immediate_ref(env, false);
            }
        });
    }

    /// Makes it keep the loop alive again (`immediate.ref()`).
    pub fn ref_(&self) {
        let state = state(&*self.0);
        if state.destroyed.get() || state.refed.replace(true) {
            return;
        }
        with_env(|env| {
            let refs = env.immediates.ref_count.get();
            env.immediates.ref_count.set(refs + 1);
            if refs == 0 {
                toggle_immediate_ref(env, true);
            }
        });
    }

    /// Whether it keeps the loop alive (`immediate.hasRef()`).
    pub fn has_ref(&self) -> bool {
        state(&*self.0).refed.get()
    }
}

/// `ToggleImmediateRef`: the idle handle keeps poll from blocking.
#[inline]
fn toggle_immediate_ref(env: &Env, referenced: bool) {
    if env.immediates.idle_started.replace(referenced) != referenced {
        toggle_idle_handle(env, referenced);
    }
}

#[inline(never)]
fn toggle_idle_handle(env: &Env, referenced: bool) {
    if referenced {
        let _ = env.immediate_idle_handle.start(|| {});
    } else {
        env.immediate_idle_handle.stop();
    }
}

/// `CheckImmediate`: the check handle's callback (inlined into it: one call per iteration).
#[inline(always)]
pub(crate) fn check_immediate(env: &Env) {
    if env.immediates.count.get() == 0 {
        return;
    }
    env.make_callback(|| process_immediate(env));
    if env.immediates.ref_count.get() == 0 {
        toggle_immediate_ref(env, false);
    }
}

/// `processImmediate`: Node detaches the queue before running it; here the queue stays in
/// place and only the immediates that were in it on entry run (those queued meanwhile sit
/// behind them and wait for the next check phase), which is the same set in the same order
/// without moving the queue.
#[inline(always)]
fn process_immediate(env: &Env) {
    let immediates = &env.immediates;
    let mut remaining = immediates.queue.borrow().len();
    let mut ran_at_least_one = false;
    while remaining > 0 {
        remaining -= 1;
        let Some(immediate) = immediates.queue.borrow_mut().pop_front() else {
            break;
        };
        let state = state(&*immediate);
        if state.destroyed.get() {
            continue;
        }
        if ran_at_least_one {
            run_next_ticks(env);
            if state.destroyed.get() {
                continue;
            }
        } else {
            ran_at_least_one = true;
        }
        state.destroyed.set(true);
        immediates
            .count
            .set(immediates.count.get().saturating_sub(1));
        if state.refed.replace(false) {
            immediates
                .ref_count
                .set(immediates.ref_count.get().saturating_sub(1));
        }
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::Instant { name: "immediate" });
        }
        immediate.run();
        if Rc::strong_count(&immediate) == 1 {
            immediates.spare.set(Some(immediate));
        }
    }
}
