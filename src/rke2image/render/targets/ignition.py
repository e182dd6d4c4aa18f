"""Ignition: ``ignition.json``, spec 3.3.0 (Flatcar, Fedora CoreOS, cluster-api-provider-rke2).

Every node file is a ``storage.files`` entry with a decimal mode and a ``data:`` URL
(gzip-compressed where that is shorter, as Ignition's ``compression: gzip`` reads it);
the drop-in is the RKE2 unit's ``systemd.units[].dropins`` entry, which Ignition
writes to the same path; the etcd account is ``passwd``. Nothing is enabled: RKE2's
units belong to whatever installs RKE2.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any
from urllib.parse import quote

from rke2image import accounts, paths
from rke2image.render.cloudconfig import gzip_b64
from rke2image.render.files import RenderedFile, TargetFile, output_mode
from rke2image.spec.model import NodeSpec
from rke2image.targets import IGNITION

CONFIG = "ignition.json"
# Debian's ignition-validate 2.14 and cluster-api-provider-rke2 both accept 3.3.0.
SPEC_VERSION = "3.3.0"


def render(node: NodeSpec, files: tuple[RenderedFile, ...], baked: bool) -> tuple[TargetFile, ...]:
    content = (
        json.dumps(ignition_config(node, files), sort_keys=True, separators=(",", ":")) + "\n"
    ).encode()
    secret = any(f.secret for f in files)
    return (TargetFile(IGNITION, CONFIG, output_mode(secret), content, secret),)


def ignition_config(node: NodeSpec, files: tuple[RenderedFile, ...]) -> dict[str, Any]:
    dropin_path = paths.dropin_path(node.role)
    config: dict[str, Any] = {
        "ignition": {"version": SPEC_VERSION},
        "storage": {"files": [_file(f) for f in files if f.path != dropin_path]},
    }
    dropins = [
        {"name": posixpath.basename(f.path), "contents": f.content.decode("utf-8")}
        for f in files
        if f.path == dropin_path
    ]
    if dropins:
        unit = {"name": paths.service_name(node.role), "dropins": dropins}
        config["systemd"] = {"units": [unit]}
    if node.needs_etcd_user:
        config["passwd"] = accounts.ETCD.ignition()
    return config


def _file(file: RenderedFile) -> dict[str, Any]:
    return {
        "path": file.path,
        "mode": file.mode,  # JSON has no octal: 420 is 0644
        "overwrite": True,
        "contents": data_url(file.content),
    }


def data_url(content: bytes) -> dict[str, Any]:
    """RFC 2397 data URL of ``content``: gzip+base64 where that is shorter, else
    percent-encoded text (Ignition decodes both; ``compression`` names the gzip)."""
    packed = {"source": "data:;base64," + gzip_b64(content), "compression": "gzip"}
    plain = {"source": "data:," + quote(content, safe="")}
    return packed if len(packed["source"]) < len(plain["source"]) else plain
