#!/usr/bin/env python3
"""Suricata's alert counts per (capture, sid): the expectations the
signature tests compare netsec with (issue 14).

    scripts/signature_expectations.py select     # pick suricata-verify cases whose rules netsec loads whole
    scripts/signature_expectations.py regenerate # run Suricata 7 on the selected cases, copy them, write expectations
    scripts/signature_expectations.py compare    # run netsec on them and print every difference
    scripts/signature_expectations.py et         # ET Open on the recordings (scripts/record-signatures.sh)

`select` writes testdata/signatures/cases.list from ../shared/suricata-verify:
every case with a test.rules whose rules all load in netsec (`netsec rules
check` exits 0 with nothing skipped) and one capture. `regenerate` copies
each case's capture and rules into testdata/signatures/<case>/ and writes
testdata/signatures/expectations.json: {case: {sid: alerts}} from Suricata's
eve.json (`suricata -r CAPTURE -S test.rules -k none`, the case's own
suricata.yaml when it has one). Suricata is used here only, never in the
build or the tests.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERIFY = Path(os.environ.get("SURICATA_VERIFY", ROOT.parent / "shared" / "suricata-verify")) / "tests"
OUT = ROOT / "testdata" / "signatures"
NETSEC = Path(os.environ.get("NETSEC", "/work/target-sig/release/netsec"))
MAX_CAPTURE_BYTES = 200_000


def capture_of(case: Path):
    pcaps = sorted(p for p in case.iterdir() if p.suffix in (".pcap", ".pcapng"))
    return pcaps[0] if len(pcaps) == 1 else None


def loads_whole(rules: Path) -> bool:
    r = subprocess.run([str(NETSEC), "rules", "check", "--summary", str(rules)],
                       capture_output=True, text=True)
    last = [l for l in r.stdout.splitlines() if l.startswith("total:")]
    return r.returncode == 0 and bool(last) and " 0 skipped" in last[0]


def select():
    chosen = []
    for case in sorted(VERIFY.iterdir()):
        rules = case / "test.rules"
        if not rules.is_file():
            continue
        capture = capture_of(case)
        if capture is None or capture.stat().st_size > MAX_CAPTURE_BYTES:
            continue
        text = (case / "test.yaml").read_text(errors="replace") if (case / "test.yaml").exists() else ""
        # cases that need a Suricata feature switched on by arguments we do not mirror
        if "--set" in text or "pcap-file-recursive" in text:
            continue
        if loads_whole(rules):
            chosen.append(case.name)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cases.list").write_text("\n".join(chosen) + "\n")
    print(f"{len(chosen)} cases", file=sys.stderr)


def suricata_counts(capture: Path, rules: Path, config: Path | None) -> Counter:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["suricata", "-r", str(capture), "-S", str(rules), "-k", "none", "-l", tmp,
                "--runmode", "single",
                "--set", "classification-file=/etc/suricata/classification.config",
                "--set", "reference-config-file=/etc/suricata/reference.config"]
        if config is not None:
            args += ["-c", str(config)]
        subprocess.run(args, capture_output=True, check=False)
        counts = Counter()
        eve = Path(tmp) / "eve.json"
        if eve.exists():
            for line in eve.read_text(errors="replace").splitlines():
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if doc.get("event_type") == "alert":
                    counts[str(doc["alert"]["signature_id"])] += 1
        return counts


def netsec_counts(capture: Path, rules: Path) -> Counter:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(NETSEC), "analyze", str(capture), "--rules", str(rules), "--out", tmp,
                        "--no-progress", "--no-detect", "--threads", "1"], capture_output=True)
        counts = Counter()
        alerts = Path(tmp) / "alerts.jsonl"
        if alerts.exists():
            for line in alerts.read_text().splitlines():
                counts[str(json.loads(line)["netsec"]["alert"]["sid"])] += 1
        return counts


ETOPEN = Path(os.environ.get("ETOPEN", ROOT.parent / "shared" / "etopen"))
RECORDED = OUT / "recorded"
# the recordings are on the loopback: both sides "home", any side "external"
ET_VARS = {"HOME_NET": "[127.0.0.0/8]", "EXTERNAL_NET": "any"}


def et():
    """ET Open joined and compressed into testdata/signatures/etopen/, and
    Suricata's counts per (recording, sid) in recorded/expectations.json."""
    target = OUT / "etopen"
    target.mkdir(parents=True, exist_ok=True)
    joined = b"".join(p.read_bytes() for p in sorted(ETOPEN.glob("*.rules")))
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(target / "etopen.rules.zst")],
                   input=joined, check=True)
    for name in ("LICENSE", "BSD-License.txt", "gpl-2.0.txt", "README.md", "classification.config"):
        if (ETOPEN / name).exists():
            shutil.copy(ETOPEN / name, target / name)
    expectations = {}
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "all.rules"
        rules.write_bytes(joined)
        for capture in sorted(RECORDED.glob("*.pcap")):
            log = Path(tmp) / capture.stem
            log.mkdir()
            args = ["suricata", "-r", str(capture), "-S", str(rules), "-k", "none", "-l", str(log),
                    "--runmode", "single",
                    "--set", f"classification-file={ETOPEN / 'classification.config'}"]
            for k, v in ET_VARS.items():
                args += ["--set", f"vars.address-groups.{k}={v}"]
            subprocess.run(args, capture_output=True, check=False)
            counts = Counter()
            for line in (log / "eve.json").read_text().splitlines():
                doc = json.loads(line)
                if doc.get("event_type") == "alert":
                    counts[str(doc["alert"]["signature_id"])] += 1
            expectations[capture.name] = dict(sorted(counts.items()))
            print(f"{capture.name}: {sum(counts.values())} alerts, {len(counts)} sids", file=sys.stderr)
    (RECORDED / "expectations.json").write_text(json.dumps(expectations, indent=1, sort_keys=True) + "\n")


def cases():
    return [c for c in (OUT / "cases.list").read_text().split() if c]


def regenerate():
    expectations = {}
    for name in cases():
        case = VERIFY / name
        capture = capture_of(case)
        config = case / "suricata.yaml"
        counts = suricata_counts(capture, case / "test.rules", config if config.exists() else None)
        target = OUT / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(capture, target / capture.name)
        shutil.copy(case / "test.rules", target / "test.rules")
        expectations[name] = {"capture": capture.name, "alerts": dict(sorted(counts.items()))}
    shutil.copy(VERIFY.parent / "LICENSE.txt", OUT / "LICENSE-suricata-verify.txt")
    (OUT / "expectations.json").write_text(json.dumps(expectations, indent=1, sort_keys=True) + "\n")
    print(f"{len(expectations)} cases", file=sys.stderr)


def compare():
    expectations = json.loads((OUT / "expectations.json").read_text())
    same = 0
    for name, want in sorted(expectations.items()):
        case = OUT / name
        got = netsec_counts(case / want["capture"], case / "test.rules")
        if dict(got) == want["alerts"]:
            same += 1
        else:
            print(f"{name}: suricata {want['alerts']} netsec {dict(sorted(got.items()))}")
    print(f"{same} of {len(expectations)} cases agree", file=sys.stderr)


if __name__ == "__main__":
    {"select": select, "regenerate": regenerate, "compare": compare, "et": et}[sys.argv[1]]()
