#!/bin/sh
# Build (or reuse) the e2e base image: a stock Debian bookworm cloud image in miniature,
# made from Debian packages only, holding a stand-in for RKE2 installed like RKE2's
# tarball install (/usr/local/bin/rke2, /usr/local/lib/systemd/system/rke2-*.service,
# not enabled). No loop mounts: mmdebstrap makes the root tree, `mke2fs -d` turns it
# into an ext4 filesystem, qemu-img makes it a qcow2. The disk has no boot loader;
# boot it with the kernel and initrd written next to it (-kernel/-initrd/-append).
#
# Usage: tests/e2e/assets/build-base.sh [WORKDIR]     (default: tests/e2e/.work; must be root)
# Prints the folder holding base.qcow2, base.qcow2.sha256, vmlinuz, initrd.img;
# WORKDIR/base links to it.
# The result is cached under WORKDIR/base-<key>, the key being a hash of the package
# list, this script, the stand-in sources and the kernel facts it is built from.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=${1:-$here/../.work}
mirror=${E2E_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
disk_size=${E2E_DISK_SIZE:-2G}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The stand-in's expected values come from the one table of kernel facts.
expected=$(PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" python3 -c '
import json
from rke2image.kernel import REQUIRED_PARAMETERS as P
print(json.dumps([{"key": p.key, "value": p.value, "rke2_cis_checked": p.rke2_cis_checked}
                  for p in P], indent=1))')

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/base/packages.txt" | tr -s ' \n' ',,' | sed 's/,$//')
key=$( {
    printf '%s\n' "$suite" "$disk_size" "$expected"
    cat "$here/base/packages.txt" "$here/build-base.sh"
    for f in "$here"/standin/*; do printf '%s\n' "$f" | sed "s|^$here/||"; cat "$f"; done
} | sha256sum | cut -c1-16)
out=$work/base-$key

if [ -s "$out/base.qcow2" ]; then
    ln -sfn "base-$key" "$work/base"
    echo "$out"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-base.sh: must run as root (mmdebstrap, device nodes)" >&2; exit 2; }

# One builder at a time; a second caller waits and then reuses the result.
exec 9>"$work/.base.lock"
flock 9
if [ -s "$out/base.qcow2" ]; then
    ln -sfn "base-$key" "$work/base"
    echo "$out"
    exit 0
fi

tmp=$work/tmp-base-$key
rm -rf --one-file-system "$tmp"
mkdir -p "$tmp"
# A failed or interrupted build leaves nothing (--one-file-system: never through a mount).
trap 'rm -rf --one-file-system "$tmp"' EXIT
trap 'exit 143' TERM INT
tree=$tmp/tree
echo "build-base: mmdebstrap $suite ($packages)" >&2
TMPDIR=$tmp mmdebstrap --variant=apt --include="$packages" \
    --aptopt='Acquire::Retries "3"' \
    "$suite" "$tree" "$mirror" >&2

# Files of a stock cloud image (fstab, hostname, a NoCloud-first datasource list).
printf 'LABEL=rke2root / ext4 defaults,errors=remount-ro 0 1\n' > "$tree/etc/fstab"
printf 'debian\n' > "$tree/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian\n' > "$tree/etc/hosts"
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' \
    > "$tree/etc/network/interfaces"
# C.UTF-8 needs no locale-gen; RSA host keys take minutes to make under TCG.
printf '%s\n' 'datasource_list: [ NoCloud, None ]' 'manage_etc_hosts: true' \
    'locale: C.UTF-8' 'ssh_genkeytypes: [ed25519, ecdsa]' \
    > "$tree/etc/cloud/cloud.cfg.d/90-local-image.cfg"
: > "$tree/etc/machine-id"
rm -f "$tree/var/lib/dbus/machine-id"
rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin

# The stand-in RKE2, as RKE2's tarball install lays it out, not enabled.
install -D -m 0755 "$here/standin/rke2" "$tree/usr/local/bin/rke2"
for role in server agent; do
    install -D -m 0644 "$here/standin/rke2-$role.service" \
        "$tree/usr/local/lib/systemd/system/rke2-$role.service"
done
mkdir -p "$tree/usr/local/share/rke2-standin"
printf '%s\n' "$expected" > "$tree/usr/local/share/rke2-standin/expected.json"
# The test harness: inert unless the kernel command line holds rke2e2e.watch.
install -D -m 0755 "$here/standin/e2e-watch" "$tree/usr/local/libexec/e2e-watch"
install -D -m 0644 "$here/standin/e2e-watch.service" \
    "$tree/usr/local/lib/systemd/system/e2e-watch.service"
systemctl --root="$tree" enable e2e-watch.service >&2

cp -L "$tree/vmlinuz" "$tmp/vmlinuz"
cp -L "$tree/initrd.img" "$tmp/initrd.img"
echo "build-base: mke2fs -d ($disk_size), qemu-img convert" >&2
mke2fs -q -t ext4 -L rke2root -d "$tree" "$tmp/base.raw" "$disk_size" >&2
qemu-img convert -f raw -O qcow2 "$tmp/base.raw" "$tmp/base.qcow2"
rm -rf --one-file-system "$tree" "$tmp/base.raw"
(cd "$tmp" && sha256sum base.qcow2 | cut -d' ' -f1 > base.qcow2.sha256)
printf '%s\n' "$packages" > "$tmp/packages"
mv "$tmp" "$out"
# Older bases (other keys) are dead weight: 500 MiB each.
for old in "$work"/base-*; do
    [ "$old" = "$out" ] || rm -rf --one-file-system "$old"
done
# tests/e2e/assets/specs/*.yaml point at WORKDIR/base: the newest base built here.
ln -sfn "base-$key" "$work/base"
echo "$out"
