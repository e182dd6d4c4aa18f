"""Replace a file atomically, keeping what identifies it: mode, owner, SELinux context.

A temporary file in the same folder (so ``rename`` is atomic and stays on one
filesystem) is written, given the old file's mode, owner and ``security.selinux``
attribute, fsynced and renamed over the old one; then the folder is fsynced so the
rename itself survives a power cut. A kill at any point leaves the old file or the
new one, never a mix. The temporary name starts with a dot and ends in
``.rke2image-tmp``: neither systemd-sysctl nor procps reads it (they take ``*.conf``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import NamedTuple

from rke2image.errors import InputError

SELINUX = "security.selinux"
TEMP_SUFFIX = ".rke2image-tmp"
NEW_FILE_MODE = 0o644


class Meta(NamedTuple):
    """What a replacement keeps of the file it replaces."""

    mode: int
    uid: int
    gid: int
    selinux: bytes | None

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "uid": self.uid,
            "gid": self.gid,
            "selinux": self.selinux.hex() if self.selinux is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Meta:
        context = data.get("selinux")
        return cls(
            int(str(data["mode"])),
            int(str(data["uid"])),
            int(str(data["gid"])),
            bytes.fromhex(str(context)) if context is not None else None,
        )


def meta_of(path: Path) -> Meta | None:
    """The file's mode, owner and SELinux context; None when it does not exist."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return Meta(stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, _context(path))


def replace(path: Path, data: bytes, meta: Meta | None) -> None:
    """Atomically make ``path`` hold ``data`` with ``meta`` (a new file: 0644, our owner)."""
    folder = path.parent
    fd = -1
    temp = folder / f".{path.name}.{os.getpid()}{TEMP_SUFFIX}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if meta is not None:
            if (meta.uid, meta.gid) != (os.getuid(), os.getgid()):
                os.fchown(fd, meta.uid, meta.gid)
            if meta.selinux is not None:
                os.setxattr(fd, SELINUX, meta.selinux)
        os.fchmod(fd, meta.mode if meta is not None else NEW_FILE_MODE)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(temp, path)
    except OSError as error:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise InputError(f"{path}: cannot write: {error.strerror}") from None
    sync_folder(folder)


def remove(path: Path) -> None:
    """Remove a file the fix created, durably."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(f"{path}: cannot remove: {error.strerror}") from None
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_writable(folder: Path) -> None:
    """Raise InputError when ``folder`` (or its nearest existing parent) cannot be
    written: a read-only mount is found before anything is changed."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        readonly = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError as error:
        raise InputError(f"{probe}: cannot check: {error.strerror}") from None
    if readonly or not os.access(probe, os.W_OK):
        reason = "a read-only filesystem" if readonly else "not writable"
        raise InputError(f"{probe} is {reason}: nothing was changed")


def _context(path: Path) -> bytes | None:
    try:
        return os.getxattr(path, SELINUX)
    except OSError as error:
        if error.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            return None
        raise
