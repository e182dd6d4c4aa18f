"""Fixture node roots for the deploy tests: what `rke2image render` puts on a node, plus a
/proc/sys tree, the etcd account and a host name, so `rke2image audit --root` finds a
compliant CIS server; ``break_live`` and ``break_next_boot`` make it fail the two ways."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from helpers import REPO
from rke2image.kernel import REQUIRED_PARAMETERS

NODE_SPEC = REPO / "examples" / "node.yaml"  # cp-1: a CIS server


def rke2image_cli() -> list[str]:
    """The rke2image the tests import (the venv's wheel), as a command."""
    return [sys.executable, "-m", "rke2image"]


def compliant_root(folder: Path, hostname: str = "cp-1") -> Path:
    out = folder / "render"
    subprocess.run(
        [*rke2image_cli(), "render", str(NODE_SPEC), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    root = folder / "root"
    shutil.copytree(out / "cp-1" / "rootfs", root, symlinks=True)
    for parameter in REQUIRED_PARAMETERS:
        set_live(root, parameter.key, parameter.value)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\netcd:x:998:998::/var/lib/etcd:/usr/sbin/nologin\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\netcd:x:998:\n")
    (root / "etc" / "hostname").write_text(hostname + "\n")
    return root


def proc_sys(root: Path) -> Path:
    return root / "proc" / "sys"


def set_live(root: Path, key: str, value: str) -> None:
    path = proc_sys(root).joinpath(*key.split("."))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")


def break_live(root: Path) -> None:
    """kernel.panic = 0 now: the outage of docs/design.md (verdict wrong)."""
    set_live(root, "kernel.panic", "0")


def break_next_boot(root: Path) -> None:
    """A later sysctl.d file undoes kernel.panic_on_oops at the next boot (verdict latent)."""
    (root / "etc" / "sysctl.d" / "99-zzzz-undo.conf").write_text("kernel.panic_on_oops = 0\n")


def audit(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`rke2image audit` of a fixture root and its /proc/sys, with more flags."""
    return subprocess.run(
        [*rke2image_cli(), "audit", "--root", str(root), "--proc-sys", str(proc_sys(root)), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
