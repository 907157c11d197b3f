#!/usr/bin/env bash
# Runs the uv-loop benchmarks (`schedlab bench uv-loop`) and the same workloads on the real Node
# (peers/node/bench.js) in one run on this machine, workload by workload (uv-loop, then Node,
# so that both see the same load), and prints both as result lines followed by a side-by-side
# table.
#
#   crates/uv-loop/benchmarks/run.sh [workload...]     (default: all five)
#
# Result lines (`<model> <workload> <metric> <value> <unit>`) go to
# crates/uv-loop/benchmarks/results/latest.txt as well; per-run values and the pbkdf2-pool
# completion times go to stderr. Honours CARGO_TARGET_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$here/results"
out="$here/results/latest.txt"

cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
workloads=("${@:-immediate-chain promise-chain sleepers pingpong pbkdf2-pool}")
{
    echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), node $(node --version)"
    for workload in ${workloads[*]}; do
        "$target/release/schedlab" bench uv-loop "$workload"
        node "$root/peers/node/bench.js" "$workload"
    done
} | tee "$out"
python3 "$root/scripts/table.py" --ours uv-loop --peer node "$out"
