#!/usr/bin/env bash
# Benchmarks `pgbackup create` and `restore` against pg_dump, psql and
# pg_restore themselves, side by side in one run.
#
#   bench/run.sh [--quick] [--scale N] [--docs N] [--runs N] [--bin PATH] [--fallback PATH]
#                [--only SECTION[,SECTION...]] [--factor N] [--scale-runs N]
#
# Starts a throwaway PostgreSQL cluster in a temporary folder, fills a database
# with pgbench tables (scale N) plus a table of less compressible text/jsonb,
# then times, in interleaved rounds (one hyperfine run of each command per
# round, after a warm-up round), pg_dump to /dev/null, pg_dump | gzip -6,
# pg_dump -Fc, pg_dump | zstd -3 -T0, pg_dump -Fd -j2 (its default gzip, -Z1
# and -Z0) and pgbackup create (default, zstd, custom format, custom with outer
# gzip, directory format with --jobs 2), then restores into a new database
# (psql -1 -f with and without ANALYZE, createdb + psql -1 -f + ANALYZE,
# pg_restore -j2, pgbackup restore of a plain backup with and without
# --jobs 2 and 4, of both custom ones and of a directory one). Prints medians,
# ratios to `pg_dump > /dev/null` (and to `psql -1 -f` and to createdb + psql
# -1 -f + ANALYZE), the CPU time of the command's processes and of the
# server's, output sizes and peak RSS (/usr/bin/time; pgbackup's own from its
# -v log), the last three from one more run of each command.
# Rows for features this pgbackup lacks (create --format directory, restore
# --jobs of a plain backup) are tried once on a tiny database and skipped with
# a note when refused.
# --quick uses a tiny database and one run;
# --bin uses an already built pgbackup instead of building the release binary
# (with ISA-L: --features isal). --fallback PATH adds, in the create section, that
# binary's default create and its --level 2: one built without the isal feature,
# to time zlib-rs.
# When s3s-fs and rclone are installed, an s3 section starts s3s-fs on loopback
# and times local create against create --repo s3://... and against
# pg_dump | gzip -1 | rclone rcat, with peak memory. When age-keygen is
# installed, an age section times each create with and without --recipient.
# The scale section fills a second database --factor times (5 by default) the
# size of the first and runs pg_dump > /dev/null, the default create and the
# default restore (and restore --jobs 2) once at each size (--scale-runs N for
# more), printing big/small time ratios against the size ratio and peak RSS at
# both sizes. A last table puts the figures of issue 17's targets side by side.
# --only create|s3|age|restore|scale (or a comma-separated list) runs those
# sections.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=35
docs=400000
runs=3
bin=""
fallback=""
only=""
factor=5
scale_runs=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) scale=1; docs=2000; runs=1 ;;
        --scale) scale="$2"; shift ;;
        --docs) docs="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        --bin) bin="$(realpath "$2")"; shift ;;
        --fallback) fallback="$(realpath "$2")"; shift ;;
        --only) only="$2"; shift ;;
        --factor) factor="$2"; shift ;;
        --scale-runs) scale_runs="$2"; shift ;;
        *) echo "usage: $0 [--quick] [--scale N] [--docs N] [--runs N] [--bin PATH] [--fallback PATH] [--only create|s3|age|restore|scale,...] [--factor N] [--scale-runs N]" >&2; exit 2 ;;
    esac
    shift
done
for name in ${only//,/ }; do
    case "$name" in
        create|s3|age|restore|scale) ;;
        *) echo "bench: unknown section $name in --only (create, s3, age, restore, scale)" >&2; exit 2 ;;
    esac
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

# Fills database DB with pgbench tables at SCALE plus DOCS rows of less compressible
# text and jsonb.
fill() {
    local db="$1" pgbench_scale="$2" doc_count="$3" started=$SECONDS
    echo "== filling database $db (pgbench scale $pgbench_scale, $doc_count documents)"
    psql -X -q -c "CREATE DATABASE $db" postgres
    pgbench -q -i -s "$pgbench_scale" "$db" >/dev/null 2>&1
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "
CREATE TABLE docs AS
SELECT g AS id,
       md5(random()::text) || ' ' || md5(random()::text) || ' ' || repeat(chr(65 + g % 26), g % 40) AS title,
       jsonb_build_object('n', g, 'r', random(), 'tags', jsonb_build_array(md5(g::text), g % 97)) AS body
FROM generate_series(1, $doc_count) g;"
    psql -X -At -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size('$db')) || ', filled in $((SECONDS - started)) s'"
}
fill bench "$scale" "$docs"
# A tiny database on which the rows of newer features are tried once.
psql -X -q -c "CREATE DATABASE probe" postgres
psql -X -q -d probe -c "CREATE TABLE t AS SELECT 1 AS x"

if [ -z "$bin" ]; then
    ./scripts/build-deps.sh
    cargo build --release --features isal --quiet
    bin="$PWD/target/release/pgbackup"
fi
home="$work/home"
out="$work/out"
mkdir -p "$out"

# Whether to run a section: all of them unless --only names it (a comma-separated list).
section() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

# Drops a database if it exists, without the server's notice when it does not.
drop() { PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$1"; }
# The ID in `create --json`'s output.
backup_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# Whether this pgbackup makes directory backups (create --format directory --jobs 2):
# tried once on the tiny database; a refusal prints a note and the rows are skipped.
has_directory() {
    if [ -z "${directory_ok:-}" ]; then
        directory_ok=no
        if PGDATABASE=probe "$bin" -q --home "$work/probe-home" create --format directory --jobs 2 \
            >/dev/null 2>"$work/probe.txt"; then
            directory_ok=yes
        else
            echo "note: this pgbackup refused create --format directory --jobs 2 ($(head -n 1 "$work/probe.txt")): its rows are skipped"
        fi
    fi
    [ "$directory_ok" = yes ]
}
# Whether this pgbackup restores a plain backup with --jobs: tried once, likewise.
has_plain_jobs() {
    if [ -z "${plain_jobs_ok:-}" ]; then
        plain_jobs_ok=no
        local id
        id=$(PGDATABASE=probe "$bin" -q --home "$work/probe-home" create --json | backup_id)
        if "$bin" -q --home "$work/probe-home" restore "$id" --yes --target probe_restored --jobs 2 \
            >/dev/null 2>"$work/probe.txt"; then
            plain_jobs_ok=yes
        else
            echo "note: this pgbackup refused restore --jobs 2 of a plain backup ($(head -n 1 "$work/probe.txt")): its rows are skipped"
        fi
        drop probe_restored
    fi
    [ "$plain_jobs_ok" = yes ]
}

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

# CPU seconds (user + system) the server has used so far, and its number of child
# processes: the postmaster, its live children and the children it has reaped (the
# backends of finished connections). With an argument N it first waits (up to 5 s)
# until at most N children are left, so that the backends of a command that just
# ended are counted. Background processes (checkpointer, autovacuum) count too.
server_cpu() {
    python3 - "$(head -n 1 "$work/data/postmaster.pid")" "${1:-}" <<'PY'
import os, sys, time
postmaster, wait = sys.argv[1], sys.argv[2]
def snapshot():
    ticks, children = 0, 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid == postmaster or fields[1] == postmaster:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
            children += pid != postmaster
    return ticks / os.sysconf("SC_CLK_TCK"), children
cpu, children = snapshot()
deadline = time.monotonic() + 5
while wait and children > int(wait) and time.monotonic() < deadline:
    time.sleep(0.02)
    cpu, children = snapshot()
print(f"{cpu:.2f} {children}")
PY
}

# Runs a command once, measured, and appends to $work/sizes.tsv: the name, the size
# of FILE (a glob: its largest match; a folder counts its whole content), the peak RSS of the largest
# process (/usr/bin/time), pgbackup's own peak RSS (logged at -v), wall seconds, the
# CPU seconds of the command's processes and those of the server.
sample() {
    local name="$1" file="$2"; shift 2
    local before after children size wall user sys rss own
    read -r before children < <(server_cpu)
    if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" sh -c "$*" >/dev/null 2>"$work/stderr.txt"; then
        echo "bench: '$name' failed: $*" >&2
        tail -n 5 "$work/stderr.txt" >&2
        exit 1
    fi
    read -r after _ < <(server_cpu "$children")
    read -r wall user sys rss < <(tail -n 1 "$work/time.txt")
    own=$(sed -n 's/.*peak memory of pgbackup: \([0-9]*\) KiB.*/\1/p' "$work/stderr.txt" | tail -n 1)
    size=$(find "$(dirname "$file")" -maxdepth 1 -name "$(basename "$file")" ! -name '*.meta.json' -exec du -sb {} + 2>/dev/null |
        sort -n | tail -n 1 | cut -f 1 || true)
    awk -v OFS='\t' -v name="$name" -v size="${size:-0}" -v rss="$rss" -v own="${own:-}" -v wall="$wall" \
        -v user="$user" -v sys="$sys" -v before="$before" -v after="$after" \
        'BEGIN { print name, size, rss, own, wall, sprintf("%.2f", user + sys), sprintf("%.2f", after - before) }' \
        >>"$work/sizes.tsv"
}
# sample, from an empty home and output folder.
measure() {
    rm -rf "$home" "${out:?}"/*
    sample "$@"
}

if section create; then
    fallback_create=()
    [ -z "$fallback" ] || fallback_create=(-n 'pgbackup create (zlib-rs, no isal)' "'$fallback' -q --home '$home' create"
        -n 'pgbackup create --level 2 (zlib-rs)' "'$fallback' -q --home '$home' create --level 2")
    directory_create=()
    ! has_directory || directory_create=(-n 'pgbackup create --format directory --jobs 2' "'$bin' -q --home '$home' create --format directory --jobs 2")
    rounds create --prepare "rm -rf '$home' '$out'/*" \
        -n 'pg_dump > /dev/null' "pg_dump -d bench > /dev/null" \
        -n 'pg_dump | gzip -6' "pg_dump -d bench | gzip -6 > '$out/dump.sql.gz'" \
        -n 'pg_dump -Fc' "pg_dump -Fc -d bench > '$out/dump.fc'" \
        -n 'pg_dump | zstd -3 -T0' "pg_dump -d bench | zstd -q -3 -T0 > '$out/dump.sql.zst'" \
        -n 'pg_dump -Fd -j2' "pg_dump -Fd -j2 -d bench -f '$out/dump.dir'" \
        -n 'pg_dump -Fd -j2 -Z1' "pg_dump -Fd -j2 -Z1 -d bench -f '$out/dump.dir'" \
        -n 'pg_dump -Fd -j2 -Z0' "pg_dump -Fd -j2 -Z0 -d bench -f '$out/dump.dir'" \
        -n 'pgbackup create' "'$bin' -q --home '$home' create" \
        -n 'pgbackup create --compression zstd' "'$bin' -q --home '$home' create --compression zstd" \
        -n 'pgbackup create --format custom' "'$bin' -q --home '$home' create --format custom" \
        -n 'pgbackup create --format custom --compression gzip' "'$bin' -q --home '$home' create --format custom --compression gzip" \
        "${directory_create[@]}" \
        "${fallback_create[@]}"
    medians "$work"/create.*.json >"$work/create.json"
    # The measured runs below log pgbackup's own peak memory at debug level.

    echo "== output sizes, CPU and peak memory (one more run each)"
    : >"$work/sizes.tsv"
    measure 'pg_dump > /dev/null' /dev/null "pg_dump -d bench > /dev/null"
    measure 'pg_dump | gzip -6' "$out/dump.sql.gz" "pg_dump -d bench | gzip -6 > '$out/dump.sql.gz'"
    measure 'pg_dump -Fc' "$out/dump.fc" "pg_dump -Fc -d bench > '$out/dump.fc'"
    measure 'pg_dump | zstd -3 -T0' "$out/dump.sql.zst" "pg_dump -d bench | zstd -q -3 -T0 > '$out/dump.sql.zst'"
    measure 'pg_dump -Fd -j2' "$out/dump.dir" "pg_dump -Fd -j2 -d bench -f '$out/dump.dir'"
    measure 'pg_dump -Fd -j2 -Z1' "$out/dump.dir" "pg_dump -Fd -j2 -Z1 -d bench -f '$out/dump.dir'"
    measure 'pg_dump -Fd -j2 -Z0' "$out/dump.dir" "pg_dump -Fd -j2 -Z0 -d bench -f '$out/dump.dir'"
    measure 'pgbackup create' "$home/backups/backup_*" "'$bin' -v --home '$home' create"
    measure 'pgbackup create --compression zstd' "$home/backups/backup_*" "'$bin' -v --home '$home' create --compression zstd"
    measure 'pgbackup create --format custom' "$home/backups/backup_*" "'$bin' -v --home '$home' create --format custom"
    measure 'pgbackup create --format custom --compression gzip' "$home/backups/backup_*" "'$bin' -v --home '$home' create --format custom --compression gzip"
    if has_directory; then
        measure 'pgbackup create --format directory --jobs 2' "$home/backups/backup_*" "'$bin' -v --home '$home' create --format directory --jobs 2"
    fi
    if [ -n "$fallback" ]; then
        measure 'pgbackup create (zlib-rs, no isal)' "$home/backups/backup_*" "'$fallback' -v --home '$home' create"
        measure 'pgbackup create --level 2 (zlib-rs)' "$home/backups/backup_*" "'$fallback' -v --home '$home' create --level 2"
    fi
    mv "$work/sizes.tsv" "$work/create.tsv"

    python3 - "$work/create.json" "$work/create.tsv" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
sizes = {}
for line in open(sys.argv[2]):
    name, size, rss, own, wall, cpu, server = line.rstrip("\n").split("\t")
    sizes[name] = (int(size), int(rss), int(own) if own else None, float(server))
base = next(r["median"] for r in results if r["command"] == "pg_dump > /dev/null")
gzip6 = sizes.get("pg_dump | gzip -6", (0, 0, None, 0))[0]
print("| command | median s | x pg_dump>/dev/null | CPU s (command) | server CPU s (one run) | output MiB | x gzip -6 size | peak RSS MiB, largest process | pgbackup's own peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|")
for r in results:
    size, rss, own, server = sizes.get(r["command"], (0, 0, None, 0))
    rel = f"{size / gzip6:.2f}" if gzip6 and size else "-"
    own = f"{own / 1024:.1f}" if own else "-"
    print(f"| {r['command'].replace('|', chr(92) + '|')} | {r['median']:.2f} | {r['median'] / base:.2f} | {r['cpu']:.2f} | {server:.2f} | {size / 2**20:.1f} | {rel} | {rss / 1024:.1f} | {own} |")
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

if section restore; then
    # shellcheck source=bench/restore.sh
    . bench/restore.sh
fi

if section scale; then
    # shellcheck source=bench/scale.sh
    . bench/scale.sh
fi

# shellcheck source=bench/targets.sh
. bench/targets.sh
echo
echo "bench: done in $((SECONDS / 60)) min $((SECONDS % 60)) s"
