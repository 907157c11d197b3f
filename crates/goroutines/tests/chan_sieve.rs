//! Ports of Go's `test/chan/sieve1.go` and `test/chan/sieve2.go`: prime sieves built from
//! goroutines and channels. Go checks the primes below 100; these check the first 100 primes.
//!
//! Go's sieves run forever and are abandoned when `main` returns. Here every goroutine holds a
//! clone of a `done` sender and stops when a send or receive fails, so that when the test drops its
//! receiver the whole pipeline unwinds, and `done` closing proves every goroutine exited.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use goroutines::{chan, go, select, Receiver, Sender};

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// The first `n` primes by trial division: the expected output.
fn first_primes(n: usize) -> Vec<u64> {
    let mut primes = Vec::with_capacity(n);
    let mut candidate = 2u64;
    while primes.len() < n {
        if primes.iter().all(|p| candidate % p != 0) {
            primes.push(candidate);
        }
        candidate += 1;
    }
    primes
}

// sieve1.go: a linear chain of divisibility filters.

/// Sends 2, 3, 4, ... on `ch` (Go's `Generate`).
fn generate(ch: Sender<u64>, _done: Sender<()>) {
    for i in 2.. {
        if ch.send(i).is_err() {
            return;
        }
    }
}

/// Copies `input` to `output`, removing multiples of `prime` (Go's `Filter`).
fn filter(input: Receiver<u64>, output: Sender<u64>, prime: u64, _done: Sender<()>) {
    for i in input.iter() {
        if i % prime != 0 && output.send(i).is_err() {
            return;
        }
    }
}

/// Daisy-chains filters: each prime read from the chain starts a new filter (Go's `Sieve`).
fn sieve1(primes: Sender<u64>, done: Sender<()>) {
    let (tx, mut ch) = chan(0);
    let d = done.clone();
    go(move || generate(tx, d));
    loop {
        let Ok(prime) = ch.recv() else { return };
        if primes.send(prime).is_err() {
            return;
        }
        let (tx1, ch1) = chan(0);
        let d = done.clone();
        go(move || filter(ch, tx1, prime, d));
        ch = ch1;
    }
}

#[test]
fn sieve1_chain_of_filters_yields_the_first_100_primes() {
    let rt = runtime();
    let got = rt.run(|| {
        let (done_tx, done_rx) = chan::<()>(0);
        let (primes_tx, primes_rx) = chan(0);
        go(move || sieve1(primes_tx, done_tx));
        let got: Vec<u64> = (0..100).map(|_| primes_rx.recv().unwrap()).collect();
        drop(primes_rx);
        // Every goroutine holds a `done` sender: the channel closes once all have exited.
        assert!(done_rx.recv().is_err());
        got
    });
    assert_eq!(got, first_primes(100));
}

// sieve2.go: Eratosthenes over odd candidates, with a heap merging the multiples of each prime.

/// Odd numbers from 5 (Go's `odds`).
fn odds(done: Sender<()>) -> Receiver<u64> {
    let (out, rx) = chan(50);
    go(move || {
        let _done = done;
        let mut n = 5;
        while out.send(n).is_ok() {
            n += 2;
        }
    });
    rx
}

/// Odd multiples of `p` from `p*p` (Go's `multiples`).
fn multiples(p: u64, done: Sender<()>) -> Receiver<u64> {
    let (out, rx) = chan(10);
    go(move || {
        let _done = done;
        let mut n = p * p;
        while out.send(n).is_ok() {
            n += 2 * p;
        }
    });
    rx
}

/// A channel and the value last read from it, ordered by that value, smallest first in a
/// `BinaryHeap` (Go's `PeekCh` in a `PeekChHeap`).
struct PeekCh {
    head: u64,
    ch: Receiver<u64>,
}

impl PartialEq for PeekCh {
    fn eq(&self, other: &Self) -> bool {
        self.head == other.head
    }
}
impl Eq for PeekCh {}
impl PartialOrd for PeekCh {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PeekCh {
    fn cmp(&self, other: &Self) -> Ordering {
        other.head.cmp(&self.head)
    }
}

/// Reads the next value of `c` into its head and returns the old head; None once it is closed.
fn next(c: &mut PeekCh) -> Option<u64> {
    c.ch.recv().ok().map(|v| std::mem::replace(&mut c.head, v))
}

/// A channel that forwards to `out` through an unbounded buffer, so that sending to it never
/// blocks for long (Go's `sendproxy`; the ring buffer is a `VecDeque`).
fn sendproxy(out: Sender<u64>, done: Sender<()>) -> Sender<u64> {
    let (proxy, proxy_rx) = chan(10);
    go(move || {
        let _done = done;
        let mut buffer = VecDeque::new();
        loop {
            match buffer.front().copied() {
                // Buffer empty: output disabled (Go's nil channel case).
                None => match proxy_rx.recv() {
                    Ok(e) => buffer.push_back(e),
                    Err(_) => return,
                },
                Some(e) => select! {
                    recv(proxy_rx) -> v => match v {
                        Ok(e) => buffer.push_back(e),
                        Err(_) => return,
                    },
                    send(out, e) -> r => match r {
                        Ok(()) => {
                            buffer.pop_front();
                        }
                        Err(_) => return,
                    },
                },
            }
        }
    });
    proxy
}

/// The primes, in order (Go's `Sieve`).
fn sieve2(done: Sender<()>) -> Receiver<u64> {
    let (out, out_rx) = chan(10);
    out.send(2).unwrap();
    out.send(3).unwrap();

    // Every composite to eliminate, in increasing order.
    let (composites, composites_rx) = chan(50);

    // The feedback loop.
    let (primes, primes_rx) = chan(10);
    primes.send(3).unwrap();

    // Merge the multiples of each prime into `composites`.
    let d = done.clone();
    go(move || {
        let mut h = BinaryHeap::new();
        let mut min = 15;
        loop {
            let Ok(p) = primes_rx.recv() else { return };
            let m = multiples(p, d.clone());
            let Ok(head) = m.recv() else { return };
            while min < head {
                if composites.send(min).is_err() {
                    return;
                }
                let Some(mut minchan) = h.pop() else { return };
                let Some(old) = next(&mut minchan) else {
                    return;
                };
                min = old;
                h.push(minchan);
            }
            while min == head {
                let Some(mut minchan) = h.pop() else { return };
                let Some(old) = next(&mut minchan) else {
                    return;
                };
                min = old;
                h.push(minchan);
            }
            if composites.send(head).is_err() {
                return;
            }
            let Ok(head) = m.recv() else { return };
            h.push(PeekCh { head, ch: m });
        }
    });

    // Sieve the composites out of the candidates.
    go(move || {
        // The merger reads primes much more slowly than they are found; without the proxy's
        // buffering this goroutine would block on `primes` and deadlock (as sieve2.go explains).
        let primes = sendproxy(primes, done.clone());
        let candidates = odds(done.clone());
        let _done = done;
        let Ok(mut p) = candidates.recv() else { return };
        loop {
            let Ok(c) = composites_rx.recv() else { return };
            while p < c {
                if primes.send(p).is_err() || out.send(p).is_err() {
                    return;
                }
                let Ok(next) = candidates.recv() else { return };
                p = next;
            }
            if p == c {
                let Ok(next) = candidates.recv() else { return };
                p = next;
            }
        }
    });

    out_rx
}

#[test]
fn sieve2_merged_multiples_yield_the_first_100_primes() {
    let rt = runtime();
    let got = rt.run(|| {
        let (done_tx, done_rx) = chan::<()>(0);
        let primes = sieve2(done_tx);
        let got: Vec<u64> = (0..100).map(|_| primes.recv().unwrap()).collect();
        drop(primes);
        assert!(done_rx.recv().is_err());
        got
    });
    assert_eq!(got, first_primes(100));
}
