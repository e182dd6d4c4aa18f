"""End to end with the real Packer: the null builder and local provisioners.

Each build runs the real provisioning scripts and the real preflight against a
stand-in root, so streaming, exit codes, Ctrl-C, the manifest and the digest
cache are all exercised through Packer itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from helpers import REPO
from rke2image.bake.packer import BuildInterrupted, Packer
from rke2image.bake.progress import PackerEvent
from rke2image.errors import EXIT_FINDINGS, EXIT_USAGE, PackerFailed, ToolNotFound
from rke2image.paths import PREFLIGHT, SYSCTL_FILE

FIXTURES = Path(__file__).parent / "fixtures" / "packer"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nullbuild = _load("nullbuild")


@pytest.fixture
def packer(require_tool: Callable[[str], str]) -> str:
    require_tool("sha256sum")
    return require_tool("packer")


def test_build_installs_checks_cleans_and_records(tmp_path: Path, packer: str) -> None:
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path))
    events: list[PackerEvent] = []
    results = nullbuild.null_build(tmp_path, node, packer_path=packer, on_event=events.append)

    [result] = results
    assert result.artifact_ids == ("Null",) and not result.cached
    assert result.image_name == f"rke2-cp-{result.digest[:12]}"
    root = tmp_path / "root"
    assert (root / PREFLIGHT.lstrip("/")).stat().st_mode & 0o777 == 0o755
    assert (root / SYSCTL_FILE.lstrip("/")).stat().st_mode & 0o777 == 0o644
    assert "etcd:" in (root / "etc/passwd").read_text()
    assert "etcd:" in (root / "etc/group").read_text()
    assert (root / "etc/machine-id").read_text() == ""
    assert not list((root / "etc/ssh").iterdir())
    assert not (root / "home/builder/.ssh/authorized_keys").exists()
    text = "\n".join(e.text for e in events)
    assert "preflight passed" in text and "(mode enforce)" in text
    record = json.loads((nullbuild.project(tmp_path) / "artifacts/null.json").read_text())
    assert record["digest"] == result.digest and record["artifact_ids"] == ["Null"]


def test_unchanged_spec_reports_the_recorded_artifact_without_packer(
    tmp_path: Path, packer: str
) -> None:
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path))
    [first] = nullbuild.null_build(tmp_path, node, packer_path=packer)
    # No Packer at all the second time: a cached answer never starts it.
    missing = str(tmp_path / "no-such-packer")
    [again] = nullbuild.null_build(tmp_path, node, packer_path=missing)
    assert again.cached and again.image_name == first.image_name
    assert again.artifact_ids == first.artifact_ids
    with pytest.raises(ToolNotFound):
        nullbuild.null_build(tmp_path, node, packer_path=missing, force=True)


def test_a_changed_input_changes_the_digest_and_rebuilds(tmp_path: Path, packer: str) -> None:
    settings = nullbuild.null_settings(
        tmp_path, overrides={"fs.inotify.max_user_instances": "8192"}
    )
    node = nullbuild.make_node(settings)
    [first] = nullbuild.null_build(tmp_path, node, packer_path=packer)
    changed = nullbuild.make_node(settings, sysctl={"fs.inotify.max_user_instances": "8192"})
    [second] = nullbuild.null_build(tmp_path, changed, packer_path=packer)
    assert second.digest != first.digest and not second.cached


def test_non_compliant_image_fails_the_build_in_kubelets_words(tmp_path: Path, packer: str) -> None:
    settings = nullbuild.null_settings(tmp_path, overrides={"vm.overcommit_memory": "0"})
    node = nullbuild.make_node(settings)
    with pytest.raises(PackerFailed) as caught:
        nullbuild.null_build(tmp_path, node, packer_path=packer)
    assert caught.value.exit_code == EXIT_FINDINGS
    assert (
        "invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0"
        in caught.value.tail
    )
    assert not (nullbuild.project(tmp_path) / "artifacts/null.json").exists()


def test_a_base_with_swap_bakes_unless_kubelet_fails_on_swap(tmp_path: Path, packer: str) -> None:
    # null_settings gives the base an active swap file; the default spec bakes
    # (RKE2 runs kubelet with fail-swap-on=false, so swap does not stop it) ...
    settings = nullbuild.null_settings(tmp_path)
    node = nullbuild.make_node(settings)
    [result] = nullbuild.null_build(tmp_path, node, packer_path=packer)
    assert not result.cached
    # ... and only kubelet-arg fail-swap-on=true makes the enforce run refuse it.
    strict = nullbuild.make_node(settings, rke2_config={"kubelet-arg": ["fail-swap-on=true"]})
    with pytest.raises(PackerFailed) as caught:
        nullbuild.null_build(tmp_path, strict, packer_path=packer, force=True)
    assert "please disable swap: /swapfile (file) is active" in caught.value.tail


def test_failing_provisioner_is_exit_1_with_packers_message(tmp_path: Path, packer: str) -> None:
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path, fail=True))
    with pytest.raises(PackerFailed) as caught:
        nullbuild.null_build(tmp_path, node, packer_path=packer)
    assert caught.value.exit_code == EXIT_FINDINGS
    assert "packer build failed" in str(caught.value)
    assert "step: failing on purpose" in caught.value.tail
    assert "non-zero exit status: 3" in caught.value.tail


def test_broken_template_is_exit_1_with_packers_message(tmp_path: Path, packer: str) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    for source in nullbuild.TEMPLATES.glob("*.pkr.hcl"):
        (templates / source.name).write_text(source.read_text())
    (templates / "broken.pkr.hcl").write_text('source "null" "broken" {\n  communicator = \n}\n')
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path))
    with pytest.raises(PackerFailed) as caught:
        nullbuild.null_build(tmp_path, node, packer_path=packer, templates=templates)
    assert caught.value.exit_code == EXIT_FINDINGS
    assert "packer validate failed" in str(caught.value)
    assert "broken.pkr.hcl" in caught.value.tail


def test_output_streams_while_packer_runs(tmp_path: Path, packer: str) -> None:
    flag = tmp_path / "flag"
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path, flag=str(flag)))
    seen: list[str] = []

    def on_event(event: PackerEvent) -> None:
        seen.append(event.text)
        if "step: waiting" in event.text:
            flag.touch()  # the build waits for this file before it can finish

    [result] = nullbuild.null_build(tmp_path, node, packer_path=packer, on_event=on_event)
    assert result.artifact_ids == ("Null",)
    assert any("Builds finished" in text for text in seen)


# A real Packer's signal timing: in the python3.13 lane, under the load of the whole suite,
# Packer once died (-1) before it printed its clean cancel. Run once, on this machine.
@pytest.mark.host
def test_ctrl_c_is_forwarded_and_packer_cleans_up(tmp_path: Path, packer: str) -> None:
    flag = tmp_path / "never-created"
    script = FIXTURES / "nullbuild.py"
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO / 'tests'}"}
    with subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "--flag", str(flag)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "step: waiting" in line:
                proc.send_signal(signal.SIGINT)
                break
        lines.extend(proc.stdout)
        code = proc.wait(timeout=120)
    output = "".join(lines)
    assert code == BuildInterrupted.exit_code, output
    assert "Cleanly cancelled builds after being interrupted" in output
    assert "stopped by SIGINT" in output
    assert not (nullbuild.project(tmp_path) / "artifacts/null.json").exists()


def test_timeout_stops_packer_and_fails(tmp_path: Path, packer: str) -> None:
    flag = tmp_path / "never-created"
    node = nullbuild.make_node(nullbuild.null_settings(tmp_path, flag=str(flag)))
    with pytest.raises(PackerFailed) as caught:
        nullbuild.null_build(tmp_path, node, packer_path=packer, timeout=2.0)
    assert not isinstance(caught.value, BuildInterrupted)
    assert "timed out" in str(caught.value)


def test_missing_packer_is_exit_2_with_an_install_hint(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFound) as caught:
        Packer(str(tmp_path / "packer"))
    assert caught.value.exit_code == EXIT_USAGE
    assert "--packer PATH" in str(caught.value) and "install" in str(caught.value)


def test_version_is_read_from_packer(packer: str) -> None:
    major, minor, _ = Packer(packer).version()
    assert (major, minor) >= (1, 6)
