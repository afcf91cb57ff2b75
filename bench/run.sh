#!/usr/bin/env bash
# Benchmarks `pgbackup create` and `restore` against pg_dump, psql and
# pg_restore themselves, side by side in one run.
#
#   bench/run.sh [--quick] [--scale N] [--docs N] [--runs N] [--bin PATH] [--fallback PATH] [--only SECTION]
#
# Starts a throwaway PostgreSQL cluster in a temporary folder, fills a database
# with pgbench tables (scale N) plus a table of less compressible text/jsonb,
# then times, in interleaved rounds (one hyperfine run of each command per
# round, after a warm-up round), pg_dump to /dev/null, pg_dump | gzip -6,
# pg_dump -Fc, pg_dump | zstd -3 -T0 and pgbackup create (default, zstd,
# custom format, custom with outer gzip), then restores into a new database
# (psql -1 -f with and without ANALYZE, pg_restore -j2, pgbackup restore of a
# plain backup and of both custom ones). Prints medians, ratios to
# `pg_dump > /dev/null` (and to `psql -1 -f`), output sizes and peak RSS
# (/usr/bin/time -v). --quick uses a tiny database and one run;
# --bin uses an already built pgbackup instead of building the release binary
# (with ISA-L: --features isal). --fallback PATH adds, in the create section, that
# binary's default create and its --level 2: one built without the isal feature,
# to time zlib-rs.
# When s3s-fs and rclone are installed, an s3 section starts s3s-fs on loopback
# and times local create against create --repo s3://... and against
# pg_dump | gzip -1 | rclone rcat, with peak memory. When age-keygen is
# installed, an age section times each create with and without --recipient.
# --only create|s3|age|restore runs one section.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=35
docs=400000
runs=3
bin=""
fallback=""
only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) scale=1; docs=2000; runs=1 ;;
        --scale) scale="$2"; shift ;;
        --docs) docs="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        --bin) bin="$(realpath "$2")"; shift ;;
        --fallback) fallback="$(realpath "$2")"; shift ;;
        --only) only="$2"; shift ;;
        *) echo "usage: $0 [--quick] [--scale N] [--docs N] [--runs N] [--bin PATH] [--fallback PATH] [--only create|s3|age|restore]" >&2; exit 2 ;;
    esac
    shift
done

for tool in hyperfine pgbench gzip zstd python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install hyperfine time zstd postgresql-contrib python3)" >&2; exit 1; }
done
bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "bench needs PostgreSQL's server programs (apt-get install postgresql)" >&2; exit 1; }

work=$(mktemp -d /tmp/pgbackup-bench.XXXXXX)
chmod 755 "$work"
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$work"
    as_server=(runuser -u postgres --)
fi
# The server user may not be able to enter the current folder.
server() { (cd / && "${as_server[@]}" "$@"); }
cleanup() {
    [ -n "${s3_pid:-}" ] && kill "$s3_pid" 2>/dev/null
    server "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
server "$bindir/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
server "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $port -k $work -c listen_addresses='' -c fsync=off" start >/dev/null
export PGHOST="$work" PGPORT="$port" PGUSER=postgres PGDATABASE=bench

echo "== filling database bench (pgbench scale $scale, $docs documents)"
psql -X -q -c "CREATE DATABASE bench" postgres
pgbench -q -i -s "$scale" bench >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -c "
CREATE TABLE docs AS
SELECT g AS id,
       md5(random()::text) || ' ' || md5(random()::text) || ' ' || repeat(chr(65 + g % 26), g % 40) AS title,
       jsonb_build_object('n', g, 'r', random(), 'tags', jsonb_build_array(md5(g::text), g % 97)) AS body
FROM generate_series(1, $docs) g;"
psql -X -At -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size('bench'))"

if [ -z "$bin" ]; then
    ./scripts/build-deps.sh
    cargo build --release --features isal --quiet
    bin="$PWD/target/release/pgbackup"
fi
home="$work/home"
out="$work/out"
mkdir -p "$out"

# Whether to run a section: all of them unless --only names one.
section() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# One hyperfine call per round, each running every command once: the commands
# interleave, so a slow minute on a shared machine hurts them all alike. Round 0
# is a warm-up and is not counted.
rounds() {
    local name="$1" round
    shift
    for round in $(seq 0 "$runs"); do
        hyperfine --style basic --runs 1 --export-json "$work/$name.$round.json" "$@" >/dev/null
    done
    rm -f "$work/$name.0.json"
}
# Medians over the rounds' JSON files, as a JSON list of {command, median, cpu}: cpu is
# the user+system time of the command's processes (not the server's), which a loaded
# machine disturbs less than wall time.
medians() {
    python3 - "$@" <<'PY'
import json, statistics, sys
times, cpu = {}, {}
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
        cpu.setdefault(r["command"], []).append(r["user"] + r["system"])
print(json.dumps([{"command": c, "median": statistics.median(v), "cpu": statistics.median(cpu[c])}
                  for c, v in times.items()]))
PY
}

measure() {
    local name="$1" file="$2"; shift 2
    rm -rf "$home" "${out:?}"/*
    /usr/bin/time -v -o "$work/time.txt" sh -c "$*" >/dev/null 2>"$work/stderr.txt"
    local rss size own
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")
    own=$(sed -n 's/.*peak memory of pgbackup: \([0-9]*\) KiB.*/\1/p' "$work/stderr.txt" 2>/dev/null | tail -n 1)
    size=$(find "$(dirname "$file")" -maxdepth 1 -name "$(basename "$file")" ! -name '*.meta.json' -printf '%s\n' 2>/dev/null | head -n 1)
    printf '%s\t%s\t%s\t%s\n' "$name" "${size:-0}" "$rss" "${own:-}" >>"$work/sizes.tsv"
}
if section create; then
    fallback_create=()
    [ -z "$fallback" ] || fallback_create=(-n 'pgbackup create (zlib-rs, no isal)' "'$fallback' -q --home '$home' create"
        -n 'pgbackup create --level 2 (zlib-rs)' "'$fallback' -q --home '$home' create --level 2")
    rounds create --prepare "rm -rf '$home' '$out'/*" \
        -n 'pg_dump > /dev/null' "pg_dump -d bench > /dev/null" \
        -n 'pg_dump | gzip -6' "pg_dump -d bench | gzip -6 > '$out/dump.sql.gz'" \
        -n 'pg_dump -Fc' "pg_dump -Fc -d bench > '$out/dump.fc'" \
        -n 'pg_dump | zstd -3 -T0' "pg_dump -d bench | zstd -q -3 -T0 > '$out/dump.sql.zst'" \
        -n 'pgbackup create' "'$bin' -q --home '$home' create" \
        -n 'pgbackup create --compression zstd' "'$bin' -q --home '$home' create --compression zstd" \
        -n 'pgbackup create --format custom' "'$bin' -q --home '$home' create --format custom" \
        -n 'pgbackup create --format custom --compression gzip' "'$bin' -q --home '$home' create --format custom --compression gzip" \
        "${fallback_create[@]}"
    medians "$work"/create.*.json >"$work/create.json"
    # The measured runs below log pgbackup's own peak memory at debug level.

    echo "== output sizes and peak memory (one more run each)"
    : >"$work/sizes.tsv"
    measure 'pg_dump > /dev/null' /dev/null "pg_dump -d bench > /dev/null"
    measure 'pg_dump | gzip -6' "$out/dump.sql.gz" "pg_dump -d bench | gzip -6 > '$out/dump.sql.gz'"
    measure 'pg_dump -Fc' "$out/dump.fc" "pg_dump -Fc -d bench > '$out/dump.fc'"
    measure 'pg_dump | zstd -3 -T0' "$out/dump.sql.zst" "pg_dump -d bench | zstd -q -3 -T0 > '$out/dump.sql.zst'"
    measure 'pgbackup create' "$home/backups/backup_*" "'$bin' -v --home '$home' create"
    measure 'pgbackup create --compression zstd' "$home/backups/backup_*" "'$bin' -v --home '$home' create --compression zstd"
    measure 'pgbackup create --format custom' "$home/backups/backup_*" "'$bin' -v --home '$home' create --format custom"
    measure 'pgbackup create --format custom --compression gzip' "$home/backups/backup_*" "'$bin' -v --home '$home' create --format custom --compression gzip"
    if [ -n "$fallback" ]; then
        measure 'pgbackup create (zlib-rs, no isal)' "$home/backups/backup_*" "'$fallback' -v --home '$home' create"
        measure 'pgbackup create --level 2 (zlib-rs)' "$home/backups/backup_*" "'$fallback' -v --home '$home' create --level 2"
    fi

    python3 - "$work/create.json" "$work/sizes.tsv" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
sizes = {}
for line in open(sys.argv[2]):
    name, size, rss, own = line.rstrip("\n").split("\t")
    sizes[name] = (int(size), int(rss), int(own) if own else None)
base = next(r["median"] for r in results if r["command"] == "pg_dump > /dev/null")
gzip6 = sizes.get("pg_dump | gzip -6", (0, 0, None))[0]
print("| command | median s | x pg_dump>/dev/null | output MiB | x gzip -6 size | peak RSS MiB, largest process | pgbackup's own peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
for r in results:
    size, rss, own = sizes.get(r["command"], (0, 0, None))
    rel = f"{size / gzip6:.2f}" if gzip6 and size else "-"
    own = f"{own / 1024:.1f}" if own else "-"
    print(f"| {r['command'].replace('|', chr(92) + '|')} | {r['median']:.2f} | {r['median'] / base:.2f} | {size / 2**20:.1f} | {rel} | {rss / 1024:.1f} | {own} |")
PY
fi

if section s3 && command -v rclone >/dev/null && { command -v s3s-fs >/dev/null || [ -x "$HOME/.cargo/bin/s3s-fs" ]; }; then
    # shellcheck source=bench/s3.sh
    . bench/s3.sh
fi

if section age && command -v age-keygen >/dev/null; then
    # shellcheck source=bench/age.sh
    . bench/age.sh
fi

section restore || exit 0
echo
echo "== restore: into a fresh database, side by side"
rm -rf "$home" "${out:?}"/*
pg_dump -d bench -f "$out/raw.sql"
pg_dump -Fc -d bench -f "$out/bench.fc"
plain_id=$("$bin" -q --home "$home" create --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
custom_id=$("$bin" -q --home "$home" create --format custom --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
outer_id=$("$bin" -q --home "$home" create --format custom --compression gzip --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
fresh="dropdb --if-exists fresh && createdb fresh"
target="dropdb --if-exists restored"
rounds restore \
    --prepare "$fresh" -n 'psql -X -1 -f raw.sql' "psql -X -q -1 -v ON_ERROR_STOP=1 -o /dev/null -f '$out/raw.sql' -d fresh" \
    --prepare "$fresh" -n 'psql -X -1 -f raw.sql, then ANALYZE' "psql -X -q -1 -v ON_ERROR_STOP=1 -o /dev/null -f '$out/raw.sql' -d fresh && psql -X -q -c ANALYZE -d fresh" \
    --prepare "$fresh" -n 'pg_restore -j2 (-Fc)' "pg_restore -j2 -d fresh '$out/bench.fc'" \
    --prepare "$target" -n 'pgbackup restore (plain, gzip)' "'$bin' -q --home '$home' restore $plain_id --yes --target restored" \
    --prepare "$target" -n 'pgbackup restore --jobs 2 (custom)' "'$bin' -q --home '$home' restore $custom_id --yes --target restored --jobs 2" \
    --prepare "$target" -n 'pgbackup restore --jobs 2 (custom, outer gzip)' "'$bin' -q --home '$home' restore $outer_id --yes --target restored --jobs 2"
medians "$work"/restore.*.json >"$work/restore.json"

python3 - "$work/restore.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
base = next(r["median"] for r in results if r["command"] == "psql -X -1 -f raw.sql")
print("| command | median s | x psql -1 -f |")
print("|---|---|---|")
for r in results:
    print(f"| {r['command'].replace('|', chr(92) + '|')} | {r['median']:.2f} | {r['median'] / base:.2f} |")
PY
