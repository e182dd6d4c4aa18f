"""What TuneD writes into /proc/sys at boot, after systemd-sysctl: its active profile's
sysctl options, then (``reapply_sysctl``) the system's sysctl files again.

From TuneD's source (redhat-performance/tuned): tuned/consts.py (ACTIVE_PROFILE_FILE
/etc/tuned/active_profile, LOAD_DIRECTORIES /usr/lib/tuned and /etc/tuned, a profile in
/etc/tuned overriding the same name in /usr/lib/tuned; newer releases also read
``profiles/`` below both; GLOBAL_CONFIG_FILE /etc/tuned/tuned-main.conf,
CFG_DEF_REAPPLY_SYSCTL True) and tuned/plugins/plugin_sysctl.py: each option of a
``[sysctl]`` unit (or one with ``type=sysctl``) is written as named (dots become folders,
so only the dotted spelling reaches its key); with reapply_sysctl, it then re-applies
/run/sysctl.d and /etc/sysctl.d (a name in the first masking the second; no
/usr/lib/sysctl.d) in name order and /etc/sysctl.conf last, each line split at its first
``=``, so those files win over the profile. An active_profile may name several profiles
(merged in order); ``include=`` in ``[main]`` merges the named profiles first. TuneD only
runs at boot when tuned.service is enabled.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from rke2image.audit.cmdline import Write
from rke2image.audit.nodefile import read_node_text
from rke2image.errors import InputError
from rke2image.rootfs import RootFS

ACTIVE_PROFILE = "/etc/tuned/active_profile"
MAIN_CONF = "/etc/tuned/tuned-main.conf"
PROFILE_DIRS = (
    "/etc/tuned/profiles",
    "/etc/tuned",
    "/usr/lib/tuned/profiles",
    "/usr/lib/tuned",
)
ENABLED = "/etc/systemd/system/multi-user.target.wants/tuned.service"
REAPPLY_DIRS = ("/run/sysctl.d", "/etc/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_MAX_INCLUDES = 32


class TunedPlan(NamedTuple):
    profile: str | None  # the active profile (None: TuneD does not run at boot)
    writes: list[Write]  # the profile's sysctl options, in order
    reapply: list[Write]  # the system files' lines TuneD writes after them


def read_tuned(fs: RootFS) -> TunedPlan:
    if not os.path.lexists(fs.host(ENABLED)):
        return TunedPlan(None, [], [])
    active = (read_node_text(fs, ACTIVE_PROFILE, limit=4096).text or "").split()
    if not active:
        return TunedPlan(None, [], [])
    options: dict[str, Write] = {}
    has_unit = False
    seen: set[str] = set()
    for name in active:
        has_unit |= _merge(fs, name, options, seen)
    writes = list(options.values())
    reapply = _system_lines(fs) if has_unit and _reapply(fs) else []
    return TunedPlan(" ".join(active), writes, reapply)


def _merge(fs: RootFS, name: str, options: dict[str, Write], seen: set[str]) -> bool:
    """Merge profile ``name`` (its includes first) into ``options``; True when it has a
    sysctl unit."""
    if name in seen or len(seen) >= _MAX_INCLUDES:
        return False
    seen.add(name)
    path = _profile_file(fs, name)
    if path is None:
        return False
    sections = _ini(read_node_text(fs, path).text or "")
    has_unit = False
    for include in sections.get("main", {}).get("include", ("", 0))[0].replace(",", " ").split():
        has_unit |= _merge(fs, include, options, seen)
    for section, values in sections.items():
        kind = values.get("type", (section, 0))[0]
        if kind != "sysctl" or section == "main":
            continue
        has_unit = True
        for key, (value, line) in values.items():
            if key not in ("type", "devices", "enabled", "replace", "priority"):
                options.pop(key, None)
                options[key] = Write(key, value, path, line)
    return has_unit


def _profile_file(fs: RootFS, name: str) -> str | None:
    if "/" in name or "\x00" in name or name in (".", ".."):
        return None
    for folder in PROFILE_DIRS:
        path = f"{folder}/{name}/tuned.conf"
        try:
            if fs.is_file(path):
                return path
        except InputError:
            continue
    return None


def _ini(text: str) -> dict[str, dict[str, tuple[str, int]]]:
    """configobj-style sections: ``[name]`` then ``key=value`` (comments ``#``)."""
    sections: dict[str, dict[str, tuple[str, int]]] = {}
    current: dict[str, tuple[str, int]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
            continue
        key, equals, value = line.partition("=")
        if equals and current is not None:
            current[key.strip()] = (value.strip().strip("\"'"), number)
    return sections


def _reapply(fs: RootFS) -> bool:
    text = read_node_text(fs, MAIN_CONF, limit=65536).text or ""
    value = "1"
    for raw in text.splitlines():
        key, equals, found = raw.partition("=")
        if equals and key.strip() == "reapply_sysctl":
            value = found.strip()
    return value.lower() in _TRUE


def _system_lines(fs: RootFS) -> list[Write]:
    chosen: dict[str, str] = {}
    for folder in REAPPLY_DIRS:
        try:
            names = fs.listdir(folder)
        except InputError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = f"{folder}/{name}"
    writes: list[Write] = []
    for path in [chosen[n] for n in sorted(chosen)] + [SYSCTL_CONF]:
        writes += sysctl_file_lines(read_node_text(fs, path).text or "", path)
    return writes


def sysctl_file_lines(text: str, path: str) -> list[Write]:
    """A sysctl file's lines as TuneD re-applies them: stripped, ``#``/``;`` comments
    skipped, split at the first ``=``."""
    writes: list[Write] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, equals, value = line.partition("=")
        if equals and key.strip():
            writes.append(Write(key.strip(), value.strip(), path, number))
    return writes
