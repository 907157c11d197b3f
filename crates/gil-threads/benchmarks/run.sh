#!/usr/bin/env bash
# Runs the gil-threads benchmarks (`schedlab bench gil-threads`) and the same workloads on
# CPython's threads (peers/python/bench_threads.py), one after the other in one run on this
# machine, and prints both as result lines.
#
#   crates/gil-threads/benchmarks/run.sh [workload...]     (default: all)
#
# Result lines (`<model> <workload> <metric> <value> <unit>`) go to
# crates/gil-threads/benchmarks/results/latest.txt as well; per-run values go to stderr.
# The lab builds into $CARGO_TARGET_DIR (default: target/).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$here/results"
out="$here/results/latest.txt"

cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(python3 --version)"
    "$target/release/schedlab" bench gil-threads "${@:-all}"
    python3 "$root/peers/python/bench_threads.py" "${@:-all}"
} | tee "$out"
