"""`make dist` for the tests: scripts/dist.py into a folder, and running its zipapp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import REPO

DIST = REPO / "scripts" / "dist.py"


def make_dist(out: Path) -> Path:
    """Run scripts/dist.py (as `make dist` does) into ``out``; return ``out``."""
    result = subprocess.run(
        [sys.executable, str(DIST), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def zipapp_of(out: Path) -> Path:
    (found,) = out.glob("rke2image-*.pyz")
    return found
