//! `available_parallelism()` never exceeds what `std` reports and is never zero.

#[test]
fn available_parallelism_is_at_least_one_and_at_most_std() {
    let ours = probe::threads::available_parallelism();
    let std_count = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(ours >= 1 && ours <= std_count);
}
