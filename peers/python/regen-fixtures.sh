#!/usr/bin/env bash
# Regenerates crates/asyncio-loop/tests/fixtures/*.txt from the real CPython.
# Usage: peers/python/regen-fixtures.sh [python3 [python3.12]]
# The first interpreter (default python3, 3.11 here) records the fixtures; the second (default
# python3.12 or pyenv's 3.12.1, when present) is run too, and the header says whether they agree.
# The second alone records the scenarios of asyncio312_orderings.py, which 3.11 cannot run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:-python3}"
python312="${2:-}"
if [ -z "$python312" ]; then
    for candidate in "$HOME/.pyenv/versions/3.12.1/bin/python3" python3.12; do
        if "$candidate" -c pass 2>/dev/null; then python312="$candidate"; break; fi
    done
fi
fixtures="$here/../../crates/asyncio-loop/tests/fixtures"
version() { "$1" -c 'import platform; print(platform.python_version())'; }
mkdir -p "$fixtures"
# asyncio_orderings.py: the loop, tasks and synchronization; asyncio_io_orderings.py: streams
# and transports; asyncio_sock_orderings.py: servers, connections and endpoints on sock=.
for script in asyncio_orderings.py asyncio_io_orderings.py asyncio_sock_orderings.py; do
for scenario in $("$python" "$here/$script" --list); do
    lines="$("$python" "$here/$script" "$scenario")"
    if [ -n "$python312" ]; then
        if [ "$lines" = "$("$python312" "$here/$script" "$scenario")" ]; then
            agreement="CPython $(version "$python312") prints the same lines."
        else
            agreement="CPython $(version "$python312") DIFFERS; see $script."
        fi
    else
        agreement="not checked against CPython 3.12 (not installed)."
    fi
    {
        echo "# $scenario: recorded with CPython $(version "$python") by peers/python/regen-fixtures.sh"
        echo "# $agreement"
        echo "$lines"
    } > "$fixtures/$scenario.txt"
done
done
# asyncio312_orderings.py: what only 3.12 has (eager tasks), recorded with the 3.12 interpreter.
if [ -n "$python312" ]; then
    for scenario in $("$python312" "$here/asyncio312_orderings.py" --list); do
        {
            echo "# $scenario: recorded with CPython $(version "$python312") by peers/python/regen-fixtures.sh"
            echo "# CPython $(version "$python") has no eager tasks; not checked against it."
            "$python312" "$here/asyncio312_orderings.py" "$scenario"
        } > "$fixtures/$scenario.txt"
    done
else
    echo "regen-fixtures.sh: no CPython 3.12; the asyncio312_orderings.py fixtures are left as they are" >&2
fi
"$here/regen-mp-fixtures.sh" "$python"  # procpool fixtures (crates/procpool/tests/fixtures)
