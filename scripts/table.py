#!/usr/bin/env python3
"""Reads result lines (`<model> <workload> <metric> <value> <unit>`) and prints a markdown table of
one model against a peer, side by side, with how many times better the model is (> 1: ahead).

    scripts/table.py --ours MODEL --peer MODEL results.txt

Used by crates/goroutines/benchmarks/run.sh (goroutines against go) and
crates/asyncio-loop/benchmarks/run.sh (asyncio-loop against cpython-asyncio); any pair of models in the result-line contract (DESIGN.md) works. A metric is better
higher when it is a rate (`*_per_s`, `throughput_ratio`), lower otherwise (times, sizes)."""
import argparse


def higher_is_better(metric):
    return metric.endswith("_per_s") or metric == "throughput_ratio"


def read(path):
    rows, order = {}, []
    with open(path) as lines:
        for line in lines:
            parts = line.split()
            if len(parts) != 5 or parts[0].startswith("#") or parts[2] == "procs":
                continue
            model, workload, metric, value, unit = parts
            try:
                value = float(value)
            except ValueError:
                continue
            key = (workload, metric, unit)
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][model] = value
    return rows, order


def fmt(value):
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", required=True)
    parser.add_argument("--peer", required=True)
    parser.add_argument("path")
    args = parser.parse_args()
    rows, order = read(args.path)
    print(f"| workload | metric | {args.ours} | {args.peer} | {args.ours} vs {args.peer} (× better) |")
    print("| --- | --- | --- | --- | --- |")
    for key in order:
        workload, metric, unit = key
        ours, peer = rows[key].get(args.ours), rows[key].get(args.peer)
        if ours is None or peer is None:
            continue
        better = ours / peer if higher_is_better(metric) else peer / ours
        print(f"| {workload} | {metric} | {fmt(ours)} {unit} | {fmt(peer)} {unit} | {better:.2f}× |")


if __name__ == "__main__":
    main()
