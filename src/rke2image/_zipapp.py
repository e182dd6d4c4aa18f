"""The zipapp's ``__main__.py`` (``make dist`` copies this file to the archive's root).

``rke2image-VERSION.pyz`` runs on any Python 3.9+ with nothing installed: it carries
the whole rke2image package and PyYAML's pure-Python code. Python imports from a zip
without writing bytecode, so every start would compile the audit's modules and PyYAML
again (that made a cold audit about 2.5 times slower than the installed command's, see
bench/bench_zipapp.py). The first start therefore unpacks the archive into a cache
folder of the user's, named by the archive's build id, and later starts import from
there, their bytecode cached as an installed package's is. Where no cache can be
written (no home, a read-only one) it runs from the zip itself, only slower.

Only the standard library, and no rke2image import before the path is chosen: the
package must come from one place.
"""

from __future__ import annotations

import os
import stat
import sys

# Filled in by make dist: a digest of every member of the archive but this one.
BUILD_ID = "unbuilt"
READY = ".complete"


def cache_root() -> str | None:
    """``$XDG_CACHE_HOME/rke2image`` or ``~/.cache/rke2image``; None without a home."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "rke2image")


def _ours(path: str) -> bool:
    """A folder we own that nobody else can write: never run code another user placed."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def unpacked(archive: str, root: str) -> str | None:
    """The folder holding the archive's members, unpacked now if needed; None on failure."""
    target = os.path.join(root, f"zipapp-{BUILD_ID}")
    if os.path.exists(os.path.join(target, READY)) and _ours(root) and _ours(target):
        return target
    try:
        return _unpack(archive, root, target)
    except (OSError, ValueError):
        return None


def _unpack(archive: str, root: str, target: str) -> str | None:
    import shutil
    import tempfile
    import zipfile

    os.makedirs(root, mode=0o700, exist_ok=True)
    if not _ours(root):
        return None
    staging = tempfile.mkdtemp(prefix=".unpack-", dir=root)
    try:
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                if name.startswith(("/", "..")) or "/../" in name:
                    raise ValueError(f"unsafe member {name!r}")
            zipped.extractall(staging)
        open(os.path.join(staging, READY), "w").close()
        try:
            os.rename(staging, target)
        except OSError:  # another start unpacked it first
            if not os.path.exists(os.path.join(target, READY)):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target if _ours(target) else None


def main() -> None:
    archive = os.path.dirname(os.path.abspath(__file__))
    root = cache_root()
    folder = unpacked(archive, root) if root and os.path.isfile(archive) else None
    if folder is not None:
        sys.path[:] = [folder if os.path.abspath(e) == archive else e for e in sys.path]
        if folder not in sys.path:
            sys.path.insert(0, folder)
    from rke2image.cli.main import main as rke2image

    raise SystemExit(rke2image())


if __name__ == "__main__":
    main()
