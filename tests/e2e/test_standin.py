"""The stand-in RKE2 refuses exactly as kubelet and RKE2's CIS check do (host side, no VM).

The e2e images run this same script as /usr/local/bin/rke2; here its paths are
moved into a temporary tree so each refusal can be checked word for word.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.campaign import ASSETS
from rke2image.kernel import KUBELET_MISMATCH, REQUIRED_BY_KEY, REQUIRED_PARAMETERS, RKE2_MISMATCH

pytestmark = pytest.mark.e2e

STANDIN = ASSETS / "standin" / "rke2"
KERNEL_DEFAULTS = {"vm.overcommit_memory": "0", "kernel.panic": "0", "kernel.panic_on_oops": "0"}


def node(tmp_path: Path, config: str, values: dict[str, str], etcd: bool) -> dict[str, str]:
    """A fake /etc and /proc/sys; returns the environment that points the stand-in at them."""
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps([
        {"key": p.key, "value": p.value, "rke2_cis_checked": p.rke2_cis_checked}
        for p in REQUIRED_PARAMETERS
    ]))  # fmt: skip
    etc = tmp_path / "etc"
    (etc / "rancher" / "rke2").mkdir(parents=True)
    (etc / "rancher" / "rke2" / "config.yaml").write_text(config)
    user = "etcd:x:999:999::/nonexistent:/usr/sbin/nologin\n" if etcd else ""
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n" + user)
    (etc / "group").write_text("root:x:0:\n" + ("etcd:x:999:\n" if etcd else ""))
    for p in REQUIRED_PARAMETERS:
        path = tmp_path / "proc" / p.key.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values.get(p.key, p.value) + "\n")
    return {
        "RKE2_STANDIN_EXPECTED": str(expected),
        "RKE2_STANDIN_ETC": str(etc),
        "RKE2_STANDIN_PROC_SYS": str(tmp_path / "proc"),
        "RKE2_STANDIN_CONSOLE": str(tmp_path / "console"),
        "RKE2_STANDIN_KUBELET_LOG": str(tmp_path / "kubelet.log"),
        "RKE2_STANDIN_ONESHOT": "1",
    }


def run(env: dict[str, str], role: str = "server") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(STANDIN), role], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_kubelet_words_with_protect_kernel_defaults(tmp_path: Path) -> None:
    env = node(tmp_path, "protect-kernel-defaults: true\n", KERNEL_DEFAULTS, etcd=False)
    result = run(env, "agent")
    assert result.returncode == 1
    overcommit = REQUIRED_BY_KEY["vm.overcommit_memory"]
    line = KUBELET_MISMATCH.format(flag=overcommit.kubelet_flag, expected=overcommit.value,
                                   actual="0")  # fmt: skip
    assert line in result.stderr.splitlines()
    assert line in (tmp_path / "kubelet.log").read_text().splitlines()
    assert "ready" not in (tmp_path / "console").read_text()


def test_rke2_cis_words_for_a_server_without_etcd_user(tmp_path: Path) -> None:
    env = node(tmp_path, "profile: cis\n", KERNEL_DEFAULTS, etcd=False)
    result = run(env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "missing required: user: unknown user etcd" in lines
    assert "missing required: group: unknown group etcd" in lines
    panic = REQUIRED_BY_KEY["kernel.panic"]
    assert RKE2_MISMATCH.format(key=panic.key, actual="0", expected=panic.value) in lines


def test_agent_needs_no_etcd_user(tmp_path: Path) -> None:
    result = run(node(tmp_path, "profile: cis\n", {}, etcd=False), "agent")
    assert result.returncode == 0, result.stderr
    assert "compliant=True" in (tmp_path / "console").read_text()


def test_compliant_server_reports_ready_with_the_values_it_saw(tmp_path: Path) -> None:
    result = run(node(tmp_path, "profile: cis\n", {}, etcd=True))
    assert result.returncode == 0, result.stderr
    console = (tmp_path / "console").read_text()
    values = json.loads(console.split("values=", 1)[1].splitlines()[0])
    assert values == {p.key: p.value for p in REQUIRED_PARAMETERS}
    assert "protect=True compliant=True" in console


def test_without_protection_wrong_values_do_not_stop_it(tmp_path: Path) -> None:
    """kubelet without protect-kernel-defaults sets the values itself and starts."""
    result = run(node(tmp_path, "{}\n", KERNEL_DEFAULTS, etcd=False))
    assert result.returncode == 0, result.stderr
    assert "protect=False compliant=False" in (tmp_path / "console").read_text()
