#!/usr/bin/env bash
# Runs the goroutines benchmarks and the same workloads in Go (peers/go), one after the other in
# one run on this machine, and prints both as result lines followed by a side-by-side table.
#
#   crates/goroutines/benchmarks/run.sh [workload...]     (default: all)
#
# Result lines (`<model> <workload> <metric> <value> <unit>`) go to
# crates/goroutines/benchmarks/results/latest.txt as well.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
mkdir -p "$here/results"
out="$here/results/latest.txt"

cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r)"
    "$root/target/release/schedlab" bench goroutines "${@:-all}"
    "$root/peers/go/run.sh" "${@:-all}"
} | tee "$out"
python3 "$root/scripts/table.py" --ours goroutines --peer go "$out"
