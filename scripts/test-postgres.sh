#!/usr/bin/env bash
# A throwaway PostgreSQL server for the database tests, on 127.0.0.1 and a socket in a
# temporary folder, created for one run and removed after it.
#   eval "$(scripts/test-postgres.sh start)"   # prints: export GALAXYSD_TEST_POSTGRES_URL=...
#   scripts/test-postgres.sh stop
# Needs Debian's postgresql package (initdb and pg_ctl under /usr/lib/postgresql/*/bin).
set -euo pipefail
STATE="${GALAXYSD_PG_STATE:-${TMPDIR:-/tmp}/galaxysd-test-postgres}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$BIN" ] && command -v pg_ctl >/dev/null 2>&1; then BIN="$(dirname "$(command -v pg_ctl)")"; fi
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

# PostgreSQL refuses to run as root: as root, run the server as the postgres user.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    bash "$0" stop  # a server left from an earlier run in the same folder
    mkdir -p "$STATE"
    [ "$(id -u)" = 0 ] && chown postgres "$STATE"
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_owner "$BIN/initdb" -D "$STATE/data" -U galaxysd --auth=trust >"$STATE/initdb.log" 2>&1
    as_owner "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $STATE -c fsync=off" start >/dev/null
    as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U galaxysd galaxysd_test
    echo "$PORT" >"$STATE/port"
    echo "export GALAXYSD_TEST_POSTGRES_URL=postgresql+psycopg://galaxysd@127.0.0.1:$PORT/galaxysd_test"
    ;;
  stop)
    [ -d "$STATE/data" ] && as_owner "$BIN/pg_ctl" -D "$STATE/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$STATE"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
