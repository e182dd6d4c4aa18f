"""Real `rke2image audit --format json` documents of the fixture roots (roots.py), one per
kind of node the contract has to describe: each distribution's image root, a live node with
a latent value and the line it overrides, a node with a wrong, a missing and an unreadable
live value and an unreadable config file, and an image with a wrong value and a spec's
own keys. The schema tests (test_audit_schema.py, tests/acceptance/fleet/test_fleet_schema.py)
read them."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from acceptance.audit.roots import DISTROS, build_root, foreign_root, install_node, proc_sys, put
from acceptance.audit.support import REQUIRED
from helpers import REPO, make_node
from rke2image.cli.main import main


def audit_document(*args: str) -> dict[str, Any]:
    """What the audit prints with ``--format json`` (it reads no host journal: an empty
    RKE2 log is given)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["audit", *args, "--rke2-log", "/dev/null", "--format", "json"])
    assert code in (0, 1) and err.getvalue() == "", err.getvalue()
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def real_documents(base: Path) -> dict[str, dict[str, Any]]:
    """Every kind of document, by a name that says what it holds."""
    documents = {
        f"image-{distro}": audit_document("--root", str(build_root(base / "image", distro)))
        for distro in sorted(DISTROS)
    }

    root = build_root(base / "latent", "ubuntu-24.04")
    install_node(root, make_node(sysctl={}))
    put(root, "etc/sysctl.d/99-zzzz-undo.conf", "kernel.panic = 0\n")
    live = proc_sys(base / "latent", REQUIRED)
    documents["live-latent"] = audit_document("--root", str(root), "--proc-sys", str(live))

    root = foreign_root(base / "damaged")
    put(root, "etc/rancher/rke2/config.yaml.d/50-big.yaml", "# " + "x" * (4 * 1024 * 1024) + "\n")
    values = {k: v for k, v in REQUIRED.items() if k != "kernel.panic_on_oops"}
    live = proc_sys(base / "damaged", {**values, "vm.overcommit_memory": "0"})
    (live / "kernel" / "panic").unlink()
    (live / "kernel" / "panic").mkdir()  # not a regular file: unreadable
    documents["live-damaged"] = audit_document(
        "--root", str(root), "--proc-sys", str(live), "--node-name", "cp-2", "--role", "agent"
    )

    spec = REPO / "examples" / "node.yaml"
    root = build_root(base / "spec", "debian-12")
    put(root, "etc/sysctl.d/60-wrong.conf", "vm.panic_on_oom = 1\n")  # wrong in an image
    documents["spec-keys"] = audit_document("--root", str(root), "--spec", str(spec))
    return documents
