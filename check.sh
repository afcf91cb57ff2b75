#!/usr/bin/env bash
# Reports on pgbackup's scheduled backups: whether the timer is enabled and
# active, its last and next trigger, the last result of the service, and
# `pgbackup status`. Exits non-zero when something is wrong (the largest of
# its own findings, 2 = critical, and pgbackup status's monitoring code).
#
#   ./check.sh [--home DIR]        (default: PGBACKUP_HOME or /var/lib/pgbackup)
set -uo pipefail

home="${PGBACKUP_HOME:-/var/lib/pgbackup}"
while [ $# -gt 0 ]; do
    case "$1" in
        --home) home="$2"; shift ;;
        --home=*) home="${1#*=}" ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

worst=0
problem() { printf 'PROBLEM: %s\n' "$*"; [ "$worst" -ge 2 ] || worst=2; }

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    enabled=$(systemctl is-enabled pgbackup.timer 2>/dev/null || true)
    active=$(systemctl is-active pgbackup.timer 2>/dev/null || true)
    printf 'timer: %s, %s\n' "${enabled:-unknown}" "${active:-unknown}"
    [ "$enabled" = enabled ] || problem "pgbackup.timer is not enabled (systemctl enable --now pgbackup.timer)"
    [ "$active" = active ] || problem "pgbackup.timer is not active"
    systemctl show pgbackup.timer -p LastTriggerUSec -p NextElapseUSecRealtime 2>/dev/null | sed 's/^/timer: /'
    result=$(systemctl show pgbackup.service -p Result --value 2>/dev/null || true)
    status=$(systemctl show pgbackup.service -p ExecMainStatus --value 2>/dev/null || true)
    printf 'last service run: result=%s exit status=%s\n' "${result:-unknown}" "${status:-unknown}"
    if [ -n "$result" ] && [ "$result" != success ]; then
        problem "the last run of pgbackup.service failed (journalctl -u pgbackup.service)"
    fi
else
    echo "systemd is not running here: the timer cannot be checked; only pgbackup status is reported"
fi

if ! command -v pgbackup >/dev/null; then
    problem "pgbackup is not on PATH"
    exit "$worst"
fi
if [ -r /etc/pgbackup/pgbackup.env ]; then
    set -a
    # shellcheck disable=SC1091
    . /etc/pgbackup/pgbackup.env
    set +a
fi
pgbackup --home "$home" status
code=$?
[ "$code" -le "$worst" ] || worst=$code
exit "$worst"
