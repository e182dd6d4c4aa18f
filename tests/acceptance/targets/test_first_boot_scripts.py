"""Combustion and EIB: each rendered script runs with bash in a chroot of a Debian root,
as Combustion runs it at first boot, and the audit of the result is compliant.

Combustion copies its config to /dev/shm/combustion/config and runs ``cd CONFIG;
./script`` inside the new snapshot; EIB's own script 19-copy-os-files.sh runs
``cp -R ./os-files/* /`` from that folder, then the custom scripts in name order.
Here a copy of the cached Debian root stands in for the snapshot (SLE Micro itself,
and EIB's build, cannot run here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from acceptance.targets.support import (
    assert_files_in_place,
    audit_compliant,
    copied_debian_root,
    needs_root,
    render,
    run_in_chroot,
    write_spec,
)
from helpers import EXAMPLES
from rke2image import paths
from rke2image.render.targets import eib

# Scripts run in chroots of a cached Debian root: this machine itself, not a lane.
pytestmark = pytest.mark.host

CONFIG = "/dev/shm/combustion/config"


def lay_config(root: Path, source: Path) -> Path:
    """Copy a config folder where Combustion puts it, inside the root."""
    config = root / CONFIG.lstrip("/")
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(source, config, symlinks=True)
    return config


@pytest.mark.parametrize(
    ("role", "os_name"), [("server", "slmicro-6.1"), ("agent", "microos-20241201")]
)
def test_the_combustion_script_writes_the_node_and_the_audit_is_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str, os_name: str
) -> None:
    needs_root()
    node = render(write_spec(tmp_path, f"n-{role}", role, os_name), tmp_path / "out")
    root = copied_debian_root(tmp_path)
    lay_config(root, node / "combustion")
    for _ in range(2):  # a second run (a retried first boot) changes nothing and succeeds
        done = run_in_chroot(root, CONFIG, "script")
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert_files_in_place(root, node, {})
    passwd = (root / "etc/passwd").read_text()
    assert (passwd.count("\netcd:") == 1) is (role == "server")
    audit_compliant(capsys, root, tmp_path, role)


def test_the_combustion_script_writes_usr_local_into_its_own_mount(tmp_path: Path) -> None:
    """SLE Micro keeps /usr/local in a subvolume of its own that the transactional-update
    shell leaves unmounted: the script mounts it from /etc/fstab first. A bind mount
    stands in for the subvolume here."""
    needs_root()
    node = render(write_spec(tmp_path, "cp-1", "server", "slmicro-6.1"), tmp_path / "out")
    root = copied_debian_root(tmp_path)
    (root / "srv/usrlocal").mkdir(parents=True)
    (root / "etc/fstab").write_text("/srv/usrlocal /usr/local none bind 0 0\n")
    lay_config(root, node / "combustion")
    done = run_in_chroot(root, CONFIG, "script")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
    in_subvolume = root / "srv/usrlocal" / paths.PREFLIGHT[len("/usr/local/") :]
    assert in_subvolume.is_file() and in_subvolume.stat().st_mode & 0o777 == 0o755
    assert not (root / paths.PREFLIGHT.lstrip("/")).exists()  # not under the bare mount point


def test_the_eib_tree_laid_on_a_root_and_its_script_give_a_compliant_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_root()
    node = render(EXAMPLES / "slemicro.yaml", tmp_path / "out", "eib")
    root = copied_debian_root(tmp_path)
    config = lay_config(root, node / "eib")
    # EIB's 19-copy-os-files.sh, and the part of its 20-k8s-install.sh that writes
    # config.yaml from kubernetes/config/server.yaml (EIB owns that file: rke2image's
    # settings are in config.yaml.d and must survive it).
    steps = {
        "19-copy-os-files.sh": "cp -R ./os-files/* /",
        "20-k8s-install.sh": "mkdir -p /etc/rancher/rke2\n"
        "echo 'cni: cilium' >/etc/rancher/rke2/config.yaml",
    }
    for script, body in steps.items():
        (config / script).write_text(f"#!/bin/bash\nset -euo pipefail\n{body}\n")
        (config / script).chmod(0o755)
    shutil.copy2(config / "custom/scripts/50-rke2image.sh", config / "50-rke2image.sh")
    for script in (*steps, "50-rke2image.sh"):
        done = run_in_chroot(root, CONFIG, script)
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert_files_in_place(root, node, {paths.RKE2_CONFIG: eib.RKE2_CONFIG})
    assert "\netcd:" in (root / "etc/passwd").read_text()
    report = audit_compliant(capsys, root, tmp_path, "server")
    assert report["protection"]["on"] is True
