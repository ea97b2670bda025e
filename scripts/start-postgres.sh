#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the storage tests and prints its URL.
#
#   eval "$(scripts/start-postgres.sh)"   # exports TEST_POSTGRES_URL
#
# The server listens on 127.0.0.1 only, trusts local connections (it holds nothing but test
# databases that each test creates and drops), and lives in a temporary folder. Installs Debian's
# `postgresql` package first when no server binaries are present.
set -euo pipefail

port="${PGPORT_TEST:-55432}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  echo "installing postgresql from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# PostgreSQL refuses to run as root: use the `postgres` account the package creates.
id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
run_as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

url="postgres://postgres@127.0.0.1:${port}/postgres"
if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  echo "export TEST_POSTGRES_URL=$url"
  exit 0
fi

data=$(mktemp -d /tmp/pg-test-XXXXXX)
chown postgres "$data" 2>/dev/null || true
run_as_pg "'$bindir/initdb' -D '$data' -U postgres --auth=trust -E UTF8 >/dev/null"
run_as_pg "'$bindir/pg_ctl' -D '$data' -l '$data/server.log' -w -t 60 \
  -o \"-h 127.0.0.1 -p $port -k /tmp -c fsync=off -c max_connections=200\" start >/dev/null"
echo "postgres ready on 127.0.0.1:$port ($data)" >&2
echo "export TEST_POSTGRES_URL=$url"
