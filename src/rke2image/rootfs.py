"""A root filesystem read the way a node sees it, never the host behind it.

``--root /mnt/image`` must read ``/mnt/image/etc/sysctl.conf`` for the node path
``/etc/sysctl.conf``, also through a link such as ``99-sysctl.conf ->
/etc/sysctl.conf``: an absolute link target is a node path, so it resolves
inside the root (like ``chroot``), and ``..`` stops at the root. systemd 252's
``--root`` follows such links out to the host; this module never does.

Every read is bounded and takes regular files only: a node's files are read by people in
an outage, and a FIFO (blocks forever), a device (``/dev/zero`` grows without end) or a
1 GiB sparse file (read whole) must not hang or exhaust the audit. Such a file raises
``UnreadableFile``, an ``InputError`` its caller turns into a finding.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from rke2image.errors import InputError

DEV_NULL = "/dev/null"
_MAX_LINKS = 40  # the kernel's limit (ELOOP)
# The largest node file read whole (sysctl.d, config.yaml, passwd, hostname): real ones are
# a few KiB, a large /etc/passwd a few MiB. Over this, the file is a finding, not read.
MAX_FILE_BYTES = 8 * 1024 * 1024
# Open without following a last link (resolve() has followed them inside the root), and
# without blocking on a FIFO (fstat says what it is before any read).
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnreadableFile(InputError):
    """A node file that exists but is not read: not a regular file, too large, or denied."""

    def __init__(self, node_path: str, reason: str) -> None:
        from rke2image.textsafe import printable  # a node's file name is anyone's text

        self.node_path = node_path
        self.reason = reason
        super().__init__(f"{printable(node_path)}: {reason}")


def kind(mode: int) -> str:
    """What a file that is not a regular one is, for a message."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(host: Path | str, name: str, follow: bool = False) -> tuple[io.FileIO, int]:
    """Open a regular file for reading, never blocking; (raw handle, size at open).

    ``name`` is what an error names (a node path, or the path the user gave). A last link
    is refused unless ``follow`` (a path the user named on the host). Raises
    FileNotFoundError (or NotADirectoryError) when absent, UnreadableFile otherwise.
    """
    flags = _OPEN_FLAGS & ~os.O_NOFOLLOW if follow else _OPEN_FLAGS
    try:
        before = os.stat(host) if follow else os.lstat(host)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as error:
        raise UnreadableFile(name, f"cannot read: {error.strerror}") from None
    if not stat.S_ISREG(before.st_mode):  # checked before open: opening a device can act
        raise UnreadableFile(name, f"is {kind(before.st_mode)}, not a regular file: not read")
    try:
        fd = os.open(host, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as error:
        raise UnreadableFile(name, f"cannot read: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # replaced between lstat and open
        os.close(fd)
        raise UnreadableFile(name, f"is {kind(info.st_mode)}, not a regular file: not read")
    os.set_blocking(fd, True)
    return io.FileIO(fd, "rb", closefd=True), info.st_size


def read_bounded(
    host: Path | str, name: str, limit: int = MAX_FILE_BYTES, follow: bool = False
) -> bytes:
    """A whole regular file of at most ``limit`` bytes (UnreadableFile when larger)."""
    handle, size = open_regular(host, name, follow)
    with handle:
        if size > limit:
            raise UnreadableFile(name, f"is {size} bytes, over the {_size(limit)} read: not read")
        chunks = []
        left = limit + 1  # a file growing while read is caught too
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:
        raise UnreadableFile(name, f"is over the {_size(limit)} read: not read")
    return data


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit} bytes"


class Resolved(NamedTuple):
    """Where a node path leads: its final node path and the host path to open."""

    node_path: str
    host_path: Path

    @property
    def is_dev_null(self) -> bool:
        return self.node_path == DEV_NULL


class RootFS:
    """Read-only access to a tree that is the ``/`` of a node."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        # A run reads the same paths many times (is_file, then open): resolve each once.
        self._resolved: dict[str, Resolved] = {}

    def host(self, node_path: str) -> Path:
        """The host path of a node path, without following links."""
        return self.root / node_path.lstrip("/")

    def resolve(self, node_path: str) -> Resolved:
        """Follow every link of ``node_path`` inside the root.

        Raises InputError on a loop (more than 40 links), like the kernel's ELOOP.
        """
        cached = self._resolved.get(node_path)
        if cached is None:
            cached = self._resolved[node_path] = self._walk(node_path)
        return cached

    def _walk(self, node_path: str) -> Resolved:
        done: list[str] = []
        todo = [part for part in node_path.split("/") if part][::-1]
        links = 0
        while todo:
            part = todo.pop()
            if part == ".":
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            try:
                target = os.readlink(os.path.join(self._root, *done, part))
            except OSError:  # not a link, or absent: keep the name as it is
                done.append(part)
                continue
            links += 1
            if links > _MAX_LINKS:
                raise InputError(
                    f"{node_path}: too many levels of symbolic links under {self.root}"
                )
            if target.startswith("/"):
                done = []
            todo.extend([p for p in target.split("/") if p][::-1])
        final = "/" + "/".join(done)
        return Resolved(final, self.root.joinpath(*done))

    def is_file(self, node_path: str) -> bool:
        """True for a regular file (after links) or a link to /dev/null."""
        resolved = self.resolve(node_path)
        if resolved.is_dev_null:
            return True
        try:
            return stat.S_ISREG(resolved.host_path.stat().st_mode)
        except OSError:
            return False

    def is_dir(self, node_path: str) -> bool:
        try:
            return self.resolve(node_path).host_path.is_dir()
        except OSError:
            return False

    def listdir(self, node_path: str) -> list[str]:
        """Names in a folder (after links), sorted; [] when it does not exist."""
        host = self.resolve(node_path).host_path
        try:
            return sorted(os.listdir(host))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as error:
            raise InputError(f"{node_path}: cannot list {host}: {error.strerror}") from None

    @contextmanager
    def open_text(self, node_path: str) -> Iterator[IO[str]]:
        """A node file as a text stream (at most MAX_FILE_BYTES); /dev/null reads as empty.

        Raises UnreadableFile when it is absent, not a regular file or too large."""
        text = self.read_text(node_path)
        if text is None:
            raise UnreadableFile(node_path, "cannot read: No such file or directory")
        yield io.StringIO(text)

    def read_text(self, node_path: str) -> str | None:
        """A whole small file (config, passwd), or None when nothing is at the path.

        Raises UnreadableFile for a file that is there but not read: not a regular file
        (a folder, FIFO or device), over MAX_FILE_BYTES, or denied. Bytes that are not
        UTF-8 read as U+FFFD."""
        data = self.read_bytes(node_path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def read_bytes(self, node_path: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """``read_text`` without decoding, and with its own bound."""
        resolved = self.resolve(node_path)
        if resolved.is_dev_null:
            return b""
        try:
            return read_bounded(resolved.host_path, node_path, limit)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def open_binary(self, node_path: str) -> tuple[io.FileIO, int]:
        """A regular node file for streaming (logs): the raw handle and its size at open.

        Raises FileNotFoundError when absent and UnreadableFile when not a regular file."""
        resolved = self.resolve(node_path)
        host = Path(os.devnull) if resolved.is_dev_null else resolved.host_path
        if resolved.is_dev_null:
            return io.FileIO(os.open(host, os.O_RDONLY | os.O_CLOEXEC), "rb"), 0
        return open_regular(host, node_path)

    def is_executable(self, node_path: str) -> bool:
        resolved = self.resolve(node_path)
        try:
            mode = resolved.host_path.stat().st_mode
        except OSError:
            return False
        return stat.S_ISREG(mode) and bool(mode & 0o111)
