//! switching: what one switch between tasks costs, measured two ways.
//!
//! ```text
//!   yield        one task gives way in a loop:       ns_per_yield       (Gosched; await sleep(0))
//!   round trip   two tasks hand a value back and forth: ns_per_round_trip (two switches)
//! ```
//!
//! goroutines runs both on one P, so the figures are the user-space switch alone, with no
//! thread wake-up in them. The event loops' "switch" is a pass of the loop: a task's step is a
//! callback in the ready queue. gil-threads yields with `time.sleep(0)` (drop the GIL, take it
//! back) and bounces over two queues between two OS threads, each get waiting with the GIL
//! released: a round trip is two thread wake-ups and two GIL hand-offs. procpool yields with
//! `os.sched_yield()` and makes its round trips to a worker of `Pool(1)` (`apply_async(echo,
//! n).get()`): two frames over a socket and two process wake-ups each. uv-loop yields with a
//! `setImmediate` chain (one loop iteration each) and bounces between two async functions over
//! promises (microtasks: no loop iteration at all).

use std::time::Instant;

use super::{ExperimentError, Figures, Options};
use crate::model::Model;
use crate::workloads::{pingpong, yield_now};

/// Yields and round trips per run.
fn size(options: &Options) -> (u64, u64) {
    if options.quick {
        (200_000, 50_000)
    } else {
        (2_000_000, 200_000)
    }
}

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let (yields, mut rounds) = size(options);
    let timed = |runner: &dyn Fn() -> u64| {
        let started = Instant::now();
        let got = runner();
        (got, started.elapsed().as_nanos() as f64)
    };
    let ((yielded, yield_ns), (bounced, round_trip_ns)) = match figures.model {
        Model::Goroutines => {
            let runtime = crate::bench::goroutines::runtime(1)?;
            (
                timed(&|| runtime.run(move || yield_now::goroutines(yields))),
                timed(&|| runtime.run(move || pingpong::goroutines(rounds))),
            )
        }
        Model::AsyncioLoop => (
            timed(&|| yield_now::asyncio_loop(yields)),
            timed(&|| pingpong::asyncio_loop(rounds)),
        ),
        Model::GilThreads => {
            // A round trip between threads is two OS thread wake-ups: far fewer of them.
            rounds /= GIL_ROUNDS_DIVISOR;
            (
                timed(&|| gil_yields(yields)),
                timed(&|| gil_round_trips(rounds)),
            )
        }
        Model::Procpool => {
            // A round trip is two frames through a socket and two process wake-ups.
            rounds /= PROCPOOL_ROUNDS_DIVISOR;
            let pool = procpool::Pool::new(1).map_err(ExperimentError::runtime)?;
            (
                timed(&|| os_yields(yields)),
                timed(&|| procpool_round_trips(&pool, rounds)),
            )
        }
        Model::UvLoop => (
            timed(&|| uv_yields(yields)),
            timed(&|| pingpong::uv_loop(rounds)),
        ),
    };
    figures.check(yielded, yield_now::checksum(yields))?;
    figures.check(bounced, pingpong::checksum(rounds))?;
    figures.add("ns_per_yield", yield_ns / yields as f64, "ns")?;
    figures.add("ns_per_round_trip", round_trip_ns / rounds as f64, "ns")?;
    Ok(figures.done())
}

/// gil-threads makes this many times fewer round trips than the other models.
const GIL_ROUNDS_DIVISOR: u64 = 10;

/// `time.sleep(0)` in a loop on one Python thread: each drops the GIL and takes it back.
fn gil_yields(yields: u64) -> u64 {
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    interpreter
        .with_gil(|py| {
            let mut made = 0;
            for _ in 0..yields {
                py.sleep(std::time::Duration::ZERO);
                made += 1;
            }
            made
        })
        .unwrap_or(0)
}

/// Two Python threads hand a number back and forth over two queues; each blocking get waits
/// with the GIL released, as `queue.Queue.get` does. Returns the sum of the numbers bounced.
pub(super) fn gil_round_trips(rounds: u64) -> u64 {
    use std::sync::mpsc::channel;
    let interpreter = gil_threads::Interpreter::new(gil_threads::GilMode::On);
    let (ping_tx, ping_rx) = channel::<u64>();
    let (pong_tx, pong_rx) = channel::<u64>();
    // A receiver is not `Sync`: each blocking get takes it into the GIL-released closure and
    // hands it back.
    let Ok(echo) = interpreter.spawn(move |py| {
        let mut ping_rx = ping_rx;
        loop {
            let (got, rx) = py.allow_threads(move || (ping_rx.recv(), ping_rx));
            ping_rx = rx;
            let Ok(n) = got else { break };
            if pong_tx.send(n).is_err() {
                break;
            }
        }
    }) else {
        return 0;
    };
    let sum = interpreter
        .with_gil(|py| {
            let (mut sum, mut pong_rx) = (0, pong_rx);
            for n in 0..rounds {
                if ping_tx.send(n).is_err() {
                    break;
                }
                let (got, rx) = py.allow_threads(move || (pong_rx.recv(), pong_rx));
                pong_rx = rx;
                match got {
                    Ok(back) => sum += back,
                    Err(_) => break,
                }
            }
            sum
        })
        .unwrap_or(0);
    drop(ping_tx);
    let _ = echo.join();
    sum
}

/// procpool makes this many times fewer round trips than the event loops.
const PROCPOOL_ROUNDS_DIVISOR: u64 = 50;

/// `os.sched_yield()` in a loop: the OS scheduler's own yield.
fn os_yields(yields: u64) -> u64 {
    let mut made = 0;
    for _ in 0..yields {
        std::thread::yield_now();
        made += 1;
    }
    made
}

procpool::task! {
    /// The echo of the switching experiment: the number back, from a worker process.
    pub fn echo_number(n: u64) -> u64 { n }
}

/// `pool.apply_async(echo, n).get()` for n in 0..rounds; the sum of the numbers bounced.
fn procpool_round_trips(pool: &procpool::Pool, rounds: u64) -> u64 {
    let mut sum = 0;
    for n in 0..rounds {
        let back = pool
            .apply_async(echo_number, n)
            .ok()
            .and_then(|r| r.get(None).ok());
        match back {
            Some(back) => sum += back,
            None => break,
        }
    }
    sum
}

/// A chain of `yields` immediates, each queued by the one before: one loop iteration each.
fn uv_yields(yields: u64) -> u64 {
    use std::cell::Cell;
    use std::rc::Rc;

    fn hop(made: Rc<Cell<u64>>, yields: u64) {
        made.set(made.get() + 1);
        if made.get() < yields {
            uv_loop::set_immediate(move || hop(made, yields));
        }
    }
    let made = Rc::new(Cell::new(0));
    let counter = made.clone();
    let ran = uv_loop::run(move || {
        uv_loop::set_immediate(move || hop(counter, yields));
    });
    if ran.is_ok() {
        made.get()
    } else {
        0
    }
}
