//! Goroutine-local storage: the safe replacement for `thread_local!` inside goroutines, which may
//! move between OS threads whenever they block.
//!
//! ```
//! use std::cell::Cell;
//! goroutines::goroutine_local! {
//!     static REQUESTS: Cell<u32> = Cell::new(0);
//! }
//! REQUESTS.with(|r| r.set(r.get() + 1));
//! ```
//!
//! Each goroutine sees its own value, created by the initialiser on first use and dropped when the
//! goroutine exits. Outside a goroutine the value is per OS thread, like `thread_local!`. Values
//! are boxed, so a value's address never changes while a goroutine lives: a reference handed to
//! `with` stays valid even if the closure blocks, migrates, or touches another key.

use std::any::Any;
use std::cell::UnsafeCell;
use std::collections::HashMap;

use crate::runtime::g::current_g;

/// The values of one goroutine (or one plain thread), keyed by the address of their `LocalKey`.
#[derive(Default)]
pub(crate) struct LocalMap {
    values: HashMap<usize, Box<dyn Any>>,
}

/// A goroutine-local key, declared with [`goroutine_local!`](crate::goroutine_local).
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub init: fn() -> T,
}

impl<T: 'static> std::fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

thread_local! {
    static THREAD_LOCALS: UnsafeCell<LocalMap> = UnsafeCell::new(LocalMap::default());
}

impl<T: 'static> LocalKey<T> {
    /// Runs `f` with a reference to this goroutine's value, creating it first if needed.
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let value = match current_g() {
            Some(g) => {
                // SAFETY: the running goroutine is alive, and its locals are touched only by
                // itself; the map is created here on first use.
                let slot = unsafe { &mut *g.as_ref().locals.get() };
                self.get_or_init(slot.get_or_insert_with(Default::default))
            }
            None => THREAD_LOCALS.with(|m| {
                // SAFETY: this thread's map is touched only by this thread, and only here, where
                // no other reference into the map (as opposed to the boxed values) is live.
                self.get_or_init(unsafe { &mut *m.get() })
            }),
        };
        // SAFETY: `value` points into a Box owned by the map of the current goroutine or thread;
        // entries are never removed while it lives, and inserting other keys moves only the Box
        // pointers, not the values. The goroutine (or thread) cannot end during `f`.
        f(unsafe { &*value })
    }

    fn get_or_init(&'static self, map: &mut LocalMap) -> *const T {
        let key = self as *const Self as usize;
        if let Some(v) = map.values.get(&key) {
            if let Some(t) = v.downcast_ref::<T>() {
                return t;
            }
        }
        let boxed: Box<dyn Any> = Box::new((self.init)());
        let ptr = boxed
            .downcast_ref::<T>()
            .map_or(std::ptr::null(), |t| t as *const T);
        map.values.insert(key, boxed);
        ptr
    }
}

/// Declares goroutine-local values, like `std::thread_local!`.
#[macro_export]
macro_rules! goroutine_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::LocalKey<$t> = $crate::LocalKey { init: || $init };
        $crate::goroutine_local!($($rest)*);
    };
    () => {};
}
