//! CPython's asyncio event loop in Rust, order for order.
//!
//! The same program gives the same order of events as CPython 3.12's `asyncio`: this crate
//! follows `Lib/asyncio/base_events.py` (`_run_once`), `events.py` (handles), `futures.py` and
//! `tasks.py`, `queues.py` and `locks.py` step by step, and its tests compare orderings line for
//! line with fixtures recorded from the real CPython (`peers/python/regen-fixtures.sh`).
//!
//! Parts, one module each:
//!
//! ```text
//!   all_tasks    the tasks not yet done (the loop owns them): a slot table
//!   base_events  EventLoop: ready queue, timer heap, _run_once, run_forever/run_until_complete,
//!                debug mode (slow handles reported as "Executing %s took %.3f seconds")
//!   events       Handle, TimerHandle: cancellable callbacks
//!   heapq        Lib/heapq.py's sift order, which decides the order of timers with equal `when`
//!   cells        put_back: a value taken from a Cell goes back without Cell::set's drop glue
//!   wakeup       call_soon_threadsafe: an eventfd self-pipe that ends the selector's wait
//!   selector     EpollSelector (level-triggered, via rustix) and the fd -> reader/writer table
//!   selector_events  add_reader/add_writer, create_server/create_connection, Server
//!   unix_events  create_unix_server (a stale socket file removed)/create_unix_connection
//!   signals      add_signal_handler/remove_signal_handler: signal-hook sets a flag and writes
//!                a socketpair the selector watches; the handler runs as a callback in the loop
//!   sock_coroutines  sock_recv, sock_sendall, sock_accept, sock_connect: the system call
//!                first, then a reader/writer until it succeeds; removed however they end
//!   sockets      what a transport or server holds: a TCP or Unix socket (an enum, no box), a
//!                UDP or Unix datagram socket; SocketName, a TCP address or a Unix path
//!   resolve      host names: getaddrinfo in the executor, each address tried in turn
//!   protocols    Protocol: connection_made, data_received, eof_received, connection_lost;
//!                DatagramProtocol: datagram_received, error_received
//!   selector_transport  SelectorTransport (_SelectorTransport, _FlowControlMixin): the state
//!                and methods both transports share (close, abort, _force_close, water marks)
//!   transports   Transport (_SelectorSocketTransport): write buffering, write_eof
//!   datagram_transport  DatagramTransport (_SelectorDatagramTransport): sendto, one recvfrom
//!                per event, buffered datagrams while the socket would block
//!   datagram_endpoint  create_datagram_endpoint: UDP or Unix datagram sockets, bound,
//!                connected, SO_REUSEPORT, SO_BROADCAST
//!   given_sockets  sock=: a socket the caller made, for create_server, create_connection,
//!                create_datagram_endpoint and their Unix and stream twins; CPython's checks
//!                (SOCK_STREAM, AF_UNIX, SOCK_DGRAM, no other option) and repr(sock)
//!   streams      open_connection/start_server, open_unix_connection/start_unix_server,
//!                StreamReader (read, readline, readexactly, readuntil), StreamWriter
//!                (write, drain, close, wait_closed)
//!   executor     run_in_executor and to_thread on a lazily grown pool of min(32, cpus + 4) threads
//!   futures      Future: result or error, done-callbacks always through call_soon
//!   tasks        Task (one poll per step; 3.12's eager first step), wait_for, current_task
//!   task_names   Task-N default names (the task's id is CPython's _task_name_counter), custom
//!                names in a side table of the loop, all_tasks()
//!   sleep        sleep: its timer handle and its future in one allocation
//!   gather       gather and _GatheringFuture: results in argument order, cancel the children
//!   wait         wait (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, timeout), shield,
//!                as_completed
//!   timeouts     timeout/timeout_at: a deadline scope that turns its own cancellation into Timeout
//!   taskgroups   TaskGroup: children cancelled on the first error, errors gathered in a group
//!   runners      asyncio.run: main, then cancel the leftover tasks, shut the executor down, close;
//!                on the main thread the first SIGINT cancels main, the second stops the run
//!   exception_handler  set_exception_handler/call_exception_handler and the default handler
//!   queues       Queue (FIFO, LIFO, priority): getters/putters deques of futures,
//!                _wakeup_next, task_done/join
//!   locks        Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier: FIFO waiter futures,
//!                3.12's fairness
//! ```
//!
//! Not yet (issue 4): TLS, the other `sock_*` coroutines (`sock_recv_into`,
//! `sock_recvfrom`, `sock_sendto`, `sock_sendfile`), pipes (`connect_read_pipe`/
//! `connect_write_pipe`), 3.13's `cleanup_socket`, `BufferedProtocol`, `sendfile`, happy
//! eyeballs, custom task factories (the default and 3.12's `eager_task_factory` are here),
//! subprocesses and child watchers. Benchmarks against CPython: `BENCHMARKS.md`.
//!
//! Coroutines are Rust `async` blocks returning `Result<T, Error>`; `Error::Cancelled` plays
//! `CancelledError`, and `?` propagates it as a coroutine propagates an exception. The loop is
//! single-threaded (`Rc`, `!Send`); only [`ThreadsafeLoop`] crosses threads. Contains no
//! `unsafe` (signal-hook does the async-signal-safe part of signal handling).
//!
//! ```
//! use asyncio_loop::{sleep, EventLoop};
//!
//! let event_loop = EventLoop::new();
//! let value = event_loop
//!     .run_until_complete(async {
//!         sleep(0.0).await?;
//!         Ok(42)
//!     })
//!     .unwrap();
//! assert_eq!(value, 42);
//! ```
#![forbid(unsafe_code)]

mod all_tasks;
mod base_events;
mod cells;
mod datagram_endpoint;
mod datagram_transport;
mod events;
mod exception_handler;
mod executor;
mod futures;
mod gather;
mod given_sockets;
mod heapq;
mod locks;
mod protocols;
mod queues;
mod resolve;
mod runners;
mod selector;
mod selector_events;
mod selector_transport;
mod signals;
mod sleep;
mod sock_coroutines;
mod sockets;
mod streams;
mod task_names;
mod taskgroups;
mod tasks;
mod timeouts;
mod transports;
mod unix_events;
mod wait;
mod wakeup;

pub use base_events::{EventLoop, RunError, TaskFactory};
pub use datagram_endpoint::{DatagramEndpoint, EndpointError, Family};
pub use datagram_transport::{DatagramTransport, SendtoError};
pub use events::{Handle, TimerHandle};
pub use exception_handler::ExceptionContext;
pub use executor::{to_thread, ExecutorError, ExecutorPanic};
pub use futures::{Error, Future, InvalidStateError};
pub use gather::{gather, gather_return_exceptions};
pub use given_sockets::{ConnectionSock, DatagramSock, ServerSock, SockError, SockRejected};
pub use locks::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, ConditionNotAcquired, Event, Lock,
    LockNotAcquired, NoParties, ReleasedTooManyTimes, Semaphore,
};
pub use protocols::{DatagramProtocol, Protocol};
pub use queues::{
    Fifo, Lifo, LifoQueue, Priority, PriorityQueue, Queue, QueueEmpty, QueueFull, QueueOrder,
    TaskDoneError,
};
pub use resolve::Address;
pub use runners::run;
pub use selector::{set_select_hook, SelectHook};
pub use selector_events::{ServeError, Server};
pub use signals::SignalError;
pub use sleep::{sleep, Sleep};
pub use sock_coroutines::ListeningSocket;
pub use sockets::SocketName;
pub use streams::{
    open_connection, open_connection_sock, open_connection_sock_with_limit,
    open_connection_with_limit, open_unix_connection, open_unix_connection_sock,
    open_unix_connection_sock_with_limit, open_unix_connection_with_limit, start_server,
    start_server_sock, start_server_sock_with_limit, start_server_with_limit, start_unix_server,
    start_unix_server_sock, start_unix_server_sock_with_limit, start_unix_server_with_limit,
    IncompleteReadError, LimitOverrunError, StreamError, StreamReader, StreamWriter, DEFAULT_LIMIT,
};
pub use task_names::{all_tasks, NoRunningLoop};
pub use taskgroups::{TaskGroup, TaskGroupError};
pub use tasks::{current_task, wait_for, CurrentTask, Task};
pub use timeouts::{timeout, timeout_at, Timeout, TimeoutStateError};
pub use transports::{Transport, WaterMarksError, WriteError, DEFAULT_HIGH_WATER, MAX_SIZE};
pub use wait::{as_completed, shield, wait, AsCompleted, EmptyWait, ReturnWhen};
pub use wakeup::{LoopClosed, ThreadsafeLoop};
