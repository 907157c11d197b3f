//! fs, dns, crypto, zlib and queue_work: each runs on the pool and calls back on the loop.

use std::cell::RefCell;
use std::fs::OpenOptions;
use std::rc::Rc;

use uv_loop::crypto::{pbkdf2, random_bytes, Digest, OutOfRange};
use uv_loop::{dns, fs, queue_work, run, zlib, RunError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fs_round_trip() {
    let dir = std::env::temp_dir().join(format!("uv-fs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = log.clone();
    let root = dir.clone();
    run(move || {
        let path = root.join("b.txt");
        let (sink, root) = (sink.clone(), root.clone());
        fs::write_file(path.clone(), b"hello".to_vec(), move |written| {
            written.expect("write_file");
            std::fs::write(root.join("a.txt"), b"x").expect("second file");
            // The pool runs requests in parallel: overwrite the first byte only once this read
            // has seen "hello".
            let sink2 = sink.clone();
            let reopen = path.clone();
            let sink5 = sink.clone();
            fs::read_file(path.clone(), move |data| {
                sink2
                    .borrow_mut()
                    .push(String::from_utf8_lossy(&data.expect("read")).into());
                let mut options = OpenOptions::new();
                options.read(true).write(true);
                fs::open(reopen, options, move |fd| {
                    let fd = fd.expect("open");
                    let reader = fd.clone();
                    fs::write(&fd, b"J".to_vec(), Some(0), move |n| {
                        assert_eq!(n.expect("write"), 1);
                        let closer = reader.clone();
                        fs::read(&reader, 5, Some(0), move |data| {
                            sink5
                                .borrow_mut()
                                .push(String::from_utf8_lossy(&data.expect("read")).into());
                            fs::close(&closer.clone(), move |closed| {
                                closed.expect("close");
                                fs::read(&closer, 1, None, |after| {
                                    assert!(after.is_err(), "EBADF after close");
                                });
                            });
                        });
                    });
                });
            });
            let sink3 = sink.clone();
            fs::readdir(root.clone(), move |names| {
                let names = names.expect("readdir");
                sink3.borrow_mut().push(
                    names
                        .iter()
                        .map(|n| n.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(","),
                );
            });
            let sink4 = sink.clone();
            fs::stat(path.clone(), move |meta| {
                sink4
                    .borrow_mut()
                    .push(format!("len {}", meta.expect("stat").len()));
            });
        });
    })
    .expect("run");
    let mut seen = log.borrow().clone();
    seen.sort();
    assert_eq!(seen, ["Jello", "a.txt,b.txt", "hello", "len 5"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fs_errors_reach_the_callback() {
    let got = Rc::new(RefCell::new(None));
    let slot = got.clone();
    run(move || {
        fs::stat("/no/such/path/uv-loop", move |meta| {
            *slot.borrow_mut() = Some(meta.map(|_| ()).map_err(|e| e.kind()));
        });
    })
    .expect("run");
    assert_eq!(*got.borrow(), Some(Err(std::io::ErrorKind::NotFound)));
}

#[test]
fn pbkdf2_matches_node() {
    // Both from node -e "crypto.pbkdf2Sync('password','salt',c,len,digest)" on Node 20.20.2.
    let keys = Rc::new(RefCell::new(Vec::new()));
    let sink = keys.clone();
    run(move || {
        let a = sink.clone();
        pbkdf2(
            b"password".to_vec(),
            b"salt".to_vec(),
            1,
            64,
            Digest::Sha512,
            move |k| a.borrow_mut().push(hex(&k)),
        )
        .expect("valid");
        let b = sink.clone();
        pbkdf2(
            b"password".to_vec(),
            b"salt".to_vec(),
            1000,
            20,
            Digest::Sha256,
            move |k| b.borrow_mut().push(hex(&k)),
        )
        .expect("valid");
        assert_eq!(
            pbkdf2(vec![], vec![], 0, 1, Digest::Sha512, |_| {}),
            Err(OutOfRange {
                argument: "iterations"
            })
        );
    })
    .expect("run");
    let mut keys = keys.borrow().clone();
    keys.sort();
    assert_eq!(
        keys,
        [
            "632c2812e46d4604102ba7618e9d6d7d2f8128f6",
            "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce",
        ]
    );
}

#[test]
fn random_bytes_zlib_dns_and_queue_work() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = log.clone();
    run(move || {
        let a = sink.clone();
        random_bytes(32, move |bytes| {
            a.borrow_mut()
                .push(format!("random {}", bytes.expect("urandom").len()))
        })
        .expect("valid");
        let b = sink.clone();
        let data = b"uv-loop ".repeat(100);
        zlib::deflate(data.clone(), move |compressed| {
            let compressed = compressed.expect("deflate");
            assert_eq!(compressed[0], 0x78, "zlib header");
            assert!(compressed.len() < data.len());
            zlib::inflate(compressed, move |plain| {
                assert_eq!(plain.expect("inflate"), data);
                b.borrow_mut().push("zlib".into());
            });
        });
        let c = sink.clone();
        dns::lookup("localhost", move |addresses| {
            let addresses = addresses.expect("localhost resolves");
            assert!(addresses.iter().all(|a| a.is_loopback()));
            c.borrow_mut().push("dns".into());
        });
        let d = sink.clone();
        queue_work(
            || (1..=10u64).product::<u64>(),
            move |f| d.borrow_mut().push(format!("work {f}")),
        );
    })
    .expect("run");
    let mut seen = log.borrow().clone();
    seen.sort();
    assert_eq!(seen, ["dns", "random 32", "work 3628800", "zlib"]);
}

#[test]
fn panicking_work_ends_the_run() {
    let result = run(|| queue_work(|| -> u32 { panic!("pool job failed") }, |_| {}));
    match result {
        Err(RunError::Panic(message)) => assert_eq!(message, "pool job failed"),
        other => panic!("expected the job's panic, got {other:?}"),
    }
}

/// libuv's poll phase handles one batch of events (`uv__io_poll`): a pool request that finishes
/// while a poll-phase callback runs has its callback in the next iteration, after the check
/// phase. As node 20 prints, five runs of five, for
/// `fs.readFile(f, () => { fs.readFile(f, inner); setImmediate(immediate); busy 20 ms })`:
/// `immediate, inner read`. (Both orders hold whether or not the inner read finishes within
/// the busy wait; before it was fixed the loop ran it within the same poll phase.)
#[test]
fn a_request_finished_during_the_poll_phase_runs_in_the_next_iteration() {
    let log = Rc::new(RefCell::new(Vec::<&str>::new()));
    let out = log.clone();
    run(move || {
        let outer = out.clone();
        fs::read_file(file!(), move |_| {
            let (read, immediate) = (outer.clone(), outer.clone());
            fs::read_file(file!(), move |_| read.borrow_mut().push("inner read"));
            uv_loop::set_immediate(move || immediate.borrow_mut().push("immediate"));
            let end = std::time::Instant::now() + std::time::Duration::from_millis(20);
            while std::time::Instant::now() < end {}
        });
    })
    .expect("run");
    assert_eq!(*log.borrow(), ["immediate", "inner read"]);
}
