#!/bin/sh
# Build (or reuse) a Debian root tree with mmdebstrap, for tests that run another
# Debian generation's tools: systemd-sysctl and procps (the sysctl differential test),
# python3.9/3.13 (the interpreter lanes), a bare python3 (the zipapp on a bare node).
#
# Usage: tests/debroots/build-root.sh SUITE FLAVOUR
#   SUITE    bullseye | bookworm | trixie
#   FLAVOUR  a file tests/debroots/FLAVOUR.txt listing the packages, one a line
# Prints the root folder. Cached under $RKE2IMAGE_ROOTS_CACHE (default
# /var/cache/rke2image-tests/roots) as SUITE-FLAVOUR-KEY, the key a hash of the package
# list and this script; a second caller waits on a lock and reuses the result. Needs root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
suite=${1:?usage: build-root.sh SUITE FLAVOUR}
flavour=${2:?usage: build-root.sh SUITE FLAVOUR}
list=$here/$flavour.txt
[ -f "$list" ] || { echo "build-root.sh: no package list $list" >&2; exit 2; }
mirror=${RKE2IMAGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${RKE2IMAGE_ROOTS_CACHE:-/var/cache/rke2image-tests/roots}

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list" | tr -s ' \n' ',,' | sed 's/,$//')
key=$( { printf '%s\n' "$suite" "$mirror"; cat "$list" "$here/build-root.sh"; } \
    | sha256sum | cut -c1-12)
out=$cache/$suite-$flavour-$key

if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "build-root.sh: must run as root (mmdebstrap)" >&2; exit 2; }
mkdir -p "$cache"
exec 9>"$cache/.$suite-$flavour.lock"
flock 9
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

tmp=$cache/tmp-$suite-$flavour-$key
rm -rf --one-file-system "$tmp"
trap 'rm -rf --one-file-system "$tmp"' EXIT
trap 'exit 143' TERM INT
echo "build-root: mmdebstrap $suite $flavour ($packages)" >&2
mmdebstrap --variant=minbase --include="$packages" --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$tmp" "$mirror" >&2
# An older key of the same suite and flavour is dead weight.
for old in "$cache/$suite-$flavour"-*; do
    [ -e "$old" ] && rm -rf --one-file-system "$old"
done
mv "$tmp" "$out"
: > "$out/.complete"
echo "$out"
