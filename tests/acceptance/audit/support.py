"""Running `rke2image audit` in-process for the tests, and the values a node should have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rke2image.cli.main import main
from rke2image.kernel import REQUIRED_PARAMETERS

REQUIRED = {p.key: p.value for p in REQUIRED_PARAMETERS}


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = audit(capsys, *args, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def param(report: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in report["parameters"] if p["key"] == key]
    assert len(found) == 1
    return found[0]


def rules(report: dict[str, Any]) -> list[tuple[str, str, str | None, int | None]]:
    return [(f["severity"], f["rule"], f["file"], f["line"]) for f in report["findings"]]


def no_journal(root: Path) -> tuple[str, ...]:
    """Arguments for an audit of ``root`` that reads no host journal (rke2 log given empty)."""
    empty = root.parent / "empty-rke2.log"
    empty.write_text("")
    return ("--root", str(root), "--rke2-log", str(empty))
