//! Guard pages fault, under both methods, and survive `MADV_DONTNEED`.

use corosensei::stack::Stack;

use super::super::pool::POOL_HIGH_WATER;
use super::super::{GStack, MIN_STACK_SIZE};
use super::{child_mode, killed_by, pool_for_mode, run_child, MODES};

/// Child: writes the lowest usable byte (fine), then the highest byte of the guard (fatal).
#[test]
fn a_write_to_the_guard_page_faults() {
    if let Some(mode) = child_mode() {
        let pool = pool_for_mode(&mode, MIN_STACK_SIZE);
        let stack = pool.alloc().unwrap();
        let (_, hi) = stack.guard_range();
        // SAFETY: the lowest usable byte of a stack we own.
        unsafe { (hi as *mut u8).write_volatile(1) };
        println!("RESULT usable ok");
        // SAFETY: the page lies in our own mapping and the write cannot succeed: it faults by
        // design, and the SIGSEGV kills this child before anything observes the write.
        unsafe { ((hi - 1) as *mut u8).write_volatile(1) };
        println!("RESULT guard did not fault");
        return;
    }
    for mode in MODES {
        let output = run_child(module_path!(), "a_write_to_the_guard_page_faults", mode);
        assert_eq!(killed_by(&output), Some(libc::SIGSEGV), "{mode}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("RESULT usable ok"));
    }
}

/// Child: a stack the pool released with `MADV_DONTNEED` reads zeros, and its guard still faults.
#[test]
fn the_guard_survives_madv_dontneed() {
    if let Some(mode) = child_mode() {
        let pool = pool_for_mode(&mode, MIN_STACK_SIZE);
        let stacks: Vec<GStack> = (0..=POOL_HIGH_WATER)
            .map(|_| pool.alloc().unwrap())
            .collect();
        let last = stacks[POOL_HIGH_WATER].base();
        for stack in stacks {
            // SAFETY: the top byte of a stack we own.
            unsafe { ((stack.base().get() - 1) as *mut u8).write_volatile(7) };
            pool.free(stack);
        }
        pool.scavenge();
        assert_eq!(pool.free_counts(), (POOL_HIGH_WATER, 1));
        let warm: Vec<GStack> = (0..POOL_HIGH_WATER)
            .map(|_| pool.alloc().unwrap())
            .collect();
        let released = pool.alloc().unwrap();
        assert_eq!(released.base(), last);
        // SAFETY: the top byte of a stack we own; released memory is still mapped.
        let top = unsafe { ((released.base().get() - 1) as *const u8).read_volatile() };
        assert_eq!(top, 0, "MADV_DONTNEED dropped the page");
        println!("RESULT released reads zero");
        let (lo, _) = released.guard_range();
        // SAFETY: the page lies in our own mapping and the write cannot succeed: it faults by
        // design, and the SIGSEGV kills this child before anything observes the write.
        unsafe { (lo as *mut u8).write_volatile(1) };
        println!("RESULT guard did not fault");
        drop(warm);
        return;
    }
    for mode in MODES {
        let output = run_child(module_path!(), "the_guard_survives_madv_dontneed", mode);
        assert_eq!(killed_by(&output), Some(libc::SIGSEGV), "{mode}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("RESULT released reads zero"));
    }
}
