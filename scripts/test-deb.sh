#!/usr/bin/env bash
# As root: installs target/debian/pgbackup_*.deb with dpkg -i, checks the
# binary, a man page and the installed units, makes a backup as user pgbackup
# against a throwaway cluster, removes the package (dpkg -r keeps the backups),
# then purges it (dpkg -P removes the configuration and the user, and still
# keeps the backups) and removes what the test made.
#
#   scripts/test-deb.sh [DEB]      (default: the one scripts/build-deb.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-deb.sh: run as root (it installs the package)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
deb="${1:-target/debian/pgbackup_${version}_$(dpkg --print-architecture).deb}"
if dpkg -s pgbackup >/dev/null 2>&1; then
    echo "test-deb.sh: pgbackup is installed as a package already; not touching it" >&2
    exit 1
fi
[ ! -e /var/lib/pgbackup ] || { echo "test-deb.sh: /var/lib/pgbackup exists; not touching it" >&2; exit 1; }

bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
work=$(mktemp -d /tmp/pgbackup-deb-test.XXXXXX)
chmod 755 "$work"
chown postgres: "$work"
server() { (cd / && runuser -u postgres -- "$@"); }
fail() { echo "test-deb.sh: $*" >&2; exit 1; }
cleanup() {
    server "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
    dpkg -P pgbackup >/dev/null 2>&1 || true
    rm -rf /var/lib/pgbackup
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
pgbackup --version | grep -q '^pgbackup ' || fail "pgbackup --version"
man -w pgbackup-create | grep -q '/usr/share/man/man1/pgbackup-create.1.gz' || fail "no man page"
systemd-analyze verify /usr/lib/systemd/system/pgbackup.service /usr/lib/systemd/system/pgbackup.timer \
    /usr/lib/systemd/system/pgbackup@.service /usr/lib/systemd/system/pgbackup@.timer
id pgbackup >/dev/null || fail "no user pgbackup"
[ "$(stat -c '%U %a' /var/lib/pgbackup)" = "pgbackup 700" ] || fail "state folder"
[ -f /var/lib/pgbackup/backup_schedule.json ] || fail "no default schedule"
[ "$(stat -c '%a' /etc/pgbackup/pgbackup.env)" = 600 ] || fail "env file mode"
if [ -d /run/systemd/system ]; then
    ! systemctl is-enabled pgbackup.timer >/dev/null 2>&1 || fail "the timer was enabled"
fi

port=$((20000 + RANDOM % 20000))
server "$bindir/initdb" -D "$work/data" -U postgres --auth=trust >/dev/null
server "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w \
    -o "-p $port -k $work -c listen_addresses=''" start >/dev/null
(cd / && runuser -u pgbackup -- env PGHOST="$work" PGPORT="$port" PGUSER=postgres \
    pgbackup -q create --dbname postgres)
backup=$(ls /var/lib/pgbackup/backups/backup_full_*.sql.gz)
[ "$(stat -c %U "$backup")" = pgbackup ] || fail "backup not owned by pgbackup"

dpkg -r pgbackup >/dev/null
[ ! -e /usr/bin/pgbackup ] || fail "dpkg -r left the binary"
[ -f "$backup" ] || fail "dpkg -r removed the backup"
[ -f /etc/pgbackup/pgbackup.env ] || fail "dpkg -r removed the configuration"
dpkg -P pgbackup >/dev/null
[ ! -e /etc/pgbackup ] || fail "dpkg -P left /etc/pgbackup"
[ -f "$backup" ] || fail "dpkg -P removed the backup"
echo "test-deb.sh: $deb installs, backs up as pgbackup, removes and purges"
