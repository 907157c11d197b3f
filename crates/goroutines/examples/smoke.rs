use goroutines::{chan, go, select, Builder};
use std::time::{Duration, Instant};

fn main() {
    let procs: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(2);
    // SAFETY: no thread-locals held across blocking calls.
    let rt = unsafe { Builder::new().procs(procs).build() }.unwrap();
    let v = rt.run(|| {
        let h = go(|| 40 + 2);
        h.join().unwrap()
    });
    println!("join: {v}");
    // ping-pong
    let n = 1_000_000;
    let t = Instant::now();
    rt.run(move || {
        let (ping_tx, ping_rx) = chan::<u32>(0);
        let (pong_tx, pong_rx) = chan::<u32>(0);
        let h = go(move || {
            for v in ping_rx.iter() {
                pong_tx.send(v).unwrap();
            }
        });
        for i in 0..n {
            ping_tx.send(i).unwrap();
            assert_eq!(pong_rx.recv().unwrap(), i);
        }
        drop(ping_tx);
        h.join().unwrap();
    });
    println!("pingpong: {:.1} ns/rt", t.elapsed().as_nanos() as f64 / n as f64);
    // spawn
    let t = Instant::now();
    rt.run(move || {
        let hs: Vec<_> = (0..1_000_000u64).map(|i| go(move || i)).collect();
        let s: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(s, 499999500000);
    });
    println!("spawn: {:.1} ns/g", t.elapsed().as_nanos() as f64 / 1e6);
    // sleep
    let t = Instant::now();
    rt.run(|| {
        let hs: Vec<_> = (0..10_000).map(|_| go(|| goroutines::sleep(Duration::from_millis(100)))).collect();
        for h in hs { h.join().unwrap(); }
    });
    println!("sleepers 10k: {:?}", t.elapsed());
    // select timeout
    rt.run(|| {
        let (_tx, rx) = chan::<u32>(0);
        let t = Instant::now();
        select! {
            recv(rx) -> v => panic!("{v:?}"),
            default(Duration::from_millis(50)) => println!("timeout after {:?}", t.elapsed()),
        }
    });
    // skynet
    fn skynet(c: goroutines::Sender<u64>, num: u64, size: u64) {
        if size == 1 { c.send(num).unwrap(); return; }
        let (tx, rx) = chan(0);
        for i in 0..10 {
            let tx = tx.clone();
            go(move || skynet(tx, num + i * (size / 10), size / 10));
        }
        let mut sum = 0;
        for _ in 0..10 { sum += rx.recv().unwrap(); }
        c.send(sum).unwrap();
    }
    let t = Instant::now();
    let s = rt.run(|| {
        let (tx, rx) = chan(0);
        go(move || skynet(tx, 0, 1_000_000));
        rx.recv().unwrap()
    });
    println!("skynet: {s} in {:?}", t.elapsed());
    println!("{:?}", rt.stats());
}
