//! Select fairness, after Go's `test/chan/select3.go` (the semantics of selects over ready
//! cases) and `TestSelectFairness` in Go's `runtime/chan_test.go`: when several cases are ready,
//! `select` picks one uniformly at random. With two always-ready cases each must win between 40%
//! and 60% of 100,000 selects (a fair coin lands outside that band with probability ~1e-230).

use goroutines::{chan, go, select};

const SELECTS: u32 = 100_000;

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

fn assert_even(first: u32, second: u32) {
    assert_eq!(first + second, SELECTS);
    let band = SELECTS * 2 / 5..=SELECTS * 3 / 5;
    assert!(
        band.contains(&first) && band.contains(&second),
        "unfair select: {first} vs {second} of {SELECTS}"
    );
}

#[test]
fn two_ready_receive_cases_are_chosen_evenly() {
    let rt = runtime();
    let (a, b) = rt.run(|| {
        let (a_tx, a_rx) = chan(1);
        let (b_tx, b_rx) = chan(1);
        a_tx.send(()).unwrap();
        b_tx.send(()).unwrap();
        let (mut a, mut b) = (0, 0);
        for _ in 0..SELECTS {
            // Both cases are ready at every select; the winner's channel is refilled.
            select! {
                recv(a_rx) -> v => {
                    v.unwrap();
                    a += 1;
                    a_tx.send(()).unwrap();
                }
                recv(b_rx) -> v => {
                    v.unwrap();
                    b += 1;
                    b_tx.send(()).unwrap();
                }
            }
        }
        (a, b)
    });
    assert_even(a, b);
}

#[test]
fn two_ready_send_cases_are_chosen_evenly() {
    let rt = runtime();
    let (a, b) = rt.run(|| {
        let (a_tx, a_rx) = chan(1);
        let (b_tx, b_rx) = chan(1);
        let (mut a, mut b) = (0, 0);
        for _ in 0..SELECTS {
            // Both buffers have room at every select; the winner's channel is emptied.
            select! {
                send(a_tx, 1u8) -> r => {
                    r.unwrap();
                    a += 1;
                    a_rx.recv().unwrap();
                }
                send(b_tx, 2u8) -> r => {
                    r.unwrap();
                    b += 1;
                    b_rx.recv().unwrap();
                }
            }
        }
        (a, b)
    });
    assert_even(a, b);
}

/// `TestSelectFairness` from Go's `runtime/chan_test.go`: a goroutine selects over two
/// never-ready and two always-ready channels and forwards what it got.
#[test]
fn ready_cases_among_never_ready_ones_are_chosen_evenly() {
    let rt = runtime();
    let (ones, twos) = rt.run(|| {
        let (c1_tx, c1) = chan(SELECTS as usize + 1);
        let (c2_tx, c2) = chan(SELECTS as usize + 1);
        for _ in 0..=SELECTS {
            c1_tx.send(1u8).unwrap();
            c2_tx.send(2u8).unwrap();
        }
        let (_c3_tx, c3) = chan::<u8>(0);
        let (_c4_tx, c4) = chan::<u8>(0);
        let (out_tx, out) = chan(0);
        let (done_tx, done) = chan::<()>(0);
        let forwarder = go(move || loop {
            let b = select! {
                recv(c3) -> b => b.unwrap(),
                recv(c4) -> b => b.unwrap(),
                recv(c1) -> b => b.unwrap(),
                recv(c2) -> b => b.unwrap(),
            };
            select! {
                send(out_tx, b) -> r => r.unwrap(),
                recv(done) -> _ => return,
            }
        });
        let (mut ones, mut twos) = (0, 0);
        for _ in 0..SELECTS {
            match out.recv().unwrap() {
                1 => ones += 1,
                2 => twos += 1,
                b => panic!("unexpected value {b} on channel"),
            }
        }
        drop(done_tx);
        forwarder.join().unwrap();
        (ones, twos)
    });
    assert_even(ones, twos);
}
