"""No output or document of rke2image advises restarting systemd-sysctl.

On a running node that re-applies every sysctl.d file and resets sysctls the CNI
set (RKE2's hardening guide; rancher/rke2#2021 broke Cilium egress that way). The
fix for a live value is ``sysctl -w KEY=VALUE`` for that key, or the preflight's
remediate mode.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADVICE = re.compile(r"systemctl\s+(?:try-|reload-or-)?(?:re)?start\s+systemd-sysctl")
SHIPPED = ("README.md", "src", "templates", "packer", "tests/e2e", "examples", "schemas", "docs")


def test_nothing_shipped_advises_restarting_systemd_sysctl() -> None:
    offenders = []
    for name in SHIPPED:
        top = ROOT / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")) if top.is_dir() else []:
            if path.is_file() and path.suffix not in (".qcow2", ".img"):
                text = path.read_text(encoding="utf-8", errors="replace")
                offenders += [f"{path}:{m.group(0)}" for m in ADVICE.finditer(text)]
    assert offenders == []
