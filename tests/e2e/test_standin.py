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

STANDIN = ASSETS / "standin" / "rke2.py"
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


def test_rke2_cis_kernel_check_is_fatal_before_the_etcd_check(tmp_path: Path) -> None:
    env = node(tmp_path, "profile: cis\n", KERNEL_DEFAULTS, etcd=False)
    for role in ("server", "agent"):
        result = run(env, role)
        assert result.returncode == 1
        lines = result.stderr.splitlines()
        panic = REQUIRED_BY_KEY["kernel.panic"]
        assert RKE2_MISMATCH.format(key=panic.key, actual="0", expected=panic.value) in lines
        assert not any("etcd" in line for line in lines)


def test_rke2_cis_words_for_a_server_without_etcd_user(tmp_path: Path) -> None:
    result = run(node(tmp_path, "profile: cis\n", {}, etcd=False))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "missing required: user: unknown user etcd" in lines
    assert "missing required: group: unknown group etcd" in lines


def test_profile_etcd_checks_only_the_etcd_account_on_servers(tmp_path: Path) -> None:
    env = node(tmp_path, "profile: etcd\n", KERNEL_DEFAULTS, etcd=False)
    server = run(env)
    assert server.returncode == 1
    assert "missing required: user: unknown user etcd" in server.stderr.splitlines()
    assert "invalid kernel" not in server.stderr
    agent = run(env, "agent")
    assert agent.returncode == 0, agent.stderr
    assert "protect=False" in (tmp_path / "console").read_text()


def test_the_profile_may_come_from_the_units_environment_file(tmp_path: Path) -> None:
    env = {**node(tmp_path, "{}\n", KERNEL_DEFAULTS, etcd=True), "RKE2_CIS_PROFILE": "cis"}
    result = run(env, "agent")
    assert result.returncode == 1
    assert "invalid kernel parameter value" in result.stderr


def test_cis_with_protection_off_is_fatal(tmp_path: Path) -> None:
    config = "profile: cis\nprotect-kernel-defaults: false\n"
    result = run(node(tmp_path, config, {}, etcd=True))
    assert result.returncode == 1
    assert "--protect-kernel-defaults must be true when using --profile=cis" in result.stderr


@pytest.mark.parametrize(
    ("config", "refused"),
    [
        ("profile: cis\n", False),
        ("profile: cis\nkubelet-arg: [fail-swap-on=false]\n", False),
        ("profile: cis\nkubelet-arg: [fail-swap-on=true]\n", True),
    ],
)
def test_swap_stops_it_only_when_kubelet_fails_on_swap(
    tmp_path: Path, config: str, refused: bool
) -> None:
    env = node(tmp_path, config, {}, etcd=True)
    swaps = tmp_path / "swaps"
    swaps.write_text("Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1048572 0 -2\n")
    result = run({**env, "RKE2_STANDIN_SWAPS": str(swaps)})
    assert result.returncode == (1 if refused else 0), result.stderr
    assert ("running with swap on is not supported" in result.stderr) is refused


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


def test_once_started_it_answers_where_kubelet_and_etcd_do(tmp_path: Path) -> None:
    """What `rke2image fix --restart` waits for: 10248/healthz and, on servers, 2381/health."""
    import socket
    import time
    import urllib.request

    env = node(tmp_path, "profile: cis\n", {}, etcd=True)
    del env["RKE2_STANDIN_ONESHOT"]
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    env.update(RKE2_STANDIN_KUBELET_PORT=str(ports[0]), RKE2_STANDIN_ETCD_PORT=str(ports[1]))
    proc = subprocess.Popen([sys.executable, str(STANDIN), "server"], env=env,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        answers = {}
        for _ in range(300):  # until it serves (a slow machine), then read both
            try:
                for port, path in ((ports[0], "/healthz"), (ports[1], "/health")):
                    url = f"http://127.0.0.1:{port}{path}"
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        answers[path] = (answer.status, answer.read())
                break
            except OSError:
                time.sleep(0.1)
        assert answers == {
            "/healthz": (200, b"ok"),
            "/health": (200, b'{"health":"true","reason":""}'),
        }
    finally:
        proc.kill()
        proc.wait()
