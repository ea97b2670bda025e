#!/bin/bash
# healthcheck PORT [PATH] — the containers' HTTP health probe, in bash alone.
#
# Sends `GET PATH` (default /healthz) to 127.0.0.1:PORT through bash's /dev/tcp and succeeds only
# on a `200` status line. The runtime image has no curl or wget: bash is already in the Debian
# base, so the probe costs one small file instead of an HTTP client and its libraries.
set -u
port="${1:?usage: healthcheck PORT [PATH]}"
path="${2:-/healthz}"

if ! exec 3<>"/dev/tcp/127.0.0.1/${port}"; then
  echo "healthcheck: nothing listens on port ${port}" >&2
  exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "${path}" >&3
status=""
IFS= read -r -t 3 status <&3 || true
exec 3<&-
case "${status}" in
  "HTTP/1."?" 200 "*) exit 0 ;;
esac
echo "healthcheck: GET ${path} answered '${status%$'\r'}'" >&2
exit 1
