#!/usr/bin/env bash
# Builds target/debian/pgbackup_<version>_<arch>.deb with dpkg-deb: the binary
# (release build with ISA-L, --features isal), man pages, shell completions,
# the systemd units in /usr/lib/systemd/system, the sysusers.d entry of user
# pgbackup, and /etc/pgbackup/pgbackup.env and /etc/pgbackup/backup_schedule.json
# as conffiles. The maintainer scripts (packaging/debian/) create the user and
# /var/lib/pgbackup, and never enable a timer.
#
#   scripts/build-deb.sh [--binary FILE]   (default: cargo build --release --features isal)
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
case "${1:-}" in
    --binary) binary="$(realpath "$2")" ;;
    -h|--help) sed -n '9p' "$0" | sed 's/^# //'; exit 0 ;;
    "") ;;
    *) echo "build-deb.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
if [ -z "$binary" ]; then
    ./scripts/build-deps.sh
    cargo build --release --locked --features isal --quiet
    binary="$PWD/target/release/pgbackup"
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)
out="target/debian/pgbackup_${version}_${arch}.deb"
stage=$(mktemp -d /tmp/pgbackup-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"

./install.sh --destdir "$root" --prefix /usr --no-enable --binary "$binary" >/dev/null
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/pgbackup"
# The state folder is made by postinst (owned by pgbackup); the default schedule
# ships in /etc, where a conffile belongs, and postinst copies it there once.
rm -rf "${root:?}/var"
install -m 0644 backup_schedule.json "$root/etc/pgbackup/backup_schedule.json"
gzip -9n "$root"/usr/share/man/man1/*.1
doc="$root/usr/share/doc/pgbackup"
install -d -m 0755 "$doc"
install -m 0644 packaging/debian/copyright "$doc/copyright"
sed "s/@VERSION@/$version/; s/@DATE@/$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")/" \
    packaging/debian/changelog | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
# The environment file may hold connection settings, a password even: 0600 on purpose.
install -d -m 0755 "$root/usr/share/lintian/overrides"
install -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/pgbackup"

install -d -m 0755 "$root/DEBIAN"
for script in postinst postrm; do
    install -m 0755 "packaging/debian/$script" "$root/DEBIAN/$script"
done
printf '/etc/pgbackup/pgbackup.env\n/etc/pgbackup/backup_schedule.json\n' >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed "s/@VERSION@/$version/; s/@ARCH@/$arch/; s/@SIZE@/$size/" packaging/debian/control \
    >"$root/DEBIAN/control"

mkdir -p target/debian
fakeroot=()
[ "$(id -u)" -eq 0 ] || fakeroot=(fakeroot)
"${fakeroot[@]}" dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
