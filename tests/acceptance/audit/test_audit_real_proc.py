"""The real /proc/sys of the test machine, read only: the audit reports what the kernel says.

Nothing here writes a sysctl; `sysctl -n` (procps) only reads.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from acceptance.audit.roots import build_root
from acceptance.audit.support import audit_json
from rke2image.kernel import REQUIRED_PARAMETERS, normalize_value

REAL = Path("/proc/sys")


def kernel_says(sysctl: str, key: str) -> str | None:
    result = subprocess.run([sysctl, "-n", key], capture_output=True, text=True, check=False)
    return normalize_value(result.stdout) if result.returncode == 0 else None


def test_live_values_equal_what_sysctl_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], require_tool: Callable[[str], str]
) -> None:
    sysctl = require_tool("sysctl")
    before = {p.key: kernel_says(sysctl, p.key) for p in REQUIRED_PARAMETERS}
    root = build_root(tmp_path, "debian-12")
    _, report = audit_json(capsys, "--root", str(root), "--proc-sys", str(REAL), "--role", "agent")
    assert report["live"] is True
    assert {p["key"]: p["live"] for p in report["parameters"]} == before
    after = {p.key: kernel_says(sysctl, p.key) for p in REQUIRED_PARAMETERS}
    assert after == before  # read-only
    for p in report["parameters"]:
        right = p["live"] == p["expected"]
        assert (p["verdict"] == "wrong") == (not right and p["live"] is not None)


def test_the_real_root_audits_without_privileges_or_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = audit_json(capsys, "--rke2-log", "/dev/null")
    assert code in (0, 1)
    assert report["root"] == "/" and report["live"] is True
    assert code == (0 if report["summary"]["compliant"] else 1)
