# The last table of bench/run.sh (sourced by it, which provides $work): the figures
# of issue 17's targets, taken from the create, restore and scale sections of this
# run (those that ran), side by side.
# shellcheck shell=bash disable=SC2154

[ -f "$work/create.tsv" ] || [ -f "$work/restore.tsv" ] || [ -f "$work/scale.tsv" ] || return 0
echo
echo "== issue 17 targets, from this run"
python3 - "$work" "$(nproc)" <<'PY'
import json, os, statistics, sys
work, cores = sys.argv[1], int(sys.argv[2])
def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else []
def samples(name):
    path = os.path.join(work, name)
    rows = {}
    if os.path.exists(path):
        for line in open(path):
            name, size, rss, own, wall, cpu, server = line.rstrip("\n").split("\t")
            rows.setdefault(name, []).append((float(wall), float(cpu), float(server), int(rss), int(own) if own else 0))
    return rows
create = {r["command"]: r["median"] for r in load("create.json")}
restore = {r["command"]: r["median"] for r in load("restore.json")}
created, restored, scaled = samples("create.tsv"), samples("restore.tsv"), samples("scale.tsv")
lines = []
def ratio(table, name, base):
    if name in table and base in table:
        return f"{table[name] / table[base]:.2f}x"
    return "not measured (no such row in this run)"
if restore:
    psql, same = "psql -X -1 -f raw.sql", "createdb + psql -X -1 -f raw.sql + ANALYZE"
    lines.append(("plain restore --jobs 2 <= 0.9x psql -X -1 -f", ratio(restore, "pgbackup restore --jobs 2 (plain, gzip)", psql)))
    lines.append(("plain restore --jobs 4, against psql -X -1 -f", ratio(restore, "pgbackup restore --jobs 4 (plain, gzip)", psql)))
    lines.append(("default plain restore <= 1.05x createdb + psql -X -1 -f + ANALYZE", ratio(restore, "pgbackup restore (plain, gzip)", same)))
    lines.append(("default plain restore, against psql -X -1 -f", ratio(restore, "pgbackup restore (plain, gzip)", psql)))
if create:
    base = "pg_dump > /dev/null"
    lines.append(("create --format directory --jobs 2 <= 0.9x pg_dump > /dev/null", ratio(create, "pgbackup create --format directory --jobs 2", base)))
    for name in ("pg_dump -Fd -j2", "pg_dump -Fd -j2 -Z1", "pg_dump -Fd -j2 -Z0"):
        lines.append((f"{name} itself, against pg_dump > /dev/null", ratio(create, name, base)))
    # What limits a dump on this machine: the cores the command and the server kept busy.
    for name in (base, "pg_dump -Fd -j2", "pg_dump -Fd -j2 -Z0", "pgbackup create --format directory --jobs 2"):
        if name in created:
            wall, cpu, server, _, _ = created[name][0]
            lines.append((f"CPU of {name} (one run)", f"command {cpu:.2f} s + server {server:.2f} s in {wall:.2f} s wall: {(cpu + server) / wall:.2f} of {cores} cores"))
for title, table in (("create", created), ("restore", restored)):
    own = [(name, max(r[4] for r in runs)) for name, runs in table.items() if name.startswith("pgbackup")]
    if own:
        name, kib = max(own, key=lambda x: x[1])
        lines.append((f"largest pgbackup peak RSS in the {title} section", f"{kib / 1024:.1f} MiB ({name})"))
if scaled:
    for name, runs in scaled.items():
        command, db = name.rsplit("@", 1)
        if db != "big" or not command.startswith("pgbackup"):
            continue
        small = scaled[f"{command}@bench"]
        wall = statistics.median(r[0] for r in runs) / statistics.median(r[0] for r in small)
        own = f"{max(r[4] for r in small) / 1024:.1f} / {max(r[4] for r in runs) / 1024:.1f} MiB"
        lines.append((f"{command}: time big/small, own peak RSS bench / big", f"{wall:.2f}x, {own}"))
print("| target | this run |")
print("|---|---|")
for target, figure in lines:
    print(f"| {target.replace('|', chr(92) + '|')} | {figure} |")
PY
