//! The conformance driver: runs one named scenario on one start method and prints the lines the
//! tests compare with fixtures recorded from CPython (peers/python/mp_fixtures.py prints the same
//! lines for the same scenario names).
//!
//! Usage: `procpool-scenarios <scenario> [fork|spawn|forkserver]` (default fork);
//! `procpool-scenarios --list`.

use std::process::ExitCode;
use std::time::Duration;

use procpool::start::forkserver;
use procpool::{
    Executor, GetError, MapError, Pool, PoolOptions, SharedArray, SharedArrayHandle, StartMethod,
    SubmitError, Task, TaskError,
};

procpool::task! {
    /// Returns its argument.
    fn ident(x: u64) -> u64 { x }
}
procpool::task! {
    /// Sleeps `seconds`, then returns them.
    fn sleep_then_return(seconds: f64) -> f64 {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        seconds
    }
}
procpool::task! {
    /// The worker's pid.
    fn getpid(_x: u64) -> u32 { std::process::id() }
}
procpool::task! {
    /// Task 3 exits the worker after 0.1 s; the others sleep 0.2 s (CPython's `os._exit(1)`).
    fn sleep_or_die(x: u64) -> u64 {
        if x == 3 {
            std::thread::sleep(Duration::from_millis(100));
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(200));
        x
    }
}
procpool::task! {
    /// Kills its own worker with SIGKILL.
    fn kill_self(_x: u64) -> u64 {
        // SAFETY: raise has no memory effects; the process dies here.
        unsafe { libc::raise(libc::SIGKILL) };
        0
    }
}
procpool::task! {
    /// Panics on 3.
    fn panics_on_three(x: u64) -> u64 {
        if x == 3 {
            panic!("task {x} refused");
        }
        x
    }
}
procpool::task! {
    /// A result of `n` bytes.
    fn big_result(n: u64) -> Vec<u8> { vec![7; n as usize] }
}
procpool::task! {
    /// The length of its argument.
    fn bytes_len(bytes: Vec<u8>) -> u64 { bytes.len() as u64 }
}
procpool::task! {
    /// Adds two numbers.
    fn add(a: u64, b: u64) -> u64 { a + b }
}
procpool::task! {
    /// Writes i*i into elements start..end of the shared array; returns how many it wrote.
    fn fill_squares(array: SharedArrayHandle, start: u64, end: u64) -> u64 {
        let Ok(array) = array.open::<u64>() else { return 0 };
        (start..end).filter(|&i| array.set(i as usize, i * i).is_ok()).count() as u64
    }
}

procpool::task! {
    /// Ignores SIGTERM, then sleeps `seconds`.
    fn ignore_sigterm_and_sleep(seconds: f64) -> f64 {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        seconds
    }
}
procpool::task! {
    /// Sabotage, for spawn workers only (the socket's number is in `PROCPOOL_WORKER`): writes a
    /// malformed reply frame (`oversize` false) or a header announcing 2 GiB - 1 (true) straight
    /// onto the worker's socket, then exits, so no real reply follows.
    fn write_bad_frame_and_exit(oversize: bool) -> u64 {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        let fd: i32 = std::env::var(procpool::WORKER_ENV)
            .ok()
            .and_then(|value| value.split(':').next()?.parse().ok())
            .unwrap_or(-1);
        // SAFETY: the spawned worker's socket, which this process exits right after using; the
        // File is forgotten, so it never closes the descriptor the worker loop also holds.
        let mut socket = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        let frame: Vec<u8> = if oversize {
            0x7fff_ffffu32.to_be_bytes().to_vec()
        } else {
            vec![0, 0, 0, 3, 0xff, 0xff, 0xff]
        };
        let _ = socket.write_all(&frame);
        std::process::exit(0)
    }
}
procpool::task! {
    /// Negates a bool.
    fn negate(b: bool) -> bool { !b }
}

/// A task under `negate`'s name whose argument is a number: 5 is no bool, the worker cannot
/// decode it.
struct MisTyped;
impl Task for MisTyped {
    type Arg = u64;
    type Output = bool;
    const NAME: &'static str = <negate as Task>::NAME;
    fn call(_arg: u64) -> bool {
        false
    }
}

/// A task never registered in any process.
struct Unregistered;
impl Task for Unregistered {
    type Arg = u64;
    type Output = u64;
    const NAME: &'static str = "nowhere::unregistered";
    fn call(arg: u64) -> u64 {
        arg
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn pool(method: StartMethod, processes: usize) -> Result<Pool, procpool::PoolError> {
    Pool::with_options(PoolOptions {
        processes: Some(processes),
        start_method: method,
        ..PoolOptions::default()
    })
}

fn map_chunksize(method: StartMethod) -> Outcome {
    let pool = pool(method, 4)?;
    let result = pool.map_async(ident, 0..100, None)?;
    let values = result.get(Some(Duration::from_secs(10)))?;
    println!("chunksize {}", result.chunksize());
    println!("tasks {}", result.tasks());
    let right = values == (0..100).collect::<Vec<u64>>();
    println!("results {}", if right { "True" } else { "False" });
    Ok(())
}

fn list(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
    format!("[{}]", items.join(", "))
}

fn imap_unordered(method: StartMethod) -> Outcome {
    let pool = pool(method, 3)?;
    let ordered: Result<Vec<f64>, TaskError> = pool
        .imap(sleep_then_return, [0.15, 0.05, 0.1], 1)?
        .collect();
    println!("imap {}", list(&ordered?));
    let unordered: Result<Vec<f64>, TaskError> = pool
        .imap_unordered(sleep_then_return, [0.15, 0.05, 0.1], 1)?
        .collect();
    println!("imap_unordered {}", list(&unordered?));
    Ok(())
}

fn maxtasksperchild(method: StartMethod) -> Outcome {
    let pool = Pool::with_options(PoolOptions {
        processes: Some(2),
        start_method: method,
        maxtasksperchild: Some(1),
        ..PoolOptions::default()
    })?;
    let mut pids = pool.map(getpid, 0..6, Some(1))?;
    println!("tasks {}", pids.len());
    pids.sort_unstable();
    pids.dedup();
    println!("processes {}", pids.len());
    Ok(())
}

fn broken_executor(method: StartMethod) -> Outcome {
    let executor = Executor::new(2, method)?;
    let futures = (0..6)
        .map(|x| executor.submit(sleep_or_die, x))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes: Vec<String> = futures
        .iter()
        .map(|future| match future.get(Some(Duration::from_secs(10))) {
            Ok(value) => value.to_string(),
            Err(GetError::Task(TaskError::Broken(_))) => "'BrokenProcessPool'".to_owned(),
            Err(other) => format!("'{other}'"),
        })
        .collect();
    println!("results [{}]", outcomes.join(", "));
    match executor.submit(ident, 0) {
        Err(SubmitError::Broken(_)) => println!("submit after: BrokenProcessPool"),
        Err(other) => println!("submit after: {other}"),
        Ok(_) => println!("submit after: accepted"),
    }
    if let Some(broken) = executor.broken() {
        println!("broken {broken}");
    }
    Ok(())
}

fn pool_crash(method: StartMethod) -> Outcome {
    let pool = pool(method, 2)?;
    let result = pool.map_async(sleep_or_die, 0..6, Some(1))?;
    match result.get(Some(Duration::from_secs(2))) {
        Ok(_) => println!("map: returned"),
        Err(GetError::Timeout) => println!("map: TimeoutError (hang)"),
        Err(GetError::Task(TaskError::Broken(broken))) => {
            println!("map: BrokenPool");
            println!("worker {}", broken.worker.split('-').next().unwrap_or(""));
            println!("status {}", broken.status);
            println!("running {}", broken.running.as_deref().unwrap_or("nothing"));
        }
        Err(other) => println!("map: {other}"),
    }
    Ok(())
}

fn killed(method: StartMethod) -> Outcome {
    let pool = pool(method, 2)?;
    match pool
        .apply_async(kill_self, 0)?
        .get(Some(Duration::from_secs(10)))
    {
        Err(GetError::Task(TaskError::Broken(broken))) => println!("status {}", broken.status),
        other => println!("unexpected {other:?}"),
    }
    match pool.apply_async(ident, 1) {
        Err(SubmitError::Broken(_)) => println!("submit after: refused"),
        _ => println!("submit after: accepted"),
    }
    Ok(())
}

fn default_chunksizes(method: StartMethod) -> Outcome {
    for workers in [2, 3, 4] {
        let pool = pool(method, workers)?;
        for items in [0u64, 1, 15, 16, 17, 100, 1000] {
            let result = pool.map_async(ident, 0..items, None)?;
            result.get(Some(Duration::from_secs(10)))?;
            println!("{items} {workers} {}", result.chunksize());
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn auth_vector(_method: StartMethod) -> Outcome {
    let key = b"procpool-test-key";
    let mut message = b"{sha256}".to_vec();
    message.extend(0u8..40);
    println!("key {}", hex(key));
    println!("message {}", hex(&message));
    println!(
        "response {}",
        hex(&procpool::auth::create_response(key, &message))
    );
    Ok(())
}

fn task_errors(method: StartMethod) -> Outcome {
    let pool = Pool::with_options(PoolOptions {
        processes: Some(2),
        start_method: method,
        frame_limit: 4096,
        ..PoolOptions::default()
    })?;
    let wait = Some(Duration::from_secs(10));
    let show = |name: &str, result: Result<String, GetError>| match result {
        Ok(value) => println!("{name}: ok {value}"),
        Err(error) => println!("{name}: error {error}"),
    };
    show(
        "panic",
        pool.apply_async(panics_on_three, 3)?
            .get(wait)
            .map(|v| v.to_string()),
    );
    match pool.map(panics_on_three, 0..8, Some(2)) {
        Err(MapError::Task(error)) => println!("map with a panic: error {error}"),
        other => println!("map with a panic: {other:?}"),
    }
    show(
        "big result",
        pool.apply_async(big_result, 10_000)?
            .get(wait)
            .map(|v| v.len().to_string()),
    );
    show(
        "big arguments",
        pool.apply_async(bytes_len, vec![0; 10_000])?
            .get(wait)
            .map(|v| v.to_string()),
    );
    show(
        "mistyped",
        pool.apply_async(MisTyped, 5)?
            .get(wait)
            .map(|v| v.to_string()),
    );
    show(
        "unregistered",
        pool.apply_async(Unregistered, 1)?
            .get(wait)
            .map(|v| v.to_string()),
    );
    show(
        "afterwards",
        pool.apply_async(ident, 5)?.get(wait).map(|v| v.to_string()),
    );
    println!("broken {}", pool.broken().is_some());
    Ok(())
}

fn lifecycle(method: StartMethod) -> Outcome {
    let pool = pool(method, 2)?;
    let slow = pool.apply_async(sleep_then_return, 0.3)?;
    match slow.get(Some(Duration::from_millis(10))) {
        Err(GetError::Timeout) => println!("first get: timeout"),
        other => println!("first get: {other:?}"),
    }
    println!("second get: {:?}", slow.get(None));
    println!(
        "starmap {:?}",
        pool.starmap(add, [(1, 2), (3, 4), (5, 6)], None)?
    );
    println!("apply {:?}", pool.apply(add, (20, 22))?);
    pool.close();
    match pool.apply_async(ident, 1) {
        Err(SubmitError::Closed) => println!("submit after close: refused"),
        _ => println!("submit after close: accepted"),
    }
    println!("join: {:?}", pool.join());
    let pool = self::pool(method, 2)?;
    println!("join while running: {:?}", pool.join());
    let long = pool.apply_async(sleep_then_return, 30.0)?;
    let started = std::time::Instant::now();
    pool.terminate();
    println!(
        "after terminate: {:?}",
        long.get(Some(Duration::from_secs(10)))
    );
    println!("join: {:?}", pool.join());
    println!(
        "terminate took under 5 s: {}",
        started.elapsed() < Duration::from_secs(5)
    );
    let executor = Executor::new(2, method)?;
    let mapped: Result<Vec<u64>, TaskError> = executor.map(ident, 0..10, 1)?.collect();
    println!("executor map {:?}", mapped?);
    executor.shutdown(true);
    Ok(())
}

fn shared_array(method: StartMethod) -> Outcome {
    let array = SharedArray::<u64>::create(1000)?;
    let pool = pool(method, 2)?;
    let ranges: Vec<(SharedArrayHandle, u64, u64)> = (0..4)
        .map(|i| (array.handle(), i * 250, (i + 1) * 250))
        .collect();
    let written: u64 = pool.starmap(fill_squares, ranges, Some(1))?.iter().sum();
    println!("written {written}");
    let sum: u64 = array.to_vec().iter().sum();
    println!("sum {sum}");
    println!("expected {}", (0..1000u64).map(|i| i * i).sum::<u64>());
    Ok(())
}

fn trace(method: StartMethod) -> Outcome {
    use probe::trace::EventKind;
    probe::trace::start();
    let pool = pool(method, 2)?;
    pool.map(ident, 0..10, Some(5))?;
    pool.close();
    pool.join()?;
    let events = probe::trace::stop();
    let count = |f: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count();
    println!(
        "process start {}",
        count(&|k| matches!(k, EventKind::ProcessStart { .. }))
    );
    println!(
        "process exit {}",
        count(&|k| matches!(k, EventKind::ProcessExit { status: 0, .. }))
    );
    let frames = |name: &str| {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Counter { name: n, value } if n == name && value > 4))
            .count()
    };
    println!("frames sent {}", frames("frame sent bytes"));
    println!("frames received {}", frames("frame received bytes"));
    println!(
        "ipc bytes events {}",
        count(&|k| matches!(k, EventKind::IpcBytes { .. }))
    );
    // Each worker's task runs, shipped back in its replies, on this process's clock: inside the
    // span from the first request sent to the last reply received.
    let ts_of = |name: &str| -> Vec<u64> {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Counter { name: n, .. } if n == name))
            .map(|e| e.ts_ns)
            .collect()
    };
    let first_sent = ts_of("frame sent bytes").into_iter().min().unwrap_or(0);
    let last_received = ts_of("frame received bytes").into_iter().max().unwrap_or(0);
    let worker_events: Vec<_> = events.iter().filter(|e| e.process.is_some()).collect();
    let pids: std::collections::BTreeSet<u32> =
        worker_events.iter().filter_map(|e| e.process).collect();
    println!("worker processes with events {}", pids.len());
    let begins = worker_events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RunBegin { .. }))
        .count();
    let ends = worker_events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RunEnd { .. }))
        .count();
    println!("worker runs {begins} begun {ends} ended");
    let inside = worker_events
        .iter()
        .filter(|e| first_sent <= e.ts_ns && e.ts_ns <= last_received)
        .count();
    println!(
        "worker events between the first request and the last reply {inside} of {}",
        worker_events.len()
    );
    Ok(())
}

fn fork_refused(_method: StartMethod) -> Outcome {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || stopped.recv());
    match Pool::new(2) {
        Err(error) => println!("fork with 2 threads: {error}"),
        Ok(_) => println!("fork with 2 threads: started"),
    }
    let _ = stop.send(());
    let _ = thread.join();
    println!(
        "fork with 1 thread: {}",
        if Pool::new(2).is_ok() {
            "started"
        } else {
            "refused"
        }
    );
    println!(
        "maxtasksperchild with fork: {}",
        match Pool::with_options(PoolOptions {
            maxtasksperchild: Some(1),
            ..PoolOptions::default()
        }) {
            Err(error) => error.to_string(),
            Ok(_) => "started".to_owned(),
        }
    );
    Ok(())
}

/// A scenario: runs on one start method and prints its lines.
type Scenario = fn(StartMethod) -> Outcome;

fn forkserver_auth(_method: StartMethod) -> Outcome {
    let address = forkserver::server_address().ok_or("no fork server")?;
    let mut stranger = std::os::unix::net::UnixStream::connect_addr(&address)?;
    match procpool::auth::answer_challenge(&mut stranger, b"a guessed key") {
        Ok(()) => println!("stranger: accepted"),
        Err(error) => println!("stranger: {error}"),
    }
    drop(stranger);
    let pool = pool(StartMethod::Forkserver, 1)?;
    println!("pool afterwards: {:?}", pool.map(ident, 0..3, None)?);
    Ok(())
}

fn terminate_stubborn(method: StartMethod) -> Outcome {
    let pool = pool(method, 1)?;
    let stubborn = pool.apply_async(ignore_sigterm_and_sleep, 30.0)?;
    let probe = pool.apply_async(ident, 1)?;
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    pool.terminate();
    pool.join()?;
    println!(
        "terminated within 5 s: {}",
        started.elapsed() < Duration::from_secs(5)
    );
    println!("stubborn: {:?}", stubborn.get(Some(Duration::from_secs(1))));
    println!("queued: {:?}", probe.get(Some(Duration::from_secs(1))));
    Ok(())
}

/// Spawn only: a worker that writes a malformed or oversize reply frame, then dies.
fn bad_reply(method: StartMethod) -> Outcome {
    let wait = Some(Duration::from_secs(10));
    for oversize in [false, true] {
        let pool = pool(method, 1)?;
        let sabotage = pool.apply_async(write_bad_frame_and_exit, oversize)?;
        let queued = pool.apply_async(ident, 7)?;
        match sabotage.get(wait) {
            Err(GetError::Task(TaskError::MalformedReply(reason))) => {
                println!("oversize {oversize}: malformed reply: {reason}")
            }
            other => println!("oversize {oversize}: {other:?}"),
        }
        match queued.get(wait) {
            Err(GetError::Task(TaskError::Broken(broken))) => {
                println!(
                    "oversize {oversize}: next task: broken, worker {}",
                    broken.status
                )
            }
            other => println!("oversize {oversize}: next task: {other:?}"),
        }
    }
    Ok(())
}

/// Run with the `spawn` method argument, so that `main` does not start the fork server first.
fn forkserver_threaded(_method: StartMethod) -> Outcome {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || stopped.recv());
    forkserver::ensure_running()?;
    let server = forkserver::server_pid().ok_or("no fork server")?;
    println!("server is our child: {}", is_child(server));
    let pool = pool(StartMethod::Forkserver, 2)?;
    println!("map {:?}", pool.map(ident, 0..4, None)?);
    let _ = stop.send(());
    let _ = thread.join();
    Ok(())
}

/// Whether `pid`'s parent is this process (from `/proc/<pid>/stat`, field 4).
fn is_child(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .to_owned();
            after.parse::<u32>().ok()
        })
        == Some(std::process::id())
}

const SCENARIOS: &[(&str, Scenario)] = &[
    ("map_chunksize", map_chunksize),
    ("imap_unordered", imap_unordered),
    ("maxtasksperchild", maxtasksperchild),
    ("broken_executor", broken_executor),
    ("pool_crash", pool_crash),
    ("default_chunksizes", default_chunksizes),
    ("auth_vector", auth_vector),
    ("killed", killed),
    ("task_errors", task_errors),
    ("lifecycle", lifecycle),
    ("shared_array", shared_array),
    ("trace", trace),
    ("fork_refused", fork_refused),
    ("forkserver_auth", forkserver_auth),
    ("forkserver_threaded", forkserver_threaded),
    ("terminate_stubborn", terminate_stubborn),
    ("bad_reply", bad_reply),
];

fn main() -> ExitCode {
    procpool::main_if_worker();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--list") {
        for (name, _) in SCENARIOS {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let method = match args.get(1).map(|name| StartMethod::from_name(name)) {
        None => StartMethod::Fork,
        Some(Some(method)) => method,
        Some(None) => {
            eprintln!("procpool-scenarios: start method must be fork, spawn or forkserver");
            return ExitCode::from(2);
        }
    };
    let Some((_, scenario)) = SCENARIOS
        .iter()
        .find(|(name, _)| Some(*name) == args.first().map(String::as_str))
    else {
        eprintln!("usage: procpool-scenarios <scenario> [fork|spawn|forkserver]; --list");
        return ExitCode::from(2);
    };
    if method == StartMethod::Forkserver {
        if let Err(error) = forkserver::ensure_running() {
            eprintln!("procpool-scenarios: {error}");
            return ExitCode::FAILURE;
        }
    }
    match scenario(method) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("procpool-scenarios: {error}");
            ExitCode::FAILURE
        }
    }
}
