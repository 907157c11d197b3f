#!/usr/bin/env python3
"""The essay's experiments on the real CPython 3.11: threads, multiprocessing and asyncio.

Usage: experiments.py <peer> <experiment> [--quick] [--cores N]

  peer        cpython-threads | cpython-mp | cpython-asyncio
  experiment  parallelism | concurrency | preemption | switching | blocking | spawn | memory |
              handoff | convoy

Runs ONE experiment and prints its figures as result lines on stdout,
`<peer> <experiment> <metric> <value> <unit>`, with the metrics of the lab's Rust experiments
(crates/lab/src/experiments/*.rs, whose essays define each one). `schedlab peers` runs every
(peer, experiment) in a fresh process of this script. Exit status: 0 with figures, 1 when a
check fails (a wrong checksum, a wait that returned early), 2 on a usage error.

What each peer runs, and where it deviates from the Rust sizes:

  parallelism  chunks of 1,000,000 steps of Knuth's MMIX LCG (cpu_parallel.rs), on W = 1 .. cores
               workers, best of R repetitions that go round the worker counts in turn:
               wall_ms_w<W>, speedup_w<W>. A pure-Python chunk takes ~0.15 s (the Rust one
               ~1 ms), so 4 chunks (quick, R = 3) / 8 chunks (full, R = 5) instead of 32 / 128.
                 threads: W threading.Threads take chunks from a shared counter;
                 mp:      Pool(W).map(chunk, range(chunks)), the pool's start-up included;
                 asyncio: W tasks, `await asyncio.sleep(0)` between chunks.
  concurrency  N waits of 100 ms started at once, N = 2,000 (quick) / 10,000 (full): tasks,
               wall_ms, floor_ms, in_flight_max, os_threads_max (Threads: of /proc/self/status
               every 5 ms, the sampler thread not counted), processes_max (live descendants).
                 threads: a threading.Thread per wait, time.sleep(0.1) (Thread.start() returns
                          only once the new thread runs, so the waits start one by one: a
                          loaded machine sees fewer in flight);
                 asyncio: a task per wait, asyncio.sleep(0.1);
                 mp:      Pool(cores).map(wait, .., chunksize=1) over 8 x cores waits of
                          time.sleep(0.1) in the workers, the pool started before the clock and
                          the sampler (as the procpool runner does; the issue's brief said 10 /
                          40 x cores with the start-up timed): a pool holds only `cores` waits at
                          once; os_threads_max counts the parent's threads only (the pool's three
                          handler threads among them).
  preemption   a pure-Python hog (an LCG loop reading the clock every 1,024 steps) spinning
               100 ms (quick) / 200 ms (full) beside a ticker sleeping 1 ms in a loop:
               worst_tick_delay_ms, hog_ms, ticks.
                 threads: two threads (the GIL's 5 ms switch interval lets the ticker in);
                 asyncio: two tasks (nothing can);
                 mp:      the hog in a worker process, the ticker in the parent, both pinned to
                          one CPU with os.sched_setaffinity: only the kernel's preemption can
                          let the ticker in.
  switching    ns_per_yield (threads: time.sleep(0); asyncio: await asyncio.sleep(0);
               mp: os.sched_yield()) and ns_per_round_trip (threads: two queue.Queue between two
               threads; asyncio: two asyncio.Queue between two tasks; mp:
               pool.apply_async(echo_value, (n,)).get() to the worker of a Pool(1), as the
               procpool runner does). Counts chosen so each takes 0.2 - 1 s here (full); quick
               is a fifth. Yields / round trips: 10,000 / 10,000 (threads: time.sleep(0) costs
               ~80 us, the kernel's timer slack), 100,000 / 50,000 (asyncio), 1,000,000 / 2,000
               (mp: a Pool round trip, through its task and result handler threads, ~300 us).
  blocking     a 200 ms time.sleep beside the 1 ms ticker: worst_tick_delay_ms, call_ms, ticks.
                 threads: in a second thread (it releases the GIL);
                 asyncio: in a coroutine on the loop;
                 mp:      in a worker process while the parent ticks.
  spawn        N empty tasks started, then joined: ns_per_task, tasks.
                 threads: threading.Thread, N = 2,000 / 20,000;
                 asyncio: create_task, N = 20,000 / 200,000 (the Rust sizes);
                 mp:      Pool(16) (fork), map of 16 empty tasks with chunksize 1, close, join:
                          a process started, used and ended per task, as the procpool runner
                          does (the issue's brief said Process start+join, 10 / 50).
  memory       VmRSS growth per task while N tasks wait on one event: bytes_per_task, tasks.
                 threads: threads waiting on one threading.Event, N = 1,000 / 10,000 (the
                          gil-threads runner's: a tenth of the Rust N);
                 asyncio: tasks awaiting one future, N = 10,000 / 100,000 (the Rust sizes);
                 mp:      a Pool(cores) whose every worker has served once, idle: the mean PSS
                          of the worker processes (Pss: of /proc/<pid>/smaps_rollup: each
                          worker's private pages plus its share of those it still shares with
                          the parent after fork), N = cores, as the procpool runner measures it;
                          not VmRSS growth (a worker's VmRSS counts every shared page in full).
  handoff      N = 2,000 / 20,000 tiny tasks (n -> n) handed to another worker and their results
               taken back: us_per_task, tasks (crates/lab/src/experiments/handoff.rs).
                 threads: a worker thread, queue.Queue requests and replies, one at a time;
                 asyncio: `await loop.run_in_executor(None, f, n)`, one at a time;
                 mp:      Pool(cores).map(f, range(N), chunksize=1), the workers started before
                          the clock: all at once, in chunks of one.
  convoy       R = 40 (quick) / 200 blocking round trips of an 8-byte word over loopback TCP to
               an echo server in a forked process (no GIL of ours) that sleeps 0.5 ms before
               each reply, alone, then beside one CPU-bound task (a pure-Python LCG loop, started
               first, spinning until the round trips end): round_trips, ms_per_rt_alone,
               ms_per_rt_loaded, slowdown (crates/lab/src/experiments/convoy.rs).
                 threads: sock.sendall / sock.recv in the main thread, the spinner a
                          threading.Thread (Beazley's convoy, bpo-7946);
                 asyncio: open_connection, write, drain, readexactly(8) on the loop, the spinner
                          in loop.run_in_executor's thread;
                 mp:      the socket in the parent, the spinner in the worker of a Pool(1),
                          stopped through a shared multiprocessing.RawValue.
  startup      not here: startup.py, a script of its own (its docstring says why), which
               `schedlab peers` times from outside.
"""

import asyncio
import multiprocessing
import os
import queue
import socket
import sys
import threading
import time

PEERS = ("cpython-threads", "cpython-mp", "cpython-asyncio")
EXPERIMENTS = (
    "parallelism", "concurrency", "preemption", "switching", "blocking", "spawn", "memory",
    "handoff", "convoy",
)

ITERATIONS_PER_CHUNK = 1_000_000
MASK = (1 << 64) - 1
# sum over c < n of chunk(c), as crates/lab/src/workloads/cpu_parallel.rs computes it.
CHECKSUMS = {4: 3_904_236_614, 8: 9_364_585_526}
WAIT = 0.1
TICK = 0.001
SAMPLE_EVERY = 0.005
BLOCKING_CALL = 0.2
SETTLE = 0.1
# The procpool runners' sizes (crates/lab/src/experiments/concurrency.rs and spawn.rs).
MP_WAITS_PER_WORKER = 8
MP_PROCESSES = 16


class CheckFailed(Exception):
    """A run's own check failed: its figures would be wrong."""


def chunk(c):
    x = c
    for _ in range(ITERATIONS_PER_CHUNK):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x >> 33


def fmt(value):
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class Figures:
    def __init__(self, peer, experiment):
        self.peer, self.experiment, self.lines = peer, experiment, []

    def add(self, metric, value, unit):
        self.lines.append(f"{self.peer} {self.experiment} {metric} {fmt(value)} {unit}")


def check(what, got, want):
    if got != want:
        raise CheckFailed(f"{what}: got {got}, want {want}")


# ---------------------------------------------------------------------------------- /proc


def status_field(path, name):
    with open(path) as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise CheckFailed(f"no {name} in {path}")


def os_threads():
    return status_field("/proc/self/status", "Threads")


def rss_bytes(pid="self"):
    return status_field(f"/proc/{pid}/status", "VmRSS") * 1024


def children_pss():
    """The proportional set size (Pss: of /proc/<pid>/smaps_rollup, in bytes) of each live child
    of this process: its private pages plus its share of the pages it shares."""
    me, sizes = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
            if int(text[text.rindex(")") + 2 :].split()[1]) != me:
                continue
            with open(f"/proc/{name}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        sizes.append(int(line.split()[1]) * 1024)
                        break
        except OSError:
            continue  # it exited meanwhile
    return sizes


def descendant_processes():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue  # it exited meanwhile
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    count, unvisited = 0, [os.getpid()]
    while unvisited:
        direct = children.pop(unvisited.pop(), [])
        count += len(direct)
        unvisited.extend(direct)
    return count


class Sampler:
    """A thread reading the thread and process counts every 5 ms; itself not counted."""

    def __init__(self):
        self.stop_flag = threading.Event()
        self.threads = self.processes = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            self.threads = max(self.threads, os_threads() - 1)
            self.processes = max(self.processes, descendant_processes())
            time.sleep(SAMPLE_EVERY)

    def stop(self):
        self.stop_flag.set()
        self.thread.join()
        return self.threads, self.processes


def in_flight_max(spans):
    # Ends sort before begins at the same instant: touching intervals do not overlap.
    edges = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


# ---------------------------------------------------------------------------- parallelism


def parallel_threads(chunks, workers):
    counter = iter(range(chunks))  # next() on a range iterator is atomic under the GIL
    sums = [0] * workers

    def worker(index):
        for c in counter:
            sums[index] += chunk(c)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sums)


def parallel_mp(chunks, workers):
    with multiprocessing.Pool(workers) as pool:
        return sum(pool.map(chunk, range(chunks)))


def parallel_asyncio(chunks, workers):
    async def main():
        counter = iter(range(chunks))

        async def worker():
            total = 0
            for c in counter:
                total += chunk(c)
                await asyncio.sleep(0)
            return total

        return sum(await asyncio.gather(*(worker() for _ in range(workers))))

    return asyncio.run(main())


def parallelism(figures, peer, quick, cores):
    chunks, reps = (4, 3) if quick else (8, 5)
    run = {"cpython-threads": parallel_threads, "cpython-mp": parallel_mp,
           "cpython-asyncio": parallel_asyncio}[peer]
    counts = range(1, max(cores, 1) + 1)
    best = {w: float("inf") for w in counts}
    for _ in range(reps):
        for workers in counts:
            started = time.perf_counter()
            got = run(chunks, workers)
            best[workers] = min(best[workers], time.perf_counter() - started)
            check(f"checksum of {chunks} chunks on {workers} workers", got, CHECKSUMS[chunks])
    for workers in counts:
        figures.add(f"wall_ms_w{workers}", best[workers] * 1e3, "ms")
        figures.add(f"speedup_w{workers}", best[1] / best[workers], "x")


# ---------------------------------------------------------------------------- concurrency


def timed_wait(base):
    begin = time.monotonic_ns() - base
    time.sleep(WAIT)
    return begin, time.monotonic_ns() - base


def concurrency(figures, peer, quick, cores):
    pool = None
    if peer == "cpython-mp":
        count = MP_WAITS_PER_WORKER * cores
        # The workers start before the clock and the sampler, as the procpool runner's do.
        pool = multiprocessing.Pool(cores)
    else:
        count = 2_000 if quick else 10_000
    sampler = Sampler()
    started = time.perf_counter()
    base = time.monotonic_ns()  # CLOCK_MONOTONIC: one clock for every process of the machine
    if peer == "cpython-threads":
        spans = []

        def wait():
            spans.append(timed_wait(base))  # list.append is atomic under the GIL

        threads = [threading.Thread(target=wait) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif peer == "cpython-asyncio":
        async def wait():
            begin = time.monotonic_ns() - base
            await asyncio.sleep(WAIT)
            return begin, time.monotonic_ns() - base

        async def main():
            return await asyncio.gather(*(wait() for _ in range(count)))

        spans = asyncio.run(main())
    else:
        spans = pool.map(timed_wait, [base] * count, chunksize=1)
    wall = time.perf_counter() - started
    threads, processes = sampler.stop()
    if pool is not None:
        pool.close()
        pool.join()
    check("waits finished", len(spans), count)
    for begin, end in spans:
        if end - begin < WAIT * 1e9:
            raise CheckFailed(f"a wait of {WAIT} s returned after {(end - begin) / 1e9} s")
    figures.add("tasks", count, "count")
    figures.add("wall_ms", wall * 1e3, "ms")
    figures.add("floor_ms", WAIT * 1e3, "ms")
    figures.add("in_flight_max", in_flight_max(spans), "count")
    figures.add("os_threads_max", threads, "count")
    figures.add("processes_max", processes, "count")


# ------------------------------------------------------------------- preemption, blocking


def spin(duration):
    """A pure-Python hog: no await, no sleep, no call that releases the GIL; it reads the clock
    every 1,024 steps, as the Rust hog does."""
    started = time.perf_counter()
    x = 1
    while time.perf_counter() - started < duration:
        for _ in range(1024):
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return time.perf_counter() - started


def block(duration):
    started = time.perf_counter()
    time.sleep(duration)
    return time.perf_counter() - started


class Ticker:
    """Sleeps 1 ms in a loop until `done()` says stop; records its worst lateness."""

    def __init__(self):
        self.worst, self.ticks, self.early = 0.0, 0, False

    def tick_once(self, took):
        self.early |= took < TICK
        self.worst = max(self.worst, took - TICK)
        self.ticks += 1

    def run(self, done, asleep=None):
        while True:
            t0 = time.perf_counter()
            if asleep is not None:
                asleep.set()
                asleep = None
            time.sleep(TICK)
            self.tick_once(time.perf_counter() - t0)
            if done():
                return


def child_busy(kind, duration, conn, cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    conn.send(("started", None))
    conn.send(("done", (spin if kind == "spin" else block)(duration)))
    conn.close()


def beside_ticker(peer, kind, duration):
    """Runs the busy task (`spin` or `block`) for `duration` beside a ticker; returns the ticker
    and how long the busy task took."""
    busy = spin if kind == "spin" else block
    ticker = Ticker()
    if peer == "cpython-threads":
        finished = threading.Event()
        asleep = threading.Event()
        thread = threading.Thread(target=ticker.run, args=(finished.is_set, asleep))
        thread.start()
        asleep.wait()  # the ticker is in its first sleep before the busy task starts
        took = busy(duration)
        finished.set()
        thread.join()
        return ticker, took
    if peer == "cpython-asyncio":
        async def main():
            finished = False

            async def tick():
                while True:
                    t0 = time.perf_counter()
                    await asyncio.sleep(TICK)
                    ticker.tick_once(time.perf_counter() - t0)
                    if finished:
                        return

            async def busy_task():
                nonlocal finished
                took = busy(duration)
                finished = True
                return took

            ticking = asyncio.create_task(tick())
            took = await asyncio.create_task(busy_task())
            await ticking
            return took

        return ticker, asyncio.run(main())
    # cpython-mp: the busy task in a worker process, the ticker here.
    cpu = None
    if kind == "spin":
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=child_busy, args=(kind, duration, child, cpu))
    process.start()
    child.close()
    tag, _ = parent.recv()
    check("the worker's first message", tag, "started")
    ticker.run(parent.poll)
    tag, took = parent.recv()
    check("the worker's second message", tag, "done")
    process.join()
    check("the worker's exit code", process.exitcode, 0)
    return ticker, took


def preemption(figures, peer, quick, cores, kind="spin"):
    duration = (0.1 if quick else 0.2) if kind == "spin" else BLOCKING_CALL
    ticker, took = beside_ticker(peer, kind, duration)
    check("the busy task lasted its time", took >= duration, True)
    check("the ticker ticked and never early", ticker.ticks > 0 and not ticker.early, True)
    figures.add("worst_tick_delay_ms", ticker.worst * 1e3, "ms")
    figures.add("hog_ms" if kind == "spin" else "call_ms", took * 1e3, "ms")
    figures.add("ticks", ticker.ticks, "count")


def blocking(figures, peer, quick, cores):
    preemption(figures, peer, quick, cores, kind="block")


# ------------------------------------------------------------------------------ switching


def echo_queue(ping, pong):
    while (value := ping.get()) is not None:
        pong.put(value)


def thread_round_trips(count):
    """Hands 0 .. count-1 to a thread over one queue and takes each back over another; returns
    the sum of what came back and the nanoseconds it took (switching and handoff share it)."""
    ping, pong = queue.Queue(), queue.Queue()
    echo = threading.Thread(target=echo_queue, args=(ping, pong))
    echo.start()
    started = time.perf_counter_ns()
    total = 0
    for i in range(count):
        ping.put(i)
        total += pong.get()
    elapsed = time.perf_counter_ns() - started
    ping.put(None)
    echo.join()
    return total, elapsed


def echo_value(value):
    return value


def switching(figures, peer, quick, cores):
    yields, rounds = {
        "cpython-threads": (10_000, 10_000),
        "cpython-asyncio": (100_000, 50_000),
        "cpython-mp": (1_000_000, 2_000),
    }[peer]
    if quick:
        yields, rounds = yields // 5, rounds // 5
    if peer == "cpython-threads":
        started = time.perf_counter_ns()
        for _ in range(yields):
            time.sleep(0)
        yield_ns = time.perf_counter_ns() - started
        total, round_trip_ns = thread_round_trips(rounds)
    elif peer == "cpython-asyncio":
        async def main():
            started = time.perf_counter_ns()
            for _ in range(yields):
                await asyncio.sleep(0)
            yield_ns = time.perf_counter_ns() - started
            ping, pong = asyncio.Queue(), asyncio.Queue()

            async def echo():
                while (value := await ping.get()) is not None:
                    await pong.put(value)

            echoing = asyncio.create_task(echo())
            started = time.perf_counter_ns()
            total = 0
            for i in range(rounds):
                await ping.put(i)
                total += await pong.get()
            round_trip_ns = time.perf_counter_ns() - started
            await ping.put(None)
            await echoing
            return yield_ns, round_trip_ns, total

        yield_ns, round_trip_ns, total = asyncio.run(main())
    else:
        started = time.perf_counter_ns()
        for _ in range(yields):
            os.sched_yield()
        yield_ns = time.perf_counter_ns() - started
        with multiprocessing.Pool(1) as pool:
            # The worker is up and has served once before the clock starts.
            check("the worker's first echo", pool.apply_async(echo_value, (-1,)).get(), -1)
            started = time.perf_counter_ns()
            total = 0
            for i in range(rounds):
                total += pool.apply_async(echo_value, (i,)).get()
            round_trip_ns = time.perf_counter_ns() - started
    check("sum of the values bounced", total, rounds * (rounds - 1) // 2)
    figures.add("ns_per_yield", yield_ns / yields, "ns")
    figures.add("ns_per_round_trip", round_trip_ns / rounds, "ns")


# ---------------------------------------------------------------------------------- spawn


def empty():
    pass


def one(_index):
    return 1


def spawn(figures, peer, quick, cores):
    if peer == "cpython-threads":
        count = 2_000 if quick else 20_000
        started = time.perf_counter_ns()
        threads = [threading.Thread(target=empty) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter_ns() - started
        joined = sum(not thread.is_alive() for thread in threads)
    elif peer == "cpython-asyncio":
        count = 20_000 if quick else 200_000

        async def nothing():
            pass

        async def main():
            started = time.perf_counter_ns()
            tasks = [asyncio.create_task(nothing()) for _ in range(count)]
            joined = 0
            for task in tasks:
                await task
                joined += 1
            return joined, time.perf_counter_ns() - started

        # The loop is built before the clock starts: the cost of a task, not of a loop.
        joined, elapsed = asyncio.run(main())
    else:
        count = MP_PROCESSES
        started = time.perf_counter_ns()
        pool = multiprocessing.Pool(count)
        joined = sum(pool.map(one, range(count), chunksize=1))
        pool.close()
        pool.join()
        elapsed = time.perf_counter_ns() - started
    check("tasks joined", joined, count)
    figures.add("tasks", count, "count")
    figures.add("ns_per_task", elapsed / count, "ns")


# --------------------------------------------------------------------------------- memory


def wait_on(event, ready):
    ready.set()
    event.wait()


def memory(figures, peer, quick, cores):
    if peer == "cpython-threads":
        count = 1_000 if quick else 10_000
        gate = threading.Event()
        before = rss_bytes()
        started = [threading.Event() for _ in range(count)]
        threads = [threading.Thread(target=wait_on, args=(gate, s)) for s in started]
        for thread in threads:
            thread.start()
        for s in started:
            s.wait()
        time.sleep(SETTLE)  # the last ones reach gate.wait()
        growth = rss_bytes() - before
        gate.set()
        for thread in threads:
            thread.join()
        released = sum(not thread.is_alive() for thread in threads)
    elif peer == "cpython-asyncio":
        count = 10_000 if quick else 100_000
        before = rss_bytes()

        async def main():
            gate = asyncio.get_running_loop().create_future()

            async def waiter():
                await gate

            tasks = [asyncio.create_task(waiter()) for _ in range(count)]
            # One pass runs every task's first step: each then waits on the gate.
            await asyncio.sleep(0)
            at_rest = rss_bytes()
            gate.set_result(None)
            released = 0
            for task in tasks:
                await task
                released += 1
            return released, at_rest

        released, at_rest = asyncio.run(main())
        growth = at_rest - before
    else:
        count = cores
        with multiprocessing.Pool(count) as pool:
            released = sum(pool.map(one, range(count), chunksize=1))
            sizes = children_pss()
        check("worker processes measured", len(sizes), count)
        growth = sum(sizes)
    check("tasks released", released, count)
    figures.add("tasks", count, "count")
    figures.add("bytes_per_task", growth / count, "B")


# -------------------------------------------------------------------------------- handoff


def handed_off(n):
    return n


def handoff(figures, peer, quick, cores):
    count = 2_000 if quick else 20_000
    if peer == "cpython-threads":
        total, elapsed = thread_round_trips(count)
    elif peer == "cpython-asyncio":
        async def main():
            loop = asyncio.get_running_loop()
            started = time.perf_counter_ns()
            total = 0
            for n in range(count):
                total += await loop.run_in_executor(None, handed_off, n)
            return total, time.perf_counter_ns() - started

        total, elapsed = asyncio.run(main())
    else:
        with multiprocessing.Pool(cores) as pool:
            # The workers start before the clock, as the procpool runner's do.
            started = time.perf_counter_ns()
            total = sum(pool.map(handed_off, range(count), chunksize=1))
            elapsed = time.perf_counter_ns() - started
    check("sum of the values handed back", total, count * (count - 1) // 2)
    figures.add("tasks", count, "count")
    figures.add("us_per_task", elapsed / 1e3 / count, "us")


# --------------------------------------------------------------------------------- convoy

ECHO_DELAY = 0.0005
WORD = 8


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def echo_words(listener):
    """The echo server's process: one connection, each word back after ECHO_DELAY."""
    conn, _ = listener.accept()
    listener.close()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while (word := recv_exactly(conn, WORD)) is not None:
        time.sleep(ECHO_DELAY)
        conn.sendall(word)


def start_echo():
    listener = socket.create_server(("127.0.0.1", 0))
    server = multiprocessing.Process(target=echo_words, args=(listener,))
    server.start()
    addr = listener.getsockname()
    listener.close()
    return server, addr


def lcg_until(stopped, started):
    """The spinner: a pure-Python LCG loop until `stopped()`; `started()` first."""
    started()
    x, steps = 1, 0
    while not stopped():
        for _ in range(100):
            x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        steps += 100
    return steps


MP_FLAGS = None


def mp_flags_init(flags):
    global MP_FLAGS
    MP_FLAGS = flags


def mp_spin():
    started, stop = MP_FLAGS
    return lcg_until(lambda: stop.value, lambda: setattr(started, "value", 1))


def round_trips(addr, rounds):
    sock = socket.create_connection(addr)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    started = time.perf_counter()
    total = 0
    for i in range(rounds):
        sock.sendall(i.to_bytes(WORD, "little"))
        word = recv_exactly(sock, WORD)
        if word is None:
            raise CheckFailed("the echo server closed the connection")
        total += int.from_bytes(word, "little")
    elapsed = time.perf_counter() - started
    sock.close()
    return total, elapsed


async def asyncio_round_trips(addr, rounds):
    reader, writer = await asyncio.open_connection(*addr)
    started = time.perf_counter()
    total = 0
    for i in range(rounds):
        writer.write(i.to_bytes(WORD, "little"))
        await writer.drain()
        total += int.from_bytes(await reader.readexactly(WORD), "little")
    elapsed = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    return total, elapsed


def wait_for(flag):
    deadline = time.perf_counter() + 10
    while not flag():
        if time.perf_counter() > deadline:
            raise CheckFailed("the CPU-bound task did not start")
        time.sleep(0.001)


def convoy_phase(peer, rounds, spinner, pool, flags):
    server, addr = start_echo()
    if peer == "cpython-threads":
        stop, started = threading.Event(), threading.Event()
        thread = None
        if spinner:
            thread = threading.Thread(target=lcg_until, args=(stop.is_set, started.set))
            thread.start()
            wait_for(started.is_set)
        try:
            total, elapsed = round_trips(addr, rounds)
        finally:
            stop.set()
            if thread is not None:
                thread.join()
    elif peer == "cpython-asyncio":
        async def main():
            loop = asyncio.get_running_loop()
            stop, started = threading.Event(), threading.Event()
            spinning = None
            if spinner:
                spinning = loop.run_in_executor(None, lcg_until, stop.is_set, started.set)
                deadline = time.perf_counter() + 10
                while not started.is_set():
                    if time.perf_counter() > deadline:
                        raise CheckFailed("the CPU-bound task did not start")
                    await asyncio.sleep(0.001)
            try:
                return await asyncio_round_trips(addr, rounds)
            finally:
                stop.set()
                if spinning is not None:
                    await spinning

        total, elapsed = asyncio.run(main())
    else:
        started, stop = flags
        started.value, stop.value = 0, 0
        job = None
        if spinner:
            job = pool.apply_async(mp_spin)
            wait_for(lambda: started.value or job.ready())
        try:
            total, elapsed = round_trips(addr, rounds)
        finally:
            stop.value = 1
            if job is not None:
                job.get(10)
    server.join()
    check("sum of the words echoed", total, rounds * (rounds - 1) // 2)
    return elapsed / rounds


def convoy(figures, peer, quick, cores):
    rounds = 40 if quick else 200
    pool, flags = None, None
    if peer == "cpython-mp":
        flags = (multiprocessing.RawValue("b", 0), multiprocessing.RawValue("b", 0))
        pool = multiprocessing.Pool(1, initializer=mp_flags_init, initargs=(flags,))
    try:
        alone = convoy_phase(peer, rounds, False, pool, flags)
        loaded = convoy_phase(peer, rounds, True, pool, flags)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    figures.add("round_trips", rounds, "count")
    figures.add("ms_per_rt_alone", alone * 1e3, "ms")
    figures.add("ms_per_rt_loaded", loaded * 1e3, "ms")
    figures.add("slowdown", loaded / alone, "x")


# ----------------------------------------------------------------------------------- main


RUNNERS = {
    "parallelism": parallelism, "concurrency": concurrency, "preemption": preemption,
    "switching": switching, "blocking": blocking, "spawn": spawn, "memory": memory,
    "handoff": handoff, "convoy": convoy,
}


def usage(message):
    print(f"experiments.py: {message}\nusage: experiments.py <peer> <experiment> [--quick] "
          f"[--cores N]\n  peers: {', '.join(PEERS)}\n  experiments: {', '.join(EXPERIMENTS)}",
          file=sys.stderr)
    sys.exit(2)


def parse(argv):
    words, quick, cores = [], False, len(os.sched_getaffinity(0))
    args = iter(argv)
    for arg in args:
        if arg == "--quick":
            quick = True
        elif arg == "--cores" or arg.startswith("--cores="):
            value = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if value is None or not value.isdigit() or int(value) < 1:
                usage(f"--cores {value!r}: expected a whole number of at least 1")
            cores = int(value)
        elif arg.startswith("-"):
            usage(f"unknown flag {arg!r}")
        else:
            words.append(arg)
    if len(words) != 2:
        usage("expected a peer and an experiment")
    peer, experiment = words
    if peer not in PEERS:
        usage(f"unknown peer {peer!r}")
    if experiment not in EXPERIMENTS:
        usage(f"unknown experiment {experiment!r}")
    return peer, experiment, quick, cores


def main():
    peer, experiment, quick, cores = parse(sys.argv[1:])
    figures = Figures(peer, experiment)
    try:
        RUNNERS[experiment](figures, peer, quick, cores)
    except CheckFailed as error:
        print(f"experiments.py: {peer} {experiment}: check failed: {error}", file=sys.stderr)
        sys.exit(1)
    print("\n".join(figures.lines), flush=True)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
