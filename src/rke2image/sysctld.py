"""What the next boot writes into /proc/sys: sysctl.d files read as systemd and procps do.

The one reader of sysctl.d files in rke2image. Two tools apply them, in two orders:

- **systemd-sysctl** (at every boot; sysctl.d(5), systemd src/sysctl/sysctl.c and
  src/basic/conf-files.c): every ``*.conf`` (not hidden) in /etc/sysctl.d,
  /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d — and /lib/sysctl.d,
  which Debian's split-usr builds read and which is /usr/lib on merged-usr systems —
  sorted by file name; a same-named file in an earlier folder masks the others, a
  link to /dev/null is an empty file, a dangling link is skipped. An explicit key
  beats any glob (``net.ipv4.conf.*.rp_filter``) whatever their order; ``-key = v``
  ignores a failure to write, and ``-key`` alone keeps globs off that key.
- **procps ``sysctl --system``** (procps-ng src/sysctl.c, PreloadSystem): the same
  folders with /lib/sysctl.d, hidden names included, then /etc/sysctl.conf last. It
  writes line by line, so the last line naming a key wins, glob or not.

Every path resolves inside the root (``rke2image.rootfs``). Files are streamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from typing import Literal, NamedTuple

from rke2image.kernel import normalize_key
from rke2image.rootfs import RootFS

Tool = Literal["systemd", "procps"]
TOOLS: tuple[Tool, ...] = ("systemd", "procps")

SYSCTL_DIRS = (
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
)
SYSCTL_CONF = "/etc/sysctl.conf"  # procps applies it last
_GLOB_CHARS = frozenset("*?[")


class ConfFile(NamedTuple):
    """One file a tool reads, in the order it reads them."""

    path: str  # node path as listed: folder + name
    target: str  # node path after links
    masked: bool  # a link to /dev/null: read as empty
    missing: bool  # a dangling link: skipped, but its name still masks
    shadows: tuple[str, ...] = ()  # same-named files in later folders that it masks


class Assignment(NamedTuple):
    """One ``key = value`` line."""

    key: str  # dotted, as sysctl.d(5) normalizes it; may be a glob
    value: str | None  # None: systemd's bare ``-key``, which keeps globs off the key
    file: str
    line: int
    ignore_failure: bool = False

    @property
    def is_glob(self) -> bool:
        return not _GLOB_CHARS.isdisjoint(self.key)

    def matches(self, key: str) -> bool:
        """Whether this line writes ``key``; a glob matches one path segment per ``*``."""
        if not self.is_glob:
            return self.key == key
        pattern, name = _slash_parts(self.key), _slash_parts(key)
        return len(pattern) == len(name) and all(map(fnmatchcase, name, pattern))


class SyntaxProblem(NamedTuple):
    file: str
    line: int
    message: str


class Outcome(NamedTuple):
    """What one tool leaves in a key: the winning line and the lines it overrides."""

    value: str | None
    winner: Assignment | None
    overridden: tuple[Assignment, ...]


class BootPlan(NamedTuple):
    """Everything one tool reads from a root, in order."""

    tool: Tool
    files: tuple[ConfFile, ...]
    assignments: tuple[Assignment, ...]
    problems: tuple[SyntaxProblem, ...]

    def outcome(self, key: str) -> Outcome:
        """The value this tool writes into ``key`` (dotted form), and who set it."""
        key = normalize_key(key)
        lines = [a for a in self.assignments if a.value is not None and a.matches(key)]
        if self.tool == "systemd":
            exact = [a for a in lines if not a.is_glob]
            excluded = any(a.value is None and a.key == key for a in self.assignments)
            if exact:
                winner: Assignment | None = exact[-1]
            elif excluded:
                winner = None
            else:
                winner = lines[-1] if lines else None
        else:
            winner = lines[-1] if lines else None
        overridden = tuple(a for a in lines if a is not winner)
        return Outcome(winner.value if winner else None, winner, overridden)


def list_files(fs: RootFS, tool: Tool) -> list[ConfFile]:
    """The files ``tool`` reads, in its order, with masked and shadowed ones marked."""
    chosen: dict[str, ConfFile] = {}
    shadowed: dict[str, list[str]] = {}
    for folder in SYSCTL_DIRS:
        if fs.resolve(folder).node_path in {fs.resolve(d).node_path for d in _before(folder)}:
            continue  # /lib -> usr/lib on merged-usr: one folder, read once
        for name in fs.listdir(folder):
            if not name.endswith(".conf") or (tool == "systemd" and name.startswith(".")):
                continue
            path = f"{folder}/{name}"
            if fs.is_dir(path):
                continue
            if name in chosen:
                shadowed.setdefault(name, []).append(path)
                continue
            resolved = fs.resolve(path)
            missing = not resolved.is_dev_null and not fs.is_file(path)
            chosen[name] = ConfFile(path, resolved.node_path, resolved.is_dev_null, missing)
    files = [
        ConfFile(f.path, f.target, f.masked, f.missing, tuple(shadowed.get(name, ())))
        for name, f in sorted(chosen.items())
    ]
    if tool == "procps" and fs.is_file(SYSCTL_CONF):
        resolved = fs.resolve(SYSCTL_CONF)
        files.append(ConfFile(SYSCTL_CONF, resolved.node_path, resolved.is_dev_null, False))
    return files


def parse_lines(
    lines: Iterable[str], file: str, tool: Tool
) -> Iterator[Assignment | SyntaxProblem]:
    """The assignments of one file, and a problem for each line a tool would reject."""
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text[0] in "#;" or (tool == "procps" and len(text) < 2):
            continue
        ignore = text.startswith("-")
        if ignore:
            text = text[1:]
        name, equals, value = text.partition("=")
        name = name.strip()
        if not equals:
            if ignore and tool == "systemd" and name:
                yield Assignment(_key(name), None, file, number, True)
            else:
                yield SyntaxProblem(file, number, f"line is not an assignment: {raw.strip()!r}")
            continue
        if not name or (tool == "procps" and not value.strip()):
            yield SyntaxProblem(file, number, f"invalid syntax: {raw.strip()!r}")
            continue
        yield Assignment(_key(name), value.strip(), file, number, ignore)


def read_plan(fs: RootFS, tool: Tool) -> BootPlan:
    """Read every file ``tool`` would apply at boot (or at ``sysctl --system``)."""
    files = list_files(fs, tool)
    assignments: list[Assignment] = []
    problems: list[SyntaxProblem] = []
    for conf in files:
        if conf.missing or conf.masked:
            continue
        with fs.open_text(conf.path) as handle:
            for item in parse_lines(handle, conf.path, tool):
                if isinstance(item, Assignment):
                    assignments.append(item)
                else:
                    problems.append(item)
    return BootPlan(tool, tuple(files), tuple(assignments), tuple(problems))


def _key(name: str) -> str:
    return normalize_key(name.strip().lstrip("/"))


def _slash_parts(dotted: str) -> list[str]:
    """``net.ipv4.conf.eth0/100.rp_filter`` → the /proc/sys path segments."""
    return dotted.translate(str.maketrans("./", "/.")).split("/")


def _before(folder: str) -> tuple[str, ...]:
    return SYSCTL_DIRS[: SYSCTL_DIRS.index(folder)]
