"""The preflight against this machine's real /proc/sys, read-only (enforce and warn only).

What the script reports as a kernel value must be what Python reads from the
same file, and its exit code must follow whether any value differs. The helper
refuses to run remediate on /proc/sys, and each test checks the values did not move.

Fake trees cannot catch what these do: the kernel returns nothing for an
integer sysctl read at a non-zero offset, so a shell that reads one byte at a
time (dash's and busybox's `read`) sees kernel.keys.root_maxkeys as "1".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    PREFIX,
    REAL_PROC_SYS,
    SHELL_IDS,
    Result,
    require_tool,
    required_values,
    run_preflight,
    shell_argv,
    sysctl_text,
    write_script,
)

from rke2image.kernel import REQUIRED_PARAMETERS, normalize_value

pytestmark = [
    pytest.mark.parametrize("shell", SHELL_IDS),
    pytest.mark.parametrize("mode", ["enforce", "warn"]),
]


def python_reads() -> dict[str, str]:
    """{kubelet flag: value} as Python reads it from /proc/sys, fields normalized."""
    return {
        p.kubelet_flag: " ".join(normalize_value(
            Path(REAL_PROC_SYS, p.kubelet_flag).read_text(encoding="ascii")
        ).split("\t"))
        for p in REQUIRED_PARAMETERS
    }  # fmt: skip


def run_real(shell: str, mode: str, tmp_path: Path, values: dict[str, str]) -> Result:
    script = write_script(tmp_path)
    conf = tmp_path / "six.conf"
    conf.write_text(sysctl_text(values), encoding="utf-8")
    args = ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", REAL_PROC_SYS]
    return run_preflight(shell, script, args)


def test_required_values_against_the_real_kernel(shell: str, mode: str, tmp_path: Path) -> None:
    before = python_reads()
    result = run_real(shell, mode, tmp_path, required_values())
    assert python_reads() == before, "the preflight changed this machine's kernel"

    expected = {p.kubelet_flag: p.value for p in REQUIRED_PARAMETERS}
    differing = {flag for flag, value in before.items() if value != expected[flag]}
    reported = result.mismatches()
    assert set(reported) == differing
    for flag, (want, actual) in reported.items():
        assert want == expected[flag]
        assert actual == before[flag]
    if mode == "warn":
        assert result.returncode == 0
    else:
        assert result.returncode == (1 if differing else 0), result.stderr
    if not differing:
        assert f"{PREFIX}ok: {len(REQUIRED_PARAMETERS)} kernel parameters" in result.stdout


def test_every_actual_value_matches_what_python_reads(
    shell: str, mode: str, tmp_path: Path
) -> None:
    """Expect values no kernel holds, so the script reports every actual value."""
    impossible = {p.key: "rke2image-impossible 7" for p in REQUIRED_PARAMETERS}
    before = python_reads()
    result = run_real(shell, mode, tmp_path, impossible)
    assert python_reads() == before
    assert result.mismatches() == {
        flag: ("rke2image-impossible 7", actual) for flag, actual in before.items()
    }
    assert result.returncode == (0 if mode == "warn" else 1)


def test_busybox_userland_reads_the_real_kernel(shell: str, mode: str, tmp_path: Path) -> None:
    """On a busybox-only node (Alpine-like), head is busybox's: it must read the kernel right."""
    busybox = require_tool("busybox")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "head").symlink_to(busybox)
    name = shell_argv(shell)[0]
    if name != "busybox":
        (bindir / name).symlink_to(require_tool(name))
    (bindir / "busybox").symlink_to(busybox)
    script = write_script(tmp_path)
    conf = tmp_path / "six.conf"
    conf.write_text(sysctl_text({p.key: "rke2image-impossible" for p in REQUIRED_PARAMETERS}))
    args = ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", REAL_PROC_SYS]
    before = python_reads()
    result = run_preflight(shell, script, args, env={"PATH": str(bindir)})
    assert python_reads() == before
    assert result.mismatches() == {
        flag: ("rke2image-impossible", actual) for flag, actual in before.items()
    }
