//! Unix domain stream sockets: an echo server and 200 concurrent clients with every byte
//! checked, a plain-thread client, `pair` with a read timeout, end of file from a peer's
//! shutdown, a full backlog that `connect` waits out, and std's errors for a taken or too long
//! path.

mod common;

use common::runtime;

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use goroutines::net::{Shutdown, UnixListener, UnixStream};
use goroutines::{chan, go};

/// A fresh directory for this test's socket files, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("goroutines-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Echoes every connection of `listener` in a goroutine of its own until the peer closes.
fn serve_echo(listener: UnixListener) {
    for conn in listener.incoming() {
        let mut conn = conn.unwrap();
        go(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    return;
                }
                conn.write_all(&buf[..n]).unwrap();
            }
        });
    }
}

/// Sends `len` bytes of a pattern `seed` picks and checks the echo, byte for byte.
fn echo_round(conn: &mut UnixStream, seed: usize, len: usize) {
    let sent: Vec<u8> = (0..len).map(|i| ((i * 7 + seed) % 251) as u8).collect();
    let mut writer = conn.try_clone().unwrap();
    let to_send = sent.clone();
    // Write and read at once, so that neither side's buffer fills and stalls the other.
    let writing = go(move || writer.write_all(&to_send).unwrap());
    let mut got = vec![0u8; len];
    conn.read_exact(&mut got).unwrap();
    writing.join().unwrap();
    assert!(got == sent, "connection {seed}: the echo differs");
}

#[test]
fn echo_with_two_hundred_clients_every_byte_checked() {
    let dir = TempDir::new("echo");
    let path = dir.path("echo.sock");
    runtime(2).run(move || {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        go(move || serve_echo(listener));
        let clients: Vec<_> = (0..200)
            .map(|seed| {
                let path = path.clone();
                go(move || {
                    let mut conn = UnixStream::connect(&path).unwrap();
                    echo_round(&mut conn, seed, 64 * 1024 + seed);
                    conn.shutdown(Shutdown::Write).unwrap();
                    let mut rest = Vec::new();
                    conn.read_to_end(&mut rest).unwrap();
                    assert!(rest.is_empty());
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
    });
}

/// A plain thread connects to a server on goroutines and blocks in its own reads and writes.
#[test]
fn a_plain_thread_client_talks_to_goroutines() {
    let dir = TempDir::new("plain");
    let path = dir.path("plain.sock");
    let rt = runtime(2);
    let listener = UnixListener::bind(&path).unwrap();
    rt.go(move || serve_echo(listener));
    let mut conn = UnixStream::connect(&path).unwrap();
    for round in 0..20 {
        let msg = format!("message {round}");
        conn.write_all(msg.as_bytes()).unwrap();
        let mut got = vec![0u8; msg.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, msg.as_bytes());
    }
}

/// `pair`: a read with nothing to read times out with `WouldBlock` after its timeout and leaves
/// the stream usable; a peer's `shutdown(Write)` reads as end of file.
#[test]
fn pair_read_timeout_and_end_of_file() {
    runtime(2).run(|| {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(30)));
        let start = Instant::now();
        let mut buf = [0u8; 8];
        let timed_out = a.read(&mut buf).unwrap_err();
        assert_eq!(timed_out.kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(30));
        b.write_all(b"after").unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        a.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"after");
        assert_eq!(
            a.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

/// With the listener not accepting and its backlog full, `connect` waits (std's blocking
/// `connect` would) and completes once the server accepts.
#[test]
fn connect_waits_out_a_full_backlog() {
    use std::os::fd::AsRawFd;
    let dir = TempDir::new("backlog");
    let path = dir.path("backlog.sock");
    runtime(2).run(move || {
        let listener = UnixListener::bind(&path).unwrap();
        // A backlog of one: listening again only changes the backlog.
        // SAFETY: listen on a descriptor the listener owns and keeps open.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 1) }, 0);
        // Fill it: connect without blocking until the kernel says it would block.
        let mut waiting = Vec::new();
        loop {
            match nonblocking_connect(&path) {
                Ok(conn) => waiting.push(conn),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("connect: {e}"),
            }
            assert!(waiting.len() < 100, "the backlog of one never filled");
        }
        let (connected_tx, connected_rx) = chan::<()>(1);
        let path_for_client = path.clone();
        let client = go(move || {
            let conn = UnixStream::connect(&path_for_client).unwrap();
            connected_tx.send(()).unwrap();
            conn
        });
        goroutines::sleep(Duration::from_millis(20));
        assert!(
            connected_rx.try_recv().is_err(),
            "connect returned with the backlog full"
        );
        // Accept the waiting connections: the backlog drains and the client gets in.
        for _ in 0..=waiting.len() {
            listener.accept().unwrap();
        }
        connected_rx.recv().unwrap();
        client.join().unwrap();
    });
}

/// `connect(2)` on a non-blocking Unix socket: `WouldBlock` when the listener's backlog is full
/// (std offers no way to make a `UnixStream` non-blocking before it connects).
fn nonblocking_connect(path: &std::path::Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: socket(2) with constant arguments returns a new descriptor or -1.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: all zeros is a valid `sockaddr_un`.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_encoded_bytes();
    assert!(bytes.len() < sun.sun_path.len(), "socket path too long");
    for (dst, src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `sun` is a valid sockaddr_un that lives across the call, with its true size.
    let rc = unsafe {
        libc::connect(
            fd,
            (&sun as *const libc::sockaddr_un).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(owned)
}

#[test]
fn bind_reports_a_taken_path_and_a_path_too_long() {
    let dir = TempDir::new("bind");
    let path = dir.path("taken.sock");
    let _first = UnixListener::bind(&path).unwrap();
    assert_eq!(
        UnixListener::bind(&path).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    let too_long = dir.path(&"x".repeat(200));
    assert_eq!(
        UnixListener::bind(&too_long).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        UnixStream::connect(&too_long).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        UnixStream::connect(dir.path("missing.sock"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}
