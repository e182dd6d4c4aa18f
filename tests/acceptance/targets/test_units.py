"""The drop-in each target writes applies to RKE2's unit where that target's OS installs it,
and points at a preflight that is there: ``systemd-analyze verify --root``.

EIB (and RKE2's install.sh wherever /usr/local is read-only) installs RKE2 under
/opt/rke2: install.sh rewrites /usr/local to /opt/rke2 in the units
(``EnvironmentFile=-/opt/rke2/lib/systemd/system/%N.env``, ``ExecStart=/opt/rke2/bin/rke2``)
and moves them to /etc/systemd/system (rke2 install.sh, ``unpack_tarball``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from acceptance.targets.support import render, write_spec
from helpers import require_tool
from rke2image import paths

# systemd-analyze verify --root: systemd 247 has --root for cat-config only.
pytestmark = pytest.mark.host_tools

HOST_UNITS = Path("/usr/lib/systemd/system")
OPT_RKE2_UNIT = """\
[Unit]
Description=Rancher Kubernetes Engine v2 (server)
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/opt/rke2/lib/systemd/system/%N.env
KillMode=process
Delegate=yes
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStart=/opt/rke2/bin/rke2 server
"""


def opt_rke2_root(tmp_path: Path) -> Path:
    """An offline root with the host's unit files and RKE2's server unit as install.sh
    leaves it with the /opt/rke2 prefix."""
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    unit = root / "etc/systemd/system/rke2-server.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(OPT_RKE2_UNIT)
    for program in ("opt/rke2/bin/rke2", "usr/sbin/modprobe"):
        (root / program).parent.mkdir(parents=True, exist_ok=True)
        (root / program).write_text("#!/bin/sh\n")
        (root / program).chmod(0o755)
    (root / "sbin").symlink_to("usr/sbin")
    return root


def lay(root: Path, source: Path) -> None:
    for file in source.rglob("*"):
        if file.is_file():
            target = root / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
            target.chmod(file.stat().st_mode & 0o777)


@pytest.mark.parametrize(
    ("os_name", "target"),
    [("slmicro-6.1", "eib"), ("flatcar-4081.2.0", "ignition")],
    ids=["eib", "flatcar"],
)
def test_the_drop_in_applies_to_rke2_installed_under_opt(
    tmp_path: Path, os_name: str, target: str
) -> None:
    """Laid out as the target lays it: eib/os-files/, or rootfs/ (what Ignition writes, as
    test_ignition.py shows). The debug log names every drop-in systemd loads."""
    analyze = require_tool("systemd-analyze")
    node = render(write_spec(tmp_path, "cp-1", "server", os_name), tmp_path / "out", target)
    root = opt_rke2_root(tmp_path)
    lay(root, node / ("eib/os-files" if target == "eib" else "rootfs"))
    done = subprocess.run(
        [analyze, "verify", f"--root={root}", "rke2-server.service"],
        capture_output=True, text=True, check=False,
        env={"SYSTEMD_LOG_LEVEL": "debug", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert paths.dropin_path("server").rsplit("/", 1)[1] in done.stdout + done.stderr
    dropin = (root / paths.dropin_path("server").lstrip("/")).read_text()
    (preflight,) = [
        line.split("=", 1)[1].split()[0]
        for line in dropin.splitlines()
        if line.startswith("ExecStartPre=")
    ]
    assert (root / preflight.lstrip("/")).stat().st_mode & 0o111
