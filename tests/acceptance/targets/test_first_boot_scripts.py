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


def test_the_eib_tree_laid_on_a_root_and_its_script_give_a_compliant_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_root()
    node = render(EXAMPLES / "slemicro.yaml", tmp_path / "out", "eib")
    root = copied_debian_root(tmp_path)
    config = lay_config(root, node / "eib")
    (config / "19-copy-os-files.sh").write_text(
        "#!/bin/bash\nset -euo pipefail\ncp -R ./os-files/* /\n"
    )
    (config / "19-copy-os-files.sh").chmod(0o755)
    shutil.copy2(config / "custom/scripts/50-rke2image.sh", config / "50-rke2image.sh")
    for script in ("19-copy-os-files.sh", "50-rke2image.sh"):
        done = run_in_chroot(root, CONFIG, script)
        assert (done.returncode, done.stderr) == (0, ""), done.stdout
    assert_files_in_place(root, node, {paths.RKE2_CONFIG: eib.RKE2_CONFIG})
    assert not (root / paths.RKE2_CONFIG.lstrip("/")).exists()  # EIB writes that one
    assert "\netcd:" in (root / "etc/passwd").read_text()
    report = audit_compliant(capsys, root, tmp_path, "server")
    assert report["protection"]["on"] is True
