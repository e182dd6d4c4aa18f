"""The RKE2 unit on a live node: is it failed or restart-looping, restart it, wait for
kubelet's and etcd's health endpoints, and, on timeout, the kubelet.log lines that say why.

``rke2-server.service`` has ``Restart=always``, ``RestartSec=5s``: a failing start is
retried every 5 s (``SubState=auto-restart``), not left ``failed``. Only this unit is
restarted; never systemd-sysctl (it would reset what the CNI set, rancher/rke2#2021).
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from rke2image import paths
from rke2image.audit.logs import PHRASES
from rke2image.errors import InputError, ToolNotFound
from rke2image.fix.model import HealthCheck, RestartStep
from rke2image.rke2 import ROLES, Role

# Health endpoints, not accounts: the etcd user and group are ``accounts.ETCD``.
KUBELET_HEALTH = HealthCheck("kubelet", "http://127.0.0.1:10248/healthz")
ETCD_HEALTH = HealthCheck("etcd", "http://127.0.0.1:2381/health")
# A kubelet.log line that explains a failed start: the audit's log phrases, or a failure.
EXPLAINS = (*PHRASES, "failed", "error")
_TAIL_BYTES = 1 << 16


def checks_for(role: Role) -> tuple[HealthCheck, ...]:
    return (KUBELET_HEALTH, ETCD_HEALTH) if role == "server" else (KUBELET_HEALTH,)


def unit_state(unit: str) -> dict[str, str]:
    """``systemctl show`` of the unit's state; {} where there is no systemctl."""
    try:
        result = subprocess.run(
            [
                "systemctl",
                "show",
                "--property=LoadState,ActiveState,SubState,NRestarts",
                unit,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return {}
    state = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        state[name] = value
    return state


def restart_reason(state: dict[str, str]) -> str | None:
    """Why the unit needs a restart (failed, or retrying), or None when it does not."""
    if state.get("LoadState") not in (None, "loaded"):
        return None
    active, sub = state.get("ActiveState", ""), state.get("SubState", "")
    restarts = state.get("NRestarts", "0")
    if active == "failed":
        return "failed"
    if sub == "auto-restart" or (active == "activating" and restarts not in ("", "0")):
        return f"{sub or active}, restart loop ({restarts} restarts)"
    return None


def plan_restart(role: Role | None, timeout: float) -> RestartStep | None:
    roles = [role] if role else list(ROLES)
    for each in roles:
        unit = paths.service_name(each)
        reason = restart_reason(unit_state(unit))
        if reason is not None:
            return RestartStep(unit, reason, checks_for(each), timeout)
    return None


def restart(unit: str) -> None:
    """Start the unit again now; a unit that hit its start limit is reset first."""
    try:
        subprocess.run(["systemctl", "reset-failed", unit], capture_output=True, check=False)
        result = subprocess.run(
            ["systemctl", "restart", "--no-block", unit],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        raise ToolNotFound("systemctl is not installed: cannot restart " + unit) from None
    if result.returncode != 0:
        raise InputError(f"systemctl restart {unit} failed: {result.stderr.strip()}")


def wait_healthy(
    checks: tuple[HealthCheck, ...],
    timeout: float,
    progress: Callable[[str], None] | None = None,
    interval: float = 1.0,
) -> list[HealthCheck]:
    """Poll every endpoint until each answers 200; the ones still down at the deadline."""
    start = time.monotonic()
    pending = list(checks)
    while True:
        pending = [c for c in pending if not _healthy(c.url)]
        waited = time.monotonic() - start
        if not pending or waited >= timeout:
            return pending
        if progress is not None:
            names = ", ".join(f"{c.name} ({c.url})" for c in pending)
            progress(f"waiting for {names}: {int(waited)}s of {int(timeout)}s")
        time.sleep(min(interval, max(0.0, timeout - waited)))


def kubelet_tail(root: Path, lines: int = 10) -> list[str]:
    """The newest kubelet.log lines that explain a failed start (else the newest lines)."""
    path = root / paths.KUBELET_LOG.lstrip("/")
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()[-200:]
    telling = [line for line in text if any(word in line for word in EXPLAINS)]
    return (telling or text)[-lines:]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False
