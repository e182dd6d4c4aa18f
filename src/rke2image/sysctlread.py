"""Bounded reading of one sysctl.d file, split into lines the way each tool splits them.

A file is read only when it is a regular file (after links, inside the root), and at
most ``MAX_BYTES``: a 1 GiB sparse file or a FIFO never makes the audit hang or grow.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from typing import NamedTuple

MAX_BYTES = 8 << 20  # far above any real sysctl.d file
LONG_LINE_MAX = 1 << 20  # systemd's LONG_LINE_MAX: read_line() fails at this length
_SYSTEMD_LINE = re.compile(rb"[^\n\r\x00]+")  # systemd ends a line at \n, \r, \r\n and NUL


class Content(NamedTuple):
    """What could be read: the bytes, or why not."""

    data: bytes
    kind: str  # "file", "truncated", "blocks" (FIFO, device), "unreadable", "dir"
    detail: str = ""


def read_bounded(host_path: str) -> Content:
    """The file's bytes, never more than MAX_BYTES, never blocking on a FIFO or device."""
    try:
        info = os.stat(host_path)
    except OSError as error:
        return Content(b"", "unreadable", error.strerror or str(error))
    if stat.S_ISDIR(info.st_mode):
        return Content(b"", "dir")
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return Content(b"", "blocks", "a FIFO or device")
    if not stat.S_ISREG(info.st_mode):
        return Content(b"", "unreadable", "not a regular file")
    try:
        fd = os.open(host_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as error:
        return Content(b"", "unreadable", error.strerror or str(error))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after the stat above
            return Content(b"", "blocks", "not a regular file")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        return Content(data[:MAX_BYTES], "truncated", f"larger than {MAX_BYTES >> 20} MiB")
    return Content(data, "file")


def systemd_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, text) of each non-empty line as systemd's read_line() splits it.

    The number counts newlines, as an editor does. A line of LONG_LINE_MAX bytes or
    more ends the file (read_line fails with ENOBUFS): ``(number, b"")`` with the
    sentinel number negated marks it.
    """
    line, pos = 1, 0
    for match in _SYSTEMD_LINE.finditer(data):
        line += data.count(b"\n", pos, match.start())
        pos = match.start()
        text = match.group()
        if len(text) >= LONG_LINE_MAX:
            yield -line, b""
            return
        yield line, text


def getline_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line with its newline) as getline(3) reads them (procps)."""
    start, line = 0, 1
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield line, data[start:end]
        start, line = end, line + 1
