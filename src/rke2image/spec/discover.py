"""Turn the PATH arguments of a command into the spec files to check.

A named file is always checked. A folder is searched for ``*.yaml``/``*.yml``
files whose parsed top-level ``apiVersion`` is ``rke2image/...``; other YAML (CI
configs, Helm values, a workflow whose heredoc mentions rke2image) is left alone.
A folder or file that cannot be read is an error, never a silent skip.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

import yaml

from rke2image.errors import InputError
from rke2image.spec.check import display_name
from rke2image.spec.yamlload import MAX_BYTES, MERGE_TAG, Composer, TooDeep

API_PREFIX = "rke2image/"
SUFFIXES = (".yaml", ".yml")
# Only for text that is not YAML at all (a broken spec still claims to be ours by
# its first-column apiVersion line, and is then checked and reported, not skipped).
_MARKER_LINE = re.compile(rb"^[\"']?apiVersion[\"']?[ \t]*:[ \t]*[\"']?rke2image/", re.MULTILINE)


def is_spec_text(raw: bytes) -> bool:
    """True when a document's top-level ``apiVersion`` is an rke2image one."""
    if len(raw) > MAX_BYTES:
        return _MARKER_LINE.search(raw[: MAX_BYTES + 1]) is not None
    try:
        roots = list(yaml.compose_all(raw.decode("utf-8-sig"), Loader=Composer))
    except (UnicodeDecodeError, yaml.YAMLError, TooDeep):
        return _MARKER_LINE.search(raw) is not None
    return any(_declares_spec(root, set()) for root in roots)


def _declares_spec(node: yaml.Node | None, seen: set[int]) -> bool:
    """The mapping's own ``apiVersion`` key, or one it merges in with ``<<``."""
    if not isinstance(node, yaml.MappingNode) or id(node) in seen:
        return False
    seen.add(id(node))
    for key, value in node.value:
        if key.tag == MERGE_TAG:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            if any(_declares_spec(source, seen) for source in sources):
                return True
        elif isinstance(key, yaml.ScalarNode) and key.value == "apiVersion":
            return isinstance(value, yaml.ScalarNode) and value.value.startswith(API_PREFIX)
    return False


def looks_like_spec(path: Path) -> bool:
    """Read ``path`` (a regular file) and tell whether it is an rke2image spec."""
    try:
        with path.open("rb") as handle:
            return is_spec_text(handle.read(MAX_BYTES + 1))
    except OSError:
        return True  # let the checker report why it cannot be read


def _is_regular(path: Path) -> bool:
    """A regular file (or a link to one): never open a FIFO or device, it can block."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return True  # missing or unreadable: the checker says which


def _walk(folder: Path) -> list[Path]:
    """Every YAML file under ``folder``, sorted; an unreadable folder is an error."""

    def fail(error: OSError) -> None:
        where = display_name(Path(error.filename or folder))
        raise InputError(f"{where}: cannot read folder: {error.strerror}")

    found = []
    for root, dirs, files in os.walk(folder, onerror=fail):
        dirs.sort()
        found += [Path(root, name) for name in files if name.lower().endswith(SUFFIXES)]
    return sorted(found)


def spec_files(paths: Sequence[Path], only_specs: bool = False) -> list[Path]:
    """Files to check, in a stable order, each once.

    ``only_specs`` also skips named files that are not specs (what a pre-commit
    hook wants when it is handed every changed YAML file).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in _walk(path) if _is_regular(p) and looks_like_spec(p))
        elif path.exists() or path.is_symlink():
            if not _is_regular(path):
                raise InputError(
                    f"{display_name(path)}: not a regular file (a pipe or device would block)"
                )
            if not only_specs or looks_like_spec(path):
                found.append(path)
        else:
            raise InputError(f"{display_name(path)}: no such file or folder")
    unique = list(dict.fromkeys(found))
    if not unique and not only_specs:
        shown = ", ".join(display_name(p) for p in paths)
        raise InputError(f"no rke2image/v1 spec found in {shown}")
    return unique
