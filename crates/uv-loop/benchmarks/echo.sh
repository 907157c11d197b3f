#!/usr/bin/env bash
# The echo benchmarks (echo-c100, echo-c1000) for uv-loop and Node in one run on this machine:
# the uv-loop server (`schedlab serve uv-loop echo`, crates/lab/src/workloads/echo.rs; the same
# server as crates/uv-loop/examples/echo.rs) and Node's (peers/node/serve_echo.js)
# take turns, round after round (ROUNDS, default 3), each driven by the shared Go load generator
# (peers/go/loadgen, built by peers/go/loadgen.sh) through peers/go/echo-model.sh: 100 and
# 1,000 connections, 64-byte messages, one 3 s run each after the load generator's 0.5 s
# warm-up (ECHO_DURATION overrides: 10s). Beside round_trips_per_s and p99_us, each server's
# CPU time per round trip (server_cpu_us_per_round_trip: its user + system time over the load
# generator's whole run, divided by the round trips of that run) says what a round trip costs
# the server whatever else the machine is running.
#
#   crates/uv-loop/benchmarks/echo.sh
#
# Every run's lines go to stderr and to results/echo-runs.txt; the median of each figure over
# the rounds goes to stdout and to results/echo-latest.txt, then the table of uv-loop against
# Node. Honours CARGO_TARGET_DIR and SCHEDLAB_LOADGEN (a load generator already built).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
duration="${ECHO_DURATION:-3s}"
rounds="${ROUNDS:-3}"
mkdir -p "$here/results"
runs="$here/results/echo-runs.txt"
out="$here/results/echo-latest.txt"

log() { echo "echo.sh: $*" >&2; }

log "building"
cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
schedlab="${CARGO_TARGET_DIR:-$root/target}/release/schedlab"
loadgen="${SCHEDLAB_LOADGEN:-$(GO_NO_INSTALL=1 "$root/peers/go/loadgen.sh")}"

# shellcheck source=../../../peers/go/echo-model.sh
source "$root/peers/go/echo-model.sh"
echo_model_begin

header="# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), node $(node --version); echo: median of $rounds rounds of one ${duration} run each"
{
	echo "$header"
	for round in $(seq "$rounds"); do
		echo "# round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
		echo_model uv-loop "$schedlab" serve uv-loop echo --addr 127.0.0.1:0
		echo_model node node "$root/peers/node/serve_echo.js" --addr 127.0.0.1:0
	done
} | tee "$runs" >&2
python3 "$root/scripts/medians.py" "$runs" "$header" --runs-to-stderr | tee "$out"
python3 "$root/scripts/table.py" --ours uv-loop --peer node "$out"
