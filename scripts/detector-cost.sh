#!/usr/bin/env bash
# What the detectors cost, by wall clock, on every traffic shape of
# benches/compare.sh: `netsec analyze` with every detector against the same
# run with --no-detect, one thread, every log written to a tmpfs.
#
#   scripts/detector-cost.sh                 # every shape, ~300 MB each
#   SHAPES="scan dns" SIZE_MB=1000 scripts/detector-cost.sh
#
# Each shape's base is target/bench/base-SHAPE.pcap, as compare.sh names it
# (recorded with scripts/record-sample.sh and the shape's PROFILE when
# missing, which needs root), replicated by make-capture to about SIZE_MB
# into target/bench/detcost-SHAPE.pcap. After a warm-up read, three runs with
# every detector alternate with three without; the best of each is kept.
# Run it on a quiet machine: the load average is printed at the start and
# the end. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-300}
SHAPES=${SHAPES:-bulk short dns web scan mixed}
BENCH=target/bench
OUT=${OUT_DIR:-/dev/shm/netsec-detector-cost}
mkdir -p "$BENCH"

cargo build --release -p netsec-cli -p netsec-bench >/dev/null 2>&1 || cargo build --release -p netsec-cli -p netsec-bench
NETSEC=target/release/netsec
MAKE=target/release/make-capture

profile_of() { case $1 in mixed) echo bench ;; *) echo "$1" ;; esac; }

timed() { # file, extra args...: wall-clock seconds of one run
    local file=$1 start end
    shift
    rm -rf "$OUT"
    start=$(date +%s.%N)
    "$NETSEC" analyze "$file" --threads 1 --no-progress --out "$OUT" "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

min_of() { python3 -c "import sys; print(min(sys.argv[1:], key=float))" "$@"; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"
echo
echo "| shape | size | every detector | --no-detect | detectors keep |"
echo "|---|---:|---:|---:|---:|"
for shape in $SHAPES; do
    base=$BENCH/base-$shape.pcap
    if [ ! -f "$base" ]; then
        PROFILE=$(profile_of "$shape") SSH_OPTIONAL=1 scripts/record-sample.sh "$base" >&2
    fi
    base_bytes=$(stat -L -c %s "$base")
    copies=$(( (SIZE_MB * 1000000 + base_bytes - 1) / base_bytes ))
    file=$BENCH/detcost-$shape.pcap
    "$MAKE" "$base" "$copies" "$file" >&2
    cat "$file" >/dev/null
    # The two configurations alternate, so that a change of the machine's
    # speed during the run (seen here: 1.7x within minutes) meets both alike.
    withs=() withouts=()
    for _ in 1 2 3; do
        withs+=("$(timed "$file")")
        withouts+=("$(timed "$file" --no-detect)")
    done
    with=$(min_of "${withs[@]}")
    without=$(min_of "${withouts[@]}")
    keep=$(python3 -c "print(f'{100 * $without / $with:.0f} %')")
    echo "| $shape | $(( $(stat -c %s "$file") / 1000000 )) MB | $with s | $without s | $keep |"
done
rm -rf "$OUT"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
