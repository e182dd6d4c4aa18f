"""RKE2's config file and its ``.d`` folder read as RKE2 reads them, for the few options
the audit needs, each value with its file and line.

k3s pkg/configfilearg/parser.go (``readConfigFile``, ``dotDFiles``), which RKE2's main.go
runs first: the config file (``RKE2_CONFIG_FILE`` or /etc/rancher/rke2/config.yaml; a
missing one is fine), then ``<config>.d/`` entries whose names end in ``.yaml`` or
``.yml`` in any case and that are not folders (a link counts as a file), in name order. A
later file replaces a key; ``key+:`` appends to it. Any entry that cannot be read (a
dangling link, a link loop, a link to a folder) or parsed (not YAML, not a mapping) is a
fatal error: RKE2 does not start. A file this audit may not read (0600 without root) is
different: RKE2 reads it; the audit only does not know what it says.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from rke2image import paths, rke2
from rke2image.audit import catalog
from rke2image.audit.model import Finding
from rke2image.audit.nodefile import ABSENT, DENIED, TOO_LARGE, read_node_text
from rke2image.audit.nodeyaml import YamlRefused, compose_bounded, construct
from rke2image.errors import InputError
from rke2image.rootfs import RootFS

WANTED = frozenset({"profile", rke2.PROTECT_KERNEL_DEFAULTS, rke2.KUBELET_ARG, "node-name"})


class Setting(NamedTuple):
    value: object
    file: str
    line: int


class ConfigReading(NamedTuple):
    settings: dict[str, Setting]  # the merged value of each wanted key but kubelet-arg
    kubelet_args: list[Setting]  # one per item, in the order RKE2 passes them
    findings: list[Finding]
    unreadable: list[tuple[str, str]]  # (file, why): what the audit could not read


def read_config(fs: RootFS, config: str) -> ConfigReading:
    """Merge ``config`` and its ``.d`` folder as RKE2 does."""
    reading = ConfigReading({}, [], [], [])
    for index, path in enumerate(_files(fs, config, reading)):
        for key, setting, append in _read_one(fs, path, reading, optional=index == 0):
            if key == rke2.KUBELET_ARG:
                items = setting.value if isinstance(setting.value, list) else [setting.value]
                new = [Setting(str(v), setting.file, setting.line) for v in items]
                reading.kubelet_args[:] = (reading.kubelet_args if append else []) + new
            else:
                reading.settings[key] = setting
    return reading


def _files(fs: RootFS, config: str, reading: ConfigReading) -> list[str]:
    files = [config]
    folder = config + ".d"
    if "\x00" in folder:
        return files  # read_node_text names the bad path
    try:
        host = fs.resolve(folder).host_path
        entries = sorted(os.scandir(host), key=lambda e: e.name)
    except (FileNotFoundError, InputError):
        return files
    except NotADirectoryError:
        _invalid(reading, folder, None, "not a folder")
        return files
    except PermissionError:
        reading.unreadable.append((folder, DENIED))
        return files
    except OSError as error:
        _invalid(reading, folder, None, error.strerror or str(error))
        return files
    for entry in entries:
        if entry.name.lower().endswith(paths.RKE2_CONFIG_SUFFIXES) and not entry.is_dir(
            follow_symlinks=False
        ):
            files.append(f"{folder}/{entry.name}")
    return files


def _read_one(
    fs: RootFS, path: str, reading: ConfigReading, optional: bool
) -> list[tuple[str, Setting, bool]]:
    """(key, setting, appends) of the wanted keys of one file; ``optional``: the config
    file itself, which may be missing (a dangling link included: RKE2 stats it)."""
    import yaml

    read = read_node_text(fs, path)
    if read.text is None:
        if read.problem == ABSENT and optional:
            return []  # no config.yaml: RKE2 starts with the drop-ins or defaults alone
        if read.problem in (DENIED, TOO_LARGE):
            reading.unreadable.append((path, read.problem or ""))
        else:
            _invalid(reading, path, None, f"cannot be read ({read.problem})")
        return []
    try:
        node = compose_bounded(read.text)
    except YamlRefused as refused:
        if refused.rke2_refuses:
            _invalid(reading, path, refused.line, str(refused))
        else:
            reading.unreadable.append((path, str(refused)))
        return []
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        position = getattr(error, "position", None)  # a ReaderError: a character index
        if mark is not None:
            line: int | None = mark.line + 1
        elif isinstance(position, int):
            line = read.text.count("\n", 0, position) + 1
        else:
            line = None
        _invalid(reading, path, line, f"not valid YAML: {error}".replace("\n", " "))
        return []
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        _invalid(reading, path, node.start_mark.line + 1, "not a mapping of options")
        return []
    found = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        name = str(key_node.value)
        if name.rstrip("+") not in WANTED:
            continue
        value: Any = construct(value_node)
        line = key_node.start_mark.line + 1
        found.append((name.rstrip("+"), Setting(value, path, line), name.endswith("+")))
    return found


def _invalid(reading: ConfigReading, path: str, line: int | None, why: str) -> None:
    reading.findings.append(
        catalog.RKE2_CONFIG_INVALID.finding(
            f"{why}: RKE2 will not start",
            file=path,
            line=line,
            fix=f"fix or remove {path}",
        )
    )
