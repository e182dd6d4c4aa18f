"""``protectKernelDefaults`` in the kubelet configuration RKE2 generates
(``paths.KUBELET_CONF_DIR``): what the kubelet RKE2 last started runs with.

kubelet --config-dir (kubernetes cmd/kubelet/app/server.go mergeKubeletConfigurations)
walks the folder with filepath.WalkDir (lexical order, into sub-folders, not through
links to folders) and merges every ``*.conf`` file as a JSON merge patch, so the last file
that names a field decides it. The files are YAML KubeletConfiguration documents; RKE2
writes 00-rke2-defaults.conf with mode 0600, so without root the audit cannot read it.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from rke2image import paths
from rke2image.audit.nodefile import ABSENT, read_node_text, reason
from rke2image.audit.nodeyaml import YamlRefused, compose_bounded, construct
from rke2image.audit.rke2files import Setting
from rke2image.errors import InputError
from rke2image.rootfs import RootFS

FIELD = "protectKernelDefaults"
_MAX_FILES = 1000


class KubeletReading(NamedTuple):
    protect: Setting | None  # the field's winning value, file and line
    unreadable: list[tuple[str, str]]


def read_kubelet_conf(fs: RootFS) -> KubeletReading:
    unreadable: list[tuple[str, str]] = []
    protect = None
    for path in _walk(fs, paths.KUBELET_CONF_DIR, unreadable):
        found = _field(fs, path, unreadable)
        if found is not None:
            protect = found
    return KubeletReading(protect, unreadable)


def _walk(fs: RootFS, folder: str, unreadable: list[tuple[str, str]]) -> list[str]:
    """The *.conf files under ``folder`` in WalkDir's order (bounded): sorting the paths
    by their components is WalkDir's lexical, depth-first order."""
    found: list[str] = []
    todo = [folder]
    while todo and len(found) < _MAX_FILES:
        current = todo.pop()
        try:
            entries = list(os.scandir(fs.resolve(current).host_path))
        except (FileNotFoundError, NotADirectoryError, InputError):
            continue
        except OSError as error:
            unreadable.append((current, reason(error)))
            continue
        for entry in entries:
            path = f"{current}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                todo.append(path)
            elif os.path.splitext(entry.name)[1] == ".conf":
                found.append(path)
    return sorted(found, key=lambda p: p.split("/"))


def _field(fs: RootFS, path: str, unreadable: list[tuple[str, str]]) -> Setting | None:
    import yaml

    read = read_node_text(fs, path)
    if read.text is None:
        if read.problem != ABSENT:
            unreadable.append((path, read.problem or ""))
        return None
    try:
        node = compose_bounded(read.text)
    except (YamlRefused, yaml.YAMLError) as error:
        unreadable.append((path, str(error).replace("\n", " ")))
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == FIELD:
            return Setting(construct(value_node), path, key_node.start_mark.line + 1)
    return None
