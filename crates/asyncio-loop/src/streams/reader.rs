//! `StreamReader` (`Lib/asyncio/streams.py`): a byte buffer fed by the protocol, read by one
//! coroutine at a time.
//!
//! ```text
//!   protocol side                          coroutine side
//!   feed_data(bytes)  append; wake waiter  read(n) / readline() / readuntil(sep) /
//!     buffer > 2 × limit: pause_reading      readexactly(n): take from the buffer, or
//!   feed_eof()        eof; wake waiter       _wait_for_data: one waiter future, resumed
//!   set_exception(e)  wake waiter with e     reading the transport if it was paused;
//!                                            after taking: buffer <= limit: resume_reading
//! ```
//!
//! Invariants:
//! - at most one coroutine waits for data (`waiter`); a second gets
//!   [`StreamError::ConcurrentRead`], CPython's `RuntimeError`;
//! - nothing is fed after EOF; an error, once set, is raised by every later read;
//! - `readuntil` never returns more than `limit` bytes before the separator: past that it
//!   raises `LimitOverrunError` and leaves the buffer as it was; at EOF without the separator it
//!   raises `IncompleteReadError` with everything buffered (which it consumes).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use crate::base_events::EventLoop;
use crate::futures::{Error, Future};
use crate::transports::Transport;

/// `streams._DEFAULT_LIMIT`: 64 KiB.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// `asyncio.IncompleteReadError`: EOF came before the expected bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before EOF (`partial`).
    pub partial: Vec<u8>,
    /// The bytes asked for (`expected`; `None` for `readuntil`).
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = match self.expected {
            Some(n) => n.to_string(),
            None => "undefined".to_string(),
        };
        write!(
            f,
            "{} bytes read on a total of {expected} expected bytes",
            self.partial.len()
        )
    }
}

/// `asyncio.LimitOverrunError`: the buffer limit was reached while looking for a separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// CPython's message: "Separator is not found, and chunk exceed the limit" or "Separator is
    /// found, but chunk is longer than limit".
    pub message: &'static str,
    /// The bytes to consume (`consumed`).
    pub consumed: usize,
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

/// How a [`StreamReader`] read failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StreamError {
    /// `IncompleteReadError` (`readexactly`, `readuntil`).
    IncompleteRead(IncompleteReadError),
    /// `LimitOverrunError` (`readuntil`).
    LimitOverrun(LimitOverrunError),
    /// `readline`'s `ValueError` for a line over the limit; the line (or the buffer) was
    /// dropped.
    LineTooLong(LimitOverrunError),
    /// `RuntimeError('... called while another coroutine is already waiting for incoming
    /// data')`, naming the method.
    ConcurrentRead(&'static str),
    /// `ValueError` for a bad argument (an empty separator).
    InvalidArgument(&'static str),
    /// The error the connection failed with (an `io::Error` inside `Error::Exception`), or
    /// cancellation.
    Failed(Error),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::IncompleteRead(error) => error.fmt(f),
            StreamError::LimitOverrun(error) | StreamError::LineTooLong(error) => error.fmt(f),
            StreamError::ConcurrentRead(method) => write!(
                f,
                "{method}() called while another coroutine is already waiting for incoming data"
            ),
            StreamError::InvalidArgument(message) => f.write_str(message),
            StreamError::Failed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for StreamError {}

impl From<Error> for StreamError {
    fn from(error: Error) -> Self {
        StreamError::Failed(error)
    }
}

impl From<StreamError> for Error {
    /// Cancellation stays [`Error::Cancelled`]; the rest become exceptions holding the
    /// [`StreamError`].
    fn from(error: StreamError) -> Self {
        match error {
            StreamError::Failed(error) => error,
            other => Error::exception(other),
        }
    }
}

struct ReaderInner {
    event_loop: EventLoop,
    limit: usize,
    buffer: RefCell<Vec<u8>>,
    eof: Cell<bool>,
    waiter: RefCell<Option<Future<()>>>,
    exception: RefCell<Option<Error>>,
    transport: RefCell<Option<Transport>>,
    paused: Cell<bool>,
}

/// `asyncio.StreamReader`. Cloning gives another reference to the same reader.
#[derive(Clone)]
pub struct StreamReader(Rc<ReaderInner>);

impl StreamReader {
    /// `StreamReader(limit, loop)`. A `limit` of 0 is taken as 1 (CPython refuses it).
    pub fn new(event_loop: &EventLoop, limit: usize) -> Self {
        StreamReader(Rc::new(ReaderInner {
            event_loop: event_loop.clone(),
            limit: limit.max(1),
            buffer: RefCell::new(Vec::new()),
            eof: Cell::new(false),
            waiter: RefCell::new(None),
            exception: RefCell::new(None),
            transport: RefCell::new(None),
            paused: Cell::new(false),
        }))
    }

    /// The buffer limit.
    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// `exception()`: the error set on the reader, if any.
    pub fn exception(&self) -> Option<Error> {
        self.0.exception.borrow().clone()
    }

    /// `set_exception(exc)`: every later read fails with it; a waiting read wakes with it.
    pub fn set_exception(&self, error: Error) {
        *self.0.exception.borrow_mut() = Some(error.clone());
        let waiter = self.0.waiter.borrow_mut().take();
        if let Some(waiter) = waiter {
            if !waiter.cancelled() {
                let _ = waiter.set_exception(error);
            }
        }
    }

    /// `_wakeup_waiter`.
    fn wakeup_waiter(&self) {
        let waiter = self.0.waiter.borrow_mut().take();
        if let Some(waiter) = waiter {
            if !waiter.cancelled() {
                let _ = waiter.set_result(());
            }
        }
    }

    pub(crate) fn set_transport(&self, transport: Transport) {
        *self.0.transport.borrow_mut() = Some(transport);
    }

    /// `_maybe_resume_transport`.
    fn maybe_resume_transport(&self) {
        if self.0.paused.get() && self.0.buffer.borrow().len() <= self.0.limit {
            self.0.paused.set(false);
            if let Some(transport) = self.0.transport.borrow().as_ref() {
                transport.resume_reading();
            }
        }
    }

    /// `feed_eof()`.
    pub fn feed_eof(&self) {
        self.0.eof.set(true);
        self.wakeup_waiter();
    }

    /// `at_eof()`: EOF was fed and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        self.0.eof.get() && self.0.buffer.borrow().is_empty()
    }

    /// `feed_data(data)`; pauses the transport when the buffer exceeds twice the limit. Data
    /// fed after EOF is dropped (CPython asserts).
    pub fn feed_data(&self, data: &[u8]) {
        if data.is_empty() || self.0.eof.get() {
            return;
        }
        self.0.buffer.borrow_mut().extend_from_slice(data);
        self.wakeup_waiter();
        if !self.0.paused.get() && self.0.buffer.borrow().len() > 2 * self.0.limit {
            if let Some(transport) = self.0.transport.borrow().as_ref() {
                transport.pause_reading();
                self.0.paused.set(true);
            }
        }
    }

    /// `_wait_for_data(func_name)`.
    async fn wait_for_data(&self, method: &'static str) -> Result<(), StreamError> {
        if self.0.waiter.borrow().is_some() {
            return Err(StreamError::ConcurrentRead(method));
        }
        if self.0.paused.replace(false) {
            if let Some(transport) = self.0.transport.borrow().as_ref() {
                transport.resume_reading();
            }
        }
        let waiter = self.0.event_loop.create_future::<()>();
        *self.0.waiter.borrow_mut() = Some(waiter.clone());
        let outcome = waiter.await;
        self.0.waiter.borrow_mut().take();
        outcome.map_err(StreamError::Failed)
    }

    fn raise_exception(&self) -> Result<(), StreamError> {
        match self.exception() {
            Some(error) => Err(StreamError::Failed(error)),
            None => Ok(()),
        }
    }

    /// `read(n)`: up to `n` bytes, waiting for at least one unless at EOF (then empty);
    /// `read_all` is `read(-1)`.
    pub async fn read(&self, n: usize) -> Result<Vec<u8>, StreamError> {
        self.raise_exception()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if self.0.buffer.borrow().is_empty() && !self.0.eof.get() {
            self.wait_for_data("read").await?;
        }
        let data = {
            let mut buffer = self.0.buffer.borrow_mut();
            if buffer.len() <= n {
                std::mem::take(&mut *buffer)
            } else {
                buffer.drain(..n).collect()
            }
        };
        self.maybe_resume_transport();
        Ok(data)
    }

    /// `read(-1)`: everything until EOF, read `limit` bytes at a time.
    pub async fn read_all(&self) -> Result<Vec<u8>, StreamError> {
        let mut all = Vec::new();
        loop {
            let block = self.read(self.0.limit).await?;
            if block.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(&block);
        }
    }

    /// `readexactly(n)`: exactly `n` bytes, or `IncompleteReadError` with what was left at
    /// EOF (consumed).
    pub async fn readexactly(&self, n: usize) -> Result<Vec<u8>, StreamError> {
        self.raise_exception()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        while self.0.buffer.borrow().len() < n {
            if self.0.eof.get() {
                let partial = std::mem::take(&mut *self.0.buffer.borrow_mut());
                return Err(StreamError::IncompleteRead(IncompleteReadError {
                    partial,
                    expected: Some(n),
                }));
            }
            self.wait_for_data("readexactly").await?;
        }
        let data = {
            let mut buffer = self.0.buffer.borrow_mut();
            if buffer.len() == n {
                std::mem::take(&mut *buffer)
            } else {
                buffer.drain(..n).collect()
            }
        };
        self.maybe_resume_transport();
        Ok(data)
    }

    /// `readuntil(separator)`: the bytes up to and including `separator`.
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>, StreamError> {
        let seplen = separator.len();
        if seplen == 0 {
            return Err(StreamError::InvalidArgument(
                "Separator should be at least one-byte string",
            ));
        }
        self.raise_exception()?;
        let limit = self.0.limit;
        let mut offset = 0;
        let isep = loop {
            let buflen = self.0.buffer.borrow().len();
            if buflen >= offset + seplen {
                let found = find(&self.0.buffer.borrow()[offset..], separator);
                if let Some(at) = found {
                    break offset + at;
                }
                offset = buflen + 1 - seplen;
                if offset > limit {
                    return Err(StreamError::LimitOverrun(LimitOverrunError {
                        message: "Separator is not found, and chunk exceed the limit",
                        consumed: offset,
                    }));
                }
            }
            if self.0.eof.get() {
                let partial = std::mem::take(&mut *self.0.buffer.borrow_mut());
                return Err(StreamError::IncompleteRead(IncompleteReadError {
                    partial,
                    expected: None,
                }));
            }
            self.wait_for_data("readuntil").await?;
        };
        if isep > limit {
            return Err(StreamError::LimitOverrun(LimitOverrunError {
                message: "Separator is found, but chunk is longer than limit",
                consumed: isep,
            }));
        }
        let chunk: Vec<u8> = self.0.buffer.borrow_mut().drain(..isep + seplen).collect();
        self.maybe_resume_transport();
        Ok(chunk)
    }

    /// `readline()`: a line ending in `\n`, or what was left at EOF (possibly empty). A line
    /// over the limit is dropped (up to and including its `\n` if buffered, else the whole
    /// buffer) and gives [`StreamError::LineTooLong`].
    pub async fn readline(&self) -> Result<Vec<u8>, StreamError> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(StreamError::IncompleteRead(error)) => Ok(error.partial),
            Err(StreamError::LimitOverrun(error)) => {
                {
                    let mut buffer = self.0.buffer.borrow_mut();
                    if buffer.get(error.consumed) == Some(&b'\n') {
                        buffer.drain(..error.consumed + 1);
                    } else {
                        buffer.clear();
                    }
                }
                self.maybe_resume_transport();
                Err(StreamError::LineTooLong(error))
            }
            Err(other) => Err(other),
        }
    }

    /// Bytes buffered now (`len(reader._buffer)`).
    pub fn buffered(&self) -> usize {
        self.0.buffer.borrow().len()
    }
}

/// `bytearray.find(needle)`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&b| b == needle[0]);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
