"""Every module of src/rke2image imports on its own, in a fresh interpreter, warning-free.

A fresh interpreter per module catches an import that only works because an
earlier test (or module) happened to import something first, a circular import
that depends on order, and a DeprecationWarning raised at import time (-W error).
``rke2image.__main__`` is left out: importing it runs the CLI; test_package runs
it as ``python -m rke2image``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

SRC = REPO / "src"
PACKAGE = SRC / "rke2image"
NOT_IMPORTABLE = {"rke2image.__main__"}


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return [name for name in names if name not in NOT_IMPORTABLE]


def test_modules_are_found() -> None:
    names = module_names()
    assert "rke2image" in names
    assert "rke2image.cli.main" in names
    assert "rke2image.kernel" in names


@pytest.mark.parametrize("module", module_names())
def test_module_imports_in_fresh_interpreter(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"],
        capture_output=True, text=True, env=env, cwd=SRC.parent, check=False,
    )
    assert result.returncode == 0, f"import {module} failed:\n{result.stderr}"
    assert result.stderr == "", f"import {module} wrote to stderr:\n{result.stderr}"
