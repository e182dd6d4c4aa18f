"""A root broken like the incident (docs/design.md "The problem"), for fix's tests.

Debian 12's stock sysctl files (tests/acceptance/audit/roots.py), RKE2 with
``profile: cis`` on a server, three values 0 live, /etc/sysctl.conf holding those
zeros (the manual "fix" of the post-mortem: appended there, read by systemd-sysctl as
99-sysctl.conf, so any later file wins), a later sysctl.d file zeroing kernel.panic
again, no etcd account, and kubelet.log holding kubelet's refusal.
"""

from __future__ import annotations

from pathlib import Path

from acceptance.audit.roots import build_root, proc_sys, put
from rke2image.kernel import KUBELET_MISMATCH, REQUIRED_PARAMETERS

LATER = "etc/sysctl.d/99-zzzz-later.conf"
ZEROED = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops")
SYSCTL_CONF_ZEROS = "".join(f"{key} = 0\n" for key in ZEROED)
LATER_TEXT = "# a later file that undoes a value kubelet requires\nkernel.panic = 0\n"


def incident_root(base: Path) -> tuple[Path, Path]:
    """(root, proc_sys) of the incident's first server."""
    root = build_root(base, "debian-12")
    conf = root / "etc/sysctl.conf"
    conf.write_text(conf.read_text() + SYSCTL_CONF_ZEROS)
    put(root, LATER, LATER_TEXT)
    put(root, "etc/rancher/rke2/config.yaml", "profile: cis\n")
    put(root, "etc/shadow", "root:*:19000:0:99999:7:::\n").chmod(0o640)
    put(root, "etc/gshadow", "root:*::\n").chmod(0o640)
    (root / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    (root / "etc/systemd/system/multi-user.target.wants/rke2-server.service").symlink_to(
        "/usr/local/lib/systemd/system/rke2-server.service"
    )
    live = {p.key: p.value for p in REQUIRED_PARAMETERS}
    live.update(dict.fromkeys(ZEROED, "0"))
    put(
        root,
        "var/lib/rancher/rke2/agent/logs/kubelet.log",
        "".join(
            KUBELET_MISMATCH.format(flag=k.replace(".", "/"), expected=v, actual="0") + "\n"
            for k, v in ((p.key, p.value) for p in REQUIRED_PARAMETERS)
            if k in ZEROED
        ),
    )
    return root, proc_sys(base, live)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under the root and its bytes (links by their target)."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found
