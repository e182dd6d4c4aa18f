"""The one place that finds the data folders: schemas/, templates/ and packer/.

In a wheel they live inside the package as ``rke2image/_data/<name>`` (see the
hatch ``force-include`` in pyproject.toml). In a source checkout run without an
install (``PYTHONPATH=src``) or as an editable install, they are the folders at
the repository root.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.abc's is deprecated from 3.13; importlib.resources.abc is 3.11+
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

DATA_FOLDERS = ("schemas", "templates", "packer")


@cache
def data_dir(name: str) -> Traversable:
    """Return the folder ``name`` (one of DATA_FOLDERS), wherever it was installed."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"unknown data folder {name!r}")
    packaged = resources.files("rke2image") / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"rke2image data folder {name!r} is missing from the installation")


def read_text(folder: str, *parts: str) -> str:
    """Read a data file as UTF-8 text."""
    node = data_dir(folder)
    for part in parts:
        node = node / part
    return node.read_text(encoding="utf-8")


@cache
def schema_documents() -> dict[str, Any]:
    """Every JSON Schema of ``schemas/``, keyed by file name."""
    folder = data_dir("schemas")
    return {
        entry.name: json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".json")
    }


def contract_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a command's JSON output, ``schemas/contracts/<name>.schema.json``
    (``audit``: the rke2image.audit/v1 document of docs/audit-json.md). It is not part of
    the spec's schema that ``rke2image schema`` prints."""
    document: dict[str, Any] = json.loads(read_text("schemas", "contracts", f"{name}.schema.json"))
    return document
