"""What the target proofs share: render a node, a root to apply it to, run the audit on it.

A root is either empty or a copy of the cached Debian root (tests/debroots: the cache
itself is never written). Scripts run in it with chroot inside a private mount
namespace, as Combustion runs them (``cd CONFIG_DIR; ./script``), so nothing they
mount reaches the host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from acceptance.audit.roots import proc_sys
from acceptance.audit.support import REQUIRED, audit_json
from debroots import debian_root
from helpers import require_tool
from rke2image.cli.main import main
from rke2image.spec.model import NodeSpec

SPEC = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata:
  name: {name}
spec:
  role: {role}
  {join}
  os: {os}
  rke2:
    version: v1.31.4+rke2r1
    profile: cis
    token: {{file: /etc/rancher/rke2/token}}
  kernel:
    sysctl:
      fs.inotify.max_user_instances: 8192
    modules: [overlay, br_netfilter]
"""


def write_spec(folder: Path, name: str, role: str, os: str) -> Path:
    join = "clusterInit: true" if role == "server" else "server: https://cp.example.com:9345"
    path = folder / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, role=role, join=join, os=os))
    return path


def render(spec: Path, out: Path, *targets: str) -> Path:
    """``rke2image render SPEC -o OUT --target T...``; the node's folder."""
    flags = [f"--target={t}" for t in targets]
    assert main(["render", str(spec), "-o", str(out), *flags]) == 0
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def manifest(node_folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((node_folder / "manifest.json").read_text())
    return loaded


def copied_debian_root(tmp: Path) -> Path:
    """A private copy of the cached bookworm root (useradd, groupadd, coreutils, bash)."""
    cache = debian_root("bookworm", "tools")
    root = tmp / "root"
    subprocess.run(["cp", "-a", f"{cache}/.", str(root)], check=True)
    (root / ".complete").unlink(missing_ok=True)
    return root


def run_in_chroot(root: Path, config_dir: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``config_dir/script`` in ``root`` as Combustion does: /proc mounted in the root,
    then chroot, cd, ./script; all in a private mount namespace that ends with it."""
    unshare = require_tool("unshare")
    inside = f"cd '{config_dir}' && ./{script}"
    outside = f'mount -t proc proc "$1/proc" && exec chroot "$1" sh -e -c "{inside}"'
    return subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-e", "-c", outside, "sh",
         str(root)],
        capture_output=True, text=True, check=False, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )  # fmt: skip


def needs_root() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("chroot and unshare need root (CI=true: these tests must run)")
        pytest.skip("chroot and unshare need root")


def assert_files_in_place(root: Path, node_folder: Path, where: dict[str, str]) -> None:
    """Every node file of the manifest is in ``root`` (at ``where[path]`` if it moved),
    with its mode and the bytes of rootfs/ (a secret's digest is not in the manifest)."""
    for entry in manifest(node_folder)["files"]:
        path = where.get(entry["path"], entry["path"])
        landed = root / path.lstrip("/")
        assert landed.is_file(), f"{path} is missing"
        assert f"{landed.stat().st_mode & 0o7777:04o}" == entry["mode"], path
        assert (
            landed.read_bytes() == (node_folder / "rootfs" / entry["path"].lstrip("/")).read_bytes()
        )


def audit_compliant(
    capsys: pytest.CaptureFixture[str], root: Path, tmp: Path, role: str
) -> dict[str, Any]:
    """The audit of ``root`` with a compliant fake /proc/sys: exit 0, every value ok."""
    capsys.readouterr()  # what render printed
    live = proc_sys(tmp / "live", {**REQUIRED, "fs.inotify.max_user_instances": "8192"})
    empty = tmp / "empty-rke2.log"
    empty.write_text("")
    code, report = audit_json(
        capsys, "--root", str(root), "--proc-sys", str(live), "--rke2-log", str(empty),
        "--role", role,
    )  # fmt: skip
    assert report["findings"] == [] and code == 0, report["findings"]
    assert {p["key"]: p["verdict"] for p in report["parameters"]} == dict.fromkeys(REQUIRED, "ok")
    return report


def node_of(spec: Path) -> NodeSpec:
    from rke2image.spec import load_nodes

    (node,) = load_nodes([spec])
    return node


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
