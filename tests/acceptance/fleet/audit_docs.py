"""Audit documents shaped like ``rke2image audit --format json`` (rke2image.audit/v1).

The fleet tests and bench/bench_fleet.py build many nodes' audits from these, so a fleet
of 1,003 nodes needs no 1,003 fixture roots. The shape follows the contract of
docs/audit-json.md; test_fleet_contract.py checks it against a real audit's output.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rke2image.kernel import REQUIRED_PARAMETERS

NOW = datetime(2026, 11, 26, 4, 0, 0, tzinfo=timezone.utc)


def _verdict(expected: str, live: str | None, boot: str | None, is_live: bool) -> str:
    if is_live and live != expected:
        return "wrong"
    if boot != expected:
        return "latent" if is_live else "wrong"
    return "ok"


def audit_document(
    name: str,
    role: str | None,
    *,
    values: dict[str, Any] | None = None,
    generated: datetime = NOW,
    live: bool = True,
    protection: bool = True,
) -> dict[str, Any]:
    """One node's audit. ``values`` maps a key to one value (live and both next boots) or
    to a ``(live, systemd, procps)`` triple; other keys hold their required value."""
    values = values or {}
    parameters = []
    for p in REQUIRED_PARAMETERS:
        given = values.get(p.key, p.value)
        live_value, systemd, procps = given if isinstance(given, tuple) else (given,) * 3
        if not live:
            live_value = None
        verdict = _verdict(p.value, live_value, systemd, live)
        parameters.append(
            {
                "key": p.key,
                "expected": p.value,
                "required": True,
                "live": live_value,
                "next_boot": {
                    "systemd": {
                        "value": systemd,
                        "source": "sysctl.d",
                        "file": "/etc/sysctl.d/99-zz-rke2image.conf",
                        "line": 3,
                        "overrides": [],
                    },
                    "procps": {
                        "value": procps,
                        "source": "sysctl.d",
                        "file": "/etc/sysctl.d/99-zz-rke2image.conf",
                        "line": 3,
                        "overrides": [],
                    },
                },
                "verdict": verdict,
                "fix": None if verdict == "ok" else f"sysctl -w {p.key}={p.value}",
            }
        )
    errors = sum(p["verdict"] != "ok" for p in parameters)
    return {
        "schema": "rke2image.audit/v1",
        "generated": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "node": {"name": name, "role": role},
        "root": "/",
        "managed": True,
        "live": live,
        "protection": {
            "on": protection,
            "known": True,
            "profile": "cis" if protection else None,
            "sources": (
                [{"file": "/etc/rancher/rke2/config.yaml", "line": 1, "setting": "profile: cis"}]
                if protection
                else []
            ),
            "unreadable": [],
        },
        "parameters": parameters,
        "findings": [],
        "files": {
            "systemd": ["/etc/sysctl.d/99-zz-rke2image.conf"],
            "procps": ["/etc/sysctl.d/99-zz-rke2image.conf"],
        },
        "boot_tools": {
            "systemd": {"version": "252", "source": "/lib/systemd/systemd-sysctl"},
            "procps": {"version": "4.0.2", "source": "/usr/sbin/sysctl"},
        },
        "summary": {"errors": errors, "warnings": 0, "info": 0, "compliant": errors == 0},
    }


def write_fleet(folder: Path, documents: list[dict[str, Any]]) -> list[Path]:
    """One file per node, as an Ansible fetch leaves them: FOLDER/<node>/audit.json, received
    (modified) when it was generated, so the report does not depend on this machine's clock
    (fleet trusts a node's date only up to the file's time)."""
    paths = []
    for document in documents:
        path = folder / document["node"]["name"] / "audit.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        try:  # a test of broken documents may hold any "generated"
            generated = datetime.strptime(document["generated"], "%Y-%m-%dT%H:%M:%SZ")
        except (TypeError, ValueError):
            generated = None
        if generated is not None:
            received = generated.replace(tzinfo=timezone.utc).timestamp()
            os.utime(path, (received, received))
        paths.append(path)
    return paths
