//! The Tokio peer of schedlab's echo benchmarks: a TCP echo server on Tokio's multi-thread
//! runtime, for the shared load generator (`peers/go/loadgen`) to drive beside Go's server and
//! `schedlab serve goroutines echo`.
//!
//! ```text
//! cargo run --release --manifest-path peers/tokio/Cargo.toml -- serve-echo [--addr 127.0.0.1:0] [--workers N]
//! ```
//!
//! It prints `PORT <n>` on stdout once it listens and serves until it is killed: one task per
//! connection, each a `read` / `write_all` loop over a 64 KiB buffer (as Go's peer and the
//! goroutines server do), with `TCP_NODELAY` set as Go sets it on every connection. The runtime
//! has one worker thread per available core unless `--workers` says otherwise.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const USAGE: &str = "usage: tokio-peer serve-echo [--addr HOST:PORT] [--workers N]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("serve-echo") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut workers = std::thread::available_parallelism().map_or(1, usize::from);
    while let Some(flag) = args.next() {
        let value = args.next();
        let parsed = match (flag.as_str(), value) {
            ("--addr", Some(v)) => v.parse().map(|a| addr = a).is_ok(),
            ("--workers", Some(v)) => v
                .parse()
                .ok()
                .filter(|&n| n >= 1)
                .map(|n| workers = n)
                .is_some(),
            _ => false,
        };
        if !parsed {
            eprintln!("tokio-peer: bad argument {flag:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio-peer: cannot build the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(addr)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokio-peer: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Listens on `addr`, prints `PORT <n>`, and spawns one task per connection, forever.
async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let port = listener.local_addr()?.port();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "PORT {port}")?;
        stdout.flush()?;
    }
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(error) => {
                // Such as EMFILE: back off and retry rather than spin or die.
                eprintln!("tokio-peer: accept: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    }
}

/// Writes back everything `stream` sends until EOF or an error.
async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
