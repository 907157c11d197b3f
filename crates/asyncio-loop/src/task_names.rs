//! Task names and task ids: CPython 3.12's `Task-N` default names (`tasks._task_name_counter`),
//! custom names (`create_task(..., name=...)`, `Task.set_name`), and `asyncio.all_tasks()`.
//!
//! Invariants:
//! - a task created without a name has the id `N - 1`, where `Task-N` is its default name:
//!   its id *is* CPython's `_task_name_counter` (counting from 0), so the default name costs
//!   nothing until someone asks for it (3.12's C `Task` stores the number and formats it in
//!   `get_name` too);
//! - a task created with a name takes no number, as in CPython (`Task.__init__` calls the
//!   counter only when `name is None`); its id is [`NAMED_AT_CREATION`] with a count of its
//!   own below, so ids stay unique in the process (a stale waker never finds another task);
//! - a task has an entry in its loop's [`TaskNames`] exactly while it has a custom name and
//!   is alive; the task's own flag (`HAS_CUSTOM_NAME` in [`crate::tasks`]) says so, and its
//!   drop removes the entry.
//!
//! ```text
//!   create_task(c)            id = counter++          name: "Task-{id + 1}" (formatted on ask)
//!   create_task(c, name="x")  id = 1<<63 | named++    name: names[id] = "x"
//!   task.set_name(y)          id unchanged            name: names[id] = str(y)
//! ```
//!
//! Designs rejected: a name field in every task (`Option<Rc<str>>`, 8 bytes; the 100,000 tasks
//! of the sleepers benchmark carry none), and one counter for all ids with `Task-N` derived
//! from it (tasks created with a name would use up numbers, which CPython's do not).
//!
//! Creation order ([`TaskNames::creation_key`]) sorts a task created with a name just before
//! the first task created without one after it: it remembers how many numbers were taken then.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bit of a task id that marks a task created with a name (it took no `Task-N` number).
pub(crate) const NAMED_AT_CREATION: u64 = 1 << 63;

/// `tasks._task_name_counter`, from 0: the ids of tasks created without a name.
static TASK_NAME_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The ids of tasks created with a name, below [`NAMED_AT_CREATION`].
static NAMED_TASK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new task's id: `Task-N`'s number less one when `named` is false (see the module
/// invariants).
pub(crate) fn next_task_id(named: bool) -> u64 {
    if named {
        NAMED_AT_CREATION | NAMED_TASK_COUNTER.fetch_add(1, Ordering::Relaxed)
    } else {
        TASK_NAME_COUNTER.fetch_add(1, Ordering::Relaxed)
    }
}

/// `f'Task-{_task_name_counter()}'` of the task with id `id` (created without a name).
pub(crate) fn default_name(id: u64) -> String {
    format!("Task-{}", id + 1)
}

/// `repr(s)` of a Python `str`: single quotes unless the text has a `'` and no `"`; `\\`,
/// the quote, `\n`, `\r`, `\t` and other control characters escaped.
pub(crate) fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut repr = String::with_capacity(text.len() + 2);
    repr.push(quote);
    for c in text.chars() {
        match c {
            '\\' => repr.push_str("\\\\"),
            '\n' => repr.push_str("\\n"),
            '\r' => repr.push_str("\\r"),
            '\t' => repr.push_str("\\t"),
            c if c == quote => {
                repr.push('\\');
                repr.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                repr.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => repr.push(c),
        }
    }
    repr.push(quote);
    repr
}

/// The custom names of one loop's tasks, by task id.
#[derive(Default)]
pub(crate) struct TaskNames {
    names: HashMap<u64, CustomName>,
}

struct CustomName {
    name: String,
    /// For a task created with a name: the `Task-N` numbers taken before it (its place in
    /// creation order).
    numbers_taken_before: u64,
}

impl TaskNames {
    /// Task `id` is called `name` from now on.
    pub(crate) fn set(&mut self, id: u64, name: String) {
        let numbers_taken_before = TASK_NAME_COUNTER.load(Ordering::Relaxed);
        self.names
            .entry(id)
            .and_modify(|entry| entry.name.clone_from(&name))
            .or_insert(CustomName {
                name,
                numbers_taken_before,
            });
    }

    pub(crate) fn get(&self, id: u64) -> Option<&str> {
        self.names.get(&id).map(|entry| entry.name.as_str())
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Task `id` is gone.
    pub(crate) fn remove(&mut self, id: u64) -> Option<String> {
        self.names.remove(&id).map(|entry| entry.name)
    }

    /// Sorts tasks in creation order: `(numbers taken before it, created without a name,
    /// id)`.
    pub(crate) fn creation_key(&self, id: u64) -> (u64, bool, u64) {
        if id & NAMED_AT_CREATION == 0 {
            return (id, true, id);
        }
        let before = self
            .names
            .get(&id)
            .map_or(u64::MAX, |entry| entry.numbers_taken_before);
        (before, false, id)
    }
}

/// `asyncio.all_tasks()` without a running loop: CPython's `RuntimeError('no running event
/// loop')`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRunningLoop;

impl fmt::Display for NoRunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no running event loop")
    }
}

impl std::error::Error for NoRunningLoop {}

/// In a coroutine, `?` turns it into [`Error::NoRunningLoop`](crate::Error::NoRunningLoop).
impl From<NoRunningLoop> for crate::Error {
    fn from(NoRunningLoop: NoRunningLoop) -> Self {
        crate::Error::NoRunningLoop
    }
}

/// `asyncio.all_tasks()`: the tasks of the running loop that are not done, in creation order
/// (CPython returns a set, in no order of its own).
///
/// ```
/// use asyncio_loop::{all_tasks, sleep, EventLoop};
///
/// assert!(all_tasks().is_err());
/// let event_loop = EventLoop::new();
/// let sleeper = event_loop.create_task_named(async { sleep(1.0).await }, "sleeper");
/// let names = event_loop
///     .run_until_complete(async {
///         let names: Vec<String> = all_tasks()?.iter().map(|task| task.get_name()).collect();
///         Ok(names)
///     })
///     .unwrap();
/// assert_eq!(names[0], "sleeper");
/// assert!(names[1].starts_with("Task-"));
/// sleeper.cancel();
/// ```
pub fn all_tasks() -> Result<Vec<crate::CurrentTask>, NoRunningLoop> {
    let event_loop = crate::EventLoop::running().ok_or(NoRunningLoop)?;
    // The loop's task table holds a task until it is done (`TaskInner::finish` takes it out
    // before completing its future): CPython's `not t.done()` filter has nothing to remove.
    Ok(event_loop
        .all_tasks()
        .into_iter()
        .map(crate::CurrentTask::from_control)
        .collect())
}
