"""An RKE2 unit as systemd merges it: the unit file, then its drop-ins, for the settings
the audit needs (``Environment=``, ``EnvironmentFile=``, ``ExecStart=``, ``ExecStartPre=``).

systemd.unit(5): the first folder of the unit search path holding ``NAME`` is the unit
(a link to /dev/null masks it); drop-ins are every ``NAME.d/*.conf`` of every folder, a
name in an earlier folder masking the same name in a later one, read in name order after
the unit. For these list settings an empty assignment (``ExecStart=``, what a
``systemctl edit`` override writes before its own command line) resets the list.
systemd.exec(5): variables from ``EnvironmentFile=`` override ``Environment=``, and a
later file overrides an earlier one; a ``-`` before the path lets the file be missing.
"""

from __future__ import annotations

import shlex
from typing import NamedTuple

from rke2image import paths, rke2
from rke2image.audit.nodefile import read_node_text
from rke2image.errors import InputError
from rke2image.rootfs import RootFS

_LISTS = ("Environment", "EnvironmentFile", "ExecStart", "ExecStartPre")


class Line(NamedTuple):
    """One setting's value and where it was written."""

    value: str
    file: str
    line: int


class Unit(NamedTuple):
    name: str  # rke2-server.service
    file: str | None  # the unit file, None when the root holds none
    masked: bool
    settings: dict[str, tuple[Line, ...]]  # each of _LISTS
    resets: dict[str, Line]  # the last empty assignment of each list, where one was

    def get(self, name: str) -> tuple[Line, ...]:
        return self.settings.get(name, ())


def read_unit(fs: RootFS, name: str) -> Unit:
    """The unit and its drop-ins in systemd's order, merged."""
    unit_file, masked = _unit_file(fs, name)
    settings: dict[str, list[Line]] = {key: [] for key in _LISTS}
    resets: dict[str, Line] = {}
    for path in ([unit_file] if unit_file and not masked else []) + _dropins(fs, name):
        text = read_node_text(fs, path).text
        for key, line in _service_lines(text or "", path):
            if key not in settings:
                continue
            if line.value:
                settings[key].append(line)
            else:
                settings[key] = []
                resets[key] = line
    return Unit(name, unit_file, masked, {k: tuple(v) for k, v in settings.items()}, resets)


def environment(fs: RootFS, unit: Unit) -> dict[str, Line]:
    """The variables the unit's process gets from Environment= and EnvironmentFile=, each
    with the line that set it. Without a unit file, RKE2's own EnvironmentFile= list
    (``paths.RKE2_ENV_FILES``) stands in."""
    found: dict[str, Line] = {}
    for line in unit.get("Environment"):
        try:
            words = shlex.split(line.value)
        except ValueError:
            continue
        for word in words:
            name, equals, value = word.partition("=")
            if equals and name:
                found[name] = Line(value, line.file, line.line)
    stem = unit.name.rsplit(".", 1)[0]
    if unit.file is None:
        files = [t.format(unit=stem) for t in paths.RKE2_ENV_FILES]
    else:
        files = [_specifiers(x.value.lstrip("-"), unit.name) for x in unit.get("EnvironmentFile")]
    for path in files:
        if path.startswith("/"):
            found.update(read_env_file(fs, path))
    return found


def command_flags(unit: Unit) -> list[tuple[str, str, Line]]:
    """(name, value, line) of each ``--flag`` of the unit's ExecStart= command (the last
    one), as urfave/cli reads them: ``--name=value``, ``--name value``, a single dash too;
    a bare name followed by another flag or nothing is a boolean (``true``)."""
    lines = unit.get("ExecStart")
    if not lines:
        return []
    line = lines[-1]
    try:
        words = shlex.split(line.value.lstrip("-@+!:|"))
    except ValueError:
        return []
    found: list[tuple[str, str, Line]] = []
    i = 1
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("-") or word in ("-", "--"):
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if not equals:
            if i < len(words) and not words[i].startswith("-") and name not in _BOOL_FLAGS:
                value, i = words[i], i + 1
            else:
                value = "true"
        found.append((name, value, line))
    return found


# RKE2 flags that take no value (rke2 pkg/cli/cmds, k3s pkg/cli/cmds: BoolFlag).
_BOOL_FLAGS = frozenset({rke2.PROTECT_KERNEL_DEFAULTS, "debug", "selinux", "rootless"})


def read_env_file(fs: RootFS, path: str) -> dict[str, Line]:
    """``NAME=value`` lines of an environment file (systemd's env-file format: ``#`` and
    ``;`` comments, optional quotes, an ``export`` word is tolerated)."""
    found: dict[str, Line] = {}
    text = read_node_text(fs, path).text or ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if equals and name:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[name] = Line(value, path, number)
    return found


def _unit_file(fs: RootFS, name: str) -> tuple[str | None, bool]:
    for folder in paths.UNIT_DIRS:
        path = f"{folder}/{name}"
        try:
            resolved = fs.resolve(path)
        except InputError:
            continue
        if resolved.is_dev_null:
            return path, True
        if fs.is_file(path):
            return path, False
    return None, False


def _dropins(fs: RootFS, name: str) -> list[str]:
    chosen: dict[str, str] = {}
    for folder in paths.UNIT_DIRS:
        try:
            names = fs.listdir(f"{folder}/{name}.d")
        except InputError:
            continue
        for entry in names:
            if entry.endswith(".conf") and entry not in chosen:
                chosen[entry] = f"{folder}/{name}.d/{entry}"
    return [chosen[n] for n in sorted(chosen)]


def _service_lines(text: str, path: str) -> list[tuple[str, Line]]:
    """(key, Line) of the [Service] section; a trailing backslash continues a line."""
    found: list[tuple[str, Line]] = []
    section = ""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending, start = pending + line[:-1] + " ", start or number
            continue
        line, first = pending + line, start or number
        pending, start = "", 0
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, equals, value = line.partition("=")
        if section == "Service" and equals:
            found.append((key.strip(), Line(value.strip(), path, first)))
    return found


def _specifiers(text: str, unit: str) -> str:
    """%N (unit name without its type), %n (full name) and %% (systemd.unit(5))."""
    stem = unit.rsplit(".", 1)[0]
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            out.append({"N": stem, "n": unit, "%": "%"}.get(text[i + 1], text[i : i + 2]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
