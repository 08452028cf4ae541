#!/usr/bin/env bash
# Starts a throwaway MariaDB on a free loopback port in a temp directory, for the tests of
# authcore-sql. Prints KEY=VALUE lines (scripts/test exports them):
#   AUTHCORE_TEST_MYSQL_URL  mysql://auth:...@127.0.0.1:PORT/authtest (user may create databases)
#   AUTHCORE_TEST_MYSQL_CTL  control script: `ctl stop` / `ctl start` (fault tests, cleanup)
#   AUTHCORE_TEST_MYSQL_DIR  the temp directory (remove it after `ctl stop`)
# Installs the Debian package `mariadb-server` when mariadbd is missing and running as root.
# Env: MARIADB_PORT to force a port. Timings go to stderr.
set -euo pipefail

log() { echo "# start-mariadb: $*" >&2; }

have_server() { command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; }
if ! have_server || ! command -v mariadb-install-db >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    log "mariadbd not found and not root: install the 'mariadb-server' package"; exit 1
  fi
  log "installing mariadb-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y mariadb-server >&2 || { apt-get update >&2 && apt-get install -y mariadb-server >&2; }
  have_server || { log "mariadb-server install failed"; exit 1; }
fi
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

# shellcheck source=scripts/servers/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(pick_port "${MARIADB_PORT:-}")

DIR=$(mktemp -d -t authcore-mariadb.XXXXXX)
chmod 755 "$DIR"
# mariadbd refuses to run as root unless told --user: as root, run it as OS user mysql.
if [ "$(id -u)" = 0 ]; then chown mysql: "$DIR"; U=--user=mysql; else U=--user="$(id -un)"; fi
SOCK="$DIR/mysqld.sock"
OPTS="--datadir=$DIR/data --socket=$SOCK --skip-name-resolve --skip-log-bin \
--innodb-log-file-size=16M --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=0 \
--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=500"

t0=$(date +%s%N)
# --no-defaults must come first (the machine's /etc/mysql is not ours).
# shellcheck disable=SC2086
mariadb-install-db --no-defaults "$U" --auth-root-authentication-method=normal --skip-test-db $OPTS \
  >"$DIR/install.log" 2>&1 || { cat "$DIR/install.log" >&2; exit 1; }

cat > "$DIR/ctl" <<CTL
#!/usr/bin/env bash
set -euo pipefail
ping() { mariadb-admin --no-defaults -uroot -S "$SOCK" ping >/dev/null 2>&1; }
case "\${1:-}" in
  start)
    ping && exit 0
    setsid "$MARIADBD" --no-defaults $U $OPTS --port=$PORT --bind-address=127.0.0.1 \
      --pid-file="$DIR/mariadbd.pid" --log-error="$DIR/error.log" </dev/null >>"$DIR/mariadbd.out" 2>&1 &
    pid=\$!
    for _ in \$(seq 600); do
      ping && exit 0
      kill -0 "\$pid" 2>/dev/null || { tail -20 "$DIR/error.log" >&2; exit 1; }
      sleep 0.05
    done
    echo "mariadbd did not answer within 30 s" >&2; exit 1 ;;
  stop)
    if [ -f "$DIR/mariadbd.pid" ]; then
      pid=\$(cat "$DIR/mariadbd.pid" 2>/dev/null || true)
      mariadb-admin --no-defaults -uroot -S "$SOCK" shutdown >/dev/null 2>&1 || { [ -n "\$pid" ] && kill "\$pid" 2>/dev/null || true; }
      for _ in \$(seq 600); do
        { [ -n "\$pid" ] && kill -0 "\$pid" 2>/dev/null; } || exit 0
        sleep 0.05
      done
      [ -n "\$pid" ] && kill -9 "\$pid" 2>/dev/null || true
    fi ;;
  *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
CTL
chmod 755 "$DIR/ctl"
t1=$(date +%s%N)
"$DIR/ctl" start
t2=$(date +%s%N)
# With --skip-name-resolve, TCP clients from 127.0.0.1 match '%', never 'localhost'. The tests
# create a fresh database per run, hence the global grant (a throwaway server).
mariadb --no-defaults -uroot -S "$SOCK" -e "CREATE DATABASE authtest;
  CREATE USER 'auth'@'%' IDENTIFIED BY 'authpw'; GRANT ALL PRIVILEGES ON *.* TO 'auth'@'%';"
t3=$(date +%s%N)
printf 'AUTHCORE_TEST_MYSQL_URL=%s\nAUTHCORE_TEST_MYSQL_CTL=%s\nAUTHCORE_TEST_MYSQL_DIR=%s\n' \
  "mysql://auth:authpw@127.0.0.1:$PORT/authtest" "$DIR/ctl" "$DIR"
log "port=$PORT install_db_ms=$(((t1 - t0) / 1000000)) start_ms=$(((t2 - t1) / 1000000)) createdb_ms=$(((t3 - t2) / 1000000))"
