#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, listening on 127.0.0.1 only.
#
#   scripts/postgres-test-cluster.sh start    create and start it; prints `export ...` lines
#   scripts/postgres-test-cluster.sh env      print the `export ...` lines of a running one
#   scripts/postgres-test-cluster.sh stop     stop it and delete its data directory
#   scripts/postgres-test-cluster.sh status   say whether it runs (exit 0) or not (exit 3)
#   scripts/postgres-test-cluster.sh pause    stop the server but keep its data (outage test)
#   scripts/postgres-test-cluster.sh resume   start a paused server again (outage test)
#
# Typical use: eval "$(scripts/postgres-test-cluster.sh start)" && make test; then `stop`.
#
# It uses Debian's server binaries (/usr/lib/postgresql/<version>/bin, from `apt-get install
# postgresql`) or the ones in PG_BINDIR. PostgreSQL refuses to run as root, so started by root
# the server runs as the unprivileged `postgres` user the package creates; started by anyone
# else, it runs as that person. Nothing is installed, no distro cluster is touched, and nothing
# is written outside PG_TEST_DIR. Settings (environment):
#   PG_TEST_DIR   where the data, socket and log live (default /tmp/codesign-test-postgres-UID)
#   PG_TEST_PORT  first port to try (default 54329; the next free one up to +50 is taken)
#   PG_BINDIR     directory holding initdb and pg_ctl
set -euo pipefail

SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
BASE="${PG_TEST_DIR:-/tmp/codesign-test-postgres-$(id -u)}"
DATA="$BASE/data"
SOCKETS="$BASE/sockets"
LOG="$BASE/server.log"
PORT_FILE="$BASE/port"
PASSWORD_FILE="$BASE/password"
ROLE="codesign"
FIRST_PORT="${PG_TEST_PORT:-54329}"

say() { echo "postgres-test-cluster: $*" >&2; }

find_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then
        [[ -x "$PG_BINDIR/initdb" && -x "$PG_BINDIR/pg_ctl" ]] && { echo "$PG_BINDIR"; return; }
        return 1
    fi
    local dir version newest="" newest_version=0
    # Debian's layout, /usr/lib/postgresql/<major version>/bin: take the newest.
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] || continue
        version="$(basename "$(dirname "$dir")")"
        if [[ "$version" =~ ^[0-9]+$ ]] && ((version > newest_version)); then
            newest="$dir" newest_version="$version"
        fi
    done
    [[ -n "$newest" ]] && { echo "$newest"; return; }
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return
    fi
    return 1
}

# Run a server command as the user that owns the cluster.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() {
    [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

print_env() {
    local port password
    port="$(cat "$PORT_FILE")"
    password="$(cat "$PASSWORD_FILE")"
    echo "export TEST_POSTGRES_URL='postgresql+asyncpg://$ROLE:$password@127.0.0.1:$port/postgres'"
    echo "export TEST_POSTGRES_CTL='$SCRIPT'"
    echo "export PG_TEST_DIR='$BASE'"
}

start_server() {
    local port
    port="$(cat "$PORT_FILE")"
    if port_in_use "$port"; then
        say "port $port is taken by something else"
        return 1
    fi
    if ! as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -s start; then
        say "the server did not start; its log ($LOG) ends with:"
        tail -n 20 "$LOG" >&2 || true
        return 1
    fi
}

cmd_start() {
    if running; then
        say "already running on port $(cat "$PORT_FILE")"
        print_env
        return
    fi
    if [[ -e "$BASE" ]]; then
        say "removing the leftovers of an earlier run in $BASE"
        cmd_stop
    fi
    local owner=""
    if [[ "$(id -u)" == 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            say "running as root needs the 'postgres' user (apt-get install postgresql creates it)"
            return 1
        fi
        owner="postgres"
    fi
    local port="$FIRST_PORT"
    while port_in_use "$port"; do
        port=$((port + 1))
        if ((port > FIRST_PORT + 50)); then
            say "no free port from $FIRST_PORT to $((FIRST_PORT + 50))"
            return 1
        fi
    done
    mkdir -m 0700 "$BASE"
    mkdir -m 0700 "$DATA" "$SOCKETS"
    echo "$port" >"$PORT_FILE"
    # A superuser can run programs as the server's user: other local users must not get in.
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$PASSWORD_FILE")
    touch "$LOG"
    [[ -n "$owner" ]] && chown -R "$owner": "$BASE"
    say "creating a cluster in $DATA ($("$BINDIR/postgres" --version))"
    if ! as_owner "$BINDIR/initdb" -D "$DATA" -U "$ROLE" --pwfile="$PASSWORD_FILE" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-locale --no-sync \
        >"$BASE/initdb.log" 2>&1; then
        cat "$BASE/initdb.log" >&2
        return 1
    fi
    # Local, disposable and fast: durability is not needed for test data.
    cat >>"$DATA/postgresql.conf" <<EOF

# scripts/postgres-test-cluster.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$SOCKETS'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
# Not UTC, and not a whole hour: code that leans on the server's zone shows up in the tests.
timezone = 'America/St_Johns'
EOF
    # The socket sits in a directory only the server's user can enter; TCP needs the password.
    cat >"$DATA/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
    start_server
    say "running on 127.0.0.1:$port as role '$ROLE' (stop with: $SCRIPT stop)"
    print_env
}

cmd_stop() {
    if [[ -f "$DATA/PG_VERSION" ]] && running; then
        as_owner "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w -s stop || true
    fi
    if [[ -e "$BASE" ]]; then
        rm -rf -- "$BASE"
        say "stopped and removed $BASE"
    else
        say "nothing to stop in $BASE"
    fi
}

cmd_env() {
    if ! running; then
        say "not running (start it with: $SCRIPT start)"
        return 1
    fi
    print_env
}

cmd_pause() {
    running || { say "not running"; return 1; }
    as_owner "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -s stop
}

cmd_resume() {
    [[ -f "$DATA/PG_VERSION" ]] || { say "no cluster in $DATA"; return 1; }
    running || start_server
}

cmd_status() {
    if running; then
        say "running on 127.0.0.1:$(cat "$PORT_FILE"), data in $DATA"
    else
        say "not running"
        return 3
    fi
}

command="${1:-}"
case "$command" in
start | stop | env | pause | resume | status) ;;
*)
    echo "usage: $0 start|stop|env|status|pause|resume" >&2
    exit 2
    ;;
esac

if ! BINDIR="$(find_bindir)"; then
    if [[ "$command" == stop ]]; then
        [[ -e "$BASE" ]] && rm -rf -- "$BASE"
        exit 0
    fi
    say "PostgreSQL server binaries not found (install them: sudo apt-get install postgresql)"
    exit 1
fi

"cmd_$command"
