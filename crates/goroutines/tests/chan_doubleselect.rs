//! Port of Go's `test/chan/doubleselect.go`: a sender selects over several unbuffered channels
//! for each value; if two cases of one select could both run, some value would be delivered twice.
//! Every value must reach the receiver exactly once. A second test widens it: several senders,
//! eight channels, several receivers.

use goroutines::{chan, go, select, Receiver, Sender};

/// Go's default `-n`.
const ITERATIONS: u32 = 100_000;

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Go's `sender`: sends each of `values` on one of four channels. Dropping the senders at the end
/// closes the channels (Go's deferred `close`s) once every clone is gone.
fn sender(
    values: std::ops::Range<u32>,
    c1: Sender<u32>,
    c2: Sender<u32>,
    c3: Sender<u32>,
    c4: Sender<u32>,
) {
    for i in values {
        select! {
            send(c1, i) -> r => r.unwrap(),
            send(c2, i) -> r => r.unwrap(),
            send(c3, i) -> r => r.unwrap(),
            send(c4, i) -> r => r.unwrap(),
        }
    }
}

/// Go's `mux`: forwards everything from `input` to `output`.
fn mux(output: Sender<u32>, input: Receiver<u32>) {
    for v in input.iter() {
        output.send(v).unwrap();
    }
}

/// Go's `recver`, which also checks that nothing is missing: every value arrives exactly once.
fn assert_each_once(mut got: Vec<u32>, total: u32) {
    assert_eq!(got.len(), total as usize, "values received");
    got.sort_unstable();
    for (i, v) in got.iter().enumerate() {
        assert_eq!(*v, i as u32, "value {v} duplicated or value {i} missing");
    }
}

#[test]
fn every_value_of_a_four_way_select_send_arrives_once() {
    let rt = runtime();
    let got = rt.run(|| {
        let (c1, r1) = chan(0);
        let (c2, r2) = chan(0);
        let (c3, r3) = chan(0);
        let (c4, r4) = chan(0);
        let (cmux, rmux) = chan(0);
        go(move || sender(0..ITERATIONS, c1, c2, c3, c4));
        for r in [r1, r2, r3, r4] {
            let cmux = cmux.clone();
            go(move || mux(cmux, r));
        }
        // The muxes hold the only senders on `cmux`: it closes when all four are done (Go closes
        // it after four `done` signals).
        drop(cmux);
        rmux.iter().collect::<Vec<u32>>()
    });
    assert_each_once(got, ITERATIONS);
}

/// Sends each of `values` on one of eight channels.
fn sender8(values: std::ops::Range<u32>, c: [Sender<u32>; 8]) {
    let [c0, c1, c2, c3, c4, c5, c6, c7] = c;
    for i in values {
        select! {
            send(c0, i) -> r => r.unwrap(),
            send(c1, i) -> r => r.unwrap(),
            send(c2, i) -> r => r.unwrap(),
            send(c3, i) -> r => r.unwrap(),
            send(c4, i) -> r => r.unwrap(),
            send(c5, i) -> r => r.unwrap(),
            send(c6, i) -> r => r.unwrap(),
            send(c7, i) -> r => r.unwrap(),
        }
    }
}

#[test]
fn every_value_of_several_senders_over_eight_channels_arrives_once() {
    const SENDERS: u32 = 4;
    const RECEIVERS: usize = 4;
    let rt = runtime();
    let got = rt.run(|| {
        let (txs, rxs): (Vec<Sender<u32>>, Vec<Receiver<u32>>) = (0..8).map(|_| chan(0)).unzip();
        let per_sender = ITERATIONS / SENDERS;
        for s in 0..SENDERS {
            let c: [Sender<u32>; 8] = std::array::from_fn(|i| txs[i].clone());
            go(move || sender8(s * per_sender..(s + 1) * per_sender, c));
        }
        drop(txs);
        let (cmux, rmux) = chan(0);
        for r in rxs {
            let cmux = cmux.clone();
            go(move || mux(cmux, r));
        }
        drop(cmux);
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let rmux = rmux.clone();
                go(move || rmux.iter().collect::<Vec<u32>>())
            })
            .collect();
        drop(rmux);
        receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect::<Vec<u32>>()
    });
    assert_each_once(got, ITERATIONS);
}
