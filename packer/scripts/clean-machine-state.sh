#!/bin/sh
# Remove what makes this machine one machine, so every VM made from the image
# is new: cloud-init state, the machine id, SSH host keys, the build user's
# authorized key and the staging folder.
# RKE2IMAGE_ROOT (default /) lets tests clean a folder instead.
set -eu

root=${RKE2IMAGE_ROOT:-}
root=${root%/}
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then exec sudo -n -E sh "$0" "$@"; fi

if [ -z "$root" ] && command -v cloud-init >/dev/null 2>&1; then
    cloud-init clean --logs --seed || cloud-init clean --logs
fi
rm -rf "$root/var/lib/cloud/instances" "$root/var/lib/cloud/instance" \
    "$root/var/lib/cloud/data" "$root/var/lib/cloud/sem"

# An empty machine-id (not a missing one) makes systemd generate a new id on
# the next boot and treat it as a first boot.
if [ -e "$root/etc/machine-id" ]; then
    : >"$root/etc/machine-id"
fi
if [ -f "$root/var/lib/dbus/machine-id" ] && [ ! -L "$root/var/lib/dbus/machine-id" ]; then
    rm -f "$root/var/lib/dbus/machine-id"
fi

rm -f "$root"/etc/ssh/ssh_host_*

user=${RKE2IMAGE_SSH_USER:-}
if [ -n "$user" ]; then
    home=$(awk -F: -v u="$user" '$1 == u { print $6 }' "$root/etc/passwd")
    if [ -n "$home" ]; then
        rm -f "$root$home/.ssh/authorized_keys"
    fi
fi

rm -rf "${RKE2IMAGE_STAGING:?RKE2IMAGE_STAGING is required}"
echo "cleaned machine state"
