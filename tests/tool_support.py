"""Finding outside tools for tests that run them for real."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """The tool beside this interpreter (a venv's), else on PATH; CI=true fails, locally skips."""
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI=true: a missing tool is a failure)")
        pytest.skip(f"{name} is not installed")
    return path
