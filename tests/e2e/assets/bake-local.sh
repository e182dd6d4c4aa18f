#!/bin/sh
# Bake a real RKE2 node image locally, in one command, on Debian/Ubuntu with root:
#
#     sudo tests/e2e/assets/bake-local.sh [SPEC]        (default: tests/e2e/assets/specs/server.yaml)
#
# It installs the Debian/Ubuntu packages it needs (apt-get), builds the e2e base
# image (a small Debian bookworm cloud image with a stand-in RKE2, cached in
# tests/e2e/.work/), runs `rke2image build --only qemu` on SPEC, and prints how to boot
# the result with the per-node user-data of `rke2image render --baked`.
# Packer must be installed (Debian: apt-get install packer; elsewhere from
# releases.hashicorp.com). KVM is used only when it really works, else TCG.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
spec=${1:-$here/specs/server.yaml}
work=$here/../.work
out=$work/local

[ "$(id -u)" = 0 ] || { echo "bake-local.sh: run as root (sudo): mmdebstrap needs it" >&2; exit 2; }

need=""
for pair in mmdebstrap:mmdebstrap qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils \
        mke2fs:e2fsprogs debugfs:e2fsprogs xorriso:xorriso ssh-keygen:openssh-client \
        flock:util-linux python3:python3; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need="$need ${pair#*:}"
done
if [ -n "$need" ]; then
    echo "bake-local.sh: installing$need" >&2
    # shellcheck disable=SC2086 # one word per package
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need
fi
command -v packer >/dev/null 2>&1 || apt-get install -y -q packer || {
    echo "bake-local.sh: packer not found; install it (https://developer.hashicorp.com/packer/install)" >&2
    exit 2
}
python3 -c 'import jsonschema, yaml, jinja2, packerpy' 2>/dev/null || {
    echo "bake-local.sh: install rke2image's Python dependencies first: pip install $repo" >&2
    exit 2
}

base=$("$here/build-base.sh" "$work")
echo "base image: $base/base.qcow2" >&2

export PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}"
export TMPDIR="$work/tmp" PACKER_CACHE_DIR="$work/packer_cache"
mkdir -p "$TMPDIR"
python3 -m rke2image build "$spec" -o "$out" --only qemu
python3 -m rke2image render "$spec" -o "$out/baked" --baked
image=$(find "$out" -path '*/qemu/*.qcow2' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
userdata=$(find "$out/baked" -type f -name user-data | head -n 1)
accel=$(python3 -c 'from rke2image.bake.accel import choose_accelerator as c; print(c())')
cat <<TXT

Baked: $image
Boot it (serial console on this terminal; Ctrl-a x quits):
  mkdir -p /tmp/seed && cp $userdata /tmp/seed/user-data \\
    && echo "instance-id: local-\$(date +%s)" > /tmp/seed/meta-data \\
    && xorriso -as mkisofs -quiet -o /tmp/seed.iso -V cidata -J -R /tmp/seed/user-data /tmp/seed/meta-data
  qemu-img create -f qcow2 -F qcow2 -b $image /tmp/node.qcow2
  qemu-system-x86_64 -machine pc,accel=$accel -m 1024 -nographic \\
    -kernel $base/vmlinuz -initrd $base/initrd.img \\
    -append "root=LABEL=rke2root ro console=ttyS0" \\
    -drive file=/tmp/node.qcow2,if=virtio -drive file=/tmp/seed.iso,media=cdrom,readonly=on \\
    -nic user,model=virtio-net-pci
TXT
