"""Golden headers of examples/invalid/: each file states the diagnostics it produces.

A header is a block of '# ' lines ending with '# ---'. ``UPDATE_GOLDEN=1`` rewrites
the headers from what the validator prints now.
"""

from __future__ import annotations

import os
from pathlib import Path

from rke2image.spec.check import check_bytes

HEADER_END = b"# ---\n"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def split_header(raw: bytes) -> tuple[list[str], bytes]:
    if HEADER_END not in raw:
        return [], raw
    head, body = raw.split(HEADER_END, 1)
    lines = [line[2:] for line in head.decode().splitlines()]
    return lines, body


def diagnostics(raw: bytes, display: str) -> list[str]:
    return [p.format_text() for p in check_bytes(raw, display).problems]


def header_for(lines: list[str], display: str) -> bytes:
    block = [f"Running `rke2image validate {display}` prints:", *lines]
    return "".join(f"# {line}\n" for line in block).encode() + HEADER_END


def regenerate(path: Path, display: str) -> None:
    _, body = split_header(path.read_bytes())
    draft = header_for([""] * len(diagnostics(body, display)), display) + body
    # The header shifts every line; compute the diagnostics with it in place.
    path.write_bytes(header_for(diagnostics(draft, display), display) + body)
