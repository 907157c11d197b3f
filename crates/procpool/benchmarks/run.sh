#!/usr/bin/env bash
# Runs the procpool benchmarks (`schedlab bench procpool`) and the same workloads on CPython's
# multiprocessing (peers/python/bench_mp.py), one after the other in one run on this machine.
#
#   crates/procpool/benchmarks/run.sh [workload...]     (default: all)
#
# Result lines (`<model> <workload> <metric> <value> <unit>`) go to
# crates/procpool/benchmarks/results/latest.txt as well; per-run values go to stderr.
# Honours CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$here/results"
out="$here/results/latest.txt"

cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(python3 --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$target/release/schedlab" bench procpool "${@:-all}"
    python3 "$root/peers/python/bench_mp.py" "${@:-all}"
} | tee "$out"
