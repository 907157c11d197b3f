//! Plain OS threads and goroutines on the same channels: threads feed goroutines and drain them,
//! a thread and a goroutine play ping-pong, and four threads start goroutines with `Runtime::go`
//! at the same time. A blocked thread parks itself; a blocked goroutine parks only itself.

use std::sync::Barrier;

use goroutines::{chan, go, Runtime};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

#[test]
fn threads_feed_goroutines_and_drain_them_on_shared_channels() {
    const THREADS: u64 = 4;
    const WORKERS: usize = 4;
    const PER_THREAD: u64 = 1_000;
    let rt = runtime();
    let (requests, requests_rx) = chan::<u64>(0);
    let (replies_tx, replies) = chan::<u64>(0);
    // Started from this thread, which the runtime then knows may still feed goroutines.
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (requests_rx, replies_tx) = (requests_rx.clone(), replies_tx.clone());
            rt.go(move || {
                for v in requests_rx.iter() {
                    replies_tx.send(2 * v).unwrap();
                }
            })
        })
        .collect();
    drop((requests_rx, replies_tx));
    let received: Vec<Vec<u64>> = std::thread::scope(|s| {
        for t in 0..THREADS {
            let requests = requests.clone();
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    requests.send(t * PER_THREAD + i).unwrap();
                }
            });
        }
        drop(requests);
        let drains: Vec<_> = (0..THREADS)
            .map(|_| {
                let replies = replies.clone();
                s.spawn(move || replies.iter().collect::<Vec<u64>>())
            })
            .collect();
        drains.into_iter().map(|d| d.join().unwrap()).collect()
    });
    for w in workers {
        w.join().unwrap();
    }
    let mut all: Vec<u64> = received.into_iter().flatten().collect();
    all.sort_unstable();
    let expected: Vec<u64> = (0..THREADS * PER_THREAD).map(|v| 2 * v).collect();
    assert_eq!(all, expected);
}

#[test]
fn a_thread_and_a_goroutine_play_ping_pong() {
    const ROUNDS: u64 = 10_000;
    let rt = runtime();
    let (ping, ping_rx) = chan::<u64>(0);
    let (pong_tx, pong) = chan::<u64>(0);
    let echo = rt.go(move || {
        for v in ping_rx.iter() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    std::thread::spawn(move || {
        for i in 0..ROUNDS {
            ping.send(2 * i).unwrap();
            assert_eq!(pong.recv(), Ok(2 * i + 1));
        }
    })
    .join()
    .unwrap();
    echo.join().unwrap();
}

#[test]
fn four_threads_start_goroutines_at_once() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 1_000;
    let rt = runtime();
    let start = Barrier::new(THREADS as usize);
    let sums: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (rt, start) = (&rt, &start);
                s.spawn(move || {
                    start.wait();
                    let handles: Vec<_> = (0..PER_THREAD)
                        .map(|i| {
                            let v = t * PER_THREAD + i;
                            // Each goroutine also starts one of its own.
                            rt.go(move || go(move || v).join().unwrap())
                        })
                        .collect();
                    handles.into_iter().map(|h| h.join().unwrap()).sum()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (t, sum) in (0..THREADS).zip(sums) {
        let expected: u64 = (t * PER_THREAD..(t + 1) * PER_THREAD).sum();
        assert_eq!(sum, expected, "thread {t}");
    }
}
