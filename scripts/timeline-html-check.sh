#!/usr/bin/env bash
# Open the HTML report of `netsec timeline` in headless Chromium and check
# that the screenshot shows the timeline: the SVG's step markers, in the
# kill-chain phase colours, drawn in the top part of the page.
#
#   scripts/timeline-html-check.sh [CAPTURE [CONFIG]]
#
# Default: testdata/killchain/killchain.pcap with its netsec.toml, where all
# six phases must show. Needs chromium (apt-get install -y chromium); the
# page is opened with every host name unresolvable, so a fetch would fail.
# Not part of `cargo test`. Leaves the page and screenshot in
# $CARGO_TARGET_DIR/timeline-check/ (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."
capture=${1:-testdata/killchain/killchain.pcap}
config=${2:-testdata/killchain/netsec.toml}
target=${CARGO_TARGET_DIR:-target}
out="$target/timeline-check"
mkdir -p "$out"
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install -y chromium)" >&2; exit 2; }
cargo build --quiet -p netsec-cli
"$target/debug/netsec" timeline --config "$config" --html "$out/report.html" "$capture" >"$out/timeline.txt"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND" --window-size=1200,900 \
    --screenshot="$out/screenshot.png" "file://$(realpath "$out/report.html")" >/dev/null 2>&1
python3 - "$out/screenshot.png" <<'PY'
"""Decode the PNG (no third-party module) and count pixels of each phase colour."""
import struct, sys, zlib

PHASES = {  # colours of crates/netsec-ioc/src/report.rs
    "reconnaissance": (0x4E, 0x79, 0xA7), "initial-access": (0xE1, 0x57, 0x59),
    "credential-access": (0xF2, 0x8E, 0x2B), "discovery": (0x76, 0xB7, 0xB2),
    "lateral-movement": (0xB0, 0x7A, 0xA1), "command-and-control": (0x9C, 0x75, 0x5F),
    "exfiltration": (0xD4, 0xA0, 0x17), "impact": (0x59, 0xA1, 0x4F),
}

def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows

width, height, channels, rows = read_png(sys.argv[1])
counts = {name: 0 for name in PHASES}
for y, line in enumerate(rows[: height * 2 // 3]):
    for x in range(width):
        pixel = tuple(line[x * channels:x * channels + 3])
        for name, colour in PHASES.items():
            if all(abs(p - q) <= 6 for p, q in zip(pixel, colour)):
                counts[name] += 1
shown = sorted(name for name, n in counts.items() if n >= 40)
print(f"screenshot {width}x{height}; phase colours drawn: {counts}")
want = {"reconnaissance", "credential-access", "initial-access", "lateral-movement", "command-and-control", "exfiltration"}
missing = want - set(shown)
if missing:
    print(f"FAIL: the timeline does not show {sorted(missing)}")
    sys.exit(1)
print("PASS: the timeline shows", ", ".join(shown))
PY
