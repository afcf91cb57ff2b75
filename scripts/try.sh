#!/usr/bin/env bash
# Shows pgbackup's whole cycle in a minute on a machine with PostgreSQL's
# packages: starts a throwaway cluster in a temporary folder (as the postgres
# user when run as root) with a small sample database, then runs create, list,
# verify, a restore that swaps the database, and status, printing each command
# before running it, and removes everything when it ends.
#
#   scripts/try.sh [--bin PATH]     (default: pgbackup on PATH, else a cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""
case "${1:-}" in
    --bin) bin="$(realpath "$2")" ;;
    -h|--help) sed -n '8p' "$0" | sed 's/^# //'; exit 0 ;;
    "") ;;
    *) echo "try.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
if [ -z "$bin" ]; then
    if command -v pgbackup >/dev/null; then
        bin=$(command -v pgbackup)
    else
        cargo build --locked --quiet
        bin="$PWD/target/debug/pgbackup"
    fi
fi
bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "try.sh: needs PostgreSQL's server programs (apt-get install postgresql)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/pgbackup-try.XXXXXX)
chmod 755 "$work"
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$work"
    as_server=(runuser -u postgres --)
fi
server() { (cd / && "${as_server[@]}" "$@"); }
cleanup() {
    server "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== a throwaway PostgreSQL cluster in $work"
port=$((20000 + RANDOM % 20000))
server "$bindir/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
server "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $port -k $work -c listen_addresses=''" start >/dev/null
export PGHOST="$work" PGPORT="$port" PGUSER=postgres
unset PGDATABASE PGSERVICE PGBACKUP_HOME PGBACKUP_REPO
"$bindir/psql" -X -q -d postgres -c "CREATE DATABASE shop"
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d shop -c "
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, total numeric(10,2));
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 100) g;
INSERT INTO orders SELECT g, 1 + g % 100, g * 1.5 FROM generate_series(1, 1000) g;"
echo "sample database shop: 100 customers, 1000 orders (PGHOST=$PGHOST PGPORT=$PGPORT)"

home="$work/home"
# Prints a command, then runs it.
run() {
    printf '\n$ %s\n' "$*" | sed "s#$bin#pgbackup#; s#$work#\$TRY#g"
    "$@"
}
run "$bin" --home "$home" create --dbname shop --description "first backup"
run "$bin" --home "$home" list
run "$bin" --home "$home" verify
"$bin" --home "$home" list --json >/dev/null
"$bindir/psql" -X -q -d shop -c "DELETE FROM orders WHERE id > 10"
echo "(deleted 990 orders from shop)"
run "$bin" --home "$home" restore latest --dbname shop --yes
run "$bindir/psql" -X -At -d shop -c "SELECT count(*) AS orders FROM orders"
# status exits with the monitoring code: 0 OK, 1 WARNING, 2 CRITICAL.
code=0
run "$bin" --home "$home" status --dbname shop || code=$?
echo "(status exited with $code)"
echo
echo "== done: removing the cluster and the backups in $work"
