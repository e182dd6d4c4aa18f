"""``--exclude GLOB``: leave paths out of a check (kube-linter#127 asked for the same).

A pattern is matched with shell rules (``*`` also crosses ``/``) against the
file's path as named or found, its path relative to the current folder, and
each of its parent folders; a pattern without ``/`` also matches the name of the
file or of any folder above it (as in .gitignore). So ``examples/invalid``
leaves out that folder, ``drafts`` every folder of that name, ``*.draft.yaml``
such files anywhere.
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
            if "/" not in pattern and any(fnmatchcase(part, pattern) for part in form.parts):
                return True
    return False
