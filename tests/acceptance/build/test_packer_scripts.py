"""The provisioning scripts of packer/scripts, run into a folder under dash and busybox sh."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import REPO
from rke2image import paths
from rke2image.accounts import ETCD
from rke2image.bake.project import install_list
from rke2image.render import write_rootfs
from rke2image.render.cloudconfig import INSTALL_SCRIPT_URL, RKE2_BINARIES
from rke2image.render.files import RenderedFile

SCRIPTS = REPO / "packer" / "scripts"
SHELLS = ("dash", "busybox")
FILES = (
    RenderedFile(paths.SYSCTL_FILE, 0o644, b"vm.overcommit_memory = 1\n"),
    RenderedFile(paths.PREFLIGHT, 0o755, b"#!/bin/sh\nexit 0\n"),
    RenderedFile("/etc/rancher/rke2/example.yaml", 0o600, b"a: 1\n"),
)


def shell_command(require_tool: Callable[[str], str], shell: str) -> list[str]:
    path = require_tool(shell)
    return [path, "sh"] if shell == "busybox" else [path]


def stage(tmp_path: Path, files: tuple[RenderedFile, ...] = FILES) -> tuple[Path, Path]:
    staging, root = tmp_path / "staging", tmp_path / "root"
    write_rootfs(files, staging / "rootfs")
    (staging / "install.list").write_text(install_list(files))
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return staging, root


# What the build passes install-rke2.sh (packer/build.pkr.hcl).
INSTALLER = {"RKE2IMAGE_RKE2_BINARIES": " ".join(RKE2_BINARIES),
             "RKE2IMAGE_RKE2_INSTALLER": INSTALL_SCRIPT_URL}  # fmt: skip


def run(cmd: list[str], script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, str(SCRIPTS / script)],
        env={"PATH": os.environ["PATH"], **INSTALLER, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_scripts_are_shellcheck_clean(require_tool: Callable[[str], str]) -> None:
    shellcheck = require_tool("shellcheck")
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.sh"))
    done = subprocess.run(
        [shellcheck, "-s", "sh", *scripts], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_install_sets_modes_and_creates_etcd_once(
    tmp_path: Path, shell: str, require_tool: Callable[[str], str]
) -> None:
    cmd = shell_command(require_tool, shell)
    staging, root = stage(tmp_path)
    env = {
        "RKE2IMAGE_STAGING": str(staging),
        "RKE2IMAGE_ROOT": str(root),
        **{f"RKE2IMAGE_{k.upper()}": v for k, v in ETCD.build_variables(True).items()},
    }
    for _ in range(2):
        done = run(cmd, "install-rootfs.sh", **env)
        assert done.returncode == 0, done.stderr
    for item in FILES:
        target = root / item.path.lstrip("/")
        assert target.read_bytes() == item.content
        assert target.stat().st_mode & 0o777 == item.mode
    passwd = (root / "etc/passwd").read_text()
    group = (root / "etc/group").read_text()
    assert passwd.count("\netcd:") == 1 and group.count("\netcd:") == 1
    assert f":{ETCD.comment}:/nonexistent:{ETCD.shell}\n" in passwd
    gid = next(line.split(":")[2] for line in group.splitlines() if line.startswith("etcd:"))
    assert any(
        line.split(":")[3] == gid for line in passwd.splitlines() if line.startswith("etcd:")
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_install_refuses_a_file_whose_digest_changed(
    tmp_path: Path, shell: str, require_tool: Callable[[str], str]
) -> None:
    cmd = shell_command(require_tool, shell)
    staging, root = stage(tmp_path)
    (staging / "rootfs" / paths.SYSCTL_FILE.lstrip("/")).write_text("vm.overcommit_memory = 0\n")
    done = run(cmd, "install-rootfs.sh", RKE2IMAGE_STAGING=str(staging), RKE2IMAGE_ROOT=str(root))
    assert done.returncode == 1
    assert f"{paths.SYSCTL_FILE}: sha256" in done.stderr
    assert not (root / paths.SYSCTL_FILE.lstrip("/")).exists()


def test_install_without_etcd_leaves_accounts_alone(
    tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    staging, root = stage(tmp_path)
    before = hashlib.sha256((root / "etc/passwd").read_bytes()).hexdigest()
    done = run(shell_command(require_tool, "dash"), "install-rootfs.sh",
               RKE2IMAGE_STAGING=str(staging), RKE2IMAGE_ROOT=str(root))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256((root / "etc/passwd").read_bytes()).hexdigest() == before


@pytest.mark.parametrize("shell", SHELLS)
def test_clean_removes_per_machine_state(
    tmp_path: Path, shell: str, require_tool: Callable[[str], str]
) -> None:
    cmd = shell_command(require_tool, shell)
    staging, root = stage(tmp_path)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nubuntu:x:1000:1000::/home/ubuntu:/bin/sh\n"
    )
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "var/lib/dbus").mkdir(parents=True)
    (root / "var/lib/dbus/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (root / "etc/ssh").mkdir()
    for name in ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "sshd_config"):
        (root / "etc/ssh" / name).write_text("x\n")
    (root / "var/lib/cloud/instances/i-1").mkdir(parents=True)
    (root / "home/ubuntu/.ssh").mkdir(parents=True)
    (root / "home/ubuntu/.ssh/authorized_keys").write_text("ssh-ed25519 AAAA build\n")
    done = run(cmd, "clean-machine-state.sh", RKE2IMAGE_ROOT=str(root),
               RKE2IMAGE_STAGING=str(staging), RKE2IMAGE_SSH_USER="ubuntu")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (root / "etc/machine-id").read_text() == ""
    assert not (root / "var/lib/dbus/machine-id").exists()
    assert sorted(p.name for p in (root / "etc/ssh").iterdir()) == ["sshd_config"]
    assert not (root / "var/lib/cloud/instances").exists()
    assert not (root / "home/ubuntu/.ssh/authorized_keys").exists()
    assert not staging.exists()


def test_install_list_names_mode_digest_and_path() -> None:
    text = install_list(FILES)
    assert text.splitlines()[0] == (f"0600 {FILES[2].sha256} /etc/rancher/rke2/example.yaml")
    assert len(text.splitlines()) == len(FILES)


@pytest.mark.parametrize("shell", SHELLS)
def test_install_rke2_keeps_an_rke2_the_base_already_has(
    shell: str, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    root = tmp_path / "root"
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/rke2").write_text("#!/bin/sh\n")
    (root / "usr/local/bin/rke2").chmod(0o755)
    done = run(
        shell_command(require_tool, shell),
        "install-rke2.sh",
        RKE2IMAGE_ROOT=str(root),
        RKE2IMAGE_RKE2_VERSION="v1.31.4+rke2r1",
        RKE2IMAGE_RKE2_TYPE="server",
    )
    assert done.returncode == 0, done.stderr
    assert "already in the image at /usr/local/bin/rke2" in done.stdout


@pytest.mark.parametrize("shell", SHELLS)
def test_install_rke2_without_rke2_goes_to_the_installer_and_needs_a_version(
    shell: str, tmp_path: Path, require_tool: Callable[[str], str]
) -> None:
    cmd = shell_command(require_tool, shell)
    root = tmp_path / "empty"
    root.mkdir()
    done = run(
        cmd,
        "install-rke2.sh",
        RKE2IMAGE_ROOT=str(root),
        RKE2IMAGE_RKE2_VERSION="v1.31.4+rke2r1",
        RKE2IMAGE_RKE2_TYPE="agent",
    )
    assert done.returncode == 1 and "the installer only installs into /" in done.stderr
    missing = run(cmd, "install-rke2.sh", RKE2IMAGE_ROOT=str(root), RKE2IMAGE_RKE2_TYPE="agent")
    assert missing.returncode != 0 and "RKE2IMAGE_RKE2_VERSION is required" in missing.stderr
