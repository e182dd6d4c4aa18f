"""The kernel's values now, read from a /proc/sys tree. Read-only: the audit never writes.

``--proc-sys`` may name any folder (a copy, a test tree, a hostile one): each value is
read as the kernel serves it, a regular file of at most a page or two, and bounded, so a
FIFO or a link to ``/dev/zero`` neither blocks nor grows. A value that is there but cannot
be read is ``Unreadable``, never mistaken for a key the kernel lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Union

from rke2image.kernel import normalize_value
from rke2image.rootfs import UnreadableFile, read_bounded

# The longest value read: /proc/sys files print at most a page (a few, for tables such as
# net.ipv4.ip_local_reserved_ports); anything longer is not a kernel value.
MAX_VALUE_BYTES = 64 * 1024


class Unreadable(NamedTuple):
    """The key is there, but its value could not be read (permission, not a regular file,
    too long, an I/O error): say why, and never advise loading a module."""

    reason: str


# The value, why it is unknown, or None: the key is absent. Union, not |: evaluated on 3.9.
Live = Union[str, Unreadable, None]


def proc_path(proc_sys: Path, key: str) -> Path:
    """``net.ipv4.conf.eth0/100.rp_filter`` → PROC_SYS/net/ipv4/conf/eth0.100/rp_filter."""
    return proc_sys.joinpath(*key.translate(str.maketrans("./", "/.")).split("/"))


def read_live(proc_sys: Path, key: str) -> Live:
    """The value as the kernel prints it (fields joined by one tab); None when absent."""
    path = proc_path(proc_sys, key)
    try:
        data = read_bounded(path, str(path), MAX_VALUE_BYTES, follow=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnreadableFile as error:
        return Unreadable(error.reason)
    except OSError as error:  # EIO, EINVAL: some /proc/sys files refuse a read
        return Unreadable(f"cannot read: {error.strerror or error}")
    return normalize_value(data.decode("utf-8", errors="replace"))


def active_swaps(proc_sys: Path) -> list[str]:
    """Swap devices in use (``/proc/swaps`` next to ``/proc/sys``); [] when none or unknown."""
    swaps = proc_sys.parent / "swaps"
    try:
        lines = read_bounded(swaps, str(swaps), MAX_VALUE_BYTES * 16, follow=True).decode(
            "utf-8", errors="replace"
        )
    except OSError:
        return []
    return [line.split()[0] for line in lines.splitlines()[1:] if line.split()]
