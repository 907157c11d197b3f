//! The loop's tasks that are not done yet: CPython's `tasks._all_tasks` (`asyncio.all_tasks`).
//!
//! CPython keeps them in a `WeakSet`: a pending task stays alive through the callbacks of the
//! future it awaits, which refer to its `__wakeup`. Here those callbacks hold the task weakly
//! (a strong one would make a cycle task → coroutine → future → callback → task that `Rc`
//! never frees), so this table is what owns a pending task, from `create_task` until its
//! future is done.
//!
//! ```text
//!   slots: [ Some(task 7) | None | Some(task 3) | ... ]     free: [1, ...]
//!   insert: a free slot (the last freed first) or a new one at the end; the task keeps it
//!   remove(slot, id) / get(slot, id): only while that slot still holds task `id`
//! ```
//!
//! A slot index instead of a hash map keyed by id: inserting, removing and finding a task (a
//! waker's wake-up) cost an index, not a hash, for the 100,000 tasks of the sleepers benchmark.
//!
//! Invariants:
//! - a slot is in `free` exactly when it holds `None`;
//! - a task's id is unique in the process (see [`crate::task_names`]), so a stale `(slot, id)`
//!   never finds another task.

use std::rc::Rc;

use crate::tasks::TaskControl;

#[derive(Default)]
pub(crate) struct AllTasks {
    slots: Vec<Option<Rc<dyn TaskControl>>>,
    free: Vec<usize>,
}

impl AllTasks {
    /// Adds `task` and returns its slot.
    pub(crate) fn insert(&mut self, task: Rc<dyn TaskControl>) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(task);
                slot
            }
            None => {
                self.slots.push(Some(task));
                self.slots.len() - 1
            }
        }
    }

    /// The task `id` in `slot`, if it is still there.
    pub(crate) fn get(&self, slot: usize, id: u64) -> Option<&Rc<dyn TaskControl>> {
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .filter(|task| task.id() == id)
    }

    /// Removes task `id` from `slot` (nothing if the slot holds another task or none).
    pub(crate) fn remove(&mut self, slot: usize, id: u64) -> Option<Rc<dyn TaskControl>> {
        self.get(slot, id)?;
        let task = self.slots[slot].take();
        self.free.push(slot);
        task
    }

    /// The tasks, in slot order (`EventLoop::all_tasks` sorts them in creation order, so
    /// that `asyncio.run`'s shutdown cancels them in a reproducible order; `asyncio.all_tasks`
    /// iterates a set).
    pub(crate) fn tasks(&self) -> Vec<Rc<dyn TaskControl>> {
        self.slots.iter().flatten().cloned().collect()
    }
}
