#!/bin/sh
# Install the uploaded rootfs with root ownership and the modes of install.list
# ("MODE SHA256 PATH" per line), checking each file's digest on the way, then
# create the etcd account RKE2 servers need with profile cis/etcd (its name,
# comment and shell come from rke2image.accounts through the build's variables),
# and reload systemd so the preflight drop-in is seen.
# RKE2IMAGE_ROOT (default /) lets tests install into a folder.
set -eu

staging=${RKE2IMAGE_STAGING:?RKE2IMAGE_STAGING is required}
root=${RKE2IMAGE_ROOT:-}
root=${root%/}
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then exec sudo -n -E sh "$0" "$@"; fi

while read -r mode digest path; do
    [ -n "$path" ] || continue
    src="$staging/rootfs$path"
    dest="$root$path"
    actual=$(sha256sum "$src" | cut -d' ' -f1)
    if [ "$actual" != "$digest" ]; then
        echo "rke2image: $path: sha256 $actual, expected $digest" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$dest")"
    cp "$src" "$dest.rke2image-new"
    if [ "$(id -u)" -eq 0 ]; then chown 0:0 "$dest.rke2image-new"; fi
    chmod "$mode" "$dest.rke2image-new"
    mv -f "$dest.rke2image-new" "$dest"
    echo "installed $path ($mode)"
done <"$staging/install.list"

user=${RKE2IMAGE_ETCD_USER:-}
if [ -n "$user" ]; then
    comment=${RKE2IMAGE_ETCD_USER_COMMENT:?RKE2IMAGE_ETCD_USER_COMMENT is required}
    shell=${RKE2IMAGE_ETCD_USER_SHELL:?RKE2IMAGE_ETCD_USER_SHELL is required}
    # RKE2 reads /etc/passwd and /etc/group itself, so check the files, not NSS.
    if ! grep -q "^$user:" "$root/etc/group"; then
        if [ -z "$root" ] && command -v groupadd >/dev/null 2>&1; then
            groupadd --system "$user"
        else
            echo "$user:x:52034:" >>"$root/etc/group"
        fi
        echo "created group $user"
    fi
    if ! grep -q "^$user:" "$root/etc/passwd"; then
        if [ -z "$root" ] && command -v useradd >/dev/null 2>&1; then
            useradd --system --no-create-home --gid "$user" --shell "$shell" \
                --comment "$comment" "$user"
        else
            gid=$(grep "^$user:" "$root/etc/group" | cut -d: -f3)
            echo "$user:x:52034:$gid:$comment:/nonexistent:$shell" >>"$root/etc/passwd"
        fi
        echo "created user $user"
    fi
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    echo "reloaded systemd"
fi
