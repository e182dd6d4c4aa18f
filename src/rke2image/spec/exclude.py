"""``--exclude GLOB``: leave paths out of a check (kube-linter#127 asked for the same).

A pattern is matched with shell rules (``*`` also crosses ``/``) against the
file's path as named or found, its path relative to the current folder, and
each of its parent folders; a pattern without ``/`` also matches the file name.
So ``examples/invalid`` leaves out that folder, ``*.draft.yaml`` such files
anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath


def _forms(path: Path) -> set[PurePosixPath]:
    forms = {PurePosixPath(path.as_posix())}
    absolute = Path(os.path.abspath(path))
    try:
        forms.add(PurePosixPath(absolute.relative_to(Path.cwd()).as_posix()))
    except ValueError:
        forms.add(PurePosixPath(absolute.as_posix()))
    return forms


def excluded(path: Path, patterns: Sequence[str]) -> bool:
    """True when one of ``patterns`` matches ``path`` or a folder above it."""
    if not patterns:
        return False
    for form in _forms(path):
        candidates = [str(form), *(str(parent) for parent in form.parents if str(parent) != ".")]
        for pattern in patterns:
            pattern = pattern.rstrip("/").removeprefix("./") or pattern
            if any(fnmatchcase(candidate, pattern) for candidate in candidates):
                return True
            if "/" not in pattern and fnmatchcase(form.name, pattern):
                return True
    return False
