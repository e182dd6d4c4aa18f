"""Write rendered nodes: the OUT tree (atomic), a bare rootfs, and ``--check``.

OUT belongs to rke2image: it is built in a temporary folder beside OUT and moved
into place only once every file is written, so an error (or a signal) leaves OUT
as it was. An existing OUT is replaced only when every file in it was written by an
earlier render (its marker and manifests say which) or with ``force``, so a typo in
``-o`` never deletes someone's files.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rke2image.errors import InputError
from rke2image.render.files import USER_DATA, RenderedFile, RenderedNode
from rke2image.render.manifest import MANIFEST, MARKER, OutputFile, output_tree

_DIR_MODE = 0o755


def write_rootfs(files: Iterable[RenderedFile], dest: Path) -> None:
    """Write files under ``dest`` as they land on the node, with their modes.

    Pass ``RenderedNode.files`` for a whole node; the Packer build passes only the
    files that hold no secret.
    """
    for file in files:
        _write(dest / file.path.lstrip("/"), file.content, file.mode, exclusive=False)


def write_outputs(
    nodes: Sequence[RenderedNode], out: Path, *, inputs: Sequence[Path] = (), force: bool = False
) -> None:
    """Replace ``out`` with the rendered tree, all or nothing.

    ``inputs`` (the spec paths) must not lie inside ``out``; files in ``out`` that no
    earlier render wrote are listed and refused unless ``force``.
    """
    tree = output_tree(nodes)
    out = Path(os.path.abspath(out))  # "-o ." needs a name and a parent to work beside
    if out.parent == out:
        raise InputError(f"refusing to replace {out}: choose a folder for the output")
    _refuse_inputs_inside(out, inputs)
    try:
        _refuse_foreign(out, force)
        _remove_leftovers(out)
    except OSError as error:
        raise InputError(f"cannot read {out}: {error.strerror or error}") from error
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_prefix(out), suffix=".tmp", dir=out.parent))
    except OSError as error:
        raise InputError(f"cannot write {out}: {error.strerror}") from error
    try:
        os.chmod(staging, _kept_mode(out))
        for relative, entry in tree.items():
            _write(staging / relative, entry.content, entry.mode, exclusive=True)
    except BaseException as error:
        with deferred_signals() as received:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise InputError(f"cannot write {out}: {error.strerror or error}") from error
        if received and not isinstance(error, KeyboardInterrupt):
            raise KeyboardInterrupt from error
        raise
    # From here on the new tree goes in whatever signal arrives: swapping and removing
    # the old tree (which may hold a token) finish first, then the render succeeded.
    with deferred_signals():
        try:
            _swap_into_place(staging, out)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise InputError(f"cannot write {out}: {error.strerror or error}") from error


def check_outputs(nodes: Sequence[RenderedNode], out: Path) -> list[str]:
    """Describe every missing, stale or extra file of ``out``; empty when it is current.

    Of a file's mode only the executable bit is compared: it is all that git
    keeps, and ``--check`` exists to compare a checkout with its spec.
    """
    expected = output_tree(nodes)
    problems: list[str] = []
    try:
        actual = _existing_files(out)
        for relative in sorted(expected.keys() | actual.keys()):
            path = out / relative
            if relative not in actual:
                problems.append(f"missing: {path}")
            elif relative not in expected:
                problems.append(f"extra: {path}")
            else:
                problems.extend(_compare(path, expected[relative]))
    except OSError as error:
        raise InputError(f"cannot read {out}: {error.strerror or error}") from error
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
    return {relative: out / relative for relative in _relative_files(out)}


def _relative_files(out: Path) -> list[str]:
    """Every entry under ``out`` that is not a real folder (files, links, sockets…),
    as sorted POSIX paths relative to ``out``; links to folders are not followed."""
    if not out.is_dir():
        return []
    found: list[str] = []
    pending = [("", str(out))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{prefix}{entry.name}/", entry.path))
                else:
                    found.append(prefix + entry.name)
    return sorted(found)


def _refuse_inputs_inside(out: Path, inputs: Sequence[Path]) -> None:
    """Replacing OUT would delete a spec that lives in it (or OUT itself as input)."""
    for path in inputs:
        where = Path(os.path.abspath(path))
        if where == out or out in where.parents:
            raise InputError(
                f"refusing to replace {out}: it holds the input {path}; "
                "choose an output folder outside the specs"
            )


def _refuse_foreign(out: Path, force: bool) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"refusing to replace {out}: it is not a folder")
    foreign = foreign_files(out)
    if foreign and not force:
        shown = ", ".join(foreign[:_SHOWN])
        more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
        raise InputError(
            f"refusing to replace {out}: it holds {len(foreign)} file(s) rke2image did not "
            f"write: {shown}{more}; choose another -o folder, move them, or pass --force"
        )


_SHOWN = 10


def foreign_files(out: Path) -> list[str]:
    """Files under ``out`` (relative, sorted) that no render wrote: not the marker,
    and not listed by the manifest.json of the node folder holding them. Empty
    folders are not files and are not counted."""
    ours = _written_earlier(out) if out.is_dir() else set()
    return [f for f in _relative_files(out) if f not in ours]


def _written_earlier(out: Path) -> set[str]:
    if not (out / MARKER).is_file():
        return set()
    ours = {MARKER}
    for manifest in out.glob(f"*/{MANIFEST}"):
        name = manifest.parent.name
        try:
            listed = json.loads(manifest.read_bytes())
            files = [f"{name}/rootfs{entry['path']}" for entry in listed["files"]]
            files += [f"{name}/{entry['path']}" for entry in listed.get("outputs", ())]
            # Renders before targets listed only their user-data, under "userData".
            files += [f"{name}/{USER_DATA}"] if "userData" in listed else []
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a manifest we wrote: its folder's files count as foreign
        ours.update(files, {f"{name}/{MANIFEST}"})
    return ours


def _prefix(out: Path) -> str:
    """Staging and old folders carry the writer's pid, so a later run can tell the
    leftovers of a killed render from the folders of one still running."""
    return f".{out.name}.{os.getpid()}."


def _remove_leftovers(out: Path) -> None:
    """Remove staging or old folders that a killed render (SIGKILL, power loss) left
    beside OUT: they may hold a token."""
    for path in out.parent.glob(f".{glob.escape(out.name)}.*"):
        pid = path.name[len(out.name) + 2 :].split(".", 1)[0]
        if path.suffix in (".tmp", ".old") and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _kept_mode(out: Path) -> int:
    """An existing OUT keeps its mode (an empty 0700 folder stays 0700)."""
    try:
        return stat.S_IMODE(out.stat().st_mode) if out.is_dir() else _DIR_MODE
    except OSError:
        return _DIR_MODE


@contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, recording them.

    Cleanup that a second Ctrl-C would cut short (leaving a folder with a token)
    runs to its end; the caller decides what a recorded signal means afterwards.
    Outside the main thread signals cannot be handled, and nothing is deferred.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {}
    for signum in _DEFERRED:
        previous[signum] = signal.signal(signum, lambda n, _f: received.append(n))
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    holder = Path(tempfile.mkdtemp(prefix=_prefix(out), suffix=".old", dir=out.parent))
    previous = holder / "previous"
    os.rename(out, previous)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(previous, out)
        holder.rmdir()
        raise
    shutil.rmtree(holder, ignore_errors=True)


def _write(path: Path, content: bytes, mode: int, *, exclusive: bool) -> None:
    _make_folders(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)  # created with at most ``mode``: a secret is never wider
    with os.fdopen(fd, "wb") as stream:
        os.fchmod(fd, mode)  # exactly ``mode``, whatever the umask or an old file had
        stream.write(content)


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0755 whatever the umask."""
    if folder.is_dir():
        return
    _make_folders(folder.parent)
    folder.mkdir(mode=_DIR_MODE)
    os.chmod(folder, _DIR_MODE)
