#!/bin/sh
# Load the listed kernel modules and apply the rendered sysctl.d file now, so
# the preflight that follows checks the values this image will boot with.
set -eu
if [ "$(id -u)" -ne 0 ]; then exec sudo -n -E sh "$0" "$@"; fi

sysctl_file=${RKE2IMAGE_SYSCTL_FILE:?}
modules_file=${RKE2IMAGE_MODULES_FILE:?}

if [ -f "$modules_file" ]; then
    grep -v '^[[:space:]]*[#;]' "$modules_file" | while read -r module; do
        [ -n "$module" ] || continue
        modprobe "$module"
        echo "loaded module $module"
    done
fi
sysctl -p "$sysctl_file"
