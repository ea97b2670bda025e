#!/usr/bin/env bash
# Makes sure `redis-server` is on PATH for the gateway's Redis rate-limit tests. Installs Debian's
# `redis-server` package when it is missing. Starts nothing: each test spawns its own server on a
# free port in a temporary folder and kills it at the end.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server present: $(redis-server --version | head -n 1)" >&2
  exit 0
fi
echo "installing redis-server from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq redis-server >&2
# The package may start a system-wide service where an init system runs; the tests do not use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server >&2 || true
fi
echo "redis-server installed: $(redis-server --version | head -n 1)" >&2
