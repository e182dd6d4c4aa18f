"""The interpreter lanes: the unit and acceptance suites pass under Debian 11's python3.9
and Debian 13's python3.13, as they do under the host's python3.

Each lane is one test here that runs pytest inside a cached Debian root (tests/debroots,
flavour ``lane-SUITE``) with lane.sh, and reports that run's summary line. Both lanes start
together, so on two cores they take about one lane's time. Debian 11's lane installs
the oldest runtime dependencies pyproject.toml allows (its ``>=`` floors, pinned
exactly), which proves those floors; Debian 13's the newest.

Inside a lane the VM boots (``e2e``), the lanes themselves, the tests that need this
machine itself (``host``: rootful podman, nested Debian roots) and those that check an
outside tool's own behaviour as this machine's release has it (``host_tools``: Debian 11's
and 13's shellcheck, cloud-init, systemd and promtool differ) are left out.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from debroots import debian_root
from helpers import REPO

pytestmark = pytest.mark.lane

LANE = Path(__file__).resolve().parent / "lane.sh"
INSIDE = "not e2e and not lane and not host and not host_tools"
# Both lanes take 3 to 5 minutes on the 2-core test machine (README, "Development").
TIMEOUT = 1800  # seconds: a hung lane must not eat CI's 90 minutes


class Lane(NamedTuple):
    suite: str
    python: str
    oldest: bool  # install the dependencies' floors rather than the newest releases


LANES = (Lane("bullseye", "3.9", True), Lane("trixie", "3.13", False))


def floors(pyproject: str) -> list[str]:
    """The project's runtime dependencies pinned at their ``>=`` floors."""
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M)
    assert block is not None, "pyproject.toml has no dependencies list"
    pins = re.findall(r'"([A-Za-z0-9_.-]+)>=([^",;]+)"', block.group(1))
    assert pins, "no `name>=version` dependency in pyproject.toml"
    return [f"{name}=={version}" for name, version in pins]


class Running(NamedTuple):
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Running]]:
    """Start every lane at once; each test waits for its own."""
    work = tmp_path_factory.mktemp("lanes")
    constraints = work / "floors.txt"
    constraints.write_text(
        "\n".join(floors((REPO / "pyproject.toml").read_text(encoding="utf-8"))) + "\n",
        encoding="utf-8",
    )
    started: dict[str, Running] = {}
    for lane in LANES:
        root = debian_root(lane.suite, f"lane-{lane.suite}")
        log = work / f"{lane.suite}.log"
        argv = ["sh", str(LANE), str(root), str(constraints) if lane.oldest else "-"]
        with log.open("wb") as out:
            started[lane.suite] = Running(
                subprocess.Popen(
                    [*argv, "--", "-q", "-m", INSIDE],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "TMPDIR": tempfile.gettempdir()},
                ),
                log,
            )
    try:
        yield started
    finally:
        for running in started.values():
            if running.proc.poll() is None:
                os.killpg(running.proc.pid, signal.SIGTERM)
                running.proc.wait(timeout=60)


def summary(output: str) -> str:
    """pytest's closing line ("1000 passed, 3 deselected in 300.00s"), or the tail."""
    lines = [line.strip("= ") for line in output.splitlines() if line.strip()]
    closing = [line for line in lines if re.search(r"\b(passed|failed|error)\b.* in ", line)]
    return closing[-1] if closing else "\n".join(lines[-30:])


@pytest.mark.parametrize("lane", LANES, ids=[f"python{lane.python}" for lane in LANES])
def test_lane_passes_the_unit_and_acceptance_suites(
    lane: Lane, lanes: dict[str, Running], capsys: pytest.CaptureFixture[str]
) -> None:
    running = lanes[lane.suite]
    code = running.proc.wait(timeout=TIMEOUT)
    output = running.log.read_text(encoding="utf-8", errors="replace")
    with capsys.disabled():
        print(f"\nlane {lane.suite} python{lane.python}: {summary(output)}")
    assert code == 0, f"lane {lane.suite} (exit {code}):\n{output[-20000:]}"
    assert " passed" in summary(output), output[-4000:]
    assert "skipped" not in summary(output) or os.environ.get("CI") != "true", summary(output)
    assert re.search(rf"^lane: Python {re.escape(lane.python)}\.", output, re.M), output[:2000]


def test_floors_are_the_pyproject_minimums() -> None:
    pyproject = '[project]\ndependencies = [\n  "jsonschema>=4.18",\n  "pyyaml>=6.0",\n]\n'
    assert floors(pyproject) == ["jsonschema==4.18", "pyyaml==6.0"]
