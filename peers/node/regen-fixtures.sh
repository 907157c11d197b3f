#!/usr/bin/env bash
# Regenerates crates/uv-loop/tests/fixtures/*.txt from the real Node.
# Usage: peers/node/regen-fixtures.sh [node] [runs] [scenario...]   (default: every scenario)
# Each scenario of orderings.js runs `runs` times (default 20; 5x that for the scenarios whose
# order races a 1 ms timer against the loop's start, where the rarer order needs more runs to
# show); every distinct output is kept as one variant with its count, so a test can accept
# exactly the set Node shows.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
node="${1:-node}"
runs="${2:-20}"
fixtures="$here/../../crates/uv-loop/tests/fixtures"
mkdir -p "$fixtures"
version="$("$node" --version)"
shift $(( $# < 2 ? $# : 2 ))
for scenario in ${*:-$("$node" "$here/orderings.js" --list)}; do
    size=4
    if [ "$scenario" = pool_five ]; then size=5; fi
    count="$runs"
    case "$scenario" in top_level|uncaught_error) count=$((runs * 5)) ;; esac
    outputs="$(mktemp)"
    for _ in $(seq "$count"); do
        UV_THREADPOOL_SIZE=$size "$node" "$here/orderings.js" "$scenario" 2>/dev/null | tr '\n' '|' >> "$outputs" || true
        echo >> "$outputs"
    done
    {
        echo "# $scenario: recorded with Node $version (UV_THREADPOOL_SIZE=$size) by peers/node/regen-fixtures.sh, $count runs"
        total="$count"
        sort "$outputs" | uniq -c | sort -rn | while read -r seen line; do
            echo "# variant seen $seen/$total"
            echo "$line" | tr '|' '\n' | sed '/^$/d'
        done
    } > "$fixtures/$scenario.txt"
    rm -f "$outputs"
done
