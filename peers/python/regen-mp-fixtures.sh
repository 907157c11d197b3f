#!/usr/bin/env bash
# Regenerates crates/procpool/tests/fixtures/*.txt from the real CPython (3.11 here).
# Usage: peers/python/regen-mp-fixtures.sh [python3]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
fixtures="$here/../../crates/procpool/tests/fixtures"
version="$("$python" -c 'import platform; print(platform.python_version())')"
mkdir -p "$fixtures"
for scenario in $("$python" "$here/mp_fixtures.py" --list); do
    lines="$("$python" "$here/mp_fixtures.py" "$scenario")"
    {
        echo "# $scenario: recorded with CPython $version by peers/python/regen-mp-fixtures.sh"
        echo "$lines"
    } > "$fixtures/$scenario.txt"
done
