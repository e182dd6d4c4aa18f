#!/bin/sh
# An interpreter lane: the unit and acceptance suites under another Debian generation's
# python3, inside ROOT (tests/debroots, flavour "lane-SUITE"), with the project and its
# dependencies installed from PyPI into a venv there.
#
# Usage: tests/lanes/lane.sh ROOT [CONSTRAINTS] [-- PYTEST_ARGS...]
#   ROOT         a root built by tests/debroots/build-root.sh SUITE lane
#   CONSTRAINTS  a pip constraints file (the oldest dependencies the project allows),
#                or "-" for none
# Prints pytest's output; exits with pytest's code (2 when the lane cannot be set up).
# Needs root (chroot, mounts). Everything runs in a private mount namespace, so the
# mounts end with the lane; /proc/sys is read-only inside, the working copy is copied,
# never written.
set -eu

root=${1:?usage: lane.sh ROOT [CONSTRAINTS] [-- PYTEST_ARGS...]}
shift
constraints=-
if [ $# -gt 0 ] && [ "$1" != "--" ]; then constraints=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "lane.sh: must run as root (chroot)" >&2; exit 2; }
[ -f "$root/.complete" ] || { echo "lane.sh: $root is not a built root" >&2; exit 2; }

# copy_tree DEST: the working copy as git sees it (tracked and untracked files, not the
# ignored ones such as .venv/ and the e2e caches), uncommitted changes included.
copy_tree() {
    mkdir -p "$1"
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard \
        | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) \
        | tar -xf - -C "$1"
}

# venv_key: what the cached venv was built from (the dependencies and constraints).
venv_key() {
    { cat "$repo/pyproject.toml"; [ "$constraints" = - ] || cat "$constraints"; } \
        | sha256sum | cut -c1-12
}

# One lane at a time per root: two checkouts (a clone in CI, a developer's) share the
# cached root and its venvs; a second caller waits.
exec 9>"$root/.lane.lock"
flock 9

work=$(mktemp -d "$root/tmp/rke2image-lane.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
trap 'exit 143' TERM INT
inside=${work#"$root"}
copy_tree "$work/src"
if [ "$constraints" != - ]; then cp "$constraints" "$work/constraints.txt"; fi

key=$(venv_key)
venv=/opt/rke2image-lane/venv-$key
[ -f "$root/etc/resolv.conf" ] || : > "$root/etc/resolv.conf"

# The chroot's own script: a venv with the test dependencies (once per key, kept in the
# cached root), this tree installed into it as a user would (not editable), then pytest.
cat > "$work/run.sh" <<EOF
set -eu
venv=$venv
src=$inside/src
if [ ! -f "\$venv/.complete" ]; then
    rm -rf "\$venv"
    python3 -m venv "\$venv"
    "\$venv/bin/python" -m pip install --quiet --upgrade pip
    if [ -f $inside/constraints.txt ]; then
        "\$venv/bin/python" -m pip install --quiet -c $inside/constraints.txt "\$src[test]"
    else
        "\$venv/bin/python" -m pip install --quiet "\$src[test]"
    fi
    : > "\$venv/.complete"
fi
# Venvs of other keys (other checkouts' pyproject.toml) stay, but only the three used last.
touch "\$venv/.complete"
ls -dt /opt/rke2image-lane/venv-*/.complete | tail -n +4 | while read -r old; do
    rm -rf "\${old%/.complete}"
done
"\$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "\$src"
echo "lane: \$("\$venv/bin/python" -V)"
"\$venv/bin/python" -m pip freeze --all | grep -iE '^(jsonschema|pyyaml|jinja2|packer.py|pytest|hypothesis)=' \
    | tr '\n' ' '
echo
cd "\$src"
export PATH="\$venv/bin:\$PATH"
exec "\$venv/bin/python" -m pytest -p no:cacheprovider "\$@"
EOF

# Packer left Debian after 1.6.6 (bookworm is its last release): the host's binary
# (Go, needing only libc) is bound in where the root has none.
packer=$(command -v packer || true)
if [ -n "$packer" ] && [ ! -e "$root/usr/bin/packer" ]; then
    : > "$root/usr/local/bin/packer"
else
    packer=""
fi

# Inside a private mount namespace: /proc (its sys/ read-only), /dev, /sys, the host's
# resolver and certificate authorities for pip (a network may inspect TLS with its own
# CA, which the host trusts); all of it ends with this process.
set +e
# shellcheck disable=SC2016  # the inner script expands its own arguments
unshare --mount --propagation private sh -eu -c '
root=$1 packer=$2; shift 2
mount -t proc proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -o remount,bind,ro "$root/sys"
mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
mount --bind /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
if [ -n "$packer" ]; then mount --bind "$packer" "$root/usr/local/bin/packer"; fi
exec chroot "$root" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 CI="${CI:-}" TMPDIR=/tmp PYTHONPYCACHEPREFIX="${1%/*}/pycache" \
    HYPOTHESIS_STORAGE_DIRECTORY="${1%/*}/hypothesis" \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    sh "$@"
' lane "$root" "$packer" "$inside/run.sh" "$@"
code=$?
exit "$code"
