#!/usr/bin/env bash
# Installs uvloop 0.21+ from PyPI into a venv at <repo>/.py-peers (gitignored), unless it is there,
# and prints the venv's python on stdout. Diagnostics go to stderr. Override the folder with
# PY_PEERS_VENV.
#
#   python="$(peers/python/install-uvloop.sh)"; "$python" peers/python/echo_servers.py uvloop-protocol
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PY_PEERS_VENV:-$(cd "$here/../.." && pwd)/.py-peers}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import uvloop' 2>/dev/null; then
	echo "$venv/bin/python"
	exit 0
fi
echo "install-uvloop.sh: installing uvloop into $venv" >&2
python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'uvloop>=0.21' >&2
"$venv/bin/python" -c 'import uvloop; print("install-uvloop.sh: uvloop", uvloop.__version__)' >&2
echo "$venv/bin/python"
