#!/bin/sh
# Copy a qcow2 image made by build-base.sh (or baked from it) and add one file to
# its root filesystem, without mounting anything: qemu-img to raw, debugfs to
# write, qemu-img back. The e2e tests use it to put a later sysctl.d file that
# undoes a required value into an image.
#
# Usage: tests/e2e/assets/add-file.sh IN.qcow2 OUT.qcow2 SOURCE_FILE /ABSOLUTE/DEST/PATH
set -eu
[ $# -eq 4 ] || { echo "usage: $0 IN.qcow2 OUT.qcow2 SOURCE_FILE /DEST/PATH" >&2; exit 2; }
in=$1 out=$2 src=$3 dest=$4
case $dest in /*) ;; *) echo "add-file.sh: DEST must be absolute" >&2; exit 2 ;; esac
raw=$out.raw.tmp
trap 'rm -f "$raw"' EXIT
qemu-img convert -f qcow2 -O raw "$in" "$raw"
dir=$(dirname "$dest")
name=$(basename "$dest")
# debugfs reports command errors on stderr but exits 0: check that the file landed.
debugfs -w -f - "$raw" >/dev/null 2>&1 <<CMDS
cd $dir
rm $name
write $src $name
sif $name uid 0
sif $name gid 0
sif $name mode 0100644
CMDS
debugfs -R "stat $dest" "$raw" 2>/dev/null | grep -q 'Type: regular' \
    || { echo "add-file.sh: $dest was not written into $in" >&2; exit 1; }
qemu-img convert -f raw -O qcow2 "$raw" "$out"
