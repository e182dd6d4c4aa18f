"""A root filesystem read the way a node sees it, never the host behind it.

``--root /mnt/image`` must read ``/mnt/image/etc/sysctl.conf`` for the node path
``/etc/sysctl.conf``, also through a link such as ``99-sysctl.conf ->
/etc/sysctl.conf``: an absolute link target is a node path, so it resolves
inside the root (like ``chroot``), and ``..`` stops at the root. systemd 252's
``--root`` follows such links out to the host; this module never does.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from rke2image.errors import InputError

DEV_NULL = "/dev/null"
_MAX_LINKS = 40  # the kernel's limit (ELOOP)


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
        """Open a node file for streaming text; a link to /dev/null reads as empty."""
        resolved = self.resolve(node_path)
        host = Path(os.devnull) if resolved.is_dev_null else resolved.host_path
        try:
            handle = open(host, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as error:
            raise InputError(f"{node_path}: cannot read {host}: {error.strerror}") from None
        with handle:
            yield handle

    def read_text(self, node_path: str) -> str | None:
        """A whole small file (config, passwd), or None when it does not exist."""
        if not self.is_file(node_path):
            return None
        with self.open_text(node_path) as handle:
            return handle.read()

    def is_executable(self, node_path: str) -> bool:
        resolved = self.resolve(node_path)
        try:
            mode = resolved.host_path.stat().st_mode
        except OSError:
            return False
        return stat.S_ISREG(mode) and bool(mode & 0o111)
