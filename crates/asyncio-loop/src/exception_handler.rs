//! The loop's exception handler, after `BaseEventLoop.call_exception_handler` and
//! `default_exception_handler` in CPython's `Lib/asyncio/base_events.py`.
//!
//! Errors that have no awaiter to go to (a task that fails while `asyncio.run` shuts down, a
//! `TaskGroup` child that fails after its parent finished) are reported here. The default
//! handler writes what CPython's `logger.error` writes to stderr when logging is not
//! configured: the message, one `key: value` line per other entry, then the exception.

use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::Error;

/// A handler set with [`EventLoop::set_exception_handler`].
pub(crate) type ExceptionHandler = Rc<dyn Fn(&EventLoop, &ExceptionContext)>;

/// The `context` dict of `call_exception_handler`: the entries asyncio itself passes.
#[derive(Clone, Debug)]
pub struct ExceptionContext {
    /// `context['message']`.
    pub message: String,
    /// `context['exception']`, if there is one.
    pub exception: Option<Error>,
    /// `repr(context['task'])`, if the error belongs to a task.
    pub task: Option<String>,
}

impl fmt::Display for ExceptionContext {
    /// The default handler's text: message, `task: ...`, then the exception.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = if self.message.is_empty() {
            "Unhandled exception in event loop"
        } else {
            &self.message
        };
        f.write_str(message)?;
        if let Some(task) = &self.task {
            write!(f, "\ntask: {task}")?;
        }
        if let Some(exception) = &self.exception {
            write!(f, "\n{exception}")?;
        }
        Ok(())
    }
}

impl EventLoop {
    /// `loop.set_exception_handler(handler)`; `None` restores the default handler.
    pub fn set_exception_handler(
        &self,
        handler: Option<impl Fn(&EventLoop, &ExceptionContext) + 'static>,
    ) {
        *self.0.exception_handler.borrow_mut() =
            handler.map(|handler| Rc::new(handler) as ExceptionHandler);
    }

    /// `loop.call_exception_handler(context)`: the handler set, or the default one.
    pub fn call_exception_handler(&self, context: ExceptionContext) {
        let handler = self.0.exception_handler.borrow().clone();
        match handler {
            Some(handler) => handler(self, &context),
            None => self.default_exception_handler(&context),
        }
    }

    /// `loop.default_exception_handler(context)`: writes the context to stderr.
    pub fn default_exception_handler(&self, context: &ExceptionContext) {
        eprintln!("{context}");
    }
}
