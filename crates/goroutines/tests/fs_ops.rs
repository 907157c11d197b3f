//! `goroutines::fs` behaves as `std::fs`: the same results and the same error kinds, from
//! goroutines and from plain threads, and from many goroutines at once.

use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use goroutines::{chan, fs, go, Runtime};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// A fresh directory under the system's temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "goroutines-{test}-{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Distinguishes two runs in one process (nextest runs one test per process; `cargo test` does
/// not).
fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn whole_file_helpers_round_trip() {
    let scratch = Scratch::new("fs-whole-file");
    let dir = scratch.path().to_path_buf();
    runtime().run(move || {
        let nested = dir.join("a/b");
        fs::create_dir_all(&nested).unwrap();
        let file = nested.join("data.bin");
        let bytes: Vec<u8> = (0..=255).cycle().take(10_000).collect();
        fs::write(&file, &bytes).unwrap();
        assert_eq!(fs::read(&file).unwrap(), bytes);
        assert_eq!(fs::metadata(&file).unwrap().len(), 10_000);
        assert!(fs::metadata(&nested).unwrap().is_dir());

        fs::write(nested.join("text.txt"), "hello").unwrap();
        assert_eq!(
            fs::read_to_string(nested.join("text.txt")).unwrap(),
            "hello"
        );

        assert_eq!(fs::copy(&file, nested.join("copy.bin")).unwrap(), 10_000);
        assert_eq!(fs::read(nested.join("copy.bin")).unwrap(), bytes);
        fs::rename(nested.join("copy.bin"), nested.join("moved.bin")).unwrap();
        assert_eq!(
            fs::metadata(nested.join("copy.bin")).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        fs::create_dir(nested.join("sub")).unwrap();

        let mut entries: Vec<(String, bool)> = fs::read_dir(&nested)
            .unwrap()
            .into_iter()
            .map(|e| {
                assert_eq!(e.path(), nested.join(e.file_name()));
                assert_eq!(e.metadata().unwrap().is_dir(), e.file_type().is_dir());
                (e.file_name().into_string().unwrap(), e.file_type().is_dir())
            })
            .collect();
        entries.sort();
        assert_eq!(
            entries,
            [
                ("data.bin".to_string(), false),
                ("moved.bin".to_string(), false),
                ("sub".to_string(), true),
                ("text.txt".to_string(), false),
            ]
        );

        fs::remove_file(nested.join("moved.bin")).unwrap();
        fs::remove_dir(nested.join("sub")).unwrap();
        assert_eq!(fs::read_dir(&nested).unwrap().len(), 2);
        fs::remove_dir_all(dir.join("a")).unwrap();
        assert_eq!(
            fs::read_dir(&dir).unwrap().len(),
            0,
            "remove_dir_all left something"
        );
    });
}

#[test]
fn file_reads_writes_seeks_and_truncates() {
    let scratch = Scratch::new("fs-file");
    let path = scratch.path().join("f.txt");
    runtime().run(move || {
        let mut f = fs::File::create(&path).unwrap();
        f.write_all(b"hello world").unwrap();
        assert_eq!(f.write(b"!").unwrap(), 1);
        f.flush().unwrap();
        f.sync_all().unwrap();
        assert_eq!(f.metadata().unwrap().len(), 12);
        f.set_len(5).unwrap();
        f.sync_data().unwrap();
        assert_eq!(f.metadata().unwrap().len(), 5);
        drop(f);

        let mut f = fs::File::open(&path).unwrap();
        let mut s = String::new();
        assert_eq!(f.read_to_string(&mut s).unwrap(), 5);
        assert_eq!(s, "hello");
        assert_eq!(f.seek(SeekFrom::Start(1)).unwrap(), 1);
        let mut three = [0u8; 3];
        f.read_exact(&mut three).unwrap();
        assert_eq!(&three, b"ell");
        // Through `&File`, as with std.
        let mut by_ref = &f;
        let mut one = [0u8; 1];
        assert_eq!(by_ref.read(&mut one).unwrap(), 1);
        assert_eq!(&one, b"o");
        assert_eq!(by_ref.read(&mut one).unwrap(), 0, "end of file");
        assert_eq!(by_ref.seek(SeekFrom::End(-5)).unwrap(), 0);
        let mut all = Vec::new();
        assert_eq!(f.read_to_end(&mut all).unwrap(), 5);
        assert_eq!(all, b"hello");
        assert_eq!(f.into_std().metadata().unwrap().len(), 5);
    });
}

#[test]
fn errors_are_std_errors() {
    let scratch = Scratch::new("fs-errors");
    let dir = scratch.path().to_path_buf();
    runtime().run(move || {
        let missing = dir.join("missing");
        assert_eq!(fs::read(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            fs::File::open(&missing).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read_dir(&missing).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::remove_file(&missing).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        fs::write(dir.join("latin1"), [0xe9u8]).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("latin1")).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
        assert_eq!(
            fs::create_dir(&dir).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    });
}

#[test]
fn helpers_work_on_plain_threads() {
    let scratch = Scratch::new("fs-plain-thread");
    let path = scratch.path().join("plain");
    fs::write(&path, "from a plain thread").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "from a plain thread");
    let mut f = fs::File::open(&path).unwrap();
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).unwrap();
    assert_eq!(buf, b"from a plain thread");
}

/// 200 goroutines each write their own file and read it back, every byte checked, while a
/// channel relay between two more goroutines keeps passing 10,000 messages.
#[test]
fn many_goroutines_do_file_io_while_others_communicate() {
    const WRITERS: u64 = 200;
    const MESSAGES: u64 = 10_000;
    let scratch = Scratch::new("fs-many");
    let dir = scratch.path().to_path_buf();
    let (files_ok, relayed) = runtime().run(move || {
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        go(move || {
            for v in ping_rx.iter() {
                pong_tx.send(v + 1).unwrap();
            }
        });
        let relay = go(move || {
            let mut sum = 0;
            for i in 0..MESSAGES {
                ping_tx.send(i).unwrap();
                sum += pong_rx.recv().unwrap() - i;
            }
            sum
        });
        let writers: Vec<_> = (0..WRITERS)
            .map(|i| {
                let path = dir.join(format!("file-{i}"));
                go(move || {
                    let contents: Vec<u8> = (0..4096).map(|b| (b as u64 * 31 + i) as u8).collect();
                    fs::write(&path, &contents).unwrap();
                    fs::read(&path).unwrap() == contents
                })
            })
            .collect();
        let files_ok = writers
            .into_iter()
            .map(|w| w.join().unwrap())
            .filter(|ok| *ok)
            .count() as u64;
        (files_ok, relay.join().unwrap())
    });
    assert_eq!(files_ok, WRITERS);
    assert_eq!(
        relayed, MESSAGES,
        "each of the relayed messages came back plus one"
    );
}
