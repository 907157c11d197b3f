//! Pipelines: three stages of 100 goroutines each carry 10,000 values, and every value arrives
//! transformed exactly once; then the same pipeline fed and drained by plain OS threads, which
//! block on the same channels the goroutines use.

use goroutines::{chan, go, JoinHandle, Receiver, Runtime, Sender};

const WORKERS: usize = 100;
const VALUES: u64 = 10_000;

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

/// Sum over the inputs `0..VALUES` of what the pipeline makes of each: `2x + 1`.
fn expected_sum() -> u64 {
    (0..VALUES).map(|x| 2 * x + 1).sum()
}

/// Starts a stage of `WORKERS` goroutines with `spawn`, each applying `f` to what it receives
/// from `input` and sending the result on. The output closes when every worker has finished.
fn stage(
    spawn: &dyn Fn(Box<dyn FnOnce() + Send>) -> JoinHandle<()>,
    input: Receiver<u64>,
    f: fn(u64) -> u64,
) -> (Receiver<u64>, Vec<JoinHandle<()>>) {
    let (tx, rx) = chan(0);
    let workers = (0..WORKERS)
        .map(|_| {
            let (input, tx) = (input.clone(), tx.clone());
            spawn(Box::new(move || {
                for v in input.iter() {
                    tx.send(f(v)).unwrap();
                }
            }))
        })
        .collect();
    (rx, workers)
}

/// Builds double -> increment -> the third stage, whose workers sum what they get and send
/// (count, sum) to `totals`. Returns the pipeline's input and the workers of all three stages.
fn pipeline(
    spawn: &dyn Fn(Box<dyn FnOnce() + Send>) -> JoinHandle<()>,
    totals: Sender<(u64, u64)>,
) -> (Sender<u64>, Vec<JoinHandle<()>>) {
    let (input, source) = chan(0);
    let (doubled, mut workers) = stage(spawn, source, |x| 2 * x);
    let (incremented, more) = stage(spawn, doubled, |x| x + 1);
    workers.extend(more);
    for _ in 0..WORKERS {
        let (incremented, totals) = (incremented.clone(), totals.clone());
        workers.push(spawn(Box::new(move || {
            let (count, sum) = incremented.iter().fold((0, 0), |(n, s), v| (n + 1, s + v));
            totals.send((count, sum)).unwrap();
        })));
    }
    (input, workers)
}

fn assert_totals(totals: Receiver<(u64, u64)>) {
    let (mut count, mut sum, mut reports) = (0, 0, 0);
    for (n, s) in totals.iter() {
        count += n;
        sum += s;
        reports += 1;
    }
    assert_eq!(reports, WORKERS, "third-stage workers reporting");
    assert_eq!(count, VALUES, "values out of the pipeline");
    assert_eq!(sum, expected_sum());
}

#[test]
fn three_stages_of_100_goroutines_carry_every_value_once() {
    let rt = runtime();
    rt.run(|| {
        let (totals_tx, totals) = chan(WORKERS);
        let (input, workers) = pipeline(&|f| go(f), totals_tx);
        let feeder = go(move || {
            for v in 0..VALUES {
                input.send(v).unwrap();
            }
        });
        // Dropping the input (when the feeder ends) closes each stage in turn; `totals` closes
        // when the last third-stage worker reports.
        assert_totals(totals);
        feeder.join().unwrap();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn plain_threads_feed_and_drain_a_goroutine_pipeline() {
    let rt = runtime();
    // Started from this thread, which the runtime then knows may still feed goroutines.
    let (totals_tx, totals) = chan(0);
    let (input, workers) = pipeline(&|f| rt.go(f), totals_tx);
    std::thread::scope(|s| {
        let producers: Vec<_> = (0..2)
            .map(|half| {
                let input = input.clone();
                s.spawn(move || {
                    for v in (half..VALUES).step_by(2) {
                        input.send(v).unwrap();
                    }
                })
            })
            .collect();
        drop(input);
        let consumer = s.spawn(move || assert_totals(totals));
        for p in producers {
            p.join().unwrap();
        }
        consumer.join().unwrap();
    });
    for w in workers {
        w.join().unwrap();
    }
}
