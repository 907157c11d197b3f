//! Blocking I/O with the GIL released, as CPython's socket and file calls do.
//!
//! CPython's `sock_recv` and `sock_sendall` (Modules/socketmodule.c, `sock_call_ex`) run the
//! system call between `Py_BEGIN_ALLOW_THREADS` and `Py_END_ALLOW_THREADS`: the GIL is dropped
//! before the call and taken back after it returns, whether or not the call really blocked. That
//! re-take is where the convoy effect comes from: a thread whose I/O completes finds the GIL held
//! by a CPU-bound thread and waits one switch interval before it may ask for it.
//!
//! These helpers do the same around any `Read` or `Write` (sockets, pipes, files).

use std::io::{self, Read, Write};

use crate::Python;

/// `socket.recv(len(buf))`: one `read` into `buf` with the GIL released; the bytes read.
pub fn recv<S>(py: Python<'_>, stream: &mut S, buf: &mut [u8]) -> io::Result<usize>
where
    S: Read + Send + ?Sized,
{
    py.allow_threads(|| stream.read(buf))
}

/// `socket.sendall(data)`: writes all of `data` with the GIL released.
pub fn sendall<S>(py: Python<'_>, stream: &mut S, data: &[u8]) -> io::Result<()>
where
    S: Write + Send + ?Sized,
{
    py.allow_threads(|| stream.write_all(data))
}
