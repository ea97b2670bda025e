#!/usr/bin/env bash
# deploy/kubernetes/, validated: both overlays render, every object validates against the
# Kubernetes API's schemas, the invariants and the code agree (tests/kubernetes/), and the
# gateway's ConfigMap is a configuration the gateway accepts.
#
#   scripts/check-kubernetes.sh
#
# 1. `kubectl kustomize` (Debian's kubernetes-client, installed when missing) renders
#    overlays/demo and overlays/production into target/kubernetes/;
# 2. kubernetes-validate --strict (pinned in tests/kubernetes/requirements.txt, in the
#    virtualenv target/k8s-venv) checks every object against Kubernetes ${K8S_SCHEMA} schemas:
#    an unknown or misspelt field is an error;
# 3. tests/kubernetes/check_manifests.py checks probes, limits, non-root, tags, secrets and the
#    manifests against the code, and its own tests show it failing on broken manifests;
# 4. `gateway check-config` validates deploy/kubernetes/base/gateway.toml with each overlay's
#    environment (the debug build `cargo test` made; built here if missing);
# 5. tests/kubernetes/run_overlay.py starts each overlay's four Deployments as local processes
#    with exactly their manifests' environment, arguments and mounted files (Services on
#    loopback ports, redis-server for Redis, stand-in Secrets in production), asks every probe,
#    and sends a user through the gateway: register, log in, profile, dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_SCHEMA="${K8S_SCHEMA:-1.30.0}"
OUT=target/kubernetes
say() { echo "check-kubernetes: $*"; }

if ! command -v kubectl >/dev/null; then
  say "installing kubectl (Debian's kubernetes-client)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends kubernetes-client
fi
if [ ! -x target/k8s-venv/bin/python ]; then
  python3 -m venv target/k8s-venv
fi
target/k8s-venv/bin/pip install -q --disable-pip-version-check -r tests/kubernetes/requirements.txt

mkdir -p "$OUT"
for overlay in demo production; do
  kubectl kustomize "deploy/kubernetes/overlays/$overlay" >"$OUT/$overlay.yaml"
  objects=$(grep -c '^kind:' "$OUT/$overlay.yaml")
  say "rendered $overlay: $objects objects ($OUT/$overlay.yaml)"
  target/k8s-venv/bin/kubernetes-validate --strict --quiet -k "$K8S_SCHEMA" "$OUT/$overlay.yaml"
  say "$overlay: every object valid against the Kubernetes $K8S_SCHEMA schemas (--strict)"
done

say "invariants and the code (tests/kubernetes/check_manifests.py)"
target/k8s-venv/bin/python tests/kubernetes/check_manifests.py
target/k8s-venv/bin/python -m unittest discover -s tests/kubernetes 2>&1 | tail -n 3

say "gateway check-config deploy/kubernetes/base/gateway.toml"
cargo build -q -p gateway -p auth-service -p user-service -p billing-service --bins
# With the environment the pods add (the admin token comes from the Secret metrics-token): as
# production runs it (keys from the JWKS), and as the demo overlay changes it.
export GATEWAY__ADMIN__TOKEN=check-config-placeholder-admin-token-0123456789
export GATEWAY__SERVER__SERVED_BY=gateway-7d9f8c6b5-x2x4q
target/debug/gateway check-config deploy/kubernetes/base/gateway.toml
GATEWAY__DEMO=true GATEWAY__AUTH__HS256_SECRET=demo-only-hs256-secret-do-not-use-in-production \
  target/debug/gateway check-config deploy/kubernetes/base/gateway.toml

for overlay in demo production; do
  target/k8s-venv/bin/python tests/kubernetes/run_overlay.py "$overlay"
done
