"""Rendered files held in memory: what ``render`` produces before anything is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedFile:
    """One file as it lands on the node: absolute node path, mode and bytes."""

    path: str
    mode: int
    content: bytes
    secret: bool = False  # holds a secret value: written 0600, never printed

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class RenderedNode:
    """Everything rendered for one node: its rootfs files and its user-data."""

    name: str
    files: tuple[RenderedFile, ...]
    user_data: bytes
    user_data_secret: bool  # user-data embeds a secret value and must be written 0600
    role: str = ""
    baked: bool = False  # user-data and files for an image made by ``build``

    @property
    def user_data_mode(self) -> int:
        """0600 when the user-data embeds a secret value, else 0644."""
        return 0o600 if self.user_data_secret else 0o644
