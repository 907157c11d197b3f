//! The loop's tasks that are not done yet: CPython's `tasks._all_tasks` (`asyncio.all_tasks`).
//!
//! CPython keeps them in a `WeakSet`: a pending task stays alive through the callbacks of the
//! future it awaits, which refer to its `__wakeup`. Here those callbacks hold the task weakly
//! (a strong one would make a cycle task → coroutine → future → callback → task that `Rc`
//! never frees), so this table is what owns a pending task, from `create_task` until its
//! future is done.
//!
//! ```text
//!   slots: [ Task(7) | Free(next: 3) | Task(3) | Free(next: none) | ... ]    free: 1
//!   insert: the first free slot (the last freed) or a new one at the end; the task keeps it
//!   remove(slot, id) / get(slot, id): only while that slot still holds task `id`
//! ```
//!
//! A slot index instead of a hash map keyed by id: inserting, removing and finding a task (a
//! waker's wake-up) cost an index, not a hash, for the 100,000 tasks of the sleepers benchmark.
//! The free slots are a list threaded through the slots themselves (a free slot holds the
//! next one's index, in the 16 bytes a task's `Rc` takes), not a `Vec` beside them: a `Vec`
//! that grew by doubling while 100,000 finished tasks left asked malloc for ever larger
//! blocks, and each such request made glibc consolidate every small chunk freed so far.
//!
//! Invariants:
//! - `free` is the head of a list that visits exactly the `Free` slots, the last freed first;
//! - a task's id is unique in the process (see [`crate::task_names`]), so a stale `(slot, id)`
//!   never finds another task.

use std::rc::Rc;

use crate::tasks::TaskControl;

/// The end of the free list.
const NO_SLOT: usize = usize::MAX;

enum Slot {
    Task(Rc<dyn TaskControl>),
    /// Free; the next free slot, or [`NO_SLOT`].
    Free(usize),
}

pub(crate) struct AllTasks {
    slots: Vec<Slot>,
    /// The first free slot, or [`NO_SLOT`].
    free: usize,
}

impl Default for AllTasks {
    fn default() -> Self {
        AllTasks {
            slots: Vec::new(),
            free: NO_SLOT,
        }
    }
}

impl AllTasks {
    /// Adds `task` and returns its slot.
    pub(crate) fn insert(&mut self, task: Rc<dyn TaskControl>) -> usize {
        let slot = self.free;
        match self.slots.get_mut(slot) {
            Some(entry) => {
                if let Slot::Free(next) = std::mem::replace(entry, Slot::Task(task)) {
                    self.free = next;
                }
                slot
            }
            None => {
                self.slots.push(Slot::Task(task));
                self.slots.len() - 1
            }
        }
    }

    /// The task `id` in `slot`, if it is still there.
    pub(crate) fn get(&self, slot: usize, id: u64) -> Option<&Rc<dyn TaskControl>> {
        match self.slots.get(slot) {
            Some(Slot::Task(task)) if task.id() == id => Some(task),
            _ => None,
        }
    }

    /// Removes task `id` from `slot` (nothing if the slot holds another task or none).
    pub(crate) fn remove(&mut self, slot: usize, id: u64) -> Option<Rc<dyn TaskControl>> {
        self.get(slot, id)?;
        match std::mem::replace(&mut self.slots[slot], Slot::Free(self.free)) {
            Slot::Task(task) => {
                self.free = slot;
                Some(task)
            }
            free => {
                self.slots[slot] = free;
                None
            }
        }
    }

    /// The tasks, in slot order (`EventLoop::all_tasks` sorts them in creation order, so
    /// that `asyncio.run`'s shutdown cancels them in a reproducible order; `asyncio.all_tasks`
    /// iterates a set).
    pub(crate) fn tasks(&self) -> Vec<Rc<dyn TaskControl>> {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Task(task) => Some(task.clone()),
                Slot::Free(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventLoop;

    /// Freed slots are reused last freed first, as with the `Vec` of free slots before.
    #[test]
    fn freed_slots_are_reused_last_freed_first() {
        let event_loop = EventLoop::new();
        let tasks: Vec<_> = (0..4)
            .map(|_| event_loop.create_task(async { Ok(()) }).control())
            .collect();
        let mut table = AllTasks::default();
        let slots: Vec<_> = tasks
            .iter()
            .map(|task| table.insert(task.clone()))
            .collect();
        assert_eq!(slots, [0, 1, 2, 3]);
        assert!(table.remove(1, tasks[1].id()).is_some());
        assert!(table.remove(3, tasks[3].id()).is_some());
        assert!(table.remove(3, tasks[3].id()).is_none());
        assert!(table.get(2, tasks[1].id()).is_none());
        assert_eq!(table.tasks().len(), 2);
        assert_eq!(table.insert(tasks[3].clone()), 3);
        assert_eq!(table.insert(tasks[1].clone()), 1);
        assert_eq!(table.insert(tasks[1].clone()), 4);
    }

    /// A free slot's link takes no room of its own.
    #[test]
    fn a_slot_is_a_task_reference_wide() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }
}
