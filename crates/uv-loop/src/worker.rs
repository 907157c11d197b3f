//! Workers (Node's `worker_threads`): another thread with its own loop, and message passing.
//!
//! Invariants:
//! - A worker runs `body` inside its own [`run`](crate::run) on a new OS thread: its own
//!   environment, timers, queues and thread pool (Node: its own isolate and loop; the pool is
//!   per loop here, per process in Node).
//! - Messages are delivered in order, each as a callback from the receiving loop in its poll
//!   phase (a `MessagePort` is a `uv_async_t`), with ticks and microtasks drained after each.
//!   They are moved, not cloned: `T: Send` stands in for the structured clone.
//! - The parent's [`Worker`] keeps the parent loop alive until the worker's thread has ended
//!   and its `exit` has been delivered (unless [`Worker::unref`]). The worker's
//!   [`ParentPort`] keeps the worker's loop alive while it has a message handler, until
//!   [`ParentPort::close`], as `parentPort.on('message')` does.
//! - A handler often holds its own end (a reply needs the port, or the `Worker`), a cycle
//!   through the handler slot: the worker's handler is dropped when its loop has run out, the
//!   parent's once the exit is delivered (no message comes after either).
//!
//! ```text
//!   parent loop                                   worker thread: run(body(port))
//!   worker.post_message(m) ─ queue ─ async send ─> port async cb ─> on_message(m)
//!   on_message(r)  <─ async cb ─ queue ─────────── port.post_message(r)
//!   on_exit(result) <─────────────────────────────  run returned
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::node::with_env;
use crate::uv::{AsyncHandle, AsyncSender};

/// How a worker ended: `Ok` when its loop ran out of work, or the report of the error that
/// ended it (its [`RunError`](crate::RunError), rendered).
pub type WorkerExit = Result<(), String>;

enum ToParent<Out> {
    Message(Out),
    Exit(WorkerExit),
}

/// A queue one side fills and the other side's async handle drains.
struct Channel<T> {
    queue: Mutex<VecDeque<T>>,
    wake: Mutex<Option<AsyncSender>>,
}

impl<T> Channel<T> {
    fn new() -> Arc<Channel<T>> {
        Arc::new(Channel {
            queue: Mutex::new(VecDeque::new()),
            wake: Mutex::new(None),
        })
    }

    fn send(&self, message: T) {
        lock(&self.queue).push_back(message);
        if let Some(wake) = lock(&self.wake).as_ref() {
            wake.send();
        }
    }

    fn drain(&self) -> VecDeque<T> {
        std::mem::take(&mut *lock(&self.queue))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Handler<T> = Rc<RefCell<Option<Box<dyn FnMut(T)>>>>;
type ExitHandler = Rc<RefCell<Option<Box<dyn FnOnce(WorkerExit)>>>>;

/// The parent's handle on a worker (`new Worker(...)`).
pub struct Worker<In, Out> {
    to_worker: Arc<Channel<In>>,
    on_message: Handler<Out>,
    on_exit: ExitHandler,
    handle: AsyncHandle,
}

impl<In, Out> fmt::Debug for Worker<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

/// The worker's end of the channel (`require('worker_threads').parentPort`).
pub struct ParentPort<In, Out> {
    to_parent: Arc<Channel<ToParent<Out>>>,
    on_message: Handler<In>,
    handle: AsyncHandle,
}

impl<In, Out> Clone for ParentPort<In, Out> {
    fn clone(&self) -> Self {
        ParentPort {
            to_parent: self.to_parent.clone(),
            on_message: self.on_message.clone(),
            handle: self.handle.clone(),
        }
    }
}

impl<In, Out> fmt::Debug for ParentPort<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParentPort").finish_non_exhaustive()
    }
}

/// Starts a worker thread that runs `body` in its own loop (`new Worker(file)`).
pub fn spawn<In, Out, F>(body: F) -> std::io::Result<Worker<In, Out>>
where
    In: Send + 'static,
    Out: Send + 'static,
    F: FnOnce(ParentPort<In, Out>) + Send + 'static,
{
    let to_worker: Arc<Channel<In>> = Channel::new();
    let to_parent: Arc<Channel<ToParent<Out>>> = Channel::new();
    let on_message: Handler<Out> = Rc::new(RefCell::new(None));
    let on_exit: ExitHandler = Rc::new(RefCell::new(None));
    let handle_slot: Rc<RefCell<Option<AsyncHandle>>> = Rc::new(RefCell::new(None));
    let handle = {
        let (channel, on_message, on_exit) =
            (to_parent.clone(), on_message.clone(), on_exit.clone());
        let slot = handle_slot.clone();
        with_env(|env| {
            AsyncHandle::new(&env.uv, move || {
                for event in channel.drain() {
                    match event {
                        ToParent::Message(message) => deliver(&on_message, message),
                        ToParent::Exit(exit) => {
                            if let Some(handle) = slot.borrow_mut().take() {
                                let _ = handle.close(|| {});
                            }
                            let callback = on_exit.borrow_mut().take();
                            if let Some(callback) = callback {
                                with_env(|env| env.make_callback(|| callback(exit)));
                            }
                            // No message comes after the exit: the handler goes, and with it
                            // the cycle through a handler that holds its `Worker`.
                            let handler = on_message.borrow_mut().take();
                            drop(handler);
                        }
                    }
                }
            })
        })
    };
    *handle_slot.borrow_mut() = Some(handle.clone());
    *lock(&to_parent.wake) = Some(handle.sender());
    let (worker_inbox, worker_outbox) = (to_worker.clone(), to_parent.clone());
    let spawned = std::thread::Builder::new()
        .name("uv-worker".into())
        .spawn(move || {
            let outbox = worker_outbox.clone();
            let on_message: Handler<In> = Rc::new(RefCell::new(None));
            let port_handler = on_message.clone();
            let exit = crate::run(move || {
                let port = ParentPort::attach(worker_inbox, worker_outbox, port_handler);
                body(port);
            });
            // The worker's loop is done: its port's handler goes with it (a handler that
            // holds the port would otherwise keep the two alive for ever).
            let handler = on_message.borrow_mut().take();
            drop(handler);
            outbox.send(ToParent::Exit(exit.map_err(|error| error.to_string())));
        });
    if let Err(error) = spawned {
        let _ = handle.close(|| {});
        return Err(error);
    }
    Ok(Worker {
        to_worker,
        on_message,
        on_exit,
        handle,
    })
}

fn deliver<T>(handler: &Handler<T>, message: T) {
    let callback = handler.borrow_mut().take();
    if let Some(mut callback) = callback {
        with_env(|env| env.make_callback(|| callback(message)));
        let mut slot = handler.borrow_mut();
        if slot.is_none() {
            *slot = Some(callback);
        }
    }
}

impl<In, Out> Worker<In, Out> {
    /// Sends `message` to the worker (`worker.postMessage`).
    pub fn post_message(&self, message: In) {
        self.to_worker.send(message);
    }

    /// Calls `handler` with each message from the worker (`worker.on('message')`).
    pub fn on_message(&self, handler: impl FnMut(Out) + 'static) {
        *self.on_message.borrow_mut() = Some(Box::new(handler));
    }

    /// Calls `handler` once the worker has ended (`worker.on('exit')`; here with its error
    /// report instead of an exit code).
    pub fn on_exit(&self, handler: impl FnOnce(WorkerExit) + 'static) {
        *self.on_exit.borrow_mut() = Some(Box::new(handler));
    }

    /// Stops the worker from keeping this loop alive (`worker.unref()`).
    pub fn unref(&self) {
        self.handle.unref();
    }
}

impl<In: 'static, Out> ParentPort<In, Out> {
    fn attach(
        inbox: Arc<Channel<In>>,
        to_parent: Arc<Channel<ToParent<Out>>>,
        on_message: Handler<In>,
    ) -> Self {
        let handle = {
            let (channel, on_message) = (inbox.clone(), on_message.clone());
            with_env(|env| {
                AsyncHandle::new(&env.uv, move || {
                    for message in channel.drain() {
                        deliver(&on_message, message);
                    }
                })
            })
        };
        handle.unref();
        *lock(&inbox.wake) = Some(handle.sender());
        if !lock(&inbox.queue).is_empty() {
            handle.sender().send();
        }
        ParentPort {
            to_parent,
            on_message,
            handle,
        }
    }

    /// Sends `message` to the parent (`parentPort.postMessage`).
    pub fn post_message(&self, message: Out) {
        self.to_parent.send(ToParent::Message(message));
    }

    /// Calls `handler` with each message from the parent; the port now keeps the worker's
    /// loop alive (`parentPort.on('message')`).
    pub fn on_message(&self, handler: impl FnMut(In) + 'static) {
        *self.on_message.borrow_mut() = Some(Box::new(handler));
        self.handle.ref_();
    }

    /// Closes the port: no more messages arrive and it no longer keeps the loop alive
    /// (`parentPort.close()`).
    pub fn close(&self) {
        let _ = self.handle.close(|| {});
        let handler = self.on_message.borrow_mut().take();
        drop(handler);
    }
}
