#!/usr/bin/env python3
"""Reads result lines (`<model> <workload> <metric> <value> <unit>`) and prints a markdown table
of goroutines against Go, with the ratio oriented so that below 1.0 means goroutines is ahead."""
import sys

HIGHER_IS_BETTER = {"mmsg_per_s", "round_trips_per_s", "throughput_ratio"}


def main(path):
    rows = {}
    order = []
    for line in open(path):
        parts = line.split()
        if len(parts) != 5 or parts[2] == "procs":
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
    print("| workload | metric | goroutines | Go | goroutines / Go (< 1: ahead) |")
    print("| --- | --- | --- | --- | --- |")
    for key in order:
        workload, metric, unit = key
        ours, go = rows[key].get("goroutines"), rows[key].get("go")
        if ours is None or go is None:
            continue
        ratio = go / ours if metric in HIGHER_IS_BETTER else ours / go
        print(f"| {workload} | {metric} | {ours:g} {unit} | {go:g} {unit} | {ratio:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/latest.txt")
