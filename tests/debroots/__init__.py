"""Cached Debian roots of other generations, built with mmdebstrap (build-root.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SUITES = {"bullseye": 11, "bookworm": 12, "trixie": 13}


def debian_root(suite: str, flavour: str = "tools") -> Path:
    """The root folder of SUITE with FLAVOUR's packages; built once, then cached.

    Fails under CI=true when it cannot be built (root and Debian's mirror are needed),
    skips otherwise. A test that uses it carries the ``host`` marker: the interpreter
    lanes (tests/lanes), which run inside such a root, leave it out.
    """
    if os.geteuid() != 0:
        _unavailable("building a Debian root needs root (mmdebstrap)")
    result = subprocess.run(
        ["sh", str(HERE / "build-root.sh"), suite, flavour],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        _unavailable(f"build-root.sh {suite} {flavour} failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: these tests must run)")
    pytest.skip(reason)
