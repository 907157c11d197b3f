#!/usr/bin/env bash
# TCP echo before and after a change, beside Tokio and Go: a baseline `schedlab` (built from an
# earlier commit), this tree's, Tokio's server (peers/tokio) and Go's (peers/go) take turns under
# the shared load generator (peers/go/loadgen) at 100, 1,000 and 1 connections, round after
# round, so that a shared machine's load falls on all of them alike. Each run is 3 s after the
# load generator's 0.5 s warm-up. Per run it prints:
#
#   SERVER cCONNS ROUND_TRIPS_PER_S CPU_US_PER_ROUND_TRIP EPOLL_PER_ROUND_TRIP p50 .. us, p99 .. us
#
# CPU is the server's user + system time over the run (warm-up included) per round trip; EPOLL
# counts its `epoll_wait`/`epoll_pwait` calls (`perf stat` on the syscall tracepoints; "-" where
# perf cannot read them) per round trip.
#
#   crates/goroutines/benchmarks/echo-ab.sh BASE_SCHEDLAB [rounds]
#
# A baseline binary: `git archive <commit> crates Cargo.toml Cargo.lock | tar -x -C /tmp/base`
# and `CARGO_TARGET_DIR=/tmp/base/target cargo build --release -p lab` there. Default: 3 rounds.
# Honours CARGO_TARGET_DIR. Lines go to stdout and to results/echo-ab-runs.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
base="${1:?usage: echo-ab.sh BASE_SCHEDLAB [rounds]}"
rounds="${2:-3}"
this="${CARGO_TARGET_DIR:-$root/target}/release/schedlab"
tokio="$root/peers/tokio/target/release/tokio-peer"
gobench="$root/peers/go/build/bench"
cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
cargo build --release -q --manifest-path "$root/peers/tokio/Cargo.toml"
loadgen="$("$root/peers/go/loadgen.sh")"
mkdir -p "$here/results"
tmp="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# one NAME CONNS COMMAND...: serves with COMMAND, drives it, prints the run's line.
one() {
    local name="$1" conns="$2" port=""
    shift 2
    # Empty the file first: the server's shell truncates it only once it has forked, and a
    # read before that would find the previous server's port.
    : >"$tmp/port"
    "$@" >"$tmp/port" &
    server=$!
    for _ in $(seq 200); do
        port="$(awk '$1 == "PORT" { print $2; exit }' "$tmp/port")"
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "$name: no port" >&2; exit 1; }
    local before after
    before="$(cpu_ticks "$server")"
    perf stat -x, -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait \
        -p "$server" -o "$tmp/perf" -- sleep 3.4 >/dev/null 2>&1 &
    local perf=$!
    "$loadgen" -addr "127.0.0.1:$port" -conns "$conns" -msg 64 -duration 3s \
        -model "$name" >"$tmp/loadgen" 2>"$tmp/loadgen.err"
    wait "$perf" || true
    after="$(cpu_ticks "$server")"
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
    awk -v name="$name" -v conns="$conns" -v ticks="$((after - before))" \
        -v hz="$(getconf CLK_TCK)" -v perf="$tmp/perf" -v err="$tmp/loadgen.err" '
        $3 == "round_trips_per_s" { rate = $4 }
        END {
            trips = rate * 3.5
            while ((getline line < perf) > 0) {
                split(line, f, ",")
                if (f[3] ~ /epoll/ && f[1] ~ /^[0-9]+$/) { calls += f[1]; seen = 1 }
            }
            while ((getline line < err) > 0) {
                if (match(line, /p50 [0-9.]+ us, p99 [0-9.]+ us/)) lat = substr(line, RSTART, RLENGTH)
            }
            printf "%s c%s %.1f %.2f %s %s\n", name, conns, rate, ticks / hz * 1e6 / trips,
                seen ? sprintf("%.3f", calls / trips) : "-", lat
        }' "$tmp/loadgen"
}

for round in $(seq "$rounds"); do
    echo "# round $round load $(cut -d' ' -f1 /proc/loadavg)"
    for conns in 100 1000 1; do
        one base "$conns" "$base" serve goroutines echo --addr 127.0.0.1:0
        one this "$conns" "$this" serve goroutines echo --addr 127.0.0.1:0
        one tokio "$conns" "$tokio" serve-echo --addr 127.0.0.1:0
        one go "$conns" "$gobench" serve-echo -addr 127.0.0.1:0
    done
done | tee "$here/results/echo-ab-runs.txt"
