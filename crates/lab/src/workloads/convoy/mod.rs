//! convoy: blocking I/O round trips from one task, alone or beside one CPU-bound task of the
//! same model.
//!
//! ```text
//!   the I/O task (the model's)           echo server (outside every model: a plain OS thread)
//!   round trip i = 0 .. rounds:
//!     write i as 8 bytes LE  ──TCP──────>  read 8 bytes
//!                                          sleep SERVER_DELAY (0.5 ms)
//!     read 8 bytes  <──────────────────── write them back
//!     sum += the word read
//!   checksum: 0 + 1 + ... + (rounds - 1)
//!
//!   the spinner (optional, started first): an LCG loop, as the model's users write CPU-bound
//!   work beside I/O, until the I/O task is done
//! ```
//!
//! This is D. Beazley's convoy effect (bpo-7946), as measured on CPython 3.11 here over a
//! socketpair: 0.72 ms per round trip alone, 7.3 ms beside a spinning thread at the 5 ms switch
//! interval, 2.5 ms at 1 ms. Every runner here uses loopback TCP, which every model's sockets
//! speak (goroutines::net, asyncio streams, uv-loop's net), as do the peers' programs.
//! A thread that releases the GIL around each blocking call finds, when its reply arrives, the
//! spinner holding the GIL, and waits one switch interval before it may ask for it. The server
//! has no GIL to take, so only the model's own tasks compete. Each model's runner:
//!
//! ```text
//!   goroutines    goroutines::net blocking-style I/O beside a spinning goroutine (no yield
//!                 point), the runtime's default Ps
//!   procpool      std blocking I/O in the parent, the spinner in a pool worker process (a shared
//!                 flag, multiprocessing.Value's counterpart, stops it)
//!   gil-threads   gil_threads::io (the GIL released around each call) beside a Python thread
//!                 spinning with a check point at every step
//!   asyncio-loop  streams on a loop that holds the GIL while it runs callbacks and releases it
//!                 around select, as CPython's does; the spinner in run_in_executor's thread, a
//!                 Python thread (see asyncio.rs)
//!   uv-loop       net on the main loop, the spinner in a worker (worker_threads)
//! ```
//!
//! A runner connects after the spinner has said it runs, and times the round trips only. A
//! failure (a thread or process that cannot start, an I/O error) is the run's error, and the
//! spinner is stopped on every way out.

mod asyncio;
mod uv;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gil_threads::{io as gil_io, GilMode, Interpreter, Python};

use super::cpu_parallel::lcg;
use super::sum_below;

pub use asyncio::asyncio_loop;
pub use uv::uv_loop;

/// Round trips in the full-size job (the CPython measurement's 200).
pub const ROUNDS: u64 = 200;

/// How long the server sleeps before each reply.
pub const SERVER_DELAY: Duration = Duration::from_micros(500);

/// How long a runner waits for its spinner to start before it gives up.
const START_LIMIT: Duration = Duration::from_secs(10);

/// How often a runner looks whether its spinner has started.
const POLL: Duration = Duration::from_millis(1);

/// The checksum: the sum of the words echoed back.
pub fn checksum(rounds: u64) -> u64 {
    sum_below(rounds)
}

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// The sum of the words echoed back; [`checksum`] if every round trip completed.
    pub checksum: u64,
    /// The I/O task's time per round trip.
    pub per_round_trip: Duration,
}

impl Outcome {
    fn new(sum: u64, elapsed: Duration, rounds: u64) -> Outcome {
        Outcome {
            checksum: sum,
            per_round_trip: elapsed.div_f64(rounds.max(1) as f64),
        }
    }
}

/// The spinner's two flags: it sets `started` when it runs, and spins until `stop`.
#[derive(Clone, Default)]
struct Spin {
    started: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Spin {
    fn has_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Spins until stopped, calling `check` between runs of 100 LCG steps (a pure-Python loop's
    /// check point, or nothing); returns the steps taken.
    fn run(&self, mut check: impl FnMut()) -> u64 {
        self.started.store(true, Ordering::Release);
        let (mut x, mut steps) = (1u64, 0u64);
        while !self.stop.load(Ordering::Acquire) {
            for _ in 0..100 {
                check();
                x = std::hint::black_box(lcg(x));
            }
            steps += 100;
        }
        steps
    }
}

/// A runtime's error, as an I/O error of the run.
fn failed(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// Stops the spinner when dropped: on every way out of a runner's I/O, errors included.
struct StopOnDrop(Spin);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

fn spinner_did_not_start() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the CPU-bound task did not start within {START_LIMIT:?}"),
    )
}

/// The echo server: a plain OS thread that accepts one connection and sends each 8-byte word
/// back after [`SERVER_DELAY`], until the client closes. Dropping it ends the thread: it shuts
/// the connection down (or, if none came, makes one to end the accept) and joins.
pub struct EchoServer {
    addr: SocketAddr,
    accepted: Arc<Mutex<Accepted>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Accepted {
    stream: Option<TcpStream>,
    closing: bool,
}

impl EchoServer {
    /// Listens on a loopback port and starts the server's thread.
    pub fn start() -> io::Result<EchoServer> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(Mutex::new(Accepted::default()));
        let slot = Arc::clone(&accepted);
        let thread = std::thread::Builder::new()
            .name("echo-server".into())
            .spawn(move || {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                {
                    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                    if slot.closing {
                        return;
                    }
                    slot.stream = stream.try_clone().ok();
                }
                echo(stream);
            })?;
        Ok(EchoServer {
            addr,
            accepted,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let connected = {
            let mut slot = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
            slot.closing = true;
            match &slot.stream {
                Some(stream) => {
                    let _ = stream.shutdown(Shutdown::Both);
                    true
                }
                None => false,
            }
        };
        if !connected {
            let _ = TcpStream::connect(self.addr);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut word = [0u8; 8];
    while stream.read_exact(&mut word).is_ok() {
        std::thread::sleep(SERVER_DELAY);
        if stream.write_all(&word).is_err() {
            return;
        }
    }
}

/// `rounds` round trips over a blocking stream; the sum of the words and the time they took.
fn round_trips(mut stream: impl Read + Write, rounds: u64) -> io::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut sum = 0;
    for i in 0..rounds {
        stream.write_all(&i.to_le_bytes())?;
        let mut word = [0u8; 8];
        stream.read_exact(&mut word)?;
        sum += u64::from_le_bytes(word);
    }
    Ok((sum, started.elapsed()))
}

/// Runs `rounds` round trips from a goroutine, beside a spinning goroutine if `spinner`. Call
/// it from inside a goroutine of a runtime.
pub fn goroutines(rounds: u64, spinner: bool) -> io::Result<Outcome> {
    let server = EchoServer::start()?;
    let spin = Spin::default();
    let spinning = spinner.then(|| {
        let spin = spin.clone();
        goroutines::go(move || spin.run(|| {}))
    });
    let waited = Instant::now();
    while spinner && !spin.has_started() {
        if waited.elapsed() > START_LIMIT {
            spin.stop();
            return Err(spinner_did_not_start());
        }
        goroutines::sleep(POLL);
    }
    let measured = goroutines::net::TcpStream::connect(server.addr()).and_then(|stream| {
        stream.set_nodelay(true)?;
        round_trips(&stream, rounds)
    });
    spin.stop();
    if let Some(spinning) = spinning {
        let _ = spinning.join();
    }
    let (sum, elapsed) = measured?;
    Ok(Outcome::new(sum, elapsed, rounds))
}

procpool::task! {
    /// The procpool spinner in a worker process: says it started in element 0 of the shared
    /// flags, spins until element 1 is set; returns the LCG steps taken (0 if the flags could
    /// not be opened).
    pub fn spin_in_worker(flags: procpool::SharedArrayHandle) -> u64 {
        let Ok(flags) = flags.open::<u64>() else {
            return 0;
        };
        let _ = flags.set(0, 1);
        let (mut x, mut steps) = (1u64, 0u64);
        while flags.get(1) == Ok(0) {
            for _ in 0..100 {
                x = std::hint::black_box(lcg(x));
            }
            steps += 100;
        }
        steps
    }
}

/// Runs `rounds` round trips from this process with std's blocking sockets, beside a spinner
/// in a worker of `pool` if `spinner`.
pub fn procpool(pool: &procpool::Pool, rounds: u64, spinner: bool) -> io::Result<Outcome> {
    let server = EchoServer::start()?;
    let flags = procpool::SharedArray::<u64>::create(2).map_err(failed)?;
    let spinning = if spinner {
        let job = pool
            .apply_async(spin_in_worker, flags.handle())
            .map_err(failed)?;
        let waited = Instant::now();
        while flags.get(0) != Ok(1) {
            if job.ready() || waited.elapsed() > START_LIMIT {
                let _ = flags.set(1, 1);
                return Err(spinner_did_not_start());
            }
            std::thread::sleep(POLL);
        }
        Some(job)
    } else {
        None
    };
    let measured = TcpStream::connect(server.addr()).and_then(|stream| {
        stream.set_nodelay(true)?;
        round_trips(&stream, rounds)
    });
    let _ = flags.set(1, 1);
    if let Some(job) = spinning {
        job.get(Some(START_LIMIT)).map_err(failed)?;
    }
    let (sum, elapsed) = measured?;
    Ok(Outcome::new(sum, elapsed, rounds))
}

/// Runs `rounds` round trips on a gil-threads interpreter (GIL on) with the switch interval
/// `interval` (seconds), from a Python thread doing its I/O through [`gil_threads::io`], beside
/// a spinning Python thread if `spinner`.
pub fn gil_threads(rounds: u64, interval: f64, spinner: bool) -> io::Result<Outcome> {
    let interpreter = Interpreter::new(GilMode::On);
    interpreter
        .set_switch_interval(interval)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let server = EchoServer::start()?;
    let addr = server.addr();
    let spin = Spin::default();
    let spinning = if spinner {
        let spin = spin.clone();
        let thread = interpreter.spawn_named("spinner", move |py| spin.run(|| py.check()));
        Some(thread.map_err(failed)?)
    } else {
        None
    };
    let io_spin = spin.clone();
    let io_thread = interpreter
        .spawn_named("io", move |py| {
            let waited = Instant::now();
            while spinner && !io_spin.has_started() {
                if waited.elapsed() > START_LIMIT {
                    return Err(spinner_did_not_start());
                }
                py.sleep(POLL);
            }
            let stream = py.allow_threads(|| TcpStream::connect(addr))?;
            stream.set_nodelay(true)?;
            gil_round_trips(py, stream, rounds)
        })
        .map_err(failed);
    let measured = io_thread.and_then(|thread| thread.join().map_err(failed)?);
    spin.stop();
    if let Some(spinning) = spinning {
        let _ = spinning.join();
    }
    let (sum, elapsed) = measured?;
    Ok(Outcome::new(sum, elapsed, rounds))
}

/// The Python I/O thread's loop: `sock.sendall`, then `sock.recv` until the word is whole, each
/// with the GIL released.
fn gil_round_trips(
    py: Python<'_>,
    mut stream: TcpStream,
    rounds: u64,
) -> io::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut sum = 0;
    for i in 0..rounds {
        py.check();
        gil_io::sendall(py, &mut stream, &i.to_le_bytes())?;
        let mut word = [0u8; 8];
        let mut filled = 0;
        while filled < word.len() {
            match gil_io::recv(py, &mut stream, &mut word[filled..])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read => filled += read,
            }
        }
        sum += u64::from_le_bytes(word);
    }
    Ok((sum, started.elapsed()))
}
