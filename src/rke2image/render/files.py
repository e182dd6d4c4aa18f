"""Rendered files held in memory: what ``render`` produces before anything is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rke2image.errors import RenderError


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
class TargetFile:
    """One file a target writes into the node's output folder: ``user-data``,
    ``ignition.json``, ``combustion/script``, ``eib/...``. Every one of them is made
    from the node's ``RenderedFile`` list; one that embeds a secret is 0600."""

    target: str
    path: str  # POSIX, relative to OUT/<node>/
    mode: int
    content: bytes
    secret: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class RenderedNode:
    """Everything rendered for one node: its node files and each target's form of them."""

    name: str
    files: tuple[RenderedFile, ...]
    outputs: tuple[TargetFile, ...]
    role: str = ""
    baked: bool = False  # user-data and files for an image made by ``build``

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets rendered, in the order given."""
        return tuple(dict.fromkeys(f.target for f in self.outputs))

    @property
    def user_data_file(self) -> TargetFile:
        for output in self.outputs:
            if output.path == USER_DATA:
                return output
        raise RenderError(f"{self.name}: no user-data was rendered (target cloud-init)")

    @property
    def user_data(self) -> bytes:
        """cloud-init's user-data (the default target)."""
        return self.user_data_file.content

    @property
    def user_data_secret(self) -> bool:
        """user-data embeds a secret value and must be written 0600."""
        return self.user_data_file.secret

    @property
    def user_data_mode(self) -> int:
        """0600 when the user-data embeds a secret value, else 0644."""
        return self.user_data_file.mode


USER_DATA = "user-data"


def output_mode(secret: bool, executable: bool = False) -> int:
    """A target file's mode: 0600 (0700 for a script) when it embeds a secret."""
    if secret:
        return 0o700 if executable else 0o600
    return 0o755 if executable else 0o644
