//! The forkserver start method (`forkserver.py`, `popen_forkserver.py`): a helper process
//! forks every worker on request.
//!
//! ```text
//!   program                               fork server (single-threaded for ever)
//!   -------                               -------------------------------------------------
//!   ensure_running():                     loop: poll(listener, alive pipe, pidfd of each child)
//!     one thread: fork() ------------->     alive pipe at EOF     -> the program is gone: exit
//!     else: spawn the executable again      pidfd readable        -> waitpid, write the exit
//!           (main_if_worker serves)                                  code to that child's pipe
//!   start_worker():                         listener readable     -> accept, deliver_challenge,
//!     connect to the abstract socket                                 answer_challenge, recvmsg,
//!     answer_challenge, deliver_challenge                            fork: the child serves the
//!     sendmsg("fork"+limit, SCM_RIGHTS                               worker socket; write its
//!       [worker socket, status pipe w])                              pid back
//!     read the pid (8 bytes)           <---------------------------
//!     later, after EOF on the worker socket: read the exit code from the status pipe
//! ```
//!
//! CPython always spawns its fork server (a fresh interpreter). procpool forks it when the
//! program is single-threaded, the cheap case and the usual one early in `main`, and spawns it
//! otherwise, since a fork from a multithreaded process is refused ([`super::StartError`]).
//!
//! The server's address is an abstract Unix socket (no file to clean up), reachable by any
//! process in the network namespace, which is why every connection is authenticated both ways
//! with HMAC-SHA256 over a random 32-byte authkey only the program and the server know (the
//! check CPython 3.14 added to its fork server). Each worker's exit code comes back through a
//! pipe as an 8-byte native-endian signed integer, as `forkserver.write_signed` sends it, since
//! the worker is the server's child, not ours.
//!
//! Forking from the server is always safe: it never starts a thread. That is the point of the
//! method: a multithreaded program (the pool's own handler thread included) still gets fresh
//! workers, which is what `maxtasksperchild` needs.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::{ExitSource, StartError, WorkerProcess};
use crate::auth::{answer_challenge, deliver_challenge};
use crate::sys::{self, Forked, PollFd};

/// What the program keeps of its running fork server.
struct Server {
    name: Vec<u8>,
    authkey: [u8; 32],
    pid: i32,
    /// The write end of the alive pipe; the server exits when it reads end of file.
    _alive: OwnedFd,
}

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

/// Held while a multithreaded program spawns the server, so that only one is started.
static STARTING: Mutex<()> = Mutex::new(());

/// How long the server waits for one client's handshake and request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

fn lock() -> std::sync::MutexGuard<'static, Option<Server>> {
    SERVER.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Starts the fork server if it is not running (`ForkServer.ensure_running`).
///
/// A single-threaded process forks it (about a millisecond; the server then holds a copy of the
/// program as it is, as CPython's `set_forkserver_preload` aims for). A multithreaded one cannot
/// fork safely, so it spawns the server as CPython does: the same executable run again, which
/// must call [`crate::main_if_worker`] first in `main`. Later calls only check that the server
/// is alive, and start a new one if it died.
pub fn ensure_running() -> Result<(), StartError> {
    {
        let mut server = lock();
        if let Some(running) = &*server {
            match sys::waitpid_exitcode(running.pid, true) {
                Ok(None) => return Ok(()),
                _ => *server = None,
            }
        }
    }
    let threads = sys::settled_thread_count().map_err(StartError::Os)?;
    if threads != 1 {
        // Other threads may call this too: one of them starts the server, the others wait.
        let _starting = STARTING.lock().unwrap_or_else(|poison| poison.into_inner());
        if lock().is_some() {
            return Ok(());
        }
        let (listener, name, authkey) = listen()?;
        let (pid, alive) = spawn_server(&listener, &authkey)?;
        started(name, authkey, pid, alive);
        return Ok(());
    }
    let (listener, name, authkey) = listen()?;
    let (alive_r, alive_w) = sys::pipe().map_err(StartError::Os)?;
    match sys::fork_single_threaded()? {
        Forked::Child => {
            drop(alive_w);
            let code = serve_forever(listener, alive_r, authkey);
            sys::exit_now(code)
        }
        Forked::Parent(pid) => {
            drop(listener);
            drop(alive_r);
            started(name, authkey, pid, alive_w);
            Ok(())
        }
    }
}

/// A fresh authkey and a listening abstract socket with a random name.
fn listen() -> Result<(UnixListener, Vec<u8>, [u8; 32]), StartError> {
    let mut authkey = [0u8; 32];
    sys::random_bytes(&mut authkey).map_err(StartError::Os)?;
    let mut suffix = [0u8; 8];
    sys::random_bytes(&mut suffix).map_err(StartError::Os)?;
    let hex: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("procpool-forkserver-{}-{hex}", std::process::id()).into_bytes();
    let address = SocketAddr::from_abstract_name(&name).map_err(StartError::Os)?;
    let listener = UnixListener::bind_addr(&address).map_err(StartError::Os)?;
    Ok((listener, name, authkey))
}

/// Records the running server.
fn started(name: Vec<u8>, authkey: [u8; 32], pid: i32, alive: OwnedFd) {
    if probe::trace::enabled() {
        probe::trace::record(probe::trace::EventKind::ProcessStart { pid: pid as u32 });
    }
    *lock() = Some(Server {
        name,
        authkey,
        pid,
        _alive: alive,
    });
}

/// Starts the server as CPython does, by running the program again ([`FORKSERVER_ENV`] names
/// the listener, the alive pipe and a pipe holding the authkey, which never appears in the
/// environment or on the command line); for a program that is already multithreaded.
fn spawn_server(listener: &UnixListener, authkey: &[u8; 32]) -> Result<(i32, OwnedFd), StartError> {
    let (alive_r, alive_w) = sys::pipe().map_err(StartError::Os)?;
    let (key_r, key_w) = sys::pipe().map_err(StartError::Os)?;
    std::fs::File::from(key_w)
        .write_all(authkey)
        .map_err(StartError::Os)?;
    let fds = [listener.as_raw_fd(), alive_r.as_raw_fd(), key_r.as_raw_fd()];
    let mut command = Command::new(super::spawn::executable()?);
    command
        .arg(super::spawn::WORKER_ARG)
        .env(FORKSERVER_ENV, format!("{}:{}:{}", fds[0], fds[1], fds[2]))
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec and calls only fcntl, which
    // is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || fds.iter().try_for_each(|&fd| sys::clear_cloexec(fd)));
    }
    let child = command.spawn().map_err(StartError::Os)?;
    Ok((child.id() as i32, alive_w))
}

/// The environment variable that marks a spawned fork server: `<listener>:<alive>:<key pipe>`.
pub const FORKSERVER_ENV: &str = "PROCPOOL_FORKSERVER";

/// Serves as the fork server if this process was spawned as one (called by
/// [`crate::main_if_worker`]); returns its exit status, or `None` if it was not.
pub(crate) fn main_if_server() -> Option<i32> {
    let value = std::env::var(FORKSERVER_ENV).ok()?;
    let fds: Vec<RawFd> = value.split(':').filter_map(|fd| fd.parse().ok()).collect();
    let &[listener, alive, key] = fds.as_slice() else {
        eprintln!("procpool: {FORKSERVER_ENV}={value:?} is not <fd>:<fd>:<fd>");
        return Some(2);
    };
    if !crate::is_socket(listener) {
        eprintln!("procpool: {FORKSERVER_ENV} names descriptor {listener}, which is not a socket");
        return Some(2);
    }
    // SAFETY: the spawning program left these three descriptors open for this process alone
    // (the listener checked to be a socket above); nothing else in this process owns them.
    let (listener, alive, key) = unsafe {
        (
            UnixListener::from_raw_fd(listener),
            OwnedFd::from_raw_fd(alive),
            OwnedFd::from_raw_fd(key),
        )
    };
    let mut authkey = [0u8; 32];
    if std::fs::File::from(key).read_exact(&mut authkey).is_err() {
        return Some(2);
    }
    Some(serve_forever(listener, alive, authkey))
}

/// The fork server's address (an abstract Unix socket), if it is running. Knowing it is not
/// enough to get a worker: every connection must pass the HMAC handshake.
pub fn server_address() -> Option<SocketAddr> {
    let name = lock().as_ref().map(|server| server.name.clone())?;
    SocketAddr::from_abstract_name(name).ok()
}

/// The fork server's pid, if it is running.
pub fn server_pid() -> Option<i32> {
    lock().as_ref().map(|server| server.pid)
}

/// Asks the fork server for one worker.
pub(crate) fn start_worker(frame_limit: usize) -> Result<(WorkerProcess, OwnedFd), StartError> {
    ensure_running()?;
    let (name, authkey) = match &*lock() {
        Some(server) => (server.name.clone(), server.authkey),
        None => return Err(StartError::ForkserverNotRunning),
    };
    let address = SocketAddr::from_abstract_name(&name).map_err(StartError::Os)?;
    let mut client = UnixStream::connect_addr(&address).map_err(StartError::Os)?;
    client
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .map_err(StartError::Os)?;
    answer_challenge(&mut client, &authkey).map_err(StartError::Authentication)?;
    deliver_challenge(&mut client, &authkey).map_err(StartError::Authentication)?;
    let (parent_end, child_end) = sys::socketpair().map_err(StartError::Os)?;
    let (status_r, status_w) = sys::pipe().map_err(StartError::Os)?;
    let mut request = b"fork".to_vec();
    request.extend_from_slice(&(frame_limit as u64).to_be_bytes());
    sys::send_with_fds(
        client.as_fd(),
        &request,
        &[child_end.as_raw_fd(), status_w.as_raw_fd()],
    )
    .map_err(StartError::Os)?;
    drop(child_end);
    drop(status_w);
    let mut pid = [0u8; 8];
    client
        .read_exact(&mut pid)
        .map_err(|_| StartError::ForkserverProtocol)?;
    let pid = i64::from_ne_bytes(pid);
    if pid <= 0 || pid > i64::from(i32::MAX) {
        return Err(StartError::ForkserverProtocol);
    }
    Ok((
        WorkerProcess {
            pid: pid as i32,
            exit: ExitSource::Forkserver(status_r),
        },
        parent_end,
    ))
}

/// A worker the server forked: the pidfd that says it exited and the pipe to report it on.
struct Child {
    pidfd: OwnedFd,
    status: OwnedFd,
}

/// The server's loop (`forkserver.main`); returns its exit status.
fn serve_forever(listener: UnixListener, alive: OwnedFd, authkey: [u8; 32]) -> i32 {
    // A status pipe whose reader (the pool) is gone must not kill the server.
    sys::ignore_sigpipe();
    let mut children: HashMap<i32, Child> = HashMap::new();
    loop {
        let mut fds = vec![
            PollFd::new(listener.as_raw_fd(), false),
            PollFd::new(alive.as_raw_fd(), false),
        ];
        let pids: Vec<i32> = children.keys().copied().collect();
        fds.extend(
            pids.iter()
                .map(|pid| PollFd::new(children[pid].pidfd.as_raw_fd(), false)),
        );
        if sys::poll(&mut fds, -1).is_err() {
            return 1;
        }
        if fds[1].readable() {
            return 0;
        }
        for (index, pid) in pids.iter().enumerate() {
            if fds[index + 2].readable() {
                if let Some(child) = children.remove(pid) {
                    let code = sys::waitpid_exitcode(*pid, false)
                        .ok()
                        .flatten()
                        .unwrap_or(255);
                    let _ =
                        std::fs::File::from(child.status).write_all(&i64::from(code).to_ne_bytes());
                }
            }
        }
        if fds[0].readable() {
            if let Ok((client, _)) = listener.accept() {
                let mut inherited: Vec<RawFd> = vec![listener.as_raw_fd(), alive.as_raw_fd()];
                for child in children.values() {
                    inherited.push(child.pidfd.as_raw_fd());
                    inherited.push(child.status.as_raw_fd());
                }
                if let Some((pid, child)) = serve_one(client, &authkey, &inherited) {
                    children.insert(pid, child);
                }
            }
        }
    }
}

/// Authenticates one client, reads its request and forks the worker; the worker never returns.
fn serve_one(mut client: UnixStream, authkey: &[u8], inherited: &[RawFd]) -> Option<(i32, Child)> {
    client.set_read_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    deliver_challenge(&mut client, authkey).ok()?;
    answer_challenge(&mut client, authkey).ok()?;
    let mut request = [0u8; 12];
    let (read, mut fds) = sys::recv_with_fds(client.as_fd(), &mut request, 2).ok()?;
    if read != 12 || &request[..4] != b"fork" || fds.len() != 2 {
        return None;
    }
    let frame_limit = u64::from_be_bytes(request[4..12].try_into().ok()?) as usize;
    let status = fds.pop()?;
    let worker_socket = fds.pop()?;
    match sys::fork_single_threaded().ok()? {
        Forked::Child => {
            for &fd in inherited
                .iter()
                .chain([status.as_raw_fd(), client.as_raw_fd()].iter())
            {
                // SAFETY: these are the server's descriptors; the worker owns its copies and no
                // object in it uses them again (it serves and exits without returning here).
                unsafe {
                    libc::close(fd);
                }
            }
            crate::worker::start_worker_process();
            let code = crate::worker::serve(worker_socket, frame_limit);
            let _ = std::io::stdout().flush();
            sys::exit_now(code)
        }
        Forked::Parent(pid) => {
            drop(worker_socket);
            let pidfd = sys::pidfd_open(pid).ok()?;
            client.write_all(&i64::from(pid).to_ne_bytes()).ok()?;
            Some((pid, Child { pidfd, status }))
        }
    }
}
