"""The sysctl.d entries each tool lists, in its order, and what it finds opening each.

systemd's conf_files_list() (src/basic/conf-files.c) and procps's PreloadSystem()
(src/sysctl.c): the folders in a fixed order, one list by file name, the first folder
holding a name masking that name in the later ones, whatever the entry's type (a folder,
a dangling link, a loop and a link to /dev/null included). systemd skips names starting
with a dot; procps takes any name ending in ``.conf`` and reads /etc/sysctl.conf last.
"""

from __future__ import annotations

import os
import stat
from typing import Literal, NamedTuple

from rke2image.errors import InputError
from rke2image.rootfs import RootFS
from rke2image.sysctltools import ToolVersion

Tool = Literal["systemd", "procps"]

SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"  # procps applies it last


class ConfFile(NamedTuple):
    """One entry a tool lists, in the order it reads them."""

    path: str  # node path as listed: folder + name
    target: str  # node path after links
    masked: bool  # a link to /dev/null: read as empty
    missing: bool  # nothing readable (dangling link, loop, folder): skipped, still masks
    shadows: tuple[str, ...] = ()  # same-named entries in later folders that it masks
    kind: str = "file"  # file, null, missing, loop, dir, blocks, unreadable


def list_files(fs: RootFS, tool: Tool, version: ToolVersion | None = None) -> list[ConfFile]:
    """The entries ``tool`` reads, in its order, with masked and shadowed ones marked."""
    chosen: dict[str, str] = {}
    shadowed: dict[str, list[str]] = {}
    seen_dirs: set[str] = set()
    split_usr = tool == "procps" or ((version.major if version else None) or 252) < 255
    for folder in SYSCTL_DIRS:
        if folder == "/lib/sysctl.d" and not split_usr:
            continue
        try:
            real = fs.resolve(folder).node_path
            names = fs.listdir(folder)
        except InputError:
            continue
        if real in seen_dirs:
            continue  # /lib -> usr/lib on merged-usr: one folder, read once
        seen_dirs.add(real)
        for name in names:
            if not _wanted(name, tool):
                continue
            path = f"{folder}/{name}"
            if name in chosen:
                shadowed.setdefault(name, []).append(path)
            else:
                chosen[name] = path
    files = [
        _entry(fs, path)._replace(shadows=tuple(shadowed.get(name, ())))
        for name, path in sorted(
            chosen.items(), key=lambda item: item[0].encode("utf-8", "surrogateescape")
        )
    ]
    if tool == "procps":
        conf = _entry(fs, SYSCTL_CONF)
        if conf.kind == "file":  # stat() and S_ISREG, after links
            files.append(conf)
    return files


def _wanted(name: str, tool: Tool) -> bool:
    if tool == "systemd":
        return name.endswith(".conf") and not name.startswith(".")
    return len(name) >= 5 and name.endswith(".conf")


def _entry(fs: RootFS, path: str) -> ConfFile:
    """The entry at ``path`` and what a tool finds when it opens it."""
    try:
        resolved = fs.resolve(path)
    except InputError:  # a link loop: open() fails with ELOOP, the name still masks
        return ConfFile(path, path, False, True, kind="loop")
    if resolved.is_dev_null:
        return ConfFile(path, resolved.node_path, True, False, kind="null")
    try:
        mode = os.stat(resolved.host_path).st_mode
    except OSError:
        return ConfFile(path, resolved.node_path, False, True, kind="missing")
    if stat.S_ISDIR(mode):
        return ConfFile(path, resolved.node_path, False, True, kind="dir")
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return ConfFile(path, resolved.node_path, False, False, kind="blocks")
    if not stat.S_ISREG(mode):
        return ConfFile(path, resolved.node_path, False, True, kind="unreadable")
    return ConfFile(path, resolved.node_path, False, False)
