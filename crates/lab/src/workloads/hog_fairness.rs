//! hog-fairness: how long a CPU hog with no runtime call can keep a ticker from running, on one P.
//!
//! ```text
//!   P0 (the only P):  ticker  sleep(1 ms), sleep(1 ms), ...   records the worst lateness
//!                     hog     spins `spin` with no runtime call, then sets `done`
//! ```
//!
//! The ticker starts first and is asleep in its first tick when the hog starts, so every
//! millisecond of the spin is a millisecond the ticker wants to run. The hog's loop steps a
//! linear congruential generator through `std::hint::black_box` and reads the clock every 1,024
//! steps to stop after `spin`: no call into the runtime, so no scheduling point. A runtime that
//! cannot take the P away from such a loop (Go without asynchronous preemption; goroutines
//! before sysmon hands a hogged P to another thread) delays the ticker by the whole spin; Go's
//! signal-based preemption keeps the delay to tens of milliseconds. Either way the run ends after
//! about `spin`, since the hog stops on its own.
//!
//! Figure: `worst_tick_delay_ms`, the largest time beyond 1 ms that one `sleep(1 ms)` took. The
//! checksum is the goroutines that finished with their checks holding (2): the hog spun at least
//! `spin`, the ticker ticked at least once and no sleep returned early.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asyncio_loop::{Error, EventLoop};
use goroutines::{chan, go, sleep};

/// How long the benchmark's hog spins, in milliseconds (the workload's size).
pub const SPIN_MS: u64 = 2_000;

/// The ticker's period.
pub const TICK: Duration = Duration::from_millis(1);

/// The goroutines that finish with their checks holding: the hog and the ticker.
pub fn checksum(_spin_ms: u64) -> u64 {
    2
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// [`checksum`]'s value when both goroutines did their part.
    pub checksum: u64,
    /// The largest time beyond [`TICK`] that one tick took.
    pub worst_tick_delay: Duration,
    /// The median time beyond [`TICK`] of the ticks (nearest rank): with the two below, the
    /// event-loop delay Node's `monitorEventLoopDelay` reports, for any model.
    pub tick_delay_p50: Duration,
    /// The 99th percentile of the same (nearest rank).
    pub tick_delay_p99: Duration,
    /// Ticks the ticker made.
    pub ticks: u64,
    /// How long the hog spun.
    pub spun: Duration,
}

/// What the ticker saw, tick by tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ticks {
    /// The largest time beyond [`TICK`] that one wait took.
    pub worst: Duration,
    /// Waits made.
    pub ticks: u64,
    /// Whether a wait returned early.
    pub early: bool,
    /// Each wait's time beyond [`TICK`], in the order made.
    pub delays: Vec<Duration>,
}

impl Ticks {
    /// Records one wait of [`TICK`] that took `took`. A wait counts as early if it ended more
    /// than `slack` before [`TICK`] (the runtime's timer resolution: zero where the sleep cannot
    /// end early at all).
    pub fn record(&mut self, took: Duration, slack: Duration) {
        self.early |= took + slack < TICK;
        let delay = took.saturating_sub(TICK);
        self.worst = self.worst.max(delay);
        self.delays.push(delay);
        self.ticks += 1;
    }
}

/// The outcome of a run: the busy task took `spun` (`None`: it failed) and had to last `lasts`;
/// the ticker saw `ticks` (`None`: it failed), having started before the busy task if `started`.
pub fn outcome(
    spun: Option<Duration>,
    lasts: Duration,
    ticks: Option<Ticks>,
    started: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    if let Some(spun) = spun {
        outcome.spun = spun;
        outcome.checksum += u64::from(spun >= lasts);
    }
    if let Some(ticks) = ticks {
        let delay = |p| crate::bench::percentile(&ticks.delays, p).unwrap_or_default();
        outcome.tick_delay_p50 = delay(50.0);
        outcome.tick_delay_p99 = delay(99.0);
        outcome.worst_tick_delay = ticks.worst;
        outcome.ticks = ticks.ticks;
        outcome.checksum += u64::from(started && ticks.ticks > 0 && !ticks.early);
    }
    outcome
}

/// Runs the hog for `spin_ms` milliseconds beside the ticker on the goroutines runtime. Call it
/// from inside a goroutine of a runtime with one P (with more, the ticker simply runs elsewhere).
pub fn goroutines(spin_ms: u64) -> Outcome {
    let spin_for = Duration::from_millis(spin_ms);
    goroutines_beside_ticker(spin_for, move || spin(spin_for))
}

/// Spins for `duration` with no call into any runtime, stepping an LCG through `black_box` and
/// reading the clock every 1,024 steps; returns how long it spun.
pub fn spin(duration: Duration) -> Duration {
    spin_checking(duration, || {})
}

/// Spins for `duration` as a pure-Python loop does: a check point (`py.check()`, the eval-breaker
/// check of a loop back-edge) at every step, so a thread waiting for the GIL gets it after one
/// switch interval. Returns how long it spun.
pub fn spin_with_checks(py: gil_threads::Python<'_>, duration: Duration) -> Duration {
    spin_checking(duration, || py.check())
}

/// The spin: `check` at every LCG step.
#[inline]
fn spin_checking(duration: Duration, check: impl Fn()) -> Duration {
    let started = Instant::now();
    let mut x = 1u64;
    while started.elapsed() < duration {
        for _ in 0..1024 {
            check();
            x = black_box(
                x.wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407),
            );
        }
    }
    started.elapsed()
}

/// Runs `body` (which should take at least `lasts`, and returns how long it took) in a goroutine
/// beside the ticker, once the ticker is asleep in its first tick; stops the ticker when `body`
/// returns. Call it from inside a goroutine.
pub fn goroutines_beside_ticker(
    lasts: Duration,
    body: impl FnOnce() -> Duration + Send + 'static,
) -> Outcome {
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = chan::<()>(1);
    let ticker_done = Arc::clone(&done);
    let ticker = go(move || {
        let _ = started_tx.send(());
        let mut ticks = Ticks::default();
        loop {
            let t0 = Instant::now();
            sleep(TICK);
            ticks.record(t0.elapsed(), Duration::ZERO);
            if ticker_done.load(Ordering::Acquire) {
                return ticks;
            }
        }
    });
    // The ticker is asleep in its first tick before the body starts.
    let started = started_rx.recv().is_ok();
    let hog = go(move || {
        let spun = body();
        done.store(true, Ordering::Release);
        spun
    });
    let spun = hog.join().ok();
    outcome(spun, lasts, ticker.join().ok(), started)
}

/// The same on an asyncio-loop event loop of its own: the ticker task awaits `sleep(0.001)` in a
/// loop; `body` runs inside a second task, created after the ticker (so the ticker's first step,
/// which starts its first wait, runs first).
pub fn asyncio_loop_beside_ticker(
    lasts: Duration,
    body: impl FnOnce() -> Duration + 'static,
) -> Outcome {
    let tick = TICK.as_secs_f64();
    let measured = asyncio_loop::run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let done = Rc::new(Cell::new(false));
        let ticker_done = done.clone();
        let ticker = event_loop.create_task(async move {
            let mut ticks = Ticks::default();
            loop {
                let t0 = Instant::now();
                asyncio_loop::sleep(tick).await?;
                // The loop compares times to the nanosecond: allow it one microsecond.
                ticks.record(t0.elapsed(), Duration::from_micros(1));
                if ticker_done.get() {
                    return Ok(ticks);
                }
            }
        });
        let hog = event_loop.create_task(async move {
            let spun = body();
            done.set(true);
            Ok(spun)
        });
        let spun = hog.await?;
        Ok((spun, ticker.await?))
    });
    match measured {
        Ok((spun, ticks)) => outcome(Some(spun), lasts, Some(ticks), true),
        Err(_) => Outcome::default(),
    }
}

/// The same on a gil-threads interpreter: the ticker is a Python thread that `time.sleep`s 1 ms
/// (the GIL released while it sleeps) in a loop; `body` runs in a second Python thread, started
/// once the ticker is asleep in its first tick. Checksum 0 if a thread could not start.
pub fn gil_threads_beside_ticker(
    mode: gil_threads::GilMode,
    lasts: Duration,
    body: impl FnOnce(gil_threads::Python<'_>) -> Duration + Send + 'static,
) -> Outcome {
    let interpreter = gil_threads::Interpreter::new(mode);
    let done = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let ticker_done = Arc::clone(&done);
    let Ok(ticker) = interpreter.spawn(move |py| {
        let _ = started_tx.send(());
        let mut ticks = Ticks::default();
        loop {
            let t0 = Instant::now();
            py.sleep(TICK);
            ticks.record(t0.elapsed(), Duration::ZERO);
            if ticker_done.load(Ordering::Acquire) {
                return ticks;
            }
        }
    }) else {
        return Outcome::default();
    };
    let started = started_rx.recv().is_ok();
    let hog_done = Arc::clone(&done);
    let Ok(hog) = interpreter.spawn(move |py| {
        let spun = body(py);
        hog_done.store(true, Ordering::Release);
        spun
    }) else {
        // Stop the ticker before giving up, so no thread is left behind.
        done.store(true, Ordering::Release);
        let _ = ticker.join();
        return Outcome::default();
    };
    let spun = hog.join().ok();
    outcome(spun, lasts, ticker.join().ok(), started)
}

/// The resolution of Node's timers: libuv's loop clock counts milliseconds.
const UV_TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// The same on a uv-loop event loop of its own: the ticker is a chain of `setTimeout(tick, 1)`;
/// `body` runs in a `setImmediate` callback queued after the ticker's first timer, so the ticker
/// is waiting when it starts. Checksum 0 if the loop failed.
pub fn uv_loop_beside_ticker(
    lasts: Duration,
    body: impl FnOnce() -> Duration + 'static,
) -> Outcome {
    fn arm(ticks: Rc<RefCell<Ticks>>, done: Rc<Cell<bool>>) {
        let armed_at = Instant::now();
        uv_loop::set_timeout(
            move || {
                // Node's timers count whole milliseconds of libuv's cached clock: a 1 ms timer
                // armed late in one millisecond is due at the start of the next, so it may end
                // up to 1 ms early by a finer clock (why Node orders `setTimeout(0)` and
                // `setImmediate` in the main module either way).
                ticks
                    .borrow_mut()
                    .record(armed_at.elapsed(), UV_TIMER_RESOLUTION);
                if !done.get() {
                    arm(ticks, done);
                }
            },
            TICK.as_secs_f64() * 1e3,
        );
    }
    let ticks = Rc::new(RefCell::new(Ticks::default()));
    let done = Rc::new(Cell::new(false));
    let spun = Rc::new(Cell::new(None));
    let (ticks_in_loop, done_in_loop, spun_in_loop) = (ticks.clone(), done.clone(), spun.clone());
    let ran = uv_loop::run(move || {
        arm(ticks_in_loop, done_in_loop.clone());
        uv_loop::set_immediate(move || {
            spun_in_loop.set(Some(body()));
            done_in_loop.set(true);
        });
    });
    match ran {
        Ok(()) => outcome(spun.get(), lasts, Some(ticks.take()), true),
        Err(_) => Outcome::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_gives_the_ticks_delays_by_nearest_rank() {
        let mut ticks = Ticks::default();
        // 100 ticks late by 0..=99 µs, then one 50 ms late (the hog).
        for late in 0..100 {
            ticks.record(TICK + Duration::from_micros(late), Duration::ZERO);
        }
        ticks.record(TICK + Duration::from_millis(50), Duration::ZERO);
        let outcome = outcome(Some(TICK), TICK, Some(ticks), true);
        assert_eq!(outcome.ticks, 101);
        assert_eq!(outcome.tick_delay_p50, Duration::from_micros(50));
        assert_eq!(outcome.tick_delay_p99, Duration::from_micros(99));
        assert_eq!(outcome.worst_tick_delay, Duration::from_millis(50));
        assert_eq!(outcome.checksum, checksum(0));
    }
}
