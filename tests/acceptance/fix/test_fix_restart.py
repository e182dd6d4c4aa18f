"""--restart: which unit state asks for it, the restart itself, the wait for kubelet and
etcd, and on timeout the kubelet.log lines that say why.

systemctl is a stand-in on PATH (the test machine's own RKE2 units must not be touched);
the health endpoints are real HTTP servers on free ports of 127.0.0.1."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from acceptance.fix.incident import incident_root
from rke2image.audit import AuditOptions
from rke2image.fix import FixOptions, apply_plan, make_plan
from rke2image.fix.model import HealthCheck, RestartStep
from rke2image.fix.plan import audit
from rke2image.fix.service import kubelet_tail, plan_restart, restart_reason, wait_healthy

SYSTEMCTL = """#!/bin/sh
echo "$*" >> "{calls}"
case "$1" in
show) cat "{state}" ;;
esac
"""


@pytest.fixture
def systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in systemctl: logs its arguments, `show` prints the state file."""
    folder = tmp_path / "bin"
    folder.mkdir()
    calls, state = tmp_path / "calls", tmp_path / "state"
    state.write_text("LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts=0\n")
    tool = folder / "systemctl"
    tool.write_text(SYSTEMCTL.format(calls=calls, state=state))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{__import__('os').environ['PATH']}")
    return tmp_path


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthy() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> str:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/health"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("ActiveState=failed\nSubState=failed\nNRestarts=3", "failed"),
        (
            "ActiveState=activating\nSubState=auto-restart\nNRestarts=12",
            "auto-restart, restart loop (12 restarts)",
        ),
        ("ActiveState=active\nSubState=running\nNRestarts=0", None),
        ("ActiveState=inactive\nSubState=dead\nNRestarts=0", None),
    ],
)
def test_a_failed_or_looping_unit_is_restarted_and_a_running_one_is_not(
    state: str, reason: str | None
) -> None:
    lines = dict(line.split("=", 1) for line in ["LoadState=loaded", *state.splitlines()])
    assert restart_reason(lines) == reason


def test_the_restart_is_planned_from_the_units_state(systemctl: Path) -> None:
    (systemctl / "state").write_text(
        "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nNRestarts=40\n"
    )
    step = plan_restart("server", 300.0)
    assert step is not None
    assert (step.unit, step.timeout) == ("rke2-server.service", 300.0)
    assert [c.url for c in step.checks] == [
        "http://127.0.0.1:10248/healthz",
        "http://127.0.0.1:2381/health",
    ]
    agent = plan_restart("agent", 60.0)
    assert agent is not None and [c.name for c in agent.checks] == ["kubelet"]


def test_apply_restarts_the_unit_and_waits_until_healthy(
    tmp_path: Path, systemctl: Path, healthy: str
) -> None:
    root, proc = incident_root(tmp_path / "node")
    options = FixOptions(AuditOptions(root=root, proc_sys=proc))
    plan = make_plan(options, audit(options))
    step = RestartStep("rke2-server.service", "failed", (HealthCheck("kubelet", healthy),), 30.0)
    lines: list[str] = []
    report = apply_plan(options, plan._replace(restart=step), lines.append)
    assert report.ok and report.wait_error is None
    assert (systemctl / "calls").read_text().splitlines() == [
        "reset-failed rke2-server.service",
        "restart --no-block rke2-server.service",
    ]


def test_a_timeout_says_which_endpoint_and_quotes_kubelet_log(
    tmp_path: Path, systemctl: Path, healthy: str
) -> None:
    root, proc = incident_root(tmp_path / "node")
    options = FixOptions(AuditOptions(root=root, proc_sys=proc))
    plan = make_plan(options, audit(options))
    down = _closed_port()
    step = RestartStep(
        "rke2-server.service",
        "failed",
        (HealthCheck("kubelet", healthy), HealthCheck("etcd", down)),
        1.0,
    )
    report = apply_plan(options, plan._replace(restart=step))
    assert not report.ok
    assert report.wait_error is not None
    assert report.wait_error.startswith(f"etcd ({down}) not healthy after 1s")
    assert "invalid kernel flag: kernel/panic, expected value: 10, actual value: 0" in (
        report.wait_error
    )


def test_the_wait_reports_progress_and_gives_up_at_the_deadline() -> None:
    lines: list[str] = []
    down = wait_healthy((HealthCheck("etcd", _closed_port()),), 1.5, lines.append, 0.5)
    assert [c.name for c in down] == ["etcd"]
    assert lines and all(line.startswith("waiting for etcd (") for line in lines)


def test_kubelet_tail_prefers_the_lines_that_explain(tmp_path: Path) -> None:
    log = tmp_path / "var/lib/rancher/rke2/agent/logs/kubelet.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "I1204 starting\n"
        "E1204 invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0\n"
        "I1204 shutting down\n"
    )
    assert kubelet_tail(tmp_path) == [
        "E1204 invalid kernel flag: vm/overcommit_memory, expected value: 1, actual value: 0"
    ]
    assert kubelet_tail(tmp_path / "none") == []
