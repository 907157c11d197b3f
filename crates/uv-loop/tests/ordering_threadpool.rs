//! Issue 5 point 9: four pool threads blocked in `open()` on FIFOs delay an `fs::stat` but
//! not a timer; with five threads the stat returns at once. The same program as
//! `pool_exhaustion` / `pool_five` in peers/node/orderings.js (the FIFOs open for writing,
//! which unblocks the readers, in a 150 ms timer).

mod common;

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{fs, run_with, set_timeout, RunOptions};

fn fifo_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uv-fifo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn pool_scenario(threads: usize, scenario: &str) {
    let dir = fifo_dir(scenario);
    let fifos: Vec<PathBuf> = (0..4).map(|i| dir.join(format!("fifo{i}"))).collect();
    for fifo in &fifos {
        let status = Command::new("mkfifo")
            .arg(fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
    }
    let options = RunOptions {
        threadpool_size: Some(threads),
    };
    let read = Rc::new(Cell::new(0));
    let result = run_with(options, || {
        for fifo in &fifos {
            let read = read.clone();
            fs::read_file(fifo.clone(), move |_| read.set(read.get() + 1));
        }
        fs::stat(file!(), |_| log("stat"));
        set_timeout(|| log("timer-50"), 50);
        let gates = fifos.clone();
        set_timeout(
            move || {
                log("gate-open");
                for fifo in &gates {
                    let _ = std::fs::OpenOptions::new().write(true).open(fifo);
                }
            },
            150,
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
    log_exit(&result);
    assert_eq!(read.get(), 4, "every blocked read_file completed");
    assert_matches_fixture(scenario);
}

#[test]
fn pool_exhaustion() {
    pool_scenario(4, "pool_exhaustion");
}

#[test]
fn pool_five() {
    pool_scenario(5, "pool_five");
}
