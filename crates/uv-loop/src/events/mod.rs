//! `node:events`: [`EventEmitter`] and [`once`], after Node 20's lib/events.js.
//!
//! Invariants (each checked against node 20: tests/events.rs and the `events_*` fixtures):
//! - `emit` copies the event's listener list first (`arrayClone`) and calls the copy in
//!   order: a listener added during the emit does not run in it; one removed during it still
//!   does (a removed `once` listener included: its wrapper has not fired yet).
//! - A `once` listener is a wrapper (`_onceWrap`): when it runs it removes itself first
//!   (emitting `removeListener`), marks itself fired, then calls the listener; a fired wrapper
//!   reached again (a nested emit began before it fired) does nothing.
//! - `newListener` is emitted before the listener is added, if any `newListener` listener is
//!   registered (so adding the first one emits nothing); `removeListener` is emitted after it
//!   is removed, if any `removeListener` listener is registered then (so removing the last one
//!   emits nothing). `remove_all_listeners(None)` removes every other event's listeners, then
//!   the `removeListener` ones; `remove_all_listeners(Some(name))` removes the last first.
//! - `emit("error", payload)` with no `error` listener throws ([`throw`]): the payload if it
//!   is a [`JsError`](crate::JsError), else an [`UnhandledError`] (`ERR_UNHANDLED_ERROR`).
//! - When adding makes an event's list longer than `max_listeners` (10; 0 means no limit), a
//!   `MaxListenersExceededWarning` is emitted ([`emit_warning`]), once per list: Node keeps
//!   the flag on the listener array, which goes when the event is down to one listener, so
//!   the warning can come again after that.
//! - Event names keep the order they were first added in; an event whose last listener goes
//!   is forgotten, and comes back at the end (`ReflectOwnKeys(this._events)`).
//!
//! ```text
//!   events: [ (name, [entry, entry, ...], warned), ... ]      insertion order of names
//!   emit(name, a):  copy = events[name].clone()  ─>  for entry in copy:
//!                       once?  fired? skip : remove(name, entry) ─> fired = true
//!                       callback(&a)
//!   add:    newListener(name, handle) ─> push/unshift ─> maybe warn (nextTick)
//!   remove: splice ─> removeListener(name, handle)
//! ```
//!
//! Payload. An `EventEmitter<A>` carries one `A` per event, every event the same type, and a
//! listener is `Fn(&A)`: `EventEmitter<String>`, `EventEmitter<()>`, or an enum of the
//! events an object emits. Rejected: `Rc<dyn Any>` arguments (JavaScript's untyped `...args`),
//! which would make every listener downcast, and a type per event name, which Rust cannot
//! tie to a string. The price is the `error` event: its payload is an `A` too. A `JsError`
//! payload is thrown as is (`er instanceof Error`); any other is wrapped, as Node wraps a
//! non-Error in `ERR_UNHANDLED_ERROR` (`util.inspect` becomes `Debug`). `newListener` and
//! `removeListener` carry an event name and a [`Listener`] handle, not an `A`: their
//! listeners are added with [`EventEmitter::on_new_listener`] and
//! [`EventEmitter::on_remove_listener`], into the same lists (they count, and are named by
//! `event_names`). Listeners are `Fn`, not `FnMut`: a listener may emit again and so run
//! inside itself, as in JavaScript; state goes in a `Cell`.
//!
//! Rust closures have no identity, so every add returns a [`Listener`] handle (unique in
//! the process), and `off` takes it. A listener gets the payload, not the emitter (`this`):
//! one that needs the emitter captures a [`WeakEventEmitter`], as capturing the emitter
//! itself would make a cycle through its own listener list.

mod error;
mod once;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::{ErrorValue, UnhandledError};
pub use once::{once, OnceOptions};

use crate::node::warning::{emit_warning, Warning};
use crate::throw;

/// `EventEmitter.defaultMaxListeners`.
pub const DEFAULT_MAX_LISTENERS: usize = 10;

const NEW_LISTENER: &str = "newListener";
const REMOVE_LISTENER: &str = "removeListener";

/// A registered listener, to remove it with [`EventEmitter::off`]. Each add makes a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Listener(u64);

/// The next [`Listener`] number, process-wide so that a handle never names another
/// emitter's listener.
static NEXT_LISTENER: AtomicU64 = AtomicU64::new(1);

/// A `newListener` or `removeListener` listener: the event name and the listener's handle.
type MetaListener = Box<dyn Fn(&str, &Listener)>;

enum Callback<A> {
    /// An ordinary listener.
    Payload(Box<dyn Fn(&A)>),
    /// A `newListener` or `removeListener` listener.
    Meta(MetaListener),
}

struct Entry<A> {
    handle: Listener,
    /// Added with `once` or `prepend_once_listener` (`_onceWrap`).
    once: bool,
    /// The once wrapper's `state.fired`.
    fired: Cell<bool>,
    callback: Callback<A>,
}

/// One event's listeners (`this._events[name]`).
struct EventList<A> {
    name: String,
    entries: Vec<Rc<Entry<A>>>,
    /// `existing.warned`: `MaxListenersExceededWarning` was emitted for this list.
    warned: bool,
}

struct Inner<A> {
    events: RefCell<Vec<EventList<A>>>,
    /// `_maxListeners`; 0 is no limit.
    max_listeners: Cell<usize>,
}

/// Node's `EventEmitter`: named events, each with a list of listeners called in order.
/// Cheap to clone, like a JavaScript reference.
pub struct EventEmitter<A>(Rc<Inner<A>>);

/// An [`EventEmitter`] that does not keep it alive: for a listener that needs its emitter.
pub struct WeakEventEmitter<A>(Weak<Inner<A>>);

impl<A> Clone for EventEmitter<A> {
    fn clone(&self) -> Self {
        EventEmitter(self.0.clone())
    }
}

impl<A> Clone for WeakEventEmitter<A> {
    fn clone(&self) -> Self {
        WeakEventEmitter(self.0.clone())
    }
}

impl<A> WeakEventEmitter<A> {
    /// The emitter, if it is still alive.
    pub fn upgrade(&self) -> Option<EventEmitter<A>> {
        self.0.upgrade().map(EventEmitter)
    }
}

impl<A> Default for EventEmitter<A> {
    fn default() -> Self {
        EventEmitter(Rc::new(Inner {
            events: RefCell::new(Vec::new()),
            max_listeners: Cell::new(DEFAULT_MAX_LISTENERS),
        }))
    }
}

impl<A> fmt::Debug for EventEmitter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let events = self.0.events.borrow();
        let mut map = f.debug_map();
        for list in events.iter() {
            map.entry(&list.name, &list.entries.len());
        }
        map.finish()
    }
}

impl<A> fmt::Debug for WeakEventEmitter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakEventEmitter")
    }
}

impl<A: Clone + fmt::Debug + 'static> EventEmitter<A> {
    /// `new EventEmitter()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A reference that does not keep the emitter alive.
    pub fn downgrade(&self) -> WeakEventEmitter<A> {
        WeakEventEmitter(Rc::downgrade(&self.0))
    }

    /// `emitter.on(name, listener)`: `listener` runs on every `name` event, after those added
    /// before it.
    pub fn on(&self, name: &str, listener: impl Fn(&A) + 'static) -> Listener {
        self.add(name, Callback::Payload(Box::new(listener)), false, false)
    }

    /// `emitter.addListener(name, listener)`: [`EventEmitter::on`].
    pub fn add_listener(&self, name: &str, listener: impl Fn(&A) + 'static) -> Listener {
        self.on(name, listener)
    }

    /// `emitter.once(name, listener)`: `listener` runs on the next `name` event only; it is
    /// removed just before it runs.
    pub fn once(&self, name: &str, listener: impl Fn(&A) + 'static) -> Listener {
        self.add(name, Callback::Payload(Box::new(listener)), true, false)
    }

    /// `emitter.prependListener(name, listener)`: as [`EventEmitter::on`], but first in line.
    pub fn prepend_listener(&self, name: &str, listener: impl Fn(&A) + 'static) -> Listener {
        self.add(name, Callback::Payload(Box::new(listener)), false, true)
    }

    /// `emitter.prependOnceListener(name, listener)`: as [`EventEmitter::once`], but first
    /// in line.
    pub fn prepend_once_listener(&self, name: &str, listener: impl Fn(&A) + 'static) -> Listener {
        self.add(name, Callback::Payload(Box::new(listener)), true, true)
    }

    /// `emitter.on('newListener', listener)`: `listener` runs with the event name and handle
    /// of each listener about to be added (itself excluded).
    pub fn on_new_listener(&self, listener: impl Fn(&str, &Listener) + 'static) -> Listener {
        self.add(
            NEW_LISTENER,
            Callback::Meta(Box::new(listener)),
            false,
            false,
        )
    }

    /// `emitter.on('removeListener', listener)`: `listener` runs with the event name and
    /// handle of each listener just removed.
    pub fn on_remove_listener(&self, listener: impl Fn(&str, &Listener) + 'static) -> Listener {
        self.add(
            REMOVE_LISTENER,
            Callback::Meta(Box::new(listener)),
            false,
            false,
        )
    }

    /// `emitter.off(name, listener)`: removes that listener from `name`'s list and emits
    /// `removeListener`. Returns whether it was there (Node returns the emitter).
    pub fn off(&self, name: &str, listener: &Listener) -> bool {
        self.remove(name, *listener)
    }

    /// `emitter.removeListener(name, listener)`: [`EventEmitter::off`].
    pub fn remove_listener(&self, name: &str, listener: &Listener) -> bool {
        self.off(name, listener)
    }

    /// `emitter.removeAllListeners(name)`, or `removeAllListeners()` with `None`: with a
    /// `removeListener` listener, one at a time, each announced (see the module docs).
    pub fn remove_all_listeners(&self, name: Option<&str>) {
        if !self.has_listeners(REMOVE_LISTENER) {
            let removed = {
                let mut events = self.0.events.borrow_mut();
                match name {
                    None => std::mem::take(&mut *events),
                    Some(name) => match events.iter().position(|list| list.name == name) {
                        Some(index) => vec![events.remove(index)],
                        None => Vec::new(),
                    },
                }
            };
            drop(removed);
            return;
        }
        let Some(name) = name else {
            for name in self.event_names() {
                if name != REMOVE_LISTENER {
                    self.remove_all_listeners(Some(&name));
                }
            }
            self.remove_all_listeners(Some(REMOVE_LISTENER));
            let rest = std::mem::take(&mut *self.0.events.borrow_mut());
            drop(rest);
            return;
        };
        for handle in self.handles(name).into_iter().rev() {
            self.remove(name, handle);
        }
    }

    /// Drops every listener at once, announcing none: for an emitter its owner will never
    /// emit on again (a socket after its `close` event), whose listeners JavaScript's
    /// collector would free with it. Listeners often hold their emitter's owner: this is
    /// where that cycle ends.
    pub(crate) fn drop_listeners(&self) {
        let events = std::mem::take(&mut *self.0.events.borrow_mut());
        drop(events);
    }

    /// `emitter.emit(name, payload)`: calls a copy of `name`'s listeners in order, each with
    /// `&payload`; `true` if there were any. An `error` event with no listener throws (see
    /// the module docs).
    pub fn emit(&self, name: &str, payload: A) -> bool {
        let Some(entries) = self.entries(name) else {
            if name == "error" {
                throw(error::unhandled(&payload));
            }
            return false;
        };
        for entry in &entries {
            self.call(name, entry, |callback| {
                if let Callback::Payload(listener) = callback {
                    listener(&payload);
                }
            });
        }
        true
    }

    /// `emitter.listenerCount(name)`.
    pub fn listener_count(&self, name: &str) -> usize {
        let events = self.0.events.borrow();
        events
            .iter()
            .find(|list| list.name == name)
            .map_or(0, |list| list.entries.len())
    }

    /// `emitter.eventNames()`: the events with listeners, in the order they got their first.
    pub fn event_names(&self) -> Vec<String> {
        let events = self.0.events.borrow();
        events.iter().map(|list| list.name.clone()).collect()
    }

    /// `emitter.setMaxListeners(n)`: the list length above which adding warns; 0 for none.
    pub fn set_max_listeners(&self, n: usize) {
        self.0.max_listeners.set(n);
    }

    /// `emitter.getMaxListeners()`.
    pub fn get_max_listeners(&self) -> usize {
        self.0.max_listeners.get()
    }

    /// `_addListener(this, name, listener, prepend)`, wrapped by `_onceWrap` when `once`.
    fn add(&self, name: &str, callback: Callback<A>, once: bool, prepend: bool) -> Listener {
        let handle = Listener(NEXT_LISTENER.fetch_add(1, Ordering::Relaxed));
        self.emit_meta(NEW_LISTENER, name, &handle);
        let entry = Rc::new(Entry {
            handle,
            once,
            fired: Cell::new(false),
            callback,
        });
        let max = self.0.max_listeners.get();
        let exceeded = {
            let mut events = self.0.events.borrow_mut();
            let index = match events.iter().position(|list| list.name == name) {
                Some(index) => index,
                None => {
                    events.push(EventList {
                        name: name.to_owned(),
                        entries: Vec::new(),
                        warned: false,
                    });
                    events.len() - 1
                }
            };
            let list = &mut events[index];
            if prepend {
                list.entries.insert(0, entry);
            } else {
                list.entries.push(entry);
            }
            let count = list.entries.len();
            let exceeded = max > 0 && count > max && !list.warned;
            list.warned |= exceeded;
            exceeded.then_some(count)
        };
        if let Some(count) = exceeded {
            emit_warning(Warning::max_listeners_exceeded(name, count, max));
        }
        handle
    }

    /// `removeListener(name, listener)`: the last entry with that handle.
    fn remove(&self, name: &str, handle: Listener) -> bool {
        let removed = {
            let mut events = self.0.events.borrow_mut();
            let Some(index) = events.iter().position(|list| list.name == name) else {
                return false;
            };
            let list = &mut events[index];
            let Some(position) = list.entries.iter().rposition(|e| e.handle == handle) else {
                return false;
            };
            let removed = list.entries.remove(position);
            match list.entries.len() {
                0 => drop(events.remove(index)),
                // Node's array becomes the lone function again, and its `warned` goes with it.
                1 => list.warned = false,
                _ => {}
            }
            removed
        };
        self.emit_meta(REMOVE_LISTENER, name, &handle);
        drop(removed);
        true
    }

    /// Emits `newListener` or `removeListener` (`event`) for `handle` on `name`, if the
    /// event has listeners.
    fn emit_meta(&self, event: &str, name: &str, handle: &Listener) {
        let Some(entries) = self.entries(event) else {
            return;
        };
        for entry in &entries {
            self.call(event, entry, |callback| {
                if let Callback::Meta(listener) = callback {
                    listener(name, handle);
                }
            });
        }
    }

    /// Calls one entry of an emit's copy; a once wrapper removes itself first.
    fn call(&self, name: &str, entry: &Entry<A>, invoke: impl FnOnce(&Callback<A>)) {
        if entry.once {
            if entry.fired.get() {
                return;
            }
            self.remove(name, entry.handle);
            entry.fired.set(true);
        }
        invoke(&entry.callback);
    }

    /// A copy of `name`'s list (`arrayClone(handler)`), or `None` when it has no listeners.
    fn entries(&self, name: &str) -> Option<Vec<Rc<Entry<A>>>> {
        let events = self.0.events.borrow();
        let list = events.iter().find(|list| list.name == name)?;
        Some(list.entries.clone())
    }

    fn handles(&self, name: &str) -> Vec<Listener> {
        let events = self.0.events.borrow();
        events
            .iter()
            .find(|list| list.name == name)
            .map_or_else(Vec::new, |list| {
                list.entries.iter().map(|e| e.handle).collect()
            })
    }

    fn has_listeners(&self, name: &str) -> bool {
        self.listener_count(name) > 0
    }
}
