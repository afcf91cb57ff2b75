#!/usr/bin/env bash
# Reports on pgbackup's scheduled backups: whether the timer is enabled and
# active, its last and next trigger, the last result of the service, and
# `pgbackup status`. Exits non-zero when something is wrong (the largest of
# its own findings, 2 = critical, and pgbackup status's monitoring code).
#
#   ./check.sh [--home DIR]        (default: PGBACKUP_HOME or /var/lib/pgbackup)
#   ./check.sh --instance NAME     (pgbackup@NAME.timer, /etc/pgbackup/NAME.env,
#                                   home /var/lib/pgbackup/NAME unless --home)
set -uo pipefail

home=""
instance=""
while [ $# -gt 0 ]; do
    case "$1" in
        --home) home="$2"; shift ;;
        --home=*) home="${1#*=}" ;;
        --instance) instance="$2"; shift ;;
        --instance=*) instance="${1#*=}" ;;
        -h|--help) sed -n '7,9p' "$0" | sed 's/^# //'; exit 0 ;;
        *) echo "check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -n "$instance" ]; then
    unit="pgbackup@$instance"
    env_file="/etc/pgbackup/$instance.env"
    [ -n "$home" ] || home="/var/lib/pgbackup/$instance"
else
    unit=pgbackup
    env_file=/etc/pgbackup/pgbackup.env
    [ -n "$home" ] || home="${PGBACKUP_HOME:-/var/lib/pgbackup}"
fi

worst=0
problem() { printf 'PROBLEM: %s\n' "$*"; [ "$worst" -ge 2 ] || worst=2; }

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    enabled=$(systemctl is-enabled "$unit.timer" 2>/dev/null || true)
    active=$(systemctl is-active "$unit.timer" 2>/dev/null || true)
    printf 'timer: %s, %s\n' "${enabled:-unknown}" "${active:-unknown}"
    [ "$enabled" = enabled ] || problem "$unit.timer is not enabled (systemctl enable --now $unit.timer)"
    [ "$active" = active ] || problem "$unit.timer is not active"
    systemctl show "$unit.timer" -p LastTriggerUSec -p NextElapseUSecRealtime 2>/dev/null | sed 's/^/timer: /'
    result=$(systemctl show "$unit.service" -p Result --value 2>/dev/null || true)
    status=$(systemctl show "$unit.service" -p ExecMainStatus --value 2>/dev/null || true)
    printf 'last service run: result=%s exit status=%s\n' "${result:-unknown}" "${status:-unknown}"
    if [ -n "$result" ] && [ "$result" != success ]; then
        problem "the last run of $unit.service failed (journalctl -u $unit.service)"
    fi
else
    echo "systemd is not running here: the timer cannot be checked; only pgbackup status is reported"
fi

if ! command -v pgbackup >/dev/null; then
    problem "pgbackup is not on PATH"
    exit "$worst"
fi
if [ -r "$env_file" ]; then
    set -a
    # shellcheck disable=SC1090
    . "$env_file"
    set +a
fi
pgbackup --home "$home" status
code=$?
[ "$code" -le "$worst" ] || worst=$code
exit "$worst"
