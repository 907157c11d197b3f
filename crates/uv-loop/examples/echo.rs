//! A TCP echo server on uv-loop, for the shared load generator (peers/go/loadgen), as
//! `schedlab serve <model> echo` and peers/node/serve_echo.js are:
//!
//!     cargo run --release -p uv-loop --example echo -- [--addr 127.0.0.1:0]
//!
//! Prints `PORT <n>` on stdout once it listens, then serves until killed. Each connection
//! echoes what it reads; when a write queues past the high-water mark the socket stops
//! reading until `drain` (Node's `pipe` does the same).

use std::io::Write;
use std::net::SocketAddr;

use uv_loop::net::{create_server, Socket};

fn echo(socket: Socket) {
    let writer = socket.clone();
    socket.on_data(move |chunk| {
        if !writer.write(chunk) {
            writer.pause();
            let resumer = writer.clone();
            writer.on_drain(move || resumer.resume());
        }
    });
    socket.on_error(|_| {});
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => match value.parse() {
                Ok(parsed) => addr = parsed,
                Err(error) => {
                    eprintln!("echo: bad --addr {value}: {error}");
                    std::process::exit(2);
                }
            },
            _ => {
                eprintln!("usage: echo [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let result = uv_loop::run(move || {
        let server = create_server(echo);
        match server.listen(addr) {
            Ok(bound) => {
                println!("PORT {}", bound.port());
                let _ = std::io::stdout().flush();
            }
            Err(error) => {
                eprintln!("echo: cannot listen on {addr}: {error}");
                std::process::exit(1);
            }
        }
    });
    if let Err(error) = result {
        eprintln!("echo: {error}");
        std::process::exit(1);
    }
}
