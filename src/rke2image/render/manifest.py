"""The OUT tree in memory: every file ``render`` writes, with its bytes and mode.

``write_outputs`` and ``check_outputs`` both start from this one function, so
what is checked is exactly what would be written. Layout (docs/design.md, "What lands on a node"):

    OUT/.rke2image-output          marker: this folder is rke2image's to replace
    OUT/<name>/user-data           cloud-init (the default target)
    OUT/<name>/ignition.json       ignition
    OUT/<name>/combustion/script   combustion
    OUT/<name>/eib/...             eib: os-files/ and custom/scripts/
    OUT/<name>/rootfs/<node path>  every node file, plain, whatever the targets
    OUT/<name>/manifest.json       each file's path, mode and sha256

The manifest never holds anything derived from a secret: a secret file's sha256
is null (a hash of a short token is a way to guess it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rke2image.errors import RenderError
from rke2image.render.files import RenderedFile, RenderedNode, TargetFile

MARKER = ".rke2image-output"
MANIFEST = "manifest.json"
MARKER_TEXT = b"This folder is written by `rke2image render`; it is replaced on every render.\n"
GENERATOR = "rke2image"


@dataclass(frozen=True)
class OutputFile:
    """One file of the OUT tree."""

    content: bytes
    mode: int


def output_tree(nodes: Sequence[RenderedNode]) -> dict[str, OutputFile]:
    """Every file of OUT by POSIX path relative to OUT, sorted."""
    tree = {MARKER: OutputFile(MARKER_TEXT, 0o644)}
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            raise RenderError(f"two nodes are named {node.name!r}; node names must be unique")
        seen.add(node.name)
        for output in node.outputs:
            tree[f"{node.name}/{output.path}"] = OutputFile(output.content, output.mode)
        for file in node.files:
            tree[f"{node.name}/rootfs{file.path}"] = OutputFile(file.content, file.mode)
        tree[f"{node.name}/{MANIFEST}"] = OutputFile(manifest_bytes(node), 0o644)
    return dict(sorted(tree.items()))


def manifest(node: RenderedNode) -> dict[str, Any]:
    """What a reviewer (or the audit) needs to know about the node's files."""
    return {
        "generator": GENERATOR,
        "name": node.name,
        "role": node.role,
        "baked": node.baked,
        "files": [_entry(file) for file in node.files],
        "targets": list(node.targets),
        "outputs": [_entry(output) for output in node.outputs],
    }


def manifest_bytes(node: RenderedNode) -> bytes:
    return (json.dumps(manifest(node), indent=2, sort_keys=True) + "\n").encode("utf-8")


def _entry(file: RenderedFile | TargetFile) -> dict[str, Any]:
    """A file's path (on the node, or in OUT/<name>/ for a target's file), mode and
    digest; a file holding a secret gets ``"sha256": null``."""
    entry = {"target": file.target} if isinstance(file, TargetFile) else {}
    return {
        **entry,
        "path": file.path,
        "mode": f"{file.mode:04o}",
        "secret": file.secret,
        "sha256": None if file.secret else file.sha256,
    }
