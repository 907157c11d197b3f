//! The convoy on asyncio-loop under a GIL, as CPython runs asyncio.
//!
//! In CPython the loop's thread is a Python thread: it holds the GIL while it runs callbacks and
//! releases it only inside `select` (`Py_BEGIN_ALLOW_THREADS` around `epoll_wait` in
//! selectmodule.c). CPU-bound work goes to `loop.run_in_executor`, whose pool thread is a Python
//! thread too and holds the GIL while it computes. So when a reply arrives, the loop must take
//! the GIL back from the executor's thread: one switch interval, the convoy.
//!
//! asyncio-loop has no GIL; this runner gives it gil-threads' one, exactly where CPython has it:
//!
//! ```text
//!   loop thread: interpreter.with_gil(|_| asyncio_loop::run(main))    holds the GIL ...
//!     callbacks run                                                   ... while they run
//!     select hook: release_gil() ── epoll_wait ── guard dropped        Py_BEGIN/END_ALLOW_THREADS
//!       (the executor's spinner takes the GIL meanwhile; taking it back costs one interval)
//!   executor thread: run_in_executor(|| interpreter.with_gil(spin, a check point per step))
//! ```
//!
//! Invariant: the loop runs callbacks only while its thread holds the GIL; it lets go of it
//! only inside the wait, zero-timeout waits included, as CPython's `select.epoll.poll` does.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncio_loop::{open_connection, sleep, Error, EventLoop};
use gil_threads::{GilMode, Interpreter};

use super::{
    failed, spinner_did_not_start, EchoServer, Outcome, Spin, StopOnDrop, POLL, START_LIMIT,
};

/// Runs `rounds` round trips with asyncio-loop's streams on a loop under a gil-threads GIL
/// (5 ms switch interval), beside a spinner sent to `run_in_executor` if `spinner`. Runs the
/// loop on the calling thread.
pub fn asyncio_loop(rounds: u64, spinner: bool) -> io::Result<Outcome> {
    let server = EchoServer::start()?;
    let addr = server.addr();
    let interpreter = Interpreter::new(GilMode::On);
    let executor_interpreter = interpreter.clone();
    let outcome = Rc::new(Cell::new(None));
    let measured = outcome.clone();
    let ran = interpreter
        .with_gil(move |_py| {
            let previous =
                asyncio_loop::set_select_hook(Some(Rc::new(|wait: &mut dyn FnMut()| {
                    let _released = gil_threads::release_gil();
                    wait();
                })));
            let ran = asyncio_loop::run(measure(
                addr,
                rounds,
                spinner.then_some(executor_interpreter),
                measured,
            ));
            asyncio_loop::set_select_hook(previous);
            ran
        })
        .map_err(failed)?;
    ran.map_err(failed)?;
    let (sum, elapsed) = outcome
        .take()
        .unwrap_or_else(|| Err(failed("the loop ended before the round trips")))?;
    Ok(Outcome::new(sum, elapsed, rounds))
}

/// Where the loop's coroutine leaves the round trips' checksum and time.
type Measured = Rc<Cell<Option<io::Result<(u64, Duration)>>>>;

/// The loop's main coroutine: starts the spinner in the executor if given an interpreter for
/// it, waits until it spins, runs the round trips and leaves their result in `measured`.
async fn measure(
    addr: std::net::SocketAddr,
    rounds: u64,
    spinner: Option<Interpreter>,
    measured: Measured,
) -> Result<(), Error> {
    let spin = Spin::default();
    // Whatever ends this coroutine stops the spinner, or asyncio.run's shutdown would wait for
    // the executor's thread forever.
    let _stop = StopOnDrop(spin.clone());
    let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
    let spinning = match spinner {
        Some(interpreter) => {
            let spinning = spin.clone();
            let future = event_loop
                .run_in_executor(move || interpreter.with_gil(|py| spinning.run(|| py.check())))
                .map_err(Error::exception)?;
            let waited = Instant::now();
            while !spin.has_started() && waited.elapsed() < START_LIMIT {
                sleep(POLL.as_secs_f64()).await?;
            }
            if !spin.has_started() {
                spin.stop();
                measured.set(Some(Err(spinner_did_not_start())));
                return Ok(());
            }
            Some(future)
        }
        None => None,
    };
    let round_trips = round_trips(addr, rounds).await;
    spin.stop();
    if let Some(spinning) = spinning {
        spinning.await?.map_err(Error::exception)?;
    }
    measured.set(Some(round_trips));
    Ok(())
}

/// The round trips as an asyncio client writes them: `write`, `drain`, `readexactly(8)`.
async fn round_trips(addr: std::net::SocketAddr, rounds: u64) -> io::Result<(u64, Duration)> {
    let (reader, writer) = open_connection(addr).await.map_err(failed)?;
    let started = Instant::now();
    let mut sum = 0;
    for i in 0..rounds {
        writer.write(&i.to_le_bytes()).map_err(failed)?;
        writer.drain().await.map_err(failed)?;
        let word = reader.readexactly(8).await.map_err(failed)?;
        let word: [u8; 8] = word
            .try_into()
            .map_err(|_| failed("readexactly(8) gave another length"))?;
        sum += u64::from_le_bytes(word);
    }
    let elapsed = started.elapsed();
    writer.close();
    Ok((sum, elapsed))
}
