# The restore section of bench/run.sh (sourced by it, which provides rounds,
# medians, sample, the has_* probes, $bin, $work, $home and $out): restores the
# same database into a new one with psql, pg_restore and pgbackup, side by side,
# then runs each command once more for CPU (its own and the server's) and peak memory.
# shellcheck shell=bash disable=SC2154

echo
echo "== restore: into a fresh database, side by side"
rm -rf "$home" "${out:?}"/*
pg_dump -d bench -f "$out/raw.sql"
pg_dump -Fc -d bench -f "$out/bench.fc"
plain_id=$("$bin" -q --home "$home" create --json | backup_id)
custom_id=$("$bin" -q --home "$home" create --format custom --json | backup_id)
outer_id=$("$bin" -q --home "$home" create --format custom --compression gzip --json | backup_id)
fresh="dropdb --if-exists fresh && createdb fresh"
target="dropdb --if-exists restored"
load="psql -X -q -1 -v ON_ERROR_STOP=1 -o /dev/null -f '$out/raw.sql' -d fresh"
analyze="psql -X -q -c ANALYZE -d fresh"
restore_cmd() { echo "'$bin' -q --home '$home' restore $1 --yes --target restored${2:+ $2}"; }
# Five words a row: --prepare, its command, -n, the name, the command.
rows=(
    --prepare "$fresh" -n 'psql -X -1 -f raw.sql' "$load"
    --prepare "$fresh" -n 'psql -X -1 -f raw.sql, then ANALYZE' "$load && $analyze"
    --prepare "dropdb --if-exists fresh" -n 'createdb + psql -X -1 -f raw.sql + ANALYZE' "createdb fresh && $load && $analyze"
    --prepare "$fresh" -n 'pg_restore -j2 (-Fc)' "pg_restore -j2 -d fresh '$out/bench.fc'"
    --prepare "$target" -n 'pgbackup restore (plain, gzip)' "$(restore_cmd "$plain_id")"
)
if has_plain_jobs; then
    rows+=(
        --prepare "$target" -n 'pgbackup restore --jobs 2 (plain, gzip)' "$(restore_cmd "$plain_id" '--jobs 2')"
        --prepare "$target" -n 'pgbackup restore --jobs 4 (plain, gzip)' "$(restore_cmd "$plain_id" '--jobs 4')"
    )
fi
rows+=(
    --prepare "$target" -n 'pgbackup restore --jobs 2 (custom)' "$(restore_cmd "$custom_id" '--jobs 2')"
    --prepare "$target" -n 'pgbackup restore --jobs 2 (custom, outer gzip)' "$(restore_cmd "$outer_id" '--jobs 2')"
)
if has_directory; then
    directory_id=$("$bin" -q --home "$home" create --format directory --jobs 2 --json | backup_id)
    rows+=(--prepare "$target" -n 'pgbackup restore --jobs 2 (directory)' "$(restore_cmd "$directory_id" '--jobs 2')")
fi
rounds restore "${rows[@]}"
medians "$work"/restore.*.json >"$work/restore.json"

echo "== CPU and peak memory (one more run each)"
: >"$work/sizes.tsv"
set -- "${rows[@]}"
while [ $# -gt 0 ]; do
    PGOPTIONS="-c client_min_messages=warning" sh -c "$2"
    # At -v pgbackup logs its own peak memory.
    sample "$4" /dev/null "${5//"'$bin' -q "/"'$bin' -v "}"
    shift 5
done
drop fresh
drop restored
mv "$work/sizes.tsv" "$work/restore.tsv"

python3 - "$work/restore.json" "$work/restore.tsv" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
sizes = {}
for line in open(sys.argv[2]):
    name, size, rss, own, wall, cpu, server = line.rstrip("\n").split("\t")
    sizes[name] = (int(rss), int(own) if own else None, float(server))
median = {r["command"]: r["median"] for r in results}
base = median["psql -X -1 -f raw.sql"]
same = median["createdb + psql -X -1 -f raw.sql + ANALYZE"]
print("| command | median s | x psql -1 -f | x createdb + psql -1 -f + ANALYZE | CPU s (command) | server CPU s (one run) | peak RSS MiB, largest process | pgbackup's own peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for r in results:
    rss, own, server = sizes.get(r["command"], (0, None, 0))
    own = f"{own / 1024:.1f}" if own else "-"
    print(f"| {r['command']} | {r['median']:.2f} | {r['median'] / base:.2f} | {r['median'] / same:.2f} | {r['cpu']:.2f} | {server:.2f} | {rss / 1024:.1f} | {own} |")
PY
