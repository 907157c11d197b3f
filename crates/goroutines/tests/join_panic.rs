//! A panicking goroutine: its join handle returns `Err(JoinError)` carrying the panic, the runtime
//! goes on running every other goroutine, and a panic in the main goroutine of `Runtime::run`
//! resumes on the caller, after which the runtime still works.

use std::panic::{catch_unwind, AssertUnwindSafe};

use goroutines::{chan, go, Runtime};

fn runtime() -> Runtime {
    // SAFETY: the test holds no thread-locals or std guards across blocking calls.
    unsafe { goroutines::Builder::new().procs(2).build() }.unwrap()
}

#[test]
fn join_returns_the_panic_message_as_an_error() {
    let rt = runtime();
    rt.run(|| {
        let formatted = go(|| -> u32 { panic!("boom {}", 7) }).join().unwrap_err();
        assert_eq!(formatted.message(), Some("boom 7"));
        assert!(
            formatted.to_string().contains("panicked: boom 7"),
            "{formatted}"
        );

        let literal = go(|| panic!("static boom")).join().unwrap_err();
        assert_eq!(literal.message(), Some("static boom"));
        assert_eq!(
            literal.into_panic().downcast_ref::<&str>(),
            Some(&"static boom")
        );

        let other = go(|| std::panic::panic_any(42u64)).join().unwrap_err();
        assert_eq!(other.message(), None);
        assert_eq!(other.into_panic().downcast_ref::<u64>(), Some(&42));
    });
}

#[test]
fn other_goroutines_keep_running_after_a_panic() {
    let rt = runtime();
    rt.run(|| {
        // A goroutine parked before the panic, and one that starts after it.
        let (tx, rx) = chan::<u32>(0);
        let parked = go(move || rx.recv().unwrap() + 1);
        let panicked = go(|| panic!("in the middle"));
        assert_eq!(
            panicked.join().unwrap_err().message(),
            Some("in the middle")
        );
        tx.send(41).unwrap();
        assert_eq!(parked.join().unwrap(), 42);

        let after: Vec<_> = (0..100u64).map(|i| go(move || i * i)).collect();
        let sum: u64 = after.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..100u64).map(|i| i * i).sum());

        // Many panics at once do not disturb the runtime either.
        let panics: Vec<_> = (0..100).map(|i| go(move || panic!("panic {i}"))).collect();
        for (i, h) in panics.into_iter().enumerate() {
            assert_eq!(
                h.join().unwrap_err().message(),
                Some(format!("panic {i}").as_str())
            );
        }
    });
}

#[test]
fn run_resumes_the_main_goroutine_panic_on_the_caller() {
    let rt = runtime();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.run(|| -> u32 { panic!("main goroutine says {}", "no") })
    }));
    let payload = caught.expect_err("the panic should reach the caller");
    // A message formatted at compile time is a `&str` payload, one formatted at run time a `String`.
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    assert_eq!(message, Some("main goroutine says no"));

    // The runtime is still usable.
    assert_eq!(rt.run(|| go(|| 5).join().unwrap()), 5);
}
