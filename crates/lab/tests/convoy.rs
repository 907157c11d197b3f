//! The convoy workload's runners: each returns the workload's checksum, alone and beside its
//! CPU-bound task, at two sizes, and no round trip beats the echo server's own sleep. (The
//! procpool runner needs a binary whose workers can serve its task: the essay's tests run it
//! through `schedlab __experiment procpool convoy`.)

use goroutines::Builder;
use lab::workloads::convoy::{self, Outcome, SERVER_DELAY};
use lab::workloads::Workload;

fn check(model: &str, run: impl Fn(u64, bool) -> std::io::Result<Outcome>) {
    for rounds in [1, 7] {
        for spinner in [false, true] {
            let outcome = run(rounds, spinner)
                .unwrap_or_else(|e| panic!("{model}, {rounds} rounds, spinner {spinner}: {e}"));
            assert_eq!(
                outcome.checksum,
                Workload::Convoy.checksum(rounds),
                "{model}, {rounds} rounds, spinner {spinner}"
            );
            assert!(
                outcome.per_round_trip >= SERVER_DELAY,
                "{model}: {outcome:?}"
            );
        }
    }
}

#[test]
fn goroutines_echoes_every_round_trip_on_one_p_and_on_two() {
    for procs in [1, 2] {
        // SAFETY: the runner holds no thread-locals and no std guards across blocking calls.
        let runtime = unsafe { Builder::new().procs(procs).build() }.expect("runtime");
        check("goroutines", |rounds, spinner| {
            runtime.run(move || convoy::goroutines(rounds, spinner))
        });
    }
}

#[test]
fn gil_threads_echoes_every_round_trip() {
    check("gil-threads", |rounds, spinner| {
        convoy::gil_threads(rounds, 0.005, spinner)
    });
}

#[test]
fn asyncio_loop_under_the_gil_echoes_every_round_trip_and_gives_the_hook_back() {
    check("asyncio-loop", convoy::asyncio_loop);
    // The runner set a select hook for its own loop only: this thread has none left.
    assert!(asyncio_loop::set_select_hook(None).is_none());
}

#[test]
fn uv_loop_echoes_every_round_trip() {
    check("uv-loop", convoy::uv_loop);
}

#[test]
fn an_echo_server_nobody_connected_to_ends_when_dropped() {
    let server = convoy::EchoServer::start().expect("listen");
    assert!(server.addr().ip().is_loopback());
    drop(server);
}
