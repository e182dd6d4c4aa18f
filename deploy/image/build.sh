#!/bin/sh
# Build the rke2image container image from Debian packages only: mmdebstrap makes a
# Debian bookworm root with python3 and python3-venv, a venv in /opt/rke2image gets the
# rke2image wheel (built from this checkout) and its dependencies' wheels (PyPI), and the
# root is written as a tarball that `podman import` (or `docker import`) turns into an
# image. No registry is needed to build it; push the imported image to yours.
#
# Usage: deploy/image/build.sh [WORKDIR]     (default: deploy/image/.work; must be root)
# Prints the tarball's path: WORKDIR/rke2image-<key>.tar. Then:
#   podman import --change 'ENTRYPOINT ["/usr/local/bin/rke2image"]' TAR rke2image:0.1.0
# The tarball is cached by key: a hash of the suite, this script and the wheels, so an
# unchanged checkout reuses it (hatchling builds the same wheel from the same source).
# Needs: mmdebstrap, Debian's mirror (E2E_MIRROR or RKE2IMAGE_MIRROR), PyPI for the
# dependency wheels, and PYTHON (default python3) with pip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$(dirname "$here")")
work=${1:-$here/.work}
mirror=${RKE2IMAGE_MIRROR:-${E2E_MIRROR:-http://deb.debian.org/debian}}
python=${PYTHON:-python3}
suite=bookworm
mkdir -p "$work"
work=$(cd "$work" && pwd)

[ "$(id -u)" = 0 ] || { echo "build.sh: must run as root (mmdebstrap)" >&2; exit 2; }

# One builder at a time; a second caller waits and then reuses the result.
exec 9>"$work/.image.lock"
flock 9

# The wheels first: they are part of the key.
wheels=$work/wheels
rm -rf "$wheels"
"$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$wheels" "$repo" >&2
key=$( {
    printf '%s\n' "$suite"
    cat "$here/build.sh"
    (cd "$wheels" && sha256sum -- *.whl | sort -k2)
} | sha256sum | cut -c1-16)
out=$work/rke2image-$key.tar
if [ -s "$out" ]; then
    echo "$out"
    exit 0
fi

tmp=$work/tmp-$key
rm -rf --one-file-system "$tmp"
mkdir -p "$tmp"
# A failed or interrupted build leaves nothing behind.
trap 'rm -rf --one-file-system "$tmp"' EXIT
trap 'exit 143' TERM INT
echo "build.sh: mmdebstrap $suite + python3 + rke2image ($key)" >&2
# shellcheck disable=SC2016  # "$1" in the hooks is mmdebstrap's root, expanded by it
TMPDIR=$tmp mmdebstrap --variant=minbase --include=python3,python3-venv \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook="copy-in $wheels /tmp" \
    --customize-hook='chroot "$1" python3 -m venv /opt/rke2image' \
    --customize-hook='chroot "$1" /opt/rke2image/bin/python -m pip install --quiet --no-index --find-links /tmp/wheels --disable-pip-version-check rke2image' \
    --customize-hook='ln -s /opt/rke2image/bin/rke2image "$1/usr/local/bin/rke2image"' \
    --customize-hook='chroot "$1" /usr/local/bin/rke2image --version' \
    --customize-hook='rm -rf "$1/tmp/wheels" "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$tmp/rke2image.tar" "$mirror" >&2
mv "$tmp/rke2image.tar" "$out"
# Older tarballs of this work folder are superseded.
find "$work" -maxdepth 1 -name 'rke2image-*.tar' ! -name "rke2image-$key.tar" -delete
echo "$out"
