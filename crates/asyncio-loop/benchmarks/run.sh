#!/usr/bin/env bash
# Runs the asyncio-loop benchmarks (`schedlab bench asyncio-loop`) and the same workloads on
# CPython's asyncio and on uvloop (peers/python/bench_asyncio.py; uvloop is installed into
# .py-peers by peers/python/install-uvloop.sh when missing), one after the other in one run on
# this machine, and prints them as result lines followed by side-by-side tables.
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
schedlab="${CARGO_TARGET_DIR:-$root/target}/release/schedlab"
uvloop_python="$("$root/peers/python/install-uvloop.sh")"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(python3 --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$schedlab" bench asyncio-loop "${@:-all}"
    python3 "$root/peers/python/bench_asyncio.py" "${@:-all}"
    "$uvloop_python" "$root/peers/python/bench_asyncio.py" --loop uvloop "${@:-all}"
} | tee "$out"
python3 "$root/scripts/table.py" --ours asyncio-loop --peer cpython-asyncio "$out"
python3 "$root/scripts/table.py" --ours asyncio-loop --peer uvloop "$out"
