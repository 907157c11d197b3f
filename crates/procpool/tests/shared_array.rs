//! SharedArray over POSIX shared memory: written by workers, read by the parent; bounds and
//! type checked.

mod common;

use common::{scenario, METHODS};
use procpool::{OutOfBounds, SharedArray, SharedArrayError};

#[test]
fn workers_fill_disjoint_ranges_and_the_parent_sees_every_write() {
    for method in METHODS {
        let lines = scenario("shared_array", method);
        assert_eq!(
            lines,
            ["written 1000", "sum 332833500", "expected 332833500"],
            "{method}"
        );
    }
}

#[test]
fn a_second_mapping_sees_the_first_ones_writes() {
    let array = SharedArray::<f64>::create(4).unwrap();
    array.copy_from_slice(&[1.5, 2.5]).unwrap();
    let other = array.handle().open::<f64>().unwrap();
    assert_eq!(other.to_vec(), [1.5, 2.5, 0.0, 0.0]);
    other.set(3, -1.0).unwrap();
    assert_eq!(array.get(3), Ok(-1.0));
}

#[test]
fn out_of_bounds_and_wrong_types_are_errors() {
    let array = SharedArray::<u64>::create(3).unwrap();
    assert_eq!(array.get(3), Err(OutOfBounds { index: 3, len: 3 }));
    assert_eq!(array.set(7, 1), Err(OutOfBounds { index: 7, len: 3 }));
    assert_eq!(array.fetch_add(0, 5), Ok(0));
    assert_eq!(array.fetch_add(0, 5), Ok(5));
    assert!(matches!(
        array.handle().open::<i32>(),
        Err(SharedArrayError::Mismatch { .. })
    ));
    assert!(array.copy_from_slice(&[1, 2, 3, 4]).is_err());
}

#[test]
fn the_segment_is_unlinked_when_its_creator_drops_it() {
    let array = SharedArray::<u8>::create(16).unwrap();
    let handle = array.handle();
    drop(array);
    assert!(matches!(handle.open::<u8>(), Err(SharedArrayError::Os(_))));
}
