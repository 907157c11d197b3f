//! The echo benchmarks: a server in a child process, driven by the Go peers' load generator.
//!
//! ```text
//!   schedlab bench goroutines echo-c100
//!     ├─ child: schedlab serve goroutines echo --addr 127.0.0.1:0 --procs N   prints PORT <n>
//!     ├─ peers/go/loadgen.sh (GO_NO_INSTALL=1)       builds peers/go/build/loadgen, prints its path
//!     ├─ reps × loadgen -addr 127.0.0.1:<n> -conns 100 -msg 64 -duration 3s -model goroutines
//!     │           prints  goroutines echo-c100 round_trips_per_s <v> rt/s
//!     │                   goroutines echo-c100 p99_us <v> us
//!     └─ kill the child
//! ```
//!
//! The load generator is the one program that drives every echo server the project compares
//! (Go's `bench serve-echo`, the Tokio peer, this one), so the figures differ only by server. It
//! warms up for 0.5 s before it measures, so there is no warm-up run here, and it checks every
//! byte echoed (a wrong one fails the run). `SCHEDLAB_LOADGEN=/path/to/loadgen` uses that binary
//! instead of building one. Without Go (`peers/go/install.sh` installs it) the benchmark fails
//! with [`BenchError::PeerMissing`], which `bench::run` turns into a skip.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use probe::result::{parse_lines, ResultLine};

use super::{BenchError, Benchmark};
use crate::model::Model;
use crate::workloads::echo;

/// How long the load generator measures, per repetition.
pub const DURATION: &str = "3s";

/// How long the server may take to print its port.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// The environment variable that names a load generator binary to use instead of building one.
pub const LOADGEN_ENV: &str = "SCHEDLAB_LOADGEN";

/// Serves the echo workload on `model` with `procs` Ps at `addr`, forever; calls `listening`
/// with the address once it listens. Returns only when it cannot serve.
pub fn serve(
    model: Model,
    addr: SocketAddr,
    procs: usize,
    listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), BenchError> {
    match model {
        Model::Goroutines => {
            let runtime = super::goroutines::runtime(procs)?;
            let Err(error) = runtime.run(move || echo::serve_goroutines(addr, listening));
            Err(BenchError::Served {
                benchmark: "echo",
                reason: format!("cannot listen on {addr}: {error}"),
            })
        }
        Model::AsyncioLoop => {
            let error = echo::serve_asyncio_loop(addr, listening);
            Err(BenchError::Served {
                benchmark: "echo",
                reason: format!("cannot serve on {addr}: {error}"),
            })
        }
        Model::UvLoop => {
            let error = echo::serve_uv_loop(addr, listening);
            Err(BenchError::Served {
                benchmark: "echo",
                reason: format!("cannot serve on {addr}: {error}"),
            })
        }
        Model::GilThreads => {
            let error = echo::serve_gil_threads(addr, listening);
            Err(BenchError::Served {
                benchmark: "echo",
                reason: format!("cannot serve on {addr}: {error}"),
            })
        }
        // A process pool serves tasks, not sockets: multiprocessing has no echo server to model.
        Model::Procpool => Err(BenchError::Unsupported {
            model: model.name(),
            benchmark: "echo",
        }),
    }
}

/// Measures `benchmark` (an echo benchmark) `reps` times against one server of `model` with
/// `procs` Ps, and returns each repetition's figures.
pub fn measure(
    model: Model,
    benchmark: &'static Benchmark,
    procs: usize,
    reps: usize,
) -> Result<Vec<Vec<ResultLine>>, BenchError> {
    let loadgen = loadgen().map_err(|reason| BenchError::PeerMissing {
        benchmark: benchmark.name,
        reason,
    })?;
    let connections = benchmark.size(1.0);
    let served = |reason: String| BenchError::Served {
        benchmark: benchmark.name,
        reason,
    };
    let server = Server::start(model, procs).map_err(served)?;
    let mut runs = Vec::with_capacity(reps);
    for _ in 0..reps {
        let output = Command::new(&loadgen)
            .args(["-addr", &format!("127.0.0.1:{}", server.port)])
            .args(["-conns", &connections.to_string()])
            .args(["-msg", &echo::MESSAGE.to_string()])
            .args(["-duration", DURATION])
            .args(["-model", model.name()])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|error| served(format!("cannot run {}: {error}", loadgen.display())))?;
        if !output.status.success() {
            return Err(served(format!(
                "the load generator failed ({}); see its message above",
                output.status
            )));
        }
        let figures: Vec<ResultLine> = parse_lines(&String::from_utf8_lossy(&output.stdout))
            .into_iter()
            .filter(|line| line.model == model.name() && line.workload == benchmark.name)
            .collect();
        if figures.is_empty() {
            return Err(served("the load generator printed no result line".into()));
        }
        runs.push(figures);
    }
    drop(server);
    Ok(runs)
}

/// A `schedlab serve <model> echo` child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(model: Model, procs: usize) -> Result<Server, String> {
        let exe = std::env::current_exe()
            .map_err(|error| format!("cannot find the schedlab binary: {error}"))?;
        let mut child = Command::new(exe)
            .args(["serve", model.name(), "echo", "--addr", "127.0.0.1:0"])
            .args(["--procs", &procs.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start the echo server: {error}"))?;
        let stdout = child.stdout.take().expect("stdout was piped");
        // Read the PORT line on a thread, so a server that never prints it cannot hang the run.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Drain the rest until the server exits.
            for _ in lines {}
        });
        let mut server = Server { child, port: 0 };
        let line = match rx.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(error))) => return Err(format!("cannot read the server's port: {error}")),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server
                    .child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(format!(
                    "the echo server exited before it listened ({status})"
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the echo server printed no port within {SERVER_START_TIMEOUT:?}"
                ))
            }
        };
        server.port = parse_port(&line)
            .ok_or_else(|| format!("the echo server printed {line:?}, not PORT <n>"))?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of a `PORT <n>` line.
pub fn parse_port(line: &str) -> Option<u16> {
    line.strip_prefix("PORT ")?.trim().parse().ok()
}

/// The load generator: `$SCHEDLAB_LOADGEN`, or the one `peers/go/loadgen.sh` builds, if Go is
/// installed (it is never installed from here). The error says what is missing.
fn loadgen() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(LOADGEN_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "the Go load generator is not available: {LOADGEN_ENV}={} is no file",
                path.display()
            ))
        };
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers/go/loadgen.sh");
    if !script.is_file() {
        return Err(format!(
            "the Go load generator is not available: no {} (set {LOADGEN_ENV})",
            script.display()
        ));
    }
    let output = Command::new("bash")
        .arg(&script)
        .env("GO_NO_INSTALL", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = PathBuf::from(stdout.trim());
    if output.status.success() && path.is_file() {
        return Ok(path);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .last()
        .unwrap_or("no message")
        .trim()
        .to_owned();
    Err(format!(
        "the Go load generator is not available: peers/go/loadgen.sh failed ({}): {why}; \
         install Go 1.27 with peers/go/install.sh, or set {LOADGEN_ENV}",
        output.status
    ))
}
