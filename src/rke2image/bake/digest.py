"""The content digest an image name carries: same inputs, same name, no rebuild.

It covers everything that goes into the image: each rendered file (path, mode,
bytes), every template and script of the Packer folder, the builder and its
settings, and the rke2image version. Per-build values (the generated SSH key,
the accelerator chosen on this host) are left out on purpose: they do not
change the image.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rke2image import __version__
from rke2image.render.files import RenderedFile

SHORT = 12  # hex digits of the digest in image names


def build_digest(
    files: tuple[RenderedFile, ...],
    templates: Path,
    builder: str,
    settings: dict[str, Any],
    inputs: dict[str, str] | None = None,
) -> str:
    """sha256 over everything the image is made of; ``inputs`` adds file fingerprints."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("rke2image", __version__.encode())
    for item in sorted(files, key=lambda f: f.path):
        add(f"file {item.path} {item.mode:04o}", item.content)
    for path in sorted(p for p in templates.rglob("*") if p.is_file()):
        add(f"template {path.relative_to(templates).as_posix()}", path.read_bytes())
    add(f"builder {builder}", json.dumps(settings, sort_keys=True).encode())
    for name, fingerprint in sorted((inputs or {}).items()):
        add(f"input {name}", fingerprint.encode())
    return digest.hexdigest()


def image_name(base: str, digest: str) -> str:
    """The image name: the spec's name plus the short digest."""
    return f"{base}-{digest[:SHORT]}"


def file_fingerprint(path: Path) -> str:
    """A cheap stand-in for hashing a multi-GB base image: size and mtime."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"
