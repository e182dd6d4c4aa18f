"""The content of RKE2's config.yaml (paths.RKE2_CONFIG), and the one place a secret is read.

``token: {file: PATH}`` becomes RKE2's own ``token-file`` option (the file is read
on the node, never here). ``token: {env: NAME}`` is read at render time; the value
goes only into config.yaml, which is why that file (and the user-data that embeds
it) is marked secret and written 0600. No message here ever holds the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rke2image.errors import SecretError
from rke2image.spec.model import NodeSpec


@dataclass(frozen=True)
class Rke2Config:
    """The config.yaml mapping, and whether it holds a secret value."""

    values: dict[str, Any]
    secret: bool


def build_config(node: NodeSpec, environ: Mapping[str, str]) -> Rke2Config:
    """Merge the spec's free-form keys with the keys its own fields own."""
    values: dict[str, Any] = dict(node.rke2_config)
    secret = False
    if node.server and not node.cluster_init:
        values["server"] = node.server
    if node.profile and node.profile != "none":
        values["profile"] = node.profile
    token = node.token
    if token is not None and token.file is not None:
        values["token-file"] = token.file
    elif token is not None and token.env is not None:
        values["token"] = _read_env(node, token.env, environ)
        secret = True
    return Rke2Config(values=dict(sorted(values.items())), secret=secret)


def _read_env(node: NodeSpec, name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    where = f"{node.source}: node {node.name}: rke2.token.env"
    if value is None:
        raise SecretError(f"{where}: environment variable {name} is not set")
    if not value.strip():
        raise SecretError(f"{where}: environment variable {name} is empty")
    return value
