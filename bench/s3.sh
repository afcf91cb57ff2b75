# The s3 section of bench/run.sh (sourced by it, which provides rounds,
# medians, measure, $bin, $work, $home and $out): starts s3s-fs on loopback,
# then times local `pgbackup create` against `create --repo s3://…` and
# against `pg_dump | gzip -1 | rclone rcat`, the same work by hand, and
# measures each one's peak memory.
# shellcheck shell=bash disable=SC2154

echo
echo "== create into S3 (s3s-fs on loopback), side by side with a local create"
s3_bin=$(command -v s3s-fs || echo "$HOME/.cargo/bin/s3s-fs")
s3_port=$((20000 + RANDOM % 20000))
s3_root="$work/s3"
mkdir -p "$s3_root/bench"
"$s3_bin" --host 127.0.0.1 --port "$s3_port" --access-key bench-key --secret-key bench-secret "$s3_root" \
    >"$work/s3s.log" 2>&1 &
s3_pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break
    sleep 0.1
done
s3_env="AWS_ACCESS_KEY_ID=bench-key AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$s3_port AWS_ALLOW_HTTP=true"
# rclone refuses a custom CA bundle (AWS_CA_BUNDLE) for its own transport.
rclone_env="-u AWS_CA_BUNDLE RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=http://127.0.0.1:$s3_port RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=bench-key RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=bench-secret RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true"
clear_bucket="rm -rf '$home' '$out'/* && find '$s3_root/bench' -mindepth 1 -delete"

rounds s3 --prepare "$clear_bucket" \
    -n 'pg_dump | gzip -1 > file' "pg_dump -d bench | gzip -1 > '$out/dump.sql.gz'" \
    -n 'pgbackup create' "'$bin' -q --home '$home' create" \
    -n 'pgbackup create --repo s3://' "env $s3_env '$bin' -q --home '$home' --repo s3://bench/pg create" \
    -n 'pg_dump | gzip -1 | rclone rcat' "pg_dump -d bench | gzip -1 | env $rclone_env rclone rcat bench:bench/rcat.sql.gz"
medians "$work"/s3.*.json >"$work/s3.json"

: >"$work/sizes.tsv"
find "$s3_root/bench" -mindepth 1 -delete
measure 'pgbackup create' "$home/backups/backup_*" "'$bin' -v --home '$home' create"
find "$s3_root/bench" -mindepth 1 -delete
measure 'pgbackup create --repo s3://' "$s3_root/bench/pg/backup_*" "env $s3_env '$bin' -v --home '$home' --repo s3://bench/pg create"
find "$s3_root/bench" -mindepth 1 -delete
measure 'pg_dump | gzip -1 | rclone rcat' "$s3_root/bench/rcat.sql.gz" "pg_dump -d bench | gzip -1 | env $rclone_env rclone rcat bench:bench/rcat.sql.gz"

python3 - "$work/s3.json" "$work/sizes.tsv" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
sizes = {}
for line in open(sys.argv[2]):
    name, size, rss, own = line.rstrip("\n").split("\t")[:4]
    sizes[name] = (int(size), int(rss), int(own) if own else None)
local = next(r for r in results if r["command"] == "pgbackup create")
base = local["median"]
print("| command | median s | x local pgbackup create | CPU s (client side) | x CPU local | stored MiB | peak RSS MiB, largest process | pgbackup's own peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for r in results:
    size, rss, own = sizes.get(r["command"], (0, 0, None))
    own = f"{own / 1024:.1f}" if own else "-"
    size = f"{size / 2**20:.1f}" if size else "-"
    rss = f"{rss / 1024:.1f}" if rss else "-"
    cpu = f"{r['cpu']:.2f} | {r['cpu'] / local['cpu']:.2f}"
    print(f"| {r['command'].replace('|', chr(92) + '|')} | {r['median']:.2f} | {r['median'] / base:.2f} | {cpu} | {size} | {rss} | {own} |")
PY
kill "$s3_pid" 2>/dev/null
s3_pid=""
