#!/usr/bin/env bash
# Side-by-side performance of `netsec analyze` against tshark and Suricata on
# the same captures, in one run, on this machine. Writes docs/PERFORMANCE.md.
#
#   benches/compare.sh                    # every traffic shape, 1 GB each
#   SHAPES="mixed dns" benches/compare.sh # some shapes only
#   SIZE_GB=2 benches/compare.sh          # bigger captures
#   SIZE_MB=300 benches/compare.sh        # smaller ones (a quicker run)
#   SKIP_10GB=1 benches/compare.sh        # skip the 10 GB streaming RSS checks
#
# Needs: tshark, suricata (7, bookworm-backports), /usr/bin/time; root only to
# record a shape's base traffic (scripts/record-sample.sh with the shape's
# PROFILE) when target/bench/base-SHAPE.pcap does not exist yet.
#
# Traffic shapes. Each is a recorded base (real tools between two namespace
# hosts, scripts/record-sample.sh) replicated by make-capture into distinct
# hosts and times until it is at least SIZE_MB (SIZE_GB x 1000):
#   mixed  DNS, HTTP, HTTPS, SSH, a 30 MB download, nmap   (PROFILE=bench)
#   bulk   2 x 40 MB over HTTP and 2 x 40 MB over HTTPS    (PROFILE=bulk)
#   short  6000 HTTP requests, one connection each          (PROFILE=short)
#   dns    30,000 lookups over UDP, 500 over TCP            (PROFILE=dns)
#   web    HTTP pages of several sizes, kept-alive and not, 350 TLS sessions
#   scan   nmap -sS -p-, -sU top 100, -sn of a /24, -sT 1-2000
# Each tool reads the file from the page cache (one warm-up read first).
#
# What is timed, on every shape:
#   netsec analyze FILE --threads N --out DIR   decode, flows, app-layer parsing,
#                                               every detector, all JSON-lines logs
#   the same with --no-detect                   (the detectors' cost)
#   tshark -r FILE -q -z conv,ip                (tshark's cheapest full dissection)
#   suricata -r FILE --runmode single -k none   Debian's bundled rules passed
#                                               explicitly (-S), eve.json on
#   suricata -r FILE --runmode autofp -k none   all cores
# and on the mixed shape also netsec without logs and --no-app-layer
# (decode + flows), against the plain-loop floor.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_GB=${SIZE_GB:-1}
SIZE_MB=${SIZE_MB:-$((SIZE_GB * 1000))}
SHAPES=${SHAPES:-mixed bulk short dns web scan}
BENCH=target/bench
mkdir -p "$BENCH"
CORES=$(nproc)

cargo build --release -p netsec-cli -p netsec-bench >/dev/null 2>&1 || cargo build --release -p netsec-cli -p netsec-bench
NETSEC=target/release/netsec
MAKE=target/release/make-capture
# The commit measured (HEAD may move while the script runs) and how busy the
# machine was: the run is only as good as the machine was quiet.
BUILT="$(git rev-parse --short HEAD)$(git diff --quiet -- crates cli benches/src || echo ' with uncommitted changes')"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# baseline-loop and pipeline-cost are built with make-capture (package netsec-bench).

RESULTS=$(mktemp)
FACTS=$(mktemp)
SURI_LOG=$(mktemp -d)
NETSEC_OUT=$(mktemp -d)
# The default suricata.yaml loads /var/lib/suricata/rules/suricata.rules,
# which a fresh install does not have: pass Debian's bundled event rules.
RULES=$(mktemp)
cat /etc/suricata/rules/*.rules >"$RULES"
trap 'rm -rf "$RESULTS" "$FACTS" "$SURI_LOG" "$NETSEC_OUT" "$RULES"' EXIT

measure() { # key, command...  (the best of $REPEAT runs: "key|seconds rss_kb")
    # $CLEAN, when set, is a directory removed before each run, outside the
    # timing: a run must not start by truncating the last run's gigabytes.
    local key=$1; shift
    local out tf best="" i
    for i in $(seq "${REPEAT:-1}"); do
        if [ -n "${CLEAN:-}" ]; then rm -rf "$CLEAN"; fi
        tf=$(mktemp)
        /usr/bin/time -f "%e %M" -o "$tf" "$@" >/dev/null 2>&1 || true
        out=$(tail -n1 "$tf")
        rm -f "$tf"
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if ${out% *} < ${best% *} else 1)"; then
            best=$out
        fi
        # A run of more than 10 s is not decided by another process's
        # second of noise: once is enough.
        python3 -c "import sys; sys.exit(0 if ${out% *} > 10 else 1)" && break
    done
    echo "$key|$best" >>"$RESULTS"
    echo "$key: ${best% *} s, $(( ${best#* } / 1024 )) MB peak RSS" >&2
}
fact() { echo "$1|$2" >>"$FACTS"; }
get() { grep "^$1|" "$FACTS" | cut -d'|' -f2; }
secs() { grep "^$1|" "$RESULTS" | cut -d'|' -f2 | cut -d' ' -f1; }
rss() { echo $(( $(grep "^$1|" "$RESULTS" | cut -d'|' -f2 | cut -d' ' -f2) / 1024 )); }
py() { python3 -c "print($1)"; }
ratio() { py "f'{$1/$2:.1f}'"; }
yes_if() { py "'yes' if $1 else 'no'"; }

profile_of() { case $1 in mixed) echo bench ;; *) echo "$1" ;; esac; }

for shape in $SHAPES; do
    base=$BENCH/base-$shape.pcap
    [ "$shape" = mixed ] && [ -f "$BENCH/base.pcap" ] && base=$BENCH/base.pcap
    if [ ! -f "$base" ]; then
        PROFILE=$(profile_of "$shape") scripts/record-sample.sh "$base"
    fi
    base_bytes=$(stat -L -c %s "$base")
    copies=$(( (SIZE_MB * 1000000 + base_bytes - 1) / base_bytes ))
    big=$BENCH/big-$shape-${SIZE_MB}m.pcap
    [ -f "$big" ] || "$MAKE" "$base" "$copies" "$big"
    big_bytes=$(stat -L -c %s "$big")
    # The shape's facts, from netsec's own summary of the big capture.
    "$NETSEC" analyze "$big" --threads 1 --no-progress --no-detect --format json >"$NETSEC_OUT/summary.json"
    read -r packets flows dns < <(python3 -c "
import json; s = json.load(open('$NETSEC_OUT/summary.json'))
print(s['packets'], s['flows']['total'], s['events'].get('dns', 0))")
    fact "$shape bytes" "$big_bytes"; fact "$shape packets" "$packets"
    fact "$shape flows" "$flows"; fact "$shape dns" "$dns"; fact "$shape copies" "$copies"
    fact "$shape base" "$base"
    cat "$big" >/dev/null  # warm the page cache

    # netsec's runs take about a second: the best of 3 (5 on the mixed shape),
    # so that another process on the machine does not decide the result.
    REPEAT=3; [ "$shape" = mixed ] && REPEAT=5
    # Each run writes its logs into an empty directory (reusing the last
    # run's files made the later runs up to 40 % slower: truncating them
    # and writing over their pages).
    CLEAN="$NETSEC_OUT/o"
    measure "$shape netsec 1" "$NETSEC" analyze "$big" --threads 1 --no-progress --out "$NETSEC_OUT/o"
    measure "$shape netsec 1 no-detect" "$NETSEC" analyze "$big" --threads 1 --no-progress --no-detect --out "$NETSEC_OUT/o"
    measure "$shape netsec 2" "$NETSEC" analyze "$big" --threads 2 --no-progress --out "$NETSEC_OUT/o"
    if [ "$CORES" -gt 2 ]; then
        measure "$shape netsec all" "$NETSEC" analyze "$big" --threads "$CORES" --no-progress --out "$NETSEC_OUT/o"
    fi
    if [ "$shape" = mixed ]; then
        measure "$shape netsec 1 no logs" "$NETSEC" analyze "$big" --threads 1 --no-progress
        measure "$shape netsec 2 no logs" "$NETSEC" analyze "$big" --threads 2 --no-progress
        measure "$shape netsec 1 decode" "$NETSEC" analyze "$big" --threads 1 --no-progress --no-app-layer
        measure "$shape netsec 2 decode" "$NETSEC" analyze "$big" --threads 2 --no-progress --no-app-layer
        fact "mixed baseline" "$(target/release/baseline-loop "$big")"
        # The detection stage's cost: a no-op analyser subscribed to
        # everything against none, 1 and 2 threads, best of 5, no logs.
        fact "mixed pipeline" "$(target/release/pipeline-cost "$big" | tr '\n' ';')"
    fi
    REPEAT=1
    CLEAN=""
    measure "$shape tshark" tshark -n -r "$big" -q -z conv,ip
    rm -rf "${SURI_LOG:?}"/*
    measure "$shape suricata single" suricata -r "$big" --runmode single -k none -S "$RULES" -l "$SURI_LOG"
    rm -rf "${SURI_LOG:?}"/*
    measure "$shape suricata autofp" suricata -r "$big" --runmode autofp -k none -S "$RULES" -l "$SURI_LOG"
    rm -rf "${SURI_LOG:?}"/* "${NETSEC_OUT:?}"/o

    if [ -z "${SKIP_10GB:-}" ]; then
        # Peak RSS over a long stream: 10 GB, or 2 GB where one thread takes
        # more than 10 s a GB (the state is in its steady size long before;
        # the table says which).
        stream_gb=10
        python3 -c "import sys; sys.exit(0 if $(secs "$shape netsec 1") * 1000 / $SIZE_MB > 10 else 1)" && stream_gb=2
        fact "$shape stream_gb" "$stream_gb"
        copies10=$(( (stream_gb * 1000000000 + base_bytes - 1) / base_bytes ))
        tf=$(mktemp)
        "$MAKE" "$base" "$copies10" - | /usr/bin/time -f "%e %M" -o "$tf" "$NETSEC" analyze - --threads 1 --no-progress --out "$NETSEC_OUT/t10" >/dev/null 2>&1 || true
        echo "$shape 10g|$(tail -n1 "$tf")" >>"$RESULTS"
        echo "$shape $stream_gb GB stream: $(tail -n1 "$tf")" >&2
        rm -rf "$tf" "${NETSEC_OUT:?}/t10"
    fi
done

# "all cores": --threads $(nproc); on a 2-core machine that is the 2-thread run.
all_key() { if [ "$CORES" -gt 2 ]; then echo "$1 netsec all"; else echo "$1 netsec 2"; fi; }

{
cat <<EOF
# Performance

Measured by \`benches/compare.sh\` (SIZE_MB=$SIZE_MB) on $(date -u +%Y-%m-%d), all tools on
the same files from the page cache, in one run of the script (netsec: best of 3 runs
of each configuration, 5 on the mixed shape; tshark and Suricata: one run each).
Reproduce with:

    SIZE_MB=$SIZE_MB SHAPES="$SHAPES" benches/compare.sh

Machine: $CORES cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),
$(free -g | awk '/Mem:/{print $2}') GiB RAM. netsec $BUILT, $(tshark --version 2>/dev/null | head -1 | sed 's/ (Git.*//'),
$(suricata -V 2>/dev/null | head -1). Load average (1, 5, 15 min) at the start
$LOAD_START, at the end $(cut -d' ' -f1-3 /proc/loadavg). Suricata runs Debian's bundled rules
(\`/etc/suricata/rules/*.rules\`, passed with \`-S\`) and writes eve.json; netsec runs every
detector and writes every log.

## Traffic shapes

Each shape is a base recorded between two namespace hosts by \`PROFILE=<profile>
scripts/record-sample.sh\` and replicated by \`make-capture\` into distinct hosts and times
(see the top of \`benches/compare.sh\` for what each base holds). Flows and DNS messages are
netsec's counts on the replicated capture.

| shape | bytes | packets | flows per GB | DNS messages per GB |
|---|---:|---:|---:|---:|
EOF
for shape in $SHAPES; do
    b=$(get "$shape bytes")
    echo "| $shape (\`$(get "$shape base")\` x $(get "$shape copies")) | $b | $(get "$shape packets") | $(py "f'{$(get "$shape flows")/($b/1e9):,.0f}'") | $(py "f'{$(get "$shape dns")/($b/1e9):,.0f}'") |"
done
cat <<EOF

Seconds (peak RSS in MB):

| shape | netsec 1 thread | netsec 1 thread, --no-detect | netsec 2 threads | netsec all cores | tshark conv,ip | suricata single | suricata autofp | long stream, 1 thread (GB) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
for shape in $SHAPES; do
    cell() { echo "$(secs "$1") ($(rss "$1"))"; }
    ten=$(grep "^$shape 10g|" "$RESULTS" | cut -d'|' -f2 || true)
    echo "| $shape | $(cell "$shape netsec 1") | $(cell "$shape netsec 1 no-detect") | $(cell "$shape netsec 2") | $(cell "$(all_key "$shape")") | $(cell "$shape tshark") | $(cell "$shape suricata single") | $(cell "$shape suricata autofp") | ${ten:+${ten% *} ($(( ${ten#* } / 1024 ))) ($(get "$shape stream_gb") GB)} |"
done
cat <<EOF

## Against the targets, on every shape

Targets from the foundation issue (netsec one thread with every log against Suricata
single-threaded and tshark; all cores against Suricata autofp; 2 threads against one;
peak RSS on 10 GB) and from the detection issue (every detector on keeps >= 80 % of the
packets/s without them).

| shape | >= 5x Suricata single | >= 10x tshark | all cores faster than autofp | 2 threads >= 1.6x one | long-stream peak RSS < 100 MB | detectors keep >= 80 % |
|---|---|---|---|---|---|---|
EOF
for shape in $SHAPES; do
    n1=$(secs "$shape netsec 1"); nd=$(secs "$shape netsec 1 no-detect"); n2=$(secs "$shape netsec 2")
    na=$(secs "$(all_key "$shape")")
    ss=$(secs "$shape suricata single"); sa=$(secs "$shape suricata autofp"); ts=$(secs "$shape tshark")
    ten=$(grep "^$shape 10g|" "$RESULTS" | cut -d'|' -f2 || true)
    if [ -n "$ten" ]; then
        tencell="$(( ${ten#* } / 1024 )) MB: $(yes_if "${ten#* } < 102400")"
    else
        tencell="not run"
    fi
    echo "| $shape | $(ratio "$ss" "$n1")x: $(yes_if "$ss/$n1 >= 5") | $(ratio "$ts" "$n1")x: $(yes_if "$ts/$n1 >= 10") | $(ratio "$sa" "$na")x: $(yes_if "$sa/$na > 1") | $(ratio "$n1" "$n2")x: $(yes_if "$n1/$n2 >= 1.6") | $tencell | $(py "f'{$nd/$n1*100:.0f} %'"): $(yes_if "$nd/$n1 >= 0.8") |"
done

if grep -q "^mixed netsec 1 decode|" "$RESULTS"; then
    b=$(get "mixed bytes"); p=$(get "mixed packets")
    rate() { py "f'{$p/$1/1e6:.2f}'"; }
    gbs() { py "f'{$b/$1/1e9:.2f}'"; }
    row() { local s; s=$(secs "mixed $2"); echo "| $1 | $s | $(rate "$s") | $(gbs "$s") | $(rss "mixed $2") |"; }
    nf=$(secs "mixed netsec 1 decode")
    cat <<EOF

## The mixed shape in detail

| run | seconds | packets/s (M) | GB/s | peak RSS (MB) |
|---|---:|---:|---:|---:|
$(row "netsec analyze, 1 thread, all logs" "netsec 1")
$(row "netsec analyze, 2 threads, all logs" "netsec 2")
$(row "netsec analyze, 1 thread, no logs" "netsec 1 no logs")
$(row "netsec analyze, 2 threads, no logs" "netsec 2 no logs")
$(row "netsec analyze --no-app-layer, 1 thread (decode + flows)" "netsec 1 decode")
$(row "netsec analyze --no-app-layer, 2 threads (decode + flows)" "netsec 2 decode")
$(row "tshark -q -z conv,ip" "tshark")
$(row "suricata --runmode single" "suricata single")
$(row "suricata --runmode autofp" "suricata autofp")

Floor for decode + flows on this machine and file (\`target/release/baseline-loop\`: pcap-parser +
etherparse + a HashMap of 5-tuples, no analysis): $(get "mixed baseline").

| target | measured | met |
|---|---|---|
| decode + flows (--no-app-layer, no logs) >= 3 M packets/s on one core | $(rate "$nf") M | $(yes_if "$p/$nf >= 3e6") |
| decode + flows >= 3 GB/s on one core | $(gbs "$nf") GB/s | $(yes_if "$b/$nf >= 3e9") |

\`target/release/pipeline-cost BIG\` (benches/src/bin/pipeline-cost.rs; a no-op analyser
subscribed to everything against none), same run:

\`\`\`
$(get "mixed pipeline" | tr ';' '\n')
\`\`\`
EOF
fi
cat <<'EOF'

What each tool does in these runs differs: netsec decodes L2–L7, tracks flows and TCP
streams, parses DNS/HTTP/TLS/SSH/SMB/DHCP/NTP, runs its detectors and writes every log;
tshark's conv,ip dissects every frame fully but writes only the conversation table;
Suricata decodes, reassembles, parses, runs its bundled decoder/app-layer event rules and
writes eve.json.

EOF
} > docs/PERFORMANCE.md.new
# Keep the sections other scripts and notes own (e.g. "## Scanning …") below
# ours; drop the ones this script writes.
if [ -f docs/PERFORMANCE.md ]; then
    awk '/^## /{keep = ($0 != "## Against the foundation issue'"'"'s targets" &&
                       $0 != "## Traffic shapes" &&
                       $0 != "## Against the targets, on every shape" &&
                       $0 != "## The mixed shape in detail")} keep' \
        docs/PERFORMANCE.md >>docs/PERFORMANCE.md.new
fi
mv docs/PERFORMANCE.md.new docs/PERFORMANCE.md
echo "wrote docs/PERFORMANCE.md" >&2
