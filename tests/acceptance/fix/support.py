"""Running `rke2image fix` in-process for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rke2image.cli.main import main

JOURNAL = "var/lib/rke2image/fix"


def fix(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["fix", *args])
    out, err = capsys.readouterr()
    return code, out, err


def fix_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = fix(capsys, *args, "--format", "json")
    assert err == ""
    data: dict[str, Any] = json.loads(out)
    return code, data


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", *args, "--format", "json"])
    out, _ = capsys.readouterr()
    data: dict[str, Any] = json.loads(out)
    return code, data


def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    """Paths created, removed or changed between two snapshots, the fix journal aside."""
    paths = set(before) | set(after)
    return {
        p for p in paths if before.get(p) != after.get(p) and not p.startswith("var/lib/rke2image")
    }


def live(proc_sys: Path, key: str) -> str:
    return proc_sys.joinpath(*key.split(".")).read_text().strip()
