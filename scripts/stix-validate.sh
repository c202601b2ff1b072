#!/usr/bin/env bash
# Validate STIX 2.1 bundles with the OASIS validator (stix2-validator from
# PyPI) in strict mode: warnings count as errors.
#
#   scripts/stix-validate.sh [BUNDLE.json ...]
#
# With no arguments, runs `cargo test -p netsec-ioc` first and validates the
# bundles its tests write ($CARGO_TARGET_DIR/tmp/stix-bundles/*.json; the
# kill-chain bundle is written there by `cargo test -p netsec-cli --test
# killchain_cli`), then loads the MISP events they write (tmp/misp-events/)
# with PyMISP and checks every attribute's type and category against MISP's
# describeTypes. Both are installed once into a venv ($STIX_VENV, default
# target/stix-venv). Exit status: 0 when everything passes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
venv=${STIX_VENV:-$target/stix-venv}
if [ ! -x "$venv/bin/stix2_validator" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'stix2-validator>=3.2' pymisp
fi
misp_events=()
if [ $# -eq 0 ]; then
    cargo test --quiet -p netsec-ioc >/dev/null
    set -- "$target"/tmp/stix-bundles/*.json
    misp_events=("$target"/tmp/misp-events/*.json)
fi
status=0
for bundle in "$@"; do
    # --strict: warnings are errors. Disabled, with reasons:
    #   none
    if "$venv/bin/stix2_validator" --strict --version 2.1 "$bundle" >"$bundle.validation" 2>&1; then
        echo "PASS $bundle"
    else
        echo "FAIL $bundle"
        cat "$bundle.validation"
        status=1
    fi
done
for event in "${misp_events[@]}"; do
    if "$venv/bin/python" - "$event" <<'PY'; then echo "PASS $event (MISP)"; else echo "FAIL $event (MISP)"; status=1; fi
import sys
from pymisp import MISPEvent
event = MISPEvent()
event.load_file(sys.argv[1])
types = event.describe_types
bad = [(a.category, a.type) for a in event.attributes
       if a.type not in types["types"] or a.type not in types["category_type_mappings"].get(a.category, [])]
assert event.attributes and not bad, f"attributes with a type or category MISP does not know: {bad}"
PY
done
exit $status
