"""What the peers' benchmark scripts (bench_mp.py, bench_threads.py, bench_asyncio.py) share:
their command line, the checksum check, and one workload's runs turned into result lines
(`<model> <workload> <metric> <median> <unit>` on stdout, each run's values on stderr), the
format the lab prints for our models (DESIGN.md)."""

import argparse
import statistics
import sys


def parser(description):
    """The common command line: workloads (or `all`), --reps, --size-scale."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("workloads", nargs="*", default=["all"])
    args.add_argument("--reps", type=int, default=3)
    args.add_argument("--size-scale", type=float, default=1.0)
    return args


def workload_names(prog, requested, workloads):
    """The workloads to run, in order; exits with a message naming an unknown one."""
    names = list(workloads) if requested == ["all"] else requested
    for name in names:
        if name not in workloads:
            sys.exit(f"{prog}: unknown workload {name!r} (known: {', '.join(workloads)}, all)")
    return names


def check(prog, workload, size, got, want):
    """Exits with a message if a workload's checksum is wrong."""
    if got != want:
        sys.exit(f"{prog}: {workload}: wrong checksum at size {size}: got {got}, want {want}")


def fmt(value):
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def report(model, name, run, reps, procs=None):
    """Runs `run()` (which returns [(metric, value, unit), ...]) once to warm up, then `reps`
    times, and prints the median of each figure as a result line, each run's values on stderr;
    with `procs`, first the `procs` line."""
    run()  # warm-up
    runs = [run() for _ in range(reps)]
    if procs is not None:
        print(f"{model} {name} procs {procs} count", flush=True)
    for index, (metric, _, unit) in enumerate(runs[0]):
        values = [figures[index][1] for figures in runs]
        print(f"bench: {name} {metric} runs {[round(v, 3) for v in values]} {unit}", file=sys.stderr)
        print(f"{model} {name} {metric} {fmt(statistics.median(values))} {unit}", flush=True)
