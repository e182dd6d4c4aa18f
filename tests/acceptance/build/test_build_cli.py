"""`rke2image build` from the command line: exit codes and what it prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rke2image.cli.main import main

SPEC = """\
apiVersion: rke2image/v1
kind: NodeSpec
metadata:
  name: cp-1
spec:
  role: server
  clusterInit: true
  rke2:
    version: v1.31.4+rke2r1
    profile: cis
    token: {{file: /etc/rancher/rke2/token}}
  image:
    name: rke2-cp
    builders:
{builders}
"""
QEMU = """\
      qemu:
        iso_url: base.qcow2
        accelerator: tcg
"""
AMAZON = """\
      amazon-ebs:
        region: eu-west-1
        source_ami: ami-0123456789abcdef0
"""


def write_spec(folder: Path, builders: str) -> Path:
    spec = folder / "node.yaml"
    spec.write_text(SPEC.format(builders=builders.rstrip("\n")))
    (folder / "base.qcow2").write_bytes(b"")  # the local base image the qemu settings name
    return spec


@pytest.fixture
def packer(require_tool: Callable[[str], str]) -> str:
    require_tool("ssh-keygen")
    return require_tool("packer")


def test_dry_run_validates_every_builder_and_builds_nothing(
    tmp_path: Path, packer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU + AMAZON)
    out = tmp_path / "out"
    code = main(["build", str(spec), "-o", str(out), "--dry-run", "--packer", packer])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "qemu: rke2-cp-" in stdout and "amazon-ebs: rke2-cp-" in stdout
    assert stdout.count("valid (dry run, not built)") == 2
    project = out / "cp-1"
    assert (project / "rootfs/usr/local/libexec/rke2image/preflight").stat().st_mode & 0o111
    assert not (project / "rootfs/etc/rancher/rke2/config.yaml").exists()  # per node, not baked
    assert json.loads((project / "amazon-ebs.pkrvars.json").read_text())["amazon_region"] == (
        "eu-west-1"
    )
    assert not (project / "artifacts").exists()


def test_only_picks_one_builder(
    tmp_path: Path, packer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU + AMAZON)
    args = ["build", str(spec), "-o", str(tmp_path / "out"), "--dry-run", "--packer", packer]
    assert main([*args, "--only", "amazon-ebs"]) == 0
    stdout = capsys.readouterr().out
    assert "amazon-ebs" in stdout and "qemu" not in stdout


def test_only_an_absent_builder_is_a_usage_error(
    tmp_path: Path, packer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU)
    out = str(tmp_path / "out")
    code = main(
        ["build", str(spec), "-o", out, "--dry-run", "--only", "azure-arm", "--packer", packer]
    )
    assert code == 2
    assert "--only azure-arm: not a builder of this spec" in capsys.readouterr().err


def test_missing_packer_is_exit_2_with_an_install_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU)
    missing = str(tmp_path / "bin" / "packer")
    code = main(["build", str(spec), "-o", str(tmp_path / "out"), "--packer", missing])
    err = capsys.readouterr().err
    assert code == 2
    assert "not found" in err and "apt-get install packer" in err


def test_unknown_builder_is_an_invalid_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, "      virtualbox-iso: {}\n")
    code = main(["build", str(spec), "-o", str(tmp_path / "out"), "--dry-run"])
    assert code == 1
    assert "virtualbox-iso" in capsys.readouterr().err


def test_qemu_without_a_base_image_is_refused_before_packer_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, "      qemu: {}\n")
    code = main(["build", str(spec), "-o", str(tmp_path / "out"), "--packer", "/nonexistent"])
    assert code == 2
    assert "iso_url is required" in capsys.readouterr().err


def test_packer_validate_failure_is_exit_1_with_packers_words(
    tmp_path: Path, packer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, "      vsphere-iso:\n        vcenter_server: vc.example.com\n"
                      "        username: u\n        datacenter: dc\n        cluster: c\n"
                      "        datastore: ds\n        iso_paths: ['[ds] a.iso']\n")  # fmt: skip
    # No PKR_VAR_vsphere_password in the environment: Packer says what is missing.
    code = main(["build", str(spec), "-o", str(tmp_path / "out"), "--dry-run", "--packer", packer])
    err = capsys.readouterr().err
    assert code == 1
    assert "packer validate failed" in err and "'password' is required" in err


def test_a_missing_local_base_image_is_named_before_packer_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU)
    (tmp_path / "base.qcow2").unlink()
    assert main(["build", str(spec), "--dry-run", "-o", str(tmp_path / "out")]) == 2
    assert f"no such file {tmp_path / 'base.qcow2'}" in capsys.readouterr().err


def test_a_folder_rke2image_did_not_write_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(tmp_path, QEMU)
    theirs = tmp_path / "out" / "cp-1" / "scripts" / "deploy.sh"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("echo mine\n")
    assert main(["build", str(spec), "--dry-run", "-o", str(tmp_path / "out")]) == 2
    assert "refusing to write the Packer project" in capsys.readouterr().err
    assert theirs.read_text() == "echo mine\n"
