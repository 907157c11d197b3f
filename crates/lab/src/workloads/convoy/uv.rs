//! The convoy on uv-loop, as Node's users write it: the I/O on the main loop (`net.connect`,
//! `write` and a `data` handler), the CPU-bound task in a worker (`worker_threads`), which has a
//! thread and a loop of its own.
//!
//! ```text
//!   main loop                              worker thread
//!   spawn worker ───────────────────────>  spin until stopped
//!   setTimeout(1 ms) until it spins
//!   connect ─> write(0) ─> data: word 0 ─> write(1) ... ─> data: word rounds-1 ─> destroy
//!   stop the spinner; the loop ends when the worker's exit is delivered
//! ```

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use uv_loop::net::Socket;

use super::{failed, spinner_did_not_start, EchoServer, Outcome, Spin, POLL, START_LIMIT};

type Measured = Rc<RefCell<Option<io::Result<(u64, Duration)>>>>;

/// Runs `rounds` round trips on uv-loop's main loop (on the calling thread), beside a spinner
/// in a worker if `spinner`.
pub fn uv_loop(rounds: u64, spinner: bool) -> io::Result<Outcome> {
    let server = EchoServer::start()?;
    let addr = server.addr();
    let spin = Spin::default();
    let measured: Measured = Rc::new(RefCell::new(None));
    let result = measured.clone();
    let ran = uv_loop::run(move || {
        if spinner {
            let working = spin.clone();
            let spawned = uv_loop::worker::spawn::<(), (), _>(move |_port| {
                working.run(|| {});
            });
            if let Err(error) = spawned {
                *result.borrow_mut() = Some(Err(error));
                return;
            }
        }
        wait_then_connect(spinner, spin, Instant::now(), addr, rounds, result);
    });
    ran.map_err(failed)?;
    let (sum, elapsed) = measured
        .take()
        .unwrap_or_else(|| Err(failed("the loop ended before the round trips")))?;
    Ok(Outcome::new(sum, elapsed, rounds))
}

/// Polls every millisecond (a `setTimeout` chain) until the spinner runs, if there is one, then
/// connects.
fn wait_then_connect(
    spinner: bool,
    spin: Spin,
    since: Instant,
    addr: SocketAddr,
    rounds: u64,
    done: Measured,
) {
    if spinner && !spin.has_started() {
        if since.elapsed() > START_LIMIT {
            spin.stop();
            *done.borrow_mut() = Some(Err(spinner_did_not_start()));
            return;
        }
        uv_loop::set_timeout(
            move || wait_then_connect(spinner, spin, since, addr, rounds, done),
            POLL.as_secs_f64() * 1e3,
        );
        return;
    }
    if rounds == 0 {
        spin.stop();
        *done.borrow_mut() = Some(Ok((0, Duration::ZERO)));
        return;
    }
    round_trips(addr, rounds, spin, done);
}

/// What the round trips have got so far.
struct Progress {
    next: Cell<u64>,
    sum: Cell<u64>,
    pending: RefCell<Vec<u8>>,
    started: Cell<Option<Instant>>,
}

/// Connects, then writes word i once word i - 1 has come back, from the `data` handler. The
/// socket's handlers hold it (and the slot `on_connect` reads it from) until `destroy` clears
/// them.
fn round_trips(addr: SocketAddr, rounds: u64, spin: Spin, done: Measured) {
    let progress = Rc::new(Progress {
        next: Cell::new(0),
        sum: Cell::new(0),
        pending: RefCell::new(Vec::new()),
        started: Cell::new(None),
    });
    let slot: Rc<RefCell<Option<Socket>>> = Rc::new(RefCell::new(None));
    let (on_connect_slot, on_connect_progress) = (slot.clone(), progress.clone());
    let connected = uv_loop::net::connect(addr, move || {
        on_connect_progress.started.set(Some(Instant::now()));
        if let Some(socket) = on_connect_slot.borrow().as_ref() {
            socket.write(&0u64.to_le_bytes());
        }
    });
    let socket = match connected {
        Ok(socket) => socket,
        Err(error) => {
            spin.stop();
            *done.borrow_mut() = Some(Err(error));
            return;
        }
    };
    *slot.borrow_mut() = Some(socket.clone());
    let (writer, finished) = (socket.clone(), done.clone());
    let stop = spin.clone();
    socket.on_data(move |chunk| {
        let mut pending = progress.pending.borrow_mut();
        pending.extend_from_slice(chunk);
        while pending.len() >= 8 {
            let word: Vec<u8> = pending.drain(..8).collect();
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&word);
            progress
                .sum
                .set(progress.sum.get() + u64::from_le_bytes(bytes));
            let next = progress.next.get() + 1;
            progress.next.set(next);
            if next < rounds {
                writer.write(&next.to_le_bytes());
                continue;
            }
            let elapsed = progress
                .started
                .get()
                .map_or(Duration::ZERO, |t| t.elapsed());
            *finished.borrow_mut() = Some(Ok((progress.sum.get(), elapsed)));
            stop.stop();
            writer.destroy();
            return;
        }
    });
    let (failed_spin, failed_done) = (spin.clone(), done.clone());
    socket.on_error(move |error| {
        failed_spin.stop();
        failed_done.borrow_mut().get_or_insert(Err(error));
    });
    // Closed before the last word came back (the server went away): the run fails, and the
    // spinner stops, so that the worker and with it the loop end.
    socket.on_close(move |_had_error| {
        spin.stop();
        done.borrow_mut()
            .get_or_insert(Err(io::ErrorKind::UnexpectedEof.into()));
    });
}
