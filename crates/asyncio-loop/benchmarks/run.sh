#!/usr/bin/env bash
# Runs the asyncio-loop benchmarks (`schedlab bench asyncio-loop`) and the same workloads on
# CPython's asyncio (peers/python/bench_asyncio.py), one after the other in one run on this
# machine, and prints both as result lines followed by a side-by-side table.
#
#   crates/asyncio-loop/benchmarks/run.sh [workload...]     (default: all)
#
# Result lines (`<model> <workload> <metric> <value> <unit>`) go to
# crates/asyncio-loop/benchmarks/results/latest.txt as well; per-run values go to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
mkdir -p "$here/results"
out="$here/results/latest.txt"

cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(python3 --version)"
    "$root/target/release/schedlab" bench asyncio-loop "${@:-all}"
    python3 "$root/peers/python/bench_asyncio.py" "${@:-all}"
} | tee "$out"
python3 "$root/scripts/table.py" --ours asyncio-loop --peer cpython-asyncio "$out"
