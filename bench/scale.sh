# The scale section of bench/run.sh (sourced by it, which provides fill, sample,
# the has_* probes, $bin, $work, $scale, $docs, $factor and $scale_runs): fills a
# second database, big, $factor times the size of bench, then runs pg_dump >
# /dev/null, the default create and the default restore (and restore --jobs 2 of a
# plain backup when this pgbackup has it) once at each size ($scale_runs rounds,
# bench and big alternating; medians), and prints the time ratios big/small beside
# the ratio of the database sizes, with peak memory at both sizes.
# shellcheck shell=bash disable=SC2154

echo
echo "== linearity: bench and a database $factor times larger"
fill big $((scale * factor)) $((docs * factor))
# Hint bits and the visibility map, set once here rather than by the first timed dump.
psql -X -q -c VACUUM -d bench
psql -X -q -c VACUUM -d big
# One untimed dump of each, so the first timed one does not pay for a cold cache.
pg_dump -d bench >/dev/null
pg_dump -d big >/dev/null
psql -X -At -c "SELECT pg_database_size('bench'), pg_database_size('big')" -d postgres | tr '|' ' ' >"$work/scale.sizes"

: >"$work/sizes.tsv"
for _ in $(seq "$scale_runs"); do
    for db in bench big; do
        scale_home="$work/home-$db"
        rm -rf "$scale_home"
        sample "pg_dump > /dev/null@$db" /dev/null "pg_dump -d $db > /dev/null"
        sample "pgbackup create@$db" "$scale_home/backups/backup_*" "env PGDATABASE=$db '$bin' -v --home '$scale_home' create"
        scale_id=$("$bin" -q --home "$scale_home" list --json | python3 -c '
import json, sys
listed = json.load(sys.stdin)
print((listed["backups"] if isinstance(listed, dict) else listed)[0]["id"])')
        drop restored
        sample "pgbackup restore (plain, gzip)@$db" /dev/null "'$bin' -v --home '$scale_home' restore $scale_id --yes --target restored"
        dropdb restored
        if has_plain_jobs; then
            sample "pgbackup restore --jobs 2 (plain, gzip)@$db" /dev/null "'$bin' -v --home '$scale_home' restore $scale_id --yes --target restored --jobs 2"
            dropdb restored
        fi
    done
done
mv "$work/sizes.tsv" "$work/scale.tsv"

python3 - "$work/scale.tsv" "$work/scale.sizes" <<'PY'
import statistics, sys
small, big = (int(x) for x in open(sys.argv[2]).read().split())
data = big / small
print(f"database size: bench {small / 2**20:.0f} MiB, big {big / 2**20:.0f} MiB: x{data:.2f}")
rows = {}
for line in open(sys.argv[1]):
    name, size, rss, own, wall, cpu, server = line.rstrip("\n").split("\t")
    command, db = name.rsplit("@", 1)
    rows.setdefault(command, {}).setdefault(db, []).append((float(wall), int(rss), int(own) if own else 0, int(size)))
def mib(kib):
    return f"{kib / 1024:.1f}" if kib else "-"
print("| command | bench s | big s | x big/small | x big/small per x data | peak RSS MiB, largest process, bench / big | pgbackup's own peak RSS MiB, bench / big | output MiB, bench / big |")
print("|---|---|---|---|---|---|---|---|")
for command, at in rows.items():
    s, b = ({k: statistics.median(v) for k, v in zip(("wall", "rss", "own", "size"), zip(*at[db]))} for db in ("bench", "big"))
    ratio = b["wall"] / s["wall"]
    out = f"{s['size'] / 2**20:.1f} / {b['size'] / 2**20:.1f}" if s["size"] else "-"
    print(f"| {command.replace('|', chr(92) + '|')} | {s['wall']:.2f} | {b['wall']:.2f} | {ratio:.2f} | {ratio / data:.2f} | {mib(s['rss'])} / {mib(b['rss'])} | {mib(s['own'])} / {mib(b['own'])} | {out} |")
PY
dropdb big
