#!/bin/sh
# Install RKE2 into the image unless the base has it already (an image that ships
# RKE2, or the e2e stand-in). The baked user-data only enables the unit, so an
# image without RKE2 would boot into "Unit rke2-server.service not found".
# Uses RKE2's own installer (network needed during the build); the unit is not
# enabled here: the per-node user-data does that once config.yaml is in place.
# Where the installer puts RKE2 and its URL come from the build's variables
# (rke2image.render.cloudconfig, which the full user-data uses too).
# RKE2IMAGE_ROOT (default /) lets tests point the "already installed" check at a folder.
set -eu

root=${RKE2IMAGE_ROOT:-}
root=${root%/}
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then exec sudo -n -E sh "$0" "$@"; fi
version=${RKE2IMAGE_RKE2_VERSION:?RKE2IMAGE_RKE2_VERSION is required}
type=${RKE2IMAGE_RKE2_TYPE:?RKE2IMAGE_RKE2_TYPE is required}
binaries=${RKE2IMAGE_RKE2_BINARIES:?RKE2IMAGE_RKE2_BINARIES is required}
installer_url=${RKE2IMAGE_RKE2_INSTALLER:?RKE2IMAGE_RKE2_INSTALLER is required}

for bin in $binaries; do
    if [ -x "$root$bin" ]; then
        echo "rke2image: RKE2 already in the image at $bin; not installing $version"
        exit 0
    fi
done
if [ -n "$root" ]; then
    echo "rke2image: no RKE2 under $root, and the installer only installs into /" >&2
    exit 1
fi
command -v curl >/dev/null 2>&1 || {
    echo "rke2image: RKE2 is not in the image and curl is missing to fetch its installer" >&2
    exit 1
}
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
curl -sfL "$installer_url" -o "$installer"
echo "rke2image: installing RKE2 $version ($type)"
INSTALL_RKE2_VERSION=$version INSTALL_RKE2_TYPE=$type sh "$installer"
