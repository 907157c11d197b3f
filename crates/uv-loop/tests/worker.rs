//! Workers: messages both ways in order, each worker on its own thread and loop, the parent
//! kept alive until the worker's exit, and a worker's uncaught error reported at its exit.

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::{run, set_timeout, throw, worker, JsError};

#[test]
fn messages_round_trip_in_order_and_exit_arrives() {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = log.clone();
    let parent_thread = std::thread::current().id();
    run(move || {
        let w = worker::spawn(move |port: worker::ParentPort<u64, (u64, bool)>| {
            let reply = port.clone();
            port.on_message(move |n| {
                if n == u64::MAX {
                    reply.close();
                    return;
                }
                let other_thread = std::thread::current().id() != parent_thread;
                reply.post_message((n * n, other_thread));
            });
        })
        .expect("spawn");
        let received = sink.clone();
        let worker_rc = Rc::new(w);
        let closer = worker_rc.clone();
        worker_rc.on_message(move |(square, elsewhere)| {
            received.borrow_mut().push(format!("{square} {elsewhere}"));
            if received.borrow().len() == 5 {
                closer.post_message(u64::MAX);
            }
        });
        let exited = sink.clone();
        worker_rc.on_exit(move |exit| exited.borrow_mut().push(format!("exit {exit:?}")));
        for n in 1..=5 {
            worker_rc.post_message(n);
        }
    })
    .expect("run");
    assert_eq!(
        *log.borrow(),
        [
            "1 true",
            "4 true",
            "9 true",
            "16 true",
            "25 true",
            "exit Ok(())"
        ]
    );
}

#[test]
fn worker_error_is_reported_at_exit() {
    let exit = Rc::new(RefCell::new(None));
    let slot = exit.clone();
    run(move || {
        let w = worker::spawn(|_port: worker::ParentPort<(), ()>| {
            set_timeout(|| throw(JsError::message("worker boom")), 1);
        })
        .expect("spawn");
        w.on_exit(move |result| *slot.borrow_mut() = Some(result));
    })
    .expect("the parent run ends normally");
    assert_eq!(
        *exit.borrow(),
        Some(Err("Uncaught Error: worker boom".to_owned()))
    );
}
