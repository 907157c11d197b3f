//! `GODEBUG=schedtrace=N` makes sysmon print Go's scheduler summary line to stderr every N ms,
//! and `scheddetail=1` adds Go's per-P, per-M and per-G lines; unknown `GODEBUG` keys are
//! ignored, and without `schedtrace` nothing is printed. `Builder::schedtrace` overrides the
//! environment. With either setting on, the SIGQUIT dump starts with a detailed trace, as Go's
//! crash output does (the deadlock report's is checked in tests/deadlock.rs).
//!
//! Each scenario runs in a child process with its own environment (this binary re-run for one
//! test, through tests/signal_common), and the parent parses what the child printed. The child
//! cannot see its own trace, so it runs for a fixed time; the bands on what is printed in that
//! time are wide, for a loaded machine.

mod signal_common;

use std::time::{Duration, Instant};

use goroutines::{chan, go, goroutine_id, lock_os_thread, sleep, yield_now, Builder, Runtime};
use signal_common::{disable_core_dumps, is_child, run_child_with_env, Ended, CHILD_LIMIT};

/// The trace period the children run with, in ms.
const PERIOD_MS: u64 = 20;
/// How long a child keeps its goroutines busy.
const WORK: Duration = Duration::from_millis(200);

/// Runs `test` as a child with `GODEBUG` set to `godebug` (or removed) and `GOMAXPROCS=3`;
/// asserts that it exited successfully.
fn run_traced_child(test: &str, godebug: Option<&str>) -> Ended {
    let ended = run_child_with_env(
        test,
        &[("GODEBUG", godebug), ("GOMAXPROCS", Some("3"))],
        CHILD_LIMIT,
        |_, _| {},
    );
    assert!(ended.status.success(), "{}", ended.describe());
    ended
}

/// Builds a runtime from the environment (the child's `GODEBUG` and `GOMAXPROCS`) and prints
/// its number of Ps as `procs N`.
fn runtime_from_env() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    let rt = unsafe { Builder::new().build() }.unwrap();
    println!("procs {}", rt.procs());
    rt
}

/// Keeps four goroutines yielding for `WORK`.
fn busy_work(rt: &Runtime) {
    rt.run(|| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                go(|| {
                    let start = Instant::now();
                    while start.elapsed() < WORK {
                        yield_now();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
}

/// The number the child printed after `label `.
fn printed(ended: &Ended, label: &str) -> u64 {
    ended
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("the child printed no {label}: {}", ended.describe()))
}

/// One summary line, parsed.
#[derive(Debug)]
struct Summary {
    ms: u64,
    /// `gomaxprocs`, `idleprocs`, `threads`, `spinningthreads`, `needspinning`, `idlethreads`,
    /// `runqueue`, in Go's order.
    fields: Vec<u64>,
    /// The bracketed per-P run queue lengths (absent in a detailed trace).
    runq: Option<Vec<u64>>,
    schedticks: Option<Vec<u64>>,
    /// The rest of a detailed header line.
    detail: Option<String>,
}

const SUMMARY_KEYS: [&str; 7] = [
    "gomaxprocs",
    "idleprocs",
    "threads",
    "spinningthreads",
    "needspinning",
    "idlethreads",
    "runqueue",
];

/// Parses `SCHED <t>ms: gomaxprocs=.. .. runqueue=.. [ a b ] schedticks=[ x y ]`, or the
/// detailed header (`.. runqueue=.. gcwaiting=..`); None if `line` is not in that format.
fn parse_summary(line: &str) -> Option<Summary> {
    let (ms, rest) = line.strip_prefix("SCHED ")?.split_once("ms: ")?;
    let mut words = rest.split(' ');
    let mut fields = Vec::new();
    for key in SUMMARY_KEYS {
        let value = words.next()?.strip_prefix(key)?.strip_prefix('=')?;
        fields.push(value.parse().ok()?);
    }
    let rest: Vec<&str> = words.collect();
    if rest.first() != Some(&"[") {
        return Some(Summary {
            ms: ms.parse().ok()?,
            fields,
            runq: None,
            schedticks: None,
            detail: Some(rest.join(" ")),
        });
    }
    let close = rest.iter().position(|w| *w == "]")?;
    let runq = rest[1..close]
        .iter()
        .map(|w| w.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    if rest.get(close + 1) != Some(&"schedticks=[") || rest.last() != Some(&"]") {
        return None;
    }
    let schedticks = rest[close + 2..rest.len() - 1]
        .iter()
        .map(|w| w.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some(Summary {
        ms: ms.parse().ok()?,
        fields,
        runq: Some(runq),
        schedticks: Some(schedticks),
        detail: None,
    })
}

/// Every `SCHED` line of `stderr`, parsed; fails on one that does not parse.
fn summaries(stderr: &str) -> Vec<Summary> {
    stderr
        .lines()
        .filter(|l| l.starts_with("SCHED"))
        .map(|l| parse_summary(l).unwrap_or_else(|| panic!("malformed trace line {l:?}")))
        .collect()
}

/// The values of `line`'s `key=value` words, in order, if its keys are `keys`.
fn values<'a>(line: &'a str, prefix: &str, keys: &[&str]) -> Option<Vec<&'a str>> {
    let words: Vec<&str> = line.strip_prefix(prefix)?.split(' ').collect();
    if words.len() != keys.len() {
        return None;
    }
    words
        .iter()
        .zip(keys)
        .map(|(w, k)| w.strip_prefix(k)?.strip_prefix('='))
        .collect()
}

/// Checks the summary lines of a child that ran `busy_work` with `procs` Ps.
fn check_summaries(ended: &Ended) {
    let procs = printed(ended, "procs");
    let lines = summaries(&ended.stderr);
    assert!(
        lines.len() >= 3,
        "{} trace lines in {} ms at one per {PERIOD_MS} ms: {}",
        lines.len(),
        WORK.as_millis(),
        ended.describe()
    );
    for line in &lines {
        assert_eq!(line.fields[0], procs, "gomaxprocs: {line:?}");
        assert!(line.fields[1] <= procs, "idleprocs: {line:?}");
        // sysmon at least (the first trace may come before any M has started).
        assert!(line.fields[2] >= 1, "threads: {line:?}");
        assert_eq!(line.runq.as_ref().map(Vec::len), Some(procs as usize));
        assert_eq!(line.schedticks.as_ref().map(Vec::len), Some(procs as usize));
    }
    for pair in lines.windows(2) {
        assert!(
            pair[1].ms >= pair[0].ms + PERIOD_MS - 1,
            "traces closer than {PERIOD_MS} ms: {:?} then {:?}",
            pair[0],
            pair[1]
        );
        let (before, after) = (&pair[0].schedticks, &pair[1].schedticks);
        assert!(
            before
                .iter()
                .flatten()
                .zip(after.iter().flatten())
                .all(|(b, a)| a >= b),
            "a P's schedtick went back: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    assert!(
        lines.iter().any(|l| l.fields[2] >= 2),
        "no trace counts an M: {}",
        ended.describe()
    );
    let last = lines.last().unwrap();
    assert!(
        last.schedticks.iter().flatten().sum::<u64>() > 0,
        "no P ever scheduled: {last:?}"
    );
}

#[test]
fn schedtrace_prints_go_summary_lines_every_period() {
    let name = "schedtrace_prints_go_summary_lines_every_period";
    if is_child(name) {
        busy_work(&runtime_from_env());
        return;
    }
    let ended = run_traced_child(name, Some(&format!("schedtrace={PERIOD_MS}")));
    check_summaries(&ended);
    assert!(
        !ended.stderr.contains("\n  P0: "),
        "detailed lines without scheddetail: {}",
        ended.describe()
    );
}

#[test]
fn unknown_godebug_keys_are_ignored() {
    let name = "unknown_godebug_keys_are_ignored";
    if is_child(name) {
        busy_work(&runtime_from_env());
        return;
    }
    let godebug = format!("gctrace=1,nosuchkey=7,bogus,schedtrace={PERIOD_MS},madvdontneed=1");
    check_summaries(&run_traced_child(name, Some(&godebug)));
}

#[test]
fn nothing_is_printed_without_schedtrace() {
    let name = "nothing_is_printed_without_schedtrace";
    if is_child(name) {
        busy_work(&runtime_from_env());
        return;
    }
    // scheddetail alone prints no periodic trace, as in Go.
    for godebug in [None, Some("schedtrace=0"), Some("scheddetail=1,gctrace=1")] {
        let ended = run_traced_child(name, godebug);
        assert!(
            !ended.stderr.contains("SCHED"),
            "GODEBUG={godebug:?}: {}",
            ended.describe()
        );
    }
}

#[test]
fn the_builder_setting_overrides_godebug() {
    let name = "the_builder_setting_overrides_godebug";
    if is_child(name) {
        let period = Duration::from_millis(printed_env_period());
        // SAFETY: the test holds no thread-locals or std guards across blocking calls.
        let rt = unsafe { Builder::new().schedtrace(period).build() }.unwrap();
        println!("procs {}", rt.procs());
        busy_work(&rt);
        return;
    }
    // Off in the builder, on in GODEBUG: nothing.
    let ended = run_child_with_env(
        name,
        &[
            ("GODEBUG", Some("schedtrace=5")),
            ("GOMAXPROCS", Some("3")),
            (PERIOD_ENV, Some("0")),
        ],
        CHILD_LIMIT,
        |_, _| {},
    );
    assert!(ended.status.success(), "{}", ended.describe());
    assert!(!ended.stderr.contains("SCHED"), "{}", ended.describe());
    // On in the builder, unset in GODEBUG: traces.
    let ended = run_child_with_env(
        name,
        &[
            ("GODEBUG", None),
            ("GOMAXPROCS", Some("3")),
            (PERIOD_ENV, Some(&PERIOD_MS.to_string())),
        ],
        CHILD_LIMIT,
        |_, _| {},
    );
    assert!(ended.status.success(), "{}", ended.describe());
    check_summaries(&ended);
}

/// In the child of `the_builder_setting_overrides_godebug`: the period to build with, in ms.
const PERIOD_ENV: &str = "GOROUTINES_TEST_PERIOD_MS";

fn printed_env_period() -> u64 {
    std::env::var(PERIOD_ENV).unwrap().parse().unwrap()
}

/// Starts a goroutine parked on a channel receive and one locked to its thread and parked the
/// same way, prints their ids (`receiver N`, `locked N`), and returns once the runtime's dump
/// shows both parked. The channels are never closed.
fn park_a_receiver_and_a_locked_goroutine(rt: &Runtime) {
    let (tx, rx) = chan::<()>(0);
    std::mem::forget(tx);
    let locked_rx = rx.clone();
    rt.go(move || {
        println!("receiver {}", goroutine_id().unwrap());
        let _ = rx.recv();
    });
    rt.go(move || {
        lock_os_thread();
        println!("locked {}", goroutine_id().unwrap());
        let _ = locked_rx.recv();
    });
    let deadline = Instant::now() + CHILD_LIMIT;
    while rt.goroutine_dump().matches("[chan receive").count() < 2 {
        assert!(Instant::now() < deadline, "never parked");
        std::thread::yield_now();
    }
}

/// The detailed lines of the last trace of `stderr` that has a line for goroutine `id`.
fn last_detailed_trace(stderr: &str, goid: u64) -> Vec<&str> {
    let lines: Vec<&str> = stderr.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("SCHED"))
        .collect();
    starts
        .iter()
        .rev()
        .map(|&start| {
            lines[start..]
                .iter()
                .enumerate()
                .take_while(|&(i, l)| i == 0 || l.starts_with("  "))
                .map(|(_, l)| *l)
                .collect::<Vec<&str>>()
        })
        .find(|trace| trace.iter().any(|l| l.starts_with(&format!("  G{goid}: "))))
        .unwrap_or_else(|| panic!("no trace lists goroutine {goid}:\n{stderr}"))
}

/// Checks a detailed trace of a child with `procs` Ps that parked `receiver` and the locked
/// goroutine `locked` on channel receives.
fn check_detailed_trace(trace: &[&str], procs: u64, receiver: u64, locked: u64) {
    let all = trace.join("\n");
    let header = parse_summary(trace[0]).unwrap_or_else(|| panic!("header:\n{all}"));
    assert_eq!(header.fields[0], procs, "gomaxprocs:\n{all}");
    let detail = header.detail.unwrap_or_default();
    let keys = ["gcwaiting", "nmidlelocked", "stopwait", "sysmonwait"];
    assert!(
        values(&detail, "", &keys).is_some(),
        "detailed header fields:\n{all}"
    );
    // One line per P, in order, with Go's fields.
    let p_keys = [
        "status",
        "schedtick",
        "syscalltick",
        "m",
        "runqsize",
        "gfreecnt",
        "timerslen",
    ];
    let ps: Vec<&str> = trace
        .iter()
        .copied()
        .filter(|l| l.starts_with("  P"))
        .collect();
    assert_eq!(ps.len() as u64, procs, "P lines:\n{all}");
    for (i, line) in ps.iter().enumerate() {
        let values = values(line, &format!("  P{i}: "), &p_keys)
            .unwrap_or_else(|| panic!("P line {line:?}:\n{all}"));
        assert!(["0", "1", "2"].contains(&values[0]), "P status {line:?}");
        assert!(
            values[3] == "nil" || values[3].parse::<u64>().is_ok(),
            "{line:?}"
        );
    }
    // M lines: Go's fields that this runtime has.
    let m_keys = ["p", "curg", "spinning", "blocked", "lockedg"];
    let ms: Vec<Vec<&str>> = trace
        .iter()
        .filter(|l| l.starts_with("  M"))
        .map(|l| {
            let (_, fields) = l.split_once(": ").unwrap();
            values(fields, "", &m_keys).unwrap_or_else(|| panic!("M line {l:?}:\n{all}"))
        })
        .collect();
    assert!(!ms.is_empty(), "no M lines:\n{all}");
    // The receiver: waiting (Go's 4) on a channel receive, on no M.
    let receiver_line = format!("  G{receiver}: status=4(chan receive) m=nil lockedm=nil");
    assert!(
        trace.contains(&receiver_line.as_str()),
        "no {receiver_line:?}:\n{all}"
    );
    // The locked goroutine names its M, and that M names it back, parked on its note.
    let prefix = format!("  G{locked}: status=4(chan receive) m=nil lockedm=");
    let lockedm = trace
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?}:\n{all}"));
    assert!(lockedm.parse::<u64>().is_ok(), "lockedm={lockedm}:\n{all}");
    let m_line = trace
        .iter()
        .find(|l| l.starts_with(&format!("  M{lockedm}: ")))
        .unwrap_or_else(|| panic!("no line for M{lockedm}:\n{all}"));
    assert!(
        m_line.ends_with(&format!(" blocked=true lockedg={locked}")),
        "{m_line:?}:\n{all}"
    );
}

#[test]
fn scheddetail_adds_p_m_and_g_lines() {
    let name = "scheddetail_adds_p_m_and_g_lines";
    if is_child(name) {
        let rt = runtime_from_env();
        // Goroutines that ran and returned leave their Gs on their Ps' free lists.
        rt.run(|| {
            let done: Vec<_> = (0..10).map(|_| go(|| ())).collect();
            done.into_iter().for_each(|g| g.join().unwrap());
        });
        park_a_receiver_and_a_locked_goroutine(&rt);
        // Traces come from sysmon, which this process cannot watch: give it several periods,
        // every P idle and the main goroutine asleep (a timer).
        rt.run(|| sleep(Duration::from_millis(10 * PERIOD_MS)));
        return;
    }
    let ended = run_traced_child(name, Some(&format!("schedtrace={PERIOD_MS},scheddetail=1")));
    let procs = printed(&ended, "procs");
    let receiver = printed(&ended, "receiver");
    let locked = printed(&ended, "locked");
    let trace = last_detailed_trace(&ended.stderr, receiver);
    check_detailed_trace(&trace, procs, receiver, locked);
    // An idle program keeps printing: sysmon skips its deep sleep while tracing.
    assert!(
        summaries(&ended.stderr).len() >= 3,
        "too few traces while idle: {}",
        ended.describe()
    );
    // The freed Gs and the sleep's timer show in the P lines of some trace.
    let p_field_sum = |key: &str| -> u64 {
        ended
            .stderr
            .lines()
            .filter(|l| l.starts_with("  P"))
            .flat_map(|l| l.split(' '))
            .filter_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
            .sum()
    };
    assert!(p_field_sum("gfreecnt") > 0, "{}", ended.describe());
    assert!(p_field_sum("timerslen") > 0, "{}", ended.describe());
    // The main goroutine, asleep in `run`, shows up with Go's wait reason.
    assert!(
        ended.stderr.contains("status=4(sleep) m=nil lockedm=nil"),
        "{}",
        ended.describe()
    );
}

#[test]
fn sigquit_dump_starts_with_a_detailed_trace() {
    let name = "sigquit_dump_starts_with_a_detailed_trace";
    if is_child(name) {
        disable_core_dumps();
        let rt = runtime_from_env();
        park_a_receiver_and_a_locked_goroutine(&rt);
        println!("ready");
        rt.run(|| sleep(Duration::from_secs(3600)));
        unreachable!("SIGQUIT ends the process");
    }
    // scheddetail alone: no periodic trace, but the crash output has one (Go's `startpanic_m`).
    let mut ready = false;
    let ended = run_child_with_env(
        name,
        &[
            ("GODEBUG", Some("scheddetail=1")),
            ("GOMAXPROCS", Some("3")),
        ],
        CHILD_LIMIT,
        |line, pid| {
            if line == "ready" && !ready {
                ready = true;
                // SAFETY: `kill` has no memory-safety preconditions; `pid` is our child, not
                // yet reaped (it is printing, so it has not exited).
                unsafe { libc::kill(pid, libc::SIGQUIT) };
            }
        },
    );
    assert!(ready, "the child never got ready: {}", ended.describe());
    assert_eq!(ended.status.code(), Some(2), "{}", ended.describe());
    assert!(
        ended.stderr.starts_with("SCHED "),
        "the dump does not start with a trace: {}",
        ended.describe()
    );
    assert_eq!(
        ended.stderr.matches("SCHED ").count(),
        1,
        "{}",
        ended.describe()
    );
    let trace: Vec<&str> = ended
        .stderr
        .lines()
        .take_while(|l| !l.starts_with("SIGQUIT: quit"))
        .collect();
    let receiver = printed(&ended, "receiver");
    let locked = printed(&ended, "locked");
    check_detailed_trace(&trace, printed(&ended, "procs"), receiver, locked);
    assert!(
        ended.stderr.contains("\nSIGQUIT: quit\n"),
        "{}",
        ended.describe()
    );
}
