//! echo: the concurrency experiment's second half, a TCP echo server holding 1,000 connections.
//!
//! ```text
//!   this process:  the model's echo server (workloads::echo::serve_*) on a thread of its own
//!                  a client (one thread, mio): N connections open at once, each sends 64 bytes,
//!                  reads them back, R times; latency of every round trip
//! ```
//!
//! Figures: `connections` (N), `connections_served` (connections that got every echo back, each
//! checked byte for byte), `in_flight_max` (the most connections waiting for an echo at one
//! instant: a server that holds every connection lets all N wait at once), `round_trips_per_s`
//! and `p99_us`.
//!
//! Then short requests under a background CPU load: a few connections (50) make round trips
//! while the server's model is idle (`p99_us_idle`) and again while `cores` CPU-bound workers
//! of the same model compute beside the server (`p99_us_loaded`; see [`super::load`] for how
//! each model's users write them). What the requests wait for under load is each model's
//! scheduling: a goroutine hog is preempted, a Python thread waits for the GIL (the convoy
//! effect), an event loop serves requests between the load's chunks. The client is the same for every model and lives outside the model's runtime,
//! on plain OS threads, as the Go load generator does for `schedlab bench ... echo-c1000`.
//!
//! procpool has no echo server (a process pool serves tasks, not sockets): it reports none, and
//! the table says so.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::load::Switch;
use super::{ExperimentError, Figures, Options};
use crate::bench::BenchError;
use crate::model::Model;
use crate::workloads::echo::{self, message, MESSAGE};

/// Connections and round trips per connection.
fn size(options: &Options) -> (u64, u64) {
    if options.quick {
        (200, 5)
    } else {
        (1_000, 20)
    }
}

/// Connections of the short-request phases.
const SHORT_CONNECTIONS: u64 = 50;

/// How long the server gets to close the 1,000 connections before the loaded phase.
const SETTLE: Duration = Duration::from_millis(200);

/// How long the client waits for the whole run before it gives up.
const DEADLINE: Duration = Duration::from_secs(60);

pub(super) fn run(
    mut figures: Figures,
    options: &Options,
) -> Result<Vec<probe::result::ResultLine>, ExperimentError> {
    let (connections, rounds) = size(options);
    let served_error = |reason: String| {
        ExperimentError::Model(BenchError::Served {
            benchmark: "echo",
            reason,
        })
    };
    let load = Switch::default();
    let addr = start_server(figures.model, options, &load).map_err(served_error)?;
    // The idle short requests first, on a quiet server; then the 1,000 connections; then, once
    // the server has closed them all, the short requests again under load.
    let idle = drive(addr, SHORT_CONNECTIONS, rounds).map_err(|e| served_error(e.to_string()))?;
    let stats = drive(addr, connections, rounds).map_err(|e| served_error(e.to_string()))?;
    figures.check(stats.served, connections)?;
    std::thread::sleep(SETTLE);
    load.on();
    // Let every worker see the switch and start computing.
    std::thread::sleep(Duration::from_millis(20));
    let loaded = drive(addr, SHORT_CONNECTIONS, rounds);
    load.stop();
    let loaded = loaded.map_err(|e| served_error(e.to_string()))?;
    figures.check(idle.served + loaded.served, 2 * SHORT_CONNECTIONS)?;
    figures.add("connections", connections as f64, "count")?;
    figures.add("connections_served", stats.served as f64, "count")?;
    figures.add("in_flight_max", stats.in_flight_max as f64, "count")?;
    figures.add("round_trips_per_s", stats.round_trips_per_s, "rt/s")?;
    figures.add("p99_us", stats.p99_us, "us")?;
    figures.add("p99_us_idle", idle.p99_us, "us")?;
    figures.add("p99_us_loaded", loaded.p99_us, "us")?;
    Ok(figures.done())
}

/// Starts `model`'s echo server on a thread of its own (left running until the process ends)
/// and returns where it listens.
fn start_server(model: Model, options: &Options, load: &Switch) -> Result<SocketAddr, String> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let (tx, rx) = mpsc::channel::<SocketAddr>();
    let (procs, workers, load) = (options.cores, options.cores, load.clone());
    let spawned = std::thread::Builder::new()
        .name("echo-server".into())
        .spawn(move || {
            let listening = move |addr| {
                let _ = tx.send(addr);
            };
            let reason = match model {
                Model::Goroutines => match crate::bench::goroutines::runtime(procs) {
                    Ok(runtime) => {
                        let Err(error) = runtime.run(move || {
                            super::load::goroutines(&load, workers);
                            echo::serve_goroutines(any, listening)
                        });
                        error.to_string()
                    }
                    Err(error) => error.to_string(),
                },
                Model::AsyncioLoop => echo::serve_asyncio_loop_with(any, listening, move || {
                    super::load::asyncio_loop(&load, workers)
                })
                .to_string(),
                Model::UvLoop => echo::serve_uv_loop_with(any, listening, move || {
                    super::load::uv_loop(&load, workers)
                })
                .to_string(),
                Model::GilThreads => echo::serve_gil_threads_with(any, listening, |interpreter| {
                    super::load::gil_threads(&load, workers, interpreter)
                })
                .to_string(),
                Model::Procpool => "a process pool serves tasks, not sockets".to_owned(),
            };
            eprintln!("schedlab: echo server of {}: {reason}", model.name());
        })
        .map_err(|error| format!("cannot start the server thread: {error}"))?;
    drop(spawned);
    rx.recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("{} has no echo server that listens", model.name()))
}

/// What the client saw.
struct Stats {
    served: u64,
    in_flight_max: u64,
    round_trips_per_s: f64,
    p99_us: f64,
}

/// One connection of the client.
struct Connection {
    stream: TcpStream,
    round: u64,
    sent: usize,
    received: Vec<u8>,
    sent_at: Instant,
    waiting: bool,
    done: bool,
}

/// Opens `connections` connections to `addr` and makes `rounds` round trips on each, all
/// connections at once, one message in flight per connection.
fn drive(addr: SocketAddr, connections: u64, rounds: u64) -> io::Result<Stats> {
    let mut poll = Poll::new()?;
    let mut conns: HashMap<Token, Connection> = HashMap::new();
    for index in 0..connections {
        let mut stream = TcpStream::connect(addr)?;
        let token = Token(index as usize);
        poll.registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        conns.insert(
            token,
            Connection {
                stream,
                round: 0,
                sent: 0,
                received: Vec::with_capacity(MESSAGE),
                sent_at: Instant::now(),
                waiting: false,
                done: false,
            },
        );
    }
    let started = Instant::now();
    let mut events = Events::with_capacity(1024);
    let mut latencies = Vec::with_capacity((connections * rounds) as usize);
    let (mut in_flight, mut in_flight_max, mut served) = (0u64, 0u64, 0u64);
    let mut buf = [0u8; MESSAGE];
    while conns.values().any(|conn| !conn.done) {
        if started.elapsed() > DEADLINE {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "echo run past its deadline",
            ));
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in events.iter() {
            let Some(conn) = conns.get_mut(&event.token()) else {
                continue;
            };
            if conn.done {
                continue;
            }
            let index = event.token().0 as u64;
            // Write what is left of this round's message.
            while conn.sent < MESSAGE && !conn.done {
                let payload = message(index, conn.round);
                match conn.stream.write(&payload[conn.sent..]) {
                    Ok(n) => {
                        if conn.sent == 0 {
                            conn.sent_at = Instant::now();
                            conn.waiting = true;
                            in_flight += 1;
                            in_flight_max = in_flight_max.max(in_flight);
                        }
                        conn.sent += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => conn.done = true,
                }
            }
            // Read the echo.
            while conn.waiting && !conn.done {
                match conn.stream.read(&mut buf[..MESSAGE - conn.received.len()]) {
                    Ok(0) => conn.done = true,
                    Ok(n) => {
                        conn.received.extend_from_slice(&buf[..n]);
                        if conn.received.len() == MESSAGE {
                            let ok = conn.received == message(index, conn.round);
                            latencies.push(conn.sent_at.elapsed().as_secs_f64() * 1e6);
                            conn.received.clear();
                            conn.waiting = false;
                            in_flight -= 1;
                            conn.round += 1;
                            conn.sent = 0;
                            if !ok {
                                conn.done = true;
                            } else if conn.round == rounds {
                                conn.done = true;
                                served += 1;
                            } else {
                                // Send the next round now: the socket was writable.
                                let payload = message(index, conn.round);
                                if let Ok(n) = conn.stream.write(&payload) {
                                    conn.sent_at = Instant::now();
                                    conn.waiting = true;
                                    in_flight += 1;
                                    conn.sent = n;
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => conn.done = true,
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies
        .get(((latencies.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0.0);
    Ok(Stats {
        served,
        in_flight_max,
        round_trips_per_s: latencies.len() as f64 / elapsed,
        p99_us: p99,
    })
}
