#!/bin/sh
# Run the node's own preflight in enforce mode: it changes nothing and exits 1
# on any wrong value, which fails the Packer build before an image is made.
# Reading /proc/sys, /etc/passwd and /proc/swaps needs no root.
set -eu

set -- --mode enforce --sysctl-file "${RKE2IMAGE_SYSCTL_FILE:?}"
if [ -f "${RKE2IMAGE_MODULES_FILE:?}" ]; then
    set -- "$@" --modules-file "$RKE2IMAGE_MODULES_FILE"
fi
if [ -n "${RKE2IMAGE_ETCD_USER:-}" ]; then
    set -- "$@" --require-user "$RKE2IMAGE_ETCD_USER" --require-group "$RKE2IMAGE_ETCD_USER"
fi
if [ -n "${RKE2IMAGE_REQUIRED_KEYS:-}" ]; then
    set -- "$@" --required "$RKE2IMAGE_REQUIRED_KEYS"
fi
# Swap only fails the image when the spec turns kubelet's fail-swap-on on:
# RKE2 runs kubelet with fail-swap-on=false.
if [ "${RKE2IMAGE_NO_SWAP:?}" = 1 ]; then
    set -- "$@" --no-swap
fi
echo "running ${RKE2IMAGE_PREFLIGHT:?} $*"
"$RKE2IMAGE_PREFLIGHT" "$@"
echo "preflight passed: the image is compliant"
