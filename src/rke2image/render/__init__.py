"""Render node artifacts: NodeSpec → files in memory (pure) → written atomically.

Public API: ``render_node``, ``write_rootfs``, ``write_outputs``, ``check_outputs``.
"""

from __future__ import annotations

from rke2image.render.files import RenderedFile, RenderedNode
from rke2image.render.node import render_node
from rke2image.render.write import check_outputs, write_outputs, write_rootfs

__all__ = [
    "RenderedFile",
    "RenderedNode",
    "check_outputs",
    "render_node",
    "write_outputs",
    "write_rootfs",
]
