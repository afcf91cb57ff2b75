#!/usr/bin/env bash
# Runs a command with nasm, yasm and the autotools hidden from PATH: PATH becomes
# one temporary folder of symlinks to every other program on it.
#
#   scripts/without-build-tools.sh COMMAND [ARG...]
set -euo pipefail
[ $# -gt 0 ] || { sed -n '5p' "$0"; exit 2; }

shadow=$(mktemp -d /tmp/pgbackup-path.XXXXXX)
trap 'rm -rf "$shadow"' EXIT
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    [ -d "$dir" ] || continue
    for program in "$dir"/*; do
        name=${program##*/}
        case "$name" in
            nasm|yasm|autoconf|autoreconf|autoheader|automake|aclocal|libtoolize|libtool|autogen.sh) continue ;;
        esac
        [ -x "$program" ] && [ ! -e "$shadow/$name" ] && ln -s "$program" "$shadow/$name"
    done
done
PATH="$shadow" "$@"
