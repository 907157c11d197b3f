//! What stacks cost in VMAs: a few hundred for 100,000 stacks with `MADV_GUARD_INSTALL`, two per
//! stack with `mprotect`, up to `vm.max_map_count` and a clear error there.

use super::super::arena::GuardMethod;
use super::super::{GStack, StackPool, MIN_STACK_SIZE};
use super::{child_mode, count_maps, killed_by, run_child};
use crate::runtime::DEFAULT_STACK_SIZE;

/// Allocates `count` stacks; prints the maps before and after and the guard method.
fn allocate_and_count(pool: &StackPool, count: usize) -> Vec<GStack> {
    let mut stacks = Vec::with_capacity(count);
    let before = count_maps();
    let start = std::time::Instant::now();
    for _ in 0..count {
        match pool.alloc() {
            Ok(stack) => stacks.push(stack),
            Err(error) => {
                println!("RESULT stacks={} error={error}", stacks.len());
                return stacks;
            }
        }
    }
    let elapsed = start.elapsed();
    let after = count_maps();
    println!(
        "RESULT stacks={count} maps_before={before} maps_after={after} method={:?} alloc_ns_each={}",
        pool.guard_method(),
        elapsed.as_nanos() / count as u128,
    );
    stacks
}

fn result_value(stdout: &str, key: &str) -> Option<usize> {
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.parse().ok())
}

/// Child: 100,000 default-size stacks at once, in few VMAs (this kernel has MADV_GUARD_INSTALL).
#[test]
fn a_hundred_thousand_stacks_take_a_few_hundred_maps() {
    if child_mode().is_some() {
        let pool = StackPool::new(DEFAULT_STACK_SIZE);
        pool.free(pool.alloc().unwrap());
        if pool.guard_method() != Some(GuardMethod::GuardInstall) {
            println!("RESULT skipped: the kernel lacks MADV_GUARD_INSTALL (Linux < 6.13)");
            return;
        }
        let stacks = allocate_and_count(&pool, 100_000);
        stacks.into_iter().for_each(|stack| pool.free(stack));
        return;
    }
    let output = run_child(
        module_path!(),
        "a_hundred_thousand_stacks_take_a_few_hundred_maps",
        "any",
    );
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.contains("RESULT skipped") {
        return;
    }
    let before = result_value(&stdout, "maps_before=").unwrap();
    let after = result_value(&stdout, "maps_after=").unwrap();
    assert_eq!(result_value(&stdout, "stacks="), Some(100_000));
    // 100,000 / 256 = 391 chunks if none merged; with mprotect it would be 200,000.
    assert!(after - before <= 400, "{before} -> {after} maps");
}

/// Child: a million small stacks at once.
#[test]
fn a_million_stacks_fit() {
    if child_mode().is_some() {
        let pool = StackPool::new(MIN_STACK_SIZE);
        pool.free(pool.alloc().unwrap());
        if pool.guard_method() != Some(GuardMethod::GuardInstall) {
            println!("RESULT skipped: the kernel lacks MADV_GUARD_INSTALL (Linux < 6.13)");
            return;
        }
        let stacks = allocate_and_count(&pool, 1_000_000);
        stacks.into_iter().for_each(|stack| pool.free(stack));
        return;
    }
    let output = run_child(module_path!(), "a_million_stacks_fit", "any");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.contains("RESULT skipped") {
        assert_eq!(result_value(&stdout, "stacks="), Some(1_000_000));
    }
}

/// Child: with `mprotect` guards every stack takes two maps, until `vm.max_map_count`; the error
/// then names the limit and its value.
#[test]
fn mprotect_guards_stop_at_max_map_count_with_an_error_naming_it() {
    if child_mode().is_some() {
        let pool = StackPool::with_mprotect_guards(MIN_STACK_SIZE);
        let before = count_maps();
        let stacks = allocate_and_count(&pool, 10_000_000);
        println!("RESULT maps_before={before}");
        stacks.into_iter().for_each(|stack| pool.free(stack));
        return;
    }
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let output = run_child(
        module_path!(),
        "mprotect_guards_stop_at_max_map_count_with_an_error_naming_it",
        "mprotect",
    );
    assert_eq!(killed_by(&output), None);
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stacks = result_value(&stdout, "stacks=").unwrap();
    let before = result_value(&stdout, "maps_before=").unwrap();
    assert!(
        stdout.contains(&format!(
            "error=cannot allocate goroutine stack: the kernel's limit on memory mappings was \
             reached (vm.max_map_count = {max}, read from /proc/sys/vm/max_map_count); raise it \
             with `sysctl vm.max_map_count="
        )),
        "{stdout}"
    );
    // Two maps per stack, plus one per chunk boundary at most.
    let expected = (max - before) / 2;
    assert!(
        stacks <= expected && stacks + expected / 256 + 16 >= expected,
        "{stacks} stacks"
    );
}
