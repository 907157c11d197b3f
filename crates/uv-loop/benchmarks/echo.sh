#!/usr/bin/env bash
# The echo benchmarks (echo-c100, echo-c1000) for uv-loop and Node, one after the other in one
# run: each server (crates/uv-loop/examples/echo.rs, peers/node/serve_echo.js) is started, and
# the shared Go load generator (peers/go/loadgen, built by peers/go/loadgen.sh) drives it for
# 3 s per repetition (3 repetitions) at 100 and 1000 connections with 64-byte messages.
# Prints result lines; honours CARGO_TARGET_DIR and SCHEDLAB_LOADGEN.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
loadgen="${SCHEDLAB_LOADGEN:-$(GO_NO_INSTALL=1 "$root/peers/go/loadgen.sh")}"
cargo build --release -q -p uv-loop --example echo --manifest-path "$root/Cargo.toml"

serve_and_measure() { # model, server command...
    local model="$1"; shift
    local fifo; fifo="$(mktemp -u)"; mkfifo "$fifo"
    "$@" > "$fifo" & local pid=$!
    local port; read -r _ port < "$fifo"; rm -f "$fifo"
    for conns in 100 1000; do
        for _ in 1 2 3; do
            "$loadgen" -addr "127.0.0.1:$port" -conns "$conns" -msg 64 -duration 3s -model "$model" \
                | sed "s/ echo / echo-c$conns /"
        done
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
}
serve_and_measure uv-loop "$target/release/examples/echo"
serve_and_measure node node "$root/peers/node/serve_echo.js"
