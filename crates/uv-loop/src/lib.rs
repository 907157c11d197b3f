//! Node.js's event loop on libuv in Rust, callback for callback.
//!
//! The same program gives the same order of callbacks as Node 20 (libuv 1.46): this crate
//! follows libuv's `src/unix/core.c` (`uv_run`), `src/timer.c`, `src/unix/loop-watcher.c`,
//! `src/unix/async.c` and `src/threadpool.c`, and Node's `lib/internal/timers.js` and
//! `lib/internal/process/task_queues.js`, step by step. Its tests compare orderings with
//! fixtures recorded from the real Node on this machine (`peers/node/regen-fixtures.sh`).
//!
//! Two layers, as in Node:
//!
//! ```text
//!   Node layer (free functions, one environment per thread)
//!     run / run_with     the "process": main, then ticks + microtasks, then uv_run
//!     timers             set_timeout / set_interval / clear_*: one list per duration
//!     immediate          set_immediate / clear_immediate: the check phase
//!     timers_promises    set_timeout_promise / set_immediate_promise (timers/promises),
//!                        cancelled by a signal
//!     abort              AbortController, AbortSignal (abort, timeout, any): listeners run
//!                        in order, once, as the abort happens
//!     task_queues        next_tick, queue_microtask, processTicksAndRejections
//!     promise            Promise, Resolver: reactions are microtasks
//!     combinators        Promise.all, all_settled, race, any: one reaction job per input
//!     events             EventEmitter (on, once, prepend, off, emit, newListener,
//!                        removeListener, the `error` rule) and events.once, a promise
//!     warning            process.emitWarning / on('warning'): delivered on a nextTick
//!     async_fn           call_async: a Rust future driven by microtasks (await = 1 turn)
//!     fs, dns, crypto,   on the thread pool; callbacks in the poll phase
//!     zlib, queue_work
//!     fs::promises       fs/promises: the same requests; the promise settles in the poll
//!                        phase, its reactions run after that callback
//!     net                TCP server and sockets on epoll readiness (data, end, drain, close)
//!     dgram              UDP sockets (bind, send, message, connect, close) on a uv UDP handle
//!     worker             a thread with its own loop; messages through async handles
//!   libuv layer (module `uv`)
//!     Loop::run          timers ─ pending ─ idle ─ prepare ─ poll ─ check ─ closing ─ timers
//!     handles            TimerHandle, IdleHandle, PrepareHandle, CheckHandle, AsyncHandle,
//!                        UdpHandle, and I/O watchers (mio, epoll) for `net` and `dgram`
//!     threadpool         one FIFO queue, slow I/O capped at half the pool, 4 threads default
//! ```
//!
//! "JavaScript" here is Rust closures on the loop thread. A throw is [`throw`] (or a panic):
//! it ends [`run`] with a [`RunError`], as an uncaught exception ends a Node process; an
//! unhandled promise rejection does the same (Node's default `--unhandled-rejections=throw`).
//! Everything but the pool's workers and [`uv::AsyncSender`] is single-threaded (`Rc`).
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let out = log.clone();
//! uv_loop::run(move || {
//!     let (a, b, c, d) = (out.clone(), out.clone(), out.clone(), out.clone());
//!     uv_loop::set_timeout(move || a.borrow_mut().push("timeout"), 0);
//!     uv_loop::set_immediate(move || b.borrow_mut().push("immediate"));
//!     uv_loop::next_tick(move || c.borrow_mut().push("nextTick"));
//!     uv_loop::Promise::resolve(()).then(move |()| d.borrow_mut().push("promise"));
//!     out.borrow_mut().push("sync");
//! })
//! .unwrap();
//! assert_eq!(log.borrow()[..3], ["sync", "nextTick", "promise"]);
//! ```

pub mod crypto;
pub mod dgram;
pub mod dns;
pub mod events;
pub mod fs;
pub mod net;
mod node;
pub mod uv;
pub mod worker;
pub mod zlib;

pub use events::EventEmitter;
pub use node::abort::{AbortController, AbortError, AbortListener, AbortSignal, DomException};
pub use node::async_fn::call_async;
pub use node::combinators::AggregateError;
pub use node::immediate::{clear_immediate, set_immediate, Immediate};
pub use node::promise::{Promise, PromiseFuture, Resolver};
pub use node::task_queues::{next_tick, queue_microtask};
pub use node::timers::{
    clear_interval, clear_timeout, coerce_delay, set_interval, set_timeout, Timeout, TIMEOUT_MAX,
};
pub use node::timers_promises::{set_immediate_promise, set_timeout_promise, TimerOptions};
pub use node::warning::{emit_warning, on_warning, Warning};
use uv::HandleId;

pub use node::{queue_work, run, run_with, throw, JsError, RunError, RunOptions};
