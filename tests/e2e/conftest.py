"""Fixtures of the end-to-end tests: real base image, real Packer bake, real QEMU boots.

Run with ``python3 -m pytest tests/e2e -m e2e``. Needs root (mmdebstrap), the
Debian mirror, and the tools in TOOLS; with CI=true a missing one fails the run,
locally it skips. Everything runs once per session (see campaign.py) and every
QEMU is killed by process group when the session ends. Figures (bake time,
power-on to compliant RKE2) go to WORK/figures.json.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.campaign import E2E, Campaign
from e2e.vm import Processes
from rke2image.bake.accel import choose_accelerator

TOOLS = (
    "mmdebstrap",
    "mke2fs",
    "debugfs",
    "qemu-img",
    "qemu-system-x86_64",
    "xorriso",
    "packer",
    "ssh-keygen",
    "flock",
)
WORK = Path(os.environ.get("RKE2IMAGE_E2E_WORK", E2E / ".work"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the end-to-end tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def campaign() -> Iterator[Campaign]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(f"not installed: {', '.join(missing)}")
    if os.geteuid() != 0:
        _unavailable("the e2e base image needs root (mmdebstrap)")
    WORK.mkdir(parents=True, exist_ok=True)
    run = Campaign(WORK, Processes(), choose_accelerator("auto"))

    def on_term(signum: int, _frame: object) -> None:
        # An outer timeout sends SIGTERM: kill every QEMU/Packer group, then unwind.
        run.stop()
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    try:
        run.start()
        yield run
    finally:
        signal.signal(signal.SIGTERM, previous)
        for lane in run.lanes:
            lane.join(timeout=0.1)
        run.stop()
        run.figures["session_seconds"] = round(time.monotonic() - started, 1)
        run.write_figures(WORK / "figures.json")
