"""The audit's container image for the tests: deploy/image/build.sh's root tarball (cached
by its key), and podman as this machine needs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO

BUILD = REPO / "deploy" / "image" / "build.sh"
BUILD_TIMEOUT = 1200  # seconds: mmdebstrap from the mirror on 2 cores, the first time


def work() -> Path:
    shared = os.environ.get("RKE2IMAGE_E2E_WORK")
    return Path(shared) / "image" if shared else REPO / "deploy" / "image" / ".work"


def root_tarball() -> Path:
    """build.sh's tarball of the image root (built once per key, then reused)."""
    for tool in ("podman", "mmdebstrap"):
        if shutil.which(tool) is None or os.geteuid() != 0:
            message = f"{tool} is not installed, or not root (rootful podman, mmdebstrap)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"{message} (CI=true: a missing tool is a failure)")
            pytest.skip(message)
    env = {**os.environ, "PYTHON": sys.executable}
    built = subprocess.run(
        [str(BUILD), str(work())],
        capture_output=True,
        text=True,
        env=env,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return Path(built.stdout.strip())


def podman(*argv: str) -> list[str]:
    # runc: crun refuses hosts whose cgroup v2 hierarchy holds a controller in hybrid mode
    # (this machine's); low ulimits: podman's defaults exceed the sandbox's hard limits.
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    return ["podman", *runtime, *argv]
