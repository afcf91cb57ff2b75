#!/usr/bin/env bash
# Times `pgbackup list`, `list --json` and `status --json` over a large catalog.
#
#   bench/list.sh [--entries N] [--runs N] [--bin PATH]
#
# Generates a home whose catalog holds N entries (100,000 by default) across
# four databases and two types, each with its small backup file, plus a few
# untracked files and entries whose file is missing, then runs hyperfine
# (after one warm-up run) on the release binary. Needs no PostgreSQL: status
# reports the server as unreachable and exits non-zero, which is ignored
# (for status only: a failing list fails the benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."

entries=100000
runs=5
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --entries) entries="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        --bin) bin="$(realpath "$2")"; shift ;;
        *) echo "usage: $0 [--entries N] [--runs N] [--bin PATH]" >&2; exit 2 ;;
    esac
    shift
done

for tool in hyperfine python3; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install hyperfine python3)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/pgbackup-bench-list.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ -z "$bin" ]; then
    ./scripts/build-deps.sh
    cargo build --release --features isal --quiet
    bin="$PWD/target/release/pgbackup"
fi

home="$work/home"
echo "== generating $entries catalog entries with their files in $home"
python3 - "$home/backups" "$entries" <<'PY'
import datetime, json, os, sys
folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
start = datetime.datetime(2015, 1, 1)
backups = []
for n in range(count):
    at = start + datetime.timedelta(minutes=7 * n)
    bid = at.strftime("%Y%m%d_%H%M%S")
    kind = "schema" if n % 10 == 0 else "full"
    name = f"backup_{kind}_{bid}.sql.gz"
    if n % 1000 != 1:  # one entry in a thousand has lost its file
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"x" * 64)
    backups.append({
        "id": bid, "filename": name, "path": os.path.join(folder, name),
        "type": kind, "compressed": True, "size": 64,
        "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
        "description": f"scheduled backup number {n}",
        "database": f"db{n % 4}", "format": "plain", "compression": "gzip",
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "sha256": "0" * 64, "trigger": "schedule",
    })
for n in range(count // 1000):  # files the catalog does not know
    at = start - datetime.timedelta(days=n + 1)
    open(os.path.join(folder, f"backup_full_{at:%Y%m%d_%H%M%S}.sql"), "wb").close()
with open(os.path.join(folder, "backup_metadata.json"), "w") as f:
    json.dump({"version": 1, "backups": backups}, f, indent=2)
PY

cd "$work"
hyperfine --style basic --warmup 1 --runs "$runs" \
    -n 'pgbackup list' "'$bin' -q --home '$home' list > /dev/null" \
    -n 'pgbackup list --json' "'$bin' -q --home '$home' list --json > /dev/null" \
    -n 'pgbackup status --json' "'$bin' -q --home '$home' status --json > /dev/null || true"
