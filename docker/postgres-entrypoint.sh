#!/bin/bash
# The `postgres` profile's database: Debian's PostgreSQL, started the way the official image
# starts (same variables: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB), so swapping in the
# official `postgres` image is a one-line change in docker-compose.yml.
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
user="${POSTGRES_USER:?set POSTGRES_USER}"
db="${POSTGRES_DB:-$user}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "postgres-entrypoint: initialising $PGDATA (user $user, database $db)"
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" >"$pwfile"
  "$bindir/initdb" -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  # Password logins from the compose network (the database is not published to the host).
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != "postgres" ]; then
    "$bindir/postgres" --single -D "$PGDATA" postgres <<<"CREATE DATABASE \"$db\" OWNER \"$user\";" >/dev/null
  fi
fi
exec "$bindir/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
