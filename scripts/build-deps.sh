#!/usr/bin/env bash
# Installs what building pgbackup needs on Debian besides Rust: a C toolchain,
# nasm and the autotools, with which cargo builds the bundled ISA-L (the gzip
# compressor, linked statically: the binary itself needs none of them).
set -euo pipefail

missing=()
for tool in cc make nasm autoconf automake libtoolize; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

packages=()
for tool in "${missing[@]}"; do
    case "$tool" in
        cc) packages+=(gcc libc6-dev) ;;
        libtoolize) packages+=(libtool) ;;
        *) packages+=("$tool") ;;
    esac
done
echo "installing build tools: ${packages[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
