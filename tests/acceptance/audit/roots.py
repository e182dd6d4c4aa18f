"""Root trees shaped like stock distro hosts, built by the tests.

File names, links and setting lines follow the distros' packages: Ubuntu's procps
(/etc/sysctl.d/10-*.conf, README.sysctl, 99-sysctl.conf -> ../sysctl.conf) and
cloud images (99-cloudimg-ipv6.conf, 50-cloudimg-settings.conf), systemd's
/usr/lib/sysctl.d (50-default.conf with its globs and ``-key`` lines, 50-pid-max.conf,
99-protect-links.conf), Debian's procps /etc/sysctl.conf (all commented), and RHEL 9 /
Rocky 9's systemd and kernel files (10-default-yama-scope.conf, 50-coredump.conf,
50-redhat.conf, 50-libkcapi-optmem_max.conf) with its /etc/sysctl.conf that only
points at sysctl.d. Comments are trimmed; the settings are the stock ones. Every
tree is merged-usr (/lib -> usr/lib), as all four releases install.
"""

from __future__ import annotations

import os
from pathlib import Path

from rke2image.kernel import REQUIRED_PARAMETERS
from rke2image.render import render_node, write_rootfs
from rke2image.spec.model import NodeSpec

SYSTEMD_50_DEFAULT = """\
# See sysctl.d(5) and core(5) for documentation.
kernel.sysrq = 16
kernel.core_uses_pid = 1
net.ipv4.conf.default.rp_filter = 2
net.ipv4.conf.*.rp_filter = 2
-net.ipv4.conf.all.rp_filter
net.ipv4.conf.default.accept_source_route = 0
net.ipv4.conf.*.accept_source_route = 0
-net.ipv4.conf.all.accept_source_route
net.ipv4.conf.default.promote_secondaries = 1
net.ipv4.conf.*.promote_secondaries = 1
-net.ipv4.conf.all.promote_secondaries
-net.ipv4.ping_group_range = 0 2147483647
-net.core.default_qdisc = fq_codel
fs.protected_hardlinks = 1
fs.protected_symlinks = 1
fs.protected_regular = 1
fs.protected_fifos = 1
"""
DEBIAN_SYSCTL_CONF = """\
#
# /etc/sysctl.conf - Configuration file for setting system variables
# See /etc/sysctl.d/ for additional system variables.
# See sysctl.conf (5) for information.
#

#kernel.domainname = example.com

# Uncomment the following to stop low-level messages on console
#kernel.printk = 3 4 1 3

# Uncomment the next line to enable packet forwarding for IPv4
#net.ipv4.ip_forward=1
"""
PID_MAX = "# Bump the numeric PID range to its maximum of 2^22\nkernel.pid_max = 4194304\n"
PROTECT_LINKS = (
    "fs.protected_fifos = 1\nfs.protected_hardlinks = 1\nfs.protected_regular = 2\n"
    "fs.protected_symlinks = 1\n"
)
UBUNTU_ETC = {
    "10-console-messages.conf": "# the following stops low-level messages on console\n"
    "kernel.printk = 4 4 1 7\n",
    "10-ipv6-privacy.conf": "net.ipv6.conf.all.use_tempaddr = 2\n"
    "net.ipv6.conf.default.use_tempaddr = 2\n",
    "10-kernel-hardening.conf": "kernel.kptr_restrict = 1\n",
    "10-magic-sysrq.conf": "kernel.sysrq = 176\n",
    "10-network-security.conf": "net.ipv4.conf.default.rp_filter=2\n"
    "net.ipv4.conf.all.rp_filter=2\n",
    "10-ptrace.conf": "kernel.yama.ptrace_scope = 1\n",
    "10-zeropage.conf": "vm.mmap_min_addr = 65536\n",
    "99-cloudimg-ipv6.conf": "net.ipv6.conf.all.use_tempaddr = 0\n"
    "net.ipv6.conf.default.use_tempaddr = 0\n",
    "README.sysctl": "Kernel system variables configuration files\n",
}
DISTROS: dict[str, dict[str, str]] = {
    "ubuntu-22.04": {
        **{f"etc/sysctl.d/{k}": v for k, v in UBUNTU_ETC.items()},
        "usr/lib/sysctl.d/50-default.conf": SYSTEMD_50_DEFAULT,
        "usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
        "usr/lib/sysctl.d/99-protect-links.conf": PROTECT_LINKS,
        "etc/sysctl.conf": DEBIAN_SYSCTL_CONF,
    },
    "ubuntu-24.04": {
        **{f"etc/sysctl.d/{k}": v for k, v in UBUNTU_ETC.items()},
        "etc/sysctl.d/10-bufferbloat.conf": "net.core.default_qdisc = fq_codel\n",
        "etc/sysctl.d/10-map-count.conf": "vm.max_map_count = 1048576\n",
        "etc/sysctl.d/50-cloudimg-settings.conf": "net.ipv4.neigh.default.gc_thresh2 = 15360\n"
        "net.ipv4.neigh.default.gc_thresh3 = 16384\n",
        "usr/lib/sysctl.d/10-apparmor.conf": "kernel.apparmor_restrict_unprivileged_userns = 1\n",
        "usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
        "usr/lib/sysctl.d/99-protect-links.conf": PROTECT_LINKS,
        "etc/sysctl.conf": DEBIAN_SYSCTL_CONF,
    },
    "debian-12": {
        "etc/sysctl.d/README.sysctl": "Kernel system variables configuration files\n",
        "usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
        "usr/lib/sysctl.d/99-protect-links.conf": PROTECT_LINKS,
        "etc/sysctl.conf": DEBIAN_SYSCTL_CONF,
    },
    "rhel-9": {
        "usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n",
        "usr/lib/sysctl.d/50-coredump.conf": "kernel.core_pattern="
        "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n"
        "kernel.core_pipe_limit=16\nfs.suid_dumpable=2\n",
        "usr/lib/sysctl.d/50-default.conf": SYSTEMD_50_DEFAULT,
        "usr/lib/sysctl.d/50-libkcapi-optmem_max.conf": "net.core.optmem_max = 81920\n",
        "usr/lib/sysctl.d/50-pid-max.conf": PID_MAX,
        "usr/lib/sysctl.d/50-redhat.conf": "kernel.sysrq = 16\nkernel.core_uses_pid = 1\n"
        "net.ipv4.conf.default.rp_filter = 1\n"
        "kernel.kptr_restrict = 1\n",
        "etc/sysctl.conf": "# sysctl settings are defined through files in\n"
        "# /usr/lib/sysctl.d/, /run/sysctl.d/, and /etc/sysctl.d/.\n"
        "#\n# For more information, see sysctl.conf(5) and sysctl.d(5).\n",
    },
}
DISTROS["rocky-9"] = dict(DISTROS["rhel-9"])
PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
GROUP = "root:x:0:\n"


def build_root(base: Path, distro: str) -> Path:
    """A merged-usr root holding ``distro``'s stock sysctl files and the 99-sysctl.conf link."""
    root = base / distro
    for rel, text in DISTROS[distro].items():
        put(root, rel, text)
    (root / "usr/lib").mkdir(parents=True, exist_ok=True)
    os.symlink("usr/lib", root / "lib")
    (root / "etc/sysctl.d").mkdir(parents=True, exist_ok=True)
    os.symlink("../sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    put(root, "etc/hostname", f"{distro}-node\n")
    put(root, "etc/passwd", PASSWD)
    put(root, "etc/group", GROUP)
    return root


def foreign_root(base: Path, distro: str = "ubuntu-22.04") -> Path:
    """A protected CIS server built by other means: the team's own sysctl file, RKE2's
    config, the etcd account; no rke2image file anywhere."""
    root = build_root(base, distro)
    required = "".join(f"{p.key} = {p.value}\n" for p in REQUIRED_PARAMETERS)
    put(root, "etc/sysctl.d/90-kubelet.conf", required)
    put(root, "etc/rancher/rke2/config.yaml", "profile: cis\ntoken-file: /etc/rancher/rke2/t\n")
    put(root, "etc/passwd", PASSWD + "etcd:x:999:999::/nonexistent:/sbin/nologin\n")
    put(root, "etc/group", GROUP + "etcd:x:999:\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "rke2-server.service").symlink_to("/usr/local/lib/systemd/system/rke2-server.service")
    return root


def install_node(root: Path, node: NodeSpec) -> None:
    """Lay rke2image's rendered files for ``node`` into the root, and the etcd account
    the user-data creates on CIS servers: a node built the way rke2image builds it."""
    write_rootfs(render_node(node).files, root)
    if node.needs_etcd_user:
        put(root, "etc/passwd", PASSWD + "etcd:x:999:999:etcd user:/nonexistent:/sbin/nologin\n")
        put(root, "etc/group", GROUP + "etcd:x:999:\n")


def put(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def proc_sys(base: Path, values: dict[str, str]) -> Path:
    """A fake /proc/sys tree holding ``values`` (dotted keys), as the kernel prints them."""
    tree = base / "proc" / "sys"
    for key, value in values.items():
        path = tree.joinpath(*key.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="utf-8")
    (base / "proc" / "swaps").write_text("Filename\tType\tSize\tUsed\tPriority\n")
    return tree
