#!/usr/bin/env bash
# Median and minimum wall time of several commands, run in turn round after
# round (A B C, A B C, ...) so that a machine whose speed drifts from one
# minute to the next treats them alike. docs/PERFORMANCE.md's hand
# comparisons ("interleaved runs") were taken with it.
#
#   scripts/interleaved-timing.sh ROUNDS 'command one' 'command two' ...
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 ROUNDS COMMAND..." >&2
    exit 2
fi
rounds=$1
shift
declare -a times
for _ in $(seq "$rounds"); do
    i=0
    for c in "$@"; do
        start=$(date +%s%N)
        bash -c "$c" >/dev/null 2>&1
        end=$(date +%s%N)
        times[i]="${times[i]:-} $(( (end - start) / 1000000 ))"
        i=$((i + 1))
    done
done
i=0
for c in "$@"; do
    # shellcheck disable=SC2086 # the list is split on purpose
    printf '%s\n' ${times[i]} | sort -n | awk -v cmd="$c" \
        '{a[NR] = $1} END {printf "median %d ms, min %d ms: %s\n", a[int((NR + 1) / 2)], a[1], cmd}'
    i=$((i + 1))
done
