"""Run driver.py for one Debian root in a private mount namespace, and guard the host."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Union

HERE = Path(__file__).resolve().parent
HOST_PROC_SYS = Path("/proc/sys")


class Link(NamedTuple):
    target: str


class Dir(NamedTuple):
    pass


class Fifo(NamedTuple):
    pass


class Sparse(NamedTuple):
    """A file of ``size`` bytes: ``head`` then a hole (reads as NUL bytes)."""

    head: bytes
    size: int


Entry = Union[str, bytes, Link, Dir, Fifo, Sparse]


class Fixture(NamedTuple):
    name: str
    files: Mapping[str, Entry]
    keys: tuple[str, ...] = ()  # more /proc/sys paths (slash form) than the common tree
    keep_stock: bool = False  # keep the Debian root's own sysctl.d files and sysctl.conf
    tools: tuple[str, ...] = ("systemd", "procps")  # procps blocks forever on a FIFO


def _entry(path: str, entry: Entry) -> dict[str, Any]:
    if isinstance(entry, str):
        entry = entry.encode("utf-8")
    if isinstance(entry, bytes):
        return {"path": path, "kind": "file", "data": base64.b64encode(entry).decode()}
    if isinstance(entry, Link):
        return {"path": path, "kind": "link", "target": entry.target}
    if isinstance(entry, Dir):
        return {"path": path, "kind": "dir"}
    if isinstance(entry, Fifo):
        return {"path": path, "kind": "fifo"}
    return {
        "path": path,
        "kind": "sparse",
        "data": base64.b64encode(entry.head).decode(),
        "size": entry.size,
    }


def host_values(keys: Iterable[str]) -> dict[str, str]:
    """The host's own values of ``keys`` (read only), to prove the run changed none."""
    values = {}
    for key in sorted(set(keys)):
        try:
            values[key] = (HOST_PROC_SYS / key).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            values[key] = f"<{error.strerror}>"
    return values


def run_suite(
    debian_root: Path, fixtures: list[Fixture], common_keys: tuple[str, ...], work: Path
) -> dict[str, Any]:
    """Every fixture through the real tools of ``debian_root`` and through the audit."""
    payload = [
        {
            "name": f.name,
            "keep_stock": f.keep_stock,
            "tools": list(f.tools),
            "keys": sorted(set(common_keys) | set(f.keys)),
            "entries": [_entry(path, entry) for path, entry in f.files.items()],
        }
        for f in fixtures
    ]
    given, out = work / "fixtures.json", work / "results.json"
    given.write_text(json.dumps(payload), encoding="utf-8")
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            sys.executable,
            str(HERE / "driver.py"),
            str(debian_root),
            str(given),
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        # the driver refuses to mount anything in the namespace it was started from
        env={**os.environ, "ORACLE_PARENT_MNT_NS": os.readlink("/proc/self/ns/mnt")},
    )
    if result.returncode != 0:
        raise RuntimeError(f"driver.py failed ({result.returncode}):\n{result.stderr[-4000:]}")
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return results
