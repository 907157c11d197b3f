//! Port of Go's `test/chan/fifo.go`: channels are FIFOs, both through a buffer and through a
//! chain of goroutines each waiting its turn to receive from one unbuffered channel.

use goroutines::{chan, go, Receiver, Sender};

/// Go's `N`.
const N: u32 = 10;

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Go's `AsynchFifo`: values sent into a buffered channel come out in order.
#[test]
fn buffered_channel_is_fifo() {
    let rt = runtime();
    rt.run(|| {
        let (tx, rx) = chan(N as usize);
        for i in 0..N {
            tx.send(i).unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.recv().unwrap(), i, "bad receive");
        }
    });
}

/// Go's `Chain`: waits for its turn on `input`, receives `val` from `ch`, passes the turn on.
fn chain(ch: Receiver<u32>, val: u32, input: Receiver<u32>, output: Sender<u32>) {
    input.recv().expect("turn");
    assert_eq!(ch.recv().expect("value"), val);
    output.send(1).expect("pass the turn");
}

/// Go's `SynchFifo`: a daisy chain of goroutines reads the values of an unbuffered channel in
/// sequence; the chain finishes only if each one received exactly the value sent in its turn.
#[test]
fn unbuffered_channel_is_fifo_through_a_chain_of_goroutines() {
    let rt = runtime();
    rt.run(|| {
        let (ch_tx, ch) = chan(0);
        let (start, mut input) = chan(0);
        let mut links = Vec::new();
        for i in 0..N {
            let (output, next) = chan(0);
            let ch = ch.clone();
            links.push(go(move || chain(ch, i, input, output)));
            input = next;
        }
        // Only the links receive now, so that if one fails the sends below fail instead of
        // blocking forever.
        drop(ch);
        start.send(0).unwrap();
        for i in 0..N {
            if ch_tx.send(i).is_err() {
                break;
            }
        }
        let end = input.recv();
        for link in links {
            if let Err(e) = link.join() {
                panic!("{e}");
            }
        }
        assert_eq!(end, Ok(1));
    });
}
