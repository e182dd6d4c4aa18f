"""Where a reported file is within the repository: SARIF's %SRCROOT% and summary links.

Code scanning resolves a SARIF location against the repository root, so the
path must be relative to it, not to wherever ``validate`` was started. The root
is the nearest folder at or above the current one holding ``.git`` (actions/
checkout's workspace), else the current folder.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path, PurePosixPath


def source_root() -> Path:
    return _root_of(Path.cwd())


@cache
def _root_of(here: Path) -> Path:
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def repo_path(file: str) -> str | None:
    """``file`` as a POSIX path relative to the source root, or None when it lies outside."""
    absolute = Path(os.path.abspath(file))
    try:
        relative = absolute.relative_to(source_root())
    except ValueError:
        return None
    return str(PurePosixPath(relative.as_posix()))
