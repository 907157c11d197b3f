//! probe: the shared vocabulary of schedlab.
//!
//! The five runtimes (goroutines, gil-threads, procpool, asyncio-loop, uv-loop) and the lab that
//! compares them speak to each other only through this crate: a process-wide monotonic
//! [`clock`], the [`result`] line every benchmark prints (`<model> <workload> <metric> <value>
//! <unit>`), scheduler events in [`trace`] (written out as Chrome Trace Event JSON for Perfetto),
//! and the thread, process and memory counts in [`threads`]. It depends on nothing but `std`.
//!
//! The contract every runtime relies on: when no recording is running, a trace site costs one
//! relaxed atomic load and a not-taken branch (`if probe::trace::enabled() { ... }`), so the
//! runtimes keep their record sites in their hottest paths and measure the same with tracing off
//! as without the sites at all.

#![forbid(unsafe_code)]

pub mod clock;
pub mod result;
pub mod threads;
pub mod trace;
