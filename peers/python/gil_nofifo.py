#!/usr/bin/env python3
"""No FIFO among GIL waiters, on the real CPython (the peer of crates/gil-threads/tests/no_fifo.rs).

A thread blocked on an Event is woken while the main thread loops on os.read(/dev/zero, 1), a
call that releases and re-takes the GIL without blocking. Prints, per trial, how many reads
(releases) the main thread made before the woken thread got the GIL, and after how many ms.
A FIFO hand-off would let it in at the first release after it queued.

Usage: gil_nofifo.py [trials]
"""

import os
import sys
import threading
import time


def trial(fd):
    got_gil = []
    go = threading.Event()

    def waiter():
        go.wait()
        got_gil.append(time.perf_counter())

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.01)
    reads = 0
    started = time.perf_counter()
    go.set()
    while not got_gil:
        os.read(fd, 1)
        reads += 1
    thread.join()
    return reads, (got_gil[0] - started) * 1e3


def main():
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    fd = os.open("/dev/zero", os.O_RDONLY)
    for _ in range(trials):
        reads, ms = trial(fd)
        print(f"reads_before_handoff {reads} after_ms {ms:.3f}")


if __name__ == "__main__":
    main()
