"""The kernel's values now, read from a /proc/sys tree. Read-only: the audit never writes."""

from __future__ import annotations

from pathlib import Path

from rke2image.kernel import normalize_value


def proc_path(proc_sys: Path, key: str) -> Path:
    """``net.ipv4.conf.eth0/100.rp_filter`` → PROC_SYS/net/ipv4/conf/eth0.100/rp_filter."""
    return proc_sys.joinpath(*key.translate(str.maketrans("./", "/.")).split("/"))


def read_live(proc_sys: Path, key: str) -> str | None:
    """The value as the kernel prints it (fields joined by one tab); None when absent."""
    try:
        text = proc_path(proc_sys, key).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except PermissionError:
        return None
    return normalize_value(text)


def active_swaps(proc_sys: Path) -> list[str]:
    """Swap devices in use (``/proc/swaps`` next to ``/proc/sys``); [] when none or unknown."""
    swaps = proc_sys.parent / "swaps"
    try:
        lines = swaps.read_text(encoding="utf-8").splitlines()[1:]
    except OSError:
        return []
    return [line.split()[0] for line in lines if line.split()]
