//! Background CPU load inside a model, written as each model's users write CPU-bound work, for
//! the echo experiment's loaded phase.
//!
//! ```text
//!   goroutines    `workers` goroutines computing cpu-parallel chunks, no yield point
//!   gil-threads   `workers` Python threads computing them, a check point at every step
//!   asyncio-loop  `workers` tasks computing a chunk, then `await sleep(0)`, as asyncio's docs ask
//!   uv-loop       `workers` chains of immediates, one chunk per callback
//! ```
//!
//! Each worker waits (asleep, in its model's way) until [`Switch::on`], then computes chunks
//! (about 2 ms each) until [`Switch::stop`]. A chunk is the cpu-parallel workload's.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::workloads::cpu_parallel::{chunk, lcg, ITERATIONS_PER_CHUNK};

/// Turns the load on, then off.
#[derive(Clone, Default)]
pub struct Switch {
    on: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

/// How often a waiting worker looks at the switch.
const POLL: Duration = Duration::from_millis(1);

impl Switch {
    /// Starts the load.
    pub fn on(&self) {
        self.on.store(true, Ordering::Release);
    }

    /// Ends the load.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// `workers` goroutines; call inside the runtime.
pub fn goroutines(switch: &Switch, workers: usize) {
    for worker in 0..workers {
        let switch = switch.clone();
        drop(goroutines::go(move || {
            while !switch.is_on() {
                goroutines::sleep(POLL);
            }
            let mut c = worker as u64;
            while !switch.is_stopped() {
                std::hint::black_box(chunk(c));
                c += 1;
            }
        }));
    }
}

/// `workers` Python threads of `interpreter`.
pub fn gil_threads(switch: &Switch, workers: usize, interpreter: &gil_threads::Interpreter) {
    for _ in 0..workers {
        let switch = switch.clone();
        let _ = interpreter.spawn(move |py| {
            while !switch.is_on() {
                py.sleep(POLL);
            }
            let mut x = 1u64;
            while !switch.is_stopped() {
                for _ in 0..ITERATIONS_PER_CHUNK {
                    py.check();
                    x = std::hint::black_box(lcg(x));
                }
            }
        });
    }
}

/// `workers` tasks on the running asyncio-loop loop.
pub fn asyncio_loop(switch: &Switch, workers: usize) {
    let Some(event_loop) = asyncio_loop::EventLoop::running() else {
        return;
    };
    for worker in 0..workers {
        let switch = switch.clone();
        drop(event_loop.create_task(async move {
            while !switch.is_on() {
                asyncio_loop::sleep(POLL.as_secs_f64()).await?;
            }
            let mut c = worker as u64;
            while !switch.is_stopped() {
                std::hint::black_box(chunk(c));
                c += 1;
                asyncio_loop::sleep(0.0).await?;
            }
            Ok(())
        }));
    }
}

/// `workers` chains of immediates on the running uv-loop; call inside the loop's main.
pub fn uv_loop(switch: &Switch, workers: usize) {
    fn wait(switch: Switch, c: Rc<Cell<u64>>) {
        uv_loop::set_timeout(
            move || {
                if switch.is_on() {
                    work(switch, c);
                } else {
                    wait(switch, c);
                }
            },
            POLL.as_secs_f64() * 1e3,
        );
    }
    fn work(switch: Switch, c: Rc<Cell<u64>>) {
        if switch.is_stopped() {
            return;
        }
        std::hint::black_box(chunk(c.get()));
        c.set(c.get() + 1);
        uv_loop::set_immediate(move || work(switch, c));
    }
    for worker in 0..workers {
        wait(switch.clone(), Rc::new(Cell::new(worker as u64)));
    }
}
