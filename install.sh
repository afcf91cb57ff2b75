#!/usr/bin/env bash
# Installs pgbackup: binary, man pages, shell completions, systemd units, the
# `pgbackup` system user, its home folder, /etc/pgbackup/pgbackup.env and a
# default backup_schedule.json; enables the timer where systemd runs.
# Idempotent: running it again changes nothing that is already right, and
# never overwrites the environment file or the schedule.
#
#   ./install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--no-enable]
#   ./install.sh --uninstall [--purge]      (--purge also removes backups and config)
#
# PREFIX and DESTDIR may also come from the environment (packaging).
set -euo pipefail
cd "$(dirname "$0")"

prefix="${PREFIX:-/usr/local}"
destdir="${DESTDIR:-}"
binary=""
enable=yes
action=install
purge=no
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift ;;
        --prefix=*) prefix="${1#*=}" ;;
        --destdir) destdir="$2"; shift ;;
        --destdir=*) destdir="${1#*=}" ;;
        --binary) binary="$2"; shift ;;
        --no-enable) enable=no ;;
        --uninstall) action=uninstall ;;
        --purge) purge=yes ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

home=/var/lib/pgbackup
bindir="$prefix/bin"
mandir="$prefix/share/man/man1"
if [ "$prefix" = /usr ]; then unitdir=/usr/lib/systemd/system; else unitdir=/etc/systemd/system; fi
sysusersdir="$prefix/lib/sysusers.d"
[ "$prefix" = /usr/local ] && sysusersdir=/usr/lib/sysusers.d
bash_completions="$prefix/share/bash-completion/completions"
zsh_completions="$prefix/share/zsh/site-functions"
fish_completions="$prefix/share/fish/vendor_completions.d"

say() { printf 'install.sh: %s\n' "$*"; }
live() { [ -z "$destdir" ] && [ "$(id -u)" -eq 0 ]; }
systemd_running() { live && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

uninstall() {
    if systemd_running; then
        systemctl disable --now pgbackup.timer >/dev/null 2>&1 || true
    fi
    rm -f "$destdir$bindir/pgbackup" "$destdir$mandir"/pgbackup*.1 \
        "$destdir$unitdir/pgbackup.service" "$destdir$unitdir/pgbackup.timer" \
        "$destdir$sysusersdir/pgbackup.conf" "$destdir$bash_completions/pgbackup" \
        "$destdir$zsh_completions/_pgbackup" "$destdir$fish_completions/pgbackup.fish"
    if systemd_running; then systemctl daemon-reload; fi
    if [ "$purge" = yes ]; then
        rm -rf "$destdir$home" "$destdir/etc/pgbackup"
        if live && id pgbackup >/dev/null 2>&1; then userdel pgbackup; fi
        say "removed pgbackup, its backups and its configuration"
    else
        say "removed pgbackup; backups in $destdir$home and $destdir/etc/pgbackup were kept (--purge removes them)"
    fi
}

find_binary() {
    if [ -n "$binary" ]; then
        printf '%s\n' "$binary"
    elif command -v cargo >/dev/null && [ -f Cargo.toml ]; then
        ./scripts/build-deps.sh >&2
        cargo build --release --locked --quiet
        printf '%s\n' "$PWD/target/release/pgbackup"
    else
        echo "install.sh: no cargo to build with; pass --binary FILE" >&2
        exit 1
    fi
}

install_files() {
    local bin
    bin=$(find_binary)
    install -d -m 0755 "$destdir$bindir" "$destdir$mandir" "$destdir$unitdir" "$destdir$sysusersdir" \
        "$destdir$bash_completions" "$destdir$zsh_completions" "$destdir$fish_completions"
    install -m 0755 "$bin" "$destdir$bindir/pgbackup"
    install -m 0644 man/*.1 "$destdir$mandir/"
    "$bin" completions bash >"$destdir$bash_completions/pgbackup"
    "$bin" completions zsh >"$destdir$zsh_completions/_pgbackup"
    "$bin" completions fish >"$destdir$fish_completions/pgbackup.fish"
    sed "s#^ExecStart=/usr/local/bin/pgbackup #ExecStart=$bindir/pgbackup #" systemd/pgbackup.service \
        >"$destdir$unitdir/pgbackup.service"
    install -m 0644 systemd/pgbackup.timer "$destdir$unitdir/pgbackup.timer"
    chmod 0644 "$destdir$unitdir/pgbackup.service"
    printf 'u pgbackup - "pgbackup PostgreSQL backups" %s /usr/sbin/nologin\n' "$home" \
        >"$destdir$sysusersdir/pgbackup.conf"
}

install_user_and_folders() {
    if live && ! id pgbackup >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$home" --no-create-home \
            --shell /usr/sbin/nologin --comment "pgbackup PostgreSQL backups" pgbackup
        say "created system user pgbackup"
    fi
    install -d -m 0700 "$destdir$home" "$destdir$home/backups" "$destdir$home/logs"
    install -d -m 0755 "$destdir/etc/pgbackup"
    if [ ! -e "$destdir/etc/pgbackup/pgbackup.env" ]; then
        install -m 0600 /dev/null "$destdir/etc/pgbackup/pgbackup.env"
        cat >"$destdir/etc/pgbackup/pgbackup.env" <<'ENV'
# Environment for pgbackup's scheduled runs (libpq variables pass through).
# PGHOST=/var/run/postgresql
# PGPORT=5432
# PGUSER=pgbackup
# PGDATABASE=app
# PGPASSFILE=/var/lib/pgbackup/.pgpass
ENV
    fi
    if [ ! -e "$destdir$home/backup_schedule.json" ]; then
        install -m 0600 backup_schedule.json "$destdir$home/backup_schedule.json"
    fi
    if live; then
        chown -R pgbackup:pgbackup "$destdir$home"
    fi
}

enable_timer() {
    if [ "$enable" = no ]; then
        say "timer not enabled (--no-enable)"
    elif systemd_running; then
        systemctl daemon-reload
        systemctl enable --now pgbackup.timer
        say "enabled and started pgbackup.timer"
    else
        say "systemd is not running here: enable the timer later with 'systemctl enable --now pgbackup.timer'"
    fi
}

if [ "$action" = uninstall ]; then
    uninstall
else
    install_files
    install_user_and_folders
    enable_timer
    say "installed pgbackup into ${destdir:-/}${prefix#/}"
fi
