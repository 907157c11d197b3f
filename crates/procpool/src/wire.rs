//! The messages inside frames, between the pool (parent) and one worker.
//!
//! ```text
//!   parent -> worker   Request::Run { function, args }   args: postcard of Vec<Arg> (a chunk)
//!                      Request::Shutdown                 the worker exits after its queued tasks
//!                      Request::RunTraced { function, args }  as Run, while the parent traces
//!   worker -> parent   Reply = Result<results, RemoteError>   results: postcard of Vec<Output>
//!                      TracedReply { ran, reply }        the answer to RunTraced
//! ```
//!
//! A traced request is a variant of its own, not a flag inside `Run`, so that the frames of an
//! untraced pool are byte for byte what they were: the IPC cost the lab measures does not
//! change with tracing off. The parent knows which of its requests were traced, so it knows
//! which form each reply takes.
//!
//! A worker runs its requests one at a time in the order they arrive, so its replies come back in
//! that order: the parent pairs each reply with the oldest task it sent that worker and no reply
//! carries a job id. This is also what lets the parent name the task a dead worker was running:
//! the oldest one outstanding.

use serde::{Deserialize, Serialize};

/// What the parent asks of a worker.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// Run the registered task `function` over each argument of a chunk.
    Run {
        /// The task's registered name.
        function: &'a str,
        /// postcard of `Vec<Arg>`.
        args: &'a [u8],
    },
    /// Exit after the requests already received (the `None` sentinel of pool.py's `worker`).
    Shutdown,
    /// As `Run`, and say when the task ran: the reply is a [`TracedReply`].
    RunTraced {
        /// The task's registered name.
        function: &'a str,
        /// postcard of `Vec<Arg>`.
        args: &'a [u8],
    },
}

/// Why a task produced no result, as the worker reports it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum RemoteError {
    /// The task panicked; the panic's message.
    Panic {
        /// The message the task panicked with (`"<non-string panic payload>"` otherwise).
        message: String,
    },
    /// No task of this name is registered in the worker's executable.
    UnknownTask {
        /// The name asked for.
        name: String,
    },
    /// The chunk's arguments did not decode as the task's argument type.
    BadArguments {
        /// The task.
        name: String,
        /// postcard's error.
        reason: String,
    },
    /// The results did not fit in one frame (multiprocessing's `MaybeEncodingError`).
    ResultTooLarge {
        /// The encoded size.
        len: u64,
        /// The frame limit.
        limit: u64,
    },
    /// The request frame itself could not be decoded or was over the limit.
    MalformedRequest {
        /// What was wrong.
        reason: String,
    },
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::Panic { message } => write!(f, "the task panicked: {message}"),
            RemoteError::UnknownTask { name } => {
                write!(f, "no task named {name:?} is registered in the worker")
            }
            RemoteError::BadArguments { name, reason } => {
                write!(f, "the arguments of {name:?} did not decode: {reason}")
            }
            RemoteError::ResultTooLarge { len, limit } => write!(
                f,
                "the result ({len} bytes encoded) is over the frame limit of {limit} bytes"
            ),
            RemoteError::MalformedRequest { reason } => {
                write!(f, "the worker could not read the request: {reason}")
            }
        }
    }
}

/// One reply: the chunk's encoded results, or why there are none.
pub(crate) type Reply<'a> = Result<&'a [u8], RemoteError>;

/// When a traced task ran in the worker, in `CLOCK_MONOTONIC` nanoseconds (the same clock in
/// every process: the parent moves them onto its trace's clock).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RunSpan {
    /// When the worker began the task (after decoding the request).
    pub(crate) begin_ns: u64,
    /// When it had the results (before encoding the reply).
    pub(crate) end_ns: u64,
}

/// The reply to [`Request::RunTraced`].
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct TracedReply<'a> {
    /// When the task ran.
    pub(crate) ran: RunSpan,
    /// The reply an untraced request would have had.
    #[serde(borrow)]
    pub(crate) reply: Reply<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_without_copying_its_arguments() {
        let args = postcard::to_stdvec(&vec![1u64, 2, 3]).unwrap();
        let request = Request::Run {
            function: "square",
            args: &args,
        };
        let bytes = postcard::to_stdvec(&request).unwrap();
        let back: Request<'_> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, request);
    }
}
