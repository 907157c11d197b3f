//! `asyncio.TaskGroup`, after CPython's `Lib/asyncio/taskgroups.py` (3.11+): structured
//! concurrency. Python writes `async with TaskGroup() as tg: tg.create_task(...)`; here it is
//! `TaskGroup::run(|tg| async move { tg.create_task(...)?; ... }).await`.
//!
//! ```text
//!   run ── __aenter__: the parent is the current task
//!    │
//!    ├── body(tg)            tg.create_task(c): a task of the loop, owned by the group
//!    │      ▲                a child fails ──► abort: cancel every child still running,
//!    │      │                                  and cancel the parent once (parent_cancel_requested)
//!    │      └─ Cancelled at the body's await
//!    │
//!    └── __aexit__           abort if the body failed; wait until every child is done (a child
//!                            may still add children); then, in this order of precedence:
//!                            children's or body's errors ──► Error::TaskGroup(errors)
//!                            a cancellation from outside ──► Error::Cancelled
//!                            otherwise the body's outcome
//! ```
//!
//! Invariants:
//! - the parent is cancelled by the group at most once, and that request is withdrawn
//!   (`uncancel`) on the way out, so `cancelling()` after the block is what it was before;
//! - the block never ends with a child still running; once it has ended (`exiting` with no
//!   children) or while it is aborting, `create_task` refuses;
//! - a child's error is recorded once, in completion order; cancelled children add none.
//!
//! CPython keeps the children in a `set`, so the order in which `abort` cancels them follows
//! the set's iteration; here it is creation order, one of the orders CPython can show.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::exception_handler::ExceptionContext;
use crate::futures::{Error, Future};
use crate::tasks::{self, Task, TaskControl};

/// Why [`TaskGroup::create_task`] (or [`TaskGroup::run`]) refused; CPython's `RuntimeError`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskGroupError {
    /// `create_task` before `run` has entered the group.
    NotEntered,
    /// `run` on a group that was already entered (a group is entered once).
    AlreadyEntered,
    /// `run` outside a task: there is no parent to attach to.
    NoParentTask,
    /// `create_task` after the block ended.
    Finished,
    /// `create_task` while the group cancels its children after an error.
    ShuttingDown,
}

impl fmt::Display for TaskGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskGroupError::NotEntered => "TaskGroup has not been entered",
            TaskGroupError::AlreadyEntered => "TaskGroup has already been entered",
            TaskGroupError::NoParentTask => "TaskGroup cannot determine the parent task",
            TaskGroupError::Finished => "TaskGroup is finished",
            TaskGroupError::ShuttingDown => "TaskGroup is shutting down",
        })
    }
}

impl std::error::Error for TaskGroupError {}

impl From<TaskGroupError> for Error {
    fn from(error: TaskGroupError) -> Self {
        Error::exception(error)
    }
}

#[derive(Default)]
struct GroupState {
    entered: Cell<bool>,
    exiting: Cell<bool>,
    aborting: Cell<bool>,
    event_loop: RefCell<Option<EventLoop>>,
    parent: RefCell<Option<Rc<dyn TaskControl>>>,
    parent_cancel_requested: Cell<bool>,
    /// The children still running, in creation order, by task id.
    children: RefCell<Vec<(u64, Rc<dyn TaskControl>)>>,
    errors: RefCell<Vec<Error>>,
    /// Completed when the last child is done, while `__aexit__` waits for it.
    on_completed: RefCell<Option<Future<()>>>,
}

/// A group of tasks that ends only when all of them have (`asyncio.TaskGroup`). Cloning gives
/// another reference to the same group.
#[derive(Clone, Default)]
pub struct TaskGroup(Rc<GroupState>);

impl TaskGroup {
    /// A group not yet entered; [`run`](Self::run) enters it.
    pub fn new() -> Self {
        TaskGroup::default()
    }

    /// `async with TaskGroup() as tg: <body>`: a new group around `body`. See the module
    /// diagram for the outcome.
    pub async fn run<T, F, B>(body: B) -> Result<T, Error>
    where
        B: FnOnce(TaskGroup) -> F,
        F: std::future::Future<Output = Result<T, Error>>,
    {
        let group = TaskGroup::new();
        group.run_body(body).await
    }

    /// Enters this group, runs `body` with it, and waits for its children: `run` for a group
    /// made beforehand with [`new`](Self::new).
    pub async fn run_body<T, F, B>(&self, body: B) -> Result<T, Error>
    where
        B: FnOnce(TaskGroup) -> F,
        F: std::future::Future<Output = Result<T, Error>>,
    {
        self.enter()?;
        let outcome = body(self.clone()).await;
        self.exit(outcome).await
    }

    /// `TaskGroup.create_task`: start `coroutine` as a task of the running loop, owned by the
    /// group.
    pub fn create_task<U, F>(&self, coroutine: F) -> Result<Task<U>, TaskGroupError>
    where
        U: Clone + 'static,
        F: std::future::Future<Output = Result<U, Error>> + 'static,
    {
        self.create_task_with_name(coroutine, None::<&str>)
    }

    /// `TaskGroup.create_task(coroutine, name=name)`. As CPython 3.12 does, the task is
    /// created without a name (it takes a `Task-N` number, and with the eager task factory
    /// its first step runs as `Task-N`) and then renamed (`tasks._set_task_name`).
    pub fn create_task_named<U, F>(
        &self,
        coroutine: F,
        name: impl fmt::Display,
    ) -> Result<Task<U>, TaskGroupError>
    where
        U: Clone + 'static,
        F: std::future::Future<Output = Result<U, Error>> + 'static,
    {
        self.create_task_with_name(coroutine, Some(name))
    }

    fn create_task_with_name<U, F>(
        &self,
        coroutine: F,
        name: Option<impl fmt::Display>,
    ) -> Result<Task<U>, TaskGroupError>
    where
        U: Clone + 'static,
        F: std::future::Future<Output = Result<U, Error>> + 'static,
    {
        let state = &self.0;
        if !state.entered.get() {
            return Err(TaskGroupError::NotEntered);
        }
        if state.exiting.get() && state.children.borrow().is_empty() {
            return Err(TaskGroupError::Finished);
        }
        if state.aborting.get() {
            return Err(TaskGroupError::ShuttingDown);
        }
        let event_loop = state
            .event_loop
            .borrow()
            .clone()
            .ok_or(TaskGroupError::NotEntered)?;
        let task = event_loop.create_task(coroutine);
        if let Some(name) = name {
            task.set_name(name);
        }
        let control = task.control();
        // 3.12: a task that finished in its eager first step is done with at once, without a
        // scheduled done-callback.
        if task.done() {
            self.on_task_done(&control);
            return Ok(task);
        }
        state
            .children
            .borrow_mut()
            .push((control.id(), control.clone()));
        let group = self.clone();
        task.add_done_callback(move || group.on_task_done(&control));
        Ok(task)
    }

    /// `TaskGroup.__aenter__`.
    fn enter(&self) -> Result<(), TaskGroupError> {
        let state = &self.0;
        if state.entered.get() {
            return Err(TaskGroupError::AlreadyEntered);
        }
        let parent = tasks::current().ok_or(TaskGroupError::NoParentTask)?;
        *state.event_loop.borrow_mut() = Some(parent.event_loop());
        *state.parent.borrow_mut() = Some(parent);
        state.entered.set(true);
        Ok(())
    }

    /// `TaskGroup.__aexit__`.
    async fn exit<T>(&self, outcome: Result<T, Error>) -> Result<T, Error> {
        let state = &self.0;
        state.exiting.set(true);
        let mut propagate_cancellation = matches!(outcome, Err(Error::Cancelled));
        let parent_uncancelled = || self.parent().map_or(0, |parent| parent.uncancel());
        if state.parent_cancel_requested.get() && parent_uncancelled() == 0 {
            // The only cancellation pending was the group's own: do not propagate it.
            propagate_cancellation = false;
        }
        if outcome.is_err() && !state.aborting.get() {
            self.abort();
        }
        let event_loop = state.event_loop.borrow().clone();
        while let Some(event_loop) = event_loop.as_ref().filter(|_| self.has_children()) {
            let waiter = self.on_completed_future(event_loop);
            if let Err(Error::Cancelled) = waiter.await {
                if !state.aborting.get() {
                    // The parent is being cancelled from outside while children still run.
                    propagate_cancellation = true;
                    self.abort();
                }
            }
            state.on_completed.borrow_mut().take();
        }
        let mut errors = std::mem::take(&mut *state.errors.borrow_mut());
        if propagate_cancellation && errors.is_empty() {
            return Err(Error::Cancelled);
        }
        match outcome {
            Err(Error::Cancelled) | Ok(_) if errors.is_empty() => outcome,
            Err(Error::Cancelled) | Ok(_) => Err(Error::TaskGroup(errors)),
            Err(error) => {
                errors.push(error);
                Err(Error::TaskGroup(errors))
            }
        }
    }

    fn on_completed_future(&self, event_loop: &EventLoop) -> Future<()> {
        let mut slot = self.0.on_completed.borrow_mut();
        slot.get_or_insert_with(|| Future::new(event_loop)).clone()
    }

    /// The parent task: set by `enter`, so present whenever the group has children or exits.
    fn parent(&self) -> Option<Rc<dyn TaskControl>> {
        self.0.parent.borrow().clone()
    }

    fn has_children(&self) -> bool {
        !self.0.children.borrow().is_empty()
    }

    /// `TaskGroup._abort`: cancel every child still running.
    fn abort(&self) {
        self.0.aborting.set(true);
        let children: Vec<_> = self
            .0
            .children
            .borrow()
            .iter()
            .map(|(_, child)| child.clone())
            .collect();
        for child in children.iter().filter(|child| !child.done()) {
            child.cancel();
        }
    }

    /// `TaskGroup._on_task_done`.
    fn on_task_done(&self, child: &Rc<dyn TaskControl>) {
        let state = &self.0;
        state
            .children
            .borrow_mut()
            .retain(|(id, _)| *id != child.id());
        if !self.has_children() {
            if let Some(waiter) = state.on_completed.borrow().as_ref() {
                let _ = waiter.set_result(());
            }
        }
        if child.cancelled() {
            return;
        }
        let Some(error) = child.exception() else {
            return;
        };
        state.errors.borrow_mut().push(error.clone());
        let Some(parent) = self.parent() else {
            return;
        };
        if parent.done() {
            parent
                .event_loop()
                .call_exception_handler(ExceptionContext {
                    message: format!(
                        "Task {} has errored out but its parent task {} is already completed",
                        child.describe(),
                        parent.describe()
                    ),
                    exception: Some(error),
                    task: Some(child.describe()),
                });
            return;
        }
        if !state.aborting.get() && !state.parent_cancel_requested.get() {
            // Cancel the parent's body so the block ends; `exit` withdraws the request.
            self.abort();
            state.parent_cancel_requested.set(true);
            parent.cancel();
        }
    }
}

impl fmt::Debug for TaskGroup {
    /// `<TaskGroup tasks=2 entered>`, as CPython's `TaskGroup.__repr__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = &self.0;
        let mut info = String::new();
        let children = state.children.borrow().len();
        if children > 0 {
            info += &format!(" tasks={children}");
        }
        let errors = state.errors.borrow().len();
        if errors > 0 {
            info += &format!(" errors={errors}");
        }
        if state.aborting.get() {
            info += " cancelling";
        } else if state.entered.get() {
            info += " entered";
        }
        write!(f, "<TaskGroup{info}>")
    }
}
