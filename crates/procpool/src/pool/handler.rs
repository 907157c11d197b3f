//! The pool's handler thread: pool.py's `_handle_workers`, `_handle_tasks` and
//! `_handle_results` as one poll loop.
//!
//! ```text
//!   run():
//!     loop {
//!       rearm the wake-up, drain its pipe
//!       lock shared: terminate? -> kill all, fail everything, return
//!                    dispatch queued tasks to workers with room
//!                    closed and queue empty? -> tell every worker to stop
//!       write what each worker has pending (non-blocking)
//!       no workers left and nothing queued and not running? -> return
//!       poll(wake pipe, every worker socket: readable, and writable if output is pending)
//!       read every readable worker: each reply completes its oldest outstanding task
//!       a worker at end of file: reap it;
//!         retired (told to stop, nothing outstanding) -> replace it while work remains
//!         otherwise                                   -> break the pool
//!     }
//! ```
//!
//! Writes are non-blocking and reads drain each socket: a worker blocked writing replies while
//! the handler is blocked writing requests would otherwise deadlock both.
//!
//! While a trace records, tasks go out as `Request::RunTraced` and each reply says when its task
//! ran in the worker; the handler records that run as the worker's own ([`super::trace`]).
//! Task ids in the trace are the pool's count of tasks sent, from 1.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use super::job::Job;
use super::trace;
use super::{Core, Pending, PoolOptions, Status, PREFETCH_ITEMS, PREFETCH_TASKS};
use crate::error::{BrokenPool, TaskError};
use crate::frame::{self, Frame, FrameBuffer};
use crate::start::{self, StartMethod, WorkerProcess};
use crate::sys::{self, PollFd};
use crate::wire::{Reply, Request, TracedReply};

const READ_SIZE: usize = 64 * 1024;

/// How long `terminate` waits after SIGTERM before it sends SIGKILL.
const TERMINATE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// A task sent to a worker and not yet answered.
struct Outstanding {
    job: Arc<Job>,
    chunk: usize,
    function: &'static str,
    items: usize,
    /// Its reply is a `TracedReply`.
    traced: bool,
    /// The pool's count of tasks sent, this one included: its id in the trace.
    task: u64,
}

impl Outstanding {
    fn describe(&self) -> String {
        format!(
            "{}, chunk {} of job {}",
            self.function, self.chunk, self.job.id
        )
    }
}

/// One worker as the handler sees it.
pub(crate) struct Worker {
    name: String,
    /// Its number in its name (`ForkPoolWorker-<number>`): the `proc_id` of its task runs.
    number: usize,
    process: WorkerProcess,
    stream: UnixStream,
    outstanding: VecDeque<Outstanding>,
    outstanding_items: usize,
    /// Tasks sent over its life (for `maxtasksperchild`).
    sent: usize,
    /// It has been sent `Shutdown`.
    retiring: bool,
    output: Vec<u8>,
    input: FrameBuffer,
}

impl Worker {
    pub(crate) fn new(
        method: StartMethod,
        number: usize,
        (process, socket): (WorkerProcess, OwnedFd),
        limit: usize,
    ) -> Worker {
        let stream = UnixStream::from(socket);
        let _ = stream.set_nonblocking(true);
        Worker {
            name: format!("{}-{number}", method.worker_prefix()),
            number,
            process,
            stream,
            outstanding: VecDeque::new(),
            outstanding_items: 0,
            sent: 0,
            retiring: false,
            output: Vec::new(),
            input: FrameBuffer::new(limit),
        }
    }

    pub(crate) fn socket_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Whether it can take `task` now.
    fn has_room(&self, task: &Pending, maxtasks: Option<usize>) -> bool {
        if self.retiring || maxtasks.is_some_and(|max| self.sent >= max) {
            return false;
        }
        let held = self.outstanding.len();
        held < 2 || (held < PREFETCH_TASKS && self.outstanding_items + task.items <= PREFETCH_ITEMS)
    }

    /// Sends `task`, the pool's `number`-th.
    fn send(&mut self, task: Pending, number: u64, maxtasks: Option<usize>, limit: usize) {
        self.output.extend_from_slice(&task.frame);
        trace::frame("frame sent bytes", task.frame.len());
        self.outstanding_items += task.items;
        self.outstanding.push_back(Outstanding {
            job: task.job,
            chunk: task.chunk,
            function: task.function,
            items: task.items,
            traced: task.traced,
            task: number,
        });
        self.sent += 1;
        if maxtasks.is_some_and(|max| self.sent >= max) {
            self.send_shutdown(limit);
        }
    }

    fn send_shutdown(&mut self, limit: usize) {
        if self.retiring {
            return;
        }
        if let Ok(payload) = postcard::to_stdvec(&Request::Shutdown) {
            let _ = frame::encode(&payload, limit, &mut self.output);
        }
        self.retiring = true;
    }

    /// Writes what it can of the pending output.
    fn flush(&mut self) -> io::Result<()> {
        while !self.output.is_empty() {
            match sys::send_nosignal(self.stream.as_fd(), &self.output) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.output.drain(..written);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Reads every reply available; returns whether the worker's socket is at end of file.
    fn read_replies(&mut self) -> bool {
        loop {
            let spare = self.input.spare(READ_SIZE);
            match self.stream.read(spare) {
                Ok(0) => {
                    self.input.filled(READ_SIZE, 0);
                    self.take_replies();
                    return true;
                }
                Ok(read) => {
                    self.input.filled(READ_SIZE, read);
                    self.take_replies();
                    if read < READ_SIZE {
                        return false;
                    }
                }
                Err(error) => {
                    self.input.filled(READ_SIZE, 0);
                    match error.kind() {
                        io::ErrorKind::WouldBlock => return false,
                        io::ErrorKind::Interrupted => {}
                        _ => return true,
                    }
                }
            }
        }
    }

    fn take_replies(&mut self) {
        while let Some(frame) = self.input.next_frame() {
            let Some(task) = self.outstanding.pop_front() else {
                continue;
            };
            self.outstanding_items -= task.items;
            let outcome = match frame {
                Frame::Payload(payload) => {
                    trace::frame("frame received bytes", payload.len() + 4);
                    let reply = if task.traced {
                        postcard::from_bytes::<TracedReply<'_>>(&payload).map(|traced| {
                            trace::worker_run(self.process.pid, self.number, task.task, traced.ran);
                            traced.reply
                        })
                    } else {
                        postcard::from_bytes::<Reply<'_>>(&payload)
                    };
                    match reply {
                        Ok(Ok(results)) => Ok(results.to_vec()),
                        Ok(Err(remote)) => Err(TaskError::Remote(remote)),
                        Err(error) => Err(TaskError::MalformedReply(error.to_string())),
                    }
                }
                Frame::Oversize { len } => Err(TaskError::MalformedReply(format!(
                    "a reply of {len} bytes is over the frame limit"
                ))),
            };
            task.job.complete(task.chunk, outcome);
        }
    }
}

/// The handler thread's state.
pub(crate) struct Handler {
    core: Arc<Core>,
    workers: Vec<Worker>,
    options: PoolOptions,
    next_number: usize,
    /// Tasks sent to workers so far.
    tasks_sent: u64,
}

impl Handler {
    pub(crate) fn new(core: Arc<Core>, workers: Vec<Worker>, options: PoolOptions) -> Handler {
        let next_number = workers.len() + 1;
        Handler {
            core,
            workers,
            options,
            next_number,
            tasks_sent: 0,
        }
    }

    /// The loop; returns once the pool is closed and drained, terminated, or broken.
    pub(crate) fn run(mut self) {
        loop {
            self.core.rearm();
            self.drain_wake_pipe();
            let (status, queue_empty) = self.dispatch();
            if status == Status::Terminate {
                self.terminate_all(&TaskError::Terminated);
                return;
            }
            for worker in &mut self.workers {
                // A worker that cannot be written to has died: its end of file comes on the read
                // side, where its death is handled.
                let _ = worker.flush();
            }
            if self.workers.is_empty() && queue_empty && status != Status::Run {
                return;
            }
            let mut fds = vec![PollFd::new(self.core.wake_read.as_raw_fd(), false)];
            fds.extend(
                self.workers
                    .iter()
                    .map(|w| PollFd::new(w.socket_fd(), !w.output.is_empty())),
            );
            if sys::poll(&mut fds, -1).is_err() {
                continue;
            }
            let mut ended = Vec::new();
            for (index, fd) in fds.iter().enumerate().skip(1) {
                let worker = &mut self.workers[index - 1];
                if fd.writable() {
                    let _ = worker.flush();
                }
                if fd.readable() && worker.read_replies() {
                    ended.push(index - 1);
                }
            }
            for index in ended.into_iter().rev() {
                if !self.worker_ended(index) {
                    return;
                }
            }
        }
    }

    fn drain_wake_pipe(&self) {
        let mut buffer = [0u8; 64];
        // SAFETY: reads into a valid buffer of its length from the pipe the handler owns.
        while unsafe {
            libc::read(
                self.core.wake_read.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                64,
            )
        } > 0
        {}
    }

    /// Gives queued tasks to workers with room; returns the status and whether the queue is empty.
    fn dispatch(&mut self) -> (Status, bool) {
        let maxtasks = self.options.maxtasksperchild;
        let limit = self.core.frame_limit;
        let mut shared = self.core.lock();
        while let Some(task) = shared.queue.front() {
            let best = self
                .workers
                .iter()
                .enumerate()
                .filter(|(_, w)| w.has_room(task, maxtasks))
                .min_by_key(|(_, w)| w.outstanding.len())
                .map(|(index, _)| index);
            let Some(index) = best else { break };
            let Some(task) = shared.queue.pop_front() else {
                break;
            };
            self.tasks_sent += 1;
            self.workers[index].send(task, self.tasks_sent, maxtasks, limit);
        }
        let status = shared.status;
        let queue_empty = shared.queue.is_empty();
        drop(shared);
        if status == Status::Close && queue_empty {
            for worker in &mut self.workers {
                worker.send_shutdown(limit);
            }
        }
        (status, queue_empty)
    }

    /// Handles a worker whose socket reached end of file; returns false if the pool broke.
    fn worker_ended(&mut self, index: usize) -> bool {
        let mut worker = self.workers.swap_remove(index);
        let status = worker.process.wait();
        trace_exit(&worker, status);
        if worker.retiring && worker.outstanding.is_empty() {
            let (status, queue_empty) = {
                let shared = self.core.lock();
                (shared.status, shared.queue.is_empty())
            };
            if status == Status::Run || (status == Status::Close && !queue_empty) {
                return self.replace_worker();
            }
            return true;
        }
        let broken = Arc::new(BrokenPool {
            worker: worker.name.clone(),
            pid: worker.process.pid,
            status,
            running: worker.outstanding.front().map(Outstanding::describe),
        });
        let error = TaskError::Broken(broken.clone());
        // Broken before any task fails: whoever sees a failed task then sees a refusing pool.
        self.core.lock().broken = Some(broken);
        for task in worker.outstanding.drain(..) {
            task.job.fail_pending(&error);
        }
        self.terminate_all(&error);
        false
    }

    /// Starts a worker in place of one that retired (`_repopulate_pool`).
    fn replace_worker(&mut self) -> bool {
        let number = self.next_number;
        self.next_number += 1;
        let method = self.options.start_method;
        let parent_ends: Vec<RawFd> = self.workers.iter().map(Worker::socket_fd).collect();
        match start::start(method, self.core.frame_limit, &parent_ends) {
            Ok(process) => {
                self.workers
                    .push(Worker::new(method, number, process, self.core.frame_limit));
                true
            }
            Err(error) => {
                let broken = Arc::new(BrokenPool {
                    worker: format!("{}-{number}", method.worker_prefix()),
                    pid: 0,
                    status: start::ExitStatus::Unknown,
                    running: Some(format!("nothing: it could not be started: {error}")),
                });
                let task_error = TaskError::Broken(broken.clone());
                self.core.lock().broken = Some(broken);
                self.terminate_all(&task_error);
                false
            }
        }
    }

    /// Kills every worker, waits for each, and fails every task not yet done with `error`.
    fn terminate_all(&mut self, error: &TaskError) {
        for worker in &self.workers {
            worker.process.kill(libc::SIGTERM);
        }
        for mut worker in self.workers.drain(..) {
            // A task may catch or ignore SIGTERM; terminate must not hang on it.
            if !worker.process.exits_within(TERMINATE_GRACE) {
                worker.process.kill(libc::SIGKILL);
            }
            let status = worker.process.wait();
            trace_exit(&worker, status);
            for task in worker.outstanding.drain(..) {
                task.job.fail_pending(error);
            }
        }
        let queued: Vec<Pending> = self.core.lock().queue.drain(..).collect();
        for task in queued {
            task.job.fail_pending(error);
        }
    }
}

/// Records a worker's exit in a trace being recorded: its exit code, or minus the signal that
/// ended it (`i32::MIN` when unknown).
fn trace_exit(worker: &Worker, status: start::ExitStatus) {
    if probe::trace::enabled() {
        let code = match status {
            start::ExitStatus::Code(code) => code,
            start::ExitStatus::Signal(signal) => -signal,
            start::ExitStatus::Unknown => i32::MIN,
        };
        probe::trace::record(probe::trace::EventKind::ProcessExit {
            pid: worker.process.pid as u32,
            status: code,
        });
    }
}
