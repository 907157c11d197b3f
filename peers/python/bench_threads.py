#!/usr/bin/env python3
"""schedlab's gil-threads workloads on CPython's threads (the peer of `schedlab bench gil-threads`).

Prints one result line per figure, `cpython-threads <workload> <metric> <value> <unit>`, the median
of 3 runs after 1 warm-up (per-run values go to stderr). Workloads and checksums are the lab's
(crates/lab/src/workloads/cpu_parallel.rs and convoy.rs):

  cpu-parallel  chunks of 1,000,000 steps of Knuth's MMIX LCG (x = c; x = x*6364136223846793005 +
                1442695040888963407 mod 2**64), checksum the sum of each chunk's x >> 33; threads
                take chunks from a shared counter. 8 chunks here (the lab runs 64: a pure-Python
                chunk takes about 0.16 s); the job on 1 thread, then on 2.
                  wall_ms_w1, wall_ms_w2, speedup_w2 = w1 / w2
  convoy        200 round trips of an 8-byte word over a socketpair to an echo server in a forked
                process that sleeps 0.5 ms before each reply; checksum the sum of the words.
                Alone, then beside a thread spinning in a pure-Python LCG loop, at the default
                5 ms switch interval and at 1 ms.
                  ms_per_round_trip_alone, ms_per_round_trip_cpu, ms_per_round_trip_cpu_1ms

Usage: bench_threads.py [--reps R] [--size-scale F] [workload ... | all]
"""

import functools
import os
import socket
import sys
import threading
import time

import benchlib

MODEL = "cpython-threads"
SIZES = {"cpu-parallel": 8, "convoy": 200}
ITERATIONS_PER_CHUNK = 1_000_000
MASK = (1 << 64) - 1
SERVER_DELAY = 0.0005


def sum_below(n):
    return n * (n - 1) // 2 if n > 0 else 0


def chunk(c):
    x = c
    for _ in range(ITERATIONS_PER_CHUNK):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x >> 33


def cpu_parallel_once(chunks, workers):
    counter = iter(range(chunks))  # next() on a range iterator is atomic under the GIL
    sums = [0] * workers

    def worker(index):
        for c in counter:
            sums[index] += chunk(c)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(sums), elapsed


@functools.lru_cache(maxsize=None)
def checksum(chunks):
    return sum(chunk(c) for c in range(chunks))


def cpu_parallel(chunks):
    want = checksum(chunks)
    total1, one = cpu_parallel_once(chunks, 1)
    check("cpu-parallel", chunks, total1, want)
    total2, two = cpu_parallel_once(chunks, 2)
    check("cpu-parallel", chunks, total2, want)
    return [("speedup_w2", one / two, "x"), ("wall_ms_w1", one * 1e3, "ms"),
            ("wall_ms_w2", two * 1e3, "ms")]


def echo_server(sock):
    while True:
        word = b""
        while len(word) < 8:
            data = sock.recv(8 - len(word))
            if not data:
                os._exit(0)
            word += data
        time.sleep(SERVER_DELAY)
        sock.sendall(word)


def round_trips(rounds, interval, spinner):
    client, server = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        client.close()
        echo_server(server)
    server.close()
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    stop = False

    def spin():
        x = 0
        while not stop:
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK

    result = {}

    def io():
        time.sleep(0.01)  # let the spinner take the GIL first
        started = time.perf_counter()
        total = 0
        for i in range(rounds):
            client.sendall(i.to_bytes(8, "little"))
            word = b""
            while len(word) < 8:
                word += client.recv(8 - len(word))
            total += int.from_bytes(word, "little")
        result["elapsed"] = time.perf_counter() - started
        result["total"] = total

    try:
        spinner_thread = threading.Thread(target=spin) if spinner else None
        if spinner_thread:
            spinner_thread.start()
        io_thread = threading.Thread(target=io)
        io_thread.start()
        io_thread.join()
        stop = True
        if spinner_thread:
            spinner_thread.join()
    finally:
        sys.setswitchinterval(old_interval)
        client.close()
        os.waitpid(pid, 0)
    check("convoy", rounds, result["total"], sum_below(rounds))
    return result["elapsed"] * 1e3 / rounds


def convoy(rounds):
    return [("ms_per_round_trip_alone", round_trips(rounds, 0.005, False), "ms"),
            ("ms_per_round_trip_cpu", round_trips(rounds, 0.005, True), "ms"),
            ("ms_per_round_trip_cpu_1ms", round_trips(rounds, 0.001, True), "ms")]


WORKLOADS = {"cpu-parallel": cpu_parallel, "convoy": convoy}


def check(workload, size, got, want):
    benchlib.check("bench_threads", workload, size, got, want)


def main():
    args = benchlib.parser(__doc__.splitlines()[0]).parse_args()
    for name in benchlib.workload_names("bench_threads", args.workloads, WORKLOADS):
        size = max(1, round(SIZES[name] * args.size_scale))
        benchlib.report(MODEL, name, lambda: WORKLOADS[name](size), args.reps, procs=2)


if __name__ == "__main__":
    main()
