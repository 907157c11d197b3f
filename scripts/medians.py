#!/usr/bin/env python3
"""Reads result lines (`<model> <workload> <metric> <value> <unit>`) collected over several rounds
and prints HEADER, then one line per figure with its median over the rounds, in the order the
figures first appear. Lines starting with `#` are skipped.

    scripts/medians.py RUNS HEADER [--runs-to-stderr]

With --runs-to-stderr, each figure's values over the rounds also go to stderr
(`# runs: <model> <workload> <metric> [v1 v2 ...]`). Used by the echo benchmarks
(crates/asyncio-loop/benchmarks/run-net.sh, crates/uv-loop/benchmarks/echo.sh)."""
import argparse
import statistics
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs")
    parser.add_argument("header")
    parser.add_argument("--runs-to-stderr", action="store_true")
    args = parser.parse_args()
    figures, order = {}, []
    with open(args.runs) as lines:
        for line in lines:
            parts = line.split()
            if len(parts) != 5 or line.startswith("#"):
                continue
            key = (parts[0], parts[1], parts[2], parts[4])
            if key not in figures:
                figures[key] = []
                order.append(key)
            figures[key].append(float(parts[3]))
    print(args.header)
    for key in order:
        model, workload, metric, unit = key
        print(f"{model} {workload} {metric} {statistics.median(figures[key]):.1f} {unit}")
        if args.runs_to_stderr:
            values = " ".join("%g" % v for v in figures[key])
            print(f"# runs: {model} {workload} {metric} [{values}]", file=sys.stderr)


if __name__ == "__main__":
    main()
