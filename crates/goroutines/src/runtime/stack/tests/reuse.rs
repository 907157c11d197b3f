//! Allocation, free and reuse through the pool and the per-P caches; sizes; releasing surplus
//! memory above the pool's high-water mark.

use corosensei::stack::{Stack, STACK_ALIGNMENT};

use super::super::pool::{CACHE_CAPACITY, CACHE_REFILL, CACHE_RELEASE, POOL_HIGH_WATER};
use super::super::{page_size, GStack, StackCache, StackPool, MAX_STACK_SIZE, MIN_STACK_SIZE};
use super::{child_mode, killed_by, run_child};

/// Both guard methods, each as a constructor.
const POOLS: [fn(usize) -> StackPool; 2] = [StackPool::new, StackPool::with_mprotect_guards];

fn top_word(stack: &GStack) -> *mut u64 {
    (stack.base().get() - 8) as *mut u64
}

#[test]
fn pool_reuses_a_freed_stack() {
    for new_pool in POOLS {
        let pool = new_pool(64 * 1024);
        let first = pool.alloc().unwrap();
        let second = pool.alloc().unwrap();
        assert_ne!(first.base(), second.base());
        let base = first.base();
        pool.free(first);
        let again = pool.alloc().unwrap();
        assert_eq!(again.base(), base, "the freed stack comes back first");
        pool.free(again);
        pool.free(second);
        assert_eq!(pool.free_counts(), (2, 0));
    }
}

#[test]
fn sizes_round_up_to_whole_pages_with_a_16k_minimum() {
    let page = page_size();
    for (asked, usable) in [
        (0, MIN_STACK_SIZE),
        (1, MIN_STACK_SIZE),
        (256 * 1024, 256 * 1024),
        (256 * 1024 + 1, 256 * 1024 + page),
        (usize::MAX, MAX_STACK_SIZE),
    ] {
        let pool = StackPool::new(asked);
        assert_eq!(pool.stack_size(), usable, "asked for {asked}");
        let stack = pool.alloc().unwrap();
        assert_eq!(stack.usable_size(), usable);
        assert_eq!(stack.base().get() - stack.limit().get(), page + usable);
        let (lo, hi) = stack.guard_range();
        assert_eq!((lo, hi), (stack.limit().get(), stack.limit().get() + page));
        assert_eq!(stack.base().get() % STACK_ALIGNMENT, 0);
        assert_eq!(stack.limit().get() % STACK_ALIGNMENT, 0);
        pool.free(stack);
    }
}

#[test]
fn every_usable_byte_is_writable_and_slots_do_not_overlap() {
    for new_pool in POOLS {
        let pool = new_pool(MIN_STACK_SIZE);
        // Three chunks' worth for the smallest stacks would be 768; 300 crosses one chunk border.
        let stacks: Vec<GStack> = (0..300).map(|_| pool.alloc().unwrap()).collect();
        for stack in &stacks {
            let (_, lowest_usable) = stack.guard_range();
            // SAFETY: `[lowest_usable, base)` is the usable part of a stack we own.
            unsafe {
                (lowest_usable as *mut u8).write_volatile(1);
                ((stack.base().get() - 1) as *mut u8).write_volatile(2);
            }
        }
        let mut ranges: Vec<(usize, usize)> = stacks
            .iter()
            .map(|stack| (stack.limit().get(), stack.base().get()))
            .collect();
        ranges.sort_unstable();
        assert!(ranges.windows(2).all(|pair| pair[0].1 <= pair[1].0));
        stacks.into_iter().for_each(|stack| pool.free(stack));
    }
}

#[test]
fn a_full_cache_gives_32_to_the_pool_and_an_empty_one_takes_16() {
    for new_pool in POOLS {
        let pool = new_pool(MIN_STACK_SIZE);
        let mut cache = StackCache::new();
        let stacks: Vec<GStack> = (0..CACHE_CAPACITY)
            .map(|_| cache.alloc(&pool).unwrap())
            .collect();
        assert_eq!((cache.len(), pool.free_counts()), (0, (0, 0)));
        for (freed, stack) in stacks.into_iter().enumerate() {
            cache.free(&pool, stack);
            if freed + 1 < CACHE_CAPACITY {
                assert_eq!(cache.len(), freed + 1);
            }
        }
        assert_eq!(cache.len(), CACHE_CAPACITY - CACHE_RELEASE);
        assert_eq!(pool.free_counts(), (CACHE_RELEASE, 0));

        let mut other = StackCache::new();
        let stack = other.alloc(&pool).unwrap();
        assert_eq!(
            other.len(),
            CACHE_REFILL - 1,
            "one lock took 16, one went out"
        );
        assert_eq!(pool.free_counts(), (CACHE_RELEASE - CACHE_REFILL, 0));
        other.free(&pool, stack);
        other.clear(&pool);
        cache.clear(&pool);
        assert_eq!((cache.len(), other.len()), (0, 0));
        assert_eq!(pool.free_counts(), (CACHE_CAPACITY, 0));
    }
}

#[test]
fn a_cache_keeps_the_newest_stacks_and_gives_away_the_oldest() {
    let pool = StackPool::new(MIN_STACK_SIZE);
    let mut cache = StackCache::new();
    let stacks: Vec<GStack> = (0..CACHE_CAPACITY).map(|_| pool.alloc().unwrap()).collect();
    let newest = stacks[CACHE_CAPACITY - 1].base();
    stacks
        .into_iter()
        .for_each(|stack| cache.free(&pool, stack));
    assert_eq!(cache.alloc(&pool).unwrap().base(), newest);
}

#[test]
fn the_pool_releases_the_memory_of_stacks_beyond_its_high_water_mark() {
    for new_pool in POOLS {
        let pool = new_pool(MIN_STACK_SIZE);
        let count = POOL_HIGH_WATER + 2 * CACHE_CAPACITY;
        let stacks: Vec<GStack> = (0..count).map(|_| pool.alloc().unwrap()).collect();
        for stack in &stacks {
            // SAFETY: the top word of a stack we own.
            unsafe { top_word(stack).write_volatile(0xdead_beef) };
        }
        let mut stacks = stacks.into_iter();
        for stack in stacks.by_ref().take(POOL_HIGH_WATER + 1) {
            pool.free(stack);
        }
        assert_eq!(
            pool.free_counts(),
            (POOL_HIGH_WATER + 1, 0),
            "surplus waits"
        );
        assert_eq!(pool.scavenge(), 1);
        assert_eq!(pool.free_counts(), (POOL_HIGH_WATER, 1), "StackPool::free");
        let mut cache = StackCache::new();
        for stack in stacks {
            cache.free(&pool, stack);
        }
        cache.clear(&pool);
        pool.scavenge();
        assert_eq!(
            pool.free_counts(),
            (POOL_HIGH_WATER, count - POOL_HIGH_WATER),
            "put"
        );

        let reused: Vec<GStack> = (0..count).map(|_| pool.alloc().unwrap()).collect();
        // SAFETY: the top word of each stack we own; the memory is mapped (zero if released).
        let markers: Vec<u64> = reused
            .iter()
            .map(|stack| unsafe { top_word(stack).read_volatile() })
            .collect();
        let (warm, released) = markers.split_at(POOL_HIGH_WATER);
        assert!(
            warm.iter().all(|&word| word == 0xdead_beef),
            "warm stacks come first, untouched"
        );
        assert!(
            released.iter().all(|&word| word == 0),
            "released stacks read zeros"
        );
        reused.into_iter().for_each(|stack| pool.free(stack));
    }
}

/// Child: a pool unmaps its chunks when it drops with every stack back, and leaks them otherwise.
#[test]
fn a_pool_unmaps_its_arena_only_when_every_stack_is_back() {
    if child_mode().is_some() {
        let mapped = |address: usize| {
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            maps.lines().any(|line| {
                let range = line.split_whitespace().next().unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let lo = usize::from_str_radix(lo, 16).unwrap();
                let hi = usize::from_str_radix(hi, 16).unwrap();
                lo <= address && address < hi
            })
        };
        let pool = StackPool::new(MIN_STACK_SIZE);
        let mut cache = StackCache::new();
        let stacks: Vec<GStack> = (0..10).map(|_| cache.alloc(&pool).unwrap()).collect();
        let address = stacks[0].base().get() - 1;
        stacks
            .into_iter()
            .for_each(|stack| cache.free(&pool, stack));
        cache.clear(&pool);
        drop(pool);
        assert!(!mapped(address), "all back: unmapped");

        let pool = StackPool::new(MIN_STACK_SIZE);
        let kept = pool.alloc().unwrap();
        let other = pool.alloc().unwrap();
        let address = kept.base().get() - 1;
        pool.free(other);
        drop(pool);
        assert!(mapped(address), "one still out: leaked, still usable");
        // SAFETY: the stack is ours and still mapped.
        unsafe { (address as *mut u8).write_volatile(1) };
        println!("RESULT ok");
        return;
    }
    let output = run_child(
        module_path!(),
        "a_pool_unmaps_its_arena_only_when_every_stack_is_back",
        "any",
    );
    assert_eq!(killed_by(&output), None);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("RESULT ok"));
}

#[test]
fn stacks_and_caches_move_between_threads_and_the_pool_is_shared() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<GStack>();
    send::<StackCache>();
    send::<StackPool>();
    sync::<StackPool>();
}
