//! Two CPU-bound threads and a sleeper under the GIL, then the account of who held it.
//!
//!     cargo run --release -p gil-threads --example account [on|off]

use std::time::{Duration, Instant};

use gil_threads::{GilMode, Interpreter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode: GilMode = std::env::args().nth(1).as_deref().unwrap_or("on").parse()?;
    let interpreter = Interpreter::new(mode);
    let started = Instant::now();
    let mut workers = Vec::new();
    for seed in 0..2u64 {
        workers.push(interpreter.spawn(move |py| {
            let mut x = seed;
            for _ in 0..100_000_000u64 {
                py.check(); // a back-edge of a pure-Python loop
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
            }
            x
        })?);
    }
    let sleeper = interpreter.spawn_named("sleeper", |py| {
        let mut late = Duration::ZERO;
        for _ in 0..20 {
            let asked = Instant::now();
            py.sleep(Duration::from_millis(1));
            late += asked.elapsed() - Duration::from_millis(1);
        }
        late / 20
    })?;
    for worker in workers {
        worker.join()?;
    }
    let late = sleeper.join()?;
    println!(
        "wall {:.0} ms; a 1 ms sleep woke {:.1} ms late on average",
        started.elapsed().as_secs_f64() * 1e3,
        late.as_secs_f64() * 1e3
    );
    print!("{}", interpreter.account());
    Ok(())
}
