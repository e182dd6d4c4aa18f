"""Sysctl key spellings as each tool turns them into a /proc/sys path.

- systemd-sysctl: ``sysctl_normalize`` (src/basic/sysctl-util.c): when the first
  separator is a dot, dots and slashes swap; then ``path_simplify`` drops repeated
  slashes, ``.`` parts and a trailing slash (``..`` stays), and a leading slash goes.
  Since v252 a key holding a ``..`` part is refused (EINVAL); v247 lets the kernel walk it.
- procps ``slashdot`` (src/sysctl.c): the same swap when the first separator is a dot,
  without any simplifying; the kernel's path walk then folds ``//`` and ``.``, and
  ``realpath`` must stay under /proc/sys.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

GLOB_CHARS = frozenset("*?[")
_SWAP = str.maketrans("./", "/.")


def swap_from_first_dot(key: str) -> str:
    """Both tools: when the first separator is '.', every '.' and '/' swap."""
    for index, char in enumerate(key):
        if char == "/":
            return key
        if char == ".":
            return key[:index] + key[index:].translate(_SWAP)
    return key


def systemd_normalize(key: str) -> str:
    """``sysctl_normalize``: the hashmap key and the path below /proc/sys systemd writes."""
    path = swap_from_first_dot(key)
    if not path:
        return path
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p and p != "."]
    simple = "/".join(parts)
    if absolute:
        return simple or "/"  # "/" alone keeps its slash; a leading slash otherwise goes
    return simple or "."


def procps_path(key: str) -> str:
    """``slashdot``: the path below /proc/sys procps opens (``/proc/sys/`` + this)."""
    return swap_from_first_dot(key)


# Folders every kernel's /proc/sys has: a ``..`` after one of them resolves.
TOP_DIRS = frozenset(
    (name,) for name in ("abi", "crypto", "debug", "dev", "fs", "kernel", "net", "user", "vm")
)


def walk(path: str, is_dir: Callable[[tuple[str, ...]], bool]) -> tuple[str, ...] | None:
    """The /proc/sys parts the kernel reaches for ``/proc/sys/`` + ``path``, or None when
    the walk fails or leaves /proc/sys (``realpath`` is then not under it).

    The kernel resolves ``x/..`` only when ``x`` exists and is a folder: ``is_dir`` says
    which do (the audit knows the folders above the key it asks about, and TOP_DIRS).
    """
    if path.endswith("/"):
        return None  # stat() of "file/" fails with ENOTDIR: a key file is never reached
    stack = ["proc", "sys"]
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if len(stack) > 2 and not is_dir(tuple(stack[2:])):
                return None
            if stack:
                stack.pop()
            continue
        stack.append(part)
    if len(stack) < 3 or stack[:2] != ["proc", "sys"]:
        return None
    return tuple(stack[2:])


def is_glob(key: str) -> bool:
    return not GLOB_CHARS.isdisjoint(key)


def glob_result(pattern: str, parts: tuple[str, ...]) -> str | None:
    """The path (below /proc/sys) glob(3) returns for the key at ``parts``, or None when
    /proc/sys/``pattern`` does not match it.

    glob(3) keeps the pattern's own spelling around the names it fills in: ``kernel//pan*``
    finds ``kernel//panic``, and procps compares that string, not the key, with the lines
    it read. Each ``*`` or ``?`` stays within one part and never matches a leading dot; an
    empty or ``.`` part stays where it is; a ``..`` part is not followed here.
    """
    pieces = pattern.split("/")
    if pieces[-1] == "" or ".." in pieces:
        return None  # a trailing slash matches folders only
    found: list[str] = []
    depth = 0
    for piece in pieces:
        if piece in ("", "."):
            found.append(piece)
            continue
        if depth >= len(parts):
            return None
        name = parts[depth]
        if name.startswith(".") and not piece.startswith("."):
            return None
        if not fnmatchcase(name, piece):
            return None
        found.append(name)
        depth += 1
    return "/".join(found) if depth == len(parts) else None


def glob_matches(pattern: str, parts: tuple[str, ...]) -> bool:
    """glob(3) of /proc/sys/``pattern`` finds the key at ``parts``."""
    return glob_result(pattern, parts) is not None


def key_parts(dotted: str) -> tuple[str, ...]:
    """The /proc/sys parts of a key in the audit's dotted form (``net.ipv4.conf.eth0/100.x``)."""
    return tuple(dotted.translate(_SWAP).split("/"))
