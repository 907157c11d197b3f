//! `accept` out of file descriptors (`EMFILE`): it neither fails nor spins, and accepts the
//! waiting connections once descriptors are free; a listener shut down meanwhile ends the wait.
//! Each test runs in a child process (this binary re-run for the one test, as
//! `stack_overflow.rs` does), since it lowers the process's `RLIMIT_NOFILE`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use goroutines::net::{TcpListener, TcpStream};
use goroutines::{go, Builder};

/// Set in a child process to the name of the test it runs as the child.
const CHILD_ENV: &str = "GOROUTINES_TEST_CHILD";
/// Connections waiting in the backlog while descriptors are out.
const PENDING: usize = 4;

/// Runs test `name` in a child process; true when this process is that child.
fn in_child(name: &str) -> bool {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--include-ignored"])
        .env(CHILD_ENV, name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {name}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// Lowers the descriptor limit to a little above the highest descriptor open now, then opens
/// `/dev/null` until the limit is hit; returns those files, whose closing frees descriptors.
fn exhaust_fds() -> Vec<File> {
    let highest = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap();
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit struct to the valid pointer we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(rc, 0);
    limit.rlim_cur = highest + 1 + 32;
    // SAFETY: setrlimit reads one valid rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    let mut files = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => files.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return files,
            Err(e) => panic!("opening /dev/null: {e}"),
        }
    }
}

/// CPU time (user and system) of the whole process so far.
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage struct to the valid pointer we pass.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

#[test]
fn accept_backs_off_out_of_fds_then_accepts_the_waiting_connections() {
    if !in_child("accept_backs_off_out_of_fds_then_accepts_the_waiting_connections") {
        return;
    }
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // The kernel completes these handshakes into the backlog, without an accept.
        let mut clients: Vec<TcpStream> = (0..PENDING)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        let spare = exhaust_fds();
        assert!(
            spare.len() >= 2 * PENDING,
            "only {} descriptors to free",
            spare.len()
        );
        let acceptor = go(move || {
            (0..PENDING)
                .map(|_| listener.accept().unwrap().0)
                .collect::<Vec<_>>()
        });
        // A window to measure: no event says "accept is backing off", and its whole point is
        // what it does not do meanwhile. Spinning would burn the window on a core or two.
        let before = cpu_time();
        goroutines::sleep(Duration::from_millis(500));
        let used = cpu_time() - before;
        assert!(
            !acceptor.is_finished(),
            "accept returned while out of descriptors"
        );
        drop(spare);
        let mut accepted = acceptor.join().unwrap();
        assert_eq!(accepted.len(), PENDING);
        // Every connection works: each accepted end says hello to its client.
        for conn in &mut accepted {
            conn.write_all(b"hello").unwrap();
        }
        for client in &mut clients {
            let mut hello = [0u8; 5];
            client.read_exact(&mut hello).unwrap();
            assert_eq!(&hello, b"hello");
        }
        assert!(
            used < Duration::from_millis(200),
            "{used:?} of CPU in a 500 ms window"
        );
    });
}

#[test]
fn accept_out_of_fds_returns_when_the_listener_is_shut_down() {
    if !in_child("accept_out_of_fds_returns_when_the_listener_is_shut_down") {
        return;
    }
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().procs(2).build() }.unwrap();
    rt.run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let spare = exhaust_fds();
        let fd = listener.as_raw_fd();
        let acceptor = go(move || listener.accept().map(|_| ()));
        // Whenever this lands (before the first try or during a pause), the next round sees it.
        // SAFETY: shutdown takes a plain fd, kept open by the listener the acceptor holds.
        assert_eq!(unsafe { libc::shutdown(fd, libc::SHUT_RDWR) }, 0);
        let err = acceptor.join().unwrap().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        drop(spare);
    });
}
