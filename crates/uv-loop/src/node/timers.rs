//! setTimeout and setInterval (Node lib/internal/timers.js and lib/timers.js).
//!
//! Invariants:
//! - A duration outside `1..=2^31-1` ms becomes 1 ms, with a `TimeoutOverflowWarning`
//!   (emitted on a nextTick) above the maximum; fractions are truncated when the timer is
//!   listed.
//! - One `TimersList` per duration: a FIFO of the timers with that duration, in insertion
//!   order, so timers of one duration fire in the order they were set.
//! - The lists sit in a priority queue keyed by `(expiry, id)`; `id` grows each time a list
//!   is (re)keyed, so ties go to the list keyed first.
//! - One libuv timer serves them all, armed for the earliest expiry; it is referenced while
//!   any referenced timer is pending (`timeoutInfo[0]`, the ref count).
//! - A timer's start (`_idleStart`) is `getLibuvNow()`, which updates the loop's cached time:
//!   Node reads the clock at every `setTimeout`.
//!
//! ```text
//!   uv timer fires ─> RunTimers: now = GetNow()
//!     processTimers(now): while (list = queue.peek()):
//!         if list.expiry > now: re-arm the uv timer for it; return
//!         runNextTicks() between lists
//!         listOnTimeout(list, now): while (timer = list.peek()):
//!             if now - timer.start < list.msecs: list.expiry = max(start + msecs, now + 1);
//!                                                re-key list; return
//!             runNextTicks() between timers; list.remove(timer); timer callback
//!             (an interval is listed again with start = the time before its callback)
//!         list empty: delete it from the map and the queue
//!   (InternalCallbackScope closes: ticks and microtasks after the last callback)
//! ```
//!
//! Cleared timers are marked and skipped when they reach the front of their list, instead of
//! being unlinked from the middle; each list counts its live timers, and a list left with
//! none is removed at once, as `unenroll` removes an empty list.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use super::task_queues::run_next_ticks;
use super::warning::{emit_warning, Warning};
use super::{with_env, Env};

/// Node's `TIMEOUT_MAX`: 2^31 - 1 ms.
pub const TIMEOUT_MAX: f64 = 2_147_483_647.0;

struct TimeoutCell {
    /// `_idleStart`: loop time when it was listed.
    idle_start: Cell<u64>,
    /// `_idleTimeout` truncated: the list it belongs to; -1 once cleared or finished.
    idle_timeout: Cell<i64>,
    /// `_repeat` for intervals.
    repeat: Option<u64>,
    refed: Cell<bool>,
    destroyed: Cell<bool>,
    /// `_onTimeout === null`: cleared by `clearTimeout`.
    cleared: Cell<bool>,
    /// `(list key, list serial)` while listed.
    list: Cell<Option<(usize, u64)>>,
    callback: RefCell<Option<Box<dyn FnMut()>>>,
}

/// A pending `setTimeout` or `setInterval`, as returned by them (Node's `Timeout`).
#[derive(Clone)]
pub struct Timeout(Rc<TimeoutCell>);

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("idle_timeout", &self.0.idle_timeout.get())
            .field("repeat", &self.0.repeat)
            .finish()
    }
}

pub(crate) struct TimersList {
    msecs: u64,
    expiry: u64,
    id: u64,
    serial: u64,
    position: usize,
    timers: VecDeque<Rc<TimeoutCell>>,
    live: usize,
}

#[derive(Default)]
struct TimersState {
    lists: Vec<Option<TimersList>>,
    free: Vec<usize>,
    by_msecs: HashMap<u64, usize>,
    /// Binary heap of list keys, ordered by `(expiry, id)`.
    queue: Vec<usize>,
    next_list_id: u64,
    next_serial: u64,
    /// `nextExpiry`; `u64::MAX` for Infinity.
    next_expiry: Option<u64>,
}

#[derive(Default)]
pub(crate) struct Timers {
    state: RefCell<TimersState>,
    /// `timeoutInfo[0]`: referenced timers pending.
    ref_count: Cell<u32>,
}

impl Timers {
    /// Empties every list; the caller drops them outside the borrow.
    pub(crate) fn take_all(&self) -> Vec<Option<TimersList>> {
        let mut state = self.state.borrow_mut();
        state.queue.clear();
        state.by_msecs.clear();
        std::mem::take(&mut state.lists)
    }
}

impl TimersState {
    fn less(&self, a: usize, b: usize) -> bool {
        let (Some(a), Some(b)) = (&self.lists[a], &self.lists[b]) else {
            return false;
        };
        (a.expiry, a.id) < (b.expiry, b.id)
    }

    fn set_position(&mut self, index: usize) {
        let key = self.queue[index];
        if let Some(list) = &mut self.lists[key] {
            list.position = index;
        }
    }

    fn percolate_up(&mut self, mut index: usize) {
        while index > 0 {
            let parent = (index - 1) / 2;
            if !self.less(self.queue[index], self.queue[parent]) {
                break;
            }
            self.queue.swap(index, parent);
            self.set_position(index);
            index = parent;
        }
        self.set_position(index);
    }

    fn percolate_down(&mut self, mut index: usize) {
        let len = self.queue.len();
        loop {
            let left = 2 * index + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.less(self.queue[right], self.queue[left]) {
                right
            } else {
                left
            };
            if !self.less(self.queue[child], self.queue[index]) {
                break;
            }
            self.queue.swap(index, child);
            self.set_position(index);
            index = child;
        }
        if index < len {
            self.set_position(index);
        }
    }

    fn remove_at(&mut self, position: usize) {
        let last = self.queue.len() - 1;
        self.queue.swap(position, last);
        self.queue.pop();
        if position < self.queue.len() {
            self.set_position(position);
            self.percolate_down(position);
            self.percolate_up(position);
        }
    }

    fn list(&self, key: usize, serial: u64) -> Option<&TimersList> {
        self.lists
            .get(key)?
            .as_ref()
            .filter(|list| list.serial == serial)
    }

    fn list_mut(&mut self, key: usize, serial: u64) -> Option<&mut TimersList> {
        self.lists
            .get_mut(key)?
            .as_mut()
            .filter(|list| list.serial == serial)
    }

    /// Deletes a list from the map and the queue (`delete timerListMap[msecs]` + removal).
    fn delete_list(&mut self, key: usize) -> Option<TimersList> {
        let list = self.lists.get_mut(key)?.take()?;
        if self.by_msecs.get(&list.msecs) == Some(&key) {
            self.by_msecs.remove(&list.msecs);
        }
        if self.queue.get(list.position) == Some(&key) {
            self.remove_at(list.position);
        }
        self.free.push(key);
        Some(list)
    }
}

/// The delay Node uses for `after` ms: `after` if within `1..=TIMEOUT_MAX`, else 1.
pub fn coerce_delay(after: f64) -> u64 {
    if (1.0..=TIMEOUT_MAX).contains(&after) {
        after as u64
    } else {
        1
    }
}

/// Runs `callback` once after `after` ms (`setTimeout`). Delays outside `1..=2^31-1`
/// (0, negative, NaN, too large) become 1 ms, as in Node.
pub fn set_timeout(callback: impl FnOnce() + 'static, after: impl Into<f64>) -> Timeout {
    let mut callback = Some(callback);
    new_timeout(
        Box::new(move || {
            if let Some(callback) = callback.take() {
                callback();
            }
        }),
        after.into(),
        false,
    )
}

/// Runs `callback` every `repeat` ms until cleared (`setInterval`).
pub fn set_interval(callback: impl FnMut() + 'static, repeat: impl Into<f64>) -> Timeout {
    new_timeout(Box::new(callback), repeat.into(), true)
}

/// Cancels a timeout or interval (`clearTimeout`); clearing twice does nothing.
pub fn clear_timeout(timeout: &Timeout) {
    with_env(|env| {
        let cell = &timeout.0;
        if cell.cleared.replace(true) {
            return;
        }
        let callback = cell.callback.borrow_mut().take();
        unenroll(env, cell);
        drop(callback);
    });
}

/// Same as [`clear_timeout`] (`clearInterval`).
pub fn clear_interval(timeout: &Timeout) {
    clear_timeout(timeout);
}

impl Timeout {
    /// Stops this timer from keeping the loop alive (`timeout.unref()`).
    pub fn unref(&self) {
        let cell = &self.0;
        if cell.refed.get() {
            cell.refed.set(false);
            if !cell.destroyed.get() {
                with_env(dec_ref_count);
            }
        }
    }

    /// Makes this timer keep the loop alive again (`timeout.ref()`).
    pub fn ref_(&self) {
        let cell = &self.0;
        if !cell.refed.get() {
            cell.refed.set(true);
            if !cell.destroyed.get() {
                with_env(inc_ref_count);
            }
        }
    }

    /// Whether it keeps the loop alive (`timeout.hasRef()`).
    pub fn has_ref(&self) -> bool {
        self.0.refed.get()
    }

    /// The delay Node stored after coercion (`_idleTimeout`), -1 once cleared or fired.
    pub fn idle_timeout(&self) -> i64 {
        self.0.idle_timeout.get()
    }
}

fn new_timeout(callback: Box<dyn FnMut()>, after: f64, repeat: bool) -> Timeout {
    if after > TIMEOUT_MAX {
        emit_warning(Warning::new(
            "TimeoutOverflowWarning",
            format!(
                "{} does not fit into a 32-bit signed integer.\nTimeout duration was set to 1.",
                js_number(after)
            ),
        ));
    }
    let delay = coerce_delay(after);
    let cell = Rc::new(TimeoutCell {
        idle_start: Cell::new(0),
        idle_timeout: Cell::new(delay as i64),
        repeat: repeat.then_some(delay),
        refed: Cell::new(true),
        destroyed: Cell::new(false),
        cleared: Cell::new(false),
        list: Cell::new(None),
        callback: RefCell::new(Some(callback)),
    });
    with_env(|env| {
        inc_ref_count(env);
        let start = get_libuv_now(env);
        insert(env, &cell, delay, start);
    });
    Timeout(cell)
}

/// JavaScript's `String(number)` for the numbers a delay can be: `Infinity`, integers in
/// full below 1e21, `1e+21` and the like above, and the shortest decimal otherwise.
fn js_number(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x.abs() >= 1e21 {
        let text = format!("{x:e}");
        return match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        };
    }
    if x.fract() == 0.0 {
        return format!("{x:.0}");
    }
    x.to_string()
}

/// `getLibuvNow()`: Node's binding updates the loop time first.
pub(crate) fn get_libuv_now(env: &Env) -> u64 {
    env.uv.update_time();
    env.uv.now()
}

fn inc_ref_count(env: &Env) {
    let count = env.timers.ref_count.get();
    env.timers.ref_count.set(count + 1);
    if count == 0 {
        env.timer_handle.ref_();
    }
}

fn dec_ref_count(env: &Env) {
    let count = env.timers.ref_count.get().saturating_sub(1);
    env.timers.ref_count.set(count);
    if count == 0 {
        env.timer_handle.unref();
    }
}

/// `insert(item, msecs, start)`.
fn insert(env: &Env, cell: &Rc<TimeoutCell>, msecs: u64, start: u64) {
    cell.idle_start.set(start);
    let mut schedule = false;
    {
        let mut state = env.timers.state.borrow_mut();
        let key = match state.by_msecs.get(&msecs) {
            Some(&key) => key,
            None => {
                let expiry = start + msecs;
                let id = state.next_list_id;
                state.next_list_id += 1;
                let serial = state.next_serial;
                state.next_serial += 1;
                let list = TimersList {
                    msecs,
                    expiry,
                    id,
                    serial,
                    position: 0,
                    timers: VecDeque::new(),
                    live: 0,
                };
                let key = match state.free.pop() {
                    Some(key) => {
                        state.lists[key] = Some(list);
                        key
                    }
                    None => {
                        state.lists.push(Some(list));
                        state.lists.len() - 1
                    }
                };
                state.by_msecs.insert(msecs, key);
                state.queue.push(key);
                let last = state.queue.len() - 1;
                state.percolate_up(last);
                if state.next_expiry.is_none_or(|next| next > expiry) {
                    state.next_expiry = Some(expiry);
                    schedule = true;
                }
                key
            }
        };
        if let Some(list) = state.lists[key].as_mut() {
            list.timers.push_back(cell.clone());
            list.live += 1;
            cell.list.set(Some((key, list.serial)));
        }
    }
    if schedule {
        schedule_timer(env, msecs);
    }
}

/// `scheduleTimer(msecs)`: arm the one uv timer.
fn schedule_timer(env: &Env, msecs: u64) {
    let _ = env
        .timer_handle
        .start_rc(Rc::new(|| with_env(run_timers)), msecs, 0);
}

/// `unenroll(item)`.
fn unenroll(env: &Env, cell: &Rc<TimeoutCell>) {
    if cell.destroyed.get() {
        return;
    }
    cell.destroyed.set(true);
    let removed = {
        let mut state = env.timers.state.borrow_mut();
        match cell.list.take() {
            Some((key, serial)) => {
                let empty = match state.list_mut(key, serial) {
                    Some(list) => {
                        list.live -= 1;
                        list.live == 0
                    }
                    None => false,
                };
                if empty {
                    state.delete_list(key)
                } else {
                    None
                }
            }
            None => None,
        }
    };
    drop(removed);
    if cell.refed.get() {
        dec_ref_count(env);
    }
    cell.idle_timeout.set(-1);
}

/// `Environment::RunTimers`, the uv timer's callback.
fn run_timers(env: &Env) {
    let now = get_libuv_now(env);
    let ret = process_timers(env, now);
    if ret != 0 {
        let elapsed_to = ret.unsigned_abs() as i64 - env.uv.now() as i64;
        schedule_timer(env, if elapsed_to > 0 { elapsed_to as u64 } else { 1 });
        if ret > 0 {
            env.timer_handle.ref_();
        } else {
            env.timer_handle.unref();
        }
    } else {
        env.timer_handle.unref();
    }
    run_next_ticks(env);
}

/// `processTimers(now)`: the next expiry (negative when no referenced timer), or 0.
fn process_timers(env: &Env, now: u64) -> i64 {
    env.timers.state.borrow_mut().next_expiry = None;
    let mut ran_at_least_one_list = false;
    loop {
        let (key, serial) = {
            let mut state = env.timers.state.borrow_mut();
            let Some(&key) = state.queue.first() else {
                break;
            };
            let Some(list) = state.lists[key].as_ref() else {
                break;
            };
            if list.expiry > now {
                let expiry = list.expiry;
                state.next_expiry = Some(expiry);
                return if env.timers.ref_count.get() > 0 {
                    expiry as i64
                } else {
                    -(expiry as i64)
                };
            }
            (key, list.serial)
        };
        if ran_at_least_one_list {
            run_next_ticks(env);
        } else {
            ran_at_least_one_list = true;
        }
        list_on_timeout(env, key, serial, now);
    }
    0
}

/// `listOnTimeout(list, now)`.
fn list_on_timeout(env: &Env, key: usize, serial: u64, now: u64) {
    let mut ran_at_least_one_timer = false;
    loop {
        let timer = {
            let mut state = env.timers.state.borrow_mut();
            let Some(list) = state.list_mut(key, serial) else {
                return;
            };
            while list
                .timers
                .front()
                .is_some_and(|t| t.list.get() != Some((key, serial)))
            {
                list.timers.pop_front();
            }
            let Some(timer) = list.timers.front().cloned() else {
                break;
            };
            let msecs = list.msecs;
            let diff = now as i64 - timer.idle_start.get() as i64;
            if diff < msecs as i64 {
                list.expiry = (timer.idle_start.get() + msecs).max(now + 1);
                let id = state.next_list_id;
                state.next_list_id += 1;
                if let Some(list) = state.list_mut(key, serial) {
                    list.id = id;
                }
                state.percolate_down(0);
                return;
            }
            timer
        };
        if ran_at_least_one_timer {
            run_next_ticks(env);
        } else {
            ran_at_least_one_timer = true;
        }
        // L.remove(timer)
        {
            let mut state = env.timers.state.borrow_mut();
            if timer.list.get() == Some((key, serial)) {
                timer.list.set(None);
                if let Some(list) = state.list_mut(key, serial) {
                    list.live -= 1;
                    if list.timers.front().is_some_and(|t| Rc::ptr_eq(t, &timer)) {
                        list.timers.pop_front();
                    }
                }
            }
        }
        let callback = timer.callback.borrow_mut().take();
        let Some(mut callback) = callback.filter(|_| !timer.cleared.get()) else {
            if !timer.destroyed.get() {
                timer.destroyed.set(true);
                if timer.refed.get() {
                    dec_ref_count(env);
                }
            }
            continue;
        };
        let start = if timer.repeat.is_some() {
            get_libuv_now(env)
        } else {
            0
        };
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::Instant { name: "timeout" });
        }
        callback();
        let repeat = timer.repeat.filter(|_| timer.idle_timeout.get() != -1);
        match repeat {
            Some(repeat) if !timer.destroyed.get() && !timer.cleared.get() => {
                *timer.callback.borrow_mut() = Some(callback);
                timer.idle_timeout.set(repeat as i64);
                insert(env, &timer, repeat, start);
            }
            _ => {
                if !timer.destroyed.get() {
                    timer.destroyed.set(true);
                    if timer.refed.get() {
                        dec_ref_count(env);
                    }
                }
                timer.idle_timeout.set(-1);
                drop(callback);
            }
        }
    }
    let deleted = {
        let mut state = env.timers.state.borrow_mut();
        let msecs = state.list(key, serial).map(|list| list.msecs);
        match msecs {
            Some(msecs) if state.by_msecs.get(&msecs) == Some(&key) => state.delete_list(key),
            _ => None,
        }
    };
    drop(deleted);
}
