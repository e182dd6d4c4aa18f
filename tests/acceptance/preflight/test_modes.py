"""The preflight's three modes against fake /proc/sys trees, under every shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    PREFIX,
    SHELL_IDS,
    FakeTree,
    kubelet_line,
    make_tree,
    required_values,
    run_preflight,
    sysctl_text,
    write_script,
)

from rke2image.kernel import REQUIRED_PARAMETERS

pytestmark = pytest.mark.parametrize("shell", SHELL_IDS)

# The outage's three mismatches, taken from the table rather than written here.
BROKEN = {
    "vm.overcommit_memory": "0",
    "kernel.panic": "0",
    "kernel.panic_on_oops": "0",
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, FakeTree]:
    """A script, a sysctl.d file with the six parameters, and a tree that breaks three."""
    script = write_script(tmp_path)
    conf = tmp_path / "99-zz-rke2image.conf"
    conf.write_text(sysctl_text(required_values()), encoding="utf-8")
    tree = make_tree(tmp_path / "proc-sys", {**required_values(), **BROKEN})
    return script, conf, tree


def args(conf: Path, tree: FakeTree, mode: str) -> list[str]:
    return ["--mode", mode, "--sysctl-file", str(conf), "--proc-sys", str(tree.root)]


def expected_mismatch_lines() -> list[str]:
    return [
        kubelet_line(p.kubelet_flag, p.value, BROKEN[p.key])
        for p in REQUIRED_PARAMETERS
        if p.key in BROKEN
    ]


@pytest.mark.parametrize("mode", ["remediate", "enforce", "warn"])
def test_compliant_tree_passes_in_every_mode(
    shell: str, mode: str, tmp_path: Path, setup: tuple[Path, Path, FakeTree]
) -> None:
    script, conf, _ = setup
    tree = make_tree(tmp_path / "good", required_values())
    before = tree.snapshot()
    result = run_preflight(shell, script, args(conf, tree, mode))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.out_lines == [
        f"{PREFIX}ok: {len(REQUIRED_PARAMETERS)} kernel parameters match {conf} (mode {mode})"
    ]
    assert tree.snapshot() == before


def test_enforce_reports_in_kubelet_words_and_changes_nothing(
    shell: str, setup: tuple[Path, Path, FakeTree]
) -> None:
    script, conf, tree = setup
    before = tree.snapshot()
    result = run_preflight(shell, script, args(conf, tree, "enforce"))
    assert result.returncode == 1
    mismatch_lines = [line for line in result.err_lines if "invalid kernel flag" in line]
    assert mismatch_lines == expected_mismatch_lines()
    # Each mismatch is followed by a hint naming the file that sets it.
    for line in mismatch_lines:
        hint = result.err_lines[result.err_lines.index(line) + 1]
        assert hint.startswith(PREFIX + "hint: ") and str(conf) in hint
    assert result.out_lines == [
        f"{PREFIX}3 problems found (mode enforce); RKE2 will not start cleanly until they are fixed"
    ]
    assert tree.snapshot() == before


def test_warn_reports_the_same_and_exits_zero(
    shell: str, setup: tuple[Path, Path, FakeTree]
) -> None:
    script, conf, tree = setup
    before = tree.snapshot()
    result = run_preflight(shell, script, args(conf, tree, "warn"))
    assert result.returncode == 0
    assert [line for line in result.err_lines if "invalid kernel flag" in line] == (
        expected_mismatch_lines()
    )
    assert "mode warn" in result.stdout and "3 problems found" in result.stdout
    assert tree.snapshot() == before


def test_remediate_writes_the_tree_and_says_what_it_changed(
    shell: str, setup: tuple[Path, Path, FakeTree]
) -> None:
    script, conf, tree = setup
    result = run_preflight(shell, script, args(conf, tree, "remediate"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for p in REQUIRED_PARAMETERS:
        assert tree.get(p.key) == p.value
    changes = [line for line in result.out_lines if " to " in line]
    assert changes == [
        f"{PREFIX}set {p.kubelet_flag} to {p.value} (was {BROKEN[p.key]})"
        for p in REQUIRED_PARAMETERS
        if p.key in BROKEN
    ]
    # A second start finds nothing to change.
    again = run_preflight(shell, script, args(conf, tree, "remediate"))
    assert again.returncode == 0
    assert [line for line in again.out_lines if " to " in line] == []


def test_remediate_is_the_default_mode(shell: str, setup: tuple[Path, Path, FakeTree]) -> None:
    script, conf, tree = setup
    result = run_preflight(
        shell, script, ["--sysctl-file", str(conf)], env={"RKE2IMAGE_PROC_SYS": str(tree.root)}
    )
    assert result.returncode == 0, result.stderr
    assert "(mode remediate)" in result.stdout
    assert tree.get("vm.overcommit_memory") == required_values()["vm.overcommit_memory"]


def test_remediate_fails_on_a_key_it_cannot_read_or_write(
    shell: str, setup: tuple[Path, Path, FakeTree]
) -> None:
    """A directory where a value should be: neither readable nor writable, even for root."""
    script, conf, tree = setup
    key = REQUIRED_PARAMETERS[0]
    target = tree.path(key.key)
    target.unlink()
    target.mkdir()
    result = run_preflight(shell, script, args(conf, tree, "remediate"))
    assert result.returncode == 1
    path = f"{tree.root}/{key.kubelet_flag}"
    assert f"{PREFIX}cannot read kernel key: {key.kubelet_flag} ({path})" in result.err_lines
    assert any(line.startswith(f"{PREFIX}could not write") for line in result.err_lines)
    # The other broken values were still repaired.
    assert tree.get("kernel.panic") == required_values()["kernel.panic"]
    assert target.is_dir() and not any(target.iterdir())


def test_proc_sys_option_wins_over_environment(
    shell: str, tmp_path: Path, setup: tuple[Path, Path, FakeTree]
) -> None:
    script, conf, broken = setup
    good = make_tree(tmp_path / "good", required_values())
    result = run_preflight(
        shell,
        script,
        ["--mode=enforce", f"--sysctl-file={conf}", f"--proc-sys={good.root}/"],
        env={"RKE2IMAGE_PROC_SYS": str(broken.root)},
    )
    assert result.returncode == 0, result.stderr
    from_env = run_preflight(
        shell,
        script,
        ["--mode", "enforce", "--sysctl-file", str(conf)],
        env={"RKE2IMAGE_PROC_SYS": str(broken.root)},
    )
    assert from_env.returncode == 1
    assert len(from_env.mismatches()) == len(BROKEN)
