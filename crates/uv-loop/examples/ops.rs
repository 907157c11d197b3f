//! The loop-bound benchmark bodies (crates/lab/src/workloads/{immediate_chain,promise_chain,
//! pingpong}.rs, uv-loop runners) at a size given on the command line, for instruction counts
//! that no load on the machine can move:
//!
//!     cargo build --release -p uv-loop --example ops
//!     valgrind --tool=callgrind target/release/examples/ops immediate-chain 200000
//!
//! Prints the workload's checksum and the wall time per operation of the one run.

use std::cell::{Cell, RefCell};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use uv_loop::{call_async, Promise, Resolver};

fn immediate_chain(callbacks: u64) -> u64 {
    fn step(index: u64, callbacks: u64, sum: Rc<Cell<u64>>) {
        sum.set(sum.get() + index);
        if index + 1 < callbacks {
            uv_loop::set_immediate(move || step(index + 1, callbacks, sum));
        }
    }
    let sum = Rc::new(Cell::new(0));
    let first = sum.clone();
    let ran = uv_loop::run(move || {
        uv_loop::set_immediate(move || step(0, callbacks, first));
    });
    if ran.is_ok() {
        sum.get()
    } else {
        0
    }
}

fn promise_chain(reactions: u64) -> u64 {
    fn step(index: u64, reactions: u64, resolved: Promise<()>, sum: Rc<Cell<u64>>) {
        sum.set(sum.get() + index);
        if index + 1 < reactions {
            let next = resolved.clone();
            resolved.then(move |()| step(index + 1, reactions, next, sum));
        }
    }
    let sum = Rc::new(Cell::new(0));
    let first = sum.clone();
    let ran = uv_loop::run(move || {
        let resolved = Promise::resolve(());
        let next = resolved.clone();
        resolved.then(move |()| step(0, reactions, next, first));
    });
    if ran.is_ok() {
        sum.get()
    } else {
        0
    }
}

fn pingpong(rounds: u64) -> u64 {
    type Slot<T> = Rc<RefCell<Option<Resolver<T>>>>;
    let ping: Slot<Option<u64>> = Rc::new(RefCell::new(None));
    let pong: Slot<u64> = Rc::new(RefCell::new(None));
    let sum = Rc::new(Cell::new(0));
    let total = sum.clone();
    let ran = uv_loop::run(move || {
        let (echo_ping, echo_pong) = (ping.clone(), pong.clone());
        call_async(async move {
            loop {
                let (promise, resolver) = Promise::with_resolvers();
                *echo_ping.borrow_mut() = Some(resolver);
                let Some(value) = promise.await? else {
                    return Ok(());
                };
                let reply = echo_pong.borrow_mut().take();
                if let Some(reply) = reply {
                    reply.resolve(value);
                }
            }
        });
        call_async(async move {
            let mut sum = 0;
            for i in 0..rounds {
                let (reply, resolver) = Promise::with_resolvers();
                *pong.borrow_mut() = Some(resolver);
                let request = ping.borrow_mut().take();
                if let Some(request) = request {
                    request.resolve(Some(i));
                }
                sum += reply.await?;
            }
            let request = ping.borrow_mut().take();
            if let Some(request) = request {
                request.resolve(None);
            }
            total.set(sum);
            Ok(())
        });
    });
    if ran.is_ok() {
        sum.get()
    } else {
        0
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ops immediate-chain|promise-chain|pingpong COUNT";
    let [workload, count] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let body: fn(u64) -> u64 = match workload.as_str() {
        "immediate-chain" => immediate_chain,
        "promise-chain" => promise_chain,
        "pingpong" => pingpong,
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let count: u64 = match count.parse() {
        Ok(count) if count > 0 => count,
        _ => {
            eprintln!("ops: COUNT must be a positive integer, not {count:?}\n{usage}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let checksum = body(count);
    let elapsed = started.elapsed();
    let expected = count * (count - 1) / 2;
    println!(
        "{workload} {count} checksum {checksum} ({}) {:.1} ns/op",
        if checksum == expected { "ok" } else { "WRONG" },
        elapsed.as_nanos() as f64 / count as f64
    );
    if checksum == expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
