//! A goroutine blocked in a file system call does not stall its P. On a runtime with one P, a
//! goroutine opens a FIFO for reading through `goroutines::fs`, which blocks in `open(2)` until a
//! writer appears; meanwhile another goroutine must keep running (here: sleeping and waking ten
//! times, which needs the P each time). Go gets this from `entersyscall` and sysmon's `retake`;
//! a runtime without the handoff fails the test after `RELEASE_LIMIT`, instead of hanging, because
//! the plain thread that plays the writer opens the FIFO then anyway.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use goroutines::{fs, go, sleep};

/// How long the writer waits for the other goroutine's ticks before releasing the reader anyway.
const RELEASE_LIMIT: Duration = Duration::from_secs(10);
/// Wake-ups the other goroutine needs while the reader is blocked.
const TICKS: u32 = 10;

/// A fresh FIFO under the system's temp dir, removed on drop.
struct Fifo(PathBuf);

impl Fifo {
    fn new() -> Fifo {
        let path = std::env::temp_dir().join(format!(
            "goroutines-fs-fifo-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `mkfifo` reads a valid NUL-terminated path.
        let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
        Fifo(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Opens the FIFO for writing once a reader has it open (a non-blocking open fails with ENXIO
/// until then) and writes `message`.
fn write_when_read(path: &Path, message: &[u8]) {
    let deadline = Instant::now() + RELEASE_LIMIT;
    let mut fifo = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("no reader opened the FIFO: {e}"),
        }
    };
    // Into an empty pipe: a short write cannot block or come up short.
    fifo.write_all(message).unwrap();
}

#[test]
fn goroutine_blocked_opening_a_fifo_does_not_stall_its_p() {
    let fifo = Fifo::new();
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { goroutines::Builder::new().procs(1).build() }.unwrap();

    let (ticks_tx, ticks_rx) = mpsc::channel::<u32>();
    let writer_path = fifo.path().to_path_buf();
    let writer = std::thread::spawn(move || {
        let ticks = ticks_rx.recv_timeout(RELEASE_LIMIT);
        write_when_read(&writer_path, b"released");
        ticks
    });

    let reader_path = fifo.path().to_path_buf();
    let read = rt.run(move || {
        let entered = Arc::new(AtomicBool::new(false));
        let reader = {
            let entered = entered.clone();
            go(move || {
                entered.store(true, Ordering::SeqCst);
                fs::read(&reader_path)
            })
        };
        // The first sleep lets the reader run; from then on it is blocked in `open(2)`, and this
        // goroutine wakes only if the P was handed on.
        while !entered.load(Ordering::SeqCst) {
            sleep(Duration::from_millis(1));
        }
        let mut ticks = 0;
        for _ in 0..TICKS {
            sleep(Duration::from_millis(1));
            ticks += 1;
        }
        // Fails only once the writer has given up waiting, which the assertion below reports.
        let _ = ticks_tx.send(ticks);
        reader.join().unwrap()
    });

    let ticks = writer.join().unwrap();
    assert_eq!(
        ticks,
        Ok(TICKS),
        "the other goroutine did not run while the reader was blocked in open(2): \
         no P handoff within {RELEASE_LIMIT:?}"
    );
    assert_eq!(read.unwrap(), b"released");
}
