//! The worker's loop (pool.py's `worker()`): read a request, run it, write the reply, repeat.
//!
//! ```text
//!   loop:
//!     frame = next whole frame (read more from the socket if none)   end of file -> exit 0
//!     Request::Shutdown        -> exit 0            (pool.py: task is None)
//!     Request::Run{name,args}  -> reply = registry[name](args) | RemoteError
//!     Request::RunTraced{..}   -> the same, with when it ran (CLOCK_MONOTONIC) around it
//!     write the reply frame at once
//! ```
//!
//! A reply is written as soon as its task is done, never held back to batch it with the next:
//! `imap_unordered` yields in completion order, and a reply waiting behind a slow task would
//! change that order. Reads are batched instead: one `read` takes every request the parent has
//! queued. A request that cannot be read (oversize, malformed, unknown task, arguments of the
//! wrong type) gets an error reply of its own, so the parent's pairing of replies with tasks
//! stays in step and the worker carries on.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use crate::frame::{self, Frame, FrameBuffer};
use crate::registry;
use crate::sys;
use crate::wire::{RemoteError, Reply, Request, RunSpan, TracedReply};

/// How much the worker asks `read` for at a time.
const READ_SIZE: usize = 64 * 1024;

/// Serves requests on `socket` until told to stop or the parent goes away; returns the exit
/// status. A worker process calls [`start_worker_process`] first.
pub(crate) fn serve(socket: OwnedFd, frame_limit: usize) -> i32 {
    let mut stream = UnixStream::from(socket);
    if stream.set_nonblocking(false).is_err() {
        return 1;
    }
    let mut input = FrameBuffer::new(frame_limit);
    let mut output = Vec::with_capacity(READ_SIZE);
    loop {
        while let Some(frame) = input.next_frame() {
            let (outcome, ran) = match frame {
                Frame::Payload(payload) => match postcard::from_bytes::<Request<'_>>(&payload) {
                    Ok(Request::Shutdown) => return 0,
                    Ok(Request::Run { function, args }) => (run_task(function, args), None),
                    Ok(Request::RunTraced { function, args }) => {
                        let begin_ns = sys::monotonic_ns();
                        let outcome = run_task(function, args);
                        let end_ns = sys::monotonic_ns();
                        (outcome, Some(RunSpan { begin_ns, end_ns }))
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        (Err(RemoteError::MalformedRequest { reason }), None)
                    }
                },
                Frame::Oversize { len } => {
                    let reason = format!("a request of {len} bytes is over the frame limit");
                    (Err(RemoteError::MalformedRequest { reason }), None)
                }
            };
            output.clear();
            encode_reply(outcome, ran, frame_limit, &mut output);
            if stream.write_all(&output).is_err() {
                return 0;
            }
        }
        let spare = input.spare(READ_SIZE);
        match stream.read(spare) {
            Ok(0) => {
                input.filled(READ_SIZE, 0);
                return 0;
            }
            Ok(read) => input.filled(READ_SIZE, read),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {
                input.filled(READ_SIZE, 0);
            }
            Err(_) => return 0,
        }
    }
}

/// What a process does once, on becoming a worker: panics are reported to the parent, not
/// printed; a write to a parent that is gone fails instead of killing the worker with SIGPIPE.
pub(crate) fn start_worker_process() {
    registry::install_worker_panic_hook();
    crate::sys::ignore_sigpipe();
}

/// Runs the registered task `function` over the encoded chunk `args`.
fn run_task(function: &str, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
    match registry::lookup(function) {
        Some(run) => run(args),
        None => Err(RemoteError::UnknownTask {
            name: function.to_owned(),
        }),
    }
}

/// Appends the reply frame for `outcome` (a [`TracedReply`] when the request was traced and
/// `ran` says when); a result over the limit becomes an error reply.
fn encode_reply(
    outcome: Result<Vec<u8>, RemoteError>,
    ran: Option<RunSpan>,
    frame_limit: usize,
    out: &mut Vec<u8>,
) {
    let encode = |reply: Reply<'_>| match ran {
        Some(ran) => postcard::to_stdvec(&TracedReply { ran, reply }),
        None => postcard::to_stdvec(&reply),
    };
    let reply: Reply<'_> = match &outcome {
        Ok(results) => Ok(results),
        Err(error) => Err(error.clone()),
    };
    let encoded = encode(reply).unwrap_or_default();
    if let Err(too_large) = frame::encode(&encoded, frame_limit, out) {
        let reply: Reply<'_> = Err(RemoteError::ResultTooLarge {
            len: too_large.len,
            limit: too_large.limit,
        });
        let encoded = encode(reply).unwrap_or_default();
        // An error reply is a few dozen bytes: under any limit a pool accepts (at least 1 KiB).
        let _ = frame::encode(&encoded, frame_limit, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame::encode(payload, 1 << 20, &mut out).unwrap();
        out
    }

    fn read_reply(stream: &mut UnixStream) -> Result<Vec<u8>, RemoteError> {
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).unwrap();
        let mut payload = vec![0; u32::from_be_bytes(header) as usize];
        stream.read_exact(&mut payload).unwrap();
        let reply: Reply<'_> = postcard::from_bytes(&payload).unwrap();
        reply.map(<[u8]>::to_vec)
    }

    #[test]
    fn unreadable_requests_get_error_replies_and_the_worker_carries_on() {
        let (parent, child) = UnixStream::pair().unwrap();
        let worker = std::thread::spawn(move || serve(child.into(), 1024));
        let mut parent = parent;
        parent.write_all(&frame(&[0xff, 0xff, 0xff])).unwrap();
        let mut oversize = 5000u32.to_be_bytes().to_vec();
        oversize.extend_from_slice(&[0; 5000]);
        parent.write_all(&oversize).unwrap();
        let unknown = postcard::to_stdvec(&Request::Run {
            function: "no::such",
            args: &[0],
        })
        .unwrap();
        parent.write_all(&frame(&unknown)).unwrap();
        parent
            .write_all(&frame(&postcard::to_stdvec(&Request::Shutdown).unwrap()))
            .unwrap();
        assert!(matches!(
            read_reply(&mut parent),
            Err(RemoteError::MalformedRequest { .. })
        ));
        match read_reply(&mut parent) {
            Err(RemoteError::MalformedRequest { reason }) => assert!(reason.contains("5000 bytes")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_reply(&mut parent),
            Err(RemoteError::UnknownTask {
                name: "no::such".to_owned()
            })
        );
        assert_eq!(worker.join().unwrap(), 0);
    }

    #[test]
    fn a_worker_whose_parent_goes_away_exits() {
        let (parent, child) = UnixStream::pair().unwrap();
        let worker = std::thread::spawn(move || serve(child.into(), 1024));
        drop(parent);
        assert_eq!(worker.join().unwrap(), 0);
    }
}
