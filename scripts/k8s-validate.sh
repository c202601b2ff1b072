#!/usr/bin/env bash
# Check the NetworkPolicies `netsec k8s suggest` writes:
#  1. they validate against the Kubernetes OpenAPI schema (strict: unknown
#     fields rejected), with kubernetes-validate from PyPI, which bundles the
#     schemas of each Kubernetes release;
#  2. they re-analyse to the intended reachability: the lab's pods plus the
#     suggested policies give exactly the connections that worked in the
#     capture (expected_after_suggest.txt).
# A deliberately misspelt policy must fail validation, so a validator that
# accepts everything cannot pass this script.
#
# Usage: scripts/k8s-validate.sh [EXTRA_MANIFESTS.yaml ...]   (extra files are validated too)
# Env: NETSEC_BIN (default: build target/debug/netsec), K8S_VALIDATE_VENV
#      (default ~/.cache/netsec/k8s-validate), K8S_VERSION (default 1.37.0).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${K8S_VALIDATE_VENV:-$HOME/.cache/netsec/k8s-validate}"
k8s_version="${K8S_VERSION:-1.37.0}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "kubernetes-validate==1.37.0"
fi
validate() { "$venv/bin/kubernetes-validate" --strict --no-warn -k "$k8s_version" "$@"; }

if [ -z "${NETSEC_BIN:-}" ]; then
    cargo build --quiet -p netsec-cli
    NETSEC_BIN=target/debug/netsec
fi

lab=crates/netsec-contain/tests/data/k8s/sample-lab
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$NETSEC_BIN" k8s suggest "$lab/pods.yaml" testdata/sample.pcap -o "$tmp/suggested.yaml"
# The unit test's cluster has label groups that need DoesNotExist
# exclusions and cross-namespace peers; its suggestion is validated too.
NETSEC_K8S_SUGGEST_OUT="$tmp/unit.yaml" cargo test --quiet -p netsec-contain --lib \
    suggested_policies_reanalyse_to_exactly_the_observed_connections >/dev/null
echo "== schema: suggested policies"
validate "$tmp/suggested.yaml" "$tmp/unit.yaml"
echo "== schema: the lab's own manifests"
validate "$lab/pods.yaml" "$lab/policy.yaml"
if [ "$#" -gt 0 ]; then
    echo "== schema: $*"
    validate "$@"
fi

echo "== schema: a misspelt policy must be rejected"
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: typo, namespace: lab}\nspec:\n  podSelector: {}\n  ingres: []\n' >"$tmp/typo.yaml"
if validate "$tmp/typo.yaml" >/dev/null 2>&1; then
    echo "FAIL: the validator accepted a policy with an unknown field" >&2
    exit 1
fi
echo "rejected, as it should be"

echo "== reachability: pods + suggested policies"
"$NETSEC_BIN" k8s list "$lab/pods.yaml" "$tmp/suggested.yaml" >"$tmp/after.txt"
if ! diff -u "$lab/expected_after_suggest.txt" "$tmp/after.txt"; then
    echo "FAIL: the suggested policies do not re-analyse to the connections observed" >&2
    exit 1
fi
echo "ok: $(wc -l <"$tmp/after.txt") connection(s), as observed"
