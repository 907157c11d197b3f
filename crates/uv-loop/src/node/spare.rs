//! One spare promise object per environment, so that a chain of promises allocates once.
//!
//! Invariants:
//! - The spare is an object nothing else refers to (its `Rc` had no other strong or weak
//!   reference when it was put here), already reset to a fresh pending state: dropping it runs
//!   no user code and taking it gives an object as good as a new one.
//! - `type_id` is the spare's concrete type; [`Spare::take`] hands it out only as that type.
//! - [`take_spare`] and [`put_spare`] borrow the environment without counting a reference
//!   (`installed_unchecked`), so nothing they do while borrowing it runs user code: `put`
//!   gives the spare it replaces back, to be dropped after the borrow.
//!
//! V8 bump-allocates promises and frees them in bulk; here a promise is an `Rc` and `malloc`
//! plus `free` were a quarter of a `then` reaction. A `then` callback that chains the next
//! `then` (or an async function that awaits a new promise after each one settles) keeps
//! finishing with one object just as it needs the next of the same type: the finished one is
//! put here and the next `Promise::with_resolvers` or `then` of that type takes it back.
//!
//! ```text
//!   reaction k runs ── its handler calls then() ── take(): spare from reaction k-1 ──> reuse
//!                  └── reaction k ends, nothing refers to it ── put(reset object k)
//! ```

use std::any::{Any, TypeId};
use std::cell::Cell;
use std::rc::Rc;

use super::installed_unchecked;

pub(crate) struct Spare {
    type_id: Cell<TypeId>,
    object: Cell<Option<Rc<dyn Any>>>,
}

impl Default for Spare {
    fn default() -> Spare {
        Spare {
            // No promise object has this type.
            type_id: Cell::new(TypeId::of::<Spare>()),
            object: Cell::new(None),
        }
    }
}

impl Spare {
    /// Keeps `object` as the spare and returns the old one, for the caller to drop. The caller
    /// has reset `object` and held its only reference.
    #[inline]
    #[must_use]
    pub(crate) fn put<O: 'static>(&self, object: Rc<O>) -> Option<Rc<dyn Any>> {
        let old = self.object.replace(Some(object));
        self.type_id.set(TypeId::of::<O>());
        old
    }

    /// The spare, if it is an `O`.
    #[inline]
    pub(crate) fn take<O: 'static>(&self) -> Option<Rc<O>> {
        if self.type_id.get() != TypeId::of::<O>() {
            return None;
        }
        let object = self.object.take()?;
        // SAFETY: `put` records the concrete type of the object it stores and `object` was
        // stored by it with that type, which is `O`: the allocation holds an `O`, and the
        // pointer goes back into an `Rc` of that same allocation.
        Some(unsafe { Rc::from_raw(Rc::into_raw(object).cast::<O>()) })
    }

    /// Drops the spare.
    pub(crate) fn clear(&self) {
        drop(self.object.take());
    }
}

/// [`Spare::take`] on the installed environment's spare (`None` without an environment).
#[inline]
pub(crate) fn take_spare<O: 'static>() -> Option<Rc<O>> {
    // SAFETY: `take` compares a type and moves an `Rc` out of a cell: no user code runs.
    let env = unsafe { installed_unchecked() }?;
    env.spare.take()
}

/// [`Spare::put`] on the installed environment's spare; without one, `object` is dropped.
#[inline]
pub(crate) fn put_spare<O: 'static>(object: Rc<O>) {
    // SAFETY: `put` only moves `Rc`s in and out of cells; what it replaces is dropped after
    // the borrow's last use.
    let old = match unsafe { installed_unchecked() } {
        Some(env) => env.spare.put(object),
        None => Some(object as Rc<dyn Any>),
    };
    drop(old);
}
