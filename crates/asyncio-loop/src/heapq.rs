//! A binary min-heap that mirrors CPython's `Lib/heapq.py` move for move.
//!
//! asyncio keeps its timers in a plain list ordered by `heapq.heappush` / `heapq.heappop`, and
//! `TimerHandle.__lt__` compares `_when` only. Timers with equal `when` therefore come out in
//! whatever order heapq's sifts leave them, not in insertion order. Rust's `BinaryHeap` sifts
//! differently, so this module copies heapq's algorithm exactly:
//!
//! - `heappush` appends, then `_siftdown(heap, 0, len - 1)`;
//! - `heappop` pops the last item, puts it at the root and runs `_siftup(heap, 0)`;
//! - `_siftup` walks the hole down to a leaf along the smaller child (the right child when the
//!   left is *not less than* it), then `_siftdown`s the moved item back up;
//! - `heapify` runs `_siftup` on `n/2 - 1 .. 0`.
//!
//! Python moves items through a hole; here each move is a swap, which leaves every item at the
//! same position. The C accelerator `_heapqmodule.c` runs the same algorithm.
//!
//! Invariant: `!heap[i].heap_lt(&heap[(i - 1) / 2])` for every `i > 0`.

/// The only comparison heapq makes: `a < b`.
pub(crate) trait HeapOrder {
    /// `self < other`, as Python's `__lt__`.
    fn heap_lt(&self, other: &Self) -> bool;
}

/// `heapq._siftdown`: move the item at `pos` up towards `startpos` while it is less than its
/// parent.
fn siftdown<T>(heap: &mut [T], startpos: usize, mut pos: usize, lt: &impl Fn(&T, &T) -> bool) {
    while pos > startpos {
        let parentpos = (pos - 1) >> 1;
        if lt(&heap[pos], &heap[parentpos]) {
            heap.swap(pos, parentpos);
            pos = parentpos;
            continue;
        }
        break;
    }
}

/// `heapq._siftup`: bubble the smaller child up until `pos` reaches a leaf, then sift the
/// original item down from there.
fn siftup<T>(heap: &mut [T], mut pos: usize, lt: &impl Fn(&T, &T) -> bool) {
    let endpos = heap.len();
    let startpos = pos;
    let mut childpos = 2 * pos + 1;
    while childpos < endpos {
        let rightpos = childpos + 1;
        if rightpos < endpos && !lt(&heap[childpos], &heap[rightpos]) {
            childpos = rightpos;
        }
        heap.swap(pos, childpos);
        pos = childpos;
        childpos = 2 * pos + 1;
    }
    siftdown(heap, startpos, pos, lt);
}

/// `heapq.heappush`.
pub(crate) fn heappush<T: HeapOrder>(heap: &mut Vec<T>, item: T) {
    heappush_by(heap, item, &T::heap_lt);
}

/// `heapq.heappop`; `None` on an empty heap (Python raises `IndexError`).
pub(crate) fn heappop<T: HeapOrder>(heap: &mut Vec<T>) -> Option<T> {
    heappop_by(heap, &T::heap_lt)
}

/// `heapq.heapify`.
pub(crate) fn heapify<T: HeapOrder>(heap: &mut [T]) {
    for i in (0..heap.len() / 2).rev() {
        siftup(heap, i, &T::heap_lt);
    }
}

/// [`heappush`] with `lt` as `__lt__` (for items that are not [`HeapOrder`], such as a
/// `PriorityQueue`'s).
pub(crate) fn heappush_by<T>(heap: &mut Vec<T>, item: T, lt: &impl Fn(&T, &T) -> bool) {
    heap.push(item);
    let last = heap.len() - 1;
    siftdown(heap, 0, last, lt);
}

/// [`heappop`] with `lt` as `__lt__`.
pub(crate) fn heappop_by<T>(heap: &mut Vec<T>, lt: &impl Fn(&T, &T) -> bool) -> Option<T> {
    let last = heap.pop()?;
    if heap.is_empty() {
        return Some(last);
    }
    let smallest = std::mem::replace(&mut heap[0], last);
    siftup(heap, 0, lt);
    Some(smallest)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(f64, usize);

    impl HeapOrder for Item {
        fn heap_lt(&self, other: &Self) -> bool {
            self.0 < other.0
        }
    }

    fn pop_all(mut heap: Vec<Item>) -> Vec<usize> {
        std::iter::from_fn(|| heappop(&mut heap).map(|item| item.1)).collect()
    }

    #[test]
    fn ten_equal_keys_pop_in_heapq_order() {
        // python3 -c "import heapq; ..." with a class whose __lt__ compares one float.
        let mut heap = Vec::new();
        for i in 0..10 {
            heappush(&mut heap, Item(1.0, i));
        }
        assert_eq!(pop_all(heap), [0, 2, 6, 9, 8, 5, 7, 4, 1, 3]);
    }

    #[test]
    fn ten_equal_keys_and_one_later_pop_in_heapq_order() {
        let mut heap = Vec::new();
        for i in 0..10 {
            heappush(&mut heap, Item(1.0, i));
        }
        heappush(&mut heap, Item(2.0, 10));
        assert_eq!(pop_all(heap), [0, 2, 6, 5, 9, 8, 7, 1, 3, 4, 10]);
    }

    #[test]
    fn heapify_then_pop_is_sorted() {
        let mut heap: Vec<Item> = [5.0, 1.0, 4.0, 2.0, 3.0, 0.0]
            .iter()
            .enumerate()
            .map(|(i, &w)| Item(w, i))
            .collect();
        heapify(&mut heap);
        assert_eq!(pop_all(heap), [5, 1, 3, 4, 2, 0]);
    }
}
