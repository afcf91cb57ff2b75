#!/usr/bin/env bash
# Runs pgbackup's whole test suite with the `isal` feature on (as installed and
# packaged), after proving that a plain `cargo build` needs neither nasm nor the
# autotools. First installs what it needs on Debian:
# PostgreSQL's server and client programs (the tests start their own throwaway
# cluster), faketime, zstd, age (the interop tests), shellcheck, hyperfine and
# rclone (for the benchmark); and s3s-fs, the S3 server the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v pg_dump >/dev/null || missing+=(postgresql-client)
command -v faketime >/dev/null || missing+=(faketime)
command -v zstd >/dev/null || missing+=(zstd)
command -v age >/dev/null || missing+=(age)
command -v shellcheck >/dev/null || missing+=(shellcheck)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v script >/dev/null || missing+=(bsdutils)
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v rclone >/dev/null || missing+=(rclone)
[ -x /usr/bin/time ] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
command -v lintian >/dev/null || missing+=(lintian)

if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The S3 tests run against a real S3 server on loopback (a few minutes to build, once).
if ! command -v s3s-fs >/dev/null && [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
    echo "installing: s3s-fs"
    cargo install s3s-fs@0.14.1 --features binary --locked --quiet
fi

# A plain build (no isal feature) must work on a machine without nasm or the autotools.
scripts/without-build-tools.sh cargo build --locked --quiet

./scripts/build-deps.sh
shellcheck -x scripts/*.sh .ci/run install.sh check.sh bench/*.sh
# The benchmark's quick mode (a tiny database, one run) must keep working.
cargo build --locked --features isal --quiet
bench/run.sh --quick --bin target/debug/pgbackup >/dev/null
# The newcomer's tour: a throwaway cluster, create, list, verify, restore, status.
scripts/try.sh --bin target/debug/pgbackup >/dev/null 2>&1
# The Debian package (of this build, with ISA-L): lintian finds no error, and as
# root it is installed, used as user pgbackup, removed and purged.
scripts/build-deb.sh --binary target/debug/pgbackup >/dev/null
lintian --fail-on error target/debian/pgbackup_*.deb
if [ "$(id -u)" -eq 0 ]; then scripts/test-deb.sh; fi

cargo test --locked --all-targets --features isal "$@"
