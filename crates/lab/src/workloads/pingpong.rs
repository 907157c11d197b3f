//! pingpong: the latency of one round trip between two goroutines.
//!
//! ```text
//!   main ──ping (unbuffered)──> echo
//!   main <──pong (unbuffered)── echo        × rounds; main sends 0, 1, 2, ... and sums the echoes
//! ```
//!
//! Each round trip is two rendezvous on unbuffered channels, so each costs two park/ready pairs
//! unless the scheduler hands the value over directly. Run as `pingpong-1p` on one P, both
//! goroutines share a thread and each round trip is pure user-space switching.

use asyncio_loop::{Error, EventLoop, Queue};
use goroutines::{chan, go};

/// Round trips the benchmark runs.
pub const ROUNDS: u64 = 1_000_000;

/// Round trips the asyncio-loop benchmark runs (CPython's asyncio takes ~16 µs for one).
pub const ASYNCIO_ROUNDS: u64 = 100_000;

/// The sum of the echoed values over `rounds` round trips: 0 + 1 + ... + (rounds - 1).
pub fn checksum(rounds: u64) -> u64 {
    super::sum_below(rounds)
}

/// Runs `rounds` round trips on the goroutines runtime and returns the sum of the echoes. Call
/// it from inside a goroutine.
pub fn goroutines(rounds: u64) -> u64 {
    let (ping_tx, ping_rx) = chan::<u64>(0);
    let (pong_tx, pong_rx) = chan::<u64>(0);
    let echo = go(move || {
        for value in ping_rx.iter() {
            if pong_tx.send(value).is_err() {
                break;
            }
        }
    });
    let mut sum = 0;
    for i in 0..rounds {
        if ping_tx.send(i).is_err() {
            break;
        }
        match pong_rx.recv() {
            Ok(value) => sum += value,
            Err(_) => break,
        }
    }
    drop(ping_tx);
    let _ = echo.join();
    sum
}

/// Runs `rounds` round trips between two asyncio-loop tasks over two unbounded `Queue`s
/// (`maxsize=0`, as in the CPython peer) in a new event loop (`asyncio.run`) and returns the sum
/// of the echoes. `None` on the ping queue ends the echo task.
pub fn asyncio_loop(rounds: u64) -> u64 {
    asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::Cancelled)?;
        let ping: Queue<Option<u64>> = Queue::new(0);
        let pong: Queue<u64> = Queue::new(0);
        let echo = event_loop.create_task({
            let (ping, pong) = (ping.clone(), pong.clone());
            async move {
                while let Some(value) = ping.get().await? {
                    pong.put(value).await?;
                }
                Ok(())
            }
        });
        let mut sum = 0;
        for i in 0..rounds {
            ping.put(Some(i)).await?;
            sum += pong.get().await?;
        }
        ping.put(None).await?;
        echo.await?;
        Ok(sum)
    })
    .unwrap_or(0)
}

/// Runs `rounds` round trips between two uv-loop async functions over promises (as
/// `peers/node/bench.js`): `main` resolves the echo's current promise with `i` and awaits a
/// reply promise the echo resolves. Returns the sum of the replies; -1 (here `None`) ends the
/// echo.
pub fn uv_loop(rounds: u64) -> u64 {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use uv_loop::{call_async, Promise, Resolver};

    type Slot<T> = Rc<RefCell<Option<Resolver<T>>>>;
    let ping: Slot<Option<u64>> = Rc::new(RefCell::new(None));
    let pong: Slot<u64> = Rc::new(RefCell::new(None));
    let sum = Rc::new(Cell::new(0));
    let total = sum.clone();
    let result = uv_loop::run(move || {
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
    if result.is_ok() {
        sum.get()
    } else {
        0
    }
}
