//! The overflow handler: a goroutine's overflow is reported with its id; other faults, and std's
//! own thread overflows, go to the previous handler; the alternate signal stack.

use std::hint::black_box;
use std::{mem, ptr};

use corosensei::{Coroutine, Yielder};

use super::super::overflow::{decimal, on_fault};
use super::super::{ensure_altstack, install_overflow_handler, MIN_STACK_SIZE};
use super::{child_mode, killed_by, pool_for_mode, run_child, MODES};
use crate::runtime::g::{pretend_running, set_current_g};

/// Recurses until the stack runs out; the frame holds 512 bytes the optimiser cannot remove.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 512]);
    if depth == u64::MAX {
        return 0;
    }
    black_box(recurse(depth + 1)) + u64::from(frame[0])
}

/// Turns off the alternate signal stack std gave this thread, so that `ensure_altstack` makes one.
fn disable_std_altstack() {
    let disable = libc::stack_t {
        ss_sp: ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 0,
    };
    // SAFETY: disabling; std's handler later unmaps its stack without needing it enabled.
    assert_eq!(unsafe { libc::sigaltstack(&disable, ptr::null_mut()) }, 0);
}

fn current_altstack() -> libc::stack_t {
    // SAFETY: all zeros is a valid `stack_t`.
    let mut current: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: a query into a valid out-pointer.
    assert_eq!(unsafe { libc::sigaltstack(ptr::null(), &mut current) }, 0);
    current
}

/// Child: goroutine 7 overflows its small stack on a coroutine; the handler, on the alternate
/// stack `ensure_altstack` made, prints its id and aborts.
#[test]
fn a_goroutine_overflow_is_reported_with_its_id() {
    if let Some(mode) = child_mode() {
        install_overflow_handler();
        disable_std_altstack();
        ensure_altstack();
        let pool = pool_for_mode(&mode, MIN_STACK_SIZE);
        let stack = pool.alloc().unwrap();
        let (lo, hi) = stack.guard_range();
        let mut coroutine = Coroutine::with_stack(stack, |_: &Yielder<(), ()>, ()| recurse(0));
        pretend_running(lo, hi, 7);
        coroutine.resume(());
        set_current_g(ptr::null());
        println!("RESULT no overflow");
        return;
    }
    for mode in MODES {
        let output = run_child(
            module_path!(),
            "a_goroutine_overflow_is_reported_with_its_id",
            mode,
        );
        assert_eq!(killed_by(&output), Some(libc::SIGABRT), "{mode}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("goroutine 7 stack overflow\n"),
            "{mode}: {stderr}"
        );
    }
}

/// Child: a fault in another stack's guard is not the running goroutine's overflow; it goes to
/// std's handler, which restores the default action, and the process dies of SIGSEGV.
#[test]
fn a_fault_outside_the_running_guard_goes_to_the_previous_handler() {
    if let Some(mode) = child_mode() {
        install_overflow_handler();
        let pool = pool_for_mode(&mode, MIN_STACK_SIZE);
        let running = pool.alloc().unwrap();
        let other = pool.alloc().unwrap();
        let (lo, hi) = running.guard_range();
        pretend_running(lo, hi, 3);
        let (other_guard, _) = other.guard_range();
        // SAFETY: the page lies in our own mapping and the write cannot succeed: it faults by
        // design, and the SIGSEGV kills this child before anything observes the write.
        unsafe { (other_guard as *mut u8).write_volatile(1) };
        println!("RESULT guard did not fault");
        return;
    }
    for mode in MODES {
        let output = run_child(
            module_path!(),
            "a_fault_outside_the_running_guard_goes_to_the_previous_handler",
            mode,
        );
        assert_eq!(killed_by(&output), Some(libc::SIGSEGV), "{mode}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("stack overflow"));
    }
}

/// Child: with our handler installed, a std thread's overflow is still reported by std.
#[test]
fn std_still_reports_a_thread_stack_overflow() {
    if child_mode().is_some() {
        install_overflow_handler();
        let thread = std::thread::Builder::new()
            .name("deep".into())
            .stack_size(64 * 1024)
            .spawn(|| recurse(0))
            .unwrap();
        let _ = thread.join();
        println!("RESULT no overflow");
        return;
    }
    let output = run_child(
        module_path!(),
        "std_still_reports_a_thread_stack_overflow",
        "any",
    );
    assert_eq!(killed_by(&output), Some(libc::SIGABRT));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("thread 'deep'") && stderr.contains("has overflowed its stack"),
        "{stderr}"
    );
    assert!(!stderr.contains("goroutine"));
}

#[test]
fn installing_the_handler_twice_installs_it_once() {
    install_overflow_handler();
    install_overflow_handler();
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: all zeros is a valid `sigaction`.
        let mut current: libc::sigaction = unsafe { mem::zeroed() };
        // SAFETY: a query into a valid out-pointer.
        unsafe { libc::sigaction(signal, ptr::null(), &mut current) };
        assert_eq!(
            current.sa_sigaction,
            on_fault as *const () as libc::sighandler_t
        );
        assert_eq!(
            current.sa_flags & (libc::SA_SIGINFO | libc::SA_ONSTACK),
            libc::SA_SIGINFO | libc::SA_ONSTACK
        );
    }
}

#[test]
fn ensure_altstack_makes_one_once_and_keeps_an_existing_one() {
    std::thread::spawn(|| {
        let std_altstack = current_altstack();
        ensure_altstack();
        assert_eq!(
            current_altstack().ss_sp,
            std_altstack.ss_sp,
            "std's is kept"
        );

        disable_std_altstack();
        ensure_altstack();
        let ours = current_altstack();
        assert_eq!(ours.ss_flags & libc::SS_DISABLE, 0);
        assert_eq!(ours.ss_size, 64 * 1024);
        ensure_altstack();
        assert_eq!(current_altstack().ss_sp, ours.ss_sp, "made once");
    })
    .join()
    .unwrap();
}

#[test]
fn the_goroutine_id_is_formatted_without_allocating() {
    for n in [0, 7, 10, 1234567890, u64::MAX] {
        assert_eq!(decimal(n, &mut [0; 20]), n.to_string().as_bytes());
    }
}
