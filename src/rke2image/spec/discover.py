"""Turn the PATH arguments of a command into the spec files to check.

A named file is always checked. A folder is searched for ``*.yaml``/``*.yml``
files that hold ``apiVersion: rke2image/v1``; other YAML (CI configs, Helm
values) living beside the specs is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rke2image.errors import InputError

# Any rke2image apiVersion, quoted or not, in block or flow style: a file that
# claims to be ours is checked (and a wrong version reported), never skipped.
SPEC_MARKER = re.compile(rb"[\"']?\bapiVersion[\"']?[ \t]*:[ \t]*[\"']?rke2image/")
SUFFIXES = (".yaml", ".yml")


def looks_like_spec(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return SPEC_MARKER.search(handle.read(1024 * 1024 + 1)) is not None
    except OSError:
        return True  # let the checker report why it cannot be read


def spec_files(paths: Sequence[Path], only_specs: bool = False) -> list[Path]:
    """Files to check, in a stable order, each once.

    ``only_specs`` also skips named files without the apiVersion marker (what a
    pre-commit hook wants when it is handed every changed YAML file).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.suffix.lower() in SUFFIXES and p.is_file() and looks_like_spec(p)
            )
        elif path.exists() or path.is_symlink():
            if not only_specs or looks_like_spec(path):
                found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(found))
    if not unique and not only_specs:
        shown = ", ".join(str(p) for p in paths)
        raise InputError(f"no rke2image/v1 spec found in {shown}")
    return unique
