//! The reactions of one promise run in the order they were added (`PerformPromiseThen`
//! appends to the reaction list, `TriggerPromiseReactions` queues the list in order), however
//! many there are: src/node/promise.rs keeps the first apart from the rest, and takes both out
//! of the pending state in place when the promise settles. Node v20.20.2 prints the expected
//! order for the same program:
//!
//! ```js
//! const log = (s) => console.log(s);
//! let resolve, reject;
//! const p = new Promise((r) => { resolve = r; });
//! p.then((v) => log(`a ${v}`));
//! (async () => { const v = await p; log(`await ${v}`); })();
//! p.then((v) => log(`b ${v}`));
//! p.then((v) => log(`c ${v}`));
//! (async () => { const v = await p; log(`await2 ${v}`); })();
//! p.then((v) => log(`d ${v}`));
//! const q = new Promise((_, r) => { reject = r; });
//! q.catch((e) => log(`x ${e.message}`));
//! q.catch((e) => log(`y ${e.message}`));
//! q.catch((e) => log(`z ${e.message}`));
//! queueMicrotask(() => log('before'));
//! resolve(1);
//! reject(new Error('no'));
//! queueMicrotask(() => log('after'));
//! p.then((v) => log(`late ${v}`));
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::{call_async, queue_microtask, run, JsError, Promise};

#[test]
fn every_reaction_of_a_promise_runs_in_the_order_it_was_added() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let out = log.clone();
    let result = run(move || {
        let logger = |out: &Rc<RefCell<Vec<String>>>| {
            let out = out.clone();
            move |line: String| out.borrow_mut().push(line)
        };
        let (p, resolve) = Promise::<u32>::with_resolvers();
        let then = |name: &'static str| {
            let push = logger(&out);
            p.then(move |v| push(format!("{name} {v}")));
        };
        let awaits = |name: &'static str| {
            let (push, p) = (logger(&out), p.clone());
            call_async(async move {
                let v = p.await?;
                push(format!("{name} {v}"));
                Ok(())
            });
        };
        then("a");
        awaits("await");
        then("b");
        then("c");
        awaits("await2");
        then("d");
        let (q, reject) = Promise::<u32>::with_resolvers();
        for name in ["x", "y", "z"] {
            let push = logger(&out);
            q.catch(move |error| {
                push(format!("{name} {}", error.error_message()));
                0
            });
        }
        let push = logger(&out);
        queue_microtask(move || push("before".into()));
        resolve.resolve(1);
        reject.reject(JsError::message("no"));
        let push = logger(&out);
        queue_microtask(move || push("after".into()));
        then("late");
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        *log.borrow(),
        [
            "before", "a 1", "await 1", "b 1", "c 1", "await2 1", "d 1", "x no", "y no", "z no",
            "after", "late 1"
        ]
    );
}
