"""One small node file (a config, an env file, a boot loader entry) read without ever
blocking, growing or aborting: the text, or why it could not be read.

The audit reports what it cannot read rather than stopping: a 0600 config.yaml read
without root is a fact about the audit ("protection is unknown"), a symlink loop in
config.yaml.d is a fact about the node (RKE2 will not start).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NamedTuple

from rke2image.errors import InputError
from rke2image.rootfs import RootFS

MAX_BYTES = 4 * 1024 * 1024  # far above any real RKE2, unit or boot loader file

# Why a file could not be read.
ABSENT = "absent"
DENIED = "permission denied"  # the audit's limit (no root), not the node's
LOOP = "a symbolic link loop"
NOT_REGULAR = "not a regular file"
BAD_PATH = "a path holding a NUL byte"
TOO_LARGE = f"larger than {MAX_BYTES // (1024 * 1024)} MiB"


class NodeText(NamedTuple):
    text: str | None
    problem: str | None = None  # one of the reasons above, or another OS error's words

    @property
    def denied(self) -> bool:
        return self.problem == DENIED


def read_node_text(fs: RootFS, node_path: str, limit: int = MAX_BYTES) -> NodeText:
    """The file's text (UTF-8, bad bytes replaced), or None and the reason."""
    if "\x00" in node_path:
        return NodeText(None, BAD_PATH)
    try:
        resolved = fs.resolve(node_path)
    except InputError:
        return NodeText(None, LOOP)
    if resolved.is_dev_null:
        return NodeText("")
    try:
        info = os.stat(resolved.host_path)
    except FileNotFoundError:
        return NodeText(None, ABSENT)
    except OSError as error:
        return NodeText(None, reason(error))
    if not stat.S_ISREG(info.st_mode):
        return NodeText(None, NOT_REGULAR)
    if info.st_size > limit:
        return NodeText(None, TOO_LARGE)
    try:
        fd = os.open(resolved.host_path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        return NodeText(None, reason(error))
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since stat
        return NodeText(None, TOO_LARGE)
    return NodeText(data.decode("utf-8", errors="replace"))


def reason(error: OSError) -> str:
    """The words for why an OS call failed; DENIED for any permission error."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return DENIED
    if error.errno == errno.ELOOP:
        return LOOP
    if error.errno == errno.ENOENT:
        return ABSENT
    return error.strerror or str(error)
