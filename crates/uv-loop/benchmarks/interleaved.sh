#!/usr/bin/env bash
# Before/after on a loaded machine: runs a baseline `schedlab` (built from an earlier commit),
# this tree's `schedlab` and the real Node, one after the other for each workload, for several
# rounds, and prints each round's figures and then, per workload, the median over rounds of
# each ratio taken within a round (so that all three saw the same minute's load).
#
#   crates/uv-loop/benchmarks/interleaved.sh BASE_SCHEDLAB [rounds] [workload...]
#
# A baseline binary: `git archive <commit> | tar -x -C /tmp/base` and
# `CARGO_TARGET_DIR=... cargo build --release -p lab` there. Default: 5 rounds of
# immediate-chain, promise-chain and pingpong. Honours CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
base="${1:?usage: interleaved.sh BASE_SCHEDLAB [rounds] [workload...]}"
rounds="${2:-5}"
shift $(($# < 2 ? $# : 2))
workloads=("${@:-immediate-chain promise-chain pingpong}")
cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"

for round in $(seq "$rounds"); do
    echo "round $round load $(cut -d' ' -f1 /proc/loadavg)"
    for workload in ${workloads[*]}; do
        "$base" bench uv-loop "$workload" 2>/dev/null | grep -v ' procs ' | sed 's/^/base /'
        "$target/release/schedlab" bench uv-loop "$workload" 2>/dev/null | grep -v ' procs ' | sed 's/^/this /'
        node "$root/peers/node/bench.js" "$workload" 2>/dev/null | sed 's/^/node /'
    done
done | tee /dev/stderr | python3 -c '
import statistics, sys
rounds, current = [], None
for line in sys.stdin:
    fields = line.split()
    if fields[0] == "round":
        current = {}
        rounds.append(current)
    elif len(fields) == 6:
        current[(fields[0], fields[2], fields[3])] = float(fields[4])
keys = sorted({(w, m) for r in rounds for (_, w, m) in r}, key=str)
for workload, metric in keys:
    higher = metric.endswith("_per_s")
    def ratios(a, b):
        values = [r[(a, workload, metric)] / r[(b, workload, metric)] for r in rounds
                  if (a, workload, metric) in r and (b, workload, metric) in r]
        values = [v if higher else 1 / v for v in values]
        return "%.2fx [%s]" % (statistics.median(values), " ".join("%.2f" % v for v in values))
    print(f"{workload} {metric} (x better, median of rounds):")
    print("  this vs node ", ratios("this", "node"))
    print("  base vs node ", ratios("base", "node"))
    print("  this vs base ", ratios("this", "base"))
'
