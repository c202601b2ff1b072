#!/usr/bin/env python3
"""Write the Community ID Suricata computes for every flow of a capture.

Usage: scripts/suricata_community_ids.py CAPTURE... [--out DIR]
       (default DIR: testdata/expected/community-id; one NAME.json per capture)

Runs `suricata -r CAPTURE -k none --runmode single` with eve's community-id
option on and no rules, and keeps, for each `flow` event, the 5-tuple and
its `community_id`. cli/tests/community_id.rs checks netsec's flows against
these. Needs Suricata 7 (bookworm-backports); not needed to run the tests.
"""

import json
import os
import subprocess
import sys
import tempfile


def flows(path):
    with tempfile.TemporaryDirectory() as logdir:
        subprocess.run(["suricata", "-r", path, "-k", "none", "--runmode", "single", "-l", logdir,
                        "--set", "outputs.1.eve-log.community-id=true", "-S", "/dev/null"],
                       capture_output=True, check=True)
        out = []
        with open(os.path.join(logdir, "eve.json")) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event_type") != "flow" or "community_id" not in ev:
                    continue
                out.append({
                    "src_ip": ev["src_ip"], "src_port": ev.get("src_port", 0),
                    "dest_ip": ev["dest_ip"], "dest_port": ev.get("dest_port", 0),
                    "proto": ev["proto"], "community_id": ev["community_id"],
                })
        out.sort(key=lambda f: json.dumps(f, sort_keys=True))
        return out


def main(argv):
    out_dir = "testdata/expected/community-id"
    paths = []
    it = iter(argv)
    for a in it:
        if a == "--out":
            out_dir = next(it)
        else:
            paths.append(a)
    os.makedirs(out_dir, exist_ok=True)
    version = subprocess.run(["suricata", "-V"], capture_output=True).stdout.decode().strip()
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        try:
            found = flows(path)
        except subprocess.CalledProcessError:
            # e.g. link types this Suricata cannot read (SLL2 before 8.0)
            print(f"{name}: suricata failed, skipped", file=sys.stderr)
            continue
        doc = {"_made_by": f"scripts/suricata_community_ids.py with {version}", "flows": found}
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: {len(doc['flows'])} flows")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
