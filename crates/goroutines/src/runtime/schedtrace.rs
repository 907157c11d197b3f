//! The scheduler trace: `GODEBUG=schedtrace=N` prints a summary of the scheduler to stderr every
//! N ms, and `scheddetail=1` adds one line per P, per M and per G (Go's `schedtrace` in proc.go,
//! called from `sysmon`; `parsegodebug` in runtime1.go reads the settings).
//!
//! ```text
//!   Builder::schedtrace / scheddetail, else GODEBUG  ->  Config { schedtrace_ns, scheddetail }
//!   sysmon round: ... retake ... if lasttrace + period <= now: lasttrace = now; print
//!   deadlock report, SIGQUIT dump: one detailed trace first, if either setting is on
//!
//!   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 needspinning=0
//!     idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 41 37 ]              (one line)
//! ```
//!
//! The format is Go 1.27's, field for field; where this runtime has no counterpart of a field,
//! the comment at the field says what is printed instead. Fields of Go's detailed M line that
//! have no counterpart here (`mallocing`, `throwing`, `preemptoff`, `locks`, `dying`) are left
//! out rather than printed as zeros that would mean nothing.
//!
//! Invariants:
//! - The trace reads the scheduler without stopping it, as Go's does ("even if we hold
//!   schedlock, most data can be changed concurrently"): every per-P, per-M and per-G field is
//!   one atomic load, so a line is a racy snapshot whose numbers need not add up. It takes no
//!   lock that a hot path takes: the scheduler lock only to copy the three thread counts it
//!   guards (Go holds `sched.lock` for the whole trace), and, for the detailed lines, the locks
//!   of `allm` (taken only when a thread starts) and `allgs` (taken only when a G is allocated).
//! - Off, it costs nothing on the scheduler's paths: sysmon tests one integer per round. The
//!   detailed lines need three fields that exist only for them (`P::gfreecnt`, `M::blocked`,
//!   `M::spinning_traced`), each written with a relaxed store where the scheduler already
//!   changes what it mirrors; the scheduler never reads them.
//! - A trace is formatted into one `String` and written to stderr with one call, so lines of
//!   two runtimes, or of the trace and a panic message, do not interleave.
//!
//! Timing: sysmon sleeps 20 us to 10 ms between rounds, so a period below 10 ms is kept only
//! while sysmon runs often (it backs off to 10 ms rounds once nothing needs it), and every line
//! comes up to one round late. While tracing, sysmon does not take its deep sleep when every P
//! is idle (as Go's does not), so an idle program keeps printing.
//!
//! Rejected: a trace thread of its own (Go's sysmon prints, and a thread more would show up in
//! the very counts it prints); stopping the world for an exact snapshot (this runtime has no
//! stop-the-world, and Go's trace does not stop it either).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use super::g::{G, G_DEAD, G_IDLE, G_RUNNABLE, G_RUNNING, G_WAITING};
use super::proc::{Sched, ThreadCounts, M, P_IDLE, P_RETAKING, P_RUNNING, P_SYSCALL};
use crate::loom::Ordering;

/// The environment variable the settings are read from, as Go's runtime reads them.
pub(crate) const ENV: &str = "GODEBUG";

/// The `GODEBUG` settings this runtime reads; the others are ignored, as Go ignores keys it
/// does not know.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Godebug {
    /// `schedtrace=N`: print a trace every N ms; 0 or less: never.
    pub(crate) schedtrace: i32,
    /// `scheddetail=1`: detailed traces (any value but 0 turns it on, as in Go).
    pub(crate) scheddetail: i32,
}

impl Godebug {
    /// Parses a `GODEBUG` value as Go does at start-up (`parsegodebug` with `seen == nil`):
    /// comma-separated `key=value` fields, left to right, a later field overriding an earlier
    /// one; a field without `=`, an unknown key, or a value that is not a decimal int32
    /// (`strconv.ParseInt(value, 10, 32)`) is skipped.
    pub(crate) fn parse(godebug: &str) -> Godebug {
        let mut settings = Godebug::default();
        for field in godebug.split(',') {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let slot = match key {
                "schedtrace" => &mut settings.schedtrace,
                "scheddetail" => &mut settings.scheddetail,
                _ => continue,
            };
            if let Ok(n) = value.parse::<i32>() {
                *slot = n;
            }
        }
        settings
    }

    /// The settings of the `GODEBUG` environment variable (none if it is unset; bytes that
    /// are not UTF-8 can only be in values, which then do not parse).
    pub(crate) fn from_env() -> Godebug {
        match std::env::var_os(ENV) {
            Some(value) => Godebug::parse(&value.to_string_lossy()),
            None => Godebug::default(),
        }
    }
}

/// sysmon's side (Go's `lasttrace` and the test at the end of each `sysmon` round): prints a
/// trace if the period has passed since the last one. The first round prints at once.
pub(crate) struct Tracer {
    period_ns: u64,
    lasttrace: Option<u64>,
}

impl Tracer {
    pub(crate) fn new(sched: &Sched) -> Tracer {
        Tracer {
            period_ns: sched.config.schedtrace_ns,
            lasttrace: None,
        }
    }

    /// Whether traces are printed at all (sysmon then skips its deep sleep).
    pub(crate) fn on(&self) -> bool {
        self.period_ns > 0
    }

    /// Called once per sysmon round with the round's clock.
    pub(crate) fn tick(&mut self, sched: &Sched, now: u64) {
        if !self.on()
            || self
                .lasttrace
                .is_some_and(|last| last + self.period_ns > now)
        {
            return;
        }
        self.lasttrace = Some(now);
        let threads = sched.thread_counts();
        print(&schedtrace(sched, sched.config.scheddetail, threads, now));
    }
}

/// Whether a fatal report (the deadlock error, the SIGQUIT dump) starts with a detailed trace:
/// when either setting is on, as Go's `startpanic_m` does.
pub(crate) fn on_fatal(sched: &Sched) -> bool {
    sched.config.schedtrace_ns > 0 || sched.config.scheddetail
}

/// Writes a trace to stderr in one call.
pub(crate) fn print(trace: &str) {
    let _ = std::io::stderr().lock().write_all(trace.as_bytes());
}

/// One trace of `sched` (Go's `schedtrace(detailed)`), with the thread counts read under the
/// scheduler lock by the caller (the deadlock check already holds it). `now` is the clock of
/// `probe::clock::now_ns`.
pub(crate) fn schedtrace(sched: &Sched, detailed: bool, threads: ThreadCounts, now: u64) -> String {
    let mut out = String::new();
    // threads: Go counts every M, its sysmon's included; here sysmon is a thread but not an M,
    // so it is added. The thread that built the runtime is a plain thread, not Go's M0.
    // needspinning: Go's flag asks a non-spinning M that is about to drop its P to spin
    // instead, for a spinner that found work but no idle P; here the M that stops spinning
    // re-checks every queue itself (`idle.rs`), so no M is ever asked and the flag is always 0.
    let _ = write!(
        out,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning=0 \
         idlethreads={} runqueue={}",
        now.saturating_sub(sched.started_ns) / 1_000_000,
        sched.ps.len(),
        sched.idle.npidle(),
        threads.mcount + 1,
        sched.idle.nmspinning(),
        threads.nmidle,
        sched.global_len(),
    );
    if detailed {
        // gcwaiting, stopwait: there is no collector and no stop-the-world, so nothing ever
        // waits for one.
        let _ = writeln!(
            out,
            " gcwaiting=false nmidlelocked={} stopwait=0 sysmonwait={}",
            threads.nmidlelocked,
            sched.sysmon_waiting.load(Ordering::Relaxed),
        );
    }
    // Each P's state word names the M that holds it (`proc::p_state`).
    let holders: Vec<Option<usize>> = sched
        .ps
        .iter()
        .map(|p| {
            let state = p.state.load(Ordering::Relaxed);
            let status = state & 0xff;
            (status != P_IDLE).then(|| (state >> 8).saturating_sub(1) as usize)
        })
        .collect();
    if !detailed {
        // Go's ring lengths, `runnext` not included.
        out.push_str(" [");
        for p in sched.ps.iter() {
            let _ = write!(out, " {}", p.runq.ring_len());
        }
        out.push_str(" ] schedticks=[ ");
        for p in sched.ps.iter() {
            let _ = write!(out, "{} ", p.schedtick.load(Ordering::Relaxed));
        }
        out.push_str("]\n");
        return out;
    }
    for (p, holder) in sched.ps.iter().zip(&holders) {
        let state = p.state.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "  P{}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} timerslen={}",
            p.id,
            go_p_status(state & 0xff),
            p.schedtick.load(Ordering::Relaxed),
            p.syscalltick.load(Ordering::Relaxed),
            Id(*holder),
            p.runq.ring_len(),
            p.gfreecnt.load(Ordering::Relaxed),
            p.timers.len(),
        );
    }
    write_ms_and_gs(sched, &holders, &mut out);
    out
}

/// Go's P status numbers (runtime2.go): `_Pidle` 0, `_Prunning` 1. A P whose M is inside
/// `blocking` prints 2, the number of Go's `_Psyscall` up to Go 1.25 (1.27 keeps such a P
/// `_Prunning` and marks the goroutine `_Gsyscall` instead; a goroutine here stays running in
/// `blocking`, so the P is where the fact is). A P that sysmon is deciding whether to retake
/// is still its M's: running.
fn go_p_status(status: u64) -> u64 {
    match status {
        P_IDLE => 0,
        P_RUNNING | P_RETAKING => 1,
        P_SYSCALL => 2,
        other => other,
    }
}

/// Go's G status numbers (runtime2.go). A G created and not yet run is on a run queue, which
/// Go calls `_Grunnable` (Go's `_Gidle` is a G not yet initialised, never seen on a queue).
fn go_g_status(status: u8) -> u8 {
    match status {
        G_IDLE | G_RUNNABLE => 1,
        G_RUNNING => 2,
        G_WAITING => 4,
        G_DEAD => 6,
        other => other,
    }
}

/// A G's fields read once, for both the M lines and the G lines.
struct GSnapshot {
    ptr: *const G,
    id: u64,
    status: u8,
    reason: &'static str,
    locked_m: *const M,
}

/// The detailed M lines (newest M first, as Go walks `allm`) and G lines (in `allgs` order).
fn write_ms_and_gs(sched: &Sched, holders: &[Option<usize>], out: &mut String) {
    let ms: Vec<Arc<M>> = sched.allm.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let gs: Vec<GSnapshot> = sched
        .allgs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|g| {
            // SAFETY: Gs are never freed while the runtime lives; only atomics are read.
            let gr = unsafe { g.as_ref() };
            let reason = gr.wait_reason();
            GSnapshot {
                ptr: g.as_ptr(),
                id: gr.id.load(Ordering::Relaxed),
                status: gr.status.load(Ordering::Acquire),
                reason: match reason {
                    super::g::WaitReason::None => "",
                    _ => reason.as_str(),
                },
                locked_m: gr.locked_m.load(Ordering::Relaxed),
            }
        })
        .collect();
    let goid: HashMap<*const G, u64> = gs.iter().map(|g| (g.ptr, g.id)).collect();
    let mid: HashMap<*const M, usize> = ms.iter().map(|m| (Arc::as_ptr(m), m.id)).collect();
    // Go's `g.m`: the M running the G, from the Ms' `curg`.
    let mut running_on: HashMap<*const G, usize> = HashMap::new();
    for m in ms.iter().rev() {
        let curg = m.curg.load(Ordering::Relaxed).cast_const();
        let curg_id = goid.get(&curg).copied();
        if curg_id.is_some() {
            running_on.insert(curg, m.id);
        }
        let p = holders.iter().position(|&h| h == Some(m.id));
        // Go's `m.lockedg`: the G whose `lockedm` is this M.
        let lockedg = gs
            .iter()
            .find(|g| g.locked_m == Arc::as_ptr(m))
            .map(|g| g.id);
        let _ = writeln!(
            out,
            "  M{}: p={} curg={} spinning={} blocked={} lockedg={}",
            m.id,
            Id(p),
            Id(curg_id),
            m.spinning_traced.load(Ordering::Relaxed),
            m.blocked.load(Ordering::Relaxed),
            Id(lockedg),
        );
    }
    for g in &gs {
        let _ = writeln!(
            out,
            "  G{}: status={}({}) m={} lockedm={}",
            g.id,
            go_g_status(g.status),
            g.reason,
            Id(running_on.get(&g.ptr).copied()),
            Id(mid.get(&g.locked_m).copied()),
        );
    }
}

/// An id, or Go's `nil`.
struct Id<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for Id<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(id) => id.fmt(f),
            None => f.write_str("nil"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Godebug;

    #[test]
    fn godebug_is_parsed_as_go_parses_it() {
        let parse = Godebug::parse;
        assert_eq!(parse(""), Godebug::default());
        assert_eq!(
            parse("schedtrace=20,scheddetail=1"),
            Godebug {
                schedtrace: 20,
                scheddetail: 1
            }
        );
        // Unknown keys, fields without '=', and values that are not int32s are skipped.
        assert_eq!(
            parse("gctrace=1,bogus,schedtrace=x,madvdontneed=1,schedtrace=5").schedtrace,
            5
        );
        assert_eq!(parse("schedtrace=99999999999").schedtrace, 0);
        // Left to right: the last setting wins, and a bad one keeps the one before.
        assert_eq!(parse("schedtrace=10,schedtrace=30").schedtrace, 30);
        assert_eq!(parse("schedtrace=10,schedtrace=").schedtrace, 10);
        assert_eq!(parse("schedtrace=+7").schedtrace, 7);
        assert_eq!(parse("schedtrace=-1").schedtrace, -1);
        // Keys are case-sensitive and not trimmed, as in Go.
        assert_eq!(parse("SCHEDTRACE=10, schedtrace=10").schedtrace, 0);
    }
}
