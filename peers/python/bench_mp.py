#!/usr/bin/env python3
"""schedlab's procpool workloads on CPython's multiprocessing (the peer of `schedlab bench procpool`).

Prints one result line per figure, `cpython-mp <workload> <metric> <value> <unit>`, the median
of 3 runs after 1 warm-up (per-run values go to stderr). Workloads and checksums are the lab's
(crates/lab/src/workloads/cpu_parallel.rs, map_chunksize.rs, startup.rs):

  cpu-parallel       chunks of 1,000,000 steps of Knuth's MMIX LCG, checksum the sum of each
                     chunk's x >> 33; `with Pool(w) as p: p.map(chunk, range(chunks))` (default
                     chunksize, fork), pool start-up included. 8 chunks here (a pure-Python chunk
                     takes about 0.16 s; the lab runs 256); on 1 worker, then on 2.
                       wall_ms_w1, wall_ms_w2, speedup_w2 = w1 / w2
  map-chunksize1     Pool(2).map(add_one, range(20000), chunksize=1), the pool started and warmed
                     before the clock starts; checksum the sum of x + 1.      us_per_task
  map-chunksize1000  the same over 1,000,000 items with chunksize=1000.       us_per_item
  startup            Pool(2) started and its first map (2 items, chunksize 1) answered, for fork,
                     forkserver and spawn, each repetition in a fresh interpreter (so forkserver
                     includes starting the fork server).  fork_ms, forkserver_ms, spawn_ms

Usage: bench_mp.py [--reps R] [--size-scale F] [workload ... | all]
"""

import multiprocessing as mp
import subprocess
import sys
import time

import benchlib

MODEL = "cpython-mp"
SIZES = {"cpu-parallel": 8, "map-chunksize1": 20_000, "map-chunksize1000": 1_000_000, "startup": 2}
ITERATIONS_PER_CHUNK = 1_000_000
MASK = (1 << 64) - 1


def chunk(c):
    x = c
    for _ in range(ITERATIONS_PER_CHUNK):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x >> 33


def add_one(x):
    return x + 1


_CHECKSUMS = {}


def cpu_checksum(chunks):
    if chunks not in _CHECKSUMS:
        _CHECKSUMS[chunks] = sum(chunk(c) for c in range(chunks))
    return _CHECKSUMS[chunks]


def cpu_parallel_once(chunks, workers):
    started = time.perf_counter()
    with mp.get_context("fork").Pool(workers) as pool:
        total = sum(pool.map(chunk, range(chunks)))
        elapsed = time.perf_counter() - started
    return total, elapsed


def cpu_parallel(chunks):
    want = cpu_checksum(chunks)
    total1, one = cpu_parallel_once(chunks, 1)
    check("cpu-parallel", chunks, total1, want)
    total2, two = cpu_parallel_once(chunks, 2)
    check("cpu-parallel", chunks, total2, want)
    return [("speedup_w2", one / two, "x"), ("wall_ms_w1", one * 1e3, "ms"),
            ("wall_ms_w2", two * 1e3, "ms")]


def timed_map(items, chunksize):
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(add_one, range(2), chunksize=1)
        started = time.perf_counter()
        total = sum(pool.map(add_one, range(items), chunksize=chunksize))
        elapsed = time.perf_counter() - started
    check(f"map-chunksize{chunksize}", items, total, items * (items + 1) // 2)
    return elapsed * 1e6 / items


def map_chunksize1(items):
    return [("us_per_task", timed_map(items, 1), "us")]


def map_chunksize1000(items):
    return [("us_per_item", timed_map(items, 1000), "us")]


def startup_child(method, workers):
    started = time.perf_counter()
    pool = mp.get_context(method).Pool(workers)
    total = sum(pool.map(add_one, range(workers), chunksize=1))
    elapsed = time.perf_counter() - started
    pool.terminate()
    pool.join()
    check("startup", workers, total, workers * (workers + 1) // 2)
    print(elapsed * 1e3)


def startup(workers):
    figures = []
    for method in ["fork", "forkserver", "spawn"]:
        out = subprocess.run([sys.executable, __file__, "--startup-child", method, str(workers)],
                             check=True, capture_output=True, text=True).stdout
        figures.append((f"{method}_ms", float(out.strip()), "ms"))
    return figures


WORKLOADS = {"cpu-parallel": cpu_parallel, "map-chunksize1": map_chunksize1,
             "map-chunksize1000": map_chunksize1000, "startup": startup}


def check(workload, size, got, want):
    benchlib.check("bench_mp", workload, size, got, want)


def main():
    if sys.argv[1:2] == ["--startup-child"]:
        startup_child(sys.argv[2], int(sys.argv[3]))
        return
    args = benchlib.parser(__doc__.splitlines()[0]).parse_args()
    for name in benchlib.workload_names("bench_mp", args.workloads, WORKLOADS):
        size = SIZES[name] if name == "startup" else max(1, round(SIZES[name] * args.size_scale))
        benchlib.report(MODEL, name, lambda: WORKLOADS[name](size), args.reps, procs=2)


if __name__ == "__main__":
    main()
