"""Ignition: every rendered ignition.json passes Debian's ignition-validate (2.14), and the
real Ignition binary's files stage applies it; the audit of the result is compliant.

Debian's ``ignition`` package ships the binary in its dracut module folder. It runs
here as it runs in the initramfs (ignition-fetch-offline.service, then
ignition-files.service), with ``-platform file`` (the config from
``IGNITION_CONFIG_FILE``) and ``-root`` pointing at a test root. Debian builds it with
SELinux relabeling on, so each root gets an /etc/selinux/config naming a policy whose
file_contexts labels nothing (``<<none>>``); the relabel step then runs the real
``setfiles`` and changes no label. Passwd entries need ``id`` and ``useradd`` in the
root (Ignition chroots into it to look a user up): servers with the etcd account are
applied to a copy of a Debian root, agents to an empty root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from acceptance.targets.support import (
    assert_files_in_place,
    audit_compliant,
    copied_debian_root,
    needs_root,
    render,
    write_spec,
)
from helpers import EXAMPLES, require_tool
from rke2image import paths

# The real Ignition (Debian 12's package) on roots copied from a cached Debian root.
pytestmark = pytest.mark.host

DRACUT_IGNITION = "/usr/lib/dracut/modules.d/30ignition/ignition"
POLICY = "rke2image-test"


def ignition_binary() -> str:
    if not os.access(DRACUT_IGNITION, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{DRACUT_IGNITION} is missing (CI=true: install Debian's ignition)")
        pytest.skip(f"{DRACUT_IGNITION} is missing (Debian's ignition package)")
    require_tool("setfiles")  # Debian's Ignition relabels what it writes
    return DRACUT_IGNITION


def apply_ignition(config: Path, root: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """fetch-offline then files, as the initramfs units run them."""
    binary = ignition_binary()
    contexts = root / "etc/selinux" / POLICY / "contexts/files"
    contexts.mkdir(parents=True, exist_ok=True)
    (contexts / "file_contexts").write_text("/.*\t<<none>>\n")
    (root / "etc/selinux/config").write_text(f"SELINUX=disabled\nSELINUXTYPE={POLICY}\n")
    work.mkdir(parents=True, exist_ok=True)
    common = ["-platform", "file", "-root", str(root), "-log-to-stdout",
              "-config-cache", str(work / "ignition.json"),
              "-state-file", str(work / "state")]  # fmt: skip
    env = {**os.environ, "IGNITION_CONFIG_FILE": str(config)}
    for stage in ("fetch-offline", "files"):
        done = subprocess.run(
            [binary, "-stage", stage, *common], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            return done
    return done


@pytest.mark.parametrize(
    ("os_name", "role"),
    [("fcos-41", "server"), ("fcos-41", "agent"), ("flatcar-4081.2.0", "agent")],
)
def test_ignition_validate_accepts_every_rendered_config(
    tmp_path: Path, os_name: str, role: str
) -> None:
    validate = require_tool("ignition-validate")
    spec = write_spec(tmp_path, f"n-{role}", role, os_name)
    node = render(spec, tmp_path / "out")
    for config in [node / "ignition.json", render(EXAMPLES / "flatcar.yaml", tmp_path / "ex")
                   / "ignition.json"]:  # fmt: skip
        done = subprocess.run([validate, str(config)], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout + done.stderr) == (0, ""), config


def test_ignition_writes_a_fedora_coreos_server_and_the_audit_is_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_root()
    """Fedora CoreOS links /usr/local into /var: Ignition writes the preflight through
    the link (resolved inside the root), where the OS can write it."""
    node = render(write_spec(tmp_path, "cp-1", "server", "fcos-41"), tmp_path / "out")
    root = copied_debian_root(tmp_path)
    shutil.rmtree(root / "usr/local")
    (root / "var/usrlocal").mkdir()
    (root / "usr/local").symlink_to("../var/usrlocal")  # as rpm-ostree links it
    done = apply_ignition(node / "ignition.json", root, tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / "var/usrlocal/libexec/rke2image/preflight").is_file()
    assert_files_in_place(root, node, {})
    assert "etcd:" in (root / "etc/passwd").read_text()
    audit_compliant(capsys, root, tmp_path, "server")


def test_ignition_writes_an_agent_into_an_empty_root_and_the_audit_is_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = render(write_spec(tmp_path, "w-1", "agent", "fcos-41"), tmp_path / "out")
    root = tmp_path / "root"
    root.mkdir()
    done = apply_ignition(node / "ignition.json", root, tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert_files_in_place(root, node, {})
    audit_compliant(capsys, root, tmp_path, "agent")


def test_on_flatcar_ignition_puts_the_preflight_under_opt(tmp_path: Path) -> None:
    """Flatcar's /usr/local is read-only: the preflight is in /opt, the drop-in runs it."""
    needs_root()  # the etcd account: useradd in a Debian root
    node = render(EXAMPLES / "flatcar.yaml", tmp_path / "out")
    root = copied_debian_root(tmp_path)
    done = apply_ignition(node / "ignition.json", root, tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert_files_in_place(root, node, {})
    assert not (root / paths.PREFLIGHT.lstrip("/")).exists()
    dropin = (root / paths.dropin_path("server").lstrip("/")).read_text()
    assert f"ExecStartPre={paths.PREFLIGHT_OPT} " in dropin


def test_the_audit_of_a_flatcar_root_written_by_ignition_is_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_root()
    node = render(EXAMPLES / "flatcar.yaml", tmp_path / "out")
    root = copied_debian_root(tmp_path)
    done = apply_ignition(node / "ignition.json", root, tmp_path / "work")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    audit_compliant(capsys, root, tmp_path, "server")
