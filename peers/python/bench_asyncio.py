#!/usr/bin/env python3
"""schedlab's asyncio-loop workloads on CPython's asyncio (the peer of `schedlab bench asyncio-loop`).

Prints one result line per figure, `cpython-asyncio <workload> <metric> <value> <unit>`, the median
of 3 runs after 1 warm-up (per-run values go to stderr). Workloads and checksums are the lab's
(crates/lab/src/workloads/):

  callsoon-chain  1,000,000 callbacks, each schedules the next with call_soon  callbacks_per_s
  sleepers        100,000 tasks each asyncio.sleep(0.1), gathered; every run  wall_ms, peak_rss_mib
                  in a fresh child process (VmHWM from /proc/self/status)
  pingpong        100,000 round trips between two tasks over two unbounded    ns_per_round_trip
                  asyncio.Queue()s (maxsize=0)

Usage: bench_asyncio.py [--reps R] [--size-scale F] [--loop asyncio|uvloop] [workload ... | all]
`--loop asyncio` (the default) runs on CPython's default event loop, model `cpython-asyncio`;
`--loop uvloop` sets uvloop's event loop policy first (uvloop must be importable: run it with the
python that peers/python/install-uvloop.sh prints) and reports model `uvloop`.
"""

import argparse
import asyncio
import subprocess
import sys
import time

import benchlib

MODEL = "cpython-asyncio"
MODELS = {"asyncio": "cpython-asyncio", "uvloop": "uvloop"}
LOOP = "asyncio"
SIZES = {"callsoon-chain": 1_000_000, "sleepers": 100_000, "pingpong": 100_000}


def sum_below(n):
    return n * (n - 1) // 2 if n > 0 else 0


def callsoon_chain(n):
    loop = asyncio.new_event_loop()
    total = 0

    def step(i):
        nonlocal total
        total += i
        if i + 1 < n:
            loop.call_soon(step, i + 1)
        else:
            loop.stop()

    try:
        started = time.perf_counter()
        loop.call_soon(step, 0)
        loop.run_forever()
        elapsed = time.perf_counter() - started
    finally:
        loop.close()
    check("callsoon-chain", n, total, sum_below(n))
    return [("callbacks_per_s", n / elapsed, "cb/s")]


def sleepers(n):
    async def main():
        results = await asyncio.gather(*[asyncio.sleep(0.1) for _ in range(n)])
        return len(results)

    started = time.perf_counter()
    joined = asyncio.run(main())
    elapsed = time.perf_counter() - started
    check("sleepers", n, joined, n)
    return [("wall_ms", elapsed * 1e3, "ms"), ("peak_rss_mib", peak_rss_mib(), "MiB")]


def pingpong(n):
    async def main():
        ping, pong = asyncio.Queue(), asyncio.Queue()

        async def echo():
            while (value := await ping.get()) is not None:
                await pong.put(value)

        echoer = asyncio.create_task(echo())
        total = 0
        for i in range(n):
            await ping.put(i)
            total += await pong.get()
        await ping.put(None)
        await echoer
        return total

    started = time.perf_counter()
    total = asyncio.run(main())
    elapsed = time.perf_counter() - started
    check("pingpong", n, total, sum_below(n))
    return [("ns_per_round_trip", elapsed * 1e9 / n, "ns")]


WORKLOADS = {"callsoon-chain": callsoon_chain, "sleepers": sleepers, "pingpong": pingpong}
FRESH_PROCESS = {"sleepers"}


def peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def check(workload, size, got, want):
    benchlib.check("bench_asyncio", workload, size, got, want)


def measure_in_child(workload, size):
    out = subprocess.run(
        [sys.executable, __file__, "--child", workload, "--size", str(size), "--loop", LOOP],
        check=True, capture_output=True, text=True,
    ).stdout
    figures = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 5 and fields[0] == MODEL and fields[1] == workload:
            figures.append((fields[2], float(fields[3]), fields[4]))
    if not figures:
        sys.exit(f"bench_asyncio: {workload}: child printed no result line")
    return figures


def main():
    parser = benchlib.parser(__doc__.splitlines()[0])
    parser.add_argument("--loop", choices=sorted(MODELS), default="asyncio")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global MODEL, LOOP
    MODEL, LOOP = MODELS[args.loop], args.loop
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    if args.child:
        (workload,) = args.workloads
        for metric, value, unit in WORKLOADS[workload](args.size):
            print(f"{MODEL} {workload} {metric} {value} {unit}")
        return

    for name in benchlib.workload_names("bench_asyncio", args.workloads, WORKLOADS):
        size = max(1, round(SIZES[name] * args.size_scale))
        if name in FRESH_PROCESS:
            run = lambda: measure_in_child(name, size)  # noqa: E731
        else:
            run = lambda: WORKLOADS[name](size)  # noqa: E731
        benchlib.report(MODEL, name, run, args.reps)


if __name__ == "__main__":
    main()
