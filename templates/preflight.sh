#!/bin/sh
# rke2image preflight: re-apply and verify the kernel parameters kubelet demands
# before rke2-server/rke2-agent starts (systemd ExecStartPre).
#
# Why: with protect-kernel-defaults (or RKE2 `profile: cis`) kubelet refuses to
# run when a sysctl differs from what it expects, and systemd-sysctl may have run
# before cloud-init wrote our sysctl.d file. This script is shipped verbatim (it
# is not a template) and must run under dash, bash and busybox sh with no Python;
# a compliant start costs the shell and one `head` (see read_files). It knows no
# node path and no kernel value: the drop-in passes every file and key.
#
# Usage: preflight --sysctl-file PATH [--mode remediate|enforce|warn]
#                  [--proc-sys DIR] [--modules-file PATH] [--required KEY,...]
#                  [--require-user NAME] [--require-group NAME] [--no-swap]
#
# The sysctl.d file is the one source of truth, read as sysctl.d(5) does:
# '#'/';' comments, blank lines, spaces around '=', '.' or '/' separators (the
# first one decides), a leading '-' (a missing, unreadable or unappliable key is
# reported but does not fail), multi-field values compared field by field; a
# later assignment of a key overrides an earlier one. Glob keys are skipped.
# A key missing from the sysctl tree fails only when it is required (--required;
# without it, every key is): systemd-sysctl itself skips a missing key.
#
# Exit codes: 0 all good (or --mode warn), 1 findings, 2 usage error, a
# missing/unreadable sysctl file, no sysctl tree, or no `head` (coreutils).
#
# Output: problems and hints on stderr, changes and the summary on stdout, every
# line prefixed "rke2image-preflight: "; a mismatch line holds kubelet's exact
# words ("invalid kernel flag: <key/path>, expected value: <n>, actual value:
# <n>") so a search for the kubelet error finds it in the journal. A hint never
# advises restarting systemd-sysctl: on a running node that resets sysctls the
# CNI set (RKE2's hardening guide; rancher/rke2#2021).
#
# Environment (for tests and unusual hosts):
#   RKE2IMAGE_PROC_SYS     the sysctl tree (default /proc/sys; --proc-sys wins)
#   RKE2IMAGE_MODPROBE     command that loads one module (default: modprobe, and
#                          only when the tree is the real /proc/sys)
#   RKE2IMAGE_PASSWD       passwd file (default /etc/passwd)
#   RKE2IMAGE_GROUP        group file (default /etc/group)
#   RKE2IMAGE_SWAPS        swaps table (default /proc/swaps)
#   RKE2IMAGE_SYSCTL_ROOT  root under which sysctl.d folders are searched for the
#                          file that overrides a value (default /)

# `local` is not POSIX, but dash, busybox sh and bash all have it (as RKE2's
# install.sh relies on); the record callbacks are called through each_record.
# shellcheck disable=SC3043,SC2317

set -u
set -f

# --- constants ---------------------------------------------------------------

PROG=rke2image-preflight
NL='
'
TAB='	'
WS_IFS=" $TAB$NL"
# The most head reads of one file: /proc/sys values are short, tables are not.
READ_LIMIT=1048576
# Where systemd-sysctl reads sysctl.d files, in its order, then procps' extras.
SYSCTL_DIRS='/etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d'
SYSCTL_CONF=/etc/sysctl.conf

# --- options (set once by parse_args, read-only afterwards) -----------------

mode=remediate
sysctl_file=
proc_sys=${RKE2IMAGE_PROC_SYS:-/proc/sys}
modules_file=
required=
require_user=
require_group=
no_swap=0
passwd_file=${RKE2IMAGE_PASSWD:-/etc/passwd}
group_file=${RKE2IMAGE_GROUP:-/etc/group}
swaps_file=${RKE2IMAGE_SWAPS:-/proc/swaps}
sysctl_root=${RKE2IMAGE_SYSCTL_ROOT:-}

# --- state (what the file and the tree hold; results of helpers go in REPLY) -

records=$NL    # "<path>\t<-|+>\t<line>\t<key as written>\t<value>\n" per key
count=0        # records kept
values=$NL     # "<path>\t<value>\n" per key read from the tree
seen=$NL       # files the last read_files printed
user_found=0
group_found=0
swap_lines=
findings=0
written=0

# --- output ------------------------------------------------------------------

# usage: print the help text.
usage() {
    cat <<'EOF'
usage: preflight [--mode remediate|enforce|warn] --sysctl-file PATH
                 [--proc-sys DIR] [--modules-file PATH] [--required KEY,...]
                 [--require-user NAME] [--require-group NAME] [--no-swap]

Checks the kernel parameters of a sysctl.d file against the running kernel
before RKE2 starts, in kubelet's own words.

  --mode MODE          remediate (default): load the modules, apply the file,
                       re-read, fail only if a value still differs;
                       enforce: change nothing, fail on any difference;
                       warn: report only, always exit 0
  --sysctl-file PATH   the sysctl.d file to enforce (required)
  --proc-sys DIR       default $RKE2IMAGE_PROC_SYS or /proc/sys
  --modules-file PATH  modules-load.d file whose modules remediate loads
  --required KEY,...   keys that must exist in the tree (kubelet reads them);
                       another key that is missing is only a warning, as
                       systemd-sysctl skips it (default: every key is required)
  --require-user NAME  fail unless NAME is in /etc/passwd (as RKE2 checks etcd)
  --require-group NAME fail unless NAME is in /etc/group
  --no-swap            fail if /proc/swaps lists active swap (kubelet's
                       fail-swap-on=true; RKE2's default is false)

The file is read as sysctl.d(5) does; a key written with a leading '-' may be
missing or differ: it is reported, never fatal. Glob keys are not checked.

Environment: RKE2IMAGE_PROC_SYS, RKE2IMAGE_MODPROBE (module loader, used even
on a fake tree), RKE2IMAGE_PASSWD, RKE2IMAGE_GROUP, RKE2IMAGE_SWAPS,
RKE2IMAGE_SYSCTL_ROOT (where to look for the file that overrides a value).
Exit codes: 0 ok, 1 findings, 2 usage error, unreadable sysctl file, no
sysctl tree, or no head(1).
EOF
}

# say WORDS: a line on stdout, prefixed.
say() { printf '%s: %s\n' "$PROG" "$*"; }

# complain WORDS: a line on stderr, prefixed.
complain() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# usage_error MESSAGE: report a bad command line and exit 2.
usage_error() {
    complain "$1"
    complain "run with --help for usage"
    exit 2
}

# --- arguments ---------------------------------------------------------------

# parse_args ARG...: set the options from the command line.
parse_args() {
    local opt='' val=''
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --no-swap) no_swap=1; shift; continue ;;
            --mode=* | --sysctl-file=* | --proc-sys=* | --modules-file=* | --required=* | \
                --require-user=* | --require-group=*)
                opt=${1%%=*}; val=${1#*=}; shift ;;
            --mode | --sysctl-file | --proc-sys | --modules-file | --required | \
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
            --required) required_paths "$val"; required=$REPLY ;;
            --require-user) require_user=$val ;;
            --require-group) require_group=$val ;;
        esac
    done
    [ -n "$sysctl_file" ] || usage_error "--sysctl-file is required (the drop-in passes it)"
    [ "$proc_sys" = / ] || proc_sys=${proc_sys%/}
}

# required_paths KEY,...: REPLY is "\n<path>\n<path>\n" for a comma-separated list.
required_paths() {
    local rest="$1," key=''
    REPLY=$NL
    while [ -n "$rest" ]; do
        key=${rest%%,*}
        rest=${rest#*,}
        [ -z "$key" ] || { key_path "$key"; REPLY=$REPLY$REPLY_PATH$NL; }
    done
}

# --- text helpers (results in REPLY: no command substitution, so no forks) ---

# trim STRING: strip leading and trailing whitespace (CR included).
trim() {
    REPLY=${1#"${1%%[![:space:]]*}"}
    REPLY=${REPLY%"${REPLY##*[![:space:]]}"}
}

# fields STRING: the value as the kernel compares it, fields joined by one space.
fields() {
    IFS=$WS_IFS
    # shellcheck disable=SC2086 # splitting into fields is the point
    set -- $1
    IFS=' '
    REPLY="$*"
    IFS=$WS_IFS
}

# key_path KEY: REPLY_PATH is the path under the tree, per sysctl.d(5): if the
# first separator is '.', dots and slashes swap; if it is '/', the key is the path.
key_path() {
    local rest="$1" head='' path=''
    case $rest in
        *[./]*) head=${rest%%[./]*} ;;
        *) REPLY_PATH=$rest; return 0 ;;
    esac
    case ${rest#"$head"} in
        /*) path=$rest ;;
        *)
            while :; do
                case $rest in
                    *[./]*)
                        head=${rest%%[./]*}
                        rest=${rest#"$head"}
                        case $rest in
                            .*) path=$path$head/ ;;
                            *) path=$path$head. ;;
                        esac
                        rest=${rest#?} ;;
                    *) path=$path$rest; break ;;
                esac
            done ;;
    esac
    while :; do
        case $path in
            /*) path=${path#/} ;;
            *//*) path=${path%%//*}/${path#*//} ;;
            *) break ;;
        esac
    done
    REPLY_PATH=$path
}

# --- the sysctl.d file -------------------------------------------------------

# check_inputs: exit 2 unless the sysctl file is readable and the tree exists.
check_inputs() {
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
}

# read_sysctl_file: parse the sysctl file into records, a later key replacing an earlier.
read_sysctl_file() {
    local line='' lineno=0 key='' value='' flag='' path='' after=''
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
        flag=+
        case $key in -*) flag=-; trim "${key#-}"; key=$REPLY ;; esac
        key_path "$key"; path=$REPLY_PATH
        case $path in
            '') complain "$sysctl_file:$lineno: empty key, ignored"; continue ;;
            *[*?[]*)
                complain "$sysctl_file:$lineno: glob key '$key' is not checked by the preflight"
                continue ;;
            .. | ../* | */.. | */../* | *"$TAB"*)
                complain "$sysctl_file:$lineno: unsafe key '$key', ignored"; continue ;;
        esac
        case $records in
            *"$NL$path$TAB"*)
                after=${records#*"$NL$path$TAB"}
                records=${records%%"$NL$path$TAB"*}$NL${after#*"$NL"}
                count=$((count - 1)) ;;
        esac
        records=$records$path$TAB$flag$TAB$lineno$TAB$key$TAB$value$NL
        count=$((count + 1))
    done <"$sysctl_file" || { complain "cannot read sysctl file $sysctl_file"; exit 2; }
    [ "$count" -gt 0 ] || complain "no kernel parameters in $sysctl_file"
}

# each_record FUNCTION: call FUNCTION PATH FLAG LINE KEY VALUE for every record.
each_record() {
    local fn="$1" rest="${records#"$NL"}" rec='' path='' flag='' line='' key=''
    while [ -n "$rest" ]; do
        rec=${rest%%"$NL"*}
        rest=${rest#*"$NL"}
        path=${rec%%"$TAB"*}; rec=${rec#*"$TAB"}
        flag=${rec%%"$TAB"*}; rec=${rec#*"$TAB"}
        line=${rec%%"$TAB"*}; rec=${rec#*"$TAB"}
        key=${rec%%"$TAB"*}
        "$fn" "$path" "$flag" "$line" "$key" "${rec#*"$TAB"}"
    done
}

# --- reading the tree and the tables -----------------------------------------

# list_readable PATH FLAG LINE KEY VALUE: add the key's file to $to_read if it can be read.
list_readable() {
    [ -f "$proc_sys/$1" ] && [ -r "$proc_sys/$1" ] || return 0
    to_read=$to_read$proc_sys/$1$NL
}

# read_files: read every file of $to_read with one head, then sort what it
# printed into $values, $seen, $user_found, $group_found and $swap_lines. Why head
# and not the read builtin: dash and busybox read one byte per read(2), and the
# kernel returns nothing for an integer sysctl read at a non-zero offset, so
# `read` would see "1000000" as "1". One head for all files keeps a compliant
# start to a single fork, and splitting its output with IFS keeps the parsing
# linear (dash's ${x#*y} is not).
read_files() {
    local out='' line='' current='' kind='' acc=''
    values=$NL
    seen=$NL
    user_found=0
    group_found=0
    swap_lines=
    [ -n "$to_read" ] || return 0
    if ! command -v head >/dev/null 2>&1; then
        complain "head (coreutils) not found in PATH; cannot read $proc_sys"
        exit 2
    fi
    IFS=$NL
    # shellcheck disable=SC2086 # one positional parameter per file
    set -- $to_read
    IFS=$WS_IFS
    out=$(head -v -c "$READ_LIMIT" -- "$@" 2>/dev/null)
    IFS=$NL
    # shellcheck disable=SC2086 # one positional parameter per line
    set -- $out
    IFS=$WS_IFS
    for line do
        case $line in
            "==> "*" <==")
                [ "$kind" != value ] || store_value "$current" "$acc"
                current=${line#"==> "}
                current=${current%" <=="}
                seen=$seen$current$NL
                acc=
                case $current in
                    "$passwd_file") kind=passwd ;;
                    "$group_file") kind=group ;;
                    "$swaps_file") kind=swaps-header ;;
                    *) kind=value ;;
                esac
                continue ;;
        esac
        # One case per line: the tables can be long, and dash is slow per command.
        case $kind in
            value) acc="$acc $line" ;;
            passwd) case $line in "$require_user":*) user_found=1 ;; esac ;;
            group) case $line in "$require_group":*) group_found=1 ;; esac ;;
            swaps-header) kind=swaps ;;
            swaps) swap_lines=$swap_lines$line$NL ;;
        esac
    done
    [ "$kind" != value ] || store_value "$current" "$acc"
}

# store_value FILE TEXT: keep the value read from FILE, fields normalised.
store_value() {
    fields "$2"
    values=$values${1#"$proc_sys/"}$TAB$REPLY$NL
}

# was_read FILE: did the last read_files print FILE?
was_read() {
    case $seen in *"$NL$1$NL"*) return 0 ;; esac
    return 1
}

# value_of PATH: REPLY is the value read; status 0 read, 1 missing, 2 unreadable.
value_of() {
    case $values in
        *"$NL$1$TAB"*)
            REPLY=${values#*"$NL$1$TAB"}
            REPLY=${REPLY%%"$NL"*}
            return 0 ;;
    esac
    REPLY=
    [ -e "$proc_sys/$1" ] || return 1
    return 2
}

# --- remediate: modules, then apply --------------------------------------------

# load_modules: load every module of the modules file (remediate mode only).
load_modules() {
    local cmd='' line=''
    if [ -n "${RKE2IMAGE_MODPROBE:-}" ]; then
        cmd=$RKE2IMAGE_MODPROBE
    elif [ "$proc_sys" = /proc/sys ]; then
        cmd=modprobe
    else
        return 0
    fi
    [ -n "$modules_file" ] && [ -e "$modules_file" ] || return 0
    if ! [ -r "$modules_file" ] || [ -d "$modules_file" ]; then
        complain "cannot read modules file $modules_file; no module loaded"
        return 0
    fi
    if ! command -v "$cmd" >/dev/null 2>&1; then
        complain "$cmd not found; modules from $modules_file not loaded"
        return 0
    fi
    while IFS= read -r line || [ -n "$line" ]; do
        trim "$line"; line=
        case $REPLY in '' | '#'* | ';'*) continue ;; esac
        "$cmd" "$REPLY" </dev/null ||
            complain "could not load kernel module $REPLY ($cmd exited $?)"
    done <"$modules_file"
}

# apply_record PATH FLAG LINE KEY VALUE: write VALUE to the tree if it differs.
apply_record() {
    local was=''
    if value_of "$1"; then
        [ "$REPLY" != "$5" ] || return 0
        was=$REPLY
    elif [ $? -eq 1 ]; then
        return 0  # missing: reported by the check
    else
        was='(unreadable)'
    fi
    written=1
    if [ -w "$proc_sys/$1" ] && { printf '%s\n' "$5" >"$proc_sys/$1"; } 2>/dev/null; then
        say "set $1 to $5 (was $was)"
    else
        complain "could not write $5 to $proc_sys/$1" \
            "(read-only /proc/sys, or the kernel rejected it)"
    fi
}

# --- the checks (every mode ends with them) ------------------------------------

# finding FLAG WHERE MESSAGE HINT: a problem that fails the start (unless '-' or warn).
finding() {
    if [ "$1" = - ]; then
        complain "$3 (ignored: '-' key at $2)"
        return 0
    fi
    complain "$3"
    [ -z "$4" ] || complain "hint: $4"
    findings=$((findings + 1))
}

# assignments FILE PATH VALUE: REPLY lists "FILE:LINE" of each line of FILE that
# assigns VALUE to PATH.
assignments() {
    local line='' lineno=0 found=''
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        case $line in *=*) ;; *) continue ;; esac
        trim "${line%%=*}"; trim "${REPLY#-}"; key_path "$REPLY"
        [ "$REPLY_PATH" = "$2" ] || continue
        trim "${line#*=}"; fields "$REPLY"
        [ "$REPLY" != "$3" ] || found="$found${found:+, }$1:$lineno"
    done <"$1"
    REPLY=$found
}

# setter PATH VALUE: REPLY lists "FILE:LINE" of the assignments of VALUE to PATH,
# other than ours, in the files systemd-sysctl and procps' sysctl --system read.
setter() {
    local path="$1" value="$2" dir='' file='' names="$NL" found=''
    for dir in $SYSCTL_DIRS; do
        set +f
        set -- "$sysctl_root$dir"/*.conf
        set -f
        for file do
            case $names in *"$NL${file##*/}$NL"*) continue ;; esac  # masked by a same name
            names=$names${file##*/}$NL
            [ "$file" != "$sysctl_file" ] || continue
            if ! [ -f "$file" ] || ! [ -r "$file" ]; then continue; fi
            assignments "$file" "$path" "$value"
            found="$found${found:+${REPLY:+, }}$REPLY"
        done
    done
    file=$sysctl_root$SYSCTL_CONF
    if [ -f "$file" ] && [ -r "$file" ]; then
        assignments "$file" "$path" "$value"
        found="$found${found:+${REPLY:+, }}$REPLY"
    fi
    REPLY=$found
}

# mismatch_hint PATH LINE KEY VALUE ACTUAL: REPLY is how to fix a differing value.
mismatch_hint() {
    local where="$sysctl_file:$2" fix="sysctl -w $3=$4"
    case $4 in *' '*) fix="sysctl -w \"$3=$4\"" ;; esac
    if [ "$mode" = remediate ]; then
        REPLY="the preflight wrote it but the kernel kept $5: check that /proc/sys is"
        REPLY="$REPLY writable and that nothing else sets $3"
        return 0
    fi
    setter "$1" "$5"
    if [ -n "$REPLY" ]; then
        REPLY="$where wants $4 but $REPLY sets $5: fix that file, then '$fix'"
    else
        REPLY="$where wants $4; a tool or a file outside sysctl.d set $5 (look with"
        REPLY="$REPLY 'systemd-analyze cat-config sysctl.d'): fix that source, then '$fix'"
    fi
    REPLY="$REPLY (or run with --mode remediate)"
}

# missing_hint PATH: REPLY is how to make a missing key appear.
missing_hint() {
    local list="list it in ${modules_file:-a modules-load.d file}"
    case $1 in
        net/bridge/*) REPLY="net/bridge/* appears only once br_netfilter is loaded; $list" ;;
        *) REPLY="no $proc_sys/$1: load the module that provides it ($list)"
           REPLY="$REPLY or drop the key from $sysctl_file" ;;
    esac
}

# check_record PATH FLAG LINE KEY VALUE: report the key if it differs or is missing.
check_record() {
    local where="$sysctl_file:$3" actual=''
    if value_of "$1"; then
        [ "$REPLY" != "$5" ] || return 0
        actual=$REPLY
        mismatch_hint "$1" "$3" "$4" "$5" "$actual"
        finding "$2" "$where" \
            "invalid kernel flag: $1, expected value: $5, actual value: $actual" "$REPLY"
    elif [ $? -eq 1 ]; then
        case $required in
            "" | *"$NL$1$NL"*)
                missing_hint "$1"
                finding "$2" "$where" \
                    "missing kernel key: $1 (expected value: $5, from $where)" "$REPLY" ;;
            *)
                complain "warning: missing kernel key: $1 (from $where); kubelet does not" \
                    "need it and systemd-sysctl skips it too: not failing" ;;
        esac
    else
        finding "$2" "$where" "cannot read kernel key: $1 ($proc_sys/$1)" ""
    fi
}

# check_accounts: the etcd user and group RKE2 looks up in /etc/passwd and /etc/group.
check_accounts() {
    if [ -n "$require_user" ]; then
        if ! was_read "$passwd_file"; then
            finding + "" "cannot read $passwd_file to look for user $require_user" ""
        elif [ "$user_found" = 0 ]; then
            finding + "" "missing required: user: unknown user $require_user" \
                "RKE2 looks in /etc/passwd itself (not NSS); create it: useradd -r -c\
 '$require_user user' -s /sbin/nologin -M -U $require_user (or -g $require_user if the group\
 exists)"
        fi
    fi
    if [ -n "$require_group" ]; then
        if ! was_read "$group_file"; then
            finding + "" "cannot read $group_file to look for group $require_group" ""
        elif [ "$group_found" = 0 ]; then
            finding + "" "missing required: group: unknown group $require_group" \
                "RKE2 looks in /etc/group itself (not NSS); create it: groupadd -r $require_group"
        fi
    fi
}

# check_swap: with --no-swap, every active swap of /proc/swaps is a finding.
check_swap() {
    local line=''
    [ "$no_swap" = 1 ] && [ -e "$swaps_file" ] || return 0
    if ! was_read "$swaps_file"; then
        finding + "" "cannot read $swaps_file to check for swap" ""
        return 0
    fi
    IFS=$NL
    # shellcheck disable=SC2086 # one positional parameter per swap line
    set -- $swap_lines
    IFS=$WS_IFS
    for line do
        # shellcheck disable=SC2086 # the device is the first field
        set -- $line
        [ $# -gt 0 ] || continue
        finding + "" \
            "running with swap on is not supported, please disable swap: $1 (${2:-?}) is active" \
            "run 'swapoff $1' and remove it from /etc/fstab, or drop kubelet-arg\
 fail-swap-on=true (RKE2 runs kubelet with fail-swap-on=false)"
    done
}

# report: the summary line and the exit code.
report() {
    local found="$findings problems found"
    if [ "$findings" -eq 0 ]; then
        say "ok: $count kernel parameters match $sysctl_file (mode $mode)"
        exit 0
    fi
    [ "$findings" -ne 1 ] || found="1 problem found"
    if [ "$mode" = warn ]; then
        say "$found (mode warn: not failing);" \
            "kubelet with protect-kernel-defaults would refuse to start"
        exit 0
    fi
    say "$found (mode $mode); RKE2 will not start cleanly until they are fixed"
    exit 1
}

# --- main ----------------------------------------------------------------------

# main ARG...: parse, read the file, (remediate) load and apply, check, report.
main() {
    parse_args "$@"
    check_inputs
    read_sysctl_file
    [ "$mode" != remediate ] || load_modules
    to_read=
    each_record list_readable
    [ -z "$require_user" ] || to_read=$to_read$passwd_file$NL
    [ -z "$require_group" ] || to_read=$to_read$group_file$NL
    [ "$no_swap" = 0 ] || ! [ -e "$swaps_file" ] || to_read=$to_read$swaps_file$NL
    read_files
    [ "$mode" != remediate ] || each_record apply_record
    # Re-read after any write: the kernel may clamp, refuse or be overruled.
    [ "$written" = 0 ] || read_files
    each_record check_record
    check_accounts
    check_swap
    report
}

main "$@"
