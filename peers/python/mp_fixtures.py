"""Conformance fixtures for crates/procpool, recorded from the real CPython.

Usage: python3 mp_fixtures.py --list | <scenario> | --write <dir>

Each scenario prints the lines that crates/procpool/tests compare with the Rust pool's
(the procpool-scenarios binary prints the same lines for the same scenario). Run through
peers/python/regen-mp-fixtures.sh, which writes crates/procpool/tests/fixtures/<scenario>.txt.
The fork start method is used, CPython 3.11's default on Linux.
"""

import concurrent.futures
import hmac
import multiprocessing as mp
import os
import sys
import time


def ident(x):
    return x


def sleep_then_return(seconds):
    time.sleep(seconds)
    return seconds


def getpid(_):
    return os.getpid()


def sleep_or_die(x):
    # Task 3 dies half-way through task 2 (on the other worker), after task 0 is done, so the
    # outcome does not hang on which of two simultaneous events the pool notices first.
    if x == 3:
        time.sleep(0.1)
        os._exit(1)
    time.sleep(0.2)
    return x


def map_chunksize():
    """M1: Pool(4).map over 100 items uses chunksize 7, i.e. 15 tasks."""
    with mp.get_context("fork").Pool(4) as pool:
        result = pool.map_async(ident, range(100))
        values = result.get(10)
        print(f"chunksize {result._chunksize}")
        print(f"tasks {len(range(0, 100, result._chunksize))}")
        print(f"results {values == list(range(100))}")


def imap_unordered():
    """M1: imap is in order, imap_unordered in completion order.

    The research note measured sleeps of 0.03, 0.01, 0.02 s; five times longer here, so that a
    loaded 2-core machine cannot reorder them."""
    with mp.get_context("fork").Pool(3) as pool:
        print(f"imap {list(pool.imap(sleep_then_return, [0.15, 0.05, 0.1]))}")
        print(f"imap_unordered {list(pool.imap_unordered(sleep_then_return, [0.15, 0.05, 0.1]))}")


def maxtasksperchild():
    """M3: maxtasksperchild=1, 6 tasks ran in 6 distinct processes (test_pool_worker_lifetime)."""
    with mp.get_context("fork").Pool(2, maxtasksperchild=1) as pool:
        pids = pool.map(getpid, range(6), chunksize=1)
        print(f"tasks {len(pids)}")
        print(f"processes {len(set(pids))}")


def broken_executor():
    """M2: ProcessPoolExecutor, tasks 0..5, task 3 calls os._exit -> [0, 1, BrokenProcessPool x 4]."""
    ctx = mp.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        futures = [executor.submit(sleep_or_die, x) for x in range(6)]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(10))
            except concurrent.futures.process.BrokenProcessPool:
                outcomes.append("BrokenProcessPool")
        print(f"results {outcomes}")
        try:
            executor.submit(ident, 0)
            print("submit after: accepted")
        except concurrent.futures.process.BrokenProcessPool:
            print("submit after: BrokenProcessPool")


def pool_crash():
    """M2: the same crash in Pool.map hangs (bpo-22393): get(timeout=2) times out."""
    with mp.get_context("fork").Pool(2) as pool:
        result = pool.map_async(sleep_or_die, range(6), chunksize=1)
        try:
            result.get(2)
            print("map: returned")
        except mp.TimeoutError:
            print("map: TimeoutError (hang)")


def default_chunksizes():
    """pool.py's default chunksize, read from real MapResults: items workers chunksize."""
    for workers in [2, 3, 4]:
        with mp.get_context("fork").Pool(workers) as pool:
            for items in [0, 1, 15, 16, 17, 100, 1000]:
                result = pool.map_async(ident, range(items))
                result.get(10)
                print(f"{items} {workers} {result._chunksize}")


def auth_vector():
    """HMAC-SHA256 of a fixed challenge, as connection._create_response computes it (3.12+)."""
    key = b"procpool-test-key"
    message = b"{sha256}" + bytes(range(40))
    response = b"{sha256}" + hmac.new(key, message, "sha256").digest()
    print(f"key {key.hex()}")
    print(f"message {message.hex()}")
    print(f"response {response.hex()}")


SCENARIOS = {
    f.__name__: f
    for f in [map_chunksize, imap_unordered, maxtasksperchild, broken_executor, pool_crash,
              default_chunksizes, auth_vector]
}

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        print("\n".join(SCENARIOS))
    else:
        SCENARIOS[sys.argv[1]]()
