"""What the next boot writes into /proc/sys: sysctl.d files read as systemd and procps do.

The one reader of sysctl.d files in rke2image, for two tools in three semantics:

- **systemd-sysctl** (every boot; src/sysctl/sysctl.c): every ``*.conf`` not starting
  with a dot in /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d
  (and /lib/sysctl.d on split-usr builds before v255), one order by file name; an entry of
  any type masks the same name in later folders. Lines go into an ordered map by
  normalised key: a later different value (a bare ``-key`` included) replaces the entry
  and moves it last. Then each entry is written in map order; a glob writes every match
  the map does not name.
- **procps 4.x** ``sysctl --system``: the same folders, hidden names too, then
  /etc/sysctl.conf; every line is kept in a list, then written in order, and a glob skips
  any path a line spells exactly as glob(3) returns it (a bare ``-key`` included),
  whatever the order.
- **procps 3.3**: the same files, each line written as it is read, no glob expansion.

A FIFO or device among the files blocks the tool: systemd and procps 4 then write
nothing; procps 3.3 what came before. Every path resolves inside the root, every file
is read bounded (``rke2image.sysctlread``); the files are listed by ``sysctlfiles``, lines
parsed by ``sysctlparse``, keys turned into paths by ``sysctlkeys``.
"""

from __future__ import annotations

from typing import NamedTuple

from rke2image.kernel import normalize_key
from rke2image.rootfs import RootFS
from rke2image.sysctlfiles import SYSCTL_CONF, SYSCTL_DIRS, ConfFile, Tool, list_files
from rke2image.sysctlkeys import TOP_DIRS, glob_matches, glob_result, is_glob, key_parts, walk
from rke2image.sysctlparse import (
    Assignment,
    SyntaxProblem,
    procps3_parse,
    procps4_parse,
    systemd_parse,
)
from rke2image.sysctlread import read_bounded
from rke2image.sysctltools import ToolVersion, procps_version, systemd_version

TOOLS: tuple[Tool, ...] = ("systemd", "procps")
__all__ = [
    "SYSCTL_CONF",
    "SYSCTL_DIRS",
    "Assignment",
    "BootPlan",
    "ConfFile",
    "Resolution",
    "SyntaxProblem",
    "Tool",
    "list_files",
    "read_plan",
]

_DEPRECATED = ("base_reachable_time", "retrans_time")  # procps 3.3 skips these names


class Resolution(NamedTuple):
    """How one tool resolves a key: the value it leaves, the winning line and the other
    lines naming it."""

    value: str | None
    winner: Assignment | None
    overridden: tuple[Assignment, ...]


class BootPlan(NamedTuple):
    """Everything one tool reads from a root, in order."""

    tool: Tool
    files: tuple[ConfFile, ...]
    assignments: tuple[Assignment, ...]
    problems: tuple[SyntaxProblem, ...]
    version: ToolVersion = ToolVersion("", None, None)
    blocked_at: int | None = None  # assignments before this index were read; then it hung

    def resolve(self, key: str) -> Resolution:
        """The value this tool writes into ``key`` (dotted form), and who set it."""
        return self.resolve_at(key_parts(normalize_key(key)))

    def resolve_at(self, parts: tuple[str, ...]) -> Resolution:
        """The same for the key file at /proc/sys/``parts``."""
        naming = [a for a in self.assignments if self._names(a, parts)]
        if self.tool == "systemd":
            writes = self._systemd_writes(parts)
        elif (self.version.major or 4) >= 4:
            writes = self._procps4_writes(parts)
        else:
            writes = self._procps3_writes(parts)
        winner = writes[-1] if writes else None
        overridden = tuple(a for a in naming if a is not winner and a.value is not None)
        return Resolution(winner.value if winner else None, winner, overridden)

    def _names(self, a: Assignment, parts: tuple[str, ...]) -> bool:
        if is_glob(a.key):
            return glob_matches(a.key, parts)
        return self._target(a.key, parts) == parts

    def _target(self, key: str, parts: tuple[str, ...]) -> tuple[str, ...] | None:
        """The key file a literal key writes, as far as the audit knows the tree around
        ``parts``; systemd 252+ refuses a ``..`` part outright (EINVAL)."""
        if self.tool == "systemd" and (self.version.major or 252) >= 252 and ".." in key.split("/"):
            return None
        return walk(key, lambda folder: folder == parts[: len(folder)] or folder in TOP_DIRS)

    def _systemd_writes(self, parts: tuple[str, ...]) -> list[Assignment]:
        if self.blocked_at is not None:
            return []
        options: dict[str, Assignment] = {}
        for a in self.assignments:
            existing = options.get(a.key)
            if existing is not None:
                if existing.value == a.value:
                    continue
                del options[a.key]
            options[a.key] = a
        plain = "/".join(parts)
        writes = []
        for a in options.values():
            if a.value is None:
                continue
            if is_glob(a.key):
                if plain not in options and glob_matches(a.key, parts):
                    writes.append(a)
            elif self._target(a.key, parts) == parts:
                writes.append(a)
        return writes

    def _procps4_writes(self, parts: tuple[str, ...]) -> list[Assignment]:
        if self.blocked_at is not None:
            return []
        named = {a.key for a in self.assignments}
        writes = []
        for a in self.assignments:
            if a.value is None:
                continue
            if is_glob(a.key):
                found = glob_result(a.key, parts)  # settinglist_findpath() compares strings
                if found is not None and found not in named:
                    writes.append(a)
            elif self._target(a.key, parts) == parts:
                writes.append(a)
        return writes

    def _procps3_writes(self, parts: tuple[str, ...]) -> list[Assignment]:
        read = self.assignments[: self.blocked_at]
        return [a for a in read if self._target(a.key, parts) == parts and not _deprecated(a.key)]


def _deprecated(path: str) -> bool:
    """procps 3.3 WriteSetting(): the name's last dotted part is a deprecated one."""
    dotted = path.translate(str.maketrans("./", "/."))
    return dotted.rsplit(".", 1)[-1] in _DEPRECATED and "." in dotted


def read_plan(fs: RootFS, tool: Tool, version: ToolVersion | None = None) -> BootPlan:
    """Read every file ``tool`` would apply at boot (or at ``sysctl --system``); the
    tool's version comes from the root unless given."""
    if version is None:
        version = systemd_version(fs) if tool == "systemd" else procps_version(fs)
    files = list_files(fs, tool, version)
    assignments: list[Assignment] = []
    problems: list[SyntaxProblem] = []
    blocked_at = None
    for conf in files:
        if conf.kind == "loop":
            problems.append(
                SyntaxProblem(
                    conf.path,
                    None,
                    f"{conf.path} is a link loop: {_name(tool)} skips it (its name still "
                    "masks the same name in later folders)",
                )
            )
        if conf.kind == "blocks":
            problems.append(
                SyntaxProblem(
                    conf.path,
                    None,
                    f"{conf.target} is a FIFO or device: {_name(tool)} blocks "
                    "reading it and never finishes, so it applies nothing at all",
                )
            )
            blocked_at = len(assignments)
            break
        if conf.kind != "file":
            continue
        content = read_bounded(str(fs.resolve(conf.path).host_path))
        if content.kind == "truncated":
            problems.append(
                SyntaxProblem(conf.path, None, f"{content.detail}: the audit read only the start")
            )
        if tool == "systemd":
            parsed = systemd_parse(content.data, conf.path)
        elif (version.major or 4) >= 4:
            parsed = procps4_parse(content.data, conf.path)
        else:
            parsed = procps3_parse(content.data, conf.path)
        for item in parsed:
            (assignments if isinstance(item, Assignment) else problems).append(item)  # type: ignore[arg-type]
    return BootPlan(tool, tuple(files), tuple(assignments), tuple(problems), version, blocked_at)


def _name(tool: Tool) -> str:
    return "systemd-sysctl" if tool == "systemd" else "sysctl --system"
