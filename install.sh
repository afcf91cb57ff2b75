#!/usr/bin/env bash
# Installs pgbackup: binary, man pages, shell completions, systemd units, the
# `pgbackup` system user, its home folder, /etc/pgbackup/pgbackup.env and a
# default backup_schedule.json; enables the timer where systemd runs.
# The templated units pgbackup@.service and pgbackup@.timer are installed too:
# each --instance NAME gets /etc/pgbackup/NAME.env, /var/lib/pgbackup/NAME and
# pgbackup@NAME.timer (enabled instead of the plain timer), so one host can
# back up several servers.
# Idempotent: running it again changes nothing that is already right, and
# never overwrites an environment file or a schedule.
#
#   ./install.sh [--prefix DIR] [--destdir DIR] [--binary FILE] [--no-enable] [--instance NAME]...
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
instances=()
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift ;;
        --prefix=*) prefix="${1#*=}" ;;
        --destdir) destdir="$2"; shift ;;
        --destdir=*) destdir="${1#*=}" ;;
        --binary) binary="$2"; shift ;;
        --no-enable) enable=no ;;
        --instance) instances+=("$2"); shift ;;
        --instance=*) instances+=("${1#*=}") ;;
        --uninstall) action=uninstall ;;
        --purge) purge=yes ;;
        -h|--help) sed -n '12,13p' "$0" | sed 's/^# //'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for name in ${instances[@]+"${instances[@]}"}; do
    case "$name" in
        ''|*[!A-Za-z0-9_.-]*|.*) echo "install.sh: --instance $name: use letters, digits, '.', '_' and '-' (not first '.')" >&2; exit 2 ;;
    esac
done

home=/var/lib/pgbackup
bindir="$prefix/bin"
mandir="$prefix/share/man/man1"
if [ "$prefix" = /usr ]; then unitdir=/usr/lib/systemd/system; else unitdir=/etc/systemd/system; fi
# systemd-sysusers reads /usr/lib/sysusers.d and /etc/sysusers.d, never PREFIX/lib.
case "$prefix" in
    /usr|/usr/local) sysusersdir=/usr/lib/sysusers.d ;;
    *) sysusersdir=/etc/sysusers.d ;;
esac
bash_completions="$prefix/share/bash-completion/completions"
zsh_completions="$prefix/share/zsh/site-functions"
fish_completions="$prefix/share/fish/vendor_completions.d"

say() { printf 'install.sh: %s\n' "$*"; }
live() { [ -z "$destdir" ] && [ "$(id -u)" -eq 0 ]; }
systemd_running() { live && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

uninstall() {
    if systemd_running; then
        systemctl disable --now pgbackup.timer >/dev/null 2>&1 || true
        systemctl list-unit-files --no-legend 'pgbackup@*.timer' 2>/dev/null | awk '{print $1}' |
            grep -v '^pgbackup@\.timer$' | xargs -r systemctl disable --now >/dev/null 2>&1 || true
    fi
    rm -f "$destdir$bindir/pgbackup" "$destdir$mandir"/pgbackup*.1 \
        "$destdir$unitdir/pgbackup.service" "$destdir$unitdir/pgbackup.timer" \
        "$destdir$unitdir/pgbackup@.service" "$destdir$unitdir/pgbackup@.timer" \
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
        cargo build --release --locked --features isal --quiet
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
    local unit
    for unit in pgbackup.service pgbackup@.service; do
        sed "s#^ExecStart=/usr/local/bin/pgbackup #ExecStart=$bindir/pgbackup #" "systemd/$unit" \
            >"$destdir$unitdir/$unit"
        chmod 0644 "$destdir$unitdir/$unit"
    done
    install -m 0644 systemd/pgbackup.timer "$destdir$unitdir/pgbackup.timer"
    install -m 0644 systemd/pgbackup@.timer "$destdir$unitdir/pgbackup@.timer"
    printf 'u pgbackup - "pgbackup PostgreSQL backups" %s /usr/sbin/nologin\n' "$home" \
        >"$destdir$sysusersdir/pgbackup.conf"
}

# environment_file NAME HOME: /etc/pgbackup/NAME.env (0600), unless it exists.
environment_file() {
    local file="$destdir/etc/pgbackup/$1.env"
    [ -e "$file" ] && return 0
    install -m 0600 /dev/null "$file"
    cat >"$file" <<ENV
# Environment for pgbackup's scheduled runs (libpq variables pass through).
# PGHOST=/var/run/postgresql
# PGPORT=5432
# PGUSER=pgbackup
# PGDATABASE=app
# PGPASSFILE=$2/.pgpass
ENV
}

install_user_and_folders() {
    if live && ! id pgbackup >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$home" --no-create-home \
            --shell /usr/sbin/nologin --comment "pgbackup PostgreSQL backups" pgbackup
        say "created system user pgbackup"
    fi
    install -d -m 0700 "$destdir$home" "$destdir$home/backups" "$destdir$home/logs"
    install -d -m 0755 "$destdir/etc/pgbackup"
    environment_file pgbackup "$home"
    if [ ! -e "$destdir$home/backup_schedule.json" ]; then
        install -m 0600 backup_schedule.json "$destdir$home/backup_schedule.json"
    fi
    local name
    for name in ${instances[@]+"${instances[@]}"}; do
        install -d -m 0700 "$destdir$home/$name" "$destdir$home/$name/backups" "$destdir$home/$name/logs"
        environment_file "$name" "$home/$name"
        if [ ! -e "$destdir$home/$name/backup_schedule.json" ]; then
            install -m 0600 backup_schedule.json "$destdir$home/$name/backup_schedule.json"
        fi
        say "instance $name: /etc/pgbackup/$name.env, $home/$name, pgbackup@$name.timer"
    done
    if live; then
        chown -R pgbackup:pgbackup "$destdir$home"
    fi
}

enable_timer() {
    local timers=(pgbackup.timer) name
    if [ ${#instances[@]} -gt 0 ]; then
        timers=()
        for name in "${instances[@]}"; do timers+=("pgbackup@$name.timer"); done
    fi
    if [ "$enable" = no ]; then
        say "timer not enabled (--no-enable)"
    elif systemd_running; then
        systemctl daemon-reload
        systemctl enable --now "${timers[@]}"
        say "enabled and started ${timers[*]}"
    else
        say "systemd is not running here: enable the timer later with 'systemctl enable --now ${timers[*]}'"
    fi
}

if [ "$action" = uninstall ]; then
    uninstall
else
    install_files
    install_user_and_folders
    enable_timer
    say "installed pgbackup into $destdir$prefix"
fi
