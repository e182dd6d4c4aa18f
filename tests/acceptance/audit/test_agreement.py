"""The file order and masking the audit computes equal what systemd itself lists.

``systemd-analyze cat-config --root=TREE sysctl.d`` prints ``# PATH`` and the content of
every file systemd-sysctl reads, in its order. systemd 252 follows an absolute link such
as ``99-sysctl.conf -> /etc/sysctl.conf`` out of the root to the host's file; the audit
does not, so such a link's content is compared with the file inside the root instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.audit.roots import DISTROS, build_root, install_node, put
from rke2image.rootfs import RootFS
from rke2image.sysctld import list_files


def systemd_listing(tool: str, root: Path) -> list[tuple[str, str]]:
    """(node path, content) per file, as systemd-analyze cat-config prints them."""
    result = subprocess.run(
        [tool, "cat-config", f"--root={root}", "sysctl.d"],
        capture_output=True,
        text=True,
        check=True,
    )
    files: list[tuple[str, list[str]]] = []
    prefix = f"# {root}/"
    for line in result.stdout.splitlines():
        if line.startswith(prefix):
            files.append(("/" + line[len(prefix) :], []))
        elif files:
            files[-1][1].append(line)
    return [(path, "\n".join(body).strip()) for path, body in files]


def audit_listing(root: Path) -> list[tuple[str, str]]:
    fs = RootFS(root)
    listing = []
    for conf in list_files(fs, "systemd"):
        text = "" if conf.masked else (fs.read_text(conf.path) or "")
        listing.append((conf.path, text.strip()))
    return listing


def escaping_links(root: Path) -> set[str]:
    """Node paths of files that are absolute links (systemd 252 reads the host's target)."""
    found = set()
    for folder in ("etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d"):
        for entry in (root / folder).glob("*") if (root / folder).is_dir() else []:
            if (
                entry.is_symlink()
                and os.readlink(entry).startswith("/")
                and os.readlink(entry) != "/dev/null"
            ):
                found.add("/" + str(entry.relative_to(root)))
    return found


def agree(require_tool: Callable[[str], str], root: Path) -> None:
    tool = require_tool("systemd-analyze")
    theirs, ours = systemd_listing(tool, root), audit_listing(root)
    assert [p for p, _ in ours] == [p for p, _ in theirs]
    outside = escaping_links(root)
    for (path, mine), (_, real) in zip(ours, theirs):
        if path not in outside:
            assert mine == real, path


@pytest.mark.parametrize("distro", sorted(DISTROS))
def test_stock_roots_agree_with_systemd(
    distro: str, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    agree(require_tool, build_root(tmp_path, distro))


@pytest.mark.parametrize("distro", sorted(DISTROS))
def test_rke2image_nodes_with_overrides_masks_and_shadows_agree(
    distro: str,
    tmp_path: Path,
    require_tool: Callable[[str], str],
    make_node: Callable[..., object],
) -> None:
    root = build_root(tmp_path, distro)
    install_node(root, make_node())  # type: ignore[arg-type]
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic_on_oops = 0\n")
    put(root, "run/sysctl.d/50-pid-max.conf", "kernel.pid_max = 32768\n")  # shadows /usr/lib's
    put(root, "usr/local/lib/sysctl.d/60-local.conf", "kernel.panic* = 1\n")
    os.symlink("/dev/null", root / "etc/sysctl.d/99-protect-links.conf")  # masks /usr/lib's
    put(root, "etc/sysctl.d/.hidden.conf", "kernel.panic = 0\n")
    agree(require_tool, root)


@pytest.mark.host_tools  # systemd 257 (Debian 13) reads no /lib/sysctl.d: a lane's differs
def test_an_absolute_99_sysctl_link_agrees_on_everything_but_its_target(
    tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    root = build_root(tmp_path, "rhel-9")
    (root / "etc/sysctl.d/99-sysctl.conf").unlink()
    os.symlink("/etc/sysctl.conf", root / "etc/sysctl.d/99-sysctl.conf")
    put(root, "etc/sysctl.conf", "kernel.panic = 0\n")
    agree(require_tool, root)
    # and the audit read the root's file, not the host's
    assert dict(audit_listing(root))["/etc/sysctl.d/99-sysctl.conf"] == "kernel.panic = 0"


@pytest.mark.host_tools  # systemd 257 (Debian 13) reads no /lib/sysctl.d: a lane's differs
def test_a_split_usr_root_reads_lib_sysctl_d_after_usr_lib(
    tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    """Debian's systemd 252 is built split-usr: it reads /lib/sysctl.d too (a real folder on
    a root that is not merged-usr), after /usr/lib/sysctl.d for a same-named file."""
    root = tmp_path / "split"
    put(root, "lib/sysctl.d/10-l.conf", "kernel.panic = 1\n")
    put(root, "usr/lib/sysctl.d/10-l.conf", "kernel.panic = 2\n")
    put(root, "lib/sysctl.d/20-only-lib.conf", "kernel.panic = 3\n")
    agree(require_tool, root)
