# The age section of bench/run.sh (sourced by it, which provides rounds,
# medians, measure, $bin, $work, $home and $out): times `pgbackup create`
# with and without encryption to an age recipient, for gzip, zstd and the
# custom format, side by side in the same rounds.
# shellcheck shell=bash disable=SC2154

echo
echo "== create encrypted with age, side by side with the same create unencrypted"
age-keygen -o "$work/age-key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/age-key.txt")

rounds age --prepare "rm -rf '$home'" \
    -n 'pgbackup create' "'$bin' -q --home '$home' create" \
    -n 'pgbackup create --recipient' "'$bin' -q --home '$home' create --recipient $recipient" \
    -n 'pgbackup create --compression zstd' "'$bin' -q --home '$home' create --compression zstd" \
    -n 'pgbackup create --compression zstd --recipient' "'$bin' -q --home '$home' create --compression zstd --recipient $recipient" \
    -n 'pgbackup create --format custom --compression gzip' "'$bin' -q --home '$home' create --format custom --compression gzip" \
    -n 'pgbackup create --format custom --compression gzip --recipient' "'$bin' -q --home '$home' create --format custom --compression gzip --recipient $recipient"
medians "$work"/age.*.json >"$work/age.json"

: >"$work/sizes.tsv"
measure 'pgbackup create' "$home/backups/backup_*" "'$bin' -v --home '$home' create"
measure 'pgbackup create --recipient' "$home/backups/backup_*" "'$bin' -v --home '$home' create --recipient $recipient"

python3 - "$work/age.json" "$work/sizes.tsv" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
sizes = {}
for line in open(sys.argv[2]):
    name, size, rss, own = line.rstrip("\n").split("\t")[:4]
    sizes[name] = (int(size), int(rss), int(own) if own else None)
plain = {r["command"]: r for r in results}
print("| command | median s | x the same create unencrypted | CPU s (pg_dump + pgbackup) | x CPU unencrypted | pgbackup's own peak RSS MiB |")
print("|---|---|---|---|---|---|")
for r in results:
    base = plain.get(r["command"].removesuffix(" --recipient"), r)
    own = sizes.get(r["command"], (0, 0, None))[2]
    own = f"{own / 1024:.1f}" if own else "-"
    print(f"| {r['command']} | {r['median']:.2f} | {r['median'] / base['median']:.2f} | {r['cpu']:.2f} | {r['cpu'] / base['cpu']:.2f} | {own} |")
PY
