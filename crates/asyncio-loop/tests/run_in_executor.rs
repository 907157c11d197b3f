//! `run_in_executor`: the result comes back through `call_soon_threadsafe` and wakes a loop
//! blocked in its selector; threads start lazily, up to `min(32, cpus + 4)`, and idle ones are
//! reused (`ThreadPoolExecutor._adjust_thread_count`); a panic becomes an error; a job cancelled
//! before it starts never runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use asyncio_loop::{run, Error, EventLoop, ExecutorPanic};

#[test]
fn the_result_wakes_a_loop_blocked_with_nothing_else_to_do() {
    let started = Instant::now();
    let (value, thread_name) = run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        assert_eq!(
            event_loop.default_executor_threads(),
            (0, 0),
            "no thread before use"
        );
        let future = event_loop.run_in_executor(|| {
            std::thread::sleep(Duration::from_millis(50));
            (42, std::thread::current().name().map(str::to_owned))
        })?;
        // No timer, no fd: the loop blocks in epoll_wait until the job's result arrives.
        future.await
    })
    .expect("the job completes");
    let elapsed = started.elapsed();
    assert_eq!(value, 42);
    assert_eq!(thread_name.as_deref(), Some("asyncio_0"));
    // Wide band: the job sleeps 50 ms; the loop must not have slept in 1 s re-checks.
    assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
}

#[test]
fn threads_start_lazily_and_idle_ones_are_reused() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let max = 32.min(cpus + 4);
        // Three jobs that can only finish together: the pool must start three threads.
        let barrier = Arc::new(Barrier::new(3));
        let jobs = (0..3)
            .map(|i| {
                let barrier = barrier.clone();
                event_loop.run_in_executor(move || {
                    barrier.wait();
                    i * 10
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        assert_eq!(event_loop.default_executor_threads(), (3, max));
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await?);
        }
        assert_eq!(results, [0, 10, 20]);
        // Finished workers left idle tokens: the next job reuses one, no new thread.
        let again = event_loop.run_in_executor(|| 7)?.await?;
        assert_eq!(again, 7);
        assert_eq!(event_loop.default_executor_threads(), (3, max));
        Ok(())
    })
    .expect("the jobs complete");
}

#[test]
fn a_panic_becomes_an_error_and_the_pool_goes_on() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let failed = event_loop
            .run_in_executor(|| -> u32 { panic!("job failed on purpose") })?
            .await;
        match failed {
            Err(Error::Exception(error)) => {
                let panic = error
                    .downcast_ref::<ExecutorPanic>()
                    .expect("an ExecutorPanic");
                assert_eq!(panic.0, "job failed on purpose");
            }
            other => panic!(
                "expected the panic as an error, got {:?}",
                other.map(|_| ())
            ),
        }
        assert_eq!(event_loop.run_in_executor(|| 5u32)?.await?, 5);
        Ok(())
    })
    .expect("the loop goes on");
}

#[test]
fn a_job_cancelled_before_it_starts_never_runs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let ran_counter = ran.clone();
    run(async move {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (_, max) = {
            // Start the pool to learn max_workers.
            event_loop.run_in_executor(|| ())?.await?;
            event_loop.default_executor_threads()
        };
        // Occupy every worker until the barrier opens (max jobs plus this thread).
        let barrier = Arc::new(Barrier::new(max + 1));
        let busy = (0..max)
            .map(|_| {
                let barrier = barrier.clone();
                event_loop.run_in_executor(move || {
                    barrier.wait();
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let counter = ran_counter.clone();
        let queued = event_loop.run_in_executor(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })?;
        assert!(queued.cancel());
        // Let the cancellation's done-callback run, then free the workers.
        asyncio_loop::sleep(0.0).await?;
        asyncio_loop::sleep(0.0).await?;
        barrier.wait();
        for job in busy {
            job.await?;
        }
        // One more job after the queued one: when it is done, the queued one was skipped.
        event_loop.run_in_executor(|| ())?.await?;
        Ok(())
    })
    .expect("the jobs complete");
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// `asyncio.to_thread`: the function runs on a pool thread, not the loop's, and its result or
/// panic comes back as `run_in_executor`'s would.
#[test]
fn to_thread_runs_on_a_pool_thread() {
    run(async {
        let loop_thread = std::thread::current().id();
        let ran_on = asyncio_loop::to_thread(|| std::thread::current().id()).await?;
        assert_ne!(ran_on, loop_thread);
        let failed = asyncio_loop::to_thread(|| -> u8 { panic!("to_thread failed on purpose") }).await;
        assert!(
            matches!(&failed, Err(Error::Exception(error)) if error.downcast_ref::<ExecutorPanic>().is_some()),
            "expected an ExecutorPanic"
        );
        Ok(())
    })
    .expect("the loop goes on");
}
