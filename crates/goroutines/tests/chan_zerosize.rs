//! After Go's `test/chan/zerosize.go`, which checks that channels of zero-sized types (`[0]byte`,
//! `struct{}`), buffered and unbuffered, can be made. Here they are also used: every value sent
//! is received, buffers of zero-sized values count their capacity exactly, and closing still
//! reports the end.

use goroutines::{chan, go, Receiver, Sender, TryRecvError, TrySendError};

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Empty;

fn runtime() -> goroutines::Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

#[test]
fn zero_sized_channels_can_be_made() {
    let _ = chan::<[u8; 0]>(0);
    let _ = chan::<[u8; 0]>(1);
    let _ = chan::<()>(0);
    let _ = chan::<()>(1);
    let _ = chan::<Empty>(0);
    let _ = chan::<Empty>(1);
}

/// A goroutine sends `n` copies of `v`; the caller receives exactly `n`, then sees the close.
fn pass_through<T>(cap: usize, v: T, n: usize)
where
    T: Copy + PartialEq + std::fmt::Debug + Send + 'static,
{
    let (tx, rx): (Sender<T>, Receiver<T>) = chan(cap);
    let sender = go(move || {
        for _ in 0..n {
            tx.send(v).unwrap();
        }
    });
    let mut got = 0;
    for x in rx.iter() {
        assert_eq!(x, v);
        got += 1;
    }
    sender.join().unwrap();
    assert_eq!(got, n, "cap {cap}");
}

#[test]
fn zero_sized_values_pass_through_buffered_and_unbuffered_channels() {
    let rt = runtime();
    rt.run(|| {
        for cap in [0, 1, 64] {
            pass_through(cap, (), 10_000);
            pass_through(cap, [0u8; 0], 10_000);
            pass_through(cap, Empty, 10_000);
        }
    });
}

#[test]
fn a_buffer_of_zero_sized_values_holds_exactly_its_capacity() {
    let rt = runtime();
    rt.run(|| {
        for cap in [1, 3, 1000] {
            let (tx, rx) = chan::<()>(cap);
            for _ in 0..cap {
                tx.try_send(()).unwrap();
            }
            assert_eq!(tx.len(), cap);
            assert!(matches!(tx.try_send(()), Err(TrySendError::Full(()))));
            tx.close();
            assert!(matches!(tx.try_send(()), Err(TrySendError::Closed(()))));
            for _ in 0..cap {
                assert_eq!(rx.try_recv(), Ok(()));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }
        let (tx, rx) = chan::<Empty>(0);
        assert!(matches!(tx.try_send(Empty), Err(TrySendError::Full(Empty))));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}
