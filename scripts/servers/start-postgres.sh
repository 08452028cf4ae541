#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on a free loopback port in a temp directory, for the tests of
# authcore-sql. Prints KEY=VALUE lines (scripts/test exports them):
#   AUTHCORE_TEST_POSTGRES_URL  postgres://auth:...@127.0.0.1:PORT/authtest (role may CREATEDB and, from PostgreSQL 15, CHECKPOINT)
#   AUTHCORE_TEST_PG_CTL        control script: `ctl stop` / `ctl start` (fault tests, cleanup)
#   AUTHCORE_TEST_PG_DIR        the temp directory (remove it after `ctl stop`)
# Installs the Debian package `postgresql` when no server binaries are found and running as root.
# Env: PG_PORT to force a port; PG_DURABLE=1 for a durable server (fsync, synchronous_commit and
# full_page_writes on, as in production; scripts/bench measures both). Timings go to stderr.
set -euo pipefail

log() { echo "# start-postgres: $*" >&2; }

find_pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

PGBIN=$(find_pgbin || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL server binaries not found and not root: install the 'postgresql' package"; exit 1
  fi
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y postgresql >&2 || { apt-get update >&2 && apt-get install -y postgresql >&2; }
  PGBIN=$(find_pgbin || true)
  [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || { log "postgresql install failed"; exit 1; }
fi

# shellcheck source=scripts/servers/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(pick_port "${PG_PORT:-}")

# A throwaway test server need not survive a crash of the machine: no flushes by default.
DURABILITY="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${PG_DURABLE:-0}" = 1 ]; then
  DURABILITY="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
fi

DIR=$(mktemp -d -t authcore-pg.XXXXXX)
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; AS="runuser -u postgres --"; else AS=""; fi  # initdb refuses root

t0=$(date +%s%N)
echo postgres > "$DIR/pwfile"
$AS "$PGBIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/pwfile" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }

# The control script: used by the fault test (stop, then start again) and by cleanup.
cat > "$DIR/ctl" <<CTL
#!/usr/bin/env bash
set -euo pipefail
case "\${1:-}" in
  start) $AS "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 30 start \
           -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR $DURABILITY -c max_connections=300" \
           </dev/null >/dev/null 2>&1 ;;
  stop)  if [ -f "$DIR/data/postmaster.pid" ]; then $AS "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop </dev/null >/dev/null 2>&1; fi ;;
  *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
CTL
chmod 755 "$DIR/ctl"
t1=$(date +%s%N)
"$DIR/ctl" start || { cat "$DIR/postgres.log" >&2; exit 1; }
t2=$(date +%s%N)
$AS "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres \
  -c "CREATE ROLE auth LOGIN CREATEDB PASSWORD 'authpw'" -c "CREATE DATABASE authtest OWNER auth" \
  -c "DO \$\$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_checkpoint') THEN GRANT pg_checkpoint TO auth; END IF; END \$\$" >&2
t3=$(date +%s%N)
printf 'AUTHCORE_TEST_POSTGRES_URL=%s\nAUTHCORE_TEST_PG_CTL=%s\nAUTHCORE_TEST_PG_DIR=%s\n' \
  "postgres://auth:authpw@127.0.0.1:$PORT/authtest" "$DIR/ctl" "$DIR"
log "port=$PORT initdb_ms=$(((t1 - t0) / 1000000)) start_ms=$(((t2 - t1) / 1000000)) createdb_ms=$(((t3 - t2) / 1000000))"
