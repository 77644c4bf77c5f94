#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the group-store tests: initdb from the distribution's packages,
# owned by the non-root user `postgres`, password authentication, on 127.0.0.1 and a socket in its
# own folder. Prints the environment line the tests read:
#   export COMPLAINTDESK_TEST_PG_URL=postgresql+psycopg://cdadmin:…@127.0.0.1:<port>/postgres
# Usage: eval "$(bash scripts/pg_throwaway.sh start)"   …   bash scripts/pg_throwaway.sh stop
set -euo pipefail
ROOT="${CD_PG_ROOT:-/tmp/complaintdesk-pg}"
PORT="${CD_PG_PORT:-54329}"
PASSWORD="cd-test-pw"
RUNAS="${CD_PG_USER:-postgres}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_user() { if [ "$(id -u)" = 0 ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }

case "${1:-start}" in
start)
  if [ -f "$ROOT/data/postmaster.pid" ] && as_user "$PGBIN/pg_ctl" -D "$ROOT/data" status >/dev/null 2>&1; then
    :
  else
    rm -rf "$ROOT"; mkdir -p "$ROOT"
    echo "$PASSWORD" > "$ROOT/pw"
    [ "$(id -u)" = 0 ] && chown -R "$RUNAS" "$ROOT"
    as_user "$PGBIN/initdb" -D "$ROOT/data" -U cdadmin --pwfile="$ROOT/pw" --auth=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1
    as_user "$PGBIN/pg_ctl" -D "$ROOT/data" -l "$ROOT/server.log" -w \
      -o "-p $PORT -k $ROOT -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
  fi
  echo "export COMPLAINTDESK_TEST_PG_URL=postgresql+psycopg://cdadmin:$PASSWORD@127.0.0.1:$PORT/postgres"
  ;;
stop)
  as_user "$PGBIN/pg_ctl" -D "$ROOT/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$ROOT"
  ;;
esac
