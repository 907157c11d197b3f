//! convoy: blocking I/O round trips from one Python thread, alone or beside a CPU-bound thread.
//!
//! ```text
//!   io thread (Python)             echo server (no GIL: a plain OS thread)
//!   round trip i = 0 .. rounds:
//!     sendall(i as 8 bytes LE) ──────> read 8 bytes
//!                                      sleep SERVER_DELAY (0.5 ms)
//!     recv until 8 bytes <──────────── write them back
//!     sum += the word received
//!   checksum: 0 + 1 + ... + (rounds - 1)
//!
//!   spinner (Python, optional): an LCG loop with a check point at every back-edge, until the
//!   io thread is done
//! ```
//!
//! This is D. Beazley's convoy effect (bpo-7946), as measured on CPython 3.11 here: 0.72 ms per
//! round trip alone, 7.3 ms beside a spinner at the 5 ms switch interval, 2.5 ms at 1 ms. The I/O
//! thread releases the GIL around each blocking call; when its reply arrives the spinner holds the
//! GIL, and it waits one interval before it may ask for it. The server has no GIL to take (the
//! CPython peer forks a process for it), so only the two Python threads compete.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gil_threads::{io, GilMode, Interpreter, Python};

use super::cpu_parallel::lcg;
use super::sum_below;

/// Round trips in the full-size job (the CPython measurement's 200).
pub const ROUNDS: u64 = 200;

/// How long the server sleeps before each reply.
pub const SERVER_DELAY: Duration = Duration::from_micros(500);

/// The checksum: the sum of the words echoed back.
pub fn checksum(rounds: u64) -> u64 {
    sum_below(rounds)
}

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// The sum of the words echoed back; [`checksum`] if every round trip completed.
    pub checksum: u64,
    /// The I/O thread's time per round trip.
    pub per_round_trip: Duration,
}

/// Runs `rounds` round trips on a gil-threads interpreter (GIL on) with the switch interval
/// `interval` (seconds), beside a spinning Python thread if `spinner`.
///
/// A failure (a thread that cannot start, an I/O error) ends the run early: the checksum then
/// comes out wrong and the lab reports it.
pub fn gil_threads(rounds: u64, interval: f64, spinner: bool) -> Outcome {
    let failed = Outcome {
        checksum: 0,
        per_round_trip: Duration::ZERO,
    };
    let interpreter = Interpreter::new(GilMode::On);
    if interpreter.set_switch_interval(interval).is_err() {
        return failed;
    }
    let Ok((mut client, server)) = UnixStream::pair() else {
        return failed;
    };
    let Ok(server) = std::thread::Builder::new()
        .name("echo-server".into())
        .spawn(move || echo(server))
    else {
        return failed;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let spin = if spinner {
        let stop = Arc::clone(&stop);
        match interpreter.spawn_named("spinner", move |py| spin(py, &stop)) {
            Ok(handle) => Some(handle),
            Err(_) => return failed,
        }
    } else {
        None
    };
    let io_thread = interpreter.spawn_named("io", move |py| {
        // Let the spinner take the GIL first, as in the CPython measurement.
        py.sleep(Duration::from_millis(10));
        let started = Instant::now();
        let sum = round_trips(py, &mut client, rounds);
        (sum, started.elapsed())
    });
    let outcome = match io_thread.map(|handle| handle.join()) {
        Ok(Ok((sum, elapsed))) => Outcome {
            checksum: sum,
            per_round_trip: elapsed / u32::try_from(rounds.max(1)).unwrap_or(u32::MAX),
        },
        _ => failed,
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(spin) = spin {
        let _ = spin.join();
    }
    let _ = server.join();
    outcome
}

/// The I/O thread's loop; stops counting at the first I/O error. Dropping the stream at the end
/// closes the connection, which ends the server.
fn round_trips(py: Python<'_>, stream: &mut UnixStream, rounds: u64) -> u64 {
    let mut sum = 0;
    for i in 0..rounds {
        py.check();
        if io::sendall(py, stream, &i.to_le_bytes()).is_err() {
            break;
        }
        let mut word = [0u8; 8];
        let mut filled = 0;
        while filled < word.len() {
            match io::recv(py, stream, &mut word[filled..]) {
                Ok(0) | Err(_) => return sum,
                Ok(read) => filled += read,
            }
        }
        sum += u64::from_le_bytes(word);
    }
    sum
}

/// The spinner: pure-Python-style CPU work until told to stop.
fn spin(py: Python<'_>, stop: &AtomicBool) -> u64 {
    let mut x = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..100 {
            py.check();
            x = lcg(x);
        }
    }
    x
}

/// The echo server: each 8-byte word back after `SERVER_DELAY`, until the client closes.
fn echo(mut stream: UnixStream) {
    let mut word = [0u8; 8];
    while stream.read_exact(&mut word).is_ok() {
        std::thread::sleep(SERVER_DELAY);
        if stream.write_all(&word).is_err() {
            return;
        }
    }
}
