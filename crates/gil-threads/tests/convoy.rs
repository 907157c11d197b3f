//! The convoy effect (bpo-7946): a thread doing blocking I/O round trips beside a CPU-bound thread
//! pays about one switch interval per round trip. CPython here, 0.5 ms server delay: 0.72 ms per
//! round trip alone, 7.3 ms beside a spinner at the 5 ms interval, 2.5 ms at 1 ms.
//!
//! Why: the I/O thread releases the GIL around each blocking call; the CPU thread takes it; when
//! the reply comes, the I/O thread finds the GIL held and must wait a full interval before it may
//! ask for it. The echo server is a plain OS thread (the real measurement used a process): it
//! never touches the GIL.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::python_work;
use gil_threads::{io, GilMode, Interpreter};

const ROUNDS: u64 = 30;
const SERVER_DELAY: Duration = Duration::from_micros(500);

/// Starts an echo server that sleeps `SERVER_DELAY` before each reply; returns the client end.
fn echo_server() -> UnixStream {
    let (client, mut server) = UnixStream::pair().unwrap();
    std::thread::spawn(move || {
        let mut word = [0u8; 8];
        while server.read_exact(&mut word).is_ok() {
            std::thread::sleep(SERVER_DELAY);
            if server.write_all(&word).is_err() {
                break;
            }
        }
    });
    client
}

struct Outcome {
    per_round_trip: Duration,
    io_waits: u64,
    io_waiting: Duration,
    spinner_forced_switches: u64,
}

/// `ROUNDS` round trips from one Python thread, with or without a spinning Python thread.
fn round_trips(interval: f64, spinner: bool) -> Outcome {
    let interpreter = Interpreter::new(GilMode::On);
    interpreter.set_switch_interval(interval).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spin = spinner.then(|| {
        let stop = Arc::clone(&stop);
        interpreter
            .spawn_named("spinner", move |py| {
                let mut x = 0;
                while !stop.load(Ordering::Relaxed) {
                    x = python_work(py, x, 100);
                }
            })
            .unwrap()
    });
    let mut stream = echo_server();
    let client = interpreter
        .spawn_named("io", move |py| {
            // Let the spinner take the GIL and run first.
            py.sleep(Duration::from_millis(10));
            let started = Instant::now();
            let mut sum = 0;
            for i in 0..ROUNDS {
                io::sendall(py, &mut stream, &i.to_le_bytes()).unwrap();
                let mut word = [0u8; 8];
                let mut filled = 0;
                while filled < 8 {
                    filled += io::recv(py, &mut stream, &mut word[filled..]).unwrap();
                }
                sum += u64::from_le_bytes(word);
            }
            assert_eq!(sum, ROUNDS * (ROUNDS - 1) / 2);
            started.elapsed() / ROUNDS as u32
        })
        .unwrap();
    let per_round_trip = client.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    if let Some(spin) = spin {
        spin.join().unwrap();
    }
    let account = interpreter.account();
    Outcome {
        per_round_trip,
        io_waits: account.thread("io").unwrap().waits,
        io_waiting: account.thread("io").unwrap().waiting,
        spinner_forced_switches: account.thread("spinner").map_or(0, |t| t.forced_switches),
    }
}

/// Whether `outcome` shows the convoy at `interval_us`: most round trips ended with the I/O
/// thread waiting for the spinner, and the round trip cost about one interval more than alone.
fn convoyed(outcome: &Outcome, alone: &Outcome, interval_us: u64) -> bool {
    let interval = Duration::from_micros(interval_us);
    outcome.io_waits >= ROUNDS / 2
        && outcome.spinner_forced_switches >= ROUNDS / 2
        && outcome.per_round_trip >= alone.per_round_trip + interval / 2
        && outcome.per_round_trip <= alone.per_round_trip + interval * 4
}

/// The round trips alone, the best of 3 (each round trip wakes the echo server and then the I/O
/// thread, and on a loaded machine either can wait for a core).
fn alone() -> Outcome {
    (0..3)
        .map(|_| {
            let alone = round_trips(0.005, false);
            assert_eq!(alone.io_waits, 0, "alone, nobody else holds the GIL");
            alone
        })
        .min_by_key(|alone| alone.per_round_trip)
        .unwrap()
}

#[test]
fn an_io_thread_beside_a_cpu_thread_pays_about_one_interval_per_round_trip() {
    // On a loaded machine the spinner may not get a core in time to take the GIL the I/O thread
    // released, and then there is no convoy to see; and a baseline measured in a busier moment
    // than the convoy hides it (alone 3.62 ms, best of 3, then 1.85 ms beside a spinner at a
    // 1 ms interval, at load 6). So each try measures its own baseline just before, one under
    // 4 ms (far below the 5 ms interval) makes the try count, and the band is checked on the
    // best of 3 tries.
    let mut tries = Vec::new();
    for (interval, interval_us) in [(0.005, 5_000), (0.001, 1_000)] {
        for _ in 0..3 {
            let alone = alone();
            let outcome = round_trips(interval, true);
            // Exact, whatever the load: each wait lasted at least one interval, since the I/O
            // thread could only ask for the GIL after one.
            let floor = Duration::from_micros(interval_us * 95 / 100) * outcome.io_waits as u32;
            assert!(
                outcome.io_waiting >= floor,
                "{} waits in {:?}",
                outcome.io_waits,
                outcome.io_waiting
            );
            eprintln!(
                "ms per round trip: alone {:.2}, beside a spinner at {} ms {:.2} ({} waits)",
                alone.per_round_trip.as_secs_f64() * 1e3,
                interval * 1e3,
                outcome.per_round_trip.as_secs_f64() * 1e3,
                outcome.io_waits
            );
            if alone.per_round_trip < Duration::from_millis(4)
                && convoyed(&outcome, &alone, interval_us)
            {
                break;
            }
            tries.push((
                interval,
                alone.per_round_trip,
                outcome.per_round_trip,
                outcome.io_waits,
            ));
            assert!(
                tries.len() % 3 != 0,
                "no convoy in 3 tries (interval, alone, beside a spinner, waits): {tries:?}"
            );
        }
    }
}
