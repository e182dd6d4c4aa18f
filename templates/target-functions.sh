# put PATH MODE: write stdin to PATH with MODE, through a 0600 temporary file beside it
# (so a secret is never readable by others, not even while it is written), then rename.
put() {
    local path=$1 mode=$2 dir tmp
    dir=${path%/*}
    (umask 022 && mkdir -p "$dir")
    tmp=$(mktemp "$dir/.rke2image.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$path"
}

# add_account NAME COMMENT SHELL: a system group and user NAME, unless /etc/group and
# /etc/passwd (where RKE2 looks, not NSS) already name them.
add_account() {
    local name=$1 comment=$2 shell=$3
    grep -q "^$name:" /etc/group || groupadd --system "$name"
    grep -q "^$name:" /etc/passwd \
        || useradd --system --gid "$name" --comment "$comment" --shell "$shell" \
            --no-create-home "$name"
}
