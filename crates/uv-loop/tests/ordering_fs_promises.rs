//! fs/promises: the promise settles in the poll phase, inside its request's completion, so
//! its reactions run after main's microtasks, before the ticks they queue, and an immediate
//! they set runs before a due timer; a missing file rejects. Fixture: `fs_promises`.
//!
//! Pool requests start only in main and in the check phase; one started from a poll-phase
//! callback is the subject of a test of its own (tests/node_threadpool_apis.rs).

mod common;

use std::time::{Duration, Instant};

use common::{assert_matches_fixture, log, log_exit};
use uv_loop::{fs, next_tick, run, set_immediate, set_timeout, JsError, Promise};

const THIS_FILE: &str = file!();

fn this_file() -> String {
    format!("{}/../../{THIS_FILE}", env!("CARGO_MANIFEST_DIR"))
}

fn busy_wait(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {}
}

/// Logs `m1`..`m4`, one microtask apart.
fn chain(n: u32) {
    log(format!("m{n}"));
    if n < 4 {
        Promise::resolve(()).then(move |()| chain(n + 1));
    }
}

/// Node's `error.code` for the errors this scenario meets.
fn code(error: &JsError) -> &'static str {
    match error
        .get()
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
    {
        Some(libc::ENOENT) => "ENOENT",
        _ => "other",
    }
}

#[test]
fn fs_promises() {
    let result = run(|| {
        fs::promises::read_file(this_file()).then(|data| {
            let size = std::fs::metadata(this_file()).map(|meta| meta.len());
            log(format!(
                "readFile promise {}",
                size.ok() == Some(data.len() as u64)
            ));
            next_tick(|| log("tick from promise"));
            chain(1);
            set_immediate(|| {
                log("immediate from promise");
                fs::read_file(this_file(), |result| {
                    log(format!("readFile callback {}", result.is_ok()));
                    next_tick(|| log("tick from callback"));
                    Promise::resolve(()).then(|()| log("microtask from callback"));
                    set_immediate(|| {
                        log("immediate from callback");
                        fs::promises::stat(this_file())
                            .then_promise(|stats| {
                                log(format!("stat promise {}", stats.is_file()));
                                fs::promises::read_file("/no/such/uv-loop-file")
                            })
                            .then_result(|outcome| {
                                match outcome {
                                    Ok(_) => log("never: read"),
                                    Err(error) => log(format!("rejected {}", code(&error))),
                                }
                                Ok(())
                            });
                    });
                });
            });
            set_timeout(|| log("timeout from promise"), 0);
            busy_wait(2);
        });
        chain(1);
        next_tick(|| log("tick main"));
        log("sync end");
    });
    log_exit(&result);
    assert_matches_fixture("fs_promises");
}
