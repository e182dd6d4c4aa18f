"""Write rendered nodes: the OUT tree (atomic), a bare rootfs, and ``--check``.

OUT belongs to rke2image: it is built in a temporary folder beside OUT and moved
into place only once every file is written, so an error leaves OUT as it was. An
existing OUT is replaced only when it carries the marker file, so a typo in
``-o`` never deletes someone's folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from rke2image.errors import InputError
from rke2image.render.files import RenderedFile, RenderedNode
from rke2image.render.manifest import MARKER, OutputFile, output_tree

_DIR_MODE = 0o755


def write_rootfs(files: Iterable[RenderedFile], dest: Path) -> None:
    """Write files under ``dest`` as they land on the node, with their modes.

    Pass ``RenderedNode.files`` for a whole node; the Packer build passes only the
    files that hold no secret.
    """
    made = _Folders()
    for file in files:
        _write(dest / file.path.lstrip("/"), file.content, file.mode, made, exclusive=False)


def write_outputs(nodes: Sequence[RenderedNode], out: Path) -> None:
    """Replace ``out`` with the rendered tree, all or nothing."""
    tree = output_tree(nodes)
    out = Path(os.path.abspath(out))  # "-o ." needs a name and a parent to work beside
    if out.parent == out:
        raise InputError(f"refusing to replace {out}: choose a folder for the output")
    _refuse_foreign(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as error:
        raise InputError(f"cannot write {out}: {error.strerror}") from error
    try:
        os.chmod(staging, _DIR_MODE)
        made = _Folders(staging, fresh=True)
        for relative, entry in tree.items():
            _write(staging / relative, entry.content, entry.mode, made, exclusive=True)
        _swap_into_place(staging, out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"cannot write {out}: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_outputs(nodes: Sequence[RenderedNode], out: Path) -> list[str]:
    """Describe every missing, stale or extra file of ``out``; empty when it is current.

    Of a file's mode only the executable bit is compared: it is all that git
    keeps, and ``--check`` exists to compare a checkout with its spec.
    """
    expected = output_tree(nodes)
    actual = _existing_files(out)
    problems: list[str] = []
    for relative in sorted(expected.keys() | actual.keys()):
        path = out / relative
        if relative not in actual:
            problems.append(f"missing: {path}")
        elif relative not in expected:
            problems.append(f"extra: {path}")
        else:
            problems.extend(_compare(path, expected[relative]))
    return problems


def _compare(path: Path, entry: OutputFile) -> list[str]:
    if path.is_symlink() or not path.is_file():
        return [f"stale: {path}: not a regular file"]
    problems = []
    if path.read_bytes() != entry.content:
        problems.append(f"stale: {path}: content differs from the spec")
    executable = bool(path.stat().st_mode & 0o111)
    if executable != bool(entry.mode & 0o111):
        want = "executable" if entry.mode & 0o111 else "not executable"
        problems.append(f"stale: {path}: mode should be {entry.mode:04o} ({want})")
    return problems


def _existing_files(out: Path) -> dict[str, Path]:
    if not out.is_dir():
        return {}
    found: dict[str, Path] = {}
    for root, dirs, files in os.walk(out):
        dirs.sort()
        for name in [*files, *(d for d in dirs if Path(root, d).is_symlink())]:
            path = Path(root, name)
            found[path.relative_to(out).as_posix()] = path
    return found


def _refuse_foreign(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"refusing to replace {out}: it is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise InputError(
            f"refusing to replace {out}: it is not empty and not an rke2image output "
            f"(no {MARKER}); choose another -o folder or empty this one"
        )


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    holder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    previous = holder / "previous"
    os.rename(out, previous)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(previous, out)
        holder.rmdir()
        raise
    shutil.rmtree(holder, ignore_errors=True)


def _write(path: Path, content: bytes, mode: int, made: _Folders, *, exclusive: bool) -> None:
    made.ensure(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)  # created with at most ``mode``: a secret is never wider
    with os.fdopen(fd, "wb") as stream:
        if not exclusive or mode & made.umask:  # an old file keeps its mode; umask narrows
            os.fchmod(fd, mode)
        stream.write(content)


class _Folders:
    """Creates missing folders 0755 whatever the umask, remembering the known ones.

    Skipping the syscalls the umask makes unnecessary halves the time to write a
    1,000-node OUT (bench/bench_render.py).
    """

    def __init__(self, *known: Path, fresh: bool = False) -> None:
        self.known = set(known)
        self.fresh = fresh  # under a new, empty root nothing unknown exists yet
        self.umask = os.umask(0o022)  # read it (there is no getter) and put it back
        os.umask(self.umask)

    def ensure(self, path: Path) -> None:
        missing: list[Path] = []
        while path not in self.known and (self.fresh or not path.exists()):
            missing.append(path)
            path = path.parent
        self.known.add(path)
        for folder in reversed(missing):
            folder.mkdir(mode=_DIR_MODE)
            if _DIR_MODE & self.umask:
                os.chmod(folder, _DIR_MODE)
            self.known.add(folder)
