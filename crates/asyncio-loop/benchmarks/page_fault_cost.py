#!/usr/bin/env python3
"""What one page fault costs on this machine: the kernel's share of the sleepers benchmark.

Touches one byte of each 4 KiB page of a fresh 35 MiB anonymous mapping (the peak RSS of the
asyncio-loop sleepers run), and the same number of times one page already touched, and prints
the difference per page: the time the kernel takes to give a process a zeroed page on first
touch. The sleepers run takes about 8,400 such faults (`perf stat -e page-faults`), so this
figure times 8,400 is what its memory costs before any user-space work.

    python3 crates/asyncio-loop/benchmarks/page_fault_cost.py [ROUNDS]
"""

import mmap
import sys
import time

SIZE = 35 * 1024 * 1024
PAGE = mmap.PAGESIZE


def one_round():
    pages = SIZE // PAGE
    fresh = mmap.mmap(-1, SIZE)
    started = time.perf_counter()
    for offset in range(0, SIZE, PAGE):
        fresh[offset] = 1
    faulting = time.perf_counter() - started
    warm = mmap.mmap(-1, PAGE)
    warm[0] = 1
    started = time.perf_counter()
    for _ in range(0, SIZE, PAGE):
        warm[0] = 1
    looping = time.perf_counter() - started
    fresh.close()
    warm.close()
    per_fault_us = (faulting - looping) / pages * 1e6
    print(f"{pages} pages: {faulting * 1e3:.1f} ms touching fresh pages, {looping * 1e3:.1f} ms "
          f"the same loop on one page: {per_fault_us:.2f} us per page fault")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for _ in range(rounds):
        one_round()


if __name__ == "__main__":
    main()
