"""Which systemd-sysctl and which procps ``sysctl`` a root holds: their semantics differ.

The sign is in the binaries themselves, so it holds for Debian, RPM and image roots
alike: procps's ``sysctl`` carries ``procps-ng X.Y.Z`` (its --version text), and
``systemd-sysctl`` links ``libsystemd-shared-NNN.so``. dpkg's status file is the
fallback for procps. Unknown versions read as the current ones (systemd 252+, procps 4).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rke2image.errors import InputError
from rke2image.rootfs import RootFS
from rke2image.sysctlread import read_bounded

PROCPS_BINARIES = ("/usr/sbin/sysctl", "/sbin/sysctl", "/usr/bin/sysctl", "/bin/sysctl")
SYSTEMD_BINARIES = ("/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl")
DPKG_STATUS = "/var/lib/dpkg/status"
_PROCPS = re.compile(rb"procps-ng (\d+\.\d+(?:\.\d+)?)")
_SYSTEMD = re.compile(rb"libsystemd-shared-(\d+)")
_DPKG_PROCPS = re.compile(
    rb"^Package: procps\n(?:[^\n]+\n)*?Version: (?:\d+:)?(\d+\.\d+(?:\.\d+)?)", re.M
)


class ToolVersion(NamedTuple):
    tool: str  # "systemd" or "procps"
    version: str | None  # "252", "3.3.17", "4.0.2"; None: not found
    source: str | None  # the file that told

    @property
    def major(self) -> int | None:
        return int(self.version.split(".")[0]) if self.version else None

    def as_dict(self) -> dict[str, str | None]:
        return {"version": self.version, "source": self.source}


def _search(fs: RootFS, paths: tuple[str, ...], pattern: re.Pattern[bytes]) -> ToolVersion:
    for path in paths:
        try:
            host = str(fs.resolve(path).host_path)
        except InputError:
            continue
        match = pattern.search(read_bounded(host).data)
        if match:
            return ToolVersion("", match.group(1).decode(), path)
    return ToolVersion("", None, None)


def procps_version(fs: RootFS) -> ToolVersion:
    found = _search(fs, PROCPS_BINARIES, _PROCPS)
    if found.version is None:
        found = _search(fs, (DPKG_STATUS,), _DPKG_PROCPS)
    return found._replace(tool="procps")


def systemd_version(fs: RootFS) -> ToolVersion:
    return _search(fs, SYSTEMD_BINARIES, _SYSTEMD)._replace(tool="systemd")
