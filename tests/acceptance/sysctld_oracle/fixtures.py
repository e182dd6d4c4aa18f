"""The roots the differential test runs through the real tools and through the audit.

Each fixture is the sysctl configuration of one root (files, folders, links): stock
distribution contents, and every odd form the tools read differently. The Debian root's
own sysctl files are removed first unless ``keep_stock`` is set.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from acceptance.audit.roots import DEBIAN_SYSCTL_CONF, SYSTEMD_50_DEFAULT
from acceptance.sysctld_oracle.harness import Dir, Fifo, Fixture, Link, Sparse

# /proc/sys paths every fixture's fake tree holds (more per fixture in Fixture.keys).
COMMON_KEYS = (
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/pid_max",
    "kernel/sysrq",
    "kernel/core_uses_pid",
    "kernel/core_pattern",
    "kernel/kptr_restrict",
    "kernel/printk",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "kernel/yama/ptrace_scope",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "vm/mmap_min_addr",
    "vm/swappiness",
    "fs/protected_fifos",
    "fs/protected_hardlinks",
    "fs/protected_regular",
    "fs/protected_symlinks",
    "fs/inotify/max_user_instances",
    "net/core/default_qdisc",
    "net/core/optmem_max",
    "net/ipv4/ip_forward",
    "net/ipv4/tcp_syncookies",
    "net/ipv4/ping_group_range",
    "net/ipv4/conf/all/rp_filter",
    "net/ipv4/conf/default/rp_filter",
    "net/ipv4/conf/lo/rp_filter",
    "net/ipv4/conf/eth0/rp_filter",
    "net/ipv4/conf/eth0.100/rp_filter",
    "net/ipv4/conf/all/forwarding",
    "net/ipv4/conf/default/forwarding",
    "net/ipv4/conf/eth0.100/forwarding",
    "net/ipv4/conf/all/accept_source_route",
    "net/ipv4/conf/default/accept_source_route",
    "net/ipv4/conf/eth0/accept_source_route",
    "net/ipv4/conf/all/promote_secondaries",
    "net/ipv4/conf/default/promote_secondaries",
    "net/ipv4/conf/eth0/promote_secondaries",
    "net/ipv6/conf/all/use_tempaddr",
    "net/ipv6/conf/default/use_tempaddr",
    "net/ipv6/neigh/default/retrans_time",
    "net/ipv6/neigh/default/retrans_time_ms",
)

PID_MAX = "# Bump the numeric PID range\nkernel.pid_max = 4194304\n"
RKE2_CIS = "vm.panic_on_oom=0\nvm.overcommit_memory=1\nkernel.panic=10\nkernel.panic_on_oops=1\n"
RKE2IMAGE = (
    "# Written by rke2image\nkernel.keys.root_maxbytes = 25000000\n"
    "kernel.keys.root_maxkeys = 1000000\nkernel.panic = 10\nkernel.panic_on_oops = 1\n"
    "vm.overcommit_memory = 1\nvm.panic_on_oom = 0\n"
)

UBUNTU_2204 = {
    "/etc/sysctl.d/10-console-messages.conf": "# the kernel\nkernel.printk = 4 4 1 7\n",
    "/etc/sysctl.d/10-ipv6-privacy.conf": (
        "net.ipv6.conf.all.use_tempaddr = 2\nnet.ipv6.conf.default.use_tempaddr = 2\n"
    ),
    "/etc/sysctl.d/10-kernel-hardening.conf": "kernel.kptr_restrict = 1\n",
    "/etc/sysctl.d/10-magic-sysrq.conf": "kernel.sysrq = 176\n",
    "/etc/sysctl.d/10-network-security.conf": (
        "# Turn on Source Address Verification\n"
        "net.ipv4.conf.default.rp_filter=2\nnet.ipv4.conf.all.rp_filter=2\n"
    ),
    "/etc/sysctl.d/10-ptrace.conf": "kernel.yama.ptrace_scope = 1\n",
    "/etc/sysctl.d/10-zeropage.conf": "vm.mmap_min_addr = 65536\n",
    "/etc/sysctl.d/99-sysctl.conf": Link("../sysctl.conf"),
    "/etc/sysctl.d/README.sysctl": "kernel.panic = 99\n",
    "/etc/sysctl.conf": DEBIAN_SYSCTL_CONF,
    "/usr/lib/sysctl.d/50-default.conf": SYSTEMD_50_DEFAULT,
    "/usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
    "/usr/lib/sysctl.d/99-protect-links.conf": (
        "fs.protected_fifos = 1\nfs.protected_hardlinks = 1\n"
        "fs.protected_regular = 2\nfs.protected_symlinks = 1\n"
    ),
}
UBUNTU_2404 = {
    **UBUNTU_2204,
    "/etc/sysctl.d/10-bufferbloat.conf": "net.core.default_qdisc = fq_codel\n",
    "/usr/lib/sysctl.d/50-coredump.conf": (
        "kernel.core_pattern=|/usr/lib/systemd/systemd-coredump %P %u %g %s %t "
        "9223372036854775808 %h\n"
    ),
}
RHEL_9 = {
    "/etc/sysctl.conf": "# sysctl settings are defined through files in\n# /usr/lib/sysctl.d/\n",
    "/etc/sysctl.d/99-sysctl.conf": Link("../sysctl.conf"),
    "/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n",
    "/usr/lib/sysctl.d/50-coredump.conf": (
        "kernel.core_pattern=|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n"
    ),
    "/usr/lib/sysctl.d/50-default.conf": SYSTEMD_50_DEFAULT.replace(
        "kernel.core_uses_pid = 1\n", "kernel.core_uses_pid = 1\nkernel.kptr_restrict = 1\n"
    ),
    "/usr/lib/sysctl.d/50-libkcapi-optmem_max.conf": "net.core.optmem_max = 81920\n",
    "/usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
}
SLE_MICRO = {
    "/etc/sysctl.conf": "####\n#\n# /etc/sysctl.conf is meant for local sysctl settings\n#\n",
    "/usr/lib/sysctl.d/50-default.conf": (
        "# SUSE defaults\nnet.ipv4.tcp_syncookies = 1\nkernel.sysrq = 184\n"
        "net.ipv4.conf.all.rp_filter = 1\n-net.ipv4.conf.all.accept_source_route\n"
        "net.ipv4.conf.*.accept_source_route = 0\nfs.protected_hardlinks = 1\n"
        "fs.protected_symlinks = 1\nkernel.kptr_restrict = 1\n"
    ),
    "/usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
    "/usr/lib/sysctl.d/51-network.conf": "net.ipv4.ip_forward = 0\n",
    "/usr/lib/sysctl.d/99-sysctl.conf": Link("/etc/sysctl.conf"),
}


def _f(name: str, files: Mapping[str, object], **extra: object) -> Fixture:
    return Fixture(name, files, **extra)  # type: ignore[arg-type]


FIXTURES: list[Fixture] = [
    # --- stock distribution contents
    _f("debian-stock", {}, keep_stock=True),
    _f("debian-stock-with-rke2-cis", {"/etc/sysctl.d/60-rke2-cis.conf": RKE2_CIS}, keep_stock=True),
    _f("ubuntu-22.04", UBUNTU_2204),
    _f("ubuntu-24.04", UBUNTU_2404),
    _f("ubuntu-24.04-rke2image", {**UBUNTU_2404, "/etc/sysctl.d/99-zz-rke2image.conf": RKE2IMAGE}),
    _f("rhel-9", RHEL_9),
    _f(
        "rhel-9-rke2-cis-and-sysctl-conf",
        {
            **RHEL_9,
            "/etc/sysctl.d/60-rke2-cis.conf": RKE2_CIS,
            "/etc/sysctl.conf": "kernel.panic = 0\nvm.overcommit_memory=0\n",
        },
    ),
    _f("sle-micro", SLE_MICRO),
    _f("sle-micro-rke2-cis", {**SLE_MICRO, "/etc/sysctl.d/60-rke2-cis.conf": RKE2_CIS}),
    # --- key spellings
    _f(
        "spellings-double-slash-and-dots",
        {
            "/etc/sysctl.d/10-a.conf": RKE2_CIS,
            "/etc/sysctl.d/20-b.conf": (
                "kernel//panic = 0\nvm..overcommit_memory = 0\nkernel/./panic_on_oops = 0\n"
                ".vm.panic_on_oom = 1\n"
            ),
        },
    ),
    _f(
        "spellings-trailing-separator",
        {
            "/etc/sysctl.d/10-a.conf": RKE2_CIS,
            "/etc/sysctl.d/20-b.conf": "kernel.panic. = 0\nvm.overcommit_memory/ = 0\n",
        },
    ),
    _f(
        "spellings-leading-slash",
        {
            "/etc/sysctl.d/10-a.conf": "/vm.panic_on_oom = 1\n/kernel/panic = 7\n//kernel.sysrq = 3\n",  # noqa: E501
        },
    ),
    _f(
        "spellings-slash-form-keeps-dots",
        {
            "/etc/sysctl.d/10-a.conf": (
                "net/ipv4/conf/eth0.100/forwarding = 1\nnet.ipv4.conf.eth0/100.rp_filter = 2\n"
                "net/ipv4/conf/eth0/100/forwarding = 5\n"
            ),
        },
    ),
    _f(
        "spellings-mixed-first-separator",
        {
            "/etc/sysctl.d/10-a.conf": "kernel/keys.root_maxkeys = 5\nkernel.keys/root_maxbytes = 6\n",  # noqa: E501
        },
        keys=("kernel/keys.root_maxkeys", "kernel.keys/root_maxbytes"),
    ),
    _f(
        "spellings-dotdot",
        {
            "/etc/sysctl.d/10-a.conf": "kernel/../vm/overcommit_memory = 1\nvm/../kernel/panic = 10\n",  # noqa: E501
        },
    ),
    _f(
        "spellings-spaces-inside-key",
        {
            "/etc/sysctl.d/10-a.conf": "kernel. panic = 1\nkernel .panic_on_oops = 1\n",
        },
    ),
    # --- '=' and '-' forms
    _f(
        "equals-forms",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic==10\n=kernel.panic_on_oops=1\nvm.overcommit_memory = 1 = 2\n"
                "kernel.sysrq=\nkernel.pid_max =   \n"
            ),
        },
    ),
    _f(
        "dash-forms",
        {
            "/etc/sysctl.d/10-a.conf": (
                "-kernel.panic = 10\n- kernel.panic_on_oops = 1\n--vm.overcommit_memory = 1\n"
                "-  vm.panic_on_oom=1\n"
            ),
        },
    ),
    _f(
        "bare-dash-key-cancels-earlier",
        {
            "/etc/sysctl.d/10-a.conf": RKE2_CIS,
            "/etc/sysctl.d/20-b.conf": "-kernel.panic\n-vm.overcommit_memory\n",
        },
    ),
    _f(
        "bare-dash-key-then-later-assignment",
        {
            "/etc/sysctl.d/10-a.conf": "-kernel.panic\nkernel.panic_on_oops = 1\n",
            "/etc/sysctl.d/20-b.conf": "kernel.panic = 10\n-kernel.panic_on_oops\nkernel.panic_on_oops = 1\n",  # noqa: E501
        },
    ),
    _f(
        "bare-key-without-equals",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/20-b.conf": "kernel.panic\n  vm.overcommit_memory\nkernel.sysrq\t\n",
        },
    ),
    _f(
        "same-value-twice-keeps-place",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.pan* = 1\nkernel.panic_on* = 2\n",
            "/etc/sysctl.d/20-b.conf": "kernel.pan* = 1\n",
            "/etc/sysctl.d/30-c.conf": "kernel.panic_on* = 3\n",
        },
    ),
    # --- globs
    _f(
        "glob-explicit-beats-later-glob",
        {
            "/etc/sysctl.d/10-a.conf": RKE2_CIS,
            "/etc/sysctl.d/90-b.conf": "kernel.pani* = 0\nvm.*= 0\n",
        },
    ),
    _f(
        "glob-later-explicit",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.* = 0\nkernel.keys.* = 3\n",
            "/etc/sysctl.d/90-b.conf": "kernel.panic = 10\n",
        },
    ),
    _f(
        "glob-explicit-spelled-oddly",
        {
            "/etc/sysctl.d/10-a.conf": "kernel//panic_on_oops = 1\nkernel/panic. = 10\n",
            "/etc/sysctl.d/90-b.conf": "kernel.* = 7\n",
        },
    ),
    _f(
        "glob-two-globs-order",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.pa* = 1\nkernel.panic* = 2\n",
            "/etc/sysctl.d/20-b.conf": "kernel.pa* = 3\n",
        },
    ),
    _f(
        "glob-question-and-class",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic_on_o?ps = 1\nvm.panic_on_[o]om = 2\nnet.ipv4.conf.eth?.rp_filter = 0\n"  # noqa: E501
                "net.ipv4.conf.[!a]*.forwarding = 1\n"
            ),
        },
    ),
    _f(
        "glob-interface-with-dot",
        {
            "/etc/sysctl.d/10-a.conf": "net.ipv4.conf.*.forwarding = 1\n-net.ipv4.conf.eth0/100.forwarding\n",  # noqa: E501
        },
    ),
    _f(
        "glob-excluded-by-dash-in-other-file",
        {
            "/etc/sysctl.d/10-a.conf": "-kernel.panic\n",
            "/etc/sysctl.d/90-b.conf": "kernel.pan* = 0\n",
        },
    ),
    _f(
        "glob-matches-folders-too",
        {"/etc/sysctl.d/10-a.conf": "kernel.* = 5\nnet.ipv4.conf.* = 1\n"},
    ),
    _f(
        "glob-in-sysctl-conf",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.conf": "kernel.pani? = 0\nvm.overcommit_memory = 0\n",
        },
    ),
    _f(
        "glob-spelled-with-double-slash",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel//pan* = 3\nvm..overcommit* = 1\nkernel/./sys* = 4\n"
                "net.ipv4.conf.*..rp_filter = 9\n"
            )
        },
    ),
    _f(
        "glob-double-slash-beats-explicit-under-procps-4",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\nkernel//pan* = 3\n-kernel/./panic_on_oops\n"  # noqa: E501
        },
    ),
    # --- whitespace, line ends, bytes
    _f("crlf", {"/etc/sysctl.d/10-a.conf": b"kernel.panic = 10\r\nvm.overcommit_memory = 1\r\n"}),
    _f("cr-only", {"/etc/sysctl.d/10-a.conf": b"kernel.panic = 10\rvm.overcommit_memory = 1\r"}),
    _f("cr-in-value", {"/etc/sysctl.d/10-a.conf": b"kernel.panic = 10\r20\nkernel.sysrq = 1 \r\n"}),
    _f(
        "nul-mid-line",
        {"/etc/sysctl.d/10-a.conf": b"kernel.panic = 10\x00vm.overcommit_memory = 1\n"},
    ),
    _f(
        "nul-after-value", {"/etc/sysctl.d/10-a.conf": b"kernel.panic = 1\x000\nkernel.sysrq = 5\n"}
    ),
    _f(
        "nbsp-after-value",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\u00a0\nvm.overcommit_memory\u00a0= 1\n",
        },
    ),
    _f("nbsp-before-key", {"/etc/sysctl.d/10-a.conf": "\u00a0kernel.panic = 10\n"}),
    _f(
        "vertical-tab-and-form-feed",
        {
            "/etc/sysctl.d/10-a.conf": "\vkernel.panic = 10\f\n\fvm.overcommit_memory = 1\v\n",
        },
    ),
    _f(
        "tabs-and-fields",
        {
            "/etc/sysctl.d/10-a.conf": (
                "\tkernel.printk\t=\t4\t4  1 7\t\nnet.ipv4.ping_group_range =0    2147483647\n"
                "kernel.panic = 10 # a comment\n"
            ),
        },
    ),
    _f(
        "base-0-numbers",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic = 012\nkernel.panic_on_oops = 0x1\nvm.overcommit_memory = +1\n"
                "kernel.keys.root_maxkeys = 1000000\n"
            ),
        },
    ),
    _f(
        "comments-and-blank",
        {
            "/etc/sysctl.d/10-a.conf": (
                "# kernel.panic = 1\n   ; kernel.panic = 2\n\n \t \nkernel.panic = 10\n#\n;\nx\n"
            ),
        },
    ),
    _f("no-final-newline", {"/etc/sysctl.d/10-a.conf": "kernel.sysrq = 1\nkernel.panic = 10"}),
    _f(
        "bare-dash-at-eof-without-newline",
        {"/etc/sysctl.d/10-a.conf": "kernel.panic = 3\n-kernel.panic"},
    ),
    _f(
        "utf8-bom",
        {"/etc/sysctl.d/10-a.conf": "\ufeffkernel.panic = 10\nvm.overcommit_memory = 1\n"},
    ),
    _f(
        "long-line-stops-the-file",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic = 10\n# " + "x" * (1 << 20) + "\nvm.overcommit_memory = 1\n"
            ),
            "/etc/sysctl.d/20-b.conf": "kernel.sysrq = 1\n",
        },
    ),
    _f(
        "deprecated-names",
        {
            "/etc/sysctl.d/10-a.conf": (
                "net.ipv6.neigh.default.retrans_time = 100\nnet.ipv6.neigh.default.retrans_time_ms = 1000\n"  # noqa: E501
            ),
        },
    ),
    _f(
        "line-just-under-1-mib",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic = 10\n# " + "x" * ((1 << 20) - 3) + "\nvm.overcommit_memory = 1\n"
            ),
        },
    ),
    _f(
        "line-of-exactly-1-mib",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kernel.panic = 10\n# " + "x" * ((1 << 20) - 2) + "\nvm.overcommit_memory = 1\n"
            ),
        },
    ),
    _f(
        "long-value-past-procps-linelen",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.core_pattern = "
            + "c" * 5000
            + "\nkernel.panic = 10\n"
        },
    ),
    _f(
        "same-key-twice-in-one-file",
        {"/etc/sysctl.d/10-a.conf": "kernel.panic = 1\nkernel.panic = 10\nkernel.panic = 1\n"},
    ),
    _f(
        "glob-spelled-two-ways-is-one-entry",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.pan* = 1\nkernel.sys* = 4\n",
            "/etc/sysctl.d/20-b.conf": "kernel/pan* = 2\n",
            "/etc/sysctl.d/30-c.conf": "kernel.pan* = 3\n",
        },
    ),
    _f(
        "glob-reassigned-moves-last",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic_on_* = 1\nkernel.panic* = 2\n",
            "/etc/sysctl.d/20-b.conf": "kernel.panic_on_* = 3\n",
        },
    ),
    _f(
        "glob-with-dash-and-unclosed-bracket",
        {
            "/etc/sysctl.d/10-a.conf": (
                "-kernel.pan* = 7\nkernel.panic[ = 1\nvm.*_oom = 1\n-vm.panic_on_oom = 0\n"
            )
        },
    ),
    _f(
        "sysctl-conf-read-twice-by-procps",
        {
            "/etc/sysctl.d/99-sysctl.conf": Link("../sysctl.conf"),
            "/etc/sysctl.d/99-zz.conf": "kernel.panic = 10\n",
            "/etc/sysctl.conf": "kernel.panic = 0\nkernel.pani* = 5\n",
        },
    ),
    _f(
        "sysctl-conf-is-a-link",
        {
            "/etc/sysctl.conf": Link("/usr/share/site/sysctl.conf"),
            "/usr/share/site/sysctl.conf": "vm.overcommit_memory = 1\n",
        },
    ),
    _f(
        "only-usr-lib-and-no-etc",
        {"/etc/sysctl.d": Dir(), "/usr/lib/sysctl.d/60-rke2-cis.conf": RKE2_CIS},
    ),
    _f(
        "run-masks-usr-lib-local-between",
        {
            "/usr/lib/sysctl.d/50-x.conf": "kernel.panic = 1\n",
            "/usr/local/lib/sysctl.d/50-x.conf": "kernel.panic = 2\n",
            "/run/sysctl.d/50-x.conf": "kernel.panic = 3\n",
            "/usr/local/lib/sysctl.d/55-y.conf": "kernel.panic_on_oops = 1\n",
        },
    ),
    _f(
        "names-with-spaces-and-unicode",
        {
            "/etc/sysctl.d/my file.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/\u00e9t\u00e9.conf": "kernel.panic = 11\n",
            "/etc/sysctl.d/empty.conf": "",
        },
    ),
    _f(
        "unicode-in-keys-and-values",
        {
            "/etc/sysctl.d/10-a.conf": (
                "kern\u00e9l.panic = 1\nkernel.core_pattern = c\u00f6re %p\nkernel.panic = \u0661\u0660\n"  # noqa: E501
            )
        },
    ),
    _f(
        "value-with-inner-and-trailing-tabs",
        {"/etc/sysctl.d/10-a.conf": "kernel.printk = 4\t4\t1\t7\t\t\nkernel.panic = 10\t#x\n"},
    ),
    # --- files, folders, links, masks
    _f(
        "later-file-wins-across-folders",
        {
            "/usr/lib/sysctl.d/10-a.conf": "kernel.panic = 1\n",
            "/etc/sysctl.d/20-b.conf": "kernel.panic = 2\n",
            "/run/sysctl.d/30-c.conf": "kernel.panic = 3\n",
            "/usr/local/lib/sysctl.d/40-d.conf": "kernel.panic = 4\n",
        },
    ),
    _f(
        "mask-by-same-name",
        {
            "/usr/lib/sysctl.d/60-x.conf": "kernel.panic = 0\n",
            "/run/sysctl.d/60-x.conf": "kernel.panic = 5\n",
            "/etc/sysctl.d/60-x.conf": "kernel.panic = 10\n",
        },
    ),
    _f(
        "mask-by-folder-named-conf",
        {
            "/usr/lib/sysctl.d/60-x.conf": "kernel.panic = 0\n",
            "/etc/sysctl.d/60-x.conf": Dir(),
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
        },
    ),
    _f(
        "mask-by-dev-null-link",
        {
            "/usr/lib/sysctl.d/50-default.conf": SYSTEMD_50_DEFAULT,
            "/etc/sysctl.d/50-default.conf": Link("/dev/null"),
        },
    ),
    _f(
        "mask-by-dangling-link",
        {
            "/usr/lib/sysctl.d/60-x.conf": "kernel.panic = 0\n",
            "/etc/sysctl.d/60-x.conf": Link("/nowhere/60-x.conf"),
        },
    ),
    _f(
        "link-loop-skipped-rest-applied",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/50-loop.conf": Link("51-loop.conf"),
            "/etc/sysctl.d/51-loop.conf": Link("50-loop.conf"),
            "/usr/lib/sysctl.d/50-loop.conf": "kernel.panic = 0\n",
            "/etc/sysctl.d/90-z.conf": "vm.overcommit_memory = 1\n",
        },
    ),
    _f(
        "links-relative-and-absolute",
        {
            "/etc/sysctl.d/99-sysctl.conf": Link("../sysctl.conf"),
            "/etc/sysctl.d/30-abs.conf": Link("/etc/rke2/sysctl.txt"),
            "/etc/rke2/sysctl.txt": "kernel.panic = 10\n",
            "/etc/sysctl.conf": "kernel.panic = 0\nvm.overcommit_memory = 1\n",
        },
    ),
    _f(
        "hidden-and-odd-names",
        {
            "/etc/sysctl.d/.hidden.conf": "kernel.panic = 1\n",
            "/etc/sysctl.d/.conf": "kernel.sysrq = 1\n",
            "/etc/sysctl.d/x.conf~": "kernel.panic = 2\n",
            "/etc/sysctl.d/X.CONF": "kernel.panic = 3\n",
            "/etc/sysctl.d/x.conf.dpkg-old": "kernel.panic = 4\n",
            "/etc/sysctl.d/README.sysctl": "kernel.panic = 5\n",
            "/etc/sysctl.d/10-real.conf": "vm.overcommit_memory = 1\n",
        },
    ),
    _f(
        "sort-order-is-bytewise",
        {
            "/etc/sysctl.d/a.conf": "kernel.panic = 1\n",
            "/etc/sysctl.d/B.conf": "kernel.panic = 2\n",
            "/etc/sysctl.d/10-x.conf": "kernel.panic = 3\n",
            "/etc/sysctl.d/9-x.conf": "kernel.panic = 4\n",
            "/usr/lib/sysctl.d/_u.conf": "kernel.panic = 5\n",
        },
    ),
    _f(
        "sysctl-conf-is-a-folder-or-null",
        {
            "/etc/sysctl.conf": Dir(),
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/99-sysctl.conf": Link("/dev/null"),
        },
    ),
    _f(
        "sysctl-d-is-a-link-to-a-folder",
        {
            "/etc/sysctl.d": Link("/etc/sysctl-real"),
            "/etc/sysctl-real/60-rke2-cis.conf": RKE2_CIS,
            "/usr/lib/sysctl.d/60-rke2-cis.conf": "kernel.panic = 0\n",
        },
    ),
    _f(
        "lib-sysctl-d-split-usr",
        {
            "/lib/sysctl.d/10-l.conf": "kernel.panic = 1\n",
            "/usr/lib/sysctl.d/10-l.conf": "kernel.panic = 2\n",
            "/lib/sysctl.d/20-only-lib.conf": "kernel.panic_on_oops = 3\n",
        },
    ),
    _f(
        "fifo-is-skipped-by-systemd",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/50-fifo.conf": Fifo(),
            "/usr/lib/sysctl.d/50-fifo.conf": "kernel.panic = 0\n",
        },
        tools=("systemd",),
    ),
    _f(
        "sparse-file-of-nul-bytes",
        {
            "/etc/sysctl.d/10-a.conf": "kernel.panic = 10\n",
            "/etc/sysctl.d/50-sparse.conf": Sparse(b"kernel.sysrq = 1\n", 1 << 20),
        },
    ),
]


# --- generated roots: odd fragments combined at random (seeded, so every run is the same)
_KEYS = (
    "kernel.panic", "kernel/panic", "kernel//panic", ".kernel.panic", "kernel.panic.",
    "/kernel.panic", "kernel.pan*", "kernel.*", "kernel/pan?c", "kernel.panic_on_oops",
    "vm.overcommit_memory", "vm..overcommit_memory", "vm/./overcommit_memory", "vm.*",
    "net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0/100.rp_filter",
    "net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.all.rp_filter",
    "kernel.keys.root_maxkeys", "kernel.keys.*", "kernel/../vm/overcommit_memory",
    "kernel//pan*", "vm..overcommit*", "kernel/./pan*",
)  # fmt: skip
_PREFIXES = ("", "", "", "-", " ", "\t", "- ", "=", "\v", "\u00a0", "--")
_SEPARATORS = ("=", " = ", "\t=\t", "==", " =", "= ", "  =  ")
_VALUES = ("0", "1", "10", "012", "0xa", " 1 2 ", "", "1\u00a0", "=1", "-1", "2\t", "7 #c")
_ENDS = ("\n", "\n", "\n", "\r\n", "\r", "\0", " \n", "\t\n", "\f\n")
_FOLDERS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d")
_NAMES = ("10-a.conf", "50-b.conf", "50-b.conf", "90-c.conf", ".h.conf", "99-z.conf")


def _line(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.08:
        return rng.choice(("# comment", "; comment", "", "  ", "x"))
    key = rng.choice(_PREFIXES) + rng.choice(_KEYS)
    if kind < 0.2:
        return key  # bare: -key excludes; without '-' a syntax error (procps 3.3: "=")
    return key + rng.choice(_SEPARATORS) + rng.choice(_VALUES)


def _relink(files: dict[str, object]) -> Link:
    """A link to one of the root's other files, relative or absolute."""
    target = sorted(files)[0]
    return Link(target if len(target) % 2 else "../../.." + target)


def generated(seed: int, count: int) -> list[Fixture]:
    rng = random.Random(seed)
    roots = []
    for number in range(count):
        files: dict[str, object] = {}
        for _ in range(rng.randint(1, 4)):
            lines = [_line(rng) + rng.choice(_ENDS) for _ in range(rng.randint(1, 6))]
            files[f"{rng.choice(_FOLDERS)}/{rng.choice(_NAMES)}"] = "".join(lines)
        if rng.random() < 0.4:  # an entry that is not a plain file, masking by its name
            path = f"{rng.choice(_FOLDERS)}/{rng.choice(_NAMES)}"
            files[path] = rng.choice(
                (Link("/dev/null"), Dir(), Link("nowhere.conf"), Link(path), _relink(files))
            )
        if rng.random() < 0.3:
            files["/etc/sysctl.conf"] = _line(rng) + "\n" + _line(rng) + "\n"
        roots.append(_f(f"generated-{seed}-{number:02d}", files))
    return roots


FIXTURES += generated(18, 40)
