#!/usr/bin/env bash
# Installs Go (install.sh), builds the bench program into peers/go/build and
# runs it: `run.sh` runs every workload, `run.sh skynet pingpong` just those.
# Result lines go to stdout, everything else to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$("$here/install.sh")"

# Use only this toolchain and the standard library; never touch the network.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off
export GOROOT="$(dirname "$(dirname "$go")")"
export GOCACHE="${GOCACHE:-$here/build/cache}"

mkdir -p "$here/build"
(cd "$here" && "$go" build -o build/bench .) >&2
exec "$here/build/bench" "${@:-all}"
