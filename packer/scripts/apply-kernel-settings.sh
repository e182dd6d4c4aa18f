#!/bin/sh
# Load the listed kernel modules and apply the kernel settings now, so the
# preflight that follows checks the values this image will boot with.
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
# Apply every sysctl.d file as the next boot will (systemd-sysctl, in file-name
# order), not only ours: a later file that undoes a value must fail the enforce
# preflight that follows instead of slipping into the image. A key the kernel
# refuses is reported here; whether it matters is the preflight's call.
[ -f "$sysctl_file" ] || { echo "no sysctl file $sysctl_file" >&2; exit 1; }
for tool in /usr/lib/systemd/systemd-sysctl /lib/systemd/systemd-sysctl; do
    if [ -x "$tool" ]; then
        "$tool" || echo "systemd-sysctl reported errors (exit $?)" >&2
        exit 0
    fi
done
sysctl --system || echo "sysctl --system reported errors (exit $?)" >&2
