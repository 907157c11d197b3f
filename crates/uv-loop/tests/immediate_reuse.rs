//! An immediate's cell is reused by the next `setImmediate` of the same callback type only
//! when nothing holds it: a handle kept by the program still refers to its own immediate, so
//! clearing an old handle never cancels a newer immediate.

use std::cell::RefCell;
use std::rc::Rc;

use uv_loop::{clear_immediate, run, set_immediate, Immediate};

struct Chain {
    log: RefCell<Vec<u32>>,
    handles: RefCell<Vec<Immediate>>,
}

/// Schedules step `index` from one call site, so that every immediate has the same type.
fn schedule(chain: Rc<Chain>, index: u32, keep_handle: bool) {
    let next = chain.clone();
    let handle = set_immediate(move || step(next, index, keep_handle));
    if keep_handle {
        chain.handles.borrow_mut().push(handle);
    }
}

fn step(chain: Rc<Chain>, index: u32, keep_handle: bool) {
    chain.log.borrow_mut().push(index);
    if index == 2 {
        // Immediates 0 and 1 have run; clearing their handles must change nothing.
        for handle in chain.handles.borrow().iter() {
            clear_immediate(handle);
        }
    }
    if index < 4 {
        schedule(chain, index + 1, keep_handle);
    }
}

fn run_chain(keep_handle: bool) -> Vec<u32> {
    let chain = Rc::new(Chain {
        log: RefCell::new(Vec::new()),
        handles: RefCell::new(Vec::new()),
    });
    let first = chain.clone();
    let result = run(move || schedule(first, 0, keep_handle));
    assert!(result.is_ok(), "{result:?}");
    let log = chain.log.borrow().clone();
    log
}

#[test]
fn clearing_a_handle_of_an_immediate_that_ran_cancels_nothing() {
    assert_eq!(run_chain(true), [0, 1, 2, 3, 4]);
}

#[test]
fn a_chain_without_handles_runs_every_immediate_once() {
    assert_eq!(run_chain(false), [0, 1, 2, 3, 4]);
}

#[test]
fn a_cleared_immediate_stays_cleared_when_its_type_runs_again() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = log.clone();
    let result = run(move || {
        let push = |log: &Rc<RefCell<Vec<&'static str>>>, name| {
            let log = log.clone();
            set_immediate(move || log.borrow_mut().push(name))
        };
        let first = push(&out, "first");
        let cancelled = push(&out, "cancelled");
        clear_immediate(&cancelled);
        drop(first);
        let again = out.clone();
        set_immediate(move || {
            // Runs after "first" (whose cell may now be reused): a new immediate of the same
            // type runs, the cancelled one still does not.
            push(&again, "third");
        });
    });
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(*log.borrow(), ["first", "third"]);
}
