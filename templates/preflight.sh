#!/bin/sh
# rke2image preflight: re-apply and verify the kernel parameters kubelet demands
# before rke2-server/rke2-agent starts (systemd ExecStartPre).
#
# Why: with protect-kernel-defaults (or RKE2 `profile: cis`) kubelet refuses to
# run when a sysctl differs from what it expects, and systemd-sysctl may have run
# before cloud-init wrote our sysctl.d file. This script is shipped verbatim (it
# is not a template) and must run under dash, bash and busybox sh with no Python;
# a compliant start costs the shell and one `head` (see read_files).
#
# Usage: preflight [--mode remediate|enforce|warn] [--sysctl-file PATH]
#                  [--proc-sys DIR] [--modules-file PATH] [--require-user NAME]
#                  [--require-group NAME] [--no-swap]
#
# The sysctl.d file is the one source of truth, read as sysctl.d(5) does:
# '#'/';' comments, blank lines, spaces around '=', '.' or '/' separators (the
# first one decides), a leading '-' (a missing, unreadable or unappliable key is
# reported but does not fail), multi-field values compared field by field; a
# later assignment of a key overrides an earlier one. Glob keys are skipped.
#
# Exit codes: 0 all good (or --mode warn), 1 findings, 2 usage error, a
# missing/unreadable sysctl file, no sysctl tree, or no `head` (coreutils).
#
# Output: problems and hints on stderr, changes and the summary on stdout, every
# line prefixed "rke2image-preflight: "; a mismatch line holds kubelet's exact
# words ("invalid kernel flag: <key/path>, expected value: <n>, actual value:
# <n>") so a search for the kubelet error finds it in the journal.
#
# Environment (for tests and unusual hosts):
#   RKE2IMAGE_PROC_SYS  the sysctl tree (default /proc/sys; --proc-sys wins)
#   RKE2IMAGE_MODPROBE  command that loads one module (default: modprobe, and
#                       only when the tree is the real /proc/sys)
#   RKE2IMAGE_PASSWD    passwd file (default /etc/passwd)
#   RKE2IMAGE_GROUP     group file (default /etc/group)
#   RKE2IMAGE_SWAPS     swaps table (default /proc/swaps)

set -u
set -f

PROG=rke2image-preflight
nl='
'
tab='	'
ws_ifs=" $tab$nl"

usage() {
    cat <<'EOF'
usage: preflight [--mode remediate|enforce|warn] [--sysctl-file PATH]
                 [--proc-sys DIR] [--modules-file PATH] [--require-user NAME]
                 [--require-group NAME] [--no-swap]

Checks the kernel parameters of a sysctl.d file against the running kernel
before RKE2 starts, in kubelet's own words.

  --mode MODE          remediate (default): load the modules, apply the file,
                       re-read, fail only if a value still differs;
                       enforce: change nothing, fail on any difference;
                       warn: report only, always exit 0
  --sysctl-file PATH   default /etc/sysctl.d/99-zz-rke2image.conf
  --proc-sys DIR       default $RKE2IMAGE_PROC_SYS or /proc/sys
  --modules-file PATH  default /etc/modules-load.d/rke2image.conf
  --require-user NAME  fail unless NAME is in /etc/passwd (as RKE2 checks etcd)
  --require-group NAME fail unless NAME is in /etc/group
  --no-swap            fail if /proc/swaps lists active swap

The file is read as sysctl.d(5) does; a key written with a leading '-' may be
missing or differ: it is reported, never fatal. Glob keys are not checked.

Environment: RKE2IMAGE_PROC_SYS, RKE2IMAGE_MODPROBE (module loader, used even
on a fake tree), RKE2IMAGE_PASSWD, RKE2IMAGE_GROUP, RKE2IMAGE_SWAPS.
Exit codes: 0 ok, 1 findings, 2 usage error, unreadable sysctl file, no
sysctl tree, or no head(1).
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
complain() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage_error() {
    complain "$1"
    complain "run with --help for usage"
    exit 2
}

# --- arguments -------------------------------------------------------------

mode=remediate
sysctl_file=/etc/sysctl.d/99-zz-rke2image.conf
proc_sys=${RKE2IMAGE_PROC_SYS:-/proc/sys}
modules_file=/etc/modules-load.d/rke2image.conf
require_user=
require_group=
no_swap=0

while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --no-swap) no_swap=1; shift; continue ;;
        --mode=* | --sysctl-file=* | --proc-sys=* | --modules-file=* | \
            --require-user=* | --require-group=*)
            opt=${1%%=*}; val=${1#*=}; shift ;;
        --mode | --sysctl-file | --proc-sys | --modules-file | \
            --require-user | --require-group)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            opt=$1; val=$2; shift 2 ;;
        *) usage_error "unknown argument: $1" ;;
    esac
    [ -n "$val" ] || usage_error "$opt needs a non-empty value"
    case $opt in
        --mode)
            case $val in
                remediate | enforce | warn) mode=$val ;;
                *) usage_error "--mode must be remediate, enforce or warn, not '$val'" ;;
            esac ;;
        --sysctl-file) sysctl_file=$val ;;
        --proc-sys) proc_sys=$val ;;
        --modules-file) modules_file=$val ;;
        --require-user) require_user=$val ;;
        --require-group) require_group=$val ;;
    esac
done
[ "$proc_sys" = / ] || proc_sys=${proc_sys%/}

# --- helpers (results in REPLY: no command substitution, so no forks) ------

# trim STRING: strip leading and trailing whitespace (CR included).
trim() {
    REPLY=${1#"${1%%[![:space:]]*}"}
    REPLY=${REPLY%"${REPLY##*[![:space:]]}"}
}

# fields STRING: the value as the kernel compares it, fields joined by one space.
fields() {
    IFS=$ws_ifs
    # shellcheck disable=SC2086 # splitting into fields is the point
    set -- $1
    IFS=' '
    REPLY="$*"
    IFS=$ws_ifs
}

# key_path KEY: the path under /proc/sys, per sysctl.d(5): if the first
# separator is '.', dots and slashes swap; if it is '/', the key is the path.
key_path() {
    kp_rest=$1
    REPLY=
    case $kp_rest in
        *[./]*) kp_head=${kp_rest%%[./]*} ;;
        *) REPLY=$kp_rest; return 0 ;;
    esac
    case ${kp_rest#"$kp_head"} in
        /*) REPLY=$kp_rest ;;
        *)
            while :; do
                case $kp_rest in
                    *[./]*)
                        kp_head=${kp_rest%%[./]*}
                        kp_rest=${kp_rest#"$kp_head"}
                        case $kp_rest in
                            .*) REPLY=$REPLY$kp_head/ ;;
                            *) REPLY=$REPLY$kp_head. ;;
                        esac
                        kp_rest=${kp_rest#?} ;;
                    *) REPLY=$REPLY$kp_rest; break ;;
                esac
            done ;;
    esac
    while :; do
        case $REPLY in
            /*) REPLY=${REPLY#/} ;;
            *//*) REPLY=${REPLY%%//*}/${REPLY#*//} ;;
            *) break ;;
        esac
    done
}

# --- the sysctl.d file -----------------------------------------------------

if [ -d "$sysctl_file" ] || ! [ -r "$sysctl_file" ]; then
    if [ -e "$sysctl_file" ]; then
        complain "cannot read sysctl file $sysctl_file"
    else
        complain "sysctl file $sysctl_file does not exist"
    fi
    complain "hint: render it with 'rke2image render' or pass --sysctl-file"
    exit 2
fi

if ! [ -d "$proc_sys" ]; then
    complain "no sysctl tree at $proc_sys (--proc-sys or RKE2IMAGE_PROC_SYS)"
    exit 2
fi

# Records: "<path><TAB><-|+><TAB><line><TAB><key as written><TAB><value>\n".
entries=$nl
count=0
lineno=0
line=
while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    trim "$line"; line=$REPLY
    case $line in
        '' | '#'* | ';'*) line=; continue ;;
        *=*) ;;
        *) complain "$sysctl_file:$lineno: not an assignment, ignored"; line=; continue ;;
    esac
    trim "${line%%=*}"; key=$REPLY
    trim "${line#*=}"; fields "$REPLY"; value=$REPLY
    line=
    optional=+
    case $key in -*) optional=-; trim "${key#-}"; key=$REPLY ;; esac
    key_path "$key"; path=$REPLY
    case $path in
        '') complain "$sysctl_file:$lineno: empty key, ignored"; continue ;;
        *[*?[]*) complain "$sysctl_file:$lineno: glob key '$key' is not checked by the preflight"; continue ;;
        ..|../*|*/..|*/../*|*"$tab"*)
            complain "$sysctl_file:$lineno: unsafe key '$key', ignored"; continue ;;
    esac
    case $entries in
        *"$nl$path$tab"*)
            ent_after=${entries#*"$nl$path$tab"}
            entries=${entries%%"$nl$path$tab"*}$nl${ent_after#*"$nl"}
            count=$((count - 1)) ;;
    esac
    entries=$entries$path$tab$optional$tab$lineno$tab$key$tab$value$nl
    count=$((count + 1))
done <"$sysctl_file" || { complain "cannot read sysctl file $sysctl_file"; exit 2; }

[ "$count" -gt 0 ] || complain "no kernel parameters in $sysctl_file"

# --- one record at a time --------------------------------------------------

# take_record: pop the first record of $rest into path, optional, where, key, value.
take_record() {
    tr_rec=${rest%%"$nl"*}
    rest=${rest#*"$nl"}
    path=${tr_rec%%"$tab"*}; tr_rec=${tr_rec#*"$tab"}
    optional=${tr_rec%%"$tab"*}; tr_rec=${tr_rec#*"$tab"}
    where=$sysctl_file:${tr_rec%%"$tab"*}; tr_rec=${tr_rec#*"$tab"}
    key=${tr_rec%%"$tab"*}
    value=${tr_rec#*"$tab"}
}

# read_files FILE...: read every FILE with one head, then sort what it printed
# into $values ("\n<path>\t<value>\n"), $seen (files read), $user_found,
# $group_found and $swap_lines. Why head and not the read builtin: dash and
# busybox read one byte per read(2), and the kernel returns nothing for an
# integer sysctl read at a non-zero offset, so `read` would see "1000000" as
# "1". One head for all files keeps a compliant start to a single fork, and
# splitting its output with IFS keeps the parsing linear (dash's ${x#*y} is not).
read_files() {
    values=$nl
    seen=$nl
    user_found=0
    group_found=0
    swap_lines=
    [ $# -gt 0 ] || return 0
    if ! command -v head >/dev/null 2>&1; then
        complain "head (coreutils) not found in PATH; cannot read $proc_sys"
        exit 2
    fi
    rf_out=$(head -v -c 1048576 -- "$@" 2>/dev/null)
    IFS=$nl
    # shellcheck disable=SC2086 # one positional parameter per line
    set -- $rf_out
    IFS=$ws_ifs
    rf_cur=
    rf_kind=
    rf_acc=
    for rf_line do
        case $rf_line in
            "==> "*" <==")
                [ "$rf_kind" != value ] || store_value
                rf_cur=${rf_line#"==> "}
                rf_cur=${rf_cur%" <=="}
                seen=$seen$rf_cur$nl
                rf_acc=
                case $rf_cur in
                    "$passwd_file") rf_kind=passwd ;;
                    "$group_file") rf_kind=group ;;
                    "$swaps_file") rf_kind=swaps-header ;;
                    *) rf_kind=value ;;
                esac
                continue ;;
        esac
        # One case per line: the tables can be long, and dash is slow per command.
        case $rf_kind in
            value) rf_acc="$rf_acc $rf_line" ;;
            passwd) case $rf_line in "$require_user":*) user_found=1 ;; esac ;;
            group) case $rf_line in "$require_group":*) group_found=1 ;; esac ;;
            swaps-header) rf_kind=swaps ;;
            swaps) swap_lines=$swap_lines$rf_line$nl ;;
        esac
    done
    [ "$rf_kind" != value ] || store_value
}

# store_value: keep the value of the key just read.
store_value() {
    fields "$rf_acc"
    values=$values${rf_cur#"$proc_sys/"}$tab$REPLY$nl
}

# was_read FILE: did the last read_files print FILE?
was_read() {
    case $seen in *"$nl$1$nl"*) return 0 ;; esac
    return 1
}

# value_of PATH: REPLY is the value read; status 0 read, 1 missing, 2 unreadable.
value_of() {
    case $values in
        *"$nl$1$tab"*)
            REPLY=${values#*"$nl$1$tab"}
            REPLY=${REPLY%%"$nl"*}
            return 0 ;;
    esac
    REPLY=
    [ -e "$proc_sys/$1" ] || return 1
    return 2
}

findings=0

# finding MESSAGE HINT: a problem that fails the start (unless '-' or warn mode).
finding() {
    if [ "$optional" = - ]; then
        complain "$1 (ignored: '-' key at $where)"
        return 0
    fi
    complain "$1"
    [ -z "$2" ] || complain "hint: $2"
    findings=$((findings + 1))
}

missing_hint() {
    case $path in
        net/bridge/*) REPLY="net/bridge/* appears only once br_netfilter is loaded; list it in $modules_file" ;;
        *) REPLY="no $proc_sys/$path: load the module that provides it (list it in $modules_file) or drop the key from $sysctl_file" ;;
    esac
}

# --- remediate: modules, then apply ----------------------------------------

load_modules() {
    if [ -n "${RKE2IMAGE_MODPROBE:-}" ]; then
        lm_cmd=$RKE2IMAGE_MODPROBE
    elif [ "$proc_sys" = /proc/sys ]; then
        lm_cmd=modprobe
    else
        return 0
    fi
    [ -e "$modules_file" ] || return 0
    if ! [ -r "$modules_file" ] || [ -d "$modules_file" ]; then
        complain "cannot read modules file $modules_file; no module loaded"
        return 0
    fi
    if ! command -v "$lm_cmd" >/dev/null 2>&1; then
        complain "$lm_cmd not found; modules from $modules_file not loaded"
        return 0
    fi
    lm_line=
    while IFS= read -r lm_line || [ -n "$lm_line" ]; do
        trim "$lm_line"; lm_line=
        case $REPLY in '' | '#'* | ';'*) continue ;; esac
        "$lm_cmd" "$REPLY" </dev/null ||
            complain "could not load kernel module $REPLY ($lm_cmd exited $?)"
    done <"$modules_file"
}

apply_all() {
    rest=${entries#"$nl"}
    while [ -n "$rest" ]; do
        take_record
        if value_of "$path"; then
            [ "$REPLY" != "$value" ] || continue
            was=$REPLY
        elif [ $? -eq 1 ]; then
            continue  # missing: reported by the check
        else
            was='(unreadable)'
        fi
        written=1
        if [ -w "$proc_sys/$path" ] &&
            { printf '%s\n' "$value" >"$proc_sys/$path"; } 2>/dev/null; then
            say "set $path to $value (was $was)"
        else
            complain "could not write $value to $proc_sys/$path (read-only /proc/sys, or the kernel rejected it)"
        fi
    done
}

# --- the check (every mode ends with it) -----------------------------------

check_all() {
    rest=${entries#"$nl"}
    while [ -n "$rest" ]; do
        take_record
        if value_of "$path"; then
            [ "$REPLY" != "$value" ] || continue
            if [ "$mode" = remediate ]; then
                ca_hint="the preflight wrote it but the kernel kept $REPLY: check that /proc/sys is writable and that nothing else sets $key"
            else
                ca_hint="$where wants $value; a later sysctl.d file, /etc/sysctl.conf or a tool set $REPLY (find it: systemd-analyze cat-config sysctl.d); fix that source, then 'systemctl restart systemd-sysctl' and restart RKE2 (or use --mode remediate)"
            fi
            finding "invalid kernel flag: $path, expected value: $value, actual value: $REPLY" "$ca_hint"
        elif [ $? -eq 1 ]; then
            missing_hint
            finding "missing kernel key: $path (expected value: $value, from $where)" "$REPLY"
        else
            finding "cannot read kernel key: $path ($proc_sys/$path)" ""
        fi
    done
}

check_accounts() {
    optional=+
    where=
    if [ -n "$require_user" ]; then
        if ! was_read "$passwd_file"; then
            finding "cannot read $passwd_file to look for user $require_user" ""
        elif [ "$user_found" = 0 ]; then
            finding "missing required: user: unknown user $require_user" \
                "RKE2 looks in /etc/passwd itself (not NSS); create it: useradd -r -c '$require_user user' -s /sbin/nologin -M -U $require_user (or -g $require_user if the group exists)"
        fi
    fi
    if [ -n "$require_group" ]; then
        if ! was_read "$group_file"; then
            finding "cannot read $group_file to look for group $require_group" ""
        elif [ "$group_found" = 0 ]; then
            finding "missing required: group: unknown group $require_group" \
                "RKE2 looks in /etc/group itself (not NSS); create it: groupadd -r $require_group"
        fi
    fi
}

check_swap() {
    [ "$no_swap" = 1 ] && [ -e "$swaps_file" ] || return 0
    if ! was_read "$swaps_file"; then
        finding "cannot read $swaps_file to check for swap" ""
        return 0
    fi
    IFS=$nl
    # shellcheck disable=SC2086 # one positional parameter per swap line
    set -- $swap_lines
    IFS=$ws_ifs
    for cs_line do
        # shellcheck disable=SC2086 # the device is the first field
        set -- $cs_line
        [ $# -gt 0 ] || continue
        finding "running with swap on is not supported, please disable swap: $1 (${2:-?}) is active" \
            "run 'swapoff $1' and remove it from /etc/fstab, or set kubelet-arg fail-swap-on=false"
    done
}

# --- main --------------------------------------------------------------------

passwd_file=${RKE2IMAGE_PASSWD:-/etc/passwd}
group_file=${RKE2IMAGE_GROUP:-/etc/group}
swaps_file=${RKE2IMAGE_SWAPS:-/proc/swaps}

[ "$mode" != remediate ] || load_modules

# Every file to read, for one head: the keys that exist, then the tables.
set --
rest=${entries#"$nl"}
while [ -n "$rest" ]; do
    take_record
    ! [ -f "$proc_sys/$path" ] || ! [ -r "$proc_sys/$path" ] || set -- "$@" "$proc_sys/$path"
done
[ -z "$require_user" ] || set -- "$@" "$passwd_file"
[ -z "$require_group" ] || set -- "$@" "$group_file"
[ "$no_swap" = 0 ] || ! [ -e "$swaps_file" ] || set -- "$@" "$swaps_file"
read_files "$@"

written=0
[ "$mode" != remediate ] || apply_all
# Re-read after any write: the kernel may clamp, refuse or be overruled.
[ "$written" = 0 ] || read_files "$@"
check_all
check_accounts
check_swap

if [ "$findings" -eq 0 ]; then
    say "ok: $count kernel parameters match $sysctl_file (mode $mode)"
    exit 0
fi
case $findings in 1) found="1 problem found" ;; *) found="$findings problems found" ;; esac
if [ "$mode" = warn ]; then
    say "$found (mode warn: not failing); kubelet with protect-kernel-defaults would refuse to start"
    exit 0
fi
say "$found (mode $mode); RKE2 will not start cleanly until they are fixed"
exit 1
