"""The audit's next-boot values equal what the real tools write (docs/design.md, "Audit").

For each Debian generation (systemd 247/252/257, procps 3.3.17/4.0.2/4.0.4), every fixture
root of fixtures.py goes through the real ``systemd-sysctl`` and ``sysctl --system`` on a
fake /proc/sys (a tmpfs in a private mount namespace: driver.py) and through the audit's
reader on the same tree. Any key where the two differ fails. The host's own values of
every key are read before and after: a change fails the whole module loudly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acceptance.sysctld_oracle.fixtures import COMMON_KEYS, FIXTURES
from acceptance.sysctld_oracle.harness import host_values, run_suite
from debroots import SUITES, debian_root
from helpers import require_tool

# Runs Debian 11/12/13 roots built here with mmdebstrap: this machine itself, not a lane.
pytestmark = pytest.mark.host

SUITE_TOOLS = {  # what each generation ships: the audit must find these in the root
    "bullseye": {"systemd": "247", "procps": "3.3.17"},
    "bookworm": {"systemd": "252", "procps": "4.0.2"},
    "trixie": {"systemd": "257", "procps": "4.0.4"},
}
ALL_KEYS = sorted({k for f in FIXTURES for k in (*COMMON_KEYS, *f.keys)})


@functools.cache
def suite_results(suite: str, work: str) -> dict[str, Any]:
    """One namespace per suite runs every fixture (a few seconds), shared by its tests."""
    for tool in ("unshare", "mount", "chroot"):
        require_tool(tool)
    root = debian_root(suite, "tools")
    Path(work).mkdir(parents=True, exist_ok=True)
    return run_suite(root, FIXTURES, COMMON_KEYS, Path(work))


@pytest.fixture(scope="module", autouse=True)
def host_untouched() -> Iterator[None]:
    before = host_values(ALL_KEYS)
    yield
    after = host_values(ALL_KEYS)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changed:
        pytest.fail(f"THE HOST'S /proc/sys CHANGED during the oracle run: {changed}")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sysctld-oracle")


def expected_written(audit_value: str | None) -> str | None:
    """Both tools write the value and a newline (sysctl_write, fprintf "%s\\n")."""
    return None if audit_value is None else audit_value + "\n"


def agrees(audit_value: str | None, written: str | None, procps3: bool) -> bool:
    if procps3 and audit_value == "=":  # procps 3.3's undefined-buffer value: see procps3_parse
        return written is not None and written.startswith("=")
    return expected_written(audit_value) == written


@pytest.mark.parametrize("suite", sorted(SUITES))
@pytest.mark.parametrize("name", [f.name for f in FIXTURES])
def test_next_boot_values_equal_the_real_tools(suite: str, name: str, work: Path) -> None:
    result = suite_results(suite, str(work / suite))[name]
    problems = []
    report = result["audit"]["report"]
    assert "error" not in report, f"the audit failed on {name}: {report['error']}"
    for tool, real in result["tools"].items():
        # the whole audit (run_audit, as the CLI) shows the same values for kubelet's keys
        for key, value in report[tool].items():
            assert value == result["audit"][tool]["values"][key], (tool, key)
        audit = result["audit"][tool]
        assert "error" not in audit, f"the audit failed on {name}: {audit['error']}"
        assert audit["version"] == SUITE_TOOLS[suite][tool]
        if real["hung"]:
            assert audit["blocked"], f"{tool} blocked on {name}; the audit did not say so"
        procps3 = tool == "procps" and audit["version"].startswith("3.")
        for key, written in real["written"].items():
            mine = audit["values"][key]
            if not agrees(mine, written, procps3):
                problems.append(f"{tool} {key}: real tool wrote {written!r}, audit says {mine!r}")
    assert not problems, f"{suite}/{name}:\n" + "\n".join(problems)


def test_there_are_at_least_forty_fixture_roots() -> None:
    assert len(FIXTURES) >= 40
    assert len({f.name for f in FIXTURES}) == len(FIXTURES)
